"""Endpoints that live on the LAN like real hosts: the hooks that
:class:`~macvlan.network.Network` and its attach steps call for DHCPv4 leases,
IPv6 from router advertisements and per-endpoint sysctls.

Everything an attach is given is checked by :func:`prepare` before anything is
created; :class:`LanAttach` then writes the sysctls before the interface comes up
(:meth:`~LanAttach.before_up`), takes a lease and waits for SLAAC after
(:meth:`~LanAttach.after_up`), and leaves undo steps with the attach.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import time
from collections.abc import Callable, Mapping

from macvlan._dataclass import dataclass, replace
from macvlan._lazyre import LazyPattern
from macvlan._typing import TYPE_CHECKING
from macvlan.connection import Connection
from macvlan.errors import LeaseError
from macvlan.namespace import Namespace
from macvlan.network import slaac as slaac_
from macvlan.network import sysctl
from macvlan.network.dhcp.lease import Lease
from macvlan.network.lanstore import Identity, LanOptions, Tables
from macvlan.network.sysctl import SysctlKey

if TYPE_CHECKING:
    from typing import Any

    from macvlan.mac import MacAddress
    from macvlan.network.networks import Network
    from macvlan.network.store import EndpointRow

__all__ = ["LanAttach", "network_options", "prepare"]

_HOSTNAME = LazyPattern(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")
_IPAMS = ("default", "dhcp")


def network_options(
    ipam: object,
    ipv6: object,
    slaac: object,
    sysctls: object,
    dhcp_timeout: object,
    ra_timeout: object = 20.0,
    arp_probe: object = 0.3,
    *,
    has_v6_subnet: bool,
) -> LanOptions:
    """Check ``Network.create``'s LAN keywords (no I/O but the sysctl trial)."""
    ipam_ = "default" if ipam is None else ipam
    if ipam_ not in _IPAMS:
        raise ValueError(f"ipam must be 'default' or 'dhcp', not {ipam!r}")
    if ipv6 not in (None, "ra"):
        raise ValueError(f"ipv6 must be None or 'ra', not {ipv6!r}")
    if ipv6 == "ra" and has_v6_subnet:
        raise ValueError("ipv6='ra' takes addresses from the router; give no IPv6 subnet with it")
    mode = slaac_.AddrGenMode.parse("eui64" if slaac is None else slaac)
    checked = sysctl.parse(sysctls)
    sysctl.check(checked)
    dhcp_s = _seconds("dhcp_timeout", dhcp_timeout, 0.5, 600)
    ra_s = _seconds("ra_timeout", ra_timeout, 0.5, 600)
    probe_s = _seconds("arp_probe", arp_probe, 0, 10)
    return LanOptions(
        ipam=str(ipam_),
        ipv6=None if ipv6 is None else str(ipv6),
        slaac=mode.value,
        sysctls=tuple((k.name, v) for k, v in checked.items()),
        dhcp_timeout=dhcp_s,
        ra_timeout=ra_s,
        probe_time=probe_s,
    )


def _seconds(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside {low:g}..{high:g} s")
    return float(value)


def _client_id(value: object) -> bytes | None:
    """``client_id=``: bytes as they are, a str of hex pairs ("01:02:..") as
    those bytes, any other str as opaque text (type 0)."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str):
        text = value.strip()
        import re  # here: only a client id given as text needs it

        if re.fullmatch(r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2})+", text):
            raw = bytes.fromhex(re.sub("[:-]", "", text))
        else:
            raw = b"\0" + text.encode("utf-8")
    else:
        raise TypeError(f"client_id must be bytes or str, not {value!r}")
    if not 2 <= len(raw) <= 255:
        raise ValueError(f"client_id must be 2 to 255 bytes, not {len(raw)}")
    return raw


def _hostname(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 253 or not _HOSTNAME.match(value):
        raise ValueError(f"hostname {value!r} is not a valid host name (RFC 1123 labels)")
    return value


def derived_client_id(network: str, name: str) -> bytes:
    """RFC 4361 client id (type 255, IAID, DUID-UUID) derived from the network and
    endpoint name, so it is the same at every attach of that name."""
    try:
        with open("/etc/machine-id", "rb") as f:
            machine = f.read().strip()
    except OSError:
        machine = b""
    import hashlib  # here: some 2 ms, for DHCP endpoints only

    digest = hashlib.sha256(
        b"macvlan dhcp\0" + machine + b"\0" + network.encode() + b"\0" + name.encode()
    ).digest()
    return b"\xff" + digest[:4] + b"\x00\x04" + digest[4:20]


@dataclass(frozen=True, slots=True)
class LanRequest:
    """An attach's checked LAN keywords."""

    client_id: bytes | None
    hostname: str | None
    sysctls: dict[SysctlKey, str]


def prepare(
    net: Network, client_id: object, hostname: object, sysctls: object
) -> LanRequest | None:
    """Check an attach's LAN keywords before anything is created; None when the
    network and the attach need none of it."""
    options = net.lan_options
    cid = _client_id(client_id)
    host = _hostname(hostname)
    if (cid is not None or host is not None) and not options.dhcp:
        raise ValueError(f"client_id and hostname need a DHCP network; {net.name!r} is not one")
    checked = sysctl.parse(sysctls)
    sysctl.check(checked)
    if not (options.dhcp or options.ipv6 or options.sysctls or checked or _has_v6(net)):
        return None
    return LanRequest(cid, host, checked)


def _has_v6(net: Network) -> bool:
    return any(s.version == 6 for s in net.subnets)


def endpoint_name(ns_label: str, ifname: str) -> str:
    """What names an endpoint across attaches: its namespace and interface."""
    return f"{ns_label}/{ifname}"


class LanAttach:
    """The LAN steps of one attach; undo steps go to ``undo``."""

    def __init__(
        self,
        net: Network,
        request: LanRequest,
        ns: Namespace,
        ns_label: str,
        ifname: str,
        undo: list[Callable[[], object]],
    ) -> None:
        self.net = net
        self.request = request
        self.ns = ns
        self.ifname = ifname
        self.name = endpoint_name(ns_label, ifname)
        self.undo = undo
        self.lease: Lease | None = None
        self.slaac: slaac_.Slaac | None = None

    def sysctls(self) -> dict[SysctlKey, str]:
        """Presets, then the network's, then the attach's (later wins)."""
        options = self.net.lan_options
        layers: list[Mapping[SysctlKey, str]] = []
        if options.ipv6 == "ra":
            mode = slaac_.AddrGenMode.parse(options.slaac)
            layers.append(slaac_.presets(mode, f"{self.net.name}/{self.name}"))
        elif _has_v6(self.net):
            layers.append(slaac_.static_presets())
        layers.append(sysctl.parse(dict(options.sysctls)))
        layers.append(self.request.sysctls)
        return sysctl.merge(*layers)

    def before_up(self, link_name: str) -> None:
        """Write the sysctls for the new, still down, interface (named ``link_name``
        until it is renamed; the values stay with the interface)."""
        sysctl.apply(self.ns, link_name, self.sysctls())

    def after_up(self, there: Connection, index: int, mac: MacAddress, endpoint_id: int) -> None:
        """Take a lease, apply it, wait for SLAAC; record both."""
        options = self.net.lan_options
        tables = Tables(self.net.store)
        if options.dhcp:
            self._lease(tables, there, index, mac, endpoint_id)
        if options.ipv6 == "ra":
            self.slaac = slaac_.wait(there, index, options.ra_timeout, route=not self.net.internal)
        self._shim_routes()
        if self.lease is not None or self.slaac is not None:
            tables.set_lease(
                endpoint_id,
                self.name,
                self.lease,
                "bound" if self.lease is not None else "none",
                None if self.slaac is None else _slaac_dict(self.slaac),
            )

    def _shim_routes(self) -> None:
        """Host routes via the network's shim to the leased and SLAAC addresses."""
        shim = self.net._shim_row()
        if shim is None:
            return
        for addr in _addresses(self.lease, self.slaac):
            if self.net._shim_route(shim, addr, add=True):
                self.undo.append(functools.partial(self.net._shim_route, shim, addr, add=False))

    def _lease(
        self, tables: Tables, there: Connection, index: int, mac: MacAddress, endpoint_id: int
    ) -> None:
        net = self.net
        options = net.lan_options
        known = tables.identity(net.name, self.name)
        cid = self.request.client_id or (known.client_id if known else None)
        cid = cid or derived_client_id(net.name, self.name)
        host = self.request.hostname or (known.hostname if known else None)
        last = None if known is None or known.last_address is None else known.last_address
        from macvlan.network.dhcp.client import Client  # the DHCP stack, for DHCP only
        from macvlan.network.dhcp.transport import acquire

        client = Client(
            mac, cid, host, requested=None if last is None else ipaddress.IPv4Address(last)
        )
        lease = acquire(
            self.ns,
            self.ifname,
            client,
            timeout=options.dhcp_timeout,
            probe_time=options.probe_time,
        )
        there.add_address(index, lease.address)  # first: a RELEASE is sent from it
        self.undo.append(lambda: release(self.ns, self.ifname, mac, cid, lease))
        check_in_subnets(net, lease)
        if lease.router is not None and not net.internal:
            there.add_route("default", gateway=lease.router, link=index)
        with net.store.transaction():
            tables.set_identity(net.name, self.name, Identity(cid, host, str(lease.address.ip)))
        self.lease = lease


def _addresses(lease: Lease | None, slaac: slaac_.Slaac | dict[str, Any] | None) -> list[Any]:
    out: list[Any] = [] if lease is None else [lease.address.ip]
    if isinstance(slaac, slaac_.Slaac):
        out.append(slaac.address.ip)
    elif slaac is not None:
        out.append(ipaddress.IPv6Interface(slaac["address"]).ip)
    return out


def check_in_subnets(net: Network, lease: Lease) -> None:
    """A DHCP network given IPv4 subnets accepts only leases inside them."""
    v4 = [s.network for s in net.subnets if s.version == 4]
    if v4 and not any(lease.address.ip in n for n in v4):
        raise LeaseError(
            f"DHCP server {lease.server} handed out {lease.address}, outside the network's "
            f"subnets ({', '.join(map(str, v4))})"
        )


def _slaac_dict(result: slaac_.Slaac) -> dict[str, Any]:
    return {
        "address": str(result.address),
        "router": None if result.router is None else str(result.router),
    }


def release(ns: Namespace, ifname: str, mac: MacAddress, client_id: bytes, lease: Lease) -> None:
    """Send a DHCPRELEASE for ``lease`` (best effort: nothing answers a RELEASE)."""
    from macvlan.network.dhcp.client import Client
    from macvlan.network.dhcp.transport import UdpTransport

    client = Client(mac, client_id)
    with contextlib.suppress(OSError), UdpTransport(ns, ifname) as transport:
        transport.send(client.release(lease, time.time()))


def extras(
    net: Network, rows: list[EndpointRow]
) -> dict[int, tuple[Lease | None, list[Any], list[Any]]]:
    """For each endpoint row with a LAN record: its lease, the addresses and the
    gateways the lease and SLAAC gave it (an expired lease gives none)."""
    if not rows:
        return {}
    tables = Tables(net.store)
    out: dict[int, tuple[Lease | None, list[Any], list[Any]]] = {}
    for ep, record in tables.records([r.id for r in rows]).items():
        addresses: list[Any] = []
        gateways: list[Any] = []
        lease = record.lease
        if lease is not None and record.state != "bound":
            lease = replace(lease, lost=True)
        if lease is not None and record.state == "bound":
            addresses.append(lease.address)
            if lease.router is not None and not net.internal:
                gateways.append(lease.router)
        if record.slaac is not None:
            addresses.append(ipaddress.IPv6Interface(record.slaac["address"]))
            if record.slaac.get("router"):
                gateways.append(ipaddress.IPv6Address(record.slaac["router"]))
        out[ep] = (lease, addresses, gateways)
    return out


def before_detach(net: Network, row: EndpointRow) -> None:
    """Send a DHCPRELEASE for the endpoint's lease, if it holds one (best effort)."""
    from macvlan.network.nsref import reopen
    from macvlan.network.store import EndpointKind

    if row.kind is not EndpointKind.CONTAINER or row.netns is None or row.ifindex is None:
        return
    tables = Tables(net.store)
    record = tables.record(row.id)
    if record is None:
        return
    shim = net._shim_row()
    if shim is not None:
        for addr in _addresses(record.lease, record.slaac):
            with contextlib.suppress(Exception):
                net._shim_route(shim, addr, add=False)
    if record.lease is None or record.state != "bound":
        return
    ident = tables.identity(net.name, record.name)
    if ident is None:
        return
    ns = reopen(row.netns)
    if ns is None:
        return
    with ns, contextlib.suppress(OSError), Connection(ns) as there:
        ifname = there.link(row.ifindex).name
        release(ns, ifname, row.mac, ident.client_id, record.lease)
