"""The netlink socket: the only place that calls ``send``/``recv``.

A :class:`NetlinkSocket` numbers requests, waits for their answers, reassembles
dumps, pipelines batches and maps kernel errors to :mod:`macvlan.errors`.  One
lock serialises transactions, so a socket may be shared between threads.

It uses the C modules ``_socket`` and ``_thread`` directly: :mod:`socket` and
:mod:`threading` would add some 7 ms (enum, selectors) to every short-lived process.
"""

from __future__ import annotations

import _socket
import _thread
import errno
import struct

from macvlan._netlink.message import DoneMessage, ErrorMessage, Message, encode, iter_messages
from macvlan._netlink.numbers import (
    NETLINK_ADD_MEMBERSHIP,
    NETLINK_CAP_ACK,
    NETLINK_EXT_ACK,
    NETLINK_GET_STRICT_CHK,
    NETLINK_ROUTE,
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    SOL_NETLINK,
)
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import (
    DumpInterrupted,
    MonitorOverflow,
    NetlinkError,
    ProtocolError,
    error_for,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    #: parse(data, start, end, out): append the values of the messages in data[start:end]
    ParseFn = Callable[[bytes, int, int, list[Any]], None]
    from collections.abc import Iterator, Sequence

    from macvlan._netlink.message import AnyMessage

SIOCGIFINDEX = 0x8933  # include/uapi/linux/sockios.h
_NLH = struct.Struct("=IHHII")  # struct nlmsghdr
_S32 = struct.Struct("=i")  # nlmsgerr.error
_IFREQ = struct.Struct("=16si20x")  # struct ifreq (40 bytes): the name, then ifr_ifindex
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
_RECV_SIZE = 1 << 18
# One receive buffer per thread, shared by its sockets (what is received is copied out
# at once): a fresh 256 KiB buffer per socket cost ~0.2 ms of page faults at creation,
# which a reconcile opening hundreds of sockets paid hundreds of times.
_LOCAL = _thread._local()


def _buffer(size: int = _RECV_SIZE) -> bytearray:
    """This thread's receive buffer, at least ``size`` bytes."""
    buf: bytearray | None = getattr(_LOCAL, "buf", None)
    if buf is None or len(buf) < size:
        buf = _LOCAL.buf = bytearray(max(size, _RECV_SIZE))
    return buf


_DUMP_RETRIES = 5
_WINDOW = 512  # requests per send in a batch (fewer if the receive buffer is small)
_BUFFER = 4 << 20


class NetlinkSocket:
    """A ``NETLINK_ROUTE`` socket in the namespace it was created in.

    ``groups`` subscribes to multicast groups (``RtnlGroup`` numbers) for events.
    """

    def __init__(self, groups: Sequence[int] = (), *, sock: _socket.socket | None = None) -> None:
        if sock is None:
            sock = _socket.socket(
                _socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NETLINK_ROUTE
            )
        self._sock = sock
        try:
            self._configure(groups)
        except BaseException:
            sock.close()
            raise
        self._lock = _thread.allocate_lock()
        self._seq = 0
        self.closed = False

    def _configure(self, groups: Sequence[int]) -> None:
        sock = self._sock
        for option in (NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK):
            # (not contextlib.suppress: contextlib costs ~5 ms to import)
            try:  # noqa: SIM105
                sock.setsockopt(SOL_NETLINK, option, 1)
            except OSError:
                pass  # an older kernel: plain acks and unfiltered dumps still work
        for level_opt, fallback in (
            (SO_RCVBUFFORCE, _socket.SO_RCVBUF),
            (SO_SNDBUFFORCE, _socket.SO_SNDBUF),
        ):
            try:
                sock.setsockopt(_socket.SOL_SOCKET, level_opt, _BUFFER)
            except OSError:
                sock.setsockopt(_socket.SOL_SOCKET, fallback, _BUFFER)
        sock.bind((0, 0))
        for group in groups:
            sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
        self.pid: int = sock.getsockname()[0]
        self.rcvbuf: int = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF)

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

    def _recv_raw(self) -> bytes:
        """One datagram, copied out of this thread's buffer."""
        buf = _buffer()
        try:
            n = self._sock.recv_into(buf, 0, _socket.MSG_TRUNC)
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                raise MonitorOverflow() from None
            raise
        if n > len(buf):
            _buffer(n)
            raise NetlinkError(errno.EMSGSIZE, f"a {n}-byte netlink message was truncated")
        return bytes(memoryview(buf)[:n])  # one copy, not two

    def _recv(self) -> list[AnyMessage]:
        return list(iter_messages(self._recv_raw()))

    def index_of(self, name: str, what: str = "") -> int:
        """The index of the link ``name`` in this socket's namespace, from the kernel.

        Asked with ``SIOCGIFINDEX`` on this very socket, as ``ip`` asks: netlink
        sockets have no ioctls of their own, so the kernel answers it from the
        socket's network namespace (also when the socket was opened in another one
        than the caller's).  One system call instead of a ``RTM_GETLINK`` round
        trip; no lock needed, nothing cached.  Raises :class:`LinkNotFound`.
        """
        import fcntl

        request = _IFREQ.pack(name.encode("utf-8", "surrogateescape"), 0)
        try:
            answer = fcntl.ioctl(self._sock.fileno(), SIOCGIFINDEX, request)
        except OSError as exc:
            raise error_for(exc.errno or errno.EIO, "", what or f"link {name!r}") from None
        index: int = _IFREQ.unpack(answer)[1]
        return index

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
            data = encode([_with(message, seq, message.flags | NLM_F_REQUEST | NLM_F_ACK)])
            self._sock.sendall(data)
            replies: list[Message] = []
            while True:
                for reply in self._recv():
                    if reply.seq != seq or reply.pid not in (self.pid, 0):
                        continue
                    if isinstance(reply, ErrorMessage):
                        if reply.error:
                            raise error_for(-reply.error, reply.ext_ack_text, what, message.type)
                        return replies
                    if isinstance(reply, DoneMessage):
                        return replies
                    replies.append(reply)

    def request_parsed(self, message: Message, parse: ParseFn, what: str = "") -> list[Any]:
        """Send one request (ACK asked for); its answers become values straight from
        the received bytes, as in :meth:`dump_parsed` (a creation's echo, say).

        Raises the mapped :class:`NetlinkError` if the kernel refused it.
        """
        with self._lock:
            seq = self._next_seq()
            flags = message.flags | NLM_F_REQUEST | NLM_F_ACK
            self._sock.sendall(encode([_with(message, seq, flags)]))
            out: list[Any] = []
            self._collect_parsed(seq, what, message.type, parse, out)
            return out

    def dump(self, message: Message, what: str = "") -> list[Message]:
        """Run a dump request; retry if the kernel flags it as interrupted."""
        for _ in range(_DUMP_RETRIES):
            with self._lock:
                seq = self._next_seq()
                flags = message.flags | NLM_F_REQUEST | NLM_F_DUMP
                self._sock.sendall(encode([_with(message, seq, flags)]))
                replies, interrupted = self._collect_dump(seq, what, message.type)
            if not interrupted:
                return replies
        raise DumpInterrupted(request=what)

    def dump_parsed(self, message: Message, parse: ParseFn, what: str = "") -> list[Any]:
        """A dump whose answers go straight from the received bytes to values.

        ``parse(data, start, end, out)`` appends the values of the messages in
        ``data[start:end]`` (all answers to this dump) to ``out``; no
        :class:`Message` is made for them.  Errors, the end of the dump and
        ``NLM_F_DUMP_INTR`` are handled as in :meth:`dump`.
        """
        for _ in range(_DUMP_RETRIES):
            with self._lock:
                seq = self._next_seq()
                flags = message.flags | NLM_F_REQUEST | NLM_F_DUMP
                self._sock.sendall(encode([_with(message, seq, flags)]))
                out: list[Any] = []
                interrupted = self._collect_parsed(seq, what, message.type, parse, out)
            if not interrupted:
                return out
        raise DumpInterrupted(request=what)

    def _collect_parsed(
        self, seq: int, what: str, mtype: int, parse: ParseFn, out: list[Any]
    ) -> bool:
        interrupted = False
        header = _NLH.unpack_from
        while True:
            data = self._recv_raw()
            pos, end, run = 0, len(data), -1  # run: where our messages began, if they did
            while pos < end:  # (the framing checks inline: this runs per dumped message)
                if end - pos < 16:
                    raise ProtocolError(f"truncated netlink header at offset {pos}")
                length, kind, flags, mseq, _ = header(data, pos)
                if length < 16 or pos + length > end:
                    raise ProtocolError(f"netlink message length {length} at offset {pos}")
                if mseq != seq:
                    if run >= 0:
                        parse(data, run, pos, out)
                        run = -1
                elif kind in (NLMSG_DONE, NLMSG_ERROR):
                    if run >= 0:
                        parse(data, run, pos, out)
                    if (
                        kind == NLMSG_ERROR
                        and length >= 20
                        and not _S32.unpack_from(data, pos + 16)[0]
                    ):
                        return interrupted  # a request's plain ACK: nothing to decode
                    (reply,) = iter_messages(data[pos : pos + length])
                    assert isinstance(reply, DoneMessage | ErrorMessage)
                    if reply.flags & NLM_F_DUMP_INTR:
                        interrupted = True
                    if reply.error:
                        raise error_for(-reply.error, reply.ext_ack_text, what, mtype)
                    return interrupted
                else:
                    if flags & NLM_F_DUMP_INTR:
                        interrupted = True
                    if run < 0:
                        run = pos
                pos += (length + 3) & ~3
            if run >= 0:
                parse(data, run, end, out)

    def _collect_dump(self, seq: int, what: str, mtype: int) -> tuple[list[Message], bool]:
        replies: list[Message] = []
        interrupted = False
        while True:
            for reply in self._recv():
                if reply.seq != seq:
                    continue
                if reply.flags & NLM_F_DUMP_INTR:
                    interrupted = True
                if isinstance(reply, DoneMessage):
                    if reply.error:
                        raise error_for(-reply.error, reply.ext_ack_text, what, mtype)
                    return replies, interrupted
                if isinstance(reply, ErrorMessage):
                    if reply.error:
                        raise error_for(-reply.error, reply.ext_ack_text, what, mtype)
                    return replies, interrupted
                replies.append(reply)

    def batch(
        self, messages: Sequence[Message], what: Sequence[str] = (), parse: ParseFn | None = None
    ) -> list[tuple[list[Any], NetlinkError | None]]:
        """Pipeline many requests: several per ``send``, each answered on its own.

        Returns, per request, what it answered with and its error (or None): the
        messages, or with ``parse`` (as in :meth:`dump_parsed`) the values made
        straight from their bytes.  In-flight requests are bounded so the kernel's
        answers fit the receive buffer.

        Only the last request of each ``send`` asks for an ACK: the kernel carries
        out the requests of one ``send`` in order and answers a failure whether an
        ACK was asked for or not, so that one ACK says that every request before
        it is done, and a request without an error message succeeded.
        """
        results: list[tuple[list[Any], NetlinkError | None]] = []
        window = max(8, min(_WINDOW, self.rcvbuf // 4096))
        with self._lock:
            for start in range(0, len(messages), window):
                stamped = self._stamp(messages[start : start + window])
                self._sock.sendall(encode(stamped))
                results.extend(self._collect_batch(stamped, what, start, parse or _messages))
        return results

    def _stamp(self, messages: Sequence[Message]) -> list[Message]:
        """``messages`` with their sequence numbers, an ACK asked for by the last."""
        last = len(messages) - 1
        return [
            _with(m, self._next_seq(), m.flags | NLM_F_REQUEST | (NLM_F_ACK if i == last else 0))
            for i, m in enumerate(messages)
        ]

    def _collect_batch(
        self, stamped: list[Message], what: Sequence[str], offset: int, parse: ParseFn
    ) -> Iterator[tuple[list[Any], NetlinkError | None]]:
        """The answers to one window of ``stamped`` requests, each parsed from the
        bytes it came in (only an error is decoded into a message)."""
        by_seq: dict[int, int] = {m.seq: i for i, m in enumerate(stamped)}
        answers: list[list[Any]] = [[] for _ in stamped]
        errors: list[NetlinkError | None] = [None] * len(stamped)
        last = len(stamped) - 1
        done = not stamped
        header = _NLH.unpack_from
        while not done:
            data = self._recv_raw()
            pos, end = 0, len(data)
            while pos < end:  # (the framing checks of _collect_parsed)
                if end - pos < 16:
                    raise ProtocolError(f"truncated netlink header at offset {pos}")
                length, kind, _, seq, pid = header(data, pos)
                if length < 16 or pos + length > end:
                    raise ProtocolError(f"netlink message length {length} at offset {pos}")
                i = by_seq.get(seq)
                if i is not None and pid in (self.pid, 0):
                    if kind == NLMSG_ERROR:
                        if length < 20 or _S32.unpack_from(data, pos + 16)[0]:
                            (reply,) = iter_messages(data[pos : pos + length])
                            assert isinstance(reply, ErrorMessage)
                            errors[i] = self._batch_error(reply, stamped[i], what, offset + i)
                        done = done or i == last
                    else:
                        parse(data, pos, pos + length, answers[i])
                pos += (length + 3) & ~3
        return zip(answers, errors, strict=True)

    @staticmethod
    def _batch_error(
        reply: ErrorMessage, request: Message, what: Sequence[str], i: int
    ) -> NetlinkError:
        label = what[i] if i < len(what) else ""
        return error_for(-reply.error, reply.ext_ack_text, label, request.type)


def _messages(data: bytes, start: int, end: int, out: list[Any]) -> None:
    """The parse of a batch that asked for messages: the ``Message`` values (a stray
    ``NLMSG_DONE`` is no answer)."""
    out.extend(m for m in iter_messages(data[start:end]) if isinstance(m, Message))


def _with(message: Message, seq: int, flags: int) -> Message:
    mtype, _, _, _, body, attrs = message
    return Message(mtype, flags, seq, 0, body, attrs)
