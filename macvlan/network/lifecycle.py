"""Detach and remove: each a claim in one transaction, the kernel work, then the
record's end in another transaction; a failure puts the record back as it was.

- ``detach`` claims an active endpoint (or one whose process died) as DETACHING,
  deletes its link (only if the link carries this endpoint's proof) and its host
  routes, then deletes the record and unpins its namespace if no other record
  names it.
- ``remove`` marks the network REMOVING in the same transaction that counts its
  endpoints, so that no attach can commit into it afterwards (attach re-checks in
  its commit) and a non-forced remove sees every endpoint, pending ones too.  A
  forced remove detaches them all, waiting for attaches of live processes to roll
  themselves back.  If a step fails the network is READY again.
"""

from __future__ import annotations

import time

from macvlan.errors import EndpointNotFound, NetworkInUse
from macvlan.network.context import Context
from macvlan.network.nsref import reopen, unpin
from macvlan.network.shim import drop_routes
from macvlan.network.store import (
    EndpointKind,
    EndpointRow,
    EndpointState,
    NetworkState,
    Store,
    owner_alive,
    owner_token,
)
from macvlan.network.teardown import delete_link

__all__ = ["detach", "finish_abandoned", "forget", "parent_users", "remove", "teardown"]

_BUSY_WAIT = 60.0  # seconds a forced remove waits for live attaches to roll back


def teardown(ctx: Context, row: EndpointRow, wait: bool) -> bool:
    """Delete the row's link (and its shim routes); True if a link was deleted."""
    if row.kind is EndpointKind.SHIM:
        host = ctx.host_namespace_or_none()
        return host is not None and delete_link(host, ctx, row, wait=wait)
    drop_routes(ctx, row)
    if row.netns is None:
        return False
    ns = reopen(row.netns)
    if ns is None:
        return False  # no namespace with its identity exists: its links went with it
    with ns:
        return delete_link(ns, ctx, row, wait=wait)


def forget(store: Store, row: EndpointRow) -> None:
    """Delete the record; unpin its namespace if no other record names it."""
    with store.transaction():
        store.delete_endpoint(row.id)
        ref = row.netns
        if ref is not None and not store.namespace_users(ref.dev, ref.ino):
            unpin(store.id, ref)


def _claim(store: Store, row: EndpointRow, owner: str) -> bool:
    """DETACHING for us, if the row is active or its process died; False otherwise."""
    if row.state is not EndpointState.ACTIVE and owner_alive(row.owner) and row.owner != owner:
        return False
    return store.claim_endpoint(row.id, row.state, row.owner, EndpointState.DETACHING, owner)


def detach_row(ctx: Context, row: EndpointRow, wait: bool = False) -> bool:
    """Claim, tear down and forget one row; False if another process has it."""
    store = ctx.store
    owner = owner_token()
    if not _claim(store, row, owner):
        return False
    try:
        if ctx.before_detach is not None:
            ctx.before_detach(row)  # e.g. DHCPRELEASE while the link still exists
        teardown(ctx, row, wait)
    except BaseException:
        if row.state is EndpointState.ACTIVE:  # back as it was; reconcile judges the rest
            store.claim_endpoint(row.id, EndpointState.DETACHING, owner, row.state, None)
        raise
    forget(store, row)
    return True


def detach(ctx: Context, ep_id: int, wait: bool) -> None:
    """Detach endpoint ``ep_id`` of this network."""
    row = ctx.store.endpoint(ep_id)
    if row is None or row.network != ctx.name:
        raise EndpointNotFound(f"network {ctx.name!r} has no endpoint {ep_id!r}")
    if not detach_row(ctx, row, wait):
        raise EndpointNotFound(
            f"endpoint {ep_id} of network {ctx.name!r} is being "
            f"{row.state.value[:-3] if row.state is not EndpointState.PENDING else 'attach'}ed "
            f"by process {row.owner}"
        )


def remove(ctx: Context, force: bool) -> None:
    """Remove the network (see the module's docstring)."""
    store = ctx.store
    owner = owner_token()
    with store.transaction():
        ctx.check_ready()
        containers = store.endpoints(ctx.name, EndpointKind.CONTAINER)
        if containers and not force:
            names = ", ".join(
                f"{r.ifname} in {r.netns.label if r.netns else '?'}" for r in containers
            )
            raise NetworkInUse(
                f"network {ctx.name!r} has {len(containers)} endpoint(s) ({names}); "
                "detach them or use remove(force=True)"
            )
        store.set_network_state(ctx.name, NetworkState.REMOVING, owner)
    try:
        remove_all(ctx, owner)
    except BaseException:
        with store.transaction():
            current = store.network(ctx.name)
            if current is not None and current.owner == owner:
                store.set_network_state(ctx.name, NetworkState.READY, None)
        raise


def remove_all(ctx: Context, owner: str) -> None:
    """Detach every endpoint (shims last), then delete the record and a VLAN made for it."""
    store = ctx.store
    deadline = time.monotonic() + _BUSY_WAIT
    while True:
        rows = store.endpoints(ctx.name)
        if not rows:
            break
        containers = [r for r in rows if r.kind is EndpointKind.CONTAINER]
        busy = None
        for row in containers or rows:
            if not detach_row(ctx, row):
                busy = row
        if busy is not None:
            if time.monotonic() > deadline:
                raise NetworkInUse(
                    f"network {ctx.name!r}: endpoint {busy.id} is still being changed by "
                    f"process {busy.owner}"
                )
            time.sleep(0.005)  # a live attach sees REMOVING at its commit and rolls back
    key = ctx.row.parent_key
    with store.transaction():
        store.delete_network(ctx.name)
        drop_vlan = store.vlan_owned(key) and not parent_users(store, key)
        ref = ctx.row.netns
        if ref is not None and not store.namespace_users(ref.dev, ref.ino):
            unpin(store.id, ref)
    if drop_vlan:
        if ctx.host_namespace_or_none() is not None:
            ctx.host.delete_link(ctx.row.parent, missing_ok=True)
        store.delete_vlan(key)


def finish_abandoned(ctx: Context) -> bool:
    """Complete the removal (or undo the creation) a dead process left half done;
    False if another live process took it over first."""
    store = ctx.store
    owner = owner_token()
    with store.transaction():
        current = store.network(ctx.name)
        if current is None or current.state is NetworkState.READY:
            return False
        if owner_alive(current.owner):
            return False
        store.set_network_state(ctx.name, current.state, owner)
    remove_all(ctx, owner)
    return True


def parent_users(store: Store, parent_key: str) -> int:
    """How many networks use the parent with that key."""
    return sum(1 for n in store.networks() if n.parent_key == parent_key)
