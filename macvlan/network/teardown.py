"""Finding an endpoint's link by its proof, and deleting it without waiting for the
kernel's RCU grace period.

The kernel unlists a deleted link, frees its name, MAC and addresses and announces
``RTM_DELLINK`` within about a millisecond, but the ``RTM_DELLINK`` request itself
returns only after ``rcu_barrier()`` (some 16 ms here).  :func:`delete_link` sends
the request from a worker thread and returns as soon as the announcement arrives;
the worker finishes the wait on its own (it is not a daemon: the interpreter waits
for it at exit).  The waits use ``poll``, never ``select``, so a process with
thousands of descriptors open is no different.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from macvlan._typing import TYPE_CHECKING
from macvlan.connection import Connection
from macvlan.errors import LinkNotFound, MonitorOverflow
from macvlan.link import MACVLAN_KINDS, Link
from macvlan.namespace import Namespace
from macvlan.network.context import Context
from macvlan.network.store import EndpointRow, EndpointState

if TYPE_CHECKING:
    from macvlan.monitor import Monitor

__all__ = ["delete_link", "find_own"]

_POLL = 0.002  # how often to look at the worker while waiting for the event


def find_own(conn: Connection, ctx: Context, row: EndpointRow) -> Link | None:
    """``row``'s link in ``conn``'s namespace, only if it carries the proof.

    A committed record knows its ifindex: the link there is the one, or none is.
    A record whose attach never committed is looked for among the links (its
    proof is then alias, or group and MAC without an alias).
    """
    if row.ifindex is not None:
        try:
            link: Link | None = conn.link(row.ifindex)
        except LinkNotFound:
            link = None
        if link is not None and ctx.owns(link, row):
            return link
        if row.state is EndpointState.ACTIVE:
            return None
    for link in conn.links():
        if link.kind in MACVLAN_KINDS and ctx.owns(link, row):
            return link
    return None


def _open() -> tuple[Connection, Monitor]:
    """In the target namespace: a connection and a link-event monitor."""
    conn = Connection()
    try:
        return conn, conn.watch(links=True, addresses=False)
    except BaseException:
        conn.close()
        raise


def delete_link(ns: Namespace, ctx: Context, row: EndpointRow, *, wait: bool = False) -> bool:
    """Delete ``row``'s link in ``ns`` if it carries the proof; False if there was none.

    Returns once the kernel has announced the deletion (``wait=True``: once the
    request itself has returned).
    """
    conn, monitor = ns.run(_open)
    handed_over = False
    try:
        link = find_own(conn, ctx, row)
        if link is None:
            return False
        if wait:
            try:
                conn.delete_link(link.index)
            except LinkNotFound:
                return False
            return True
        handed_over = True
        return _delete_async(conn, monitor, link.index)
    finally:
        if not handed_over:
            conn.close()
            monitor.close()


def _delete_async(conn: Connection, monitor: Monitor, index: int) -> bool:
    """Delete ``index`` from a worker thread (which closes ``conn``); wait for the event."""
    errors: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            conn.delete_link(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()
            done.set()

    with monitor:
        worker = threading.Thread(target=work, name=f"macvlan-delete-{index}")
        worker.start()
        try:
            while not done.is_set():
                if _announced(monitor.poll(_POLL), index):
                    return True
        except MonitorOverflow:
            done.wait()
    if errors:
        if isinstance(errors[0], LinkNotFound):
            return False
        raise errors[0]
    return True


def _announced(events: Sequence[object], index: int) -> bool:
    from macvlan.monitor import EventAction, LinkEvent  # loaded by conn.watch() already

    return any(
        isinstance(ev, LinkEvent) and ev.action is EventAction.DELETED and ev.link.index == index
        for ev in events
    )
