"""The fixed headers that precede attributes in rtnetlink messages.

Small immutable slotted classes rather than dataclasses: importing them does not
pull in :mod:`dataclasses` (and :mod:`inspect`, some 20 ms of start-up), which
matters to short-lived processes such as the CNI plugin.  A header class declares
its ``_fields`` (in wire order) and ``_layout``; :class:`_Header` writes its
``__init__``, ``pack`` and ``_values`` from them once, when the class is made, as
:func:`collections.namedtuple` does: straight-line code, as fast as written by
hand (dumps make one header per link or route).
"""

from __future__ import annotations

import struct

from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar

_TEMPLATE = """\
def make(_set, _pack, _error):
    def __init__(self, {params}):
{sets}
    def pack(self):
        try:
            return _pack({reads})
        except _error as exc:
            raise ValueError(f"bad field in {{self!r}}: {{exc}}") from None
    def _values(self):
        return ({reads},)
    return __init__, pack, _values
"""


def _methods(fields: tuple[str, ...], layout: struct.Struct) -> tuple[Callable[..., Any], ...]:
    """``__init__``, ``pack`` and ``_values`` for ``fields``: one line per field."""
    source = _TEMPLATE.format(
        params=", ".join(f"{name}=0" for name in fields),
        sets="\n".join(f"        _set(self, {name!r}, {name})" for name in fields),
        reads=", ".join(f"self.{name}" for name in fields),
    )
    scope: dict[str, Any] = {}
    exec(source, scope)  # fields are identifiers written in this module, never input
    made: tuple[Callable[..., Any], ...] = scope["make"](
        object.__setattr__, layout.pack, struct.error
    )
    return made


class _Header:
    """Immutable fixed-layout header: equality, hashing and repr by its fields."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _layout: ClassVar[struct.Struct]
    SIZE: ClassVar[int]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        init, pack, values = _methods(cls._fields, cls._layout)
        pack.__doc__ = f"The {cls._layout.size} bytes of the struct."
        for name, method in (("__init__", init), ("pack", pack), ("_values", values)):
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)

    if TYPE_CHECKING:  # the generated methods, as callers see them

        def __init__(self, *values: int, **named: int) -> None: ...

        def pack(self) -> bytes:
            """The bytes of the struct."""

        def _values(self) -> tuple[int, ...]: ...

    @classmethod
    def unpack(cls, data: bytes, offset: int) -> Any:
        """The header at ``offset`` in ``data``."""
        return cls(*cls._layout.unpack_from(data, offset))

    def _replace(self, **changes: int) -> Any:
        values = dict(zip(self._fields, self._values(), strict=True))
        values.update(changes)
        return type(self)(**values)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({args})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[type[_Header], tuple[int, ...]]:
        return (type(self), self._values())


class IfInfoMsg(_Header):
    """``struct ifinfomsg`` (links)."""

    __slots__ = _fields = ("family", "type", "index", "flags", "change")
    _layout = struct.Struct("=BxHiII")
    SIZE = 16
    family: int
    type: int
    index: int
    flags: int
    change: int


class IfAddrMsg(_Header):
    """``struct ifaddrmsg`` (addresses)."""

    __slots__ = _fields = ("family", "prefixlen", "flags", "scope", "index")
    _layout = struct.Struct("=BBBBI")
    SIZE = 8
    family: int
    prefixlen: int
    flags: int
    scope: int
    index: int


class RtMsg(_Header):
    """``struct rtmsg`` (routes)."""

    __slots__ = _fields = (
        "family", "dst_len", "src_len", "tos", "table", "protocol", "scope", "type", "flags"
    )  # fmt: skip
    _layout = struct.Struct("=BBBBBBBBI")
    SIZE = 12
    family: int
    dst_len: int
    src_len: int
    tos: int
    table: int
    protocol: int
    scope: int
    type: int
    flags: int


class RtGenMsg(_Header):
    """``struct rtgenmsg`` padded to 4 bytes (namespace ids)."""

    __slots__ = _fields = ("family",)
    _layout = struct.Struct("=B3x")
    SIZE = 4
    family: int


class NdMsg(_Header):
    """``struct ndmsg`` (neighbours)."""

    __slots__ = _fields = ("family", "index", "state", "flags", "type")
    _layout = struct.Struct("=B3xiHBB")
    SIZE = 12
    family: int
    index: int
    state: int
    flags: int
    type: int


class FibRuleHdr(_Header):
    """``struct fib_rule_hdr`` (policy rules)."""

    __slots__ = _fields = (
        "family", "dst_len", "src_len", "tos", "table", "res1", "res2", "action", "flags"
    )  # fmt: skip
    _layout = struct.Struct("=BBBBBBBBI")
    SIZE = 12
    family: int
    dst_len: int
    src_len: int
    tos: int
    table: int
    res1: int
    res2: int
    action: int
    flags: int


Body = IfInfoMsg | IfAddrMsg | RtMsg | RtGenMsg | NdMsg | FibRuleHdr
