"""The netlink socket for asyncio: many requests in flight, answers matched by
sequence number, read through the running loop (no helper threads).

Requests made in the same loop iteration go out in one ``send``.  A cancelled
request stays registered until the kernel answers it; that late answer is
consumed and dropped, so it can never be mistaken for another request's.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

from macvlan._netlink.constants import NlmF
from macvlan._netlink.message import DoneMessage, ErrorMessage, Message, iter_messages
from macvlan._netlink.socket import NetlinkSocket, _request_bytes, _with
from macvlan.errors import DumpInterrupted, NetlinkError, error_for

_DUMP_RETRIES = 5


@dataclass(eq=False)
class _Pending:
    future: asyncio.Future[list[Message]]
    what: str
    dump: bool
    replies: list[Message] = field(default_factory=list)
    interrupted: bool = False


class AsyncNetlinkSocket:
    """Wrap a :class:`NetlinkSocket` for use from one running event loop."""

    def __init__(self, sock: NetlinkSocket, *, window: int | None = None) -> None:
        self._nl = sock
        self._raw: socket.socket = sock._sock
        self._raw.setblocking(False)
        self._loop = asyncio.get_running_loop()
        self._pending: dict[int, _Pending] = {}
        self._outgoing: list[Message] = []
        self._flush_scheduled = False
        # bound what is in flight, so the kernel's answers fit the receive buffer
        self._window = asyncio.Semaphore(window or max(8, min(512, sock.rcvbuf // 4096)))
        self._buf = bytearray(1 << 18)
        self._loop.add_reader(self._raw.fileno(), self._on_readable)
        self.closed = False

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._loop.remove_reader(self._raw.fileno())
        error = NetlinkError(errno.EBADF, "connection closed")
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()
        self._nl.close()

    # -- sending -----------------------------------------------------------------------
    def _submit(self, message: Message, flags: int, what: str, dump: bool) -> _Pending:
        if self.closed:
            raise NetlinkError(errno.EBADF, "connection closed", what)
        seq = self._nl._next_seq()
        pending = _Pending(self._loop.create_future(), what, dump)
        self._pending[seq] = pending
        self._outgoing.append(_with(message, seq, flags))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)
        return pending

    def _flush(self) -> None:
        self._flush_scheduled = False
        messages, self._outgoing = self._outgoing, []
        if not messages:
            return
        data = _request_bytes(messages)
        try:
            self._raw.send(data)
        except OSError as exc:
            for message in messages:
                pending = self._pending.pop(message.seq, None)
                if pending is not None and not pending.future.done():
                    pending.future.set_exception(exc)

    # -- receiving -----------------------------------------------------------------------
    def _on_readable(self) -> None:
        while True:
            try:
                n = self._raw.recv_into(self._buf, 0, socket.MSG_TRUNC)
            except BlockingIOError:
                return
            except OSError as exc:
                self._fail_all(exc)
                return
            if n > len(self._buf):
                self._buf = bytearray(n)
                self._fail_all(NetlinkError(errno.EMSGSIZE, "a netlink message was truncated"))
                continue
            for message in iter_messages(bytes(self._buf[:n])):
                self._dispatch(message)

    def _fail_all(self, exc: OSError) -> None:
        if exc.errno == errno.ENOBUFS:
            exc = NetlinkError(errno.ENOBUFS, "answers were lost (receive buffer overflowed)")
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(exc)
        self._pending.clear()

    def _dispatch(self, message: Message | ErrorMessage | DoneMessage) -> None:
        pending = self._pending.get(message.seq)
        if pending is None or message.pid not in (self._nl.pid, 0):
            return  # an event, or the late answer to a cancelled request
        if message.flags & NlmF.DUMP_INTR:
            pending.interrupted = True
        if isinstance(message, ErrorMessage | DoneMessage):
            del self._pending[message.seq]
            self._window.release()
            if pending.future.done():
                return  # cancelled: consumed and dropped
            if message.error:
                pending.future.set_exception(
                    error_for(-message.error, message.ext_ack_text, pending.what)
                )
            elif pending.dump and pending.interrupted:
                pending.future.set_exception(DumpInterrupted(request=pending.what))
            else:
                pending.future.set_result(pending.replies)
            return
        if not pending.dump and message.flags & NlmF.MULTI == 0 and pending.future.done():
            return
        pending.replies.append(message)

    # -- transactions ----------------------------------------------------------------------
    async def request(self, message: Message, what: str = "") -> list[Message]:
        """Send one request (ACK asked for); its answers, or the mapped error."""
        await self._window.acquire()
        try:
            pending = self._submit(message, message.flags | NlmF.REQUEST | NlmF.ACK, what, False)
        except BaseException:
            self._window.release()
            raise
        return await pending.future

    async def dump(self, message: Message, what: str = "") -> list[Message]:
        """Run a dump; retried when the kernel flags it as interrupted."""
        for _ in range(_DUMP_RETRIES):
            await self._window.acquire()
            try:
                pending = self._submit(
                    message, message.flags | NlmF.REQUEST | NlmF.DUMP, what, True
                )
            except BaseException:
                self._window.release()
                raise
            try:
                return await pending.future
            except DumpInterrupted:
                continue
        raise DumpInterrupted(request=what)

    async def batch(
        self, messages: Sequence[Message], what: Sequence[str] = ()
    ) -> list[tuple[list[Message], NetlinkError | None]]:
        """Many requests at once; per request its answers and error (or None)."""

        async def one(i: int, message: Message) -> tuple[list[Message], NetlinkError | None]:
            try:
                return await self.request(message, what[i] if i < len(what) else ""), None
            except NetlinkError as exc:
                return [], exc

        return list(await asyncio.gather(*(one(i, m) for i, m in enumerate(messages))))
