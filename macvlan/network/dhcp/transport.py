"""Moving DHCP messages and ARP probes: sockets opened inside the endpoint's namespace.

Before the endpoint holds an address, messages go through a packet socket as whole
IPv4 datagrams (from 0.0.0.0 to the broadcast address); once it holds one, a UDP
socket bound to port 68 on the interface renews, rebinds and releases.  Waiting is
done with :mod:`selectors` (``poll``/``epoll``), never ``select()``, which fails for
descriptors above 1024.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Self, TypeVar

from macvlan.errors import DhcpProtocolError, LeaseDeclined, LeaseTimeout
from macvlan.mac import MacAddress
from macvlan.namespace import Namespace
from macvlan.network.dhcp.client import Backoff, Bound, Client, Refused, Send
from macvlan.network.dhcp.lease import Lease
from macvlan.network.dhcp.message import CLIENT_PORT, SERVER_PORT, Message
from macvlan.network.dhcp.packet import ETH_P_ARP, ETH_P_IP, Arp, parse_udp, udp_packet

__all__ = ["PacketTransport", "Transport", "UdpTransport", "exchange", "probe"]

_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_ZERO = ipaddress.IPv4Address(0)
_ETHER_BROADCAST = b"\xff" * 6
_PACKET_OUTGOING = 4
_ETH_P_ALL = 0x0003
_SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)

_T = TypeVar("_T")


def _inside(ns: Namespace | None, fn: Callable[[], _T]) -> _T:
    """Run ``fn`` in ``ns`` (a socket made there stays there), or here."""
    return fn() if ns is None else ns.run(fn)


class Transport:
    """Sends :class:`Send` items and waits for DHCP replies on one socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(sock, selectors.EVENT_READ)

    def close(self) -> None:
        """Close the socket."""
        self._selector.close()
        self.sock.close()

    def _frames(self, until: float) -> Iterator[tuple[bytes, tuple[Any, ...]]]:
        """Frames (payload, address) as they come, until ``until`` (monotonic)."""
        while True:
            left = until - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                return
            while True:
                try:
                    yield self.sock.recvfrom(65535)
                except BlockingIOError:
                    break

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, item: Send) -> None:
        """Send one message."""
        raise NotImplementedError

    def _payload(self) -> bytes | None:
        raise NotImplementedError

    def receive(self, until: float) -> Message | None:
        """The next well-formed DHCP message, or None once ``until`` (a
        ``time.monotonic()`` value) has passed."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            if not self._selector.select(left):
                return None
            while True:
                try:
                    payload = self._payload()
                except BlockingIOError:
                    break
                if payload is None:
                    continue
                with contextlib.suppress(DhcpProtocolError):
                    return Message.decode(payload)


class PacketTransport(Transport):
    """Whole IPv4 datagrams (and ARP) through one packet socket on ``ifname``; no
    address needed.  Closing a packet socket waits out an RCU grace period in the
    kernel (``synchronize_net``, about 10 ms here), so one socket serves the whole
    exchange and the ARP probe, and it is closed by a helper thread."""

    def __init__(self, ns: Namespace | None, ifname: str) -> None:
        def make() -> socket.socket:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(_ETH_P_ALL))
            try:
                sock.bind((ifname, _ETH_P_ALL))
            except BaseException:
                sock.close()
                raise
            return sock

        self.ifname = ifname
        super().__init__(_inside(ns, make))

    def send(self, item: Send) -> None:
        """Broadcast the message from 0.0.0.0 (a packet socket sends no unicast here)."""
        packet = udp_packet(_ZERO, _BROADCAST, CLIENT_PORT, SERVER_PORT, item.message.encode())
        self.sock.sendto(packet, (self.ifname, ETH_P_IP, 0, 0, _ETHER_BROADCAST))

    def close(self) -> None:
        """Close the socket in a helper thread (see the class)."""
        self._selector.close()
        threading.Thread(target=self.sock.close, name="macvlan-packet-close", daemon=True).start()

    def send_arp(self, arp: Arp) -> None:
        """Broadcast one ARP packet."""
        self.sock.sendto(arp.encode(), (self.ifname, ETH_P_ARP, 0, 0, _ETHER_BROADCAST))

    def arps(self, until: float) -> Iterator[Arp]:
        """ARP packets other hosts send, until ``until`` (monotonic)."""
        for data, where in self._frames(until):
            if where[1] == ETH_P_ARP and where[2] != _PACKET_OUTGOING:
                arp = Arp.decode(data)
                if arp is not None:
                    yield arp

    def _payload(self) -> bytes | None:
        data, where = self.sock.recvfrom(65535)
        if where[1] != ETH_P_IP or where[2] == _PACKET_OUTGOING:
            return None
        datagram = parse_udp(data)
        if datagram is None or datagram.dport != CLIENT_PORT or datagram.sport != SERVER_PORT:
            return None
        return datagram.payload


class UdpTransport(Transport):
    """A UDP socket on port 68 bound to ``ifname``, for an endpoint holding its address."""

    def __init__(self, ns: Namespace | None, ifname: str) -> None:
        def make() -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                sock.setsockopt(socket.SOL_SOCKET, _SO_BINDTODEVICE, ifname.encode())
                sock.bind(("0.0.0.0", CLIENT_PORT))
            except BaseException:
                sock.close()
                raise
            return sock

        super().__init__(_inside(ns, make))

    def send(self, item: Send) -> None:
        """Send to the server, or broadcast."""
        to = _BROADCAST if item.to is None else item.to
        self.sock.sendto(item.message.encode(), (str(to), SERVER_PORT))

    def _payload(self) -> bytes | None:
        data, (_, port) = self.sock.recvfrom(65535)
        return data if port == SERVER_PORT else None


def exchange(
    transport: Transport, client: Client, first: Send, timeout: float, *, first_wait: float = 0.5
) -> Bound | Refused | None:
    """Send ``first``, retransmitting with back-off, until a lease or a refusal
    comes back; None if nothing did within ``timeout`` seconds."""
    start = time.monotonic()
    deadline = start + timeout
    item = first
    backoff = Backoff(deadline, first=first_wait)
    transport.send(item)
    resend = backoff.next_time(start)
    while resend is not None:
        msg = transport.receive(resend)
        now = time.monotonic()
        if msg is None:
            resend = backoff.next_time(now)
            if resend is not None:
                item = client.retransmit(item, time.time())
                transport.send(item)
            continue
        event = client.handle(msg, time.time())
        if isinstance(event, Bound | Refused):
            return event
        if isinstance(event, Send):  # the offer taken: request it, with a fresh back-off
            item = event
            backoff = Backoff(deadline, first=first_wait)
            transport.send(item)
            resend = backoff.next_time(now)
    return None


def acquire(
    ns: Namespace | None,
    ifname: str,
    client: Client,
    *,
    timeout: float,
    probe_time: float,
) -> Lease:
    """DISCOVER to ACK, then an ARP probe of the address (DECLINE if it answers)
    and an ARP announcement of it.

    Raises :class:`LeaseTimeout`, :class:`~macvlan.errors.LeaseRefused` (NAK) or
    :class:`LeaseDeclined`.
    """
    from macvlan.errors import LeaseRefused

    with PacketTransport(ns, ifname) as transport:
        event = exchange(transport, client, client.discover(time.time()), timeout)
        if event is None:
            raise LeaseTimeout(
                errno.ETIMEDOUT,
                f"no DHCP server answered on {ifname!r} within {timeout:g} s",
            )
        if isinstance(event, Refused):
            raise LeaseRefused(
                f"DHCP server {event.server} refused the request (NAK)"
                + (f": {event.text}" if event.text else "")
            )
        lease = event.lease
        if probe_time > 0:
            conflict = probe(transport, client.mac, lease.address.ip, probe_time)
            if conflict is not None:
                transport.send(client.decline(lease, time.time()))
                raise LeaseDeclined(
                    f"DHCP server {lease.server} offered {lease.address.ip}, but "
                    f"{conflict.sender_mac} answers ARP for it; declined"
                )
        announce(transport, client.mac, lease.address.ip)
        return lease


def probe(
    transport: PacketTransport,
    mac: MacAddress,
    address: ipaddress.IPv4Address,
    duration: float,
    *,
    count: int = 2,
) -> Arp | None:
    """RFC 5227 probes for ``address``; the ARP packet of a host that has it, or
    None if nobody answered within ``duration`` seconds (the RFC's own timing,
    1-2 s between 3 probes, is shortened: an attach cannot wait 7 s)."""
    start = time.monotonic()
    end = start + duration
    sends = [start + duration * i / (count + 1) for i in range(count)]
    while True:
        now = time.monotonic()
        while sends and sends[0] <= now:
            sends.pop(0)
            transport.send_arp(Arp.probe(mac, address))
        if now >= end:
            return None
        for arp in transport.arps(min([end, *sends[:1]])):
            if arp.conflicts(address, mac):
                return arp


def announce(transport: PacketTransport, mac: MacAddress, address: ipaddress.IPv4Address) -> None:
    """One gratuitous ARP for ``address`` (RFC 5227 announcement), best effort."""
    with contextlib.suppress(OSError):
        transport.send_arp(Arp.announcement(mac, address))
