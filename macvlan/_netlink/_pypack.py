"""The pure-Python backend: pack flattened ops into bytes; scan attribute framing.

``macvlan._netlink._cpack`` (built by ``build_ffi/netlink_build.py``) does the same
in C; both must give identical results and identical errors.
"""

from __future__ import annotations

import struct

from macvlan._netlink import _bytecode as _a
from macvlan._netlink.numbers import NLA_TYPE_MASK
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import ProtocolError

if TYPE_CHECKING:
    from collections.abc import Sequence

_HDR = struct.Struct("=HH")
_U8 = struct.Struct("=HHB3x")
_U16 = struct.Struct("=HHH2x")
_U32 = struct.Struct("=HHI")
_U64 = struct.Struct("=HHQ")
_BE16 = struct.Struct("=HH2s2x")
_BE32 = struct.Struct("=HH4s")
_NLH = struct.Struct("=IHHII")
_LEN16 = struct.Struct("=H")
_LEN32 = struct.Struct("=I")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")


def pack(ops: Sequence[int], blob: bytes) -> bytes:
    """Execute packer ops (see :mod:`macvlan._netlink.attr`) into bytes."""
    out = bytearray()
    stack: list[int] = []
    pos = 0
    for i in range(0, len(ops), 3):
        op, a, b = ops[i], ops[i + 1], ops[i + 2]
        if op == _a.OP_BYTES:
            if b > 0xFFFB:
                raise ValueError(f"attribute {a & 0x3FFF} payload of {b} bytes is too long")
            out += _HDR.pack(4 + b, a)
            out += blob[pos : pos + b]
            out += _PAD[b & 3]
            pos += b
        elif op == _a.OP_U32:
            out += _U32.pack(8, a, b)
        elif op == _a.OP_NEST:
            stack.append(len(out))
            out += _HDR.pack(0, a)
        elif op == _a.OP_END:
            start = stack.pop()
            length = len(out) - start
            if length > 0xFFFF:
                raise ValueError(f"nested attribute of {length} bytes is too long")
            _LEN16.pack_into(out, start, length)
        elif op == _a.OP_U8:
            out += _U8.pack(5, a, b)
        elif op == _a.OP_U16:
            out += _U16.pack(6, a, b)
        elif op == _a.OP_U64:
            out += _U64.pack(12, a, b)
        elif op == _a.OP_BE16:
            out += _BE16.pack(6, a, b.to_bytes(2, "big"))
        elif op == _a.OP_BE32:
            out += _BE32.pack(8, a, b.to_bytes(4, "big"))
        elif op == _a.OP_RAW:
            out += blob[pos : pos + b]
            out += _PAD[b & 3]
            pos += b
        elif op == _a.OP_MSG:
            stack.append(len(out))
            out += _NLH.pack(0, a & 0xFFFF, a >> 16, b & 0xFFFFFFFF, b >> 32)
        elif op == _a.OP_MSGEND:
            start = stack.pop()
            _LEN32.pack_into(out, start, len(out) - start)
        else:
            raise ValueError(f"unknown packer op {op}")
    if stack:
        raise ValueError("unbalanced packer ops")
    return bytes(out)


def scan(data: bytes, start: int, end: int) -> memoryview:
    """Check the attribute framing in ``data[start:end]`` and index it.

    Returns ``SCAN_FIRST`` slots, where the first attribute of each number below
    ``SCAN_FIRST`` begins in the answer (0: none), then ``type|flags, payload
    offset, payload length`` per attribute, as a uint32 memoryview (one object:
    no list of ints for the garbage collector to walk).  Raises
    :class:`ProtocolError` on a truncated header, a length under 4 or one that
    runs past ``end``.  The last attribute may omit its alignment padding.
    """
    out = [0] * _a.SCAN_FIRST
    unpack = _HDR.unpack_from
    pos = start
    while pos < end:
        if end - pos < 4:
            raise ProtocolError(f"truncated attribute header at offset {pos}")
        length, nla_type = unpack(data, pos)
        if length < 4:
            raise ProtocolError(f"attribute length {length} under 4 at offset {pos}")
        if pos + length > end:
            raise ProtocolError(f"attribute length {length} at offset {pos} runs past the end")
        number = nla_type & NLA_TYPE_MASK
        if number < _a.SCAN_FIRST and not out[number]:
            out[number] = len(out)
        out += (nla_type, pos + 4, length - 4)
        pos += (length + 3) & ~3
    return memoryview(_u32s(len(out)).pack(*out)).cast("I")


_U32S: dict[int, struct.Struct] = {}


def _u32s(count: int) -> struct.Struct:
    """The layout of ``count`` native uint32s (one per attribute list length seen)."""
    layout = _U32S.get(count)
    if layout is None:
        layout = _U32S[count] = struct.Struct(f"={count}I")
    return layout
