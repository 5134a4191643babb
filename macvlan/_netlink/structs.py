"""The fixed headers that precede attributes in rtnetlink messages.

Small immutable slotted classes rather than dataclasses: importing them does not
pull in :mod:`dataclasses` (and :mod:`inspect`, some 20 ms of start-up), which
matters to short-lived processes such as the CNI plugin.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar


class _Header:
    """Immutable fixed-layout header: equality, hashing and repr by its fields."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _layout: ClassVar[struct.Struct]
    SIZE: ClassVar[int]

    def __init__(self, *values: int, **named: int) -> None:
        fields = self._fields
        if len(values) > len(fields):
            raise TypeError(f"{type(self).__name__} takes at most {len(fields)} values")
        setter = object.__setattr__
        for name, value in zip(fields, values, strict=False):
            setter(self, name, value)
        for name in fields[len(values) :]:
            setter(self, name, named.pop(name, 0))
        if named:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(named))!r}")

    def _values(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    @classmethod
    def unpack(cls, data: bytes, offset: int) -> Any:
        return cls(*cls._layout.unpack_from(data, offset))

    def pack(self) -> bytes:
        try:
            return self._layout.pack(*self._values())
        except struct.error as exc:
            raise ValueError(f"bad field in {self!r}: {exc}") from None

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

    __slots__ = ("change", "family", "flags", "index", "type")
    _fields = ("family", "type", "index", "flags", "change")
    _layout = struct.Struct("=BxHiII")
    SIZE = 16
    family: int
    type: int
    index: int
    flags: int
    change: int

    def __init__(
        self, family: int = 0, type: int = 0, index: int = 0, flags: int = 0, change: int = 0
    ) -> None:
        setter = object.__setattr__
        setter(self, "family", family)
        setter(self, "type", type)
        setter(self, "index", index)
        setter(self, "flags", flags)
        setter(self, "change", change)

    def pack(self) -> bytes:
        """The 16 bytes of the struct (one per link request: no generic field walk)."""
        try:
            return self._layout.pack(self.family, self.type, self.index, self.flags, self.change)
        except struct.error as exc:
            raise ValueError(f"bad field in {self!r}: {exc}") from None


class IfAddrMsg(_Header):
    """``struct ifaddrmsg`` (addresses)."""

    __slots__ = ("family", "flags", "index", "prefixlen", "scope")
    _fields = ("family", "prefixlen", "flags", "scope", "index")
    _layout = struct.Struct("=BBBBI")
    SIZE = 8
    family: int
    prefixlen: int
    flags: int
    scope: int
    index: int

    def __init__(
        self, family: int = 0, prefixlen: int = 0, flags: int = 0, scope: int = 0, index: int = 0
    ) -> None:
        setter = object.__setattr__
        setter(self, "family", family)
        setter(self, "prefixlen", prefixlen)
        setter(self, "flags", flags)
        setter(self, "scope", scope)
        setter(self, "index", index)


class RtMsg(_Header):
    """``struct rtmsg`` (routes)."""

    __slots__ = (
        "dst_len",
        "family",
        "flags",
        "protocol",
        "scope",
        "src_len",
        "table",
        "tos",
        "type",
    )
    _fields = ("family", "dst_len", "src_len", "tos", "table", "protocol", "scope", "type", "flags")
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

    def __init__(
        self,
        family: int = 0,
        dst_len: int = 0,
        src_len: int = 0,
        tos: int = 0,
        table: int = 0,
        protocol: int = 0,
        scope: int = 0,
        type: int = 0,
        flags: int = 0,
    ) -> None:
        setter = object.__setattr__  # field by field: dumps make one per route
        setter(self, "family", family)
        setter(self, "dst_len", dst_len)
        setter(self, "src_len", src_len)
        setter(self, "tos", tos)
        setter(self, "table", table)
        setter(self, "protocol", protocol)
        setter(self, "scope", scope)
        setter(self, "type", type)
        setter(self, "flags", flags)


class RtGenMsg(_Header):
    """``struct rtgenmsg`` padded to 4 bytes (namespace ids)."""

    __slots__ = ("family",)
    _fields = ("family",)
    _layout = struct.Struct("=B3x")
    SIZE = 4
    family: int

    def __init__(self, family: int = 0) -> None:
        object.__setattr__(self, "family", family)


class NdMsg(_Header):
    """``struct ndmsg`` (neighbours)."""

    __slots__ = ("family", "flags", "index", "state", "type")
    _fields = ("family", "index", "state", "flags", "type")
    _layout = struct.Struct("=B3xiHBB")
    SIZE = 12
    family: int
    index: int
    state: int
    flags: int
    type: int

    def __init__(
        self, family: int = 0, index: int = 0, state: int = 0, flags: int = 0, type: int = 0
    ) -> None:
        setter = object.__setattr__
        setter(self, "family", family)
        setter(self, "index", index)
        setter(self, "state", state)
        setter(self, "flags", flags)
        setter(self, "type", type)


class FibRuleHdr(_Header):
    """``struct fib_rule_hdr`` (policy rules)."""

    __slots__ = ("action", "dst_len", "family", "flags", "res1", "res2", "src_len", "table", "tos")
    _fields = ("family", "dst_len", "src_len", "tos", "table", "res1", "res2", "action", "flags")
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

    def __init__(
        self,
        family: int = 0,
        dst_len: int = 0,
        src_len: int = 0,
        tos: int = 0,
        table: int = 0,
        res1: int = 0,
        res2: int = 0,
        action: int = 0,
        flags: int = 0,
    ) -> None:
        super().__init__(family, dst_len, src_len, tos, table, res1, res2, action, flags)


Body = IfInfoMsg | IfAddrMsg | RtMsg | RtGenMsg | NdMsg | FibRuleHdr
