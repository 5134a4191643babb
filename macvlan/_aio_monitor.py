"""The asyncio event monitor (:class:`AsyncMonitor`, exported by :mod:`macvlan.aio`)
and how the asyncio front opens sockets: in a short-lived thread, in a namespace."""

from __future__ import annotations

import asyncio
import collections
import os
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from macvlan._netlink.socket import NetlinkSocket
from macvlan.errors import MonitorOverflow
from macvlan.monitor import Event, events_of
from macvlan.namespace import Namespace

T = TypeVar("T")


async def _in_thread(fn: Callable[[], T], discard: Callable[[T], None] | None = None) -> T:
    """Run ``fn`` in a new short-lived thread without blocking the loop.

    A thread of its own rather than the loop's default executor: no worker is
    left behind, and the caller's executor is not touched.  If the awaiting task
    is cancelled, the result that comes later is handed to ``discard``.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(result: T | None, error: BaseException | None) -> None:
        if future.cancelled():
            if error is None and discard is not None:
                discard(result)  # type: ignore[arg-type]
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = fn()
        except BaseException as exc:
            loop.call_soon_threadsafe(deliver, None, exc)
        else:
            loop.call_soon_threadsafe(deliver, result, None)

    threading.Thread(target=target, name="macvlan-aio-open", daemon=True).start()
    return await future


def _netlink_socket(netns: Namespace | None, groups: Sequence[int] = ()) -> Callable[[], Any]:
    if netns is None:
        return lambda: NetlinkSocket(groups)
    return lambda: netns.run(NetlinkSocket, groups)


class AsyncMonitor:
    """``async for event in monitor``: link and address events as they come.

    Raises :class:`macvlan.MonitorOverflow` when the kernel dropped events
    (``ENOBUFS``): dump again to resynchronise, then keep iterating.  Events are
    read only while someone waits for them, so the kernel's buffer is the bound.
    One task at a time reads a monitor; closing it ends that task's ``async for``.
    """

    def __init__(self, groups: Sequence[int], netns: Namespace | None = None) -> None:
        self._groups = tuple(groups)
        self._netns = netns
        self._sock: NetlinkSocket | None = None
        self._events: collections.deque[Event] = collections.deque()
        self._overflowed = False
        self._closed = False
        self._ready: asyncio.Future[None] | None = None  # set while a poll waits
        self._reader: tuple[asyncio.AbstractEventLoop, int] | None = None
        if netns is None:
            self._adopt(NetlinkSocket(self._groups))

    def _adopt(self, sock: NetlinkSocket) -> None:
        os.set_blocking(sock.fileno(), False)
        self._sock = sock

    async def open(self) -> AsyncMonitor:
        """Subscribe (a no-op when already listening)."""
        if self._closed:
            raise ValueError("this monitor is closed")
        if self._sock is None:
            sock = await _in_thread(_netlink_socket(self._netns, self._groups), NetlinkSocket.close)
            if self._closed or self._sock is not None:
                sock.close()
            else:
                self._adopt(sock)
        return self

    def fileno(self) -> int:
        """The socket's descriptor; ``ValueError`` until the monitor listens."""
        if self._sock is None:
            raise ValueError("the monitor is not listening yet: use `async with` or open()")
        return self._sock.fileno()

    def close(self) -> None:
        """Stop listening; a task waiting in :meth:`poll` gets what it has (``[]``)."""
        if self._closed:
            return
        self._closed = True
        self._stop_reading()
        self._wake()
        if self._sock is not None:
            self._sock.close()

    async def __aenter__(self) -> AsyncMonitor:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while not self._events:
            if self._closed:
                raise StopAsyncIteration
            self._events.extend(await self.poll(None))
        return self._events.popleft()

    def _read(self) -> list[Event]:
        """Every event waiting in the socket now (an overflow is reported next time)."""
        sock = self._sock
        assert sock is not None
        out: list[Event] = []
        while True:
            try:
                messages = sock.recv_messages()
            except BlockingIOError:
                return out
            except MonitorOverflow:
                if not out:
                    raise
                self._overflowed = True
                return out
            out.extend(events_of(messages))

    def _wake(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def _stop_reading(self) -> None:
        if self._reader is not None:
            loop, fd = self._reader
            self._reader = None
            loop.remove_reader(fd)

    async def poll(self, timeout: float | None = None) -> list[Event]:
        """The events that arrive within ``timeout`` seconds (None: wait for some)."""
        await self.open()
        if self._events:
            out = list(self._events)
            self._events.clear()
            return out
        if self._overflowed:
            self._overflowed = False
            raise MonitorOverflow()
        events = self._read()
        if events or timeout == 0:
            return events
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        self._reader = (loop, self.fileno())
        loop.add_reader(self.fileno(), self._wake)
        try:
            while not events and not self._closed:
                left = None if deadline is None else deadline - loop.time()
                if left is not None and left <= 0:
                    break
                self._ready = loop.create_future()
                await asyncio.wait((self._ready,), timeout=left)
                if not self._closed:
                    events = self._read()
        finally:
            self._stop_reading()
            if self._ready is not None:
                self._ready.cancel()
                self._ready = None
        return events
