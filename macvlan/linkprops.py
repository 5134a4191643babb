"""Link properties beyond creation: alternative names, alias, promiscuous and
all-multicast mode (request builders, sans-IO)."""

from __future__ import annotations

from macvlan._netlink import requests
from macvlan._netlink.constants import Iff, RtmType
from macvlan._netlink.message import Message

ALTIFNAMSIZ = 128  # the kernel's limit, NUL included
IFALIASZ = 256


def check_altname(name: object) -> str:
    """An alternative interface name: 1..127 bytes, no ``/``, no whitespace."""
    if not isinstance(name, str):
        raise TypeError(f"an alternative name is a str, not {name!r}")
    size = len(name.encode("utf-8", "surrogateescape"))
    if not 0 < size < ALTIFNAMSIZ:
        raise ValueError(f"alternative name {name!r} must be 1..{ALTIFNAMSIZ - 1} bytes")
    if name in (".", "..") or "/" in name or any(c.isspace() or c == "\0" for c in name):
        raise ValueError(f"alternative name {name!r} is not a valid interface name")
    return name


def check_alias(alias: object) -> str:
    """A link alias (``ip link set X alias``); ``""`` removes it."""
    if not isinstance(alias, str):
        raise TypeError(f"alias must be a str, not {alias!r}")
    if "\0" in alias or len(alias.encode("utf-8", "surrogateescape")) >= IFALIASZ:
        raise ValueError(f"alias {alias!r} must be under {IFALIASZ} bytes without NUL")
    return alias


def altname_message(mtype: RtmType, index: int, names: list[str]) -> Message:
    """``RTM_NEWLINKPROP`` / ``RTM_DELLINKPROP`` adding or removing alternative names."""
    return requests.link_props(mtype, index, [check_altname(n) for n in names])


def flag_changes(
    *, up: bool | None = None, promisc: bool | None = None, allmulti: bool | None = None
) -> tuple[int, int]:
    """``(ifi_flags, ifi_change)`` that set or clear UP, PROMISC and ALLMULTI."""
    flags = change = 0
    for value, bit in ((up, Iff.UP), (promisc, Iff.PROMISC), (allmulti, Iff.ALLMULTI)):
        if value is None:
            continue
        if not isinstance(value, bool):
            raise TypeError(f"{bit.name.lower()} must be True, False or None, not {value!r}")
        change |= bit
        if value:
            flags |= bit
    return flags, change
