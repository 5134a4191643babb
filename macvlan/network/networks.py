"""Networks: Docker's macvlan driver as a library.

A :class:`Network` is a parent link (in the namespace where it lives), a macvlan
mode, an MTU and one or more subnets.  :meth:`Network.attach` gives a namespace its
own macvlan on that parent, with addresses from the subnets and default routes via
their gateways, and undoes every step if one fails.  State lives in one SQLite file
(:mod:`macvlan.network.store`): another process can open the network, see its endpoints and
detach them, and a process that died half-way is cleaned up after by the next one
that opens the network.

>>> net = Network.create("lan", parent="eth0", subnet="192.168.1.0/24",
...                      gateway="192.168.1.1")                  # doctest: +SKIP
>>> ep = net.attach("blue")                                      # doctest: +SKIP
>>> ep.addresses                                                 # doctest: +SKIP
[IPv4Interface('192.168.1.2/24')]
"""

from __future__ import annotations

import builtins
import contextlib
import os

from macvlan._typing import TYPE_CHECKING
from macvlan.connection import Connection
from macvlan.errors import (
    AddressTaken,
    EndpointNotFound,
    IpamError,
    LinkExists,
    MacInUse,
    NetworkConfigError,
    NetworkExists,
    NetworkInUse,
    NetworkNotFound,
    ParentInUse,
    PoolExhausted,
)
from macvlan.link import Link, MacvlanMode, check_ifname
from macvlan.namespace import Namespace
from macvlan.network import ipam as _ipam  # create() has a keyword named ipam
from macvlan.network import lan, lifecycle, proof
from macvlan.network.attach import Attach
from macvlan.network.checks import (
    check_free as _check_free,
)
from macvlan.network.checks import (
    check_mac as _check_mac,
)
from macvlan.network.checks import (
    check_metric as _check_metric,
)
from macvlan.network.checks import (
    check_mtu as _check_mtu,
)
from macvlan.network.checks import (
    check_name as _check_name,
)
from macvlan.network.checks import (
    endpoint_ifname as _check_ifname,
)
from macvlan.network.checks import (
    network_mode as _mode,
)
from macvlan.network.checks import (
    resolve_parent as _resolve_parent,
)
from macvlan.network.context import Context
from macvlan.network.endpoint import Endpoint, Reconciled, endpoint_of
from macvlan.network.ipam import Subnet
from macvlan.network.lanstore import Tables
from macvlan.network.nsref import current_identity, open_namespace, ref_of, unpin
from macvlan.network.reconcile import reconcile
from macvlan.network.rows import parent_key
from macvlan.network.shim import make_shim, shim_name, shim_route
from macvlan.network.store import (
    EndpointKind,
    EndpointRow,
    EndpointState,
    NetworkRow,
    NetworkState,
    Store,
    owner_alive,
    owner_token,
)
from macvlan.network.vlan import VlanParent, parse_vlan_parent

if TYPE_CHECKING:
    from macvlan.network.lanstore import LanOptions
    from macvlan.network.renewal import LeaseChange

__all__ = [
    "AddressTaken",
    "Endpoint",
    "EndpointNotFound",
    "IpamError",
    "MacInUse",
    "Network",
    "NetworkConfigError",
    "NetworkExists",
    "NetworkInUse",
    "NetworkNotFound",
    "ParentInUse",
    "PoolExhausted",
    "Reconciled",
]


class Network:
    """A macvlan network kept in a store; get one with :meth:`create`, :meth:`open`
    or :meth:`list`, and :meth:`close` it (or use it as a context manager).

    The steps (:mod:`~macvlan.network.attach`, :mod:`~macvlan.network.lifecycle`,
    :mod:`~macvlan.network.reconcile`, :mod:`~macvlan.network.shim`) work on its
    :attr:`context`; this class checks arguments and hands over.
    """

    def __init__(self, row: NetworkRow, store: Store, *, owns_store: bool = True) -> None:
        self.context = Context(store, row)
        self.store = store
        self._owns_store = owns_store
        self._closed = False
        self._lan: LanOptions | None = None
        self.context.before_detach = lambda row: lan.before_detach(self, row)

    @property
    def _row(self) -> NetworkRow:
        return self.context.row

    # -- what it is ----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The network's name in its store."""
        return self._row.name

    @property
    def parent(self) -> str:
        """The parent link's name (in :attr:`netns`)."""
        return self._row.parent

    @property
    def mtu(self) -> int | None:
        """The MTU of the network's links; None leaves them at the parent's."""
        return self._row.mtu

    @property
    def internal(self) -> bool:
        """Internal networks give their endpoints no default route."""
        return self._row.internal

    @property
    def link_group(self) -> int:
        """The link group that tags this network's links (with their alias)."""
        return self._row.link_group

    @property
    def mode(self) -> MacvlanMode:
        """The macvlan mode of attached links (the host shim is always ``bridge``)."""
        return MacvlanMode(self._row.mode)

    @property
    def subnets(self) -> tuple[Subnet, ...]:
        """All its subnets (:attr:`subnet` and :attr:`gateway` are the first one's)."""
        return self._row.subnets

    @property
    def subnet(self) -> _ipam.IPNetwork | None:
        """The first subnet's prefix (None: a DHCP network given no subnet)."""
        return self._row.subnets[0].network if self._row.subnets else None

    @property
    def gateway(self) -> _ipam.IPAddress | None:
        """The first subnet's gateway, or None."""
        return self._row.subnets[0].gateway if self._row.subnets else None

    @property
    def lan_options(self) -> LanOptions:
        """The network's DHCP, router-advertisement and sysctl settings."""
        if self._lan is None:
            self._lan = Tables(self.store).options(self.name)
        return self._lan

    @property
    def ipam(self) -> str:
        """``"default"`` (the built-in allocator) or ``"dhcp"``."""
        return self.lan_options.ipam

    @property
    def ipv6(self) -> str | None:
        """``"ra"`` when endpoints take IPv6 from router advertisements, else None."""
        return self.lan_options.ipv6

    @property
    def netns(self) -> Namespace | None:
        """The namespace the parent lives in, open, as :attr:`Connection.netns
        <macvlan.Connection.netns>` is (None: the caller's, wherever that is).

        Raises :class:`~macvlan.NamespaceNotFound` if it is gone;
        :attr:`netns_label` still names it then.
        """
        return None if self._row.netns is None else self.context.host_namespace

    @property
    def netns_label(self) -> str | None:
        """The name (under /run/netns) or path the parent's namespace was given by, as
        an :class:`Endpoint`'s ``netns`` is (None: the caller's)."""
        ref = self._row.netns
        return None if ref is None else ref.label

    def __repr__(self) -> str:
        subnets = ", ".join(str(s.network) for s in self.subnets)
        return (
            f"<macvlan.Network {self.name!r} parent={self.parent!r} "
            f"mode={self.mode.name.lower()} subnets=[{subnets}]>"
        )

    # -- lifetime --------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection, namespace and store this object holds."""
        if self._closed:
            return
        self._closed = True
        self.context.close()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def host(self) -> Connection:
        """A connection in the namespace where the parent lives."""
        return self.context.host

    @property
    def host_namespace(self) -> Namespace:
        """The namespace where the parent lives."""
        return self.context.host_namespace

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"network {self.name!r}: this object is closed")

    # -- creating, finding ---------------------------------------------------------------
    @classmethod
    def create(
        cls,
        name: str,
        parent: str | int | Link,
        subnet: object = None,
        gateway: object = None,
        mode: MacvlanMode | str = MacvlanMode.BRIDGE,
        ip_range: object = None,
        aux_addresses: object = None,
        mtu: int | None = None,
        store: str | os.PathLike[str] | None = None,
        *,
        subnets: object = None,
        internal: bool = False,
        netns: Namespace | str | None = None,
        ipam: str | None = None,
        ipv6: str | None = None,
        slaac: str | None = None,
        sysctls: object = None,
        dhcp_timeout: float = 10.0,
        ra_timeout: float = 20.0,
        arp_probe: float = 0.3,
    ) -> Network:
        """Create a network and record it in the store.

        ``parent`` is an existing link, or ``BASE.ID`` to create VLAN ``ID`` on
        ``BASE`` (removed with the last network using it).  ``subnets`` takes a list
        of dicts (``subnet``, ``gateway``, ``ip_range``, ``aux_addresses``) for dual
        stack.  ``netns`` is where the parent lives (default: here; a namespace given
        by descriptor or /proc path is pinned so that other processes find it).
        ``internal`` networks get no default routes.  Everything is checked before
        anything is created.

        ``ipam="dhcp"``: endpoints take their IPv4 address from the LAN's DHCP
        server (a subnet, if given, only checks what it hands out); ``ipv6="ra"``:
        from its router advertisements (``slaac="eui64"`` or ``"stable-privacy"``);
        ``sysctls``: per-endpoint defaults (see :meth:`attach`); ``dhcp_timeout``
        and ``ra_timeout``: how long an attach waits for a lease and for SLAAC;
        ``arp_probe``: how long it probes a leased address (0: not at all).
        """
        _check_name(name)
        mode_ = _mode(mode)
        no_subnet = subnet is None and subnets is None and gateway is None
        if ipam == "dhcp" and no_subnet:
            subnets_: tuple[Subnet, ...] = ()
        else:
            subnets_ = _ipam.parse_subnets(subnet, gateway, ip_range, aux_addresses, subnets)
        options = lan.network_options(
            ipam,
            ipv6,
            slaac,
            sysctls,
            dhcp_timeout,
            ra_timeout,
            arp_probe,
            has_v6_subnet=any(s.version == 6 for s in subnets_),
        )
        mtu_ = _check_mtu(mtu)
        if not isinstance(internal, bool):
            raise TypeError(f"internal must be a bool, not {internal!r}")
        if isinstance(parent, bool) or not isinstance(parent, str | int | Link):
            raise TypeError(f"parent must be a link name, index or Link, not {parent!r}")
        vlan = parse_vlan_parent(check_ifname(parent)) if isinstance(parent, str) else None
        hostns, owned = (None, False) if netns is None else open_namespace(netns)
        st = Store(store)
        try:
            with Connection(hostns) as host:
                parent_name, base = _resolve_parent(host, parent, vlan, mtu_)
            with st.transaction():
                ref = None if hostns is None else ref_of(hostns, st.id)
                dev, ino = current_identity() if ref is None else (ref.dev, ref.ino)
                row = NetworkRow(
                    name=name,
                    parent=parent_name,
                    parent_key=parent_key(dev, ino, parent_name),
                    netns=ref,
                    mode=int(mode_),
                    mtu=mtu_,
                    internal=internal,
                    subnets=subnets_,
                    link_group=proof.group(st.id, name),
                    state=NetworkState.CREATING if base else NetworkState.READY,
                    owner=owner_token() if base else None,
                )
                try:
                    _check_free(st, row)
                except BaseException:
                    if ref is not None and not st.namespace_users(ref.dev, ref.ino):
                        unpin(st.id, ref)
                    raise
                st.add_network(row)
                Tables(st).set_options(name, options)
                if base is not None:
                    st.add_vlan(row.parent_key, row.owner)
            net = cls(row, st)
        except BaseException:
            st.close()
            raise
        finally:
            if owned and hostns is not None:
                hostns.close()
        if base is not None:
            assert vlan is not None
            net._make_vlan(vlan, base)
        return net

    def _make_vlan(self, vlan: VlanParent, base: Link) -> None:
        made = False
        try:
            try:
                self.host.create_vlan(vlan.name, base.index, vlan.vlan_id)
                made = True
            except LinkExists:
                pass  # another process made it meanwhile; it is recorded as ours too
            self.host.set_link(vlan.name, up=True)
        except BaseException:
            if made:
                with contextlib.suppress(Exception):
                    self.host.delete_link(vlan.name, missing_ok=True)
            with self.store.transaction():
                self.store.delete_network(self.name)
                if not lifecycle.parent_users(self.store, self._row.parent_key):
                    self.store.delete_vlan(self._row.parent_key)
            self.close()
            raise
        with self.store.transaction():
            self.store.set_network_state(self.name, NetworkState.READY, None)
            self.store.set_vlan_owner(self._row.parent_key, None)
        self.context.row = self.store.network(self.name) or self._row

    @classmethod
    def open(cls, name: str, store: str | os.PathLike[str] | None = None) -> Network:
        """Open a network from the store, cleaning up after processes that died
        half-way (see :meth:`reconcile`)."""
        _check_name(name)
        st = Store(store)
        try:
            row = st.network(name)
            if row is None:
                raise NetworkNotFound(f"no network {name!r} in store {st.path!r}")
        except BaseException:
            st.close()
            raise
        net = cls(row, st)
        try:
            if row.state is not NetworkState.READY:
                if owner_alive(row.owner):
                    raise NetworkNotFound(
                        f"network {name!r} is being {row.state.value[:-3]}ed by process {row.owner}"
                    )
                lifecycle.finish_abandoned(net.context)
                raise NetworkNotFound(
                    f"network {name!r} was left half-{row.state.value[:-3]}ed by a process "
                    "that died; the leftovers are removed"
                )
            net.reconcile()
        except BaseException:
            net.close()
            raise
        return net

    @classmethod
    def list(cls, store: str | os.PathLike[str] | None = None) -> builtins.list[Network]:
        """Every ready network in the store (close each; the store is closed with the
        last of them)."""
        st = Store(store)
        try:
            rows = [row for row in st.networks() if row.state is NetworkState.READY]
            return [cls(row, st.share()) for row in rows]
        finally:
            st.close()

    # -- endpoints ---------------------------------------------------------------------
    def attach(
        self,
        netns: Namespace | str,
        ifname: str = "eth0",
        ip: object = None,
        mac: object = None,
        *,
        nodad: bool = False,
        gateway_metric: int | None = None,
        client_id: str | bytes | None = None,
        hostname: str | None = None,
        sysctls: object = None,
    ) -> Endpoint:
        """Give the namespace ``netns`` (a :class:`Namespace` or a name under /run/netns) a
        macvlan named ``ifname`` on this network.

        ``ip``: an address, or one per IP version, to ask for (else allocated);
        ``mac``: the MAC to use (else a random locally administered one, unique in
        the store and on the parent); ``nodad``: skip IPv6 duplicate address
        detection; ``gateway_metric``: the metric of its default routes (else the
        kernel's default, or the next free one if another network's default route
        is there already: the first network wins).  On a DHCP network the endpoint
        takes a lease (``client_id`` and ``hostname`` are sent, and kept for later
        attaches of the same namespace and ``ifname``); ``sysctls`` maps keys like
        ``net.ipv6.conf.IFNAME.accept_ra`` to values, written before the interface
        comes up.  If any step fails, every earlier one is undone.
        """
        self._check_open()
        _check_ifname(ifname)
        requests = _ipam.parse_requests(ip, self.subnets)
        extra = lan.prepare(self, client_id, hostname, sysctls)
        given = None if mac is None else _check_mac(mac)
        if given is not None and self.mode == MacvlanMode.PASSTHRU:
            raise NetworkConfigError(
                f"passthru endpoints take the MAC of parent {self.parent!r}; mac={mac!r} "
                "cannot be set"
            )
        if not isinstance(nodad, bool):
            raise TypeError(f"nodad must be a bool, not {nodad!r}")
        metric = _check_metric(gateway_metric)
        self.context.check_ready()  # a clear error before a namespace is opened
        ns, owned = open_namespace(netns)
        try:
            attach = Attach(self.context, ns, ifname, requests, given, nodad, metric)
            attach.v4_from_dhcp = self.lan_options.dhcp
            if extra is not None:
                label = ns.name or ns.path
                attach.lan = lan.LanAttach(self, extra, ns, label, ifname, attach.undo)
            row = attach.run()
        finally:
            if owned:
                ns.close()
        return self._endpoint(row)

    def _endpoint(self, row: EndpointRow) -> Endpoint:
        lease, more, via = lan.extras(self, [row]).get(row.id, (None, [], []))
        return endpoint_of(self.context, row, lease, more, via)

    def endpoints(self) -> builtins.list[Endpoint]:
        """The attached endpoints (the host shim is :attr:`shim`)."""
        return [
            self._endpoint(r)
            for r in self.store.endpoints(self.name, EndpointKind.CONTAINER)
            if r.state is EndpointState.ACTIVE
        ]

    @property
    def shim(self) -> Endpoint | None:
        """The host shim endpoint (see :meth:`host_shim`), or None."""
        row = self.context.shim_row()
        return None if row is None else endpoint_of(self.context, row)

    def _shim_row(self) -> EndpointRow | None:
        """The active shim's record (for the LAN hooks)."""
        return self.context.shim_row()

    def _shim_route(self, shim: EndpointRow, addr: _ipam.IPAddress, *, add: bool) -> bool:
        """Add or delete a host route via the shim (for the LAN hooks)."""
        return shim_route(self.context, shim, addr, add=add)

    def detach(self, endpoint: Endpoint | int, *, wait: bool = False) -> None:
        """Delete the endpoint's link and free its addresses and MAC.

        Returns once the kernel has announced the link's deletion; ``wait=True``
        also waits out the kernel's RCU grace period.  An endpoint whose namespace
        is gone just loses its record.  Only a link that carries this endpoint's
        proof (its alias) is deleted.
        """
        self._check_open()
        ep_id = endpoint.id if isinstance(endpoint, Endpoint) else endpoint
        if isinstance(ep_id, bool) or not isinstance(ep_id, int):
            raise TypeError(f"detach() takes an Endpoint or its id, not {endpoint!r}")
        lifecycle.detach(self.context, ep_id, wait)

    def host_shim(self, ip: object = None, *, ifname: str | None = None) -> Endpoint:
        """A bridge-mode macvlan on the parent, in the parent's namespace, with ``ip``
        (allocated if None) and host routes to every endpoint: the remedy for "the
        host cannot reach its macvlan children".  Removed with the network.
        """
        self._check_open()
        self.context.check_ready()
        if self.mode == MacvlanMode.PASSTHRU:
            raise NetworkConfigError(
                f"network {self.name!r} is passthru: its parent has room for no shim"
            )
        name = _check_ifname(ifname or shim_name(self.name))
        requests = _ipam.parse_requests(ip, self.subnets)
        existing = self.context.shim_row()
        if existing is not None:
            have = {a for _, a in existing.addresses}
            if set(requests.values()) <= have:
                return endpoint_of(self.context, existing)
            raise NetworkConfigError(
                f"network {self.name!r} already has a host shim {existing.ifname!r} "
                f"with {sorted(map(str, have))}"
            )
        return endpoint_of(self.context, make_shim(self.context, name, requests))

    # -- leases ----------------------------------------------------------------------
    def renew(self, *, force: bool = False) -> builtins.list[LeaseChange]:
        """Renew the leases that are due (T1: unicast to the server; T2: broadcast),
        remove the addresses of leases that ran out, apply changed addresses;
        ``force`` renews all now.  What changed, one :class:`LeaseChange` each."""
        from macvlan.network.renewal import renew

        self._check_open()
        self.context.check_ready()
        return renew(self, force=force)

    # -- removal and repair ------------------------------------------------------------
    def remove(self, force: bool = False) -> None:
        """Delete the network: its shim, its VLAN sub-interface if it was the last
        user, and its record.  Refused while endpoints exist (pending ones too)
        unless ``force``, which detaches them first; if a step fails the network is
        left ready, with what was detached detached."""
        self._check_open()
        lifecycle.remove(self.context, force)
        self.close()

    def reconcile(self) -> Reconciled:
        """Bring the store and the kernel back in line after crashes.

        Pending or detaching endpoints whose process died lose their link (if it
        carries their proof) and their record; active records whose namespace no
        longer exists anywhere, or whose link is gone, are dropped with their host
        routes; links whose alias names this store and network but no record are
        deleted.  Nothing without this store's proof is touched, and operations of
        live processes are left alone.
        """
        self._check_open()
        records, links = reconcile(self.context)
        return Reconciled(records, links)
