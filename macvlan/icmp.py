"""A small ICMP echo ("ping") over Python sockets, IPv4 and IPv6.

It runs in the calling thread's network namespace, so ``ns.run(ping, "10.0.0.2")``
pings from inside ``ns``.  A raw socket is used when the process may open one
(``CAP_NET_RAW``), otherwise an unprivileged ICMP datagram socket (which the
``net.ipv4.ping_group_range`` sysctl must allow).  No ``ping`` program is run.

>>> result = ping("127.0.0.1", count=2, interval=0.01)    # doctest: +SKIP
>>> result.received, result.avg_ms                        # doctest: +SKIP
(2, 0.031)
"""

from __future__ import annotations

import errno
import secrets
import select
import socket
import struct
import time
from typing import TYPE_CHECKING

from macvlan._dataclass import dataclass

if TYPE_CHECKING:
    import ipaddress

__all__ = ["PingResult", "ping"]

_ECHO_REQUEST = {4: 8, 6: 128}
_ECHO_REPLY = {4: 0, 6: 129}
_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_MAX_PAYLOAD = 65507 - _HEADER.size


@dataclass(frozen=True, slots=True)
class PingResult:
    """What came back: one round-trip time in seconds per echo sent, None if lost."""

    host: str
    rtts: tuple[float | None, ...]

    @property
    def sent(self) -> int:
        """How many echoes were sent."""
        return len(self.rtts)

    @property
    def received(self) -> int:
        """How many echoes got a reply."""
        return sum(1 for rtt in self.rtts if rtt is not None)

    @property
    def loss(self) -> float:
        """The fraction of echoes that got no reply (0.0 to 1.0)."""
        return 1.0 - self.received / self.sent if self.sent else 0.0

    def _times(self) -> list[float]:
        return [rtt for rtt in self.rtts if rtt is not None]

    @property
    def min_ms(self) -> float | None:
        """The shortest round trip in milliseconds, or None if nothing came back."""
        times = self._times()
        return min(times) * 1000 if times else None

    @property
    def avg_ms(self) -> float | None:
        """The mean round trip in milliseconds, or None if nothing came back."""
        times = self._times()
        return sum(times) / len(times) * 1000 if times else None

    @property
    def max_ms(self) -> float | None:
        """The longest round trip in milliseconds, or None if nothing came back."""
        times = self._times()
        return max(times) * 1000 if times else None


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _to_ip(host: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    import ipaddress

    if isinstance(host, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return host
    if isinstance(host, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return host.ip
    if not isinstance(host, str):
        raise TypeError(f"host must be an IP address string, not {host!r}")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address (names are not resolved)") from None


def _open(version: int, unprivileged: bool) -> tuple[socket.socket, bool]:
    """An ICMP socket and whether it is raw (raw first, then the datagram kind)."""
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    proto = socket.IPPROTO_ICMP if version == 4 else socket.IPPROTO_ICMPV6
    if not unprivileged:
        try:
            return socket.socket(family, socket.SOCK_RAW, proto), True
        except PermissionError:
            pass
    try:
        return socket.socket(family, socket.SOCK_DGRAM, proto), False
    except PermissionError as exc:
        raise PermissionError(
            exc.errno,
            "cannot open an ICMP socket (hint: needs CAP_NET_RAW, or a group in "
            "net.ipv4.ping_group_range for unprivileged ICMP sockets)",
        ) from exc


def ping(
    host: object,
    *,
    count: int = 3,
    timeout: float = 1.0,
    interval: float = 0.2,
    size: int = 56,
    interface: str | None = None,
    unprivileged: bool = False,
) -> PingResult:
    """Send ``count`` echo requests to ``host`` and time the replies.

    Each request waits up to ``timeout`` seconds for its reply; the next one is sent
    ``interval`` seconds after the previous reply (or timeout).  ``size`` is the
    payload length; ``interface`` binds the socket to one link (``SO_BINDTODEVICE``),
    which an IPv6 link-local ``host`` needs.  ``unprivileged`` uses the ICMP datagram
    socket even when a raw one could be had.  Runs in the calling thread's network
    namespace; raises ``OSError`` if there is no route to the host.
    """
    ip = _to_ip(host)
    for name, value in (("count", count), ("size", size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {value!r}")
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    if not 8 <= size <= _MAX_PAYLOAD:
        raise ValueError(f"size {size} is outside 8..{_MAX_PAYLOAD}")
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    if not interval >= 0:
        raise ValueError(f"interval must not be negative, not {interval!r}")
    sock, raw = _open(ip.version, unprivileged)
    with sock:
        if interface is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        scope = 0
        if ip.version == 6 and ip.is_link_local:
            if interface is None:
                raise ValueError(f"pinging the link-local {ip} needs interface=")
            scope = socket.if_nametoindex(interface)
        address: tuple[str, int] | tuple[str, int, int, int] = (
            (str(ip), 0) if ip.version == 4 else (str(ip), 0, 0, scope)
        )
        if not raw:
            sock.bind(("0.0.0.0", 0) if ip.version == 4 else ("::", 0))
        # a datagram socket's kernel rewrites the identifier to its port number
        ident = sock.getsockname()[1] if not raw else secrets.randbits(16)
        token = secrets.token_bytes(size)
        rtts: list[float | None] = []
        for seq in range(1, count + 1):
            if seq > 1 and interval:
                time.sleep(interval)
            header = _HEADER.pack(_ECHO_REQUEST[ip.version], 0, 0, ident, seq)
            packet = header + token
            if ip.version == 4:  # the kernel computes ICMPv6 checksums itself
                packet = header[:2] + struct.pack("!H", _checksum(packet)) + packet[4:]
            sent_at = time.monotonic()
            sock.sendto(packet, address)
            rtts.append(
                _wait_reply(
                    sock,
                    ip.version,
                    raw,
                    ident=ident,
                    seq=seq,
                    token=token,
                    deadline=sent_at + timeout,
                )
            )
            if rtts[-1] is not None:
                rtts[-1] = rtts[-1] - sent_at
    return PingResult(str(ip), tuple(rtts))


def _wait_reply(
    sock: socket.socket,
    version: int,
    raw: bool,
    *,
    ident: int,
    seq: int,
    token: bytes,
    deadline: float,
) -> float | None:
    """The arrival time of our reply to ``seq``, or None once ``deadline`` passes."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        poller = select.poll()  # not select(): it fails on descriptors above 1024
        poller.register(sock.fileno(), select.POLLIN)
        if not poller.poll(max(1, int(left * 1000))):
            return None
        try:
            data = sock.recv(65535)
        except OSError as exc:
            if exc.errno in (errno.EINTR, errno.EAGAIN):
                continue
            raise
        arrived = time.monotonic()
        if raw and version == 4 and data:
            data = data[(data[0] & 0x0F) * 4 :]  # strip the IPv4 header
        if len(data) < _HEADER.size:
            continue
        kind, _code, _sum, their_ident, their_seq = _HEADER.unpack_from(data)
        if kind != _ECHO_REPLY[version] or their_seq != seq:
            continue
        if raw and their_ident != ident:
            continue
        if data[_HEADER.size :] != token:
            continue
        return arrived
