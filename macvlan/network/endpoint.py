"""What an attach made, as a value: :class:`Endpoint`; and what reconcile did."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from macvlan._dataclass import dataclass
from macvlan._typing import TYPE_CHECKING
from macvlan.mac import MacAddress
from macvlan.network import ipam
from macvlan.network.context import Context
from macvlan.network.shim import host_len
from macvlan.network.store import EndpointKind, EndpointRow

if TYPE_CHECKING:
    from typing import Any

    from macvlan.network.dhcp.lease import Lease

__all__ = ["Endpoint", "Reconciled", "endpoint_of"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What an attach did: the link, its addresses and where it lives (a value:
    immutable, hashable, equal when every field is).

    ``netns`` reads back what :meth:`Network.attach <macvlan.network.Network.attach>`
    was given, as the name under /run/netns (or the path the namespace is reached by);
    :attr:`namespace` is its alias.
    """

    network: str
    netns: str  # name under /run/netns (or the path the namespace is reached by)
    ifname: str
    mac: MacAddress
    addresses: tuple[ipam.IPInterface, ...]
    index: int | None  # ifindex inside the namespace
    id: int  # the endpoint's key in the store
    gateways: tuple[ipam.IPAddress, ...]  # the default routes it got
    kind: EndpointKind = EndpointKind.CONTAINER
    lease: Lease | None = None  # the DHCP lease (None on networks without DHCP)

    @property
    def namespace(self) -> str:
        """Alias of :attr:`netns` (the name the contract gives it)."""
        return self.netns


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What :meth:`Network.reconcile <macvlan.network.Network.reconcile>` cleaned up."""

    records_removed: int = 0
    links_deleted: int = 0


def endpoint_of(
    ctx: Context,
    row: EndpointRow,
    lease: Lease | None = None,
    more: Sequence[Any] = (),
    via: Sequence[Any] = (),
) -> Endpoint:
    """The :class:`Endpoint` value of a record (with what a lease or SLAAC gave it:
    ``more`` addresses, default routes ``via``)."""
    subnets = ctx.row.subnets
    gateways: tuple[ipam.IPAddress, ...] = ()
    if not ctx.row.internal and row.kind is EndpointKind.CONTAINER:
        gateways = tuple(gw for i, _ in row.addresses if (gw := subnets[i].gateway) is not None)
    if row.netns is not None:
        where = row.netns.label
    else:
        where = ctx.row.netns.label if ctx.row.netns else "(the parent's namespace)"
    interfaces = tuple(
        subnets[i].interface(a)
        if row.kind is EndpointKind.CONTAINER
        else ipaddress.ip_interface((a, host_len(a)))
        for i, a in row.addresses
    )
    return Endpoint(
        network=ctx.name,
        netns=where,
        ifname=row.ifname,
        mac=row.mac,
        addresses=interfaces + tuple(more),
        index=row.ifindex,
        id=row.id,
        gateways=gateways + tuple(via),
        kind=row.kind,
        lease=lease,
    )
