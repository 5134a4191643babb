"""NetlinkSocket against a scripted fake kernel (no root): sequence matching,
dumps interrupted by concurrent changes, extended-ack errors, pipelining."""

from __future__ import annotations

import errno
import struct
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

import macvlan._netlink as nl
from macvlan import DumpInterrupted, LinkExists, LinkNotFound, MonitorOverflow, NetlinkError
from macvlan._netlink import ifla
from macvlan._netlink.constants import NlmF, RtmType
from macvlan._netlink.message import ERR_MSG, DoneMessage, ErrorMessage, Message
from macvlan._netlink.socket import NetlinkSocket
from macvlan._netlink.structs import IfInfoMsg
from macvlan.errors import ProtocolError

Handler = Callable[[Message], list[bytes]]


class FakeKernel:
    """Stands in for the socket: answers each request with scripted datagrams."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.queue: deque[bytes] = deque()
        self.requests: list[Message] = []
        self.sends = 0
        self.enobufs = False

    # socket API used by NetlinkSocket
    def setsockopt(self, *args: Any) -> None:
        pass

    def getsockopt(self, *args: Any) -> int:
        return 1 << 20

    def bind(self, address: Any) -> None:
        pass

    def getsockname(self) -> tuple[int, int]:
        return (4242, 0)

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.sends += 1
        for message in nl.decode(data):
            assert isinstance(message, Message)
            self.requests.append(message)
            self.queue.extend(self.handler(message))

    def recv_into(self, buf: bytearray, size: int, flags: int) -> int:
        if self.enobufs:
            self.enobufs = False
            raise OSError(errno.ENOBUFS, "No buffer space available")
        data = self.queue.popleft()
        buf[: len(data)] = data
        return len(data)


def ack(request: Message, error: int = 0, text: str = "") -> bytes:
    echo = struct.pack("=IHHII", 16, request.type, request.flags, request.seq, 0)
    flags = NlmF.CAPPED
    ext = []
    if text:
        flags |= NlmF.ACK_TLVS
        ext = [ERR_MSG(text)]
    return nl.encode([ErrorMessage(flags, request.seq, 4242, error, echo, ext)])


def link(request: Message, name: str, index: int, flags: int = NlmF.MULTI) -> bytes:
    return nl.encode(
        [
            Message(
                RtmType.NEWLINK,
                flags,
                request.seq,
                4242,
                IfInfoMsg(index=index),
                [ifla.IFNAME(name)],
            )
        ]
    )


def done(request: Message, flags: int = NlmF.MULTI) -> bytes:
    return nl.encode([DoneMessage(flags, request.seq, 4242, 0)])


def sock_for(handler: Handler) -> tuple[NetlinkSocket, FakeKernel]:
    fake = FakeKernel(handler)
    return NetlinkSocket(sock=fake), fake  # type: ignore[arg-type]


def getlink() -> Message:
    return Message(RtmType.GETLINK, 0, body=IfInfoMsg())


def newlink(name: str) -> Message:
    return Message(RtmType.NEWLINK, 0, body=IfInfoMsg(), attrs=[ifla.IFNAME(name)])


def test_request_returns_reply_and_skips_stale_messages() -> None:
    def handler(req: Message) -> list[bytes]:
        stale = Message(req.type, 0, req.seq + 100, 4242, IfInfoMsg(index=9), [ifla.IFNAME("x")])
        return [nl.encode([stale]), link(req, "mv0", 5, 0), ack(req)]

    sock, fake = sock_for(handler)
    replies = sock.request(getlink())
    assert [r.get(ifla.IFNAME) for r in replies] == ["mv0"]
    assert fake.requests[0].flags & (NlmF.REQUEST | NlmF.ACK) == NlmF.REQUEST | NlmF.ACK


def test_error_carries_errno_and_extended_ack_text() -> None:
    sock, _ = sock_for(lambda req: [ack(req, -errno.EEXIST, "link name taken")])
    with pytest.raises(LinkExists) as info:
        sock.request(getlink(), "create 'mv0'")
    assert info.value.errno == errno.EEXIST
    assert info.value.ext_ack == "link name taken"
    assert "create 'mv0'" in str(info.value)


def test_interrupted_dump_is_retried() -> None:
    attempts = []

    def handler(req: Message) -> list[bytes]:
        attempts.append(req.seq)
        if len(attempts) == 1:
            return [link(req, "a", 1, NlmF.MULTI | NlmF.DUMP_INTR), done(req)]
        return [link(req, "a", 1), link(req, "b", 2), done(req)]

    sock, fake = sock_for(handler)
    replies = sock.dump(getlink())
    assert [r.get(ifla.IFNAME) for r in replies] == ["a", "b"]
    assert len(attempts) == 2
    assert all(r.flags & NlmF.DUMP == NlmF.DUMP for r in fake.requests)


def test_dump_that_keeps_racing_is_reported() -> None:
    sock, _ = sock_for(lambda req: [done(req, NlmF.MULTI | NlmF.DUMP_INTR)])
    with pytest.raises(DumpInterrupted):
        sock.dump(getlink(), "list links")


def test_batch_answers_each_request_on_its_own() -> None:
    def handler(req: Message) -> list[bytes]:
        if req.get(ifla.IFNAME) == "bad":
            return [ack(req, -errno.ENODEV)]
        return [ack(req)]

    sock, fake = sock_for(handler)
    names = ["a", "bad", "c"] * 400
    results = sock.batch([newlink(n) for n in names], [f"create {n}" for n in names])
    assert len(results) == len(names)
    for name, (_, error) in zip(names, results, strict=True):
        if name == "bad":
            assert isinstance(error, LinkNotFound)
        else:
            assert error is None
    assert fake.sends < len(names) / 50  # many requests per send
    assert len({m.seq for m in fake.requests}) == len(names)


def test_overflow_is_reported_not_swallowed() -> None:
    sock, fake = sock_for(lambda req: [])
    fake.enobufs = True
    with pytest.raises(MonitorOverflow):
        sock.recv_messages()


@pytest.mark.parametrize(
    "call",
    [
        lambda sock: sock.dump_parsed(getlink(), lambda data, start, end, out: None),
        lambda sock: sock.batch([getlink()]),
    ],
    ids=["parsed dump", "batch"],
)
def test_overflow_mid_dump_or_batch_is_reported_too(call: Callable[[NetlinkSocket], Any]) -> None:
    sock, fake = sock_for(lambda req: [ack(req)])
    fake.enobufs = True
    with pytest.raises(MonitorOverflow):
        call(sock)


def test_batch_answers_are_messages_and_a_stray_done_is_none() -> None:
    sock, _ = sock_for(lambda req: [link(req, "echo", 3, 0) + done(req, 0) + ack(req)])
    ((answers, error),) = sock.batch([newlink("echo")])
    assert error is None
    assert [(type(m), m.get(ifla.IFNAME)) for m in answers] == [(Message, "echo")]


@pytest.mark.parametrize("parsed", [False, True])
def test_batch_refuses_a_truncated_header(parsed: bool) -> None:
    sock, _ = sock_for(lambda req: [link(req, "echo", 3, 0) + b"\x10\x00\x00\x00" * 2])
    parse = (lambda data, start, end, out: None) if parsed else None
    with pytest.raises(ProtocolError, match="truncated netlink header"):
        sock.batch([newlink("echo")], parse=parse)


def test_threads_sharing_a_socket_get_their_own_replies() -> None:
    lock = threading.Lock()

    def handler(req: Message) -> list[bytes]:
        with lock:
            name = req.get(ifla.IFNAME)
            return [link(req, name, int(name[1:]), 0), ack(req)]

    sock, _ = sock_for(handler)
    errors: list[str] = []

    def worker(k: int) -> None:
        for i in range(200):
            n = f"t{k * 1000 + i}"
            got = sock.request(
                Message(RtmType.GETLINK, 0, body=IfInfoMsg(), attrs=[ifla.IFNAME(n)])
            )
            if [r.get(ifla.IFNAME) for r in got] != [n]:
                errors.append(n)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_real_socket_closes_its_fd() -> None:
    import os

    sock = NetlinkSocket()
    fd = sock.fileno()
    assert os.path.exists(f"/proc/self/fd/{fd}")
    with sock:
        pass
    assert sock.closed
    assert (
        not os.path.exists(f"/proc/self/fd/{fd}") or os.readlink(f"/proc/self/fd/{fd}") != "socket"
    )


def test_plain_error_without_ext_ack() -> None:
    sock, _ = sock_for(lambda req: [ack(req, -errno.EINVAL)])
    with pytest.raises(NetlinkError) as info:
        sock.request(getlink())
    assert info.value.errno == errno.EINVAL
    assert info.value.ext_ack == ""
