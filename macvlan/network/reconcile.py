"""Bringing the store and the kernel back in line after crashes (see
:meth:`Network.reconcile <macvlan.network.Network.reconcile>`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from macvlan.connection import Connection
from macvlan.link import MACVLAN_KINDS
from macvlan.namespace import Namespace
from macvlan.network.nsref import reopen
from macvlan.network.store import EndpointKind, EndpointRow, EndpointState, Store, owner_alive
from macvlan.network.teardown import find_link

if TYPE_CHECKING:
    from macvlan.network.networks import Network

__all__ = ["reconcile"]


def reconcile(net: Network) -> tuple[int, int]:
    """Clean up after dead processes; returns (records removed, links deleted).

    Pending or detaching endpoints whose process died lose their link (if it was
    made) and their record; active records whose namespace or link is gone are
    dropped; macvlans tagged with the network's link group that no record claims
    are deleted.  Rows of live processes are left alone.
    """
    records = links = 0
    namespaces: dict[str, Namespace] = {}
    try:
        for row in net.store.endpoints(net.name):
            if row.state is not EndpointState.ACTIVE and owner_alive(row.owner):
                continue  # another process is at work on it
            ns = _namespace_of(net, row, namespaces)
            if row.state is EndpointState.ACTIVE and ns is not None:
                with Connection(ns) as conn:
                    if find_link(conn, row.ifindex, row.mac) is not None:
                        continue
            elif ns is not None and net._teardown(row, wait=True):
                links += 1
            net.store.delete_endpoint(row.id)
            records += 1
        host = net._host_namespace_or_none()
        if host is not None:
            namespaces.setdefault("", host)
        for ns in namespaces.values():
            links += _delete_strays(ns, net.link_group, net.store)
    finally:
        for key, ns in namespaces.items():
            if key:
                ns.close()
    return records, links


def _namespace_of(net: Network, row: EndpointRow, cache: dict[str, Namespace]) -> Namespace | None:
    if row.kind is EndpointKind.SHIM or row.netns is None:
        return net._host_namespace_or_none()
    key = f"{row.netns.dev}:{row.netns.ino}"
    if key not in cache:
        ns = reopen(row.netns)
        if ns is None:
            return None
        cache[key] = ns
    return cache[key]


def _delete_strays(ns: Namespace, group: int, store: Store) -> int:
    """Delete macvlans of ``group`` in ``ns`` whose MAC no record claims.

    The store is read after the links are listed: an attach writes its record
    before it creates its link, so a link seen here is claimed by then.
    """
    with Connection(ns) as conn:
        tagged = [
            link
            for link in conn.links(group=group)
            if link.kind in MACVLAN_KINDS and link.mac is not None
        ]
        if not tagged:
            return 0
        claimed = store.macs()
        strays = [link for link in tagged if link.mac is not None and int(link.mac) not in claimed]
        return conn.delete_links(strays, missing_ok=True) if strays else 0
