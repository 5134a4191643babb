"""The host shim: a bridge-mode macvlan in the parent's namespace with host routes
to every endpoint, so that the host can reach its macvlan children (see
:meth:`Network.host_shim <macvlan.network.Network.host_shim>`)."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import zlib
from typing import TYPE_CHECKING

from macvlan.errors import NetlinkError
from macvlan.link import Link, MacvlanMode
from macvlan.macalloc import MacAllocator
from macvlan.network import ipam
from macvlan.network.store import EndpointKind, EndpointRow, EndpointState, owner_token

if TYPE_CHECKING:
    from macvlan.network.networks import Network

__all__ = ["host_len", "make_shim", "shim_name", "shim_route", "shim_row"]


def shim_name(network: str) -> str:
    return f"mvs{zlib.crc32(network.encode()):08x}"


def host_len(addr: ipam.IPAddress) -> int:
    return 32 if addr.version == 4 else 128


def shim_row(net: Network) -> EndpointRow | None:
    """The network's active shim, if it has one."""
    rows = net.store.endpoints(net.name, EndpointKind.SHIM)
    active = [r for r in rows if r.state is EndpointState.ACTIVE]
    return active[0] if active else None


def shim_route(net: Network, shim: EndpointRow, addr: ipam.IPAddress, *, add: bool) -> bool:
    """Add (or delete) the host route to ``addr`` via the shim; False if the shim has
    no address of that IP version."""
    src = [a for _, a in shim.addresses if a.version == addr.version]
    if not src or shim.ifindex is None:
        return False
    dst = f"{addr}/{host_len(addr)}"
    if add:
        net.host.add_route(dst, link=shim.ifindex, src=src[0])
        return True
    try:
        net.host.delete_route(dst, link=shim.ifindex)
    except NetlinkError as exc:
        if exc.errno not in (errno.ESRCH, errno.EADDRNOTAVAIL):  # not already gone
            raise
    return True


def make_shim(net: Network, name: str, requests: dict[int, ipam.IPAddress]) -> EndpointRow:
    """Allocate, create and route the shim; all or nothing."""
    host = net.host
    st = net.store
    owner = owner_token()
    host_macs = {int(link.mac) for link in host.links() if link.mac is not None}
    with st.transaction():
        addresses = ipam.plan(
            net.subnets, requests, st.used_addresses(net.name), st.cursors(net.name)
        )
        mac = MacAllocator(host_macs | st.macs()).allocate()
        ep_id = st.add_endpoint(
            net.name, EndpointKind.SHIM, None, name, mac, sorted(addresses.items()), owner
        )
    link: Link | None = None
    try:
        link = host.create_macvlan(
            name,
            net._parent_index(),
            MacvlanMode.BRIDGE,
            mac=mac,
            mtu=net.mtu,
            group=net.link_group,
        )
        for addr in addresses.values():
            iface = ipaddress.ip_interface((addr, host_len(addr)))
            host.add_address(link.index, iface, nodad=addr.version == 6)
        host.set_link(link.index, up=True)
        st.set_endpoint(ep_id, EndpointState.PENDING, owner, ifindex=link.index)
        row = st.endpoint(ep_id)
        assert row is not None
        for ep in st.endpoints(net.name, EndpointKind.CONTAINER):
            for _, addr in ep.addresses:
                shim_route(net, row, addr, add=True)
        st.set_endpoint(ep_id, EndpointState.ACTIVE, None)
    except BaseException:
        if link is not None:
            with contextlib.suppress(Exception):
                host.delete_link(link.index, missing_ok=True)
        st.delete_endpoint(ep_id)
        raise
    row = st.endpoint(ep_id)
    assert row is not None
    return row
