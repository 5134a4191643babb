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

from macvlan._netlink.constants import RtmType
from macvlan._netlink.socket import NetlinkSocket
from macvlan.connection import Connection
from macvlan.errors import LinkNotFound, MonitorOverflow
from macvlan.link import MACVLAN_KINDS, Link, del_link, dump_links, get_link
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


def _sockets() -> tuple[NetlinkSocket, NetlinkSocket]:
    """In the target namespace: a request socket and a link-event socket."""
    requests = NetlinkSocket()
    try:
        return requests, NetlinkSocket(Monitor.groups(addresses=False))
    except BaseException:
        requests.close()
        raise


def _lookup(sock: NetlinkSocket, index: int | None, mac: MacAddress) -> int | None:
    """The index of the macvlan with ``mac`` (tried at ``index`` first), or None."""
    if index is not None:
        try:
            replies = sock.request(get_link(index), f"link {index}")
        except LinkNotFound:
            replies = []
        for reply in replies:
            if reply.type == RtmType.NEWLINK and Link.from_message(reply).mac == mac:
                return index
    for reply in sock.dump(dump_links(), "list links"):
        if reply.type == RtmType.NEWLINK:
            link = Link.from_message(reply)
            if link.mac == mac and link.kind in MACVLAN_KINDS:
                return link.index
    return None


def delete_link(
    netns: Namespace, index: int | None, mac: MacAddress, *, wait: bool = False
) -> bool:
    """Delete the macvlan with ``mac`` in ``netns``; False if there was none.

    Returns once the kernel has announced the deletion (``wait=True``: once the
    request itself has returned).
    """
    sock, events = netns.run(_sockets)
    handed_over = False
    try:
        found = _lookup(sock, index, mac)
        if found is None:
            return False
        if wait:
            try:
                sock.request(del_link(found), f"delete link {found}")
            except LinkNotFound:
                return False
            return True
        handed_over = True
        return _delete_async(sock, Monitor(events), found)
    finally:
        if not handed_over:
            sock.close()
            events.close()


def _delete_async(sock: NetlinkSocket, monitor: Monitor, index: int) -> bool:
    """Delete ``index`` from a worker thread (which closes ``sock``); wait for the event."""
    errors: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            sock.request(del_link(index), f"delete link {index}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            sock.close()
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
