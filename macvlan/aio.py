"""asyncio front: the operations of :class:`macvlan.Connection` as coroutines.

>>> async with macvlan.aio.connect() as rt:            # doctest: +SKIP
...     link = await rt.create_macvlan("mv0", parent="eth0")
...     async for event in rt.watch():
...         print(event)

One netlink socket per connection, read through the running loop
(``loop.add_reader``, no helper thread per request).  Any number of requests may
be in flight on it at once; answers are matched by sequence number, and requests
made in the same loop iteration leave in one ``send``.  The messages and the
multi-step logic (rollbacks included) are those of the synchronous API: both
drive the generators of :mod:`macvlan._operations`.

Cancellation (and so ``asyncio.wait_for`` / ``asyncio.timeout``) takes effect at
the next step of an operation: a kernel request already sent is answered first
(the kernel carries it out anyway), then the operation gets the
:class:`asyncio.CancelledError` at its next step and rolls back what it did, just
as it would after a kernel error.  If the step in progress was the last one, its
effect stays and the call still raises ``CancelledError``.

A connection belongs to the event loop it was opened in.  Nothing here creates,
sets or closes an event loop; it works under ``asyncio.run``, inside an already
running loop, and with uvloop.

A network's attach, detach and lease renewal without blocking the loop are in
:mod:`macvlan.network.aio` (the network layer sits above this front).
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable
from typing import Any, TypeVar

from macvlan import _operations as operations
from macvlan._aio_monitor import AsyncMonitor, _in_thread, _netlink_socket
from macvlan._fronts import Operations
from macvlan._netlink.asocket import AsyncNetlinkSocket
from macvlan._netlink.socket import NetlinkSocket
from macvlan._operations import (
    Batch,
    Dump,
    IfIndex,
    InNamespace,
    NetnsRef,
    ParsedBatch,
    ParsedDump,
    ParsedRequest,
    Request,
)
from macvlan.errors import NetlinkError
from macvlan.namespace import Namespace

__all__ = [
    "AsyncConnection",
    "AsyncMonitor",
    "connect",
]

T = TypeVar("T")


def _coroutine(op: Callable[..., operations.Op[Any]]) -> Callable[..., Any]:
    """The method of :class:`AsyncConnection` that carries out ``op`` (see
    :mod:`macvlan._fronts`)."""

    async def method(self: AsyncConnection, /, *args: Any, **kwargs: Any) -> Any:
        return await self._run(op(*args, **kwargs))

    return method


def connect(netns: NetnsRef | None = None) -> AsyncConnection:
    """An asyncio rtnetlink connection in the current namespace or in ``netns``.

    Use it as ``async with connect() as rt:`` or ``rt = await connect()``; it also
    opens itself on first use.  A bad or missing ``netns`` is refused here.
    """
    return AsyncConnection(netns)


class AsyncConnection(Operations[AsyncMonitor], method=_coroutine):
    """One rtnetlink socket in one network namespace, driven by the running loop.

    Same operations, arguments and errors as :class:`macvlan.Connection`, as
    coroutines.  Many may run at once on one connection.
    """

    def __init__(self, netns: NetnsRef | None = None) -> None:
        self.netns: Namespace | None = None
        self._owns_netns = False
        if netns is not None:
            self.netns, self._owns_netns = operations.open_namespace(netns)
        self._sock: AsyncNetlinkSocket | None = None
        self._opening: asyncio.Lock | None = None
        self._closed = False

    # -- lifetime --------------------------------------------------------------------
    async def open(self) -> AsyncConnection:
        """Open the socket (inside ``netns`` through a short helper thread)."""
        if self._sock is not None:
            return self
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._sock is None:
                if self._closed:
                    raise NetlinkError(errno.EBADF, "connection closed")
                raw = await _in_thread(_netlink_socket(self.netns), NetlinkSocket.close)
                if self._closed:
                    raw.close()
                    raise NetlinkError(errno.EBADF, "connection closed")
                self._sock = AsyncNetlinkSocket(raw)
        return self

    def close(self) -> None:
        """Close the socket; requests still waiting fail with ``EBADF``."""
        if self._closed:
            return
        self._closed = True
        if self._sock is not None:
            self._sock.close()
        if self._owns_netns and self.netns is not None:
            self.netns.close()

    async def aclose(self) -> None:
        """:meth:`close`, as a coroutine."""
        self.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __await__(self) -> Any:
        return self.open().__await__()

    async def __aenter__(self) -> AsyncConnection:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "current namespace" if self.netns is None else repr(self.netns)
        state = " (closed)" if self._closed else "" if self._sock else " (not open yet)"
        return f"<macvlan.aio.AsyncConnection in {where}{state}>"

    # -- the driver ----------------------------------------------------------------------
    async def _run(
        self, op: operations.Op[T], conns: dict[Namespace, AsyncConnection] | None = None
    ) -> T:
        """Carry out an operation's effects on this socket; return what it returns.

        Connections opened for InNamespace effects are shared by the sub-operations
        and closed when the top-level operation ends.
        """
        top = conns is None
        if conns is None:
            conns = {}
        try:
            sock = self._sock
            if sock is None or self._closed:
                await self.open()
                sock = self._sock
                assert sock is not None
            if sock.loop is not asyncio.get_running_loop():
                op.close()
                raise RuntimeError(f"{self!r} belongs to another event loop")
            if top:
                await sock.admit()  # a burst of operations starts over several turns
            value: Any = None
            error: BaseException | None = None
            deferred: BaseException | None = None  # a cancellation held until the next step
            while True:
                try:
                    effect = op.send(value) if error is None else op.throw(error)
                except StopIteration as done:
                    if deferred is not None:
                        raise deferred from None
                    result: T = done.value
                    return result
                value = error = None
                if deferred is not None:  # the step in progress is done: deliver it now
                    error, deferred = deferred, None
                    continue
                try:
                    if type(effect) is Request or type(effect) is ParsedRequest:
                        pending = sock.submit_nowait(effect.message, effect.what)
                        if pending is None:
                            pending = await sock.submit(effect.message, effect.what)
                        try:
                            value = await pending.future
                        except asyncio.CancelledError as exc:
                            deferred = exc  # the kernel has it: wait for its answer
                            value = await sock.outcome(pending)
                        if type(effect) is ParsedRequest:
                            value = effect.build(value)
                    elif type(effect) is IfIndex:
                        value = sock.index_of(effect.name)  # one ioctl: no waiting
                    else:
                        step = asyncio.ensure_future(self._perform(effect, conns))
                        try:
                            value = await asyncio.shield(step)
                        except asyncio.CancelledError as exc:
                            if step.cancelled():
                                raise
                            deferred = exc
                            value = await step
                except BaseException as exc:  # the operation decides: roll back, explain, raise
                    error = exc
                    if isinstance(exc, asyncio.CancelledError):
                        deferred = None  # cancelled again while waiting: give up waiting
        finally:
            if top:
                for conn in conns.values():
                    conn.close()

    async def _perform(
        self, effect: operations.Effect, conns: dict[Namespace, AsyncConnection]
    ) -> Any:
        sock = self._sock
        assert sock is not None
        if type(effect) is Batch:
            return await sock.batch(effect.messages, effect.whats)
        if type(effect) is ParsedBatch:
            answers = await sock.batch(effect.messages, effect.whats)
            return [(effect.build(replies), error) for replies, error in answers]
        if type(effect) is Dump:
            return await sock.dump(effect.message, effect.what)
        if type(effect) is ParsedDump:
            return await sock.dump_parsed(effect.message, effect.parse, effect.what)
        if type(effect) is InNamespace:
            there = conns.get(effect.ns)
            if there is None:
                there = conns[effect.ns] = AsyncConnection(effect.ns)
            return await there._run(effect.op, conns)
        if type(effect) is Request:
            return await sock.request(effect.message, effect.what)
        if type(effect) is ParsedRequest:
            return effect.build(await sock.request(effect.message, effect.what))
        if type(effect) is IfIndex:
            return sock.index_of(effect.name)
        raise TypeError(f"an operation yielded {effect!r}, not an effect")

    # -- events --------------------------------------------------------------------------
    def _monitor(self, groups: list[int]) -> AsyncMonitor:
        return AsyncMonitor(groups, self.netns)
