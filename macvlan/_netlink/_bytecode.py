"""The packer's byte-code: what :mod:`macvlan._netlink.attr` flattens a message into
and both backends (:mod:`._pypack`, the compiled ``_cpack``) turn into bytes.

Each op is three ints ``(op, a, b)``; the numbers below are also those of
``build_ffi``'s C source.
"""

from __future__ import annotations

OP_MSG = 1  # begin message: a = type | flags << 16, b = seq | pid << 32
OP_MSGEND = 2  # end message: fill in nlmsg_len
OP_RAW = 3  # b bytes from the blob, no attribute header, padded to 4
OP_NEST = 4  # begin nested attribute of type a
OP_END = 5  # end nested attribute
OP_BYTES = 6  # attribute of type a with b bytes from the blob
OP_U8 = 7
OP_U16 = 8
OP_U32 = 9
OP_U64 = 10
OP_BE16 = 11
OP_BE32 = 12

# The scanners' answer (both backends): a uint32 memoryview whose first SCAN_FIRST
# items say where the first attribute of each number below SCAN_FIRST begins in it
# (0: there is none), followed by one (type|flags, offset, length) triple per attribute.
SCAN_FIRST = 64
