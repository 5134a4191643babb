"""The netlink socket for asyncio: many requests in flight, answers matched by
sequence number, read through the running loop.

Requests made in the same loop iteration go out in one ``send``, from a sender
thread: the kernel does a request's work (creating a link, say) inside
``sendmsg``, on the calling thread, and a batch of them would otherwise hold the
loop for as long.  Answers are read on the loop, a bounded number of datagrams per
turn, so that a flood of answers cannot stall it either.  A cancelled request
stays registered until the kernel answers it; that late answer is consumed and
dropped, so it can never be mistaken for another request's.
"""

from __future__ import annotations

import _queue
import _socket
import _thread
import asyncio
import collections
import contextlib
import errno
from collections.abc import Callable, Sequence
from typing import Any

from macvlan._netlink.constants import NlmF
from macvlan._netlink.message import DoneMessage, ErrorMessage, Message, encode, iter_messages
from macvlan._netlink.numbers import NLMSG_DONE, NLMSG_ERROR
from macvlan._netlink.socket import _NLH, NetlinkSocket, _with
from macvlan.errors import DumpInterrupted, NetlinkError, ProtocolError, error_for

_DUMP_RETRIES = 5
_ACK = int(NlmF.REQUEST | NlmF.ACK)  # plain ints: IntFlag arithmetic is slow
_DUMP = int(NlmF.REQUEST | NlmF.DUMP)
_DUMP_INTR = int(NlmF.DUMP_INTR)
Failed = Callable[[list[int], BaseException], None]
#: ``parse(data, start, end, out)``: a dump's answers in ``data[start:end]`` as values
ParseFn = Callable[[bytes, int, int, list[Any]], None]
#: Datagrams read per turn of the loop (each holds one or more answers).
_READS_PER_TURN = 32
#: Operations that may start per turn of the loop (see _Turns).
_STARTS_PER_TURN = 32


class Pending:
    """One request in flight: its future, label and the answers gathered so far.

    If ``future`` is cancelled, the answer still comes; :meth:`AsyncNetlinkSocket.outcome`
    waits for it (``late``), or it is kept in ``outcome`` until asked for or dropped.
    """

    __slots__ = (
        "dump",
        "finished",
        "future",
        "interrupted",
        "late",
        "mtype",
        "outcome",
        "parse",
        "replies",
        "what",
    )

    def __init__(
        self,
        future: asyncio.Future[list[Message]],
        what: str,
        dump: bool,
        mtype: int = 0,
        parse: ParseFn | None = None,
    ) -> None:
        self.future = future
        self.what = what
        self.mtype = mtype  # the request's RTM_* type, for the error it may get
        self.dump = dump
        self.parse = parse  # a dump whose answers become values straight from the bytes
        self.replies: list[Any] = []  # the answers (or with ``parse``, their values)
        self.interrupted = False
        # a dump's end as the kernel sees it (set even when the caller gave up)
        self.finished: asyncio.Future[None] | None = (
            future.get_loop().create_future() if dump else None
        )
        self.late: asyncio.Future[list[Message]] | None = None
        self.outcome: tuple[list[Message], BaseException | None] | None = None

    def settle(self, replies: list[Message], error: BaseException | None) -> None:
        """Deliver the answer: to ``future``, else to ``late``, else keep it."""
        self.finish()
        for future in (self.future, self.late):
            if future is not None and not future.done():
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(replies)
                return
        self.outcome = (replies, error)

    def finish(self) -> None:
        if self.finished is not None and not self.finished.done():
            self.finished.set_result(None)


class _Window:
    """A counting semaphore whose release hands the slot to the oldest waiter.

    ``asyncio.Semaphore`` scans all its waiters on every release (3.11), which is
    quadratic with a thousand requests queued; this is O(1) per acquire and release.
    """

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def take(self) -> bool:
        """Take a slot if one is free now (and nobody waits for one)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # a slot was handed over just as we were cancelled
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


class _Turns:
    """Lets at most ``per_turn`` operations start in one turn of the event loop.

    A thousand tasks started at once would otherwise all build and check their
    requests in the same turn, and every other task on the loop would wait for all
    of them; the rest start in the following turns, in the order they asked.
    """

    __slots__ = ("_loop", "_per_turn", "_scheduled", "_started", "_waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop, per_turn: int) -> None:
        self._loop = loop
        self._per_turn = per_turn
        self._started = 0
        self._scheduled = False
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def admit(self) -> None:
        """Return in this turn if there is room in it, else in a later one."""
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._next_turn)
        if self._started < self._per_turn and not self._waiters:
            self._started += 1
            return
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            raise

    def _next_turn(self) -> None:
        self._started = 0
        waiters = self._waiters
        while waiters and self._started < self._per_turn:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._started += 1
        self._scheduled = bool(waiters or self._started)
        if self._scheduled:
            self._loop.call_soon(self._next_turn)


class _Sender:
    """A thread that sends what the loop hands it, in order.

    The kernel's work for a request happens inside ``send`` on this thread (with
    the GIL released), so the loop keeps running meanwhile.  A failed send is
    reported back on the loop with the sequence numbers it carried.
    """

    def __init__(self, raw: _socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self._raw = raw
        self._loop = loop
        self._queue: _queue.SimpleQueue[tuple[bytes, list[int], Failed] | None] = (
            _queue.SimpleQueue()
        )
        self._lock = _thread.allocate_lock()  # held while a send is in progress
        self._stopped = False
        _thread.start_new_thread(self._run, ())

    def send(self, data: bytes, seqs: list[int], failed: Failed) -> None:
        """Queue ``data``; on an error, ``failed(seqs, exc)`` is called on the loop."""
        self._queue.put((data, seqs, failed))

    def stop(self) -> None:
        """Send nothing more; returns once a send in progress is over (the socket
        must outlive it), so the caller may close the socket then."""
        with self._lock:
            self._stopped = True
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            data, seqs, failed = item
            with self._lock:
                if self._stopped:
                    return
                try:
                    self._raw.send(data)
                except (OSError, ValueError) as exc:
                    error: BaseException | None = exc
                else:
                    error = None
            if error is not None:
                try:
                    self._loop.call_soon_threadsafe(failed, seqs, error)
                except RuntimeError:
                    return  # the loop is closed: nobody waits any more


class AsyncNetlinkSocket:
    """Wrap a :class:`NetlinkSocket` for use from one running event loop."""

    def __init__(self, sock: NetlinkSocket, *, window: int | None = None) -> None:
        self._nl = sock
        self._raw: _socket.socket = sock._sock
        self._raw.setblocking(False)
        self._loop = asyncio.get_running_loop()
        self._pending: dict[int, Pending] = {}
        self._outgoing: list[Message] = []
        self._flush_scheduled = False
        # bound what is in flight, so the kernel's answers fit the receive buffer
        self._window = _Window(window or max(8, min(512, sock.rcvbuf // 4096)))
        self._buf = bytearray(1 << 18)
        # the kernel runs one dump per socket at a time (EBUSY otherwise)
        self._dump_lock = asyncio.Lock()
        self._last_dump: asyncio.Future[None] | None = None
        self._parsed_seq = -1  # the last dump submitted with a parse function
        self._sender: _Sender | None = None  # started with the first send
        self._turns = _Turns(self._loop, _STARTS_PER_TURN)
        self._loop.add_reader(self._raw.fileno(), self._on_readable)
        self.closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop this socket reads through."""
        return self._loop

    @property
    def in_flight(self) -> int:
        """How many requests still wait for the kernel's answer (cancelled ones too)."""
        return len(self._pending)

    def fileno(self) -> int:
        return self._raw.fileno()

    async def admit(self) -> None:
        """Wait, if need be, for a turn of the loop with room for one more operation
        to start (a bound on the work a burst of tasks does in one turn)."""
        await self._turns.admit()

    def index_of(self, name: str) -> int:
        """The index of the link ``name`` in this socket's namespace (one ioctl)."""
        return self._nl.index_of(name)

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        """Stop reading, fail what is still waiting (``EBADF``) and close the socket."""
        if self.closed:
            return
        self.closed = True
        self._loop.remove_reader(self._raw.fileno())
        self._fail_all(NetlinkError(errno.EBADF, "connection closed"))
        self._nl.close()

    # -- sending -----------------------------------------------------------------------
    def _submit(
        self, message: Message, flags: int, what: str, dump: bool, parse: ParseFn | None = None
    ) -> Pending:
        if self.closed:
            raise NetlinkError(errno.EBADF, "connection closed", what)
        seq = self._nl._next_seq()
        pending = Pending(self._loop.create_future(), what, dump, message.type, parse)
        if parse is not None:
            self._parsed_seq = seq
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
        try:
            data = encode(messages)
        except Exception:
            messages, data = self._pack_each(messages)
        if not messages:
            return
        if self._sender is None:
            self._sender = _Sender(self._raw, self._loop)
        self._sender.send(data, [m.seq for m in messages], self._send_failed)

    def _send_failed(self, seqs: list[int], exc: BaseException) -> None:
        for seq in seqs:
            self._give_up(seq, exc)

    def _pack_each(self, messages: list[Message]) -> tuple[list[Message], bytes]:
        """Pack one by one: a message that cannot be packed fails alone, not its batch."""
        packed: list[Message] = []
        chunks: list[bytes] = []
        for message in messages:
            try:
                chunks.append(encode([message]))
            except Exception as exc:
                self._give_up(message.seq, exc)
            else:
                packed.append(message)
        return packed, b"".join(chunks)

    def _give_up(self, seq: int, exc: BaseException) -> None:
        pending = self._pending.pop(seq, None)
        if pending is not None:
            self._window.release()
            pending.settle([], exc)

    async def _start(
        self, message: Message, flags: int, what: str, dump: bool, parse: ParseFn | None = None
    ) -> Pending:
        """Wait for room in the window, then queue ``message`` for the next send."""
        await self._window.acquire()
        try:
            return self._submit(message, flags, what, dump, parse)
        except BaseException:
            self._window.release()
            raise

    # -- receiving -----------------------------------------------------------------------
    def _on_readable(self) -> None:
        for _ in range(_READS_PER_TURN):  # the rest next turn: the loop stays responsive
            try:
                n = self._raw.recv_into(self._buf, 0, _socket.MSG_TRUNC)
            except BlockingIOError:
                return
            except OSError as exc:
                self._fail_all(exc)
                return
            if n > len(self._buf):
                self._buf = bytearray(n)
                self._fail_all(NetlinkError(errno.EMSGSIZE, "a netlink message was truncated"))
                continue
            try:
                if self._parsed_seq in self._pending:  # dumps run one at a time
                    self._dispatch_parsed(bytes(self._buf[:n]), self._parsed_seq)
                else:
                    for message in iter_messages(bytes(self._buf[:n])):
                        self._dispatch(message)
            except ProtocolError as exc:
                self._fail_all(NetlinkError(errno.EPROTO, f"malformed answer: {exc}"))

    def _dispatch_parsed(self, data: bytes, seq: int) -> None:
        """Dispatch a datagram while the dump ``seq`` turns its answers into values
        (as :meth:`NetlinkSocket.dump_parsed`): runs of its answers go to its parse
        function without a :class:`Message` each; everything else as usual."""
        pending = self._pending[seq]
        parse = pending.parse
        assert parse is not None
        ours = (self._nl.pid, 0)
        pos, end, run = 0, len(data), -1  # run: where a run of the dump's answers began
        while pos < end:
            if end - pos < 16:
                raise ProtocolError(f"truncated netlink header at offset {pos}")
            length, kind, flags, mseq, pid = _NLH.unpack_from(data, pos)
            if length < 16 or pos + length > end:
                raise ProtocolError(f"netlink message length {length} at offset {pos}")
            if mseq == seq and pid in ours and kind not in (NLMSG_DONE, NLMSG_ERROR):
                if flags & _DUMP_INTR:
                    pending.interrupted = True
                if run < 0:
                    run = pos
            else:
                if run >= 0:
                    parse(data, run, pos, pending.replies)
                    run = -1
                for message in iter_messages(data[pos : pos + length]):
                    self._dispatch(message)
            pos += (length + 3) & ~3
        if run >= 0:
            parse(data, run, end, pending.replies)

    def _fail_all(self, exc: OSError) -> None:
        """Fail every request in flight (their answers may be lost or never come)."""
        if exc.errno == errno.ENOBUFS:
            exc = NetlinkError(errno.ENOBUFS, "answers were lost (receive buffer overflowed)")
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            self._window.release()
            entry.settle([], exc)

    def _dispatch(self, message: Message | ErrorMessage | DoneMessage) -> None:
        pending = self._pending.get(message.seq)
        if pending is None or message.pid not in (self._nl.pid, 0):
            return  # an event, or the late answer to a cancelled request
        if message.flags & _DUMP_INTR:
            pending.interrupted = True
        if isinstance(message, ErrorMessage | DoneMessage):
            del self._pending[message.seq]
            self._window.release()
            if message.error:
                error: NetlinkError | None = error_for(
                    -message.error, message.ext_ack_text, pending.what, pending.mtype
                )
            elif pending.dump and pending.interrupted:
                error = DumpInterrupted(request=pending.what)
            else:
                error = None
            pending.settle(pending.replies, error)  # a given-up one: kept or dropped
            return
        pending.replies.append(message)

    # -- transactions ----------------------------------------------------------------------
    def submit_nowait(self, message: Message, what: str = "") -> Pending | None:
        """Queue one request (ACK asked for) if the window has room, else None."""
        if not self._window.take():
            return None
        try:
            return self._submit(message, message.flags | _ACK, what, False)
        except BaseException:
            self._window.release()
            raise

    async def submit(self, message: Message, what: str = "") -> Pending:
        """Queue one request (ACK asked for) once the window has room."""
        return await self._start(message, message.flags | _ACK, what, False)

    async def outcome(self, pending: Pending) -> list[Message]:
        """The answer to ``pending`` even if its future was cancelled (waits for it)."""
        if not pending.future.cancelled():
            return await pending.future
        if pending.outcome is not None:
            replies, error = pending.outcome
            if error is not None:
                raise error
            return replies
        if pending.late is None:
            pending.late = self._loop.create_future()
        return await pending.late

    async def send_request(self, message: Message, what: str = "") -> asyncio.Future[list[Message]]:
        """Queue one request (ACK asked for) and return the future of its answers.

        Waits only for room in the window.  Cancelling the returned future gives up
        on the answer, which is then consumed and dropped when it comes.
        """
        pending = await self._start(message, message.flags | _ACK, what, False)
        return pending.future

    async def request(self, message: Message, what: str = "") -> list[Message]:
        """Send one request (ACK asked for); its answers, or the mapped error."""
        pending = await self._start(message, message.flags | _ACK, what, False)
        return await pending.future

    async def dump(self, message: Message, what: str = "") -> list[Message]:
        """Run a dump; retried when the kernel flags it as interrupted."""
        return await self.dump_parsed(message, None, what)

    async def dump_parsed(
        self, message: Message, parse: ParseFn | None, what: str = ""
    ) -> list[Any]:
        """A dump whose answers go straight from the received bytes to values
        (``parse`` as in :meth:`NetlinkSocket.dump_parsed`; None: messages)."""
        for _ in range(_DUMP_RETRIES):
            async with self._dump_lock:
                if self._last_dump is not None and not self._last_dump.done():
                    await asyncio.shield(self._last_dump)  # also a given-up one must end
                pending = await self._start(message, message.flags | _DUMP, what, True, parse)
                self._last_dump = pending.finished
            try:
                return await pending.future
            except DumpInterrupted:
                continue
        raise DumpInterrupted(request=what)

    async def batch(
        self, messages: Sequence[Message], what: Sequence[str] = ()
    ) -> list[tuple[list[Message], NetlinkError | None]]:
        """Many requests at once; per request its answers and error (or None).

        If this is cancelled, the requests not answered yet are given up (their
        answers dropped when they come) and those not sent yet are not sent.
        """
        futures: list[asyncio.Future[list[Message]]] = []
        results: list[tuple[list[Message], NetlinkError | None]] = []
        try:
            for i, message in enumerate(messages):
                label = what[i] if i < len(what) else ""
                pending = await self._start(message, message.flags | _ACK, label, False)
                futures.append(pending.future)
            for future in futures:
                try:
                    results.append((await future, None))
                except NetlinkError as exc:
                    results.append(([], exc))
        except BaseException:
            for future in futures:
                if not future.done():
                    future.cancel()
                elif not future.cancelled():
                    future.exception()  # retrieved: no "never retrieved" warning
            raise
        return results
