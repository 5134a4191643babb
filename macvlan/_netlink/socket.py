"""The netlink socket: the only place that calls ``send``/``recv``.

A :class:`NetlinkSocket` numbers requests, waits for their answers, reassembles
dumps, pipelines batches and maps kernel errors to :mod:`macvlan.errors`.  One
lock serialises transactions, so a socket may be shared between threads.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from collections.abc import Iterator, Sequence

from macvlan._netlink import _backend
from macvlan._netlink.attr import Blob, Ops
from macvlan._netlink.constants import NETLINK_ROUTE, SOL_NETLINK, NlmF, SockOpt
from macvlan._netlink.message import (
    AnyMessage,
    DoneMessage,
    ErrorMessage,
    Message,
    iter_messages,
)
from macvlan.errors import DumpInterrupted, MonitorOverflow, NetlinkError, error_for

SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
_RECV_SIZE = 1 << 18
_DUMP_RETRIES = 5
_BUFFER = 4 << 20


def _request_bytes(messages: Sequence[Message]) -> bytes:
    ops: Ops = []
    blob: Blob = []
    for message in messages:
        message.flatten(ops, blob)
    return _backend.pack(ops, b"".join(blob))


class NetlinkSocket:
    """A ``NETLINK_ROUTE`` socket in the namespace it was created in.

    ``groups`` subscribes to multicast groups (``RtnlGroup`` numbers) for events.
    """

    def __init__(self, groups: Sequence[int] = (), *, sock: socket.socket | None = None) -> None:
        if sock is None:
            sock = socket.socket(
                socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE
            )
        self._sock = sock
        try:
            self._configure(groups)
        except BaseException:
            sock.close()
            raise
        self._lock = threading.Lock()
        self._seq = 0
        self._buf = bytearray(_RECV_SIZE)
        self.closed = False

    def _configure(self, groups: Sequence[int]) -> None:
        sock = self._sock
        for option in (SockOpt.EXT_ACK, SockOpt.CAP_ACK, SockOpt.GET_STRICT_CHK):
            # an older kernel lacks some: plain acks and unfiltered dumps still work
            with contextlib.suppress(OSError):
                sock.setsockopt(SOL_NETLINK, option, 1)
        for level_opt, fallback in (
            (SO_RCVBUFFORCE, socket.SO_RCVBUF),
            (SO_SNDBUFFORCE, socket.SO_SNDBUF),
        ):
            try:
                sock.setsockopt(socket.SOL_SOCKET, level_opt, _BUFFER)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, fallback, _BUFFER)
        sock.bind((0, 0))
        for group in groups:
            sock.setsockopt(SOL_NETLINK, SockOpt.ADD_MEMBERSHIP, group)
        self.pid: int = sock.getsockname()[0]
        self.rcvbuf: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    # -- plumbing ------------------------------------------------------------------
    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._sock.close()

    def __enter__(self) -> NetlinkSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
        return self._seq

    def _recv(self) -> list[AnyMessage]:
        buf = self._buf
        try:
            n = self._sock.recv_into(buf, 0, socket.MSG_TRUNC)
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                raise MonitorOverflow() from None
            raise
        if n > len(buf):
            self._buf = bytearray(n)
            raise NetlinkError(errno.EMSGSIZE, f"a {n}-byte netlink message was truncated")
        return list(iter_messages(bytes(buf[:n])))

    def send_raw(self, data: bytes) -> None:
        self._sock.sendall(data)

    def recv_messages(self) -> list[AnyMessage]:
        """One datagram's messages (for event listeners)."""
        return self._recv()

    # -- transactions ---------------------------------------------------------------
    def request(self, message: Message, what: str = "") -> list[Message]:
        """Send one request (ACK asked for) and return the messages it answered with.

        Raises the mapped :class:`NetlinkError` if the kernel refused it.
        """
        with self._lock:
            seq = self._next_seq()
            data = _request_bytes([_with(message, seq, message.flags | NlmF.REQUEST | NlmF.ACK)])
            self._sock.sendall(data)
            replies: list[Message] = []
            while True:
                for reply in self._recv():
                    if reply.seq != seq or reply.pid not in (self.pid, 0):
                        continue
                    if isinstance(reply, ErrorMessage):
                        if reply.error:
                            raise error_for(-reply.error, reply.ext_ack_text, what)
                        return replies
                    if isinstance(reply, DoneMessage):
                        return replies
                    replies.append(reply)

    def dump(self, message: Message, what: str = "") -> list[Message]:
        """Run a dump request; retry if the kernel flags it as interrupted."""
        for _ in range(_DUMP_RETRIES):
            with self._lock:
                seq = self._next_seq()
                flags = message.flags | NlmF.REQUEST | NlmF.DUMP
                self._sock.sendall(_request_bytes([_with(message, seq, flags)]))
                replies, interrupted = self._collect_dump(seq, what)
            if not interrupted:
                return replies
        raise DumpInterrupted(request=what)

    def _collect_dump(self, seq: int, what: str) -> tuple[list[Message], bool]:
        replies: list[Message] = []
        interrupted = False
        while True:
            for reply in self._recv():
                if reply.seq != seq:
                    continue
                if reply.flags & NlmF.DUMP_INTR:
                    interrupted = True
                if isinstance(reply, DoneMessage):
                    if reply.error:
                        raise error_for(-reply.error, reply.ext_ack_text, what)
                    return replies, interrupted
                if isinstance(reply, ErrorMessage):
                    if reply.error:
                        raise error_for(-reply.error, reply.ext_ack_text, what)
                    return replies, interrupted
                replies.append(reply)

    def batch(
        self, messages: Sequence[Message], what: Sequence[str] = ()
    ) -> list[tuple[list[Message], NetlinkError | None]]:
        """Pipeline many requests: several per ``send``, each answered on its own.

        Returns, per request, the messages it answered with and its error (or None).
        In-flight requests are bounded so the kernel's answers fit the receive buffer.
        """
        results: list[tuple[list[Message], NetlinkError | None]] = []
        window = max(8, min(512, self.rcvbuf // 4096))
        with self._lock:
            for start in range(0, len(messages), window):
                chunk = messages[start : start + window]
                stamped = [
                    _with(m, self._next_seq(), m.flags | NlmF.REQUEST | NlmF.ACK) for m in chunk
                ]
                self._sock.sendall(_request_bytes(stamped))
                results.extend(self._collect_batch(stamped, what, start))
        return results

    def _collect_batch(
        self, stamped: list[Message], what: Sequence[str], offset: int
    ) -> Iterator[tuple[list[Message], NetlinkError | None]]:
        by_seq: dict[int, int] = {m.seq: i for i, m in enumerate(stamped)}
        answers: list[list[Message]] = [[] for _ in stamped]
        errors: list[NetlinkError | None] = [None] * len(stamped)
        pending = len(stamped)
        while pending:
            for reply in self._recv():
                i = by_seq.get(reply.seq)
                if i is None or reply.pid not in (self.pid, 0):
                    continue
                if isinstance(reply, ErrorMessage):
                    if reply.error:
                        label = what[offset + i] if offset + i < len(what) else ""
                        errors[i] = error_for(-reply.error, reply.ext_ack_text, label)
                    pending -= 1
                elif isinstance(reply, Message):
                    answers[i].append(reply)
        return zip(answers, errors, strict=True)


def _with(message: Message, seq: int, flags: int) -> Message:
    return Message(message.type, flags, seq, 0, message.body, message.attrs)
