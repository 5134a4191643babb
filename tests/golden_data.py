"""Loading the golden captures in tests/golden (see its README)."""

from __future__ import annotations

import gzip
import json
import struct
from functools import cache
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"


@cache
def cases() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((GOLDEN / "cases.json").read_text())
    return data


@cache
def dumps() -> dict[str, dict[str, Any]]:
    meta = json.loads((GOLDEN / "dumps.json").read_text())
    return {d["file"]: d for d in meta["dumps"]}


def meant(data: bytes) -> bytes:
    """The messages in a request buffer, without the zero padding ip sends after them."""
    pos = 0
    while len(data) - pos >= 16:
        length = struct.unpack_from("=I", data, pos)[0]
        if length < 16:
            break
        pos += (length + 3) & ~3
    return data[: min(pos, len(data))]


def dump_chunks(file: str) -> list[bytes]:
    """The recvmsg payloads of a captured dump, one per datagram."""
    blob = gzip.decompress((GOLDEN / file).read_bytes())
    meta = dumps()[file]
    sizes = meta["reply_buffer_lengths"]
    if not sizes:
        return [blob]
    out, pos = [], 0
    for size in sizes:
        out.append(blob[pos : pos + size])
        pos += size
    assert pos == len(blob)
    return out
