"""Checking what callers pass, one rule for the library: IP addresses, interfaces and
prefixes (ints in a range: :mod:`macvlan._intcheck`, which loads no :mod:`ipaddress`).

IP text is taken as written, as :class:`~macvlan.MacAddress` and the CNI plugin take
it: whitespace around an address is an error, not stripped.  Each function accepts
the matching :mod:`ipaddress` object as it is, names the argument (``what``) in its
errors and raises the caller's error classes: ``errors`` is (for bad text, for a
value that is no text), ``(ValueError, TypeError)`` unless told (the network layer
passes its ``IpamError`` for both).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Errors = tuple[type[Exception], type[Exception]]

_PLAIN: Errors = (ValueError, TypeError)


def _parse(
    value: object, what: str, example: str, parse: Callable[[str], Any], errors: Errors
) -> Any:
    """``parse(value)`` for a str, its ``ValueError`` text made the caller's error."""
    if not isinstance(value, str):
        raise errors[1](f"{what} must be a str like {example!r}, not {value!r}")
    try:
        return parse(value)
    except ValueError as exc:
        raise errors[0](f"{what} {value!r} {exc}") from None


def _address(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError("is not an IP address") from None


def _interface(text: str) -> IPInterface:
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise ValueError("is not an IP address with a prefix length") from None


def _network(text: str) -> IPNetwork:
    if "/" not in text:
        raise ValueError("has no prefix length (e.g. '192.168.1.0/24')")
    try:
        return ipaddress.ip_network(text)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"is not an IP prefix: {exc}") from None
        raise ValueError(f"has host bits set; did you mean '{loose}'?") from None


def address(value: object, what: str, errors: Errors = _PLAIN) -> IPAddress:
    """An IP address from a str such as ``"10.0.0.1"`` (or an ip_address)."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    parsed: IPAddress = _parse(value, what, "10.0.0.1", _address, errors)
    return parsed


def interface(value: object, what: str, errors: Errors = _PLAIN) -> IPInterface:
    """An address with its prefix length from ``"10.0.0.2/24"`` (or an ip_interface);
    a bare address (str or ip_address) is a host route."""
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return value
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ipaddress.ip_interface(value)
    parsed: IPInterface = _parse(value, what, "10.0.0.2/24", _interface, errors)
    return parsed


def network(
    value: object, what: str, errors: Errors = _PLAIN, *, host_ok: bool = False
) -> IPNetwork:
    """A prefix from ``"192.168.1.0/24"`` (or an ip_network): host bits are an error (the
    message suggests the prefix meant); the length is required unless ``host_ok``, which
    takes a bare address (str or ip_address) as the host's prefix (``/32``, ``/128``)."""
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    if host_ok and isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ipaddress.ip_network(value)
    if host_ok and isinstance(value, str) and "/" not in value:
        parsed: IPNetwork = _parse(value, what, "10.0.0.1", _address, errors)
        return ipaddress.ip_network(parsed)
    parsed = _parse(value, what, "192.168.1.0/24", _network, errors)
    return parsed
