"""Neighbours (ARP and NDP entries): the :class:`Neighbour` snapshot and its
requests (sans-IO)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from macvlan._netlink import nda, requests
from macvlan._netlink.attr import AttrList
from macvlan._netlink.constants import AddrFamily, NtfFlags, NudState
from macvlan._netlink.message import Message
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


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One neighbour-table entry: ``ip`` is reached at ``mac`` on link ``index``.

    ``mac`` is None while the entry is unresolved (``INCOMPLETE``, ``FAILED``).
    """

    ip: IpAddr
    mac: MacAddress | None
    state: NudState
    index: int
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
            ip=ip,
            mac=MacAddress(lladdr) if lladdr is not None and len(lladdr) == 6 else None,
            state=_state(body.state),
            index=body.index,
            flags=_flags(body.flags),
        )


def _family(ip: IpAddr) -> int:
    return AddrFamily.INET if ip.version == 4 else AddrFamily.INET6


def new_neighbour(index: int, ip: IpAddr, mac: MacAddress, *, replace: bool = False) -> Message:
    """``RTM_NEWNEIGH`` for a permanent entry (``ip neigh add|replace ... nud permanent``)."""
    return requests.new_neighbour(index, _family(ip), ip.packed, mac.packed, replace=replace)


def del_neighbour(index: int, ip: IpAddr) -> Message:
    """``RTM_DELNEIGH`` for the entry of ``ip`` on link ``index``."""
    return requests.del_neighbour(index, _family(ip), ip.packed)


dump_neighbours = requests.dump_neighbours
