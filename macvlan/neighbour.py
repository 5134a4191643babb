"""Neighbours (ARP and NDP entries): the :class:`Neighbour` snapshot and its
requests (sans-IO)."""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

from macvlan._netlink import nda, requests
from macvlan._netlink.attr import AttrList
from macvlan._netlink.constants import AddrFamily, NtfFlags, NudState, RtmType
from macvlan._netlink.message import Message, iter_messages
from macvlan._netlink.structs import NdMsg
from macvlan.mac import MacAddress

__all__ = ["Neighbour", "NtfFlags", "NudState"]

IpAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

_DST, _LLADDR = nda.DST.number, nda.LLADDR.number
_STATES: dict[int, NudState] = {}
_FLAGS: dict[int, NtfFlags] = {}


def _state(bits: int) -> NudState:
    state = _STATES.get(bits)
    if state is None:
        state = _STATES[bits] = NudState(bits)
    return state


def _flags(bits: int) -> NtfFlags:
    flags = _FLAGS.get(bits)
    if flags is None:
        flags = _FLAGS[bits] = NtfFlags(bits)
    return flags


class Neighbour(NamedTuple):
    """One neighbour-table entry: ``ip`` is reached at ``mac`` on link ``index``
    (an immutable, typed named tuple; equal only to another Neighbour).

    ``mac`` is None while the entry is unresolved (``INCOMPLETE``, ``FAILED``).
    """

    ip: IpAddr
    mac: MacAddress | None
    state: NudState
    index: int  # type: ignore[assignment]  # shadows tuple.index: the contract's name
    flags: NtfFlags = NtfFlags.NONE

    def __eq__(self, other: object) -> bool:
        return type(other) is Neighbour and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return tuple.__hash__(self)

    @property
    def family(self) -> AddrFamily:
        """``AddrFamily.INET`` (ARP) or ``AddrFamily.INET6`` (NDP)."""
        return AddrFamily.INET if self.ip.version == 4 else AddrFamily.INET6

    @property
    def is_router(self) -> bool:
        """Whether an IPv6 neighbour said it is a router (``NTF_ROUTER``)."""
        return bool(self.flags & NtfFlags.ROUTER)

    @property
    def permanent(self) -> bool:
        """Whether the entry was set by hand and never expires."""
        return bool(self.state & NudState.PERMANENT)

    @classmethod
    def from_message(cls, message: Message) -> Neighbour | None:
        """The entry in an ``RTM_NEWNEIGH`` message; None if it has no IP (a bridge
        FDB entry, say)."""
        body = message.body
        attrs = message.attrs
        if not isinstance(body, NdMsg) or not isinstance(attrs, AttrList):
            raise ValueError(f"not a decoded neighbour message: {message!r}")
        raw = attrs.raw
        dst = raw(_DST)
        if dst is None:
            return None
        if len(dst) == 4:
            ip: IpAddr = ipaddress.IPv4Address(dst)
        elif len(dst) == 16:
            ip = ipaddress.IPv6Address(dst)
        else:
            return None
        lladdr = raw(_LLADDR)
        return cls(
            ip,
            MacAddress(lladdr) if lladdr is not None and len(lladdr) == 6 else None,
            _state(body.state),
            body.index,
            _flags(body.flags),
        )


_NLH = struct.Struct("=IH")  # nlmsg_len, nlmsg_type
_NDM = struct.Struct("=B3xiHBB")  # struct ndmsg
_NLA = struct.Struct("=HH")


def parse_neighbours(data: bytes, start: int, end: int, out: list[Neighbour]) -> None:
    """Append the entries of the ``RTM_NEWNEIGH`` messages in ``data[start:end]`` to
    ``out``, straight from the bytes: the values :meth:`Neighbour.from_message`
    gives (a test holds the two together); entries without an IP are left out."""
    header, ndmsg, nla = _NLH.unpack_from, _NDM.unpack_from, _NLA.unpack_from
    new, from_bytes, from_int = tuple.__new__, int.from_bytes, MacAddress._from_int
    v4, v6 = ipaddress.IPv4Address, ipaddress.IPv6Address
    pos = start
    while pos < end:
        length, mtype = header(data, pos)
        stop = pos + length
        if mtype != 28 or length < 28:
            pos += (length + 3) & ~3
            continue
        _, index, state, flags, _ = ndmsg(data, pos + 16)
        a = pos + 28
        dst = lladdr = None
        whole = True
        while a < stop:
            if stop - a < 4:
                whole = False
                break
            alen, atype = nla(data, a)
            if alen < 4 or a + alen > stop:
                whole = False
                break
            atype &= 0x3FFF
            if atype == 1:
                if dst is None:
                    dst = data[a + 4 : a + alen]
            elif atype == 2 and lladdr is None:
                lladdr = data[a + 4 : a + alen]
            a += (alen + 3) & ~3
        if not whole:
            (message,) = iter_messages(data[pos:stop])
            entry = Neighbour.from_message(message)  # type: ignore[arg-type]
            if entry is not None:
                out.append(entry)
        elif dst is not None and len(dst) in (4, 16):
            out.append(
                new(
                    Neighbour,
                    (
                        v4(dst) if len(dst) == 4 else v6(dst),
                        from_int(from_bytes(lladdr, "big"))
                        if lladdr is not None and len(lladdr) == 6
                        else None,
                        _state(state),
                        index,
                        _flags(flags),
                    ),
                )
            )
        pos += (length + 3) & ~3


def neighbours_of(messages: list[Message]) -> list[Neighbour]:
    """The entries among dumped messages (what :func:`parse_neighbours` gives for
    their bytes)."""
    out = []
    for m in messages:
        # a body too short for a ndmsg is left out, as parse_neighbours leaves it out
        if m.type == RtmType.NEWNEIGH and isinstance(m.body, NdMsg):
            entry = Neighbour.from_message(m)
            if entry is not None:
                out.append(entry)
    return out


def _family(ip: IpAddr) -> int:
    return AddrFamily.INET if ip.version == 4 else AddrFamily.INET6


def new_neighbour(index: int, ip: IpAddr, mac: MacAddress, *, replace: bool = False) -> Message:
    """``RTM_NEWNEIGH`` for a permanent entry (``ip neigh add|replace ... nud permanent``)."""
    return requests.new_neighbour(index, _family(ip), ip.packed, mac.packed, replace=replace)


def del_neighbour(index: int, ip: IpAddr) -> Message:
    """``RTM_DELNEIGH`` for the entry of ``ip`` on link ``index``."""
    return requests.del_neighbour(index, _family(ip), ip.packed)


dump_neighbours = requests.dump_neighbours
