"""The steps of :meth:`Network.attach <macvlan.network.Network.attach>`, each undone
if a later one fails.

1. ``allocate``: addresses and a MAC, written as a *pending* endpoint row in one
   ``BEGIN IMMEDIATE`` transaction (so a crash from here on is found by the next
   process that opens the network);
2. ``create_link``: the macvlan, MAC set in the creating message, made straight in
   the target namespace under a temporary name, renamed to ``ifname`` and brought
   up (made anew with another MAC if the kernel finds the MAC on the parent);
3. ``add_addresses``; 4. ``add_routes`` (default routes via the gateways, unless
   the network is internal); 5. ``add_shim_routes`` (host routes to the new
   addresses via the network's host shim, if it has one);
6. ``commit``: the row becomes *active*.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from macvlan.connection import Connection
from macvlan.errors import AddressInUse, LinkNotFound, MacInUse
from macvlan.link import Link, MacvlanMode
from macvlan.mac import MacAddress
from macvlan.macalloc import MacAllocator
from macvlan.namespace import Namespace
from macvlan.network import ipam
from macvlan.network.lan import LanAttach, LanRequest
from macvlan.network.store import EndpointKind, EndpointRow, EndpointState, NsRef, owner_token

if TYPE_CHECKING:
    from macvlan.network.networks import Endpoint, Network

__all__ = ["Attach", "MacInUse"]

_MAC_RETRIES = 8


class Attach:
    """One attach in progress; :meth:`run` does the steps or none of them."""

    STEPS = (
        "allocate",
        "create_link",
        "add_addresses",
        "add_routes",
        "add_lan",
        "add_shim_routes",
        "commit",
    )

    def __init__(
        self,
        net: Network,
        ns: Namespace,
        ref: NsRef,
        ifname: str,
        requests: dict[int, ipam.IPAddress],
        mac: MacAddress | None,
        nodad: bool,
        *,
        lan: LanRequest | None = None,
    ) -> None:
        self.net = net
        self.ns = ns
        self.ref = ref
        self.ifname = ifname
        self.requests = requests
        self.given_mac = mac
        self.nodad = nodad
        self.owner = owner_token()
        self.mac: MacAddress | None = None
        self.addresses: dict[int, ipam.IPAddress] = {}
        self.endpoint_id: int | None = None
        self.link: Link | None = None
        self.there: Connection | None = None
        self._undo: list[Callable[[], object]] = []
        self.lan = None if lan is None else LanAttach(net, lan, ns, ref.label, ifname, self._undo)

    def run(self) -> Endpoint:
        try:
            for step in self.STEPS:
                getattr(self, step)()
            return self.net._endpoint_of(self._row())
        except BaseException:
            for undo in reversed(self._undo):
                with contextlib.suppress(Exception):
                    undo()
            raise
        finally:
            if self.there is not None:
                self.there.close()

    def _row(self) -> EndpointRow:
        assert self.endpoint_id is not None
        row = self.net.store.endpoint(self.endpoint_id)
        assert row is not None
        return row

    # -- steps ---------------------------------------------------------------------------
    def allocate(self) -> None:
        net = self.net
        store = net.store
        if self.given_mac is not None:
            net._check_mac_free(self.given_mac)  # a clear "used by link X" before anything
        # A drawn MAC is random among 2**46 locally administered ones and unique in the
        # store; no dump of the host's links (it grew with their number: 0.1 s at
        # 3,000).  The kernel refuses a clash with the parent or a sibling macvlan
        # (EADDRINUSE), and create_link then draws again.
        with store.transaction():
            net._check_capacity()
            used = store.used_addresses(net.name)
            self.addresses = ipam.plan(net.subnets, self.requests, used, store.cursors(net.name))
            if net.lan_options.dhcp:  # IPv4 comes from the DHCP server
                self.addresses = {i: a for i, a in self.addresses.items() if a.version != 4}
            if self.given_mac is not None:
                mac = self.given_mac
            elif net.mode == MacvlanMode.PASSTHRU:
                mac = net._parent_mac()
            else:
                mac = MacAllocator(store.macs()).allocate()
            try:
                self.endpoint_id = store.add_endpoint(
                    net.name,
                    EndpointKind.CONTAINER,
                    self.ref,
                    self.ifname,
                    mac,
                    sorted(self.addresses.items()),
                    self.owner,
                )
            except sqlite3.IntegrityError:
                raise MacInUse(f"MAC {mac} is already used by an endpoint in the store") from None
        self.mac = mac
        ep = self.endpoint_id
        self._undo.append(lambda: store.delete_endpoint(ep))

    def create_link(self) -> None:
        """Create the link (MAC in the creating message) and bring it up.

        The kernel refuses a MAC used by another macvlan of the parent that is up,
        in any namespace (``EADDRINUSE``, at creation or when coming up); a drawn
        MAC is then drawn again and the link made anew, a given MAC is refused.
        """
        net = self.net
        if self.there is None:
            self.there = Connection(self.ns)
        there = self.there
        for _ in range(_MAC_RETRIES):
            try:
                link = self._create_once()
            except AddressInUse:
                self._mac_clash()
                continue
            self._undo.append(functools.partial(there.delete_link, link.index, missing_ok=True))
            if self.lan is not None:
                self.lan.before_up(link.name)  # sysctls, before the interface comes up
            try:
                self.link = there.set_link(link.index, up=True)
                return
            except AddressInUse:
                self._undo.pop()
                there.delete_link(link.index, missing_ok=True)
                self._mac_clash()
        raise MacInUse(f"no free MAC on parent {net.parent!r} after {_MAC_RETRIES} draws")

    def _create_once(self) -> Link:
        net = self.net
        assert self.mac is not None
        for attempt in range(2):
            try:
                return net.host.create_macvlan(
                    self.ifname,
                    net._parent_index(),
                    net.mode,
                    mac=None if net.mode == MacvlanMode.PASSTHRU else self.mac,
                    mtu=net.mtu,
                    netns=self.ns,
                    group=net.link_group,
                )
            except LinkNotFound:
                net._forget_parent_index()  # the parent may have been re-created
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _mac_clash(self) -> None:
        if self.given_mac is not None or self.net.mode == MacvlanMode.PASSTHRU:
            raise MacInUse(
                f"MAC {self.mac} is already used on parent {self.net.parent!r}"
            ) from None
        self._new_mac()

    def _new_mac(self) -> None:
        store = self.net.store
        assert self.endpoint_id is not None
        with store.transaction():
            mac = MacAllocator(store.macs()).allocate()
            store.set_endpoint(self.endpoint_id, EndpointState.PENDING, self.owner, mac=mac)
        self.mac = mac

    def add_addresses(self) -> None:
        assert self.there is not None and self.link is not None
        for index, addr in sorted(self.addresses.items()):
            iface = self.net.subnets[index].interface(addr)
            self.there.add_address(self.link.index, iface, nodad=self.nodad and addr.version == 6)

    def add_routes(self) -> None:
        assert self.there is not None and self.link is not None
        if self.net.internal:
            return
        for index in sorted(self.addresses):
            gateway = self.net.subnets[index].gateway
            if gateway is not None:
                self.there.add_route("default", gateway=gateway, link=self.link.index)

    def add_lan(self) -> None:
        """DHCP lease and SLAAC (see :mod:`macvlan.network.lan`)."""
        if self.lan is not None:
            assert self.there is not None and self.link is not None and self.mac is not None
            assert self.endpoint_id is not None
            self.lan.after_up(self.there, self.link.index, self.mac, self.endpoint_id)

    def add_shim_routes(self) -> None:
        net = self.net
        shim = net._shim_row()
        if shim is None:
            return
        for addr in self.addresses.values():
            if net._shim_route(shim, addr, add=True):
                self._undo.append(functools.partial(net._shim_route, shim, addr, add=False))

    def commit(self) -> None:
        assert self.endpoint_id is not None and self.link is not None
        ok = self.net.store.set_endpoint(
            self.endpoint_id, EndpointState.ACTIVE, None, ifindex=self.link.index
        )
        if not ok:
            raise RuntimeError(f"endpoint record {self.endpoint_id} vanished while attaching")
