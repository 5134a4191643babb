"""Bringing the store and the kernel back in line after crashes (see
:meth:`Network.reconcile <macvlan.network.Network.reconcile>`).

- An *active* record stays while its namespace exists (by identity, anywhere) and
  the link at its ifindex there is not provably another one; a changed MAC or name
  does not matter.  Otherwise it is dropped, with its host routes via the shim.
- A *pending* or *detaching* record whose process died loses its link (if it
  carries the record's proof) and the record.
- A link whose alias names this store and network but an endpoint no record
  holds any more is deleted; nothing else is ever touched.

Every namespace is opened once and all of them get their sockets from one helper
thread, so the cost grows by a request per endpoint, not a thread.
"""

from __future__ import annotations

from collections.abc import Iterable

from macvlan.connection import Connection
from macvlan.link import MACVLAN_KINDS, Link
from macvlan.namespace import Namespace
from macvlan.network import proof
from macvlan.network.context import Context
from macvlan.network.lifecycle import forget
from macvlan.network.nsref import Finder, connections
from macvlan.network.shim import drop_routes
from macvlan.network.store import EndpointKind, EndpointRow, EndpointState, owner_alive

__all__ = ["reconcile"]

_HOST = (0, 0)  # the key of the parent's namespace


def _key(row: EndpointRow) -> tuple[int, int]:
    if row.kind is EndpointKind.SHIM or row.netns is None:
        return _HOST
    return row.netns.dev, row.netns.ino


def _alive(links: dict[int, Link], ctx: Context, row: EndpointRow) -> bool:
    """Whether an active row's link is still there (found at its ifindex)."""
    link = None if row.ifindex is None else links.get(row.ifindex)
    if link is None:
        return False
    tag = proof.tag_of(link)
    if tag is None:
        return True  # no proof either way (a link made before tags): never drop on a guess
    return tag == proof.Tag(ctx.store.id, ctx.name, row.id)


def _own(links: dict[int, Link], ctx: Context, row: EndpointRow) -> Link | None:
    """An unfinished row's link among ``links``, if it carries the row's proof."""
    if row.ifindex is not None:
        link = links.get(row.ifindex)
        if link is not None and ctx.owns(link, row):
            return link
    for link in links.values():
        if link.kind in MACVLAN_KINDS and ctx.owns(link, row):
            return link
    return None


def reconcile(ctx: Context) -> tuple[int, int]:
    """Clean up after dead processes; returns (records removed, links deleted)."""
    store = ctx.store
    rows = [
        r
        for r in store.endpoints(ctx.name)
        if r.state is EndpointState.ACTIVE or not owner_alive(r.owner)
    ]
    finder = Finder()
    opened: dict[tuple[int, int], Namespace | None] = {}
    host = ctx.host_namespace_or_none()
    opened[_HOST] = host
    for row in rows:
        key = _key(row)
        if key not in opened:
            assert row.netns is not None
            opened[key] = finder.reopen(row.netns)
    live = {k: ns for k, ns in opened.items() if ns is not None}
    conns = dict(zip(live, connections(live.values()), strict=True))
    records = links = 0
    try:
        seen = {
            key: {link.index: link for link in conn.links(kind="macvlan")}
            for key, conn in conns.items()
        }
        for row in rows:
            key = _key(row)
            there = seen.get(key)
            if row.state is EndpointState.ACTIVE:
                if there is not None and _alive(there, ctx, row):
                    continue
                drop_routes(ctx, row)
                if store.drop_endpoint(row.id, EndpointState.ACTIVE, None):
                    forget(store, row)
                    records += 1
                continue
            if there is not None:
                link = _own(there, ctx, row)
                if link is not None:
                    drop_routes(ctx, row)
                    conns[key].delete_link(link.index, missing_ok=True)
                    del there[link.index]
                    links += 1
            if store.drop_endpoint(row.id, row.state, row.owner):
                forget(store, row)
                records += 1
        known = store.endpoint_ids(ctx.name)  # read after the listings
        for key, there in seen.items():
            links += _delete_strays(conns[key], ctx, there.values(), known)
    finally:
        for conn in conns.values():
            conn.close()
        for key, ns in live.items():
            if key != _HOST:
                ns.close()
    return records, links


def _delete_strays(conn: Connection, ctx: Context, listed: Iterable[Link], known: set[int]) -> int:
    """Delete links in ``conn``'s namespace whose alias names this store and network
    and an endpoint that has no record (``known``: the ids read after the listing).

    The store is read after the links are listed: an attach writes its record
    before it creates its link, so a link seen here is claimed by then.
    """
    strays = [
        link
        for link in listed
        if link.kind in MACVLAN_KINDS
        and (tag := ctx.is_ours(link)) is not None
        and tag.endpoint not in known
    ]
    return conn.delete_links(strays, missing_ok=True) if strays else 0
