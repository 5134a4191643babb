"""The checks on link arguments (MACs, modes, flags, MTUs, numbers), exported by
:mod:`macvlan.link`: each returns the typed value or raises before anything is sent."""

from __future__ import annotations

from collections.abc import Iterable

from macvlan._intcheck import check_int, member
from macvlan._netlink.constants import MacvlanFlags, MacvlanMode
from macvlan._netlink.numbers import ETH_MAX_MTU, ETH_MIN_MTU
from macvlan.mac import MacAddress

MacLike = MacAddress | str | bytes | int


def to_mac(value: MacLike | None, what: str = "mac") -> MacAddress | None:
    """A link's own MAC: any MacAddress form, but unicast and not all zeros.

    The kernel refuses the others with EADDRNOTAVAIL; refusing them here gives a
    ValueError that quotes the input instead, before anything is sent.
    """
    if value is None:
        return None
    mac = value if isinstance(value, MacAddress) else MacAddress(value)
    if mac.is_multicast or not int(mac):
        kind = "broadcast" if mac.is_broadcast else "multicast" if mac.is_multicast else "all zeros"
        raise ValueError(f"{what} {value!r} is {kind}; a link needs a unicast MAC address")
    return mac


def to_macs(values: Iterable[MacLike], what: str = "source_macs") -> list[MacAddress]:
    """A list of unicast MACs (source-mode lists take only those too)."""
    if isinstance(values, str | bytes):
        raise TypeError(f"{what} is a sequence of MAC addresses, not {values!r}")
    out = []
    for value in values:
        mac = to_mac(value, what)
        if mac is None:
            raise TypeError(f"{what} holds None, not a MAC address")
        out.append(mac)
    return out


def check_up(up: object, *, optional: bool = False) -> bool | None:
    """``up`` must be a bool (or None where "leave it" is allowed)."""
    if up is None and optional:
        return None
    if not isinstance(up, bool):
        raise TypeError(f"up must be True or False, not {up!r}")
    return up


# -- validation helpers ----------------------------------------------------------------
_check_int = check_int


def check_mode(mode: object) -> MacvlanMode:
    return member(MacvlanMode, mode, "macvlan mode", by_number=True)


def check_flags(flags: object) -> MacvlanFlags:
    if isinstance(flags, MacvlanFlags):
        return flags
    if isinstance(flags, int) and not isinstance(flags, bool):
        if flags & ~0x3:
            raise ValueError(f"unknown macvlan flags {flags:#x}")
        return MacvlanFlags(flags)
    raise TypeError(f"flags must be MacvlanFlags, not {flags!r}")


#: The MTUs an Ethernet link (a macvlan, macvtap, veth) can have: ``ETH_MIN_MTU`` (IPv4's
#: least) to ``ETH_MAX_MTU``.  One rule for the whole library (links, networks, CLI, CNI).
MTU_MIN, MTU_MAX = ETH_MIN_MTU, ETH_MAX_MTU


def check_mtu(mtu: object) -> int:
    """``mtu`` if it is an int in :data:`MTU_MIN`..:data:`MTU_MAX`, else raise."""
    return _check_int("mtu", mtu, MTU_MIN, MTU_MAX)
