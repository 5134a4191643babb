"""The steps of :meth:`Network.attach <macvlan.network.Network.attach>`, each undone
if a later one fails.

1. ``allocate``: addresses and a MAC, written as a *pending* endpoint row in one
   ``BEGIN IMMEDIATE`` transaction that re-checks the network is ready (so a crash
   from here on is found by the next process that opens the network);
2. ``create_link``: the macvlan, MAC and this network's link group set in the
   creating message, made straight in the target namespace under a temporary name
   and renamed to ``ifname`` (made anew with another MAC if the kernel finds the
   MAC on the parent);
3. ``announce``: ``arp_notify`` and ``ndisc_notify`` on, so that the kernel tells
   the LAN (gratuitous ARP when the link comes up, unsolicited NA once each IPv6
   address is ready) and routers drop an old MAC for a re-used address;
4. ``add_addresses``; 5. ``bring_up``: up, with the alias that proves whose link
   it is; 6. ``add_routes`` (default routes via the gateways, unless the network
   is internal; a second network's default route gets the next free metric);
7. ``add_shim_routes`` (host routes via the network's host shim, if any);
8. ``commit``: one transaction that re-checks the network is still ready and the
   row still ours, and makes it *active*.
"""

from __future__ import annotations

import _socket
import contextlib
import functools
from collections.abc import Callable

from macvlan.connection import Connection
from macvlan.errors import (
    AddressInUse,
    LinkExists,
    LinkNotFound,
    MacInUse,
    NetworkConfigError,
    RouteExists,
)
from macvlan.link import Link, MacvlanMode
from macvlan.mac import MacAddress
from macvlan.macalloc import MacAllocator
from macvlan.namespace import Namespace
from macvlan.network import ipam
from macvlan.network.context import Context
from macvlan.network.lan import LanAttach
from macvlan.network.nsref import ref_of, unpin, visible_macs
from macvlan.network.shim import drop_address_routes, shim_route
from macvlan.network.store import EndpointKind, EndpointRow, EndpointState, NsRef, owner_token

__all__ = ["Attach", "check_mac_free"]

_MAC_RETRIES = 8
_DEFAULT_METRIC = {4: 0, 6: 1024}  # what the kernel gives a route added without one


def check_mac_free(ctx: Context, mac: MacAddress) -> None:
    """Raise :class:`MacInUse` if the store or a visible link has ``mac``."""
    if int(mac) in ctx.store.macs():
        raise MacInUse(f"MAC {mac} is already used by an endpoint in the store")
    where = visible_macs(ctx.host).get(mac)
    if where is not None:
        raise MacInUse(f"MAC {mac} is already used by link {where}")


def _announce_settings(ifname: str) -> None:
    """In the endpoint's namespace: tell the LAN when the link comes up."""
    for path in (
        f"/proc/sys/net/ipv4/conf/{ifname}/arp_notify",
        f"/proc/sys/net/ipv6/conf/{ifname}/ndisc_notify",
    ):
        with contextlib.suppress(FileNotFoundError), open(path, "w") as f:  # no IPv6: no file
            f.write("1")


class Attach:
    """One attach in progress; :meth:`run` does the steps or none of them."""

    STEPS = (
        "allocate",
        "create_link",
        "announce",
        "add_addresses",
        "bring_up",
        "add_routes",
        "add_lan",
        "add_shim_routes",
        "commit",
    )

    def __init__(
        self,
        ctx: Context,
        ns: Namespace,
        ifname: str,
        requests: dict[int, ipam.IPAddress],
        mac: MacAddress | None,
        nodad: bool,
        metric: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.ns = ns
        self.ifname = ifname
        self.requests = requests
        self.given_mac = mac
        self.nodad = nodad
        self.metric = metric
        self.owner = owner_token()
        self.ref: NsRef | None = None
        self.mac: MacAddress | None = None
        self.addresses: dict[int, ipam.IPAddress] = {}
        self.endpoint_id: int | None = None
        self.link: Link | None = None
        self.there: Connection | None = None
        self.undo: list[Callable[[], object]] = []
        #: the LAN steps (DHCP, SLAAC, sysctls), if the network or the attach has any
        self.lan: LanAttach | None = None
        #: a DHCP network: IPv4 comes from the DHCP server, not from the store
        self.v4_from_dhcp = False

    def run(self) -> EndpointRow:
        """Do every step; on any failure undo the ones done, in reverse order."""
        try:
            for step in self.STEPS:
                getattr(self, step)()
            return self._row()
        except BaseException:
            for undo in reversed(self.undo):
                with contextlib.suppress(Exception):
                    undo()
            raise
        finally:
            if self.there is not None:
                self.there.close()

    def _row(self) -> EndpointRow:
        assert self.endpoint_id is not None
        row = self.ctx.store.endpoint(self.endpoint_id)
        assert row is not None
        return row

    # -- steps ---------------------------------------------------------------------------
    def allocate(self) -> None:
        """Addresses, a MAC and the pending row, in one transaction."""
        ctx = self.ctx
        store = ctx.store
        if self.given_mac is not None:
            check_mac_free(ctx, self.given_mac)  # a clear "used by link X" before anything
        # A drawn MAC is random among 2**46 locally administered ones and unique in the
        # store; the kernel refuses a clash with the parent or a sibling macvlan
        # (EADDRINUSE), and create_link then draws again.
        with store.transaction():
            ctx.check_ready()
            self._check_capacity()
            used = store.used_addresses(ctx.name)
            self.addresses = ipam.plan(
                ctx.row.subnets, self.requests, used, store.cursors(ctx.name)
            )
            if self.v4_from_dhcp:
                self.addresses = {i: a for i, a in self.addresses.items() if a.version != 4}
            if self.given_mac is not None:
                mac = self.given_mac
            elif ctx.mode == MacvlanMode.PASSTHRU:
                mac = ctx.parent_mac()
            else:
                mac = MacAllocator(store.macs()).allocate()
            self.ref = ref = ref_of(self.ns, store.id)  # pinned under the write lock
            import sqlite3  # loaded with the store already

            try:
                self.endpoint_id = store.add_endpoint(
                    ctx.name,
                    EndpointKind.CONTAINER,
                    ref,
                    self.ifname,
                    mac,
                    sorted(self.addresses.items()),
                    self.owner,
                )
            except sqlite3.IntegrityError:
                raise MacInUse(f"MAC {mac} is already used by an endpoint in the store") from None
        self.mac = mac
        self.undo.append(self._forget)
        # a shim made meanwhile may route these addresses: undone with the rest
        held = list(self.addresses.values())
        self.undo.append(functools.partial(drop_address_routes, ctx, held))

    def _forget(self) -> None:
        store = self.ctx.store
        assert self.endpoint_id is not None and self.ref is not None
        with store.transaction():
            store.delete_endpoint(self.endpoint_id)
            if not store.namespace_users(self.ref.dev, self.ref.ino):
                unpin(store.id, self.ref)

    def _check_capacity(self) -> None:
        """Inside the allocation transaction: passthru takes one endpoint only."""
        ctx = self.ctx
        if ctx.mode != MacvlanMode.PASSTHRU:
            return
        taken = ctx.store.endpoints(ctx.name, EndpointKind.CONTAINER)
        if taken:
            from macvlan.errors import ParentInUse

            where = taken[0].netns.label if taken[0].netns else "?"
            raise ParentInUse(
                f"passthru network {ctx.name!r} already has its one endpoint "
                f"({taken[0].ifname!r} in {where!r})"
            )

    def create_link(self) -> None:
        """Create the link (MAC and group in the creating message), still down.

        The kernel refuses a MAC used by another macvlan of the parent that is up,
        in any namespace (``EADDRINUSE``); a drawn MAC is then drawn again and the
        link made anew, a given MAC is refused.
        """
        if self.there is None:
            self.there = Connection(self.ns)
        there = self.there
        for _ in range(_MAC_RETRIES):
            try:
                link = self._create_once()
            except AddressInUse:
                self._mac_clash()
                continue
            self.link = link
            self.undo.append(functools.partial(there.delete_link, link.index, missing_ok=True))
            return
        raise MacInUse(f"no free MAC on parent {self.ctx.row.parent!r} after {_MAC_RETRIES} draws")

    def _create_once(self) -> Link:
        ctx = self.ctx
        assert self.mac is not None
        for attempt in range(2):
            try:
                return ctx.host.create_macvlan(
                    self.ifname,
                    ctx.parent_index(),
                    ctx.mode,
                    mac=None if ctx.mode == MacvlanMode.PASSTHRU else self.mac,
                    mtu=ctx.row.mtu,
                    netns=self.ns,
                    group=ctx.group,
                )
            except LinkNotFound:
                ctx.forget_parent_index()  # the parent may have been re-created
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _mac_clash(self) -> None:
        if self.given_mac is not None or self.ctx.mode == MacvlanMode.PASSTHRU:
            raise MacInUse(
                f"MAC {self.mac} is already used on parent {self.ctx.row.parent!r}"
            ) from None
        store = self.ctx.store
        assert self.endpoint_id is not None
        with store.transaction():
            mac = MacAllocator(store.macs()).allocate()
            store.set_endpoint(self.endpoint_id, EndpointState.PENDING, self.owner, mac=mac)
        self.mac = mac

    def announce(self) -> None:
        """``arp_notify``/``ndisc_notify`` on the new interface, before it comes up
        (and the LAN hooks' sysctls)."""
        self.ns.run(_announce_settings, self.ifname)
        if self.lan is not None:
            self.lan.before_up(self.ifname)

    def add_addresses(self) -> None:
        """The allocated addresses, with their subnets' prefix lengths."""
        assert self.there is not None and self.link is not None
        for index, addr in sorted(self.addresses.items()):
            iface = self.ctx.row.subnets[index].interface(addr)
            self.there.add_address(self.link.index, iface, nodad=self.nodad and addr.version == 6)

    def bring_up(self) -> None:
        """Up, with the alias naming this store, network and endpoint."""
        assert self.endpoint_id is not None
        for _ in range(_MAC_RETRIES):
            assert self.there is not None and self.link is not None
            try:
                self.link = self.there.set_link(
                    self.link.index, up=True, alias=self.ctx.alias(self.endpoint_id)
                )
                return
            except AddressInUse:  # an up sibling on the parent has the MAC: draw again
                self.undo.pop()
                self.there.delete_link(self.link.index, missing_ok=True)
                self._mac_clash()
                self.create_link()
                self.announce()
                self.add_addresses()
        raise MacInUse(f"no free MAC on parent {self.ctx.row.parent!r} after {_MAC_RETRIES} draws")

    def add_routes(self) -> None:
        """Default routes via the gateways; the first network's wins (lowest metric)."""
        assert self.there is not None and self.link is not None
        if self.ctx.row.internal:
            return
        for index in sorted(self.addresses):
            gateway = self.ctx.row.subnets[index].gateway
            if gateway is not None:
                self._default_route(gateway)

    def _default_route(self, gateway: ipam.IPAddress) -> None:
        assert self.there is not None and self.link is not None
        there, index = self.there, self.link.index
        try:
            there.add_route("default", gateway=gateway, link=index, metric=self.metric)
            return
        except (RouteExists, LinkExists):
            if self.metric is not None:
                raise NetworkConfigError(
                    f"a default route with metric {self.metric} already exists in the "
                    f"namespace; choose another gateway_metric"
                ) from None
        family = _socket.AF_INET if gateway.version == 4 else _socket.AF_INET6
        base = _DEFAULT_METRIC[gateway.version]
        for _ in range(_MAC_RETRIES):  # another attach into the namespace may race us
            taken = [
                base if r.metric is None else r.metric
                for r in there.routes(family=family)
                if r.is_default
            ]
            try:
                there.add_route(
                    "default", gateway=gateway, link=index, metric=max(taken, default=base) + 1
                )
                return
            except (RouteExists, LinkExists):
                continue
        raise NetworkConfigError(f"no free metric for a second default route via {gateway}")

    def add_lan(self) -> None:
        """DHCP lease and SLAAC (see :mod:`macvlan.network.lan`)."""
        if self.lan is not None:
            assert self.there is not None and self.link is not None and self.mac is not None
            assert self.endpoint_id is not None
            self.lan.after_up(self.there, self.link.index, self.mac, self.endpoint_id)

    def add_shim_routes(self) -> None:
        """Host routes to the new addresses via the network's shim, if it has one."""
        ctx = self.ctx
        shim = ctx.shim_row()
        if shim is None:
            return
        for addr in self.addresses.values():
            try:
                shim_route(ctx, shim, addr, add=True)  # undone by the allocation's undo
            except LinkNotFound:
                return  # a shim still being made failed meanwhile: nothing to route via

    def commit(self) -> None:
        """Active, if the network is still ready and the row still ours (one transaction)."""
        assert self.endpoint_id is not None and self.link is not None
        store = self.ctx.store
        with store.transaction():
            self.ctx.check_ready()
            row = store.endpoint(self.endpoint_id)
            if row is None or row.state is not EndpointState.PENDING or row.owner != self.owner:
                raise RuntimeError(f"endpoint record {self.endpoint_id} changed while attaching")
            store.set_endpoint(
                self.endpoint_id, EndpointState.ACTIVE, None, ifindex=self.link.index
            )
