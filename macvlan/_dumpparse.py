"""What the fast dump parsers of routes and neighbours share (sans-IO).

A dump's messages mostly come in a few layouts: the same attributes, of the same
sizes, in the same order.  :func:`layout` walks one message's attributes once and
returns a :class:`Layout`: two ``struct`` unpacks for every message of that
layout, one of the values that prove a message has it (its length, type and
family and every attribute header: its *shape*) and one of the values a parser
reads (the header's fields and the wanted payloads).  A parser keeps layouts by
message length and reads a message by one only where its shape is the
layout's; anything else is walked again, so a kept layout is a shape of bytes,
never a fact about the kernel that could go stale.

Also here: the strict equality of the values (named tuples) they make.
"""

from __future__ import annotations

import ipaddress
import struct
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

from macvlan.errors import ProtocolError

T = TypeVar("T", bound=type)
_NLA = struct.Struct("=HH")  # struct nlattr
_LENGTH = struct.Struct("=I")  # nlmsg_len
_FAMILY_AT = 16  # every rtnetlink family header begins with its family (u8)
_ORDER = sys.byteorder
#: kept layouts per parser: this many message lengths, a few layouts each
MAX_LENGTHS, MAX_PER_LENGTH = 64, 4

Unpack = Callable[[bytes, int], tuple[Any, ...]]


class Layout(NamedTuple):
    """How to recognise and unpack every message of one layout, a call each."""

    length: int  # nlmsg_len
    shape: Unpack  # the length, type, family and attribute headers (small ints)
    expected: tuple[Any, ...]  # ``shape`` of a message of this layout
    values: Unpack  # the ``head`` fields, then the payloads of ``fields``
    fields: dict[int, int]  # attribute type -> index of its payload in ``values``


def layout(
    data: bytes, pos: int, stop: int, head: struct.Struct, wanted: Mapping[int, str | None]
) -> Layout | None:
    """The layout of the message in ``data[pos:stop]``, or None where no single
    ``struct`` serves (a malformed attribute, an attribute not ``wanted`` at a size,
    trailing bytes).

    ``head`` unpacks the netlink header and the family header (a ``"="``
    format): the values begin with its fields.  ``wanted`` maps the attribute
    types to take (flag bits masked off; the first of each counts) to a struct
    code their payload must fill (``"I"``: a native u32 as an int, ``"4s"``: 4
    bytes), None for bytes of any size, or ``""`` to refuse the message.  Other
    attributes are skipped.
    """
    if stop - pos < head.size or head.size <= _FAMILY_AT:
        return None
    shape = [f"=IH{_FAMILY_AT - 6}xB{head.size - _FAMILY_AT - 1}x"]
    values = [head.format]
    fields: dict[int, int] = {}
    index = len(head.unpack_from(data, pos))
    a = pos + head.size
    while a < stop:
        if stop - a < 4:
            return None
        alen, atype = _NLA.unpack_from(data, a)
        if alen < 4 or a + alen > stop:
            return None
        kind = atype & 0x3FFF
        code = wanted.get(kind)
        if code == "":
            return None
        step = min((alen + 3) & ~3, stop - a)
        shape.append(f"HH{step - 4}x")  # (alen and atype are small ints: no allocation)
        if kind in wanted and kind not in fields:
            if code is None:
                code = f"{alen - 4}s"
            elif struct.calcsize(code) != alen - 4:
                return None
            values.append(f"4x{code}{step - alen}x")
            fields[kind] = index
            index += 1
        else:
            values.append(f"{step}x")
        a += step
    unpack_shape = struct.Struct("".join(shape)).unpack_from
    unpack = struct.Struct("".join(values)).unpack_from
    return Layout(stop - pos, unpack_shape, unpack_shape(data, pos), unpack, fields)


Plan = tuple[Any, ...]  # a parser's: its layout's length, shape, expected, values, then its own
Kept = dict[int, list[Plan]]  # a parser's plans by message length
MakePlan = Callable[[bytes, int, int], Plan | None]
Other = Callable[[bytes, int, int], None]  # takes a message no plan serves


def find(
    data: bytes, pos: int, end: int, kept: Kept, make_plan: MakePlan
) -> tuple[int, Plan | None]:
    """The length of the message at ``data[pos:end]`` and its plan: the first one
    ``kept`` for its length whose shape it has, else a new one from
    ``make_plan(data, pos, stop)``, kept; None where that gives None."""
    if end - pos < 16:
        raise ProtocolError(f"truncated netlink header at offset {pos}")
    (length,) = _LENGTH.unpack_from(data, pos)
    if length < 16 or pos + length > end:
        raise ProtocolError(f"netlink message length {length} at offset {pos}")
    for plan in kept.get(length, ()):
        if plan[1](data, pos) == plan[2]:
            return length, plan
    found = make_plan(data, pos, pos + length)
    if found is not None:
        keep(kept, length, found)
    return length, found


def planned(
    data: bytes, start: int, end: int, kept: Kept, make_plan: MakePlan, other: Other
) -> Iterator[tuple[Plan, tuple[Any, ...]]]:
    """The messages in ``data[start:end]`` as (plan, values unpacked by it).

    A message is read by the plan of the one before where it has that plan's
    shape, else by the plan :func:`find` gives; where that is None,
    ``other(data, pos, stop)`` takes the message instead.
    """
    plan: Plan = ()
    pos, last = start, -1  # last: the last offset a message of the plan's length fits at
    while pos < end:
        if pos > last or plan[1](data, pos) != plan[2]:
            length, found = find(data, pos, end, kept, make_plan)
            if found is None:
                other(data, pos, pos + length)
                pos += (length + 3) & ~3
                continue
            plan, last, step = found, end - length, (length + 3) & ~3
        yield plan, plan[3](data, pos)
        pos += step


def keep(kept: dict[int, list[Any]], length: int, plan: Any) -> None:
    """Keep ``plan`` for messages of ``length`` bytes, within the bounds."""
    plans = kept.get(length)
    if plans is None:
        if len(kept) >= MAX_LENGTHS:
            kept.clear()
        plans = kept[length] = []
    if len(plans) < MAX_PER_LENGTH:
        plans.append(plan)


def new_address(cls: Any, value: int) -> Any:
    """``cls(value)`` for an ``ipaddress`` address class, without the
    constructor's checks (``value`` must fit); see :data:`FAST_ADDRESSES`."""
    addr = object.__new__(cls)
    addr._ip = value
    if cls is ipaddress.IPv6Address:
        addr._scope_id = None
    return addr


def _addresses_alike() -> bool:
    for cls, value in ((ipaddress.IPv4Address, 0x0A000102), (ipaddress.IPv6Address, 1 << 127)):
        try:
            made, real = new_address(cls, value), cls(value)
            alike = (made == real, hash(made) == hash(real), str(made) == str(real))
        except AttributeError:
            return False
        if not all(alike) or made.packed != real.packed or made.is_private != real.is_private:
            return False
    return True


#: whether :func:`new_address` (or the same two assignments inline) makes the
#: value the constructor makes, in this Python's ``ipaddress``
FAST_ADDRESSES = _addresses_alike()


def _strict_eq(self: tuple[Any, ...], other: object) -> bool:
    return type(other) is type(self) and tuple.__eq__(self, other)


def _strict_ne(self: tuple[Any, ...], other: object) -> bool:
    return not _strict_eq(self, other)


def _tuple_hash(self: tuple[Any, ...]) -> int:
    return tuple.__hash__(self)


def strict_values(cls: T) -> T:
    """Make a named tuple class equal only to values of its own type with the same
    fields (never to a plain tuple), hashed as its fields."""
    target: Any = cls  # (set here: a NamedTuple body, to mypy, holds only fields)
    target.__eq__, target.__ne__, target.__hash__ = _strict_eq, _strict_ne, _tuple_hash
    return cls
