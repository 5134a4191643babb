"""Netlink messages: the header, a typed body and attributes; encode and decode.

Sans-IO: :func:`iter_messages` turns bytes into typed messages and
:func:`encode` turns messages into bytes.  No sockets here.
"""

from __future__ import annotations

import struct

from macvlan._netlink import _backend, fra, ifa, ifla, nda, rta
from macvlan._netlink._bytecode import OP_MSG, OP_MSGEND, OP_RAW
from macvlan._netlink.attr import Attr, AttrList, Blob, Ops, RawAttr, Schema, flatten_attrs
from macvlan._netlink.codecs import Bytes, SInt32, String, UInt
from macvlan._netlink.numbers import NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_DONE, NLMSG_ERROR
from macvlan._netlink.structs import (
    Body,
    FibRuleHdr,
    IfAddrMsg,
    IfInfoMsg,
    NdMsg,
    RtGenMsg,
    RtMsg,
)
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import ProtocolError

if TYPE_CHECKING:
    import builtins
    from collections.abc import Iterable, Iterator, Sequence
    from typing import Any, ClassVar, TypeVar

    B = TypeVar("B", bound=Body)

AnyAttr = Attr["Any"] | RawAttr

# NLMSGERR_ATTR_*: extended-ack attributes on errors and dump ends
NLMSGERR = Schema("NLMSGERR_ATTR")
ERR_MSG = NLMSGERR.attr(1, "MSG", String())
ERR_OFFS = NLMSGERR.attr(2, "OFFS", UInt(32))
ERR_COOKIE = NLMSGERR.attr(3, "COOKIE", Bytes())
ERR_POLICY = NLMSGERR.attr(4, "POLICY", Bytes())
ERR_MISS_TYPE = NLMSGERR.attr(5, "MISS_TYPE", UInt(32))
ERR_MISS_NEST = NLMSGERR.attr(6, "MISS_NEST", UInt(32))

# NETNSA_*: namespace-id attributes
NETNSA = Schema("NETNSA")
NETNSA_NSID = NETNSA.attr(1, "NSID", SInt32())
NETNSA_PID = NETNSA.attr(2, "PID", UInt(32))
NETNSA_FD = NETNSA.attr(3, "FD", UInt(32))
NETNSA_TARGET_NSID = NETNSA.attr(4, "TARGET_NSID", SInt32())
NETNSA_CURRENT_NSID = NETNSA.attr(5, "CURRENT_NSID", SInt32())

_BodyType = (
    type[IfInfoMsg]
    | type[IfAddrMsg]
    | type[RtMsg]
    | type[RtGenMsg]
    | type[NdMsg]
    | type[FibRuleHdr]
)
_BODIES: dict[int, tuple[_BodyType, Schema]] = {}
for _t in (16, 17, 18, 19, 108, 109, 110):
    _BODIES[_t] = (IfInfoMsg, ifla.IFLA)
for _t in (20, 21, 22):
    _BODIES[_t] = (IfAddrMsg, ifa.IFA)
for _t in (24, 25, 26):
    _BODIES[_t] = (RtMsg, rta.RTA)
for _t in (28, 29, 30):
    _BODIES[_t] = (NdMsg, nda.NDA)
for _t in (32, 33, 34):
    _BODIES[_t] = (FibRuleHdr, fra.FRA)
for _t in (88, 89, 90):
    _BODIES[_t] = (RtGenMsg, NETNSA)

_NLH = struct.Struct("=IHHII")
_S32 = struct.Struct("=i")


class Message(tuple[int, int, int, int, "Body | bytes", "Sequence[AnyAttr]"]):
    """An rtnetlink message: header fields, fixed body and attributes,
    ``(type, flags, seq, pid, body, attrs)``.

    ``body`` is raw bytes for message types this library does not model (and for
    bodies shorter than their struct, as old-style dump requests are).
    """

    __slots__ = ()

    def __new__(
        cls,
        type: int,
        flags: int = 0,
        seq: int = 0,
        pid: int = 0,
        body: Body | bytes = b"",
        attrs: Sequence[AnyAttr] = (),
    ) -> Message:
        return tuple.__new__(cls, (type, flags, seq, pid, body, attrs))

    def __getnewargs__(self) -> tuple[int, int, int, int, Body | bytes, Sequence[AnyAttr]]:
        return (self[0], self[1], self[2], self[3], self[4], self[5])

    @property
    def type(self) -> int:
        return self[0]

    @property
    def flags(self) -> int:
        return self[1]

    @property
    def seq(self) -> int:
        return self[2]

    @property
    def pid(self) -> int:
        return self[3]

    @property
    def body(self) -> Body | bytes:
        return self[4]

    @property
    def attrs(self) -> Sequence[AnyAttr]:
        return self[5]

    def _replace(self, **changes: Any) -> Message:
        """A copy with some fields changed (as a named tuple's ``_replace``)."""
        fields: dict[str, Any] = dict(zip(_MESSAGE_FIELDS, self, strict=True))
        unknown = changes.keys() - fields.keys()
        if unknown:
            raise ValueError(f"Message has no field {sorted(unknown)[0]!r}")
        fields.update(changes)
        return Message(**fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(_MESSAGE_FIELDS, self, strict=True))
        return f"Message({fields})"

    def flatten(self, ops: Ops, blob: Blob) -> None:
        mtype, flags, seq, pid, body, attrs = self
        ops += (OP_MSG, mtype | flags << 16, seq | pid << 32)
        data = body if isinstance(body, bytes) else body.pack()
        if data:
            blob.append(data)
            ops += (OP_RAW, 0, len(data))
        flatten_attrs(attrs, ops, blob)
        ops += (OP_MSGEND, 0, 0)

    def get(self, spec: Any) -> Any:
        """The first value of an attribute spec (None when absent)."""
        if isinstance(self.attrs, AttrList):
            return self.attrs.get(spec)
        for attr in self.attrs:
            if isinstance(attr, Attr) and attr.spec is spec:
                return attr.value
        return None

    def decoded(self, body_type: builtins.type[B], what: str) -> tuple[B, AttrList]:
        """The body and attribute list of a decoded message; ``ValueError`` unless it
        is one (a ``body_type`` body, attributes an :class:`AttrList`), ``what`` naming
        the kind in the error."""
        body, attrs = self[4], self[5]
        if not isinstance(body, body_type) or not isinstance(attrs, AttrList):
            raise ValueError(f"not a decoded {what} message: {self!r}")
        return body, attrs


class _Status(tuple["Any", ...]):
    """What ``NLMSG_ERROR`` and ``NLMSG_DONE`` share: ``(flags, seq, pid, error, ...,
    ext_ack)``, the extended-ack attributes last."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = ()

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    @property
    def flags(self) -> int:
        value: int = self[0]
        return value

    @property
    def seq(self) -> int:
        value: int = self[1]
        return value

    @property
    def pid(self) -> int:
        value: int = self[2]
        return value

    @property
    def error(self) -> int:
        value: int = self[3]
        return value

    @property
    def ext_ack(self) -> Sequence[AnyAttr]:
        value: Sequence[AnyAttr] = self[-1]
        return value

    @property
    def ext_ack_text(self) -> str:
        """The kernel's extended-ack message, or ``""``."""
        return _ext_ack_text(self.ext_ack)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(self._FIELDS, self, strict=True))
        return f"{type(self).__name__}({fields})"


class ErrorMessage(_Status):
    """``NLMSG_ERROR``: an ACK (``error == 0``) or a refusal (``-errno``),
    ``(flags, seq, pid, error, echo, ext_ack)``.

    ``echo`` is the echoed request (its header only when ``NLM_F_CAPPED``);
    ``ext_ack`` the extended-ack attributes when ``NLM_F_ACK_TLVS`` is set.
    """

    __slots__ = ()
    _FIELDS = ("flags", "seq", "pid", "error", "echo", "ext_ack")

    def __new__(
        cls,
        flags: int,
        seq: int,
        pid: int,
        error: int,
        echo: bytes = b"",
        ext_ack: Sequence[AnyAttr] = (),
    ) -> ErrorMessage:
        return tuple.__new__(cls, (flags, seq, pid, error, echo, ext_ack))

    @property
    def echo(self) -> bytes:
        value: bytes = self[4]
        return value

    @property
    def type(self) -> int:
        return NLMSG_ERROR

    @property
    def is_ack(self) -> bool:
        """Whether this is an acknowledgement rather than an error."""
        return self.error == 0

    @property
    def ext_ack_offset(self) -> int | None:
        """Offset into the request of the attribute the kernel complained about."""
        for attr in self.ext_ack:
            if isinstance(attr, Attr) and attr.spec is ERR_OFFS:
                value: int = attr.value
                return value
        return None

    def flatten(self, ops: Ops, blob: Blob) -> None:
        """Append the ops and bytes that encode this message."""
        flags, seq, pid, error, echo, ext_ack = self
        ops += (OP_MSG, NLMSG_ERROR | flags << 16, seq | pid << 32)
        blob.append(_S32.pack(error) + echo)
        ops += (OP_RAW, 0, 4 + len(echo))
        flatten_attrs(ext_ack, ops, blob)
        ops += (OP_MSGEND, 0, 0)


class DoneMessage(_Status):
    """``NLMSG_DONE``: the end of a dump, with its status and extended ack,
    ``(flags, seq, pid, error, ext_ack)``."""

    __slots__ = ()
    _FIELDS = ("flags", "seq", "pid", "error", "ext_ack")

    def __new__(
        cls, flags: int, seq: int, pid: int, error: int = 0, ext_ack: Sequence[AnyAttr] = ()
    ) -> DoneMessage:
        return tuple.__new__(cls, (flags, seq, pid, error, ext_ack))

    @property
    def type(self) -> int:
        return NLMSG_DONE

    def flatten(self, ops: Ops, blob: Blob) -> None:
        """Append the ops and bytes that encode this message."""
        flags, seq, pid, error, ext_ack = self
        ops += (OP_MSG, NLMSG_DONE | flags << 16, seq | pid << 32)
        blob.append(_S32.pack(error))
        ops += (OP_RAW, 0, 4)
        flatten_attrs(ext_ack, ops, blob)
        ops += (OP_MSGEND, 0, 0)


AnyMessage = Message | ErrorMessage | DoneMessage
_MESSAGE_FIELDS = ("type", "flags", "seq", "pid", "body", "attrs")


def _ext_ack_text(attrs: Sequence[AnyAttr]) -> str:
    for attr in attrs:
        if isinstance(attr, Attr) and attr.spec is ERR_MSG:
            text: str = attr.value
            return text
    return ""


def _decode_error(
    data: bytes, start: int, end: int, flags: int, seq: int, pid: int
) -> ErrorMessage:
    if end - start < 4:
        raise ProtocolError(f"NLMSG_ERROR of {end - start} bytes lacks its error code")
    error = _S32.unpack_from(data, start)[0]
    pos = start + 4
    if not flags & NLM_F_ACK_TLVS:
        return ErrorMessage(flags, seq, pid, error, data[pos:end])
    if end - pos < 16:
        raise ProtocolError("NLMSG_ERROR with extended ack lacks the echoed header")
    echoed_len = 16 if flags & NLM_F_CAPPED else _NLH.unpack_from(data, pos)[0]
    if echoed_len < 16:
        raise ProtocolError(f"echoed request length {echoed_len} under 16")
    tlv_start = pos + ((echoed_len + 3) & ~3)
    if tlv_start > end:
        raise ProtocolError(f"echoed request of {echoed_len} bytes runs past the message")
    ext_ack = AttrList(data, tlv_start, end, NLMSGERR)
    return ErrorMessage(flags, seq, pid, error, data[pos:tlv_start], ext_ack)


def _decode_done(data: bytes, start: int, end: int, flags: int, seq: int, pid: int) -> DoneMessage:
    if end - start < 4:
        raise ProtocolError(f"NLMSG_DONE of {end - start} bytes lacks its status")
    error = _S32.unpack_from(data, start)[0]
    ext_ack: Sequence[AnyAttr] = ()
    if flags & NLM_F_ACK_TLVS or end > start + 4:
        ext_ack = AttrList(data, start + 4, end, NLMSGERR)
    return DoneMessage(flags, seq, pid, error, ext_ack)


def iter_messages(data: bytes) -> Iterator[AnyMessage]:
    """Decode a buffer of netlink messages; attribute values decode lazily.

    Raises :class:`ProtocolError` when the framing is wrong.
    """
    end = len(data)
    pos = 0
    unpack_header = _NLH.unpack_from
    bodies = _BODIES
    while pos < end:
        if end - pos < 16:
            raise ProtocolError(f"truncated netlink header at offset {pos}")
        length, mtype, flags, seq, pid = unpack_header(data, pos)
        if length < 16:
            raise ProtocolError(f"netlink message length {length} under 16 at offset {pos}")
        if pos + length > end:
            raise ProtocolError(
                f"netlink message length {length} at offset {pos} runs past the end"
            )
        start = pos + 16
        stop = pos + length
        known = bodies.get(mtype)
        if known is not None:
            body_type, schema = known
            if stop - start >= body_type.SIZE:
                body = body_type.unpack(data, start)
                attrs = AttrList(data, start + body_type.SIZE, stop, schema)
                yield Message(mtype, flags, seq, pid, body, attrs)
            else:
                yield Message(mtype, flags, seq, pid, data[start:stop])
        elif mtype == NLMSG_ERROR:
            yield _decode_error(data, start, stop, flags, seq, pid)
        elif mtype == NLMSG_DONE:
            yield _decode_done(data, start, stop, flags, seq, pid)
        else:
            yield Message(mtype, flags, seq, pid, data[start:stop])
        pos += (length + 3) & ~3


def _decode_all_values(attrs: Sequence[AnyAttr]) -> None:
    if isinstance(attrs, AttrList):
        attrs.decode_all()


def decode(data: bytes) -> list[AnyMessage]:
    """Decode a buffer of netlink messages completely, nested attributes included.

    Raises :class:`macvlan.ProtocolError` on malformed input, and nothing else.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"decode() takes bytes, not {type(data).__name__}")
    data = bytes(data)
    try:
        messages = list(iter_messages(data))
        for message in messages:
            if isinstance(message, Message):
                _decode_all_values(message.attrs)
            else:
                _decode_all_values(message.ext_ack)
    except ProtocolError:
        raise
    except (ValueError, IndexError, struct.error, UnicodeError, RecursionError) as exc:
        raise ProtocolError(f"malformed netlink data: {exc}") from exc
    return messages


def encode(messages: Iterable[AnyMessage]) -> bytes:
    """Encode messages back to bytes (``nlmsg_len`` is computed)."""
    ops: Ops = []
    blob: Blob = []
    for message in messages:
        message.flatten(ops, blob)
    return _backend.pack(ops, b"".join(blob))
