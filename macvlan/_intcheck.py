"""The one bounded-int check of the library's arguments and the one check of enum
arguments by name, in a module that imports nothing: the link checks need them, and
:mod:`macvlan._argcheck`, which names them too, loads :mod:`ipaddress` (some 2 ms)
that making links does not need."""

from __future__ import annotations

from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    import enum
    from collections.abc import Mapping
    from typing import TypeVar

    E = TypeVar("E", bound=enum.Enum)


def check_int(name: str, value: object, low: int, high: int) -> int:
    """``value`` if it is an int (not a bool) in ``low..high``; else ``TypeError`` or
    ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name}={value!r} is outside {low}..{high}")
    return value


def member(
    kind: type[E],
    value: object,
    what: str,
    *,
    aliases: Mapping[str, str] | None = None,
    choices: str | None = None,
    by_number: bool = False,
) -> E:
    """``value`` if it is a member of the enum ``kind``; else the member it names, in any
    case (``aliases`` map other lower-case names to member names), or with ``by_number``
    the member of that number.  The ``ValueError`` names ``what`` and the ``choices``
    (by default every member's name, lower case)."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        name = (aliases or {}).get(value.lower(), value.upper())
        try:
            return kind[name]
        except KeyError:
            names = choices or ", ".join(m.name.lower() for m in kind)
            raise ValueError(f"unknown {what} {value!r}; expected one of {names}") from None
    if by_number and isinstance(value, int) and not isinstance(value, bool):
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"unknown {what} {value!r}") from None
    raise TypeError(f"{what} must be a {kind.__name__} or its name, not {value!r}")
