"""SipHash-2-4 (Aumasson and Bernstein), the keyed hash systemd uses for persistent MACs.

Pure Python and meant for short inputs (a machine ID plus an interface name); it is
not a general-purpose or constant-time implementation.

>>> siphash24(bytes(range(16)), b"").to_bytes(8, "little").hex()
'310e0edd47db6f72'
"""

from __future__ import annotations

__all__ = ["siphash24"]

_MASK = 0xFFFFFFFFFFFFFFFF

# "somepseudorandomlygeneratedbytes", the initialisation constants of the paper
_IV0 = 0x736F6D6570736575
_IV1 = 0x646F72616E646F6D
_IV2 = 0x6C7967656E657261
_IV3 = 0x7465646279746573


def _rounds(v0: int, v1: int, v2: int, v3: int, count: int) -> tuple[int, int, int, int]:
    """Apply ``count`` SipRounds to the state and return it."""
    m = _MASK
    for _ in range(count):
        v0 = (v0 + v1) & m
        v1 = ((v1 << 13) | (v1 >> 51)) & m
        v1 ^= v0
        v0 = ((v0 << 32) | (v0 >> 32)) & m
        v2 = (v2 + v3) & m
        v3 = ((v3 << 16) | (v3 >> 48)) & m
        v3 ^= v2
        v0 = (v0 + v3) & m
        v3 = ((v3 << 21) | (v3 >> 43)) & m
        v3 ^= v0
        v2 = (v2 + v1) & m
        v1 = ((v1 << 17) | (v1 >> 47)) & m
        v1 ^= v2
        v2 = ((v2 << 32) | (v2 >> 32)) & m
    return v0, v1, v2, v3


def siphash24(key: bytes | bytearray | memoryview, data: bytes | bytearray | memoryview) -> int:
    """Return SipHash-2-4 of ``data`` under the 16-byte ``key`` as an unsigned 64-bit int.

    The reference implementation writes this value out least significant byte first:
    ``siphash24(key, data).to_bytes(8, "little")`` are its eight output bytes.
    """
    if not isinstance(key, bytes | bytearray | memoryview):
        raise TypeError(f"SipHash key must be bytes, not {type(key).__name__}")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"SipHash input must be bytes, not {type(data).__name__}")
    key = bytes(key)
    if len(key) != 16:
        raise ValueError(f"SipHash key must be 16 bytes, got {len(key)}: {key.hex()!r}")
    data = bytes(data)
    k0 = int.from_bytes(key[:8], "little")
    k1 = int.from_bytes(key[8:], "little")
    v0 = k0 ^ _IV0
    v1 = k1 ^ _IV1
    v2 = k0 ^ _IV2
    v3 = k1 ^ _IV3

    length = len(data)
    whole = length - length % 8
    for offset in range(0, whole, 8):
        block = int.from_bytes(data[offset : offset + 8], "little")
        v3 ^= block
        v0, v1, v2, v3 = _rounds(v0, v1, v2, v3, 2)
        v0 ^= block
    # last block: the 0..7 remaining bytes, with the length (mod 256) in the top byte
    block = int.from_bytes(data[whole:], "little") | ((length & 0xFF) << 56)
    v3 ^= block
    v0, v1, v2, v3 = _rounds(v0, v1, v2, v3, 2)
    v0 ^= block

    v2 ^= 0xFF
    v0, v1, v2, v3 = _rounds(v0, v1, v2, v3, 4)
    return v0 ^ v1 ^ v2 ^ v3
