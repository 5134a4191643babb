"""Live tests of macvlan.aio: the synchronous live tests re-run through the async API,
then what only asyncio has (concurrency, cancellation, timeouts, loops, uvloop).

The shared part: every ``sandbox``/``lan`` test of test_links_live,
test_addresses_routes_live and test_monitor_live is collected here again, with a
``sandbox`` whose ``rt`` is an :class:`AsyncConnection` behind a small adapter that
runs each coroutine to completion on a private event loop (in a thread of its own,
so that the tests that share one connection between threads run those calls as
concurrent tasks on one socket).  The ``no_io``, ``recorder`` and ``race_batch``
fixtures are replaced by ones that watch the asyncio socket.  One test patches the
blocking socket in its body; its async twin is written out below.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import test_addresses_routes_live
import test_links_live
import test_monitor_live
from support import Sandbox, Sent, ip_json, run_in_repo, veth_sandbox
from test_addresses_routes_live import lan  # noqa: F401 - the fixture, over our sandbox
from test_links_live import _specs, assert_same_as_ip, ip_link, ip_names

import macvlan
from macvlan import MacAddress, MacvlanSpec, Namespace, aio
from macvlan._netlink import ifla
from macvlan._netlink.asocket import AsyncNetlinkSocket
from macvlan._netlink.constants import NlmF, RtmType
from macvlan._netlink.message import Message
from macvlan.errors import LinkNotFound, NetlinkError
from macvlan.link import get_link
from macvlan.monitor import AddressEvent, EventAction, LinkEvent
from macvlan.network import aio as network_aio

pytestmark = [
    pytest.mark.live,
]

T = TypeVar("T")


# -- the adapter: an AsyncConnection used from blocking test code ----------------------------
class LoopThread:
    """A private event loop running in its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-loop")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class BlockingMonitor:
    """A Monitor-like face of an AsyncMonitor (poll, iteration, fileno, with)."""

    def __init__(self, mon: aio.AsyncMonitor, lt: LoopThread) -> None:
        self._mon, self._lt = mon, lt

    def poll(self, timeout: float | None = None) -> list[Any]:
        return self._lt.run(self._mon.poll(timeout))

    def __iter__(self) -> Iterator[Any]:
        while True:
            yield self._lt.run(self._mon.__anext__())

    def fileno(self) -> int:
        return self._mon.fileno()

    def __enter__(self) -> BlockingMonitor:
        self._lt.run(self._mon.open())
        return self

    def __exit__(self, *exc: object) -> None:
        self._lt.run(self._mon.__aexit__())


class BlockingFront:
    """Every coroutine method of the AsyncConnection, run to completion on the loop."""

    def __init__(self, conn: aio.AsyncConnection, lt: LoopThread) -> None:
        self.conn, self._lt = conn, lt

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.conn, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        return lambda *args, **kw: self._lt.run(attr(*args, **kw))

    def watch(self, **kw: Any) -> BlockingMonitor:
        async def make() -> aio.AsyncMonitor:
            return self.conn.watch(**kw)

        return BlockingMonitor(self._lt.run(make()), self._lt)

    def close(self) -> None:
        self._lt.run(self.conn.aclose())


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    try:
        yield lt
    finally:
        lt.close()


@pytest.fixture
def sandbox(netns_factory: Callable[..., Any], loop_thread: LoopThread) -> Iterator[Sandbox]:
    ns = netns_factory("mva")
    rt = BlockingFront(loop_thread.run(aio.connect(ns).open()), loop_thread)
    with veth_sandbox(ns, rt) as box:
        yield box


@pytest.fixture
def no_io(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    async def refuse(*args: object, **kwargs: object) -> Any:
        raise Sent("the library sent a request")

    def refuse_now(*args: object, **kwargs: object) -> Any:
        raise Sent("the library sent a request")

    for method in ("submit", "send_request", "request", "dump", "dump_parsed", "batch"):
        monkeypatch.setattr(AsyncNetlinkSocket, method, refuse)
    monkeypatch.setattr(AsyncNetlinkSocket, "submit_nowait", refuse_now)
    yield


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Message]]]:
    """Every message the asyncio socket is asked to send, with how it was asked."""
    sent: list[tuple[str, Message]] = []
    real_now, real_submit, real_dump, real_batch = (
        AsyncNetlinkSocket.submit_nowait,
        AsyncNetlinkSocket.submit,
        AsyncNetlinkSocket.dump_parsed,  # dump() goes through it too
        AsyncNetlinkSocket.batch,
    )

    def submit_nowait(self: AsyncNetlinkSocket, message: Message, what: str = "") -> Any:
        pending = real_now(self, message, what)
        if pending is not None:  # else the driver waits in submit(), recorded there
            sent.append(("request", message))
        return pending

    async def submit(self: AsyncNetlinkSocket, message: Message, what: str = "") -> Any:
        sent.append(("request", message))
        return await real_submit(self, message, what)

    async def dump(self: AsyncNetlinkSocket, message: Message, parse: Any, what: str = "") -> Any:
        sent.append(("dump", message))
        return await real_dump(self, message, parse, what)

    async def batch(self: AsyncNetlinkSocket, messages: Any, what: Any = ()) -> Any:
        sent.extend(("batch", m) for m in messages)
        return await real_batch(self, messages, what)

    monkeypatch.setattr(AsyncNetlinkSocket, "submit_nowait", submit_nowait)
    monkeypatch.setattr(AsyncNetlinkSocket, "submit", submit)
    monkeypatch.setattr(AsyncNetlinkSocket, "dump_parsed", dump)
    monkeypatch.setattr(AsyncNetlinkSocket, "batch", batch)
    yield sent


# -- the synchronous live tests, collected again over the async connection -------------------
REWRITTEN = {  # this patches the blocking socket in its body: async twin below
    "test_link_by_name_is_one_request_and_no_dump",
}


def _shared_tests() -> dict[str, Callable[..., Any]]:
    out = {}
    for module in (test_links_live, test_addresses_routes_live, test_monitor_live):
        for name, fn in vars(module).items():
            if not name.startswith("test_") or name in REWRITTEN or not callable(fn):
                continue
            if {"sandbox", "lan"} & set(inspect.signature(fn).parameters):
                out[name] = fn
    return out


SHARED = _shared_tests()
globals().update(SHARED)


def test_the_shared_tests_are_collected() -> None:
    assert len(SHARED) >= 45, sorted(SHARED)
    assert "test_create_every_mode_matches_ip" in SHARED
    assert "test_overflow_then_resync" in SHARED


# -- the async twin of the test that patches the blocking socket, and fixtures -----------
def test_link_by_name_is_one_request_and_no_dump(
    sandbox: Sandbox, recorder: list[tuple[str, Message]]
) -> None:
    p0 = sandbox.rt.link("p0")
    assert p0.name == "p0" and p0.index == ip_link(sandbox, "p0")["ifindex"]
    assert [(how, m.type) for how, m in recorder] == [("request", RtmType.GETLINK)]
    assert not recorder[0][1].flags & NlmF.DUMP
    assert sandbox.rt.link(p0.index).name == sandbox.rt.link(p0).name == "p0"
    assert [how for how, _ in recorder] == ["request"] * 3


@pytest.fixture
def race_batch(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """test_links_live's ``race_batch`` for the asyncio socket."""

    def race(netns: str, victim: str) -> None:
        real_batch = AsyncNetlinkSocket.batch

        async def racing_batch(self: AsyncNetlinkSocket, messages: Any, what: Any = ()) -> Any:
            subprocess.run(["ip", "-n", netns, "link", "del", victim], check=True)
            monkeypatch.setattr(AsyncNetlinkSocket, "batch", real_batch)
            return await real_batch(self, messages, what)

        monkeypatch.setattr(AsyncNetlinkSocket, "batch", racing_batch)

    return race


# -- native asyncio tests -------------------------------------------------------------------
@pytest.fixture
def veth_ns(netns_factory: Callable[..., Any]) -> Namespace:
    """A namespace with a veth pair p0/p1, both up (made with the sync API)."""
    ns = netns_factory("mvn")
    with macvlan.connect(ns) as rt:
        rt.create_veth("p0", "p1", up=True)
        rt.set_link("p1", up=True)
    return ns


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _pause_reading(sock: AsyncNetlinkSocket) -> Callable[[], None]:
    """Stop the loop reading answers; returns the function that resumes it."""
    sock.loop.remove_reader(sock.fileno())
    return lambda: sock.loop.add_reader(sock.fileno(), sock._on_readable)


def _socket_of(rt: aio.AsyncConnection) -> AsyncNetlinkSocket:
    """The connection's open asyncio socket."""
    assert rt._sock is not None
    return rt._sock


async def _ticks(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def _cancel_then_resume(
    cancel: list[asyncio.Task[Any]], tasks: list[asyncio.Task[Any]], resume: Callable[[], None]
) -> list[Any]:
    """Cancel ``cancel`` while the answers are held back, then let them in: every task's
    result or exception, in order."""
    for task in cancel:
        task.cancel()
    await _ticks()
    resume()
    return await asyncio.gather(*tasks, return_exceptions=True)


def test_hundred_concurrent_creates_on_one_connection(veth_ns: Namespace) -> None:
    async def main() -> list[Any]:
        async with aio.connect(veth_ns) as rt:
            p0 = await rt.link("p0")
            made = await asyncio.gather(
                *(
                    rt.create_macvlan(f"c{i}", p0, mac=MacAddress(0x02CA00000000 + i), mtu=1400 + i)
                    for i in range(100)
                )
            )
            listed = await rt.links(kind="macvlan")
            assert {x.name: x.index for x in listed} == {x.name: x.index for x in made}
            return made

    made = run(main())
    by_name = {e["ifname"]: e for e in ip_json("-d", "link", "show", netns=veth_ns.name)}
    for i, link in enumerate(made):
        assert link.name == f"c{i}"
        assert link.mac == MacAddress(0x02CA00000000 + i) and link.mtu == 1400 + i
        assert_same_as_ip(link, by_name[f"c{i}"])
    assert len({link.index for link in made}) == 100


def test_cancelled_socket_requests_answers_are_dropped(veth_ns: Namespace) -> None:
    async def main() -> None:
        async with aio.connect(veth_ns) as rt:
            sock = _socket_of(rt)
            names = ["lo", "p0", "p1"] * 10
            resume = _pause_reading(sock)
            tasks = [asyncio.create_task(sock.request(get_link(n), n)) for n in names]
            await _ticks()  # submitted and sent; no answer read yet
            assert sock.in_flight == len(names)
            results = await _cancel_then_resume(tasks[::2], tasks, resume)
            for i, (name, result) in enumerate(zip(names, results, strict=True)):
                if i % 2 == 0:
                    assert isinstance(result, asyncio.CancelledError)
                else:
                    assert not isinstance(result, BaseException), result
                    (reply,) = result
                    assert reply.get(ifla.IFNAME) == name
            assert sock.in_flight == 0  # the late answers were consumed
            again = await asyncio.gather(*(sock.request(get_link(n)) for n in ("p1", "lo")))
            assert [r[0].get(ifla.IFNAME) for r in again] == ["p1", "lo"]

    run(main())


def test_a_request_that_cannot_be_packed_fails_alone(veth_ns: Namespace) -> None:
    async def main() -> None:
        async with aio.connect(veth_ns) as rt:
            sock = _socket_of(rt)
            names = ["lo", "p0", "p1"]
            good = [sock.request(get_link(n)) for n in names]
            bad = sock.request(get_link(2**40))  # no 32-bit index: packing fails
            results = await asyncio.gather(bad, *good, return_exceptions=True)
            assert isinstance(results[0], Exception), results[0]
            assert [r[0].get(ifla.IFNAME) for r in results[1:]] == names  # type: ignore[index]
            assert sock.in_flight == 0

    run(main())


def test_cancelled_operations_leave_the_others_their_answers(veth_ns: Namespace) -> None:
    async def main() -> None:
        async with aio.connect(veth_ns) as rt:
            names = ["lo", "p0", "p1"] * 8
            sock = _socket_of(rt)
            resume = _pause_reading(sock)
            tasks = [asyncio.create_task(rt.link(n)) for n in names]
            await _ticks()
            results = await _cancel_then_resume(tasks[1::3], tasks, resume)
            for i, (name, result) in enumerate(zip(names, results, strict=True)):
                if i % 3 == 1:
                    assert isinstance(result, asyncio.CancelledError)
                else:
                    assert getattr(result, "name", None) == name, result
            assert sock.in_flight == 0
            assert [x.name for x in await asyncio.gather(rt.link("p1"), rt.link("p0"))] == [
                "p1",
                "p0",
            ]

    run(main())


def test_wait_for_timeout_mid_flight(veth_ns: Namespace) -> None:
    async def main() -> None:
        async with aio.connect(veth_ns) as rt:
            sock = _socket_of(rt)
            resume = _pause_reading(sock)
            asyncio.get_running_loop().call_later(0.2, resume)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(rt.link("p0"), 0.05)
            assert sock.in_flight == 0  # the answer came and was consumed before the raise
            assert (await rt.link("p1")).name == "p1"
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(rt.create_macvlan("never", "p0"), 0)
            async with asyncio.timeout(30):
                assert (await rt.create_macvlan("mv0", "p0")).name == "mv0"

    run(main())
    assert ip_names(veth_ns.name, "type", "macvlan") == {"mv0"}


def test_cancel_while_creating_in_another_namespace_rolls_back(
    veth_ns: Namespace, netns_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = netns_factory("mvo")
    real = AsyncNetlinkSocket.submit_nowait
    outer: list[asyncio.Task[Any]] = []

    def cancel_on_temp_create(self: AsyncNetlinkSocket, message: Message, what: str = "") -> Any:
        if message.type == RtmType.NEWLINK and message.get(ifla.NET_NS_FD) is not None:
            outer[0].cancel()  # the temporary link is being made in `other`
        return real(self, message, what)

    monkeypatch.setattr(AsyncNetlinkSocket, "submit_nowait", cancel_on_temp_create)

    async def main() -> None:
        async with aio.connect(veth_ns) as rt:
            task = asyncio.create_task(rt.create_macvlan("far0", "p0", netns=other))
            outer.append(task)
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await rt.link("p0")).name == "p0"  # the connection still works

    run(main())
    assert ip_names(other.name) == {"lo"}, "the temporary link was not removed"
    assert ip_names(veth_ns.name) == {"lo", "p0", "p1"}


def test_cancel_during_create_macvlans_rolls_back(
    veth_ns: Namespace, netns_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = netns_factory("mvo")
    real = AsyncNetlinkSocket.batch
    outer: list[asyncio.Task[Any]] = []

    async def cancel_on_batch(self: AsyncNetlinkSocket, messages: Any, what: Any = ()) -> Any:
        monkeypatch.setattr(AsyncNetlinkSocket, "batch", real)  # once: not in the rollback
        outer[0].cancel()  # while the local creations are in flight
        return await real(self, messages, what)

    monkeypatch.setattr(AsyncNetlinkSocket, "batch", cancel_on_batch)
    specs = [*_specs(20), MacvlanSpec("far0", "p0", netns=other)]

    async def main() -> None:
        async with aio.connect(veth_ns) as rt:
            task = asyncio.create_task(rt.create_macvlans(specs))
            outer.append(task)
            with pytest.raises(asyncio.CancelledError):
                await task

    run(main())
    assert ip_names(veth_ns.name) == {"lo", "p0", "p1"}
    assert ip_names(other.name) == {"lo"}


def test_async_for_watch(veth_ns: Namespace) -> None:
    async def main() -> list[Any]:
        async with aio.connect(veth_ns) as rt, rt.watch() as mon:
            made = await rt.create_macvlan("mv0", "p0", up=True)
            await rt.add_address("mv0", "10.72.0.2/24")
            seen: list[Any] = []
            async with asyncio.timeout(10):
                async for event in mon:
                    seen.append(event)
                    if isinstance(event, AddressEvent) and str(event.address.ip) == "10.72.0.2":
                        break
            news = [e for e in seen if isinstance(e, LinkEvent) and e.link.name == "mv0"]
            assert news and news[0].action == EventAction.NEW
            assert news[0].link.index == made.index
            return seen

    seen = run(main())
    (addr,) = [e for e in seen if isinstance(e, AddressEvent)]
    assert addr.action == EventAction.NEW and str(addr.address.interface) == "10.72.0.2/24"


def test_closing_a_monitor_ends_its_async_for(veth_ns: Namespace) -> None:
    async def main() -> list[Any]:
        async with aio.connect(veth_ns) as rt:
            mon = await rt.watch().open()
            seen: list[Any] = []

            async def consume() -> None:
                async for event in mon:
                    seen.append(event)

            task = asyncio.create_task(consume())
            await rt.create_macvlan("mv0", "p0")
            while not seen:
                await asyncio.sleep(0.01)
            mon.close()  # the consumer is waiting for more: it ends, without error
            await asyncio.wait_for(task, 10)
            with pytest.raises(ValueError, match="closed"):
                await mon.poll(0)
            return seen

    seen = run(main())
    assert any(isinstance(e, LinkEvent) and e.link.name == "mv0" for e in seen)


def test_opening_in_a_namespace_does_not_block_the_loop(
    veth_ns: Namespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket is made in a helper thread that can only finish once the loop has
    run another callback: a blocked loop would deadlock here (and fail after 10 s)."""
    gate = threading.Event()
    real_run = Namespace.run

    def gated(self: Namespace, fn: Any, /, *args: Any, **kw: Any) -> Any:
        if not gate.wait(10):
            raise AssertionError("the event loop was blocked while the socket was made")
        return real_run(self, fn, *args, **kw)

    monkeypatch.setattr(Namespace, "run", gated)

    async def main() -> None:
        asyncio.get_running_loop().call_soon(gate.set)
        async with aio.connect(veth_ns) as rt:
            assert (await rt.link("p0")).name == "p0"
            gate.clear()
            asyncio.get_running_loop().call_soon(gate.set)
            async with rt.watch() as mon:  # a monitor inside the namespace: same way
                await rt.set_link("p1", mtu=1400)
                assert any(
                    isinstance(e, LinkEvent) and e.link.name == "p1" for e in await mon.poll(5)
                )

    run(main())


def test_inside_a_running_service(veth_ns: Namespace) -> None:
    """A TCP service on the loop (loopback, port chosen by the kernel) answers each
    client with a lookup on one shared connection, all clients at once."""

    async def main() -> dict[str, set[str]]:
        async with aio.connect(veth_ns) as rt:

            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                name = (await reader.readline()).decode().strip()
                try:
                    link = await rt.link(name)
                    answer = f"{link.name} {link.index}"
                except LinkNotFound:
                    answer = f"{name} missing"
                writer.write(answer.encode() + b"\n")
                await writer.drain()
                writer.close()

            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]

            async def client(name: str) -> str:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(name.encode() + b"\n")
                line = (await reader.readline()).decode().strip()
                writer.close()
                return line

            async with server:
                names = ["lo", "p0", "p1", "nosuch"] * 10
                answers = await asyncio.gather(*(client(n) for n in names))
        assert all(a.split()[0] == n for a, n in zip(answers, names, strict=True))
        out: dict[str, set[str]] = {}
        for a, n in zip(answers, names, strict=True):
            out.setdefault(n, set()).add(a.split()[1])
        return out

    answers = run(main())
    assert answers["nosuch"] == {"missing"}
    for name in ("lo", "p0", "p1"):
        assert answers[name] == {str(ip_link_index(veth_ns, name))}


def ip_link_index(ns: Namespace, name: str) -> int:
    (entry,) = ip_json("link", "show", "dev", name, netns=ns.name)
    return int(entry["ifindex"])


def test_no_helper_thread_per_request(veth_ns: Namespace, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        real_start(self)

    async def main() -> None:
        async with aio.connect(veth_ns) as rt:
            monkeypatch.setattr(threading.Thread, "start", start)
            specs = _specs(50)
            await asyncio.gather(*(rt.link(n) for n in ["p0", "p1", "lo"] * 50))
            await rt.create_macvlans(specs)
            await asyncio.gather(*(rt.set_link(s.name, up=True) for s in specs))
            assert await rt.delete_links([s.name for s in specs]) == 50
            monkeypatch.setattr(threading.Thread, "start", real_start)

    run(main())
    assert started == []


def test_no_loop_is_created_set_or_closed(veth_ns: Namespace) -> None:
    def forbidden(*args: object, **kwargs: object) -> Any:
        raise AssertionError("the library touched the event loop setup")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.MonkeyPatch.context() as mp:
            for name in ("new_event_loop", "set_event_loop", "get_event_loop", "run"):
                mp.setattr(asyncio, name, forbidden)
            mp.setattr(type(loop), "close", forbidden)
            rt = aio.connect(veth_ns)
            link = await rt.create_macvlan("mv0", "p0", up=True)
            async with rt.watch() as mon:
                await rt.delete_link(link)
                await mon.poll(5)
            rt.close()
        assert asyncio.get_running_loop() is loop and not loop.is_closed()

    run(main())


def test_uvloop(veth_ns: Namespace, netns_factory: Callable[..., Any]) -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed")
    other = netns_factory("mvu")

    async def main() -> None:
        assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
        async with aio.connect(veth_ns.name) as rt, rt.watch() as mon:
            p0 = await rt.link("p0")
            made = await asyncio.gather(*(rt.create_macvlan(f"u{i}", p0) for i in range(50)))
            assert [x.name for x in made] == [f"u{i}" for i in range(50)]
            far = await rt.create_macvlan("far0", p0, netns=other, up=True)
            assert far.name == "far0" and far.up
            assert any(isinstance(e, LinkEvent) for e in await mon.poll(5))
            assert await rt.delete_links(made) == 50
            resume = _pause_reading(rt._sock)  # type: ignore[arg-type]
            asyncio.get_running_loop().call_later(0.1, resume)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(rt.link("p1"), 0.02)
            assert (await rt.link("p1")).name == "p1"

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
    assert ip_names(other.name) == {"lo", "far0"}


def test_a_connection_belongs_to_its_loop(veth_ns: Namespace) -> None:
    with asyncio.Runner() as first, asyncio.Runner() as second:
        rt = first.run(aio.connect(veth_ns).open())
        with pytest.raises(RuntimeError, match="another event loop"):
            second.run(rt.link("p0"))
        assert first.run(rt.link("p0")).name == "p0"
        first.run(rt.aclose())


def test_closed_connection_and_requests_in_flight(veth_ns: Namespace) -> None:
    async def main() -> None:
        rt = await aio.connect(veth_ns)
        sock = _socket_of(rt)
        _pause_reading(sock)
        waiting = asyncio.create_task(rt.link("p0"))
        await _ticks()
        rt.close()
        with pytest.raises(NetlinkError) as info:
            await waiting
        assert info.value.errno == errno.EBADF
        with pytest.raises(OSError):
            await rt.link("lo")
        assert rt.closed

    run(main())


def test_connect_refuses_a_bad_namespace_at_once() -> None:
    with pytest.raises(macvlan.NamespaceNotFound):
        aio.connect("mvt-no-such-namespace")
    with pytest.raises(TypeError):
        aio.connect(42)  # type: ignore[arg-type]


def test_many_connections_in_many_namespaces_at_once(netns_factory: Callable[..., Any]) -> None:
    namespaces = [netns_factory("mvm") for _ in range(8)]

    async def one(i: int, ns: Namespace) -> set[str]:
        async with aio.connect(ns) as rt:
            await rt.create_veth("p0", "p1", up=True)
            specs = [
                MacvlanSpec(f"t{i}m{j}", "p0", mac=MacAddress(0x020000000000 + i * 256 + j))
                for j in range(20)
            ]
            made = await rt.create_macvlans(specs)
            checks = await asyncio.gather(*(rt.link(x.name) for x in made))
            assert [x.index for x in checks] == [x.index for x in made]
            names = {x.name for x in await rt.links(kind="macvlan")}
            assert await rt.delete_links(made[10:]) == 10
            return names

    async def main() -> list[set[str]]:
        return list(await asyncio.gather(*(one(i, ns) for i, ns in enumerate(namespaces))))

    seen = run(main())
    for i, ns in enumerate(namespaces):
        assert seen[i] == {f"t{i}m{j}" for j in range(20)}
        assert ip_names(str(ns.name), "type", "macvlan") == {f"t{i}m{j}" for j in range(10)}


def test_routes_and_addresses_concurrently(veth_ns: Namespace) -> None:
    async def main() -> None:
        async with aio.connect(veth_ns) as rt:
            await rt.create_macvlan("mv0", "p0", up=True)
            await asyncio.gather(*(rt.add_address("mv0", f"10.73.{i}.2/24") for i in range(20)))
            await rt.add_route("default", gateway="10.73.0.1")
            addrs, routes = await asyncio.gather(rt.addresses("mv0"), rt.routes())
            assert {str(a.interface) for a in addrs if a.ip.version == 4} == {
                f"10.73.{i}.2/24" for i in range(20)
            }
            assert any(r.is_default and str(r.gateway) == "10.73.0.1" for r in routes)
            await rt.delete_route("default", gateway="10.73.0.1")
            assert not any(r.is_default for r in await rt.routes())

    run(main())
    (entry,) = ip_json("addr", "show", "dev", "mv0", netns=veth_ns.name)
    assert len([i for i in entry["addr_info"] if i["family"] == "inet"]) == 20


# -- networks: attach/detach off the loop -----------------------------------------------------
def test_attach_and_detach_awaitable(
    veth_ns: Namespace, netns_factory: Callable[..., Any], tmp_path: Path
) -> None:
    network = pytest.importorskip("macvlan.network", reason="macvlan.network is not there yet")
    containers = [netns_factory("mvc") for _ in range(3)]
    net = network.Network.create(
        "lan", "p0", subnet="10.74.0.0/24", gateway="10.74.0.1",
        store=tmp_path / "n.db", netns=veth_ns,
    )  # fmt: skip
    try:

        async def main() -> list[Any]:
            eps = await asyncio.gather(*(network_aio.attach(net, ns) for ns in containers))
            assert len({str(ep.addresses[0]) for ep in eps}) == 3
            assert len({ep.mac for ep in eps}) == 3
            for ep, ns in zip(eps, containers, strict=True):
                (entry,) = ip_json("-d", "link", "show", "dev", "eth0", netns=ns.name)
                assert entry["address"] == str(ep.mac)
            await network_aio.detach(net, eps[0])
            # a cancelled attach is let finish, then undone
            task = asyncio.create_task(network_aio.attach(net, containers[0]))
            await asyncio.sleep(0.001)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return eps

        eps = run(main())
        assert ip_names(containers[0].name, "type", "macvlan") == set()
        assert {ep.id for ep in net.endpoints()} == {eps[1].id, eps[2].id}
        for ep in eps[1:]:
            net.detach(ep)
    finally:
        net.remove(force=True)
        net.close()


# -- without CAP_NET_ADMIN, through the async API ----------------------------------------------
CHILD = """
import asyncio, json, sys
import macvlan
from macvlan import aio, Namespace

async def main():
    out = {}
    async with aio.connect(Namespace.from_path(sys.argv[1])) as rt:
        out["links"] = sorted(x.name for x in await rt.links())
        try:
            await rt.create_macvlan("nocap0", "p0")
        except Exception as exc:
            out["error"] = [type(exc).__name__, exc.errno, str(exc)]
    print(json.dumps(out))

asyncio.run(main())
"""


DROP_NET_ADMIN = ["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin", "--"]


def test_without_cap_net_admin(sandbox: Sandbox) -> None:
    import json
    import shutil

    if not shutil.which("setpriv"):
        pytest.skip("setpriv is not installed")
    done = run_in_repo([*DROP_NET_ADMIN, sys.executable, "-c", CHILD, sandbox.ns.path])
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["links"] == ["lo", "p0", "p1"]
    name, code, text = out["error"]
    assert (name, code) == ("NetlinkPermissionError", errno.EPERM)
    assert "CAP_NET_ADMIN" in text
    assert ip_names(sandbox.name) == {"lo", "p0", "p1"}
