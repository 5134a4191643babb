"""Argument types for the parser: each converts one string or raises, so that a bad
value is a usage error (exit 2) before anything is done.  Each imports what it needs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from macvlan._netlink.numbers import ETH_MAX_MTU, ETH_MIN_MTU

if TYPE_CHECKING:
    from macvlan.link import MacvlanMode
    from macvlan.mac import MacAddress


def _arg_type(fn: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    """``fn`` as an argparse ``type``: its ValueError/TypeError become usage errors."""

    def convert(text: str) -> Any:
        try:
            return fn(text)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = what
    return convert


def _ifname(text: str) -> str:
    from macvlan.link import check_ifname

    return check_ifname(text)


def _linkref(text: str) -> int | str:
    """A link name or alternative name, or an index when all digits."""
    if text.isdigit():
        return int(text)
    from macvlan._names import check_link_name

    return check_link_name(text)


def _nsname(text: str) -> str:
    from macvlan.namespace import _check_name

    return _check_name(text)


def _mac(text: str) -> MacAddress:
    from macvlan.mac import MacAddress

    return MacAddress(text)


def _mac_choice(text: str) -> MacAddress | str:
    """A MAC address, or ``random`` / ``stable`` (generated per link)."""
    if text in ("random", "stable"):
        return text
    return _mac(text)


def _mode(text: str) -> MacvlanMode:
    from macvlan.link import check_mode

    return check_mode(text)


def _mflags(text: str) -> Any:
    from macvlan.link import MacvlanFlags

    value = MacvlanFlags.NONE
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part.lower() == "none":
            continue
        try:
            value |= MacvlanFlags[part.upper()]
        except KeyError:
            raise ValueError(
                f"unknown macvlan flag {part!r}; expected nopromisc, nodst or none"
            ) from None
    return value


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value

    return parse


def _quadrant(text: str) -> Any:
    from macvlan.mac import SlapQuadrant

    if text.lower() in ("any", "none"):
        return None
    try:
        return SlapQuadrant[text.upper()]
    except KeyError:
        raise ValueError(f"unknown SLAP quadrant {text!r}; expected aai, eli, sai or any") from None


def _mac_format(text: str) -> str:
    from macvlan.mac import MacFormat

    try:
        return MacFormat(text).value
    except ValueError:
        names = ", ".join(m.value for m in MacFormat if m.value.islower())
        raise ValueError(
            f"unknown format {text!r}; expected one of {names} (capitals: upper-case digits)"
        ) from None


def _ip(text: str) -> Any:
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def _ip_maybe_prefix(text: str) -> str:
    """An IP address, optionally with its prefix length (``10.0.0.5/24``)."""
    import ipaddress

    try:
        if "/" in text:
            ipaddress.ip_interface(text)
        else:
            ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None
    return text


def _network(text: str) -> Any:
    import ipaddress

    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a subnet: {exc}") from None


def _aux(text: str) -> tuple[str, Any]:
    name, sep, addr = text.partition("=")
    if not sep or not name:
        raise ValueError(f"{text!r} is not NAME=IP")
    return name, _ip(addr)


T_IFNAME = _arg_type(_ifname, "interface name")
T_LINK = _arg_type(_linkref, "link")
T_NS = _arg_type(_nsname, "namespace name")
T_MAC = _arg_type(_mac, "MAC address")
T_MAC_CHOICE = _arg_type(_mac_choice, "MAC address")
T_MODE = _arg_type(_mode, "mode")
T_MFLAGS = _arg_type(_mflags, "flags")
T_MTU = _arg_type(_int_in(ETH_MIN_MTU, ETH_MAX_MTU), "MTU")  # the library's one MTU rule
T_U32 = _arg_type(_int_in(0, 2**32 - 1), "u32")
T_S32 = _arg_type(_int_in(-(2**31), 2**31 - 1), "s32")
T_COUNT = _arg_type(_int_in(1, 1_000_000), "count")
T_QUADRANT = _arg_type(_quadrant, "quadrant")
T_FORMAT = _arg_type(_mac_format, "format")
T_IP = _arg_type(_ip, "IP address")
T_SUBNET = _arg_type(_network, "subnet")
T_IP_PREFIX = _arg_type(_ip_maybe_prefix, "IP address")
T_AUX = _arg_type(_aux, "NAME=IP")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise ValueError(f"{text!r} must not be negative")
    return value


T_SECONDS = _arg_type(_positive_float, "seconds")


def _sysctl(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value.strip()


T_SYSCTL = _arg_type(_sysctl, "KEY=VALUE")
