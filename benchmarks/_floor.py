"""The floor: the same rtnetlink messages sent from a bare socket, no library at all.

Each message is packed here with :mod:`struct`, independently of macvlan's codec,
and the answers are only framed (lengths, sequence numbers, the error code), never
decoded into objects.  What this costs is the kernel's work plus the least Python
a loop can do; the benchmarks print it beside ours so that what remains of our time
is visibly our own.
"""

from __future__ import annotations

import _socket
import fcntl
import struct
from collections.abc import Sequence

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
RTM_GETLINK = 18
NLMSG_ERROR = 2
NLMSG_DONE = 3
F_REQUEST, F_ACK, F_ECHO, F_EXCL, F_CREATE, F_DUMP = 0x1, 0x4, 0x8, 0x200, 0x400, 0x300
SIOCGIFINDEX = 0x8933
IFLA_ADDRESS, IFLA_IFNAME, IFLA_LINK, IFLA_LINKINFO, IFLA_EXT_MASK = 1, 3, 5, 18, 29
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_MACVLAN_MODE = 1, 2, 1
MACVLAN_MODE_BRIDGE = 4
RTEXT_FILTER_SKIP_STATS = 1 << 3

_NLH = struct.Struct("=IHHII")
_IFI = struct.Struct("=BxHiII")
_ERR = struct.Struct("=i")


def _attr(kind: int, payload: bytes) -> bytes:
    return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * (-len(payload) % 4)


def macvlan_create(name: str, parent: int, mac: str) -> bytes:
    """The attributes (after the netlink header) of a bridge-mode macvlan creation,
    with the MAC: what ``ip link add NAME link P address MAC type macvlan mode bridge``
    and macvlan's ``create_macvlan`` send."""
    info = _attr(IFLA_INFO_KIND, b"macvlan") + _attr(
        IFLA_INFO_DATA, _attr(IFLA_MACVLAN_MODE, struct.pack("=I", MACVLAN_MODE_BRIDGE))
    )
    return (
        _IFI.pack(0, 0, 0, 0, 0)
        + _attr(IFLA_IFNAME, name.encode() + b"\0")
        + _attr(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", "")))
        + _attr(IFLA_LINK, struct.pack("=I", parent))
        + _attr(IFLA_LINKINFO, info)
    )


class RawSocket:
    """A bare ``NETLINK_ROUTE`` socket: send framed requests, wait for their ACKs."""

    def __init__(self) -> None:
        self.sock = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((0, 0))
        self.buf = bytearray(1 << 18)
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def index(self, name: str) -> int:
        """SIOCGIFINDEX on this socket: answered in the socket's own namespace."""
        answer = fcntl.ioctl(
            self.sock.fileno(), SIOCGIFINDEX, struct.pack("16si", name.encode(), 0)
        )
        return int(struct.unpack("16si", answer)[1])

    def frame(self, mtype: int, flags: int, payload: bytes) -> bytes:
        """One request with the next sequence number (an ACK asked for unless a dump)."""
        self.seq += 1
        flags |= F_REQUEST if flags & F_DUMP == F_DUMP else F_REQUEST | F_ACK
        return _NLH.pack(16 + len(payload), mtype, flags, self.seq, 0) + payload

    def wait(self, last_seq: int) -> int:
        """Read answers until the ACK of ``last_seq``; returns the answers' total bytes."""
        total = 0
        recv_into, buf = self.sock.recv_into, self.buf
        while True:
            n = recv_into(buf)
            total += n
            pos = 0
            while pos < n:
                length, mtype, _, seq, _ = _NLH.unpack_from(buf, pos)
                if mtype == NLMSG_ERROR:
                    error = _ERR.unpack_from(buf, pos + 16)[0]
                    if error:
                        raise OSError(-error, f"request {seq} refused")
                    if seq == last_seq:
                        return total
                pos += (length + 3) & ~3

    def create_one_each(self, names: Sequence[str], macs: Sequence[str], echo: bool) -> None:
        """Per link: resolve the parent's name (ioctl), then one create and its answer."""
        flags = F_CREATE | F_EXCL | (F_ECHO if echo else 0)
        for name, mac in zip(names, macs, strict=True):
            parent = self.index("p0")
            self.sock.send(self.frame(RTM_NEWLINK, flags, macvlan_create(name, parent, mac)))
            self.wait(self.seq)

    def create_batch(self, names: Sequence[str], macs: Sequence[str], window: int = 256) -> None:
        """All creations pipelined, ``window`` per send, echo asked for (as ours)."""
        parent = self.index("p0")
        flags = F_CREATE | F_EXCL | F_ECHO
        for start in range(0, len(names), window):
            data = b"".join(
                self.frame(RTM_NEWLINK, flags, macvlan_create(n, parent, m))
                for n, m in zip(
                    names[start : start + window], macs[start : start + window], strict=True
                )
            )
            self.sock.send(data)
            self.wait(self.seq)

    def dump_links(self) -> int:
        """A link dump framed but not decoded; returns the number of messages."""
        payload = _IFI.pack(0, 0, 0, 0, 0) + _attr(
            IFLA_EXT_MASK, struct.pack("=I", RTEXT_FILTER_SKIP_STATS)
        )
        self.sock.send(self.frame(RTM_GETLINK, F_DUMP, payload))
        count = 0
        recv_into, buf = self.sock.recv_into, self.buf
        while True:
            n = recv_into(buf)
            pos = 0
            while pos < n:
                length, mtype, _, _, _ = _NLH.unpack_from(buf, pos)
                if mtype == NLMSG_DONE:
                    return count
                count += 1
                pos += (length + 3) & ~3
