"""The one bounded-int check of the library's arguments, in a module that imports
nothing: the link checks need it, and :mod:`macvlan._argcheck`, which names it too,
loads :mod:`ipaddress` (some 2 ms) that making links does not need."""

from __future__ import annotations


def check_int(name: str, value: object, low: int, high: int) -> int:
    """``value`` if it is an int (not a bool) in ``low..high``; else ``TypeError`` or
    ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name}={value!r} is outside {low}..{high}")
    return value
