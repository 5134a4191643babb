"""Loading the golden captures in tests/golden (see its README), and the checks the
golden tests share: re-encoding byte for byte, rebuilding attributes from their typed
values, and comparing attribute sets with ip's."""

from __future__ import annotations

import gzip
import json
import struct
from functools import cache
from pathlib import Path
from typing import Any

import macvlan._netlink as nl
from macvlan._netlink import ifla, rta
from macvlan._netlink.attr import Attr, AttrList, RawAttr
from macvlan._netlink.message import DoneMessage, ErrorMessage, Message

GOLDEN = Path(__file__).parent / "golden"


@cache
def cases() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((GOLDEN / "cases.json").read_text())
    return data


@cache
def cases_routes() -> dict[str, dict[str, Any]]:
    """The cases of ``cases_routes.json`` (made by ``capture_routes.py``) by name."""
    data = json.loads((GOLDEN / "cases_routes.json").read_text())
    return {c["name"]: c for c in data}


@cache
def dumps(meta_file: str = "dumps.json") -> dict[str, dict[str, Any]]:
    meta = json.loads((GOLDEN / meta_file).read_text())
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


def dump_chunks(file: str, meta_file: str = "dumps.json") -> list[bytes]:
    """The recvmsg payloads of a captured dump, one per datagram."""
    blob = gzip.decompress((GOLDEN / file).read_bytes())
    meta = dumps(meta_file)[file]
    sizes = meta["reply_buffer_lengths"]
    if not sizes:
        return [blob]
    out, pos = [], 0
    for size in sizes:
        out.append(blob[pos : pos + size])
        pos += size
    assert pos == len(blob)
    return out


def rebuild(attrs: Any) -> list[Any]:
    """The same attributes built afresh from their typed values (no raw bytes kept)."""
    out: list[Any] = []
    for attr in attrs:
        if isinstance(attr, RawAttr):
            out.append(RawAttr(attr.type, bytes(attr.data), attr.flags))
            continue
        value = attr.value
        if isinstance(value, AttrList):
            value = tuple(rebuild(value))
        elif isinstance(value, rta.Multipath):
            value = rta.Multipath(
                rta.RtNexthop(h.flags, h.hops, h.ifindex, tuple(rebuild(h.attrs))) for h in value
            )
        elif isinstance(value, ifla.PeerInfo):
            value = ifla.PeerInfo(value.ifinfo, tuple(rebuild(value.attrs)))
        assert attr.spec.codec.validate(value) == value  # what came in is accepted back
        out.append(Attr(attr.spec, value, attr.flags))
    return out


def rebuilt(message: Any) -> Any:
    """``message`` with every attribute (ext-ack ones too) rebuilt by :func:`rebuild`."""
    if isinstance(message, Message):
        return message._replace(attrs=rebuild(message.attrs))
    if isinstance(message, ErrorMessage):
        return ErrorMessage(
            message.flags,
            message.seq,
            message.pid,
            message.error,
            message.echo,
            rebuild(message.ext_ack),
        )
    assert isinstance(message, DoneMessage)
    return DoneMessage(
        message.flags, message.seq, message.pid, message.error, rebuild(message.ext_ack)
    )


def assert_reencodes(data: bytes) -> list[Any]:
    """``data`` decodes, and re-encodes byte for byte, also with rebuilt attributes."""
    messages = nl.decode(data)
    assert nl.encode(messages) == data
    assert nl.encode([rebuilt(m) for m in messages]) == data
    return messages


def on_the_wire(message: Any) -> Any:
    """``message`` as the kernel reads it: encoded, then decoded."""
    (out,) = nl.iter_messages(nl.encode([message]))
    assert isinstance(out, Message)
    return out


def normalise(attrs: Any) -> dict[int, Any]:
    """Attributes by number (order-free) with their flags; strings compared without
    their NUL."""
    out: dict[int, Any] = {}
    for attr in attrs:
        if isinstance(attr, RawAttr):
            value: Any = attr.data.rstrip(b"\0")
        elif isinstance(attr.value, rta.Multipath):
            value = [(h.flags, h.hops, h.ifindex, normalise(h.attrs)) for h in attr.value]
        elif isinstance(attr.value, ifla.PeerInfo):
            value = (attr.value.ifinfo, normalise(attr.value.attrs))
        elif isinstance(attr.value, AttrList | tuple | list):
            value = normalise(attr.value)
        elif isinstance(attr.value, str):
            value = attr.value.encode()
        else:
            value = attr.value
        out.setdefault(attr.type, []).append((value, attr.flags))
    return out
