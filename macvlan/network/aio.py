"""A network's attach, detach and lease renewal from asyncio, without blocking the loop.

>>> ep = await macvlan.network.aio.attach(net, "blue")      # doctest: +SKIP

Each runs the synchronous step in a worker thread (``asyncio.to_thread``): an
attach writes to the network's SQLite store (file locks, fsync) and runs several
kernel steps that roll back as one unit, which the synchronous code already gets
right.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import macvlan.network
    from macvlan.namespace import Namespace
    from macvlan.network import Endpoint, Network

__all__ = ["attach", "detach", "keep_leases", "renew"]


async def attach(network: Network, netns: Namespace | str, /, **kw: Any) -> Endpoint:
    """``network.attach(netns, **kw)`` without blocking the loop.

    It runs in a worker thread (``asyncio.to_thread``) as it is: an attach writes
    to the network's SQLite store (file locks, fsync) and runs several kernel steps
    that roll back as one unit, which the synchronous code already gets right.  If
    the awaiting task is cancelled, the attach is let finish and then detached
    again, so a cancelled attach leaves nothing behind; further cancellations
    meanwhile wait for that cleanup too before the task ends cancelled.
    """
    work = asyncio.ensure_future(asyncio.to_thread(network.attach, netns, **kw))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        undo = asyncio.ensure_future(_undo_attach(network, work))
        while not undo.done():  # a second (third, ...) cancel must not leave it half done
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(undo)
        raise


async def _undo_attach(network: Network, work: asyncio.Future[Endpoint]) -> None:
    """Wait for a cancelled attach's thread; detach what it made."""
    try:
        endpoint = await work
    except Exception:  # a failed attach has rolled itself back
        return
    await asyncio.to_thread(network.detach, endpoint)


async def detach(network: Network, endpoint: Endpoint | int, /, **kw: Any) -> None:
    """``network.detach(endpoint, **kw)`` in a worker thread (see :func:`attach`).

    A cancelled detach still completes in its thread (it cannot be undone).
    """
    await asyncio.shield(asyncio.to_thread(network.detach, endpoint, **kw))


async def renew(network: Network, /, **kw: Any) -> list[macvlan.network.LeaseChange]:
    """``network.renew(**kw)`` (DHCP leases) in a worker thread; a cancelled renewal
    finishes in its thread and its changes are kept in the store."""
    return await asyncio.shield(asyncio.to_thread(network.renew, **kw))


async def keep_leases(
    network: Network, /, *, on_change: Callable[[macvlan.network.LeaseChange], object] | None = None
) -> None:
    """Keep ``network``'s DHCP leases alive until the awaiting task is cancelled:
    a :class:`macvlan.LeaseKeeper` in its own thread, stopped on cancellation.
    ``on_change`` is called on the loop, once per renewal."""
    from macvlan.network import LeaseKeeper

    loop = asyncio.get_running_loop()

    def report(change: macvlan.network.LeaseChange) -> None:
        if on_change is not None:
            loop.call_soon_threadsafe(on_change, change)

    keeper = LeaseKeeper(network, on_change=report)
    done = asyncio.ensure_future(asyncio.to_thread(keeper.run))
    try:
        await asyncio.shield(done)
    finally:
        keeper.stop(timeout=0)
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await done
