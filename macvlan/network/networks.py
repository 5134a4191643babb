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
import errno
import ipaddress
import os
import re
import threading
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from macvlan.connection import Connection
from macvlan.errors import (
    EndpointNotFound,
    LinkExists,
    LinkNotFound,
    NamespaceNotFound,
    NetworkConfigError,
    NetworkExists,
    NetworkInUse,
    NetworkNotFound,
    ParentInUse,
)
from macvlan.link import Link, MacvlanMode, check_ifname, check_mode, check_mtu
from macvlan.mac import MacAddress
from macvlan.namespace import Namespace
from macvlan.network import ipam, lan
from macvlan.network import ipam as _ipam  # create() has a keyword named ipam
from macvlan.network.attach import Attach, MacInUse
from macvlan.network.ipam import AddressTaken, IpamError, PoolExhausted, Subnet
from macvlan.network.lanstore import Tables
from macvlan.network.nsref import current_identity, open_namespace, ref_of, reopen, visible_macs
from macvlan.network.reconcile import reconcile
from macvlan.network.shim import host_len, make_shim, shim_name, shim_route, shim_row
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
from macvlan.network.teardown import delete_link
from macvlan.network.vlan import VlanParent, parse_vlan_parent

if TYPE_CHECKING:
    from macvlan.network.dhcp.lease import Lease
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

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What an attach did: the link, its addresses and where it lives."""

    network: str
    namespace: str  # name under /run/netns (or the path the namespace was opened from)
    ifname: str
    mac: MacAddress
    addresses: list[ipam.IPInterface]
    index: int | None  # ifindex inside the namespace
    id: int  # the endpoint's key in the store
    gateways: list[ipam.IPAddress]  # the default routes it got
    kind: EndpointKind = EndpointKind.CONTAINER
    lease: Lease | None = None  # the DHCP lease (None on networks without DHCP)


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What :meth:`Network.reconcile` cleaned up."""

    records_removed: int = 0
    links_deleted: int = 0


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
    try:
        return check_mtu(mtu)  # the library's one MTU rule
    except TypeError:
        raise
    except ValueError as exc:
        raise NetworkConfigError(str(exc)) from None


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


def _link_group(name: str) -> int:
    """A link group number tagging this network's links (2**30 .. 2**31 - 1)."""
    return 1 << 30 | zlib.crc32(name.encode()) & ((1 << 30) - 1)


class Network:
    """A macvlan network kept in a store; get one with :meth:`create`, :meth:`open`
    or :meth:`list`, and :meth:`close` it (or use it as a context manager)."""

    def __init__(self, row: NetworkRow, store: Store, *, owns_store: bool) -> None:
        self._row = row
        self.store = store
        self._owns_store = owns_store
        self._host: Connection | None = None
        self._hostns: Namespace | None = None
        self._parent_ix: int | None = None
        self._closed = False
        self._lock = threading.RLock()
        self._lan: LanOptions | None = None

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
        """The link group that tags this network's links (see :meth:`reconcile`)."""
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
        if self._host is not None:
            self._host.close()
        if self._hostns is not None:
            self._hostns.close()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def host(self) -> Connection:
        """A connection in the namespace where the parent lives."""
        if self._closed:
            raise ValueError(f"network {self.name!r}: this object is closed")
        with self._lock:
            if self._host is None:
                self._host = Connection(self.host_namespace)
            return self._host

    @property
    def host_namespace(self) -> Namespace:
        """The namespace where the parent lives."""
        with self._lock:
            if self._hostns is None:
                ref = self._row.netns
                if ref is None:
                    self._hostns = Namespace.current()
                else:
                    ns = reopen(ref)
                    if ns is None:
                        raise NamespaceNotFound(
                            errno.ENOENT,
                            f"network {self.name!r}: its namespace {ref.label!r} is gone",
                            ref.path,
                        )
                    self._hostns = ns
            return self._hostns

    def _host_namespace_or_none(self) -> Namespace | None:
        """The parent's namespace, or None if it is gone (and the shim with it)."""
        try:
            return self.host_namespace
        except NamespaceNotFound:
            return None

    def _parent_index(self) -> int:
        if self._parent_ix is None:
            self._parent_ix = self.host.link(self.parent).index
        return self._parent_ix

    def _forget_parent_index(self) -> None:
        self._parent_ix = None

    def _parent_mac(self) -> MacAddress:
        mac = self.host.link(self.parent).mac
        if mac is None:
            raise NetworkConfigError(f"parent {self.parent!r} has no MAC address")
        return mac

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
        ra_timeout: float = 10.0,
        arp_probe: float = 0.3,
    ) -> Network:
        """Create a network and record it in the store.

        ``parent`` is an existing link, or ``BASE.ID`` to create VLAN ``ID`` on
        ``BASE`` (removed with the last network using it).  ``subnets`` takes a list
        of dicts (``subnet``, ``gateway``, ``ip_range``, ``aux_addresses``) for dual
        stack.  ``netns`` is where the parent lives (default: here).  ``internal``
        networks get no default routes.  Everything is checked before anything is
        created.

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
        ref = None if hostns is None else ref_of(hostns)
        st = Store(store)
        try:
            with Connection(hostns) as host:
                parent_name, base = _resolve_parent(host, parent, vlan, mtu_)
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
                link_group=_link_group(name),
                state=NetworkState.CREATING if base else NetworkState.READY,
                owner=owner_token() if base else None,
            )
            with st.transaction():
                _check_free(st, row)
                st.add_network(row)
                Tables(st).set_options(name, options)
                if base is not None:
                    st.add_vlan(row.parent_key, row.owner)
            net = cls(row, st, owns_store=True)
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
                if not _users(self.store, self._row.parent_key):
                    self.store.delete_vlan(self._row.parent_key)
            self.close()
            raise
        with self.store.transaction():
            self.store.set_network_state(self.name, NetworkState.READY, None)
            self.store.set_vlan_owner(self._row.parent_key, None)
        self._row = self.store.network(self.name) or self._row

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
        net = cls(row, st, owns_store=True)
        try:
            if row.state is not NetworkState.READY and not owner_alive(row.owner):
                net._finish_abandoned()
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
        """Every ready network in the store."""
        st = Store(store)
        return [
            cls(row, st, owns_store=False)
            for row in st.networks()
            if row.state is NetworkState.READY
        ]

    # -- endpoints ---------------------------------------------------------------------
    def attach(
        self,
        namespace: Namespace | str,
        ifname: str = "eth0",
        ip: object = None,
        mac: object = None,
        *,
        nodad: bool = False,
        client_id: str | bytes | None = None,
        hostname: str | None = None,
        sysctls: object = None,
    ) -> Endpoint:
        """Give ``namespace`` a macvlan named ``ifname`` on this network.

        ``ip``: an address, or one per IP version, to ask for (else allocated);
        ``mac``: the MAC to use (else a random locally administered one, unique in
        the store and on the parent); ``nodad``: skip IPv6 duplicate address
        detection.  On a DHCP network the endpoint takes a lease (``client_id`` and
        ``hostname`` are sent, and kept for later attaches of the same namespace
        and ``ifname``); ``sysctls`` maps keys like ``net.ipv6.conf.IFNAME.accept_ra``
        to values, written before the interface comes up.  If any step fails,
        every earlier one is undone.
        """
        self._check_ready()
        check_ifname(ifname)
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
        ns, owned = open_namespace(namespace)
        try:
            return Attach(self, ns, ref_of(ns), ifname, requests, given, nodad, lan=extra).run()
        finally:
            if owned:
                ns.close()

    def endpoints(self) -> builtins.list[Endpoint]:
        """The attached endpoints (the host shim is :attr:`shim`)."""
        return [
            self._endpoint_of(r)
            for r in self.store.endpoints(self.name, EndpointKind.CONTAINER)
            if r.state is EndpointState.ACTIVE
        ]

    @property
    def shim(self) -> Endpoint | None:
        """The host shim endpoint (see :meth:`host_shim`), or None."""
        row = self._shim_row()
        return None if row is None else self._endpoint_of(row)

    def detach(self, endpoint: Endpoint | int, *, wait: bool = False) -> None:
        """Delete the endpoint's link and free its addresses and MAC.

        Returns once the kernel has announced the link's deletion; ``wait=True``
        also waits out the kernel's RCU grace period.  An endpoint whose namespace
        is gone just loses its record.
        """
        ep_id = endpoint.id if isinstance(endpoint, Endpoint) else endpoint
        if isinstance(ep_id, bool) or not isinstance(ep_id, int):
            raise TypeError(f"detach() takes an Endpoint or its id, not {endpoint!r}")
        row = self.store.endpoint(ep_id)
        if row is None or row.network != self.name:
            raise EndpointNotFound(f"network {self.name!r} has no endpoint {endpoint!r}")
        self._detach_row(row, wait)

    def _detach_row(self, row: EndpointRow, wait: bool = False) -> None:
        self.store.set_endpoint(row.id, EndpointState.DETACHING, owner_token())
        lan.before_detach(self, row)  # DHCPRELEASE while the link still exists
        self._teardown(row, wait)
        self.store.delete_endpoint(row.id)

    def _teardown(self, row: EndpointRow, wait: bool) -> bool:
        """Delete the row's link (and its shim routes); True if a link was deleted."""
        if row.kind is EndpointKind.SHIM:
            host = self._host_namespace_or_none()
            return host is not None and delete_link(host, row.ifindex, row.mac, wait=wait)
        shim = self._shim_row()
        if shim is not None:
            for _, addr in row.addresses:
                with contextlib.suppress(Exception):
                    self._shim_route(shim, addr, add=False)
        if row.netns is None:
            return False
        ns = reopen(row.netns)
        if ns is None:
            return False  # the namespace is gone, and its links with it
        with ns:
            return delete_link(ns, row.ifindex, row.mac, wait=wait)

    def _endpoint_of(self, row: EndpointRow) -> Endpoint:
        gateways = []
        if not self.internal and row.kind is EndpointKind.CONTAINER:
            gateways = [gw for i, _ in row.addresses if (gw := self.subnets[i].gateway) is not None]
        if row.netns is not None:
            where = row.netns.label
        else:
            where = self.netns or "(the parent's namespace)"
        interfaces = [
            self.subnets[i].interface(a)
            if row.kind is EndpointKind.CONTAINER
            else ipaddress.ip_interface((a, host_len(a)))
            for i, a in row.addresses
        ]
        lease, more, via = lan.extras(self, [row]).get(row.id, (None, [], []))
        return Endpoint(
            network=self.name,
            namespace=where,
            ifname=row.ifname,
            mac=row.mac,
            addresses=interfaces + more,
            index=row.ifindex,
            id=row.id,
            gateways=gateways + via,
            kind=row.kind,
            lease=lease,
        )

    # -- checks used by the attach steps -------------------------------------------------
    def _check_ready(self) -> None:
        if self._closed:
            raise ValueError(f"network {self.name!r}: this object is closed")
        current = self.store.network(self.name)
        if current is None:
            raise NetworkNotFound(f"network {self.name!r} is no longer in the store")
        if current.state is not NetworkState.READY:
            raise NetworkNotFound(f"network {self.name!r} is being {current.state.value[:-3]}ed")

    def _check_capacity(self) -> None:
        """Inside the allocation transaction: passthru takes one endpoint only."""
        if self.mode != MacvlanMode.PASSTHRU:
            return
        taken = self.store.endpoints(self.name, EndpointKind.CONTAINER)
        if taken:
            raise ParentInUse(
                f"passthru network {self.name!r} already has its one endpoint "
                f"({taken[0].ifname!r} in {taken[0].netns.label if taken[0].netns else '?'!r})"
            )

    def _check_mac_free(self, mac: MacAddress) -> None:
        if int(mac) in self.store.macs():
            raise MacInUse(f"MAC {mac} is already used by an endpoint in the store")
        where = visible_macs(self.host).get(mac)
        if where is not None:
            raise MacInUse(f"MAC {mac} is already used by link {where}")

    def host_shim(self, ip: object = None, *, ifname: str | None = None) -> Endpoint:
        """A bridge-mode macvlan on the parent, in the parent's namespace, with ``ip``
        (allocated if None) and host routes to every endpoint: the remedy for "the
        host cannot reach its macvlan children".  Removed with the network.
        """
        self._check_ready()
        if self.mode == MacvlanMode.PASSTHRU:
            raise NetworkConfigError(
                f"network {self.name!r} is passthru: its parent has room for no shim"
            )
        name = check_ifname(ifname or shim_name(self.name))
        requests = _ipam.parse_requests(ip, self.subnets)
        existing = self._shim_row()
        if existing is not None:
            have = {a for _, a in existing.addresses}
            if set(requests.values()) <= have:
                return self._endpoint_of(existing)
            raise NetworkConfigError(
                f"network {self.name!r} already has a host shim {existing.ifname!r} "
                f"with {sorted(map(str, have))}"
            )
        return self._endpoint_of(make_shim(self, name, requests))

    def _shim_row(self) -> EndpointRow | None:
        return shim_row(self)

    def _shim_route(self, shim: EndpointRow, addr: _ipam.IPAddress, *, add: bool) -> bool:
        return shim_route(self, shim, addr, add=add)

    # -- leases ----------------------------------------------------------------------
    def renew(self, *, force: bool = False) -> builtins.list[LeaseChange]:
        """Renew the leases that are due (T1: unicast to the server; T2: broadcast),
        remove the addresses of leases that ran out, apply changed addresses;
        ``force`` renews all now.  What changed, one :class:`LeaseChange` each."""
        from macvlan.network.renewal import renew

        self._check_ready()
        return renew(self, force=force)

    # -- removal and repair ------------------------------------------------------------
    def remove(self, force: bool = False) -> None:
        """Delete the network: its shim, its VLAN sub-interface if it was the last
        user, and its record.  Refused while endpoints exist unless ``force``, which
        detaches them first."""
        if self._closed:
            raise ValueError(f"network {self.name!r}: this object is closed")
        rows = self.store.endpoints(self.name)
        containers = [r for r in rows if r.kind is EndpointKind.CONTAINER]
        if containers and not force:
            names = ", ".join(
                f"{r.ifname} in {r.netns.label if r.netns else '?'}" for r in containers
            )
            raise NetworkInUse(
                f"network {self.name!r} has {len(containers)} endpoint(s) ({names}); "
                "detach them or use remove(force=True)"
            )
        self.store.set_network_state(self.name, NetworkState.REMOVING, owner_token())
        self._remove_all(rows)
        self.close()

    def _remove_all(self, rows: builtins.list[EndpointRow]) -> None:
        ordered = [r for r in rows if r.kind is EndpointKind.CONTAINER]
        ordered += [r for r in rows if r.kind is EndpointKind.SHIM]
        for row in ordered:
            self._detach_row(row)
        key = self._row.parent_key
        with self.store.transaction():
            self.store.delete_network(self.name)
            drop_vlan = self.store.vlan_owned(key) and not _users(self.store, key)
        if drop_vlan:
            if self._host_namespace_or_none() is not None:
                self.host.delete_link(self.parent, missing_ok=True)
            self.store.delete_vlan(key)

    def _finish_abandoned(self) -> None:
        """Complete the removal (or undo the creation) a dead process left half done."""
        self._remove_all(self.store.endpoints(self.name))

    def reconcile(self) -> Reconciled:
        """Bring the store and the kernel back in line after crashes.

        Pending or detaching endpoints whose process died lose their link (if it was
        made) and their record; active records whose namespace or link is gone are
        dropped; links tagged with this network's link group that no record
        claims are deleted.  Operations of live processes are left alone.
        """
        records, links = reconcile(self)
        return Reconciled(records, links)


def _users(store: Store, parent_key: str) -> int:
    return sum(1 for n in store.networks() if n.parent_key == parent_key)


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
