"""The kernel's rule for interface names, in a module that imports nothing.

The CNI plugin (a process per container) checks names with it before it loads
the netlink layer; the library's link operations use the same rule.
"""

from __future__ import annotations

#: The kernel's name buffer size: 15 bytes and the terminating NUL.
IFNAMSIZ = 16


def check_ifname(name: object) -> str:
    """Return ``name`` if the kernel would accept it as an interface name.

    1 to 15 bytes, not ``.`` or ``..``, no ``/``, ``:``, NUL or white space.
    """
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
    if size >= IFNAMSIZ:
        raise ValueError(f"interface name {name!r} is {size} bytes; the kernel allows 15")
    if name in (".", ".."):
        raise ValueError(f"interface name {name!r} is not allowed")
    for char in name:
        if char in "/:\0" or char.isspace():
            raise ValueError(f"interface name {name!r} contains {char!r}")
    return name
