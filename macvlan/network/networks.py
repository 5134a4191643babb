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
import re

from macvlan.connection import Connection
from macvlan.errors import (
    AddressTaken,
    EndpointNotFound,
    IpamError,
    LinkExists,
    LinkNotFound,
    MacInUse,
    NetworkConfigError,
    NetworkExists,
    NetworkInUse,
    NetworkNotFound,
    ParentInUse,
    PoolExhausted,
)
from macvlan.link import Link, MacvlanMode, check_ifname, check_mode
from macvlan.mac import MacAddress
from macvlan.namespace import Namespace
from macvlan.network import ipam, lifecycle, proof
from macvlan.network.attach import Attach
from macvlan.network.context import Context
from macvlan.network.endpoint import Endpoint, Reconciled, endpoint_of
from macvlan.network.ipam import Subnet
from macvlan.network.nsref import current_identity, open_namespace, ref_of, unpin
from macvlan.network.reconcile import reconcile
from macvlan.network.shim import make_shim, shim_name
from macvlan.network.store import (
    EndpointKind,
    EndpointState,
    NetworkRow,
    NetworkState,
    Store,
    owner_alive,
    owner_token,
)
from macvlan.network.vlan import VlanParent, new_vlan, parse_vlan_parent

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

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a network name is a str, not {name!r}")
    if not _NAME.match(name):
        raise NetworkConfigError(
            f"network name {name!r} must start with a letter or digit and hold only "
            "letters, digits, '_', '.' and '-' (at most 128)"
        )
    return name


def _check_mtu(mtu: object) -> int | None:
    if mtu is None:
        return None
    if isinstance(mtu, bool) or not isinstance(mtu, int):
        raise TypeError(f"mtu must be an int, not {mtu!r}")
    if not 68 <= mtu <= 65535:
        raise NetworkConfigError(f"mtu={mtu} is outside 68..65535")
    return mtu


def _check_mac(mac: object) -> MacAddress:
    value = mac if isinstance(mac, MacAddress) else MacAddress(mac)  # type: ignore[arg-type]
    if not value.is_unicast or int(value) == 0:
        raise NetworkConfigError(f"MAC {mac!r} is not a unicast address")
    return value


def _mode(mode: object) -> MacvlanMode:
    value = check_mode(mode)
    if value == MacvlanMode.SOURCE:
        raise NetworkConfigError("mode 'source' needs per-link source MAC lists; not for networks")
    return value


def _check_ifname(ifname: object) -> str:
    name = check_ifname(ifname)
    if "%" in name:
        raise NetworkConfigError(
            f"interface name {name!r}: '%' is refused (the kernel would expand it)"
        )
    return name


def _check_metric(metric: object) -> int | None:
    if metric is None:
        return None
    if isinstance(metric, bool) or not isinstance(metric, int) or not 0 <= metric < 2**32:
        raise TypeError(f"gateway_metric must be an int in 0..2**32-1, not {metric!r}")
    return metric


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
    def subnet(self) -> ipam.IPNetwork:
        """The first subnet's prefix."""
        return self._row.subnets[0].network

    @property
    def gateway(self) -> ipam.IPAddress | None:
        """The first subnet's gateway, or None."""
        return self._row.subnets[0].gateway

    @property
    def netns(self) -> str | None:
        """The namespace the parent lives in (None: the caller's)."""
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
    ) -> Network:
        """Create a network and record it in the store.

        ``parent`` is an existing link, or ``BASE.ID`` to create VLAN ``ID`` on
        ``BASE`` (removed with the last network using it).  ``subnets`` takes a list
        of dicts (``subnet``, ``gateway``, ``ip_range``, ``aux_addresses``) for dual
        stack.  ``netns`` is where the parent lives (default: here; a namespace given
        by descriptor or /proc path is pinned so that other processes find it).
        ``internal`` networks get no default routes.  Everything is checked before
        anything is created.
        """
        _check_name(name)
        mode_ = _mode(mode)
        subnets_ = ipam.parse_subnets(subnet, gateway, ip_range, aux_addresses, subnets)
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
                    parent_key=f"{dev}:{ino}:{parent_name}",
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
                self.host._request(
                    new_vlan(vlan.name, base.index, vlan.vlan_id),
                    f"create VLAN {vlan.name!r} on {vlan.base!r} (needs the 8021q module)",
                )
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
        namespace: Namespace | str,
        ifname: str = "eth0",
        ip: object = None,
        mac: object = None,
        *,
        nodad: bool = False,
        gateway_metric: int | None = None,
    ) -> Endpoint:
        """Give ``namespace`` a macvlan named ``ifname`` on this network.

        ``ip``: an address, or one per IP version, to ask for (else allocated);
        ``mac``: the MAC to use (else a random locally administered one, unique in
        the store and on the parent); ``nodad``: skip IPv6 duplicate address
        detection; ``gateway_metric``: the metric of its default routes (else the
        kernel's default, or the next free one if another network's default route
        is there already: the first network wins).  If any step fails, every
        earlier one is undone.
        """
        self._check_open()
        _check_ifname(ifname)
        requests = ipam.parse_requests(ip, self.subnets)
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
        ns, owned = open_namespace(namespace)
        try:
            row = Attach(self.context, ns, ifname, requests, given, nodad, metric).run()
        finally:
            if owned:
                ns.close()
        return endpoint_of(self.context, row)

    def endpoints(self) -> builtins.list[Endpoint]:
        """The attached endpoints (the host shim is :attr:`shim`)."""
        return [
            endpoint_of(self.context, r)
            for r in self.store.endpoints(self.name, EndpointKind.CONTAINER)
            if r.state is EndpointState.ACTIVE
        ]

    @property
    def shim(self) -> Endpoint | None:
        """The host shim endpoint (see :meth:`host_shim`), or None."""
        row = self.context.shim_row()
        return None if row is None else endpoint_of(self.context, row)

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
        requests = ipam.parse_requests(ip, self.subnets)
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


def _resolve_parent(
    host: Connection, parent: str | int | Link, vlan: VlanParent | None, mtu: int | None
) -> tuple[str, Link | None]:
    """The parent's name, and the base link when a VLAN parent must be created."""
    try:
        link = host.link(parent)
    except LinkNotFound:
        link = None
    if link is None:
        if vlan is None:
            raise NetworkConfigError(f"parent link {parent!r} does not exist")
        try:
            base = host.link(vlan.base)
        except LinkNotFound:
            raise NetworkConfigError(
                f"parent {parent!r} does not exist, nor its VLAN base {vlan.base!r}"
            ) from None
        if mtu is not None and mtu > base.mtu:
            raise NetworkConfigError(f"mtu={mtu} exceeds the MTU {base.mtu} of {vlan.base!r}")
        return vlan.name, base
    if mtu is not None and mtu > link.mtu:
        raise NetworkConfigError(f"mtu={mtu} exceeds the MTU {link.mtu} of parent {link.name!r}")
    return link.name, None


def _check_free(store: Store, row: NetworkRow) -> None:
    """Inside the creating transaction: the name, the subnets and the parent are free."""
    if store.network(row.name) is not None:
        raise NetworkExists(f"network {row.name!r} already exists in store {store.path!r}")
    others = store.networks()
    ipam.check_disjoint(row.subnets, {o.name: o.subnets for o in others})
    for other in others:
        if other.parent_key != row.parent_key:
            continue
        if MacvlanMode.PASSTHRU in (row.mode, other.mode):
            raise ParentInUse(
                f"parent {row.parent!r} is used by network {other.name!r}; a passthru "
                "network takes its parent for itself alone"
            )
