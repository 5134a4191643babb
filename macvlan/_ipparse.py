"""IP addresses, interfaces and prefixes from what callers pass: one rule for the library.

Text is taken as written, as :class:`~macvlan.MacAddress` and the CNI plugin take
it: whitespace around an address is an error, not stripped.  Each function accepts
the matching :mod:`ipaddress` object as it is, names the argument (``what``) in its
errors and raises the caller's error classes (a ``ValueError`` and a ``TypeError``
subclass, or the network layer's ``IpamError`` for both).
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _text(value: object, what: str, example: str, type_error: type[Exception]) -> str:
    if not isinstance(value, str):
        raise type_error(f"{what} must be a str like {example!r}, not {value!r}")
    return value


def address(
    value: object,
    what: str,
    error: type[Exception] = ValueError,
    type_error: type[Exception] = TypeError,
) -> IPAddress:
    """An IP address from a str such as ``"10.0.0.1"`` (or an ip_address)."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    try:
        return ipaddress.ip_address(_text(value, what, "10.0.0.1", type_error))
    except ValueError:
        raise error(f"{what} {value!r} is not an IP address") from None


def interface(
    value: object,
    what: str,
    error: type[Exception] = ValueError,
    type_error: type[Exception] = TypeError,
) -> IPInterface:
    """An address with its prefix length from ``"10.0.0.2/24"`` (or an ip_interface);
    a bare address (str or ip_address) is a host route."""
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return value
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ipaddress.ip_interface(value)
    try:
        return ipaddress.ip_interface(_text(value, what, "10.0.0.2/24", type_error))
    except ValueError:
        raise error(f"{what} {value!r} is not an IP address with a prefix length") from None


def network(
    value: object,
    what: str,
    error: type[Exception] = ValueError,
    type_error: type[Exception] = TypeError,
) -> IPNetwork:
    """A prefix from ``"192.168.1.0/24"`` (or an ip_network): the length is required and
    host bits are an error (the message suggests the prefix meant)."""
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    text = _text(value, what, "192.168.1.0/24", type_error)
    if "/" not in text:
        raise error(f"{what} {value!r} has no prefix length (e.g. '192.168.1.0/24')")
    try:
        return ipaddress.ip_network(text)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise error(f"{what} {value!r} is not an IP prefix: {exc}") from None
        raise error(f"{what} {value!r} has host bits set; did you mean '{loose}'?") from None
