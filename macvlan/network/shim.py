"""The host shim: a bridge-mode macvlan in the parent's namespace with host routes
to every endpoint, so that the host can reach its macvlan children (see
:meth:`Network.host_shim <macvlan.network.Network.host_shim>`)."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import zlib

from macvlan.errors import NetlinkError, NetworkConfigError
from macvlan.link import Link, MacvlanMode
from macvlan.macalloc import MacAllocator
from macvlan.network import ipam
from macvlan.network.context import Context
from macvlan.network.store import (
    EndpointKind,
    EndpointRow,
    EndpointState,
    owner_alive,
    owner_token,
)

__all__ = ["drop_address_routes", "drop_routes", "host_len", "make_shim", "shim_name", "shim_route"]


def shim_name(network: str) -> str:
    """The default name of a network's shim (15 bytes at most)."""
    return f"mvs{zlib.crc32(network.encode()):08x}"


def host_len(addr: ipam.IPAddress) -> int:
    """The prefix length of a host route: 32 or 128."""
    return 32 if addr.version == 4 else 128


def shim_route(ctx: Context, shim: EndpointRow, addr: ipam.IPAddress, *, add: bool) -> bool:
    """Add (or delete) the host route to ``addr`` via the shim; False if the shim has
    no address of that IP version."""
    src = [a for _, a in shim.addresses if a.version == addr.version]
    if not src or shim.ifindex is None:
        return False
    dst = f"{addr}/{host_len(addr)}"
    if add:
        ctx.host.add_route(dst, link=shim.ifindex, src=src[0], replace=True)  # idempotent
        return True
    try:
        ctx.host.delete_route(dst, link=shim.ifindex)
    except NetlinkError as exc:
        if exc.errno not in (errno.ESRCH, errno.EADDRNOTAVAIL):  # not already gone
            raise
    return True


def drop_routes(ctx: Context, row: EndpointRow) -> None:
    """Delete the host routes to ``row``'s addresses via the shim (best effort)."""
    if row.kind is EndpointKind.CONTAINER:
        drop_address_routes(ctx, [a for _, a in row.addresses])


def drop_address_routes(ctx: Context, addresses: list[ipam.IPAddress]) -> None:
    """Delete the host routes to ``addresses`` via the shim, if any (best effort)."""
    shim = ctx.shim_row()
    if shim is None or ctx.host_namespace_or_none() is None:
        return
    for addr in addresses:
        with contextlib.suppress(Exception):
            shim_route(ctx, shim, addr, add=False)


def _held(ctx: Context) -> set[ipam.IPAddress]:
    """The addresses of the network's containers that are not being detached."""
    return {
        addr
        for ep in ctx.store.endpoints(ctx.name, EndpointKind.CONTAINER)
        if ep.state is not EndpointState.DETACHING
        for _, addr in ep.addresses
    }


def make_shim(ctx: Context, name: str, requests: dict[int, ipam.IPAddress]) -> EndpointRow:
    """Allocate, create and route the shim; all or nothing."""
    host = ctx.host
    st = ctx.store
    row_ = ctx.row
    owner = owner_token()
    host_macs = {int(link.mac) for link in host.links() if link.mac is not None}
    with st.transaction():
        ctx.check_ready()
        for other in st.endpoints(ctx.name, EndpointKind.SHIM):
            if other.state is EndpointState.ACTIVE or owner_alive(other.owner):
                raise NetworkConfigError(
                    f"network {ctx.name!r} already has a host shim {other.ifname!r} "
                    f"({other.state.value})"
                )
        addresses = ipam.plan(
            row_.subnets, requests, st.used_addresses(ctx.name), st.cursors(ctx.name)
        )
        mac = MacAllocator(host_macs | st.macs()).allocate()
        ep_id = st.add_endpoint(
            ctx.name, EndpointKind.SHIM, None, name, mac, sorted(addresses.items()), owner
        )
    link: Link | None = None
    try:
        link = host.create_macvlan(
            name,
            ctx.parent_index(),
            MacvlanMode.BRIDGE,
            mac=mac,
            mtu=row_.mtu,
            group=ctx.group,
        )
        for addr in addresses.values():
            iface = ipaddress.ip_interface((addr, host_len(addr)))
            host.add_address(link.index, iface, nodad=addr.version == 6)
        host.set_link(link.index, up=True, alias=ctx.alias(ep_id))
        st.set_endpoint(ep_id, EndpointState.PENDING, owner, ifindex=link.index)
        row = st.endpoint(ep_id)
        assert row is not None
        # listed after the shim's ifindex is recorded: an attach that did not see the
        # shim is listed here, a detach that did not see it is DETACHING already
        routed = _held(ctx)
        for addr in routed:
            shim_route(ctx, row, addr, add=True)
        # an endpoint that went after the listing may have dropped its routes before
        # they were added here; one that goes from now on sees this shim and drops them
        for addr in routed - _held(ctx):
            shim_route(ctx, row, addr, add=False)
        with st.transaction():
            ctx.check_ready()
            if not st.claim_endpoint(
                ep_id, EndpointState.PENDING, owner, EndpointState.ACTIVE, None
            ):
                raise RuntimeError(f"shim record {ep_id} changed while it was made")
    except BaseException:
        if link is not None:
            with contextlib.suppress(Exception):
                host.delete_link(link.index, missing_ok=True)
        st.delete_endpoint(ep_id)
        raise
    row = st.endpoint(ep_id)
    assert row is not None
    return row
