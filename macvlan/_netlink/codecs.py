"""The codecs of attribute payloads: how bytes map to ints, enums, strings, bytes,
flags and IP addresses (and back, as packer byte-code).  Nested attributes are
:mod:`macvlan._netlink.attr`'s."""

from __future__ import annotations

import struct
import sys

from macvlan._netlink._bytecode import (
    OP_BE16,
    OP_BE32,
    OP_BYTES,
    OP_U8,
    OP_U16,
    OP_U32,
    OP_U64,
)
from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing costs ~10 ms at start-up: see macvlan._typing
    import enum
    import ipaddress
    from collections.abc import Callable
    from typing import Any, ClassVar, Generic, TypeVar

    from macvlan._netlink.attr import AttrList

    N = TypeVar("N", bound=int)
    E = TypeVar("E", bound=enum.IntEnum)
    F = TypeVar("F", bound=enum.IntFlag)
else:
    from macvlan._typing import Generic, TypeVar

    N = E = F = TypeVar("N")

T = TypeVar("T")

Ops = list[int]
Blob = list[bytes]
_ORDER = sys.byteorder


class Codec(Generic[T]):
    """How one attribute's payload maps to a Python value."""

    __slots__ = ()

    def decode(self, data: bytes, siblings: AttrList) -> T | None:
        """The value, or ``None`` when the payload does not fit (kept raw)."""
        raise NotImplementedError

    def validate(self, value: Any) -> T:
        """Check a value given for encoding; raise TypeError/ValueError."""
        raise NotImplementedError

    def flatten(self, value: T, nla_type: int, ops: Ops, blob: Blob) -> None:
        raise NotImplementedError


def u32_of(payload: bytes | None) -> int | None:
    """A u32 payload as it came (host byte order), or None: absent or not 4 bytes,
    as :class:`UInt` decodes it.  For readers that skip the typed decode."""
    return int.from_bytes(payload, _ORDER) if payload is not None and len(payload) == 4 else None


def s32_of(payload: bytes | None) -> int | None:
    """An s32 payload as it came, or None (absent or not 4 bytes), as :class:`SInt32`."""
    if payload is None or len(payload) != 4:
        return None
    return int.from_bytes(payload, _ORDER, signed=True)


def _int_value(value: Any, bits: int, signed: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, got {value!r}")
    low, high = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    if not low <= value < high:
        kind = "s" if signed else "u"
        raise ValueError(f"{value!r} does not fit in {kind}{bits}")
    return int(value)


class UInt(Codec[int]):
    """Unsigned integer, host byte order unless ``big`` (``NLA_F_NET_BYTEORDER``-style)."""

    __slots__ = ("_bits", "_limit", "_op", "_struct")

    _OPS: ClassVar[dict[tuple[int, bool], int]] = {
        (8, False): OP_U8,
        (16, False): OP_U16,
        (32, False): OP_U32,
        (64, False): OP_U64,
        (16, True): OP_BE16,
        (32, True): OP_BE32,
    }

    def __init__(self, bits: int, *, big: bool = False) -> None:
        self._bits = bits
        self._limit = 1 << bits
        self._op = self._OPS[bits, big]
        code = {8: "B", 16: "H", 32: "I", 64: "Q"}[bits]
        self._struct = struct.Struct((">" if big else "=") + code)

    def decode(self, data: bytes, siblings: AttrList) -> int | None:
        if len(data) != self._struct.size:
            return None
        value: int = self._struct.unpack(data)[0]
        return value

    def validate(self, value: Any) -> int:
        if type(value) is int and 0 <= value < self._limit:  # the common case, at once
            return value
        return _int_value(value, self._bits)

    def flatten(self, value: int, nla_type: int, ops: Ops, blob: Blob) -> None:
        ops += (self._op, nla_type, value)


class SInt32(Codec[int]):
    """Signed 32-bit integer, host byte order."""

    __slots__ = ()
    _S = struct.Struct("=i")

    def decode(self, data: bytes, siblings: AttrList) -> int | None:
        if len(data) != 4:
            return None
        value: int = self._S.unpack(data)[0]
        return value

    def validate(self, value: Any) -> int:
        return _int_value(value, 32, signed=True)

    def flatten(self, value: int, nla_type: int, ops: Ops, blob: Blob) -> None:
        ops += (OP_U32, nla_type, value & 0xFFFFFFFF)


class _EnumValued(Codec[N]):
    """An unsigned integer whose values are of an int enum class.

    ``load`` returns the class.  It is called when a value is first decoded or
    checked, so declaring a schema does not import :mod:`enum` (see
    :mod:`macvlan._netlink.numbers`).
    """

    __slots__ = ("_load", "_type", "_uint")

    def __init__(self, load: Callable[[], type[N]], bits: int = 32) -> None:
        self._load = load
        self._type: type[N] | None = None
        self._uint = UInt(bits)

    def enum_type(self) -> type[N]:
        """The enum class (loaded on first use)."""
        if self._type is None:
            self._type = self._load()
        return self._type

    def flatten(self, value: N, nla_type: int, ops: Ops, blob: Blob) -> None:
        self._uint.flatten(int(value), nla_type, ops, blob)


class IntEnumCodec(_EnumValued[E]):
    """An unsigned integer whose values are an :class:`enum.IntEnum`."""

    __slots__ = ()

    def decode(self, data: bytes, siblings: AttrList) -> E | None:
        raw = self._uint.decode(data, siblings)
        if raw is None:
            return None
        try:
            return self.enum_type()(raw)
        except ValueError:
            return None  # a value this library does not know: kept raw

    def validate(self, value: Any) -> E:
        enum_type = self.enum_type()
        if isinstance(value, enum_type):
            return value
        if isinstance(value, str):
            raise TypeError(f"expected {enum_type.__name__}, got the string {value!r}")
        number = self._uint.validate(value)
        try:
            return enum_type(number)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid {enum_type.__name__}") from None


class IntFlagCodec(_EnumValued[F]):
    """An unsigned integer of :class:`enum.IntFlag` bits; unknown bits are kept."""

    __slots__ = ()

    def decode(self, data: bytes, siblings: AttrList) -> F | None:
        raw = self._uint.decode(data, siblings)
        return None if raw is None else self.enum_type()(raw)

    def validate(self, value: Any) -> F:
        flag_type = self.enum_type()
        if isinstance(value, str):
            raise TypeError(f"expected {flag_type.__name__}, got the string {value!r}")
        return flag_type(self._uint.validate(value))


class String(Codec[str]):
    """A string; NUL-terminated unless ``nul=False``.  Undecodable bytes survive
    as surrogate escapes, so any name the kernel sends round-trips."""

    __slots__ = ("_nul",)

    def __init__(self, *, nul: bool = True) -> None:
        self._nul = nul

    def decode(self, data: bytes, siblings: AttrList) -> str | None:
        if self._nul:
            if not data.endswith(b"\0") or b"\0" in data[:-1]:
                return None
            data = data[:-1]
        elif b"\0" in data:
            return None
        return data.decode("utf-8", "surrogateescape")

    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected a str, got {value!r}")
        if "\0" in value:
            raise ValueError(f"{value!r} contains a NUL character")
        try:
            value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise ValueError(f"{value!r} cannot be encoded") from None
        return value

    def flatten(self, value: str, nla_type: int, ops: Ops, blob: Blob) -> None:
        data = value.encode("utf-8", "surrogateescape")
        if self._nul:
            data += b"\0"
        blob.append(data)
        ops += (OP_BYTES, nla_type, len(data))


class Bytes(Codec[bytes]):
    """Opaque bytes, optionally of one fixed ``size``."""

    __slots__ = ("_size",)

    def __init__(self, size: int | None = None) -> None:
        self._size = size

    def decode(self, data: bytes, siblings: AttrList) -> bytes | None:
        if self._size is not None and len(data) != self._size:
            return None
        return data

    def validate(self, value: Any) -> bytes:
        if type(value) is bytes:  # immutable already: kept, not copied
            data = value
        elif isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
        else:
            raise TypeError(f"expected bytes, got {value!r}")
        if self._size is not None and len(data) != self._size:
            raise ValueError(f"expected {self._size} bytes, got {len(data)}: {data.hex()}")
        if len(data) > 0xFFFF - 4:
            raise ValueError(f"{len(data)} bytes do not fit in one attribute")
        return data

    def flatten(self, value: bytes, nla_type: int, ops: Ops, blob: Blob) -> None:
        blob.append(value)
        ops += (OP_BYTES, nla_type, len(value))


class Flag(Codec[bool]):
    """Presence is the value (``NLA_FLAG``): an empty payload."""

    __slots__ = ()

    def decode(self, data: bytes, siblings: AttrList) -> bool | None:
        return True if not data else None

    def validate(self, value: Any) -> bool:
        if value is not True:
            raise ValueError(f"a flag attribute is present (True) or left out, not {value!r}")
        return True

    def flatten(self, value: bool, nla_type: int, ops: Ops, blob: Blob) -> None:
        ops += (OP_BYTES, nla_type, 0)


class IpAddress(Codec["ipaddress.IPv4Address | ipaddress.IPv6Address"]):
    """An IPv4 (4 bytes) or IPv6 (16 bytes) address, network byte order."""

    __slots__ = ()

    def decode(
        self, data: bytes, siblings: AttrList
    ) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        import ipaddress

        if len(data) == 4:
            return ipaddress.IPv4Address(data)
        if len(data) == 16:
            return ipaddress.IPv6Address(data)
        return None

    def validate(self, value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        import ipaddress

        if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return value
        if isinstance(value, str):
            return ipaddress.ip_address(value)
        raise TypeError(f"expected an IP address, got {value!r}")

    def flatten(
        self,
        value: ipaddress.IPv4Address | ipaddress.IPv6Address,
        nla_type: int,
        ops: Ops,
        blob: Blob,
    ) -> None:
        data = value.packed
        blob.append(data)
        ops += (OP_BYTES, nla_type, len(data))
