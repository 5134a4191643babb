"""The attribute index the scanners build: where each attribute lies and where the
first one of each number is, kept in one flat uint32 buffer rather than Python lists
(so that thousands of kept links cost the garbage collector nothing to walk).
Lookups answer the same for numbers below and above the index's direct slots."""

from __future__ import annotations

import gc
import struct

import pytest

from macvlan._netlink import _backend, _pypack
from macvlan._netlink._bytecode import SCAN_FIRST
from macvlan._netlink.attr import AttrList, Schema
from macvlan._netlink.codecs import UInt
from macvlan.errors import ProtocolError

TEST = Schema("TEST")
SMALL = TEST.attr(3, "SMALL", UInt(32))
BIG = TEST.attr(SCAN_FIRST + 5, "BIG", UInt(32))
CFFI = _backend.cffi_functions()
SCANS = [_pypack.scan] + ([CFFI[1]] if CFFI is not None else [])


def attr(number: int, payload: bytes) -> bytes:
    return struct.pack("=HH", 4 + len(payload), number) + payload + b"\0" * (-len(payload) % 4)


# two of each: the first one is the one lookups answer with; one nested flag bit set
DATA = (
    attr(SMALL.number, struct.pack("=I", 1))
    + attr(BIG.number | 0x8000, struct.pack("=I", 2))
    + attr(SMALL.number, struct.pack("=I", 3))
    + attr(BIG.number, struct.pack("=I", 4))
    + attr(9, b"abc")
    + attr(9, b"")
)


@pytest.mark.parametrize("scan", SCANS, ids=lambda s: s.__module__ + "." + s.__name__)
def test_scan_layout(scan: object) -> None:
    entries = scan(DATA, 0, len(DATA))  # type: ignore[operator]
    assert isinstance(entries, memoryview) and entries.format == "I"
    first, triples = entries[:SCAN_FIRST].tolist(), entries[SCAN_FIRST:].tolist()
    assert triples == [
        *(SMALL.number, 4, 4),
        *(0x8000 | BIG.number, 12, 4),
        *(SMALL.number, 20, 4),
        *(BIG.number, 28, 4),
        *(9, 36, 3),
        *(9, 44, 0),
    ]
    assert first[SMALL.number] == SCAN_FIRST
    assert first[9] == SCAN_FIRST + 12
    assert [i for i, k in enumerate(first) if k] == [SMALL.number, 9]


def test_backends_agree_on_the_layout() -> None:
    if CFFI is None:
        pytest.skip("the compiled backend is not built")
    assert CFFI[1](DATA, 0, len(DATA)) == _pypack.scan(DATA, 0, len(DATA))
    with pytest.raises(ProtocolError):
        CFFI[1](DATA + b"\x08\x00", 0, len(DATA) + 2)


def test_lookups_below_and_above_the_direct_slots() -> None:
    attrs = AttrList(DATA, 0, len(DATA), TEST)
    assert len(attrs) == 6
    assert attrs.get(SMALL) == 1 and attrs.get(BIG) == 2  # the first of each
    assert attrs.get_all(SMALL) == [1, 3] and attrs.get_all(BIG) == [2, 4]
    assert attrs.raw(9) == b"abc" and attrs.raw(SCAN_FIRST + 6) is None and attrs.raw(10) is None
    assert attrs.has(BIG.number) and attrs.has(9) and not attrs.has(SCAN_FIRST + 6)
    numbers = [SMALL.number, BIG.number, 9, 10, SCAN_FIRST + 6]
    assert attrs.raws(numbers) == [attrs.raw(n) for n in numbers]
    assert attrs[1].flags == 0x8000 and attrs[1].value == 2  # type: ignore[union-attr]
    assert attrs.get(BIG) == 2  # also once the item is decoded and kept


def test_kept_lists_hold_no_python_containers() -> None:
    attrs = AttrList(DATA, 0, len(DATA), TEST)
    attrs.raws([SMALL.number, 9])
    attrs.get(SMALL)
    # what the collector walks per kept list: the list itself and its index's buffer,
    # not one reference per attribute field
    assert not any(isinstance(r, list | dict) for r in gc.get_referents(attrs))
