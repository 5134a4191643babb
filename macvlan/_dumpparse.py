"""What the fast dump parsers of routes and neighbours share (sans-IO).

A dump's messages mostly come in a few layouts: the same attributes, of the same
sizes, in the same order.  :func:`layout` walks one message's attributes once and
returns a :class:`Layout`: one ``struct`` that unpacks a whole message of that
layout in a call, plus the values that prove a message has it (its type, its
family and every attribute header).  A parser keeps layouts by message length and
takes one only for a message that :meth:`Layout.fits`; anything else is walked
again, so a kept layout is a shape of bytes, never a fact about the kernel that
could go stale.

Also here: the strict equality of the values (named tuples) they make.
"""

from __future__ import annotations

import ipaddress
import operator
import struct
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T", bound=type)
_NLA = struct.Struct("=HH")  # struct nlattr
_LENGTH = struct.Struct("=I")  # nlmsg_len
_ORDER = sys.byteorder
#: kept layouts per parser: this many message lengths, a few layouts each
MAX_LENGTHS, MAX_PER_LENGTH = 64, 4


class Layout(NamedTuple):
    """How to unpack every message of one layout in one call."""

    unpack: Callable[[bytes, int], tuple[Any, ...]]
    proof: Callable[[tuple[Any, ...]], tuple[Any, ...]]
    expected: tuple[Any, ...]
    fields: dict[int, int]  # attribute type -> index of its payload in the unpacked tuple

    def fits(self, values: tuple[Any, ...]) -> bool:
        """Whether ``values`` (this layout's unpack of a message) came from a
        message of this layout."""
        return self.proof(values) == self.expected


def layout(
    data: bytes, pos: int, stop: int, head: struct.Struct, wanted: Mapping[int, str | None]
) -> Layout | None:
    """The layout of the message in ``data[pos:stop]``, or None where no single
    ``struct`` serves (a malformed attribute, an attribute not ``wanted`` at a size,
    trailing bytes).

    ``head`` unpacks the netlink header and the family header (a ``"="``
    format); its fields 1 and 2 are the message type and the family.  ``wanted``
    maps the attribute types to take (flag bits masked off; the first of each
    counts) to a struct code their payload must fill (``"I"``: a native u32 as an
    int, ``"4s"``: 4 bytes), None for bytes of any size, or ``""`` to refuse the
    message.  Other attributes are skipped.
    """
    if stop - pos < head.size:
        return None
    fmt = [head.format]
    head_values = head.unpack_from(data, pos)
    proof = [1, 2]
    expected = [head_values[1], head_values[2]]
    fields: dict[int, int] = {}
    index = len(head_values)
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
        proof.append(index)
        expected.append(int.from_bytes(data[a : a + 4], _ORDER))
        fmt.append("I")
        index += 1
        if kind in wanted and kind not in fields:
            if code is None:
                code = f"{alen - 4}s"
            elif struct.calcsize(code) != alen - 4:
                return None
            fmt.append(code)
            fields[kind] = index
            index += 1
            fmt.append(f"{step - alen}x")
        else:
            fmt.append(f"{step - 4}x")
        a += step
    unpack = struct.Struct("".join(fmt)).unpack_from
    return Layout(unpack, operator.itemgetter(*proof), tuple(expected), fields)


Plan = tuple[Any, ...]  # a parser's: its layout's unpack, proof, expected, then its own


def planned(
    data: bytes,
    start: int,
    end: int,
    kept: dict[int, list[Plan]],
    make_plan: Callable[[bytes, int, int], Plan | None],
    other: Callable[[bytes, int, int], None],
) -> Iterator[tuple[Plan, tuple[Any, ...]]]:
    """The messages in ``data[start:end]`` as (plan, values unpacked by it).

    A message is unpacked by the first plan ``kept`` for its length that it fits,
    else by a new one from ``make_plan(data, pos, stop)``, kept; where that gives
    None, ``other(data, pos, stop)`` takes the message instead.
    """
    length_of, get = _LENGTH.unpack_from, kept.get
    pos = start
    while pos < end:
        (length,) = length_of(data, pos)
        for plan in get(length, ()):
            values = plan[0](data, pos)
            if plan[1](values) == plan[2]:
                break
        else:
            found = make_plan(data, pos, pos + length)
            if found is None:
                other(data, pos, pos + length)
                pos += (length + 3) & ~3
                continue
            keep(kept, length, found)
            plan = found
            values = plan[0](data, pos)
        yield plan, values
        pos += (length + 3) & ~3


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
