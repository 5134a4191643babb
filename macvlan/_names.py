"""The kernel's rule for interface names, in a module that imports nothing.

The CNI plugin (a process per container) checks names with it before it loads
the netlink layer; the library's link operations use the same rule.
"""

from __future__ import annotations

#: The kernel's name buffer size: 15 bytes and the terminating NUL.
IFNAMSIZ = 16
#: The kernel's buffer for an alternative name: 127 bytes and the NUL.
ALTIFNAMSIZ = 128


def check_ifname(name: object) -> str:
    """Return ``name`` if the kernel would accept it as an interface name.

    1 to 15 bytes, not ``.`` or ``..``, no ``/``, ``:``, NUL or white space.
    """
    return _check(name, IFNAMSIZ, "/:\0", "the kernel allows 15")


def check_link_name(name: object) -> str:
    """Return ``name`` if a link could be found by it: its name or one of its
    alternative names (``ip link property add ... altname``).

    1 to 127 bytes, not ``.`` or ``..``, no ``/``, NUL or white space (``:`` is
    allowed: the kernel takes it in an alternative name).
    """
    return _check(name, ALTIFNAMSIZ, "/\0", _ALT_LIMIT)


_ALT_LIMIT = f"the kernel allows 15 for a name and {ALTIFNAMSIZ - 1} for an alternative name"


def _check(name: object, size_limit: int, refused: str, limit: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"an interface name is a str, not {type(name).__name__}: {name!r}")
    if len(name) < IFNAMSIZ and name.isascii() and name.isalnum():
        return name  # the common case: ASCII letters and digits only, 1 to 15 of them
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"interface name {name!r} is not valid UTF-8") from None
    if size == 0:
        raise ValueError("an interface name cannot be empty")
    if size >= size_limit:
        raise ValueError(f"interface name {name!r} is {size} bytes; {limit}")
    if name in (".", ".."):
        raise ValueError(f"interface name {name!r} is not allowed")
    for char in name:
        if char in refused or char.isspace():
            raise ValueError(f"interface name {name!r} contains {char!r}")
    return name


def is_short_name(name: str) -> bool:
    """Whether ``name`` fits the kernel's name buffer (an ``IFLA_IFNAME``, an
    ``ifreq``); a longer one can only be an alternative name."""
    return (len(name) < IFNAMSIZ and name.isascii()) or len(name.encode("utf-8")) < IFNAMSIZ
