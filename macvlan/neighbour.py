"""Neighbours (ARP and NDP entries): the :class:`Neighbour` snapshot and its
requests (sans-IO)."""

from __future__ import annotations

import ipaddress
import struct
from functools import partial
from typing import NamedTuple

from macvlan._dumpparse import FAST_ADDRESSES, Plan, layout, planned, strict_values
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


@strict_values
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


# the netlink header and struct ndmsg: length, type, family, ifindex, state, flags, type
_HEAD = struct.Struct("=IH10xB3xiHBB")
_WANTED: dict[int, str | None] = {_DST: None, _LLADDR: None}
# per message length, the plans of the layouts seen (see macvlan._dumpparse)
_PLANS: dict[int, list[Plan]] = {}
_V4, _V6 = ipaddress.IPv4Address, ipaddress.IPv6Address


def _plan(data: bytes, pos: int, stop: int) -> Plan | None:
    """How to read the entries laid out as the one in ``data[pos:stop]`` (None:
    a neighbour message no plan serves, or another message)."""
    if stop - pos < _HEAD.size or _HEAD.unpack_from(data, pos)[1] != RtmType.NEWNEIGH:
        return None
    shape = layout(data, pos, stop, _HEAD, _WANTED)
    if shape is None:
        return None
    dst, lladdr = shape.fields.get(_DST, 0), shape.fields.get(_LLADDR, 0)
    values = shape.values(data, pos)
    ip_size = len(values[dst]) if dst else 0
    ip_cls = _V4 if ip_size == 4 else _V6 if ip_size == 16 else None  # None: no entry
    mac = lladdr if lladdr and len(values[lladdr]) == 6 else 0
    return (*shape[:4], ip_cls, ip_cls is _V6, FAST_ADDRESSES, dst, mac)


def parse_neighbours(data: bytes, start: int, end: int, out: list[Neighbour]) -> None:
    """Append the entries of the ``RTM_NEWNEIGH`` messages in ``data[start:end]`` to
    ``out``, straight from the bytes: the values :meth:`Neighbour.from_message`
    gives (a test holds the two together), each message unpacked in one call by
    the plan of its layout; entries without an IP are left out."""
    new, make, from_bytes = tuple.__new__, object.__new__, int.from_bytes
    from_int, states, flag_values = MacAddress._from_int, _STATES, _FLAGS
    for plan, r in planned(data, start, end, _PLANS, _plan, partial(_other, out=out)):
        _, _, _, _, ip_cls, v6, fast, dst, lladdr = plan
        if ip_cls is not None:
            if fast:
                ip = make(ip_cls)
                ip._ip = from_bytes(r[dst], "big")
                if v6:
                    ip._scope_id = None
            else:
                ip = ip_cls(r[dst])
            state = states.get(r[4])
            if state is None:
                state = _state(r[4])
            flags = flag_values.get(r[5])
            if flags is None:
                flags = _flags(r[5])
            out.append(
                new(
                    Neighbour,
                    (
                        ip,
                        from_int(from_bytes(r[lladdr], "big")) if lladdr else None,
                        state,
                        r[3],
                        flags,
                    ),
                )
            )


def _other(data: bytes, pos: int, stop: int, *, out: list[Neighbour]) -> None:
    """A message no plan serves: a neighbour message goes through the typed
    decoder, anything else is left out."""
    if stop - pos >= _HEAD.size and _HEAD.unpack_from(data, pos)[1] == RtmType.NEWNEIGH:
        (message,) = iter_messages(data[pos:stop])
        entry = Neighbour.from_message(message)  # type: ignore[arg-type]
        if entry is not None:
            out.append(entry)


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
