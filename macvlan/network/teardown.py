"""Deleting an endpoint's link without waiting for the kernel's RCU grace period.

The kernel unlists a deleted link, frees its name, MAC and addresses and announces
``RTM_DELLINK`` within about a millisecond, but the ``RTM_DELLINK`` request itself
returns only after ``rcu_barrier()`` (some 16 ms here).  :func:`delete_link` sends
the request from a worker thread and returns as soon as the announcement arrives;
the worker finishes the wait on its own (it is not a daemon: the interpreter waits
for it at exit).
"""

from __future__ import annotations

import select
import threading
from collections.abc import Sequence

from macvlan.connection import Connection
from macvlan.errors import LinkNotFound, MonitorOverflow
from macvlan.link import MACVLAN_KINDS, Link
from macvlan.mac import MacAddress
from macvlan.monitor import EventAction, LinkEvent, Monitor
from macvlan.namespace import Namespace

__all__ = ["delete_link", "find_link"]

_POLL = 0.002  # how often to look at the worker while waiting for the event


def find_link(conn: Connection, index: int | None, mac: MacAddress) -> Link | None:
    """The link with ``mac`` in ``conn``'s namespace (tried at ``index`` first)."""
    if index is not None:
        try:
            link = conn.link(index)
        except LinkNotFound:
            link = None
        if link is not None and link.mac == mac:
            return link
    for link in conn.links():
        if link.mac == mac and link.kind in MACVLAN_KINDS:
            return link
    return None


def delete_link(
    netns: Namespace, index: int | None, mac: MacAddress, *, wait: bool = False
) -> bool:
    """Delete the macvlan with ``mac`` in ``netns``; False if there was none.

    Returns once the kernel has announced the deletion (``wait=True``: once the
    request itself has returned).
    """
    conn = Connection(netns)
    handed_over = False
    try:
        found = find_link(conn, index, mac)
        if found is None:
            return False
        if wait:
            try:
                conn.delete_link(found.index)
            except LinkNotFound:
                return False
            return True
        monitor = conn.watch(addresses=False)  # listening before the request goes out
        handed_over = True
        return _delete_async(conn, monitor, found.index)
    finally:
        if not handed_over:
            conn.close()


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
                ready, _, _ = select.select([monitor], [], [], _POLL)
                if ready and _announced(monitor.poll(0), index):
                    return True
        except MonitorOverflow:
            done.wait()
    if errors:
        if isinstance(errors[0], LinkNotFound):
            return False
        raise errors[0]
    return True


def _announced(events: Sequence[object], index: int) -> bool:
    return any(
        isinstance(ev, LinkEvent) and ev.action is EventAction.DELETED and ev.link.index == index
        for ev in events
    )
