"""Netlink attributes as typed declarations.

An :class:`AttrSpec` says what an attribute number means and how its payload is
coded (a :class:`Codec`).  A :class:`Schema` groups the specs of one attribute
space (``IFLA_*``, ``IFA_*``, ...).  Decoding yields :class:`Attr` for what a
schema knows and :class:`RawAttr` (number, flags, bytes) for the rest; both
re-encode byte for byte.

Encoding does not write bytes directly: it *flattens* attributes into a list of
integer ops plus a list of byte strings, which the backend (compiled or pure
Python, see :mod:`macvlan._netlink._backend`) packs in one call.
"""

from __future__ import annotations

import struct
import sys

# The abstract base classes themselves, without the rest of collections (which
# collections.abc would import); os has loaded this module already.
from _collections_abc import Sequence

from macvlan._netlink.numbers import NLA_TYPE_MASK
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import ProtocolError

if TYPE_CHECKING:  # typing costs ~10 ms at start-up: see macvlan._typing
    import enum
    from collections.abc import Callable, Iterator
    from typing import Any, ClassVar, Generic, TypeVar, overload

    N = TypeVar("N", bound=int)
    E = TypeVar("E", bound=enum.IntEnum)
    F = TypeVar("F", bound=enum.IntFlag)
    AttrValues = Sequence["Attr[Any] | RawAttr"]
    ScanFn = Callable[[bytes, int, int], memoryview]
else:
    from macvlan._typing import Generic, TypeVar, overload

    N = E = F = TypeVar("N")

T = TypeVar("T")

# The packer's byte-code (three ints per op), defined for both backends in _bytecode;
# the codecs of scalar payloads (Codec, UInt, String, ...) in codecs.
from macvlan._netlink._bytecode import (  # noqa: E402
    OP_BYTES,
    OP_END,
    OP_NEST,
    SCAN_FIRST,
)
from macvlan._netlink.codecs import Codec  # noqa: E402

Ops = list[int]
Blob = list[bytes]

MAX_DEPTH = 16  # nesting deeper than this is refused as malformed
_ORDER = sys.byteorder
_U32_AT = struct.Struct("=I").unpack_from
_new_tuple = tuple.__new__


def _validate_attrs(value: Any) -> tuple[Attr[Any] | RawAttr, ...]:
    if isinstance(value, AttrList):
        return tuple(value)
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"expected a sequence of attributes, got {value!r}")
    for item in value:
        if not isinstance(item, Attr | RawAttr):
            raise TypeError(f"expected an attribute, got {item!r}")
    return tuple(value)


def flatten_attrs(value: AttrValues, ops: Ops, blob: Blob) -> None:
    """Flatten attributes; an AttrList re-emits the bytes it came in."""
    if isinstance(value, AttrList):
        value.flatten(ops, blob)
    else:
        for attr in value:
            attr.flatten(ops, blob)


def _flatten_nest(value: AttrValues, nla_type: int, ops: Ops, blob: Blob) -> None:
    ops += (OP_NEST, nla_type, 0)
    flatten_attrs(value, ops, blob)
    ops += (OP_END, 0, 0)


class Nested(Codec["AttrValues"]):
    """Attributes inside an attribute, decoded with ``schema``."""

    __slots__ = ("_schema",)

    def __init__(self, schema: Schema) -> None:
        self._schema = schema

    def decode(self, data: bytes, siblings: AttrList) -> AttrValues | None:
        return AttrList(data, 0, len(data), self._schema, siblings.depth + 1)

    def validate(self, value: Any) -> AttrValues:
        return _validate_attrs(value)

    def flatten(self, value: AttrValues, nla_type: int, ops: Ops, blob: Blob) -> None:
        _flatten_nest(value, nla_type, ops, blob)


class NestedByKind(Codec["AttrValues"]):
    """Nested attributes whose schema depends on a sibling string attribute
    (``IFLA_INFO_DATA`` by ``IFLA_INFO_KIND``); unknown kinds stay raw."""

    __slots__ = ("_kind", "_schemas")

    def __init__(self, kind: AttrSpec[str], schemas: dict[str, Schema]) -> None:
        self._kind = kind
        self._schemas = schemas

    def decode(self, data: bytes, siblings: AttrList) -> AttrValues | None:
        kind = siblings.get(self._kind)
        if kind is None:
            # iproute2 sends the kind without its NUL: the kind attribute itself then
            # stays raw (to re-encode as it came), but it still names the schema.
            raw = siblings.raw(self._kind.number)
            kind = raw.rstrip(b"\0").decode("utf-8", "replace") if raw is not None else ""
        schema = self._schemas.get(kind)
        if schema is None:
            return None
        return AttrList(data, 0, len(data), schema, siblings.depth + 1)

    def validate(self, value: Any) -> AttrValues:
        return _validate_attrs(value)

    def flatten(self, value: AttrValues, nla_type: int, ops: Ops, blob: Blob) -> None:
        _flatten_nest(value, nla_type, ops, blob)


class AttrSpec(Generic[T]):
    """One attribute number of a schema: its name and codec.

    Calling a spec builds an attribute: ``IFNAME("mv0")``.  Read-only specs
    (``writable=False``) refuse that: the kernel rejects them on input.
    """

    __slots__ = ("codec", "flags", "name", "number", "writable")

    def __init__(
        self, number: int, name: str, codec: Codec[T], *, flags: int = 0, writable: bool = True
    ) -> None:
        self.number = number
        self.name = name
        self.codec = codec
        self.flags = flags
        self.writable = writable

    def __call__(self, value: T) -> Attr[T]:
        if not self.writable:
            raise ValueError(f"{self.name} is read-only: the kernel rejects it in requests")
        try:
            checked = self.codec.validate(value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{self.name}: {exc}") from None
        return _new_tuple(Attr, (self, checked, self.flags))  # Attr(...) without its frame

    def raw(self, payload: bytes) -> RawAttr:
        """This attribute with ``payload`` as its bytes, as they are: for values
        already in wire form (a packed address, say) that the caller has checked."""
        if not self.writable:
            raise ValueError(f"{self.name} is read-only: the kernel rejects it in requests")
        if len(payload) > 0xFFFF - 4:
            raise ValueError(f"{self.name}: {len(payload)} bytes do not fit in one attribute")
        return RawAttr(self.number, bytes(payload), self.flags)

    def __copy__(self) -> AttrSpec[T]:
        return self  # a declaration: attributes are compared by their spec's identity

    def __deepcopy__(self, memo: dict[int, object]) -> AttrSpec[T]:
        return self

    def __repr__(self) -> str:
        return f"<AttrSpec {self.name}={self.number}>"


class Attr(tuple["AttrSpec[T]", "T", int], Generic[T]):
    """A decoded or built attribute whose meaning the schema knows:
    ``(spec, value, flags)``."""

    __slots__ = ()

    def __new__(cls, spec: AttrSpec[T], value: T, flags: int = 0) -> Attr[T]:
        return tuple.__new__(cls, (spec, value, flags))

    def __getnewargs__(self) -> tuple[AttrSpec[T], T, int]:
        return (self[0], self[1], self[2])

    @property
    def spec(self) -> AttrSpec[T]:
        return self[0]

    @property
    def value(self) -> T:
        return self[1]

    @property
    def flags(self) -> int:
        return self[2]

    @property
    def type(self) -> int:
        return self[0].number

    @property
    def name(self) -> str:
        return self.spec.name

    def flatten(self, ops: Ops, blob: Blob) -> None:
        spec, value, flags = self  # (unpacking: cheaper than three property lookups)
        spec.codec.flatten(value, spec.number | flags, ops, blob)

    def __repr__(self) -> str:
        flags = f", flags={self.flags:#x}" if self.flags else ""
        return f"{self.spec.name}({self.value!r}{flags})"


class RawAttr(tuple[int, bytes, int]):
    """An attribute kept as it came: ``(type, data, flags)``, its number, payload
    bytes and flag bits."""

    __slots__ = ()

    def __new__(cls, type: int, data: bytes, flags: int = 0) -> RawAttr:
        return tuple.__new__(cls, (type, data, flags))

    def __getnewargs__(self) -> tuple[int, bytes, int]:
        return (self[0], self[1], self[2])

    @property
    def type(self) -> int:
        return self[0]

    @property
    def data(self) -> bytes:
        return self[1]

    @property
    def flags(self) -> int:
        return self[2]

    def __repr__(self) -> str:
        return f"RawAttr(type={self[0]!r}, data={self[1]!r}, flags={self[2]!r})"

    def flatten(self, ops: Ops, blob: Blob) -> None:
        number, data, flags = self
        blob.append(data)
        ops += (OP_BYTES, number | flags, len(data))


_SCHEMAS: dict[str, Schema] = {}  # by name, the first of each name: for unpickling
# the modules that declare the schemas of the kernel's attribute spaces
_DECLARING = ("ifla", "ifa", "nda", "rta", "fra", "message")


def _schema_named(name: str) -> Schema:
    """The schema called ``name`` (for unpickling), its declaring module loaded."""
    if name not in _SCHEMAS:
        import importlib

        for module in _DECLARING:
            importlib.import_module(f"macvlan._netlink.{module}")
    return _SCHEMAS[name]


class Schema:
    """The attribute specs of one attribute space, by number."""

    __slots__ = ("_by_number", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._by_number: dict[int, AttrSpec[Any]] = {}
        _SCHEMAS.setdefault(name, self)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # pickled by name: a decoded value refers to the one schema of its space
        if _SCHEMAS.get(self.name) is not self:
            raise TypeError(f"schema {self.name!r} cannot be pickled: another one has its name")
        return _schema_named, (self.name,)

    def attr(
        self, number: int, name: str, codec: Codec[T], *, flags: int = 0, writable: bool = True
    ) -> AttrSpec[T]:
        """Declare attribute ``number`` of this schema and return its spec."""
        if number in self._by_number:
            raise ValueError(f"{self.name}: attribute {number} declared twice")
        spec = AttrSpec(number, f"{self.name}_{name}", codec, flags=flags, writable=writable)
        self._by_number[number] = spec
        return spec

    def get(self, number: int) -> AttrSpec[Any] | None:
        return self._by_number.get(number)

    def __iter__(self) -> Iterator[AttrSpec[Any]]:
        return iter(self._by_number.values())

    def __repr__(self) -> str:
        return f"<Schema {self.name}: {len(self._by_number)} attributes>"


# The backend's attribute scanner: fetched at the first decode, and kept current by
# the backend (it calls _use_scan whenever tests or benchmarks switch backends).
_scan: ScanFn | None = None


def _use_scan(scan: ScanFn) -> None:
    global _scan  # noqa: PLW0603 - the decode fast path reads a plain global
    _scan = scan


def _first_scan() -> ScanFn:
    from macvlan._netlink import _backend

    _backend.on_use(_use_scan)
    assert _scan is not None
    return _scan


# AttrList is registered as a Sequence rather than derived from it: a class derived
# from an ABC has ABCMeta as its metaclass, whose isinstance() checks run Python code
# (~0.3 us each), and the codec and the decoders check for an AttrList several
# times per message.  Type checkers see the Sequence base.
if TYPE_CHECKING:
    _AttrSequence = Sequence["Attr[Any] | RawAttr"]
else:
    _AttrSequence = object


class AttrList(_AttrSequence):
    """Attributes decoded lazily from the bytes they came in.

    The framing (lengths, alignment) is checked at once; each value is decoded the
    first time it is asked for.  Re-encoding re-emits the original bytes of every
    attribute, so a decoded message encodes byte for byte as it came.

    The framing is kept as the backend's scanner gives it (see
    :data:`~macvlan._netlink._bytecode.SCAN_FIRST`): one uint32 memoryview that
    says where each attribute lies and where the first one of each number is, so
    looking one up builds nothing, and thousands of kept lists cost the garbage
    collector nothing to walk.
    """

    __slots__ = ("_data", "_entries", "_items", "depth", "schema")

    def __init__(self, data: bytes, start: int, end: int, schema: Schema, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"attributes nested deeper than {MAX_DEPTH} levels")
        scan = _scan
        if scan is None:  # the first decode
            scan = _first_scan()
        self._entries = scan(data, start, end)
        self._data = data
        self.schema = schema
        self.depth = depth
        self._items: list[Attr[Any] | RawAttr | None] | None = None

    def __len__(self) -> int:
        return (len(self._entries) - SCAN_FIRST) // 3

    # (ruff does not know the run-time stand-in for typing.overload: hence F811)
    @overload
    def __getitem__(self, i: int) -> Attr[Any] | RawAttr: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Attr[Any] | RawAttr]: ...  # noqa: F811
    def __getitem__(  # noqa: F811
        self, i: int | slice
    ) -> Attr[Any] | RawAttr | Sequence[Attr[Any] | RawAttr]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        items = self._items
        if items is None:
            items = self._items = [None] * len(self)
        item = items[i]
        if item is None:
            item = items[i if i >= 0 else i + len(items)] = self._decode(i % len(items))
        return item

    def _decode(self, i: int) -> Attr[Any] | RawAttr:
        entries = self._entries
        k = SCAN_FIRST + 3 * i
        type_flags, offset, length = entries[k], entries[k + 1], entries[k + 2]
        number = type_flags & NLA_TYPE_MASK
        flags = type_flags & ~NLA_TYPE_MASK
        payload = self._data[offset : offset + length]
        spec = self.schema.get(number)
        if spec is not None:
            value = spec.codec.decode(payload, self)
            if value is not None:
                return Attr(spec, value, flags)
        return RawAttr(number, payload, flags)

    def _first(self, number: int) -> int:
        """Where the first attribute ``number`` begins in the entries (0: absent)."""
        entries = self._entries
        if number < SCAN_FIRST:
            return entries[number]
        for k in range(SCAN_FIRST, len(entries), 3):
            if entries[k] & NLA_TYPE_MASK == number:
                return k
        return 0

    def get(self, spec: AttrSpec[T]) -> T | None:
        """The value of the first ``spec`` attribute, or None (absent or undecodable)."""
        k = self._first(spec.number)
        if not k:
            return None
        items = self._items
        if items is not None:
            item = items[(k - SCAN_FIRST) // 3]
            if item is not None:
                return item.value if isinstance(item, Attr) else None
        entries = self._entries
        offset = entries[k + 1]
        return spec.codec.decode(self._data[offset : offset + entries[k + 2]], self)

    def get_all(self, spec: AttrSpec[T]) -> list[T]:
        """The values of every ``spec`` attribute, in order."""
        out: list[T] = []
        entries = self._entries
        for i in range(len(self)):
            if entries[SCAN_FIRST + 3 * i] & NLA_TYPE_MASK == spec.number:
                item = self[i]
                if isinstance(item, Attr):
                    out.append(item.value)
        return out

    def raw(self, number: int) -> bytes | None:
        """The payload bytes of the first attribute ``number``, as they came."""
        k = self._first(number)
        if not k:
            return None
        entries = self._entries
        offset = entries[k + 1]
        return self._data[offset : offset + entries[k + 2]]

    def raws(self, numbers: Sequence[int]) -> list[bytes | None]:
        """:meth:`raw` of each of ``numbers``, in one call (for readers of many)."""
        entries = self._entries
        data = self._data
        out: list[bytes | None] = []
        for number in numbers:
            k = entries[number] if number < SCAN_FIRST else self._first(number)
            if k:
                offset = entries[k + 1]
                out.append(data[offset : offset + entries[k + 2]])
            else:
                out.append(None)
        return out

    def u32s(self, numbers: Sequence[int]) -> list[int | None]:
        """The u32 value of the first attribute of each of ``numbers``, read where it
        lies (None: absent or not 4 bytes, as :class:`UInt` decodes it); for readers
        of many, like :meth:`raws`."""
        entries = self._entries
        data = self._data
        out: list[int | None] = []
        for number in numbers:
            k = entries[number] if number < SCAN_FIRST else self._first(number)
            out.append(_U32_AT(data, entries[k + 1])[0] if k and entries[k + 2] == 4 else None)
        return out

    def has(self, number: int) -> bool:
        return self._first(number) != 0

    def decode_all(self) -> None:
        """Decode every value now, recursively (raises ProtocolError if malformed)."""
        for item in self:
            if isinstance(item, Attr) and hasattr(item.value, "decode_all"):
                item.value.decode_all()  # an AttrList, or a value holding one

    def flatten(self, ops: Ops, blob: Blob) -> None:
        """Re-emit the attributes exactly as they came."""
        entries = self._entries
        data = self._data
        for k in range(SCAN_FIRST, len(entries), 3):
            offset, length = entries[k + 1], entries[k + 2]
            blob.append(data[offset : offset + length])
            ops += (OP_BYTES, entries[k], length)

    # the methods Sequence would have mixed in
    def __iter__(self) -> Iterator[Attr[Any] | RawAttr]:
        for i in range(len(self)):
            yield self[i]

    def __reversed__(self) -> Iterator[Attr[Any] | RawAttr]:
        for i in range(len(self) - 1, -1, -1):
            yield self[i]

    def __contains__(self, value: object) -> bool:
        return any(item is value or item == value for item in self)

    def index(self, value: object, start: int = 0, stop: int | None = None) -> int:
        """The position of the first attribute equal to ``value`` (ValueError if none)."""
        for i in range(*slice(start, stop).indices(len(self))):
            item = self[i]
            if item is value or item == value:
                return i
        raise ValueError(f"{value!r} is not in the list")

    def count(self, value: object) -> int:
        """How many attributes are equal to ``value``."""
        return sum(1 for item in self if item is value or item == value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> AttrList:
        return self  # immutable: what it decodes is fixed by its bytes

    def __reduce__(self) -> tuple[Any, tuple[bytes, int, int, Schema, int]]:
        # pickled as the bytes of its own attributes only (not the whole datagram
        # they came in), framed again when unpickled
        entries = self._entries
        count = len(self)
        start = end = 0
        if count:
            last = SCAN_FIRST + 3 * (count - 1)
            start, end = entries[SCAN_FIRST + 1] - 4, entries[last + 1] + entries[last + 2]
        payload = self._data[start:end]
        return AttrList, (payload, 0, len(payload), self.schema, self.depth)

    def __deepcopy__(self, memo: dict[int, object]) -> AttrList:
        return self

    def __repr__(self) -> str:
        return f"[{', '.join(repr(a) for a in self)}]"


Sequence.register(AttrList)


class Record(tuple["Any", ...]):
    """A fixed record followed by attributes, as one value: ``(*fields, attrs)`` (a
    veth's peer, a multipath next hop).  Subclasses name ``_fields`` (the attributes
    last) and type their items; pickling, :attr:`attrs`, :meth:`decode_all` and the
    repr are here."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ("attrs",)

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    @property
    def attrs(self) -> Sequence[Attr[Any] | RawAttr]:
        """The attributes after the fixed part."""
        attrs: Sequence[Attr[Any] | RawAttr] = self[-1]
        return attrs

    def decode_all(self) -> None:
        """Decode every attribute now (as :meth:`AttrList.decode_all`)."""
        if isinstance(self[-1], AttrList):
            self[-1].decode_all()

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self, strict=True))
        return f"{type(self).__name__}({fields})"
