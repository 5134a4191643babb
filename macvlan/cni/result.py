"""CNI results (an ADD's answer, an IPAM plugin's, a ``prevResult``) in the 1.x,
0.3/0.4 and 0.1/0.2 shapes."""

from __future__ import annotations

from macvlan._dataclass import dataclass
from macvlan.cni.errors import CniConfigError
from macvlan.cni.ip import AF_INET, AF_INET6, IP, Cidr
from macvlan.cni.jsonio import field
from macvlan.cni.netconf import parse_dns
from macvlan.cni.version import version_tuple


def _opt_uint(obj: dict[str, object], key: str, what: str) -> int | None:
    value = field(obj, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CniConfigError(f"{what} {key} must be a non-negative integer, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Interface:
    """One entry of a result's ``interfaces``."""

    name: str
    mac: str = ""
    sandbox: str = ""

    def to_json(self) -> dict[str, object]:
        """The entry as JSON data (empty ``mac`` and ``sandbox`` left out)."""
        out: dict[str, object] = {"name": self.name}
        if self.mac:
            out["mac"] = self.mac
        if self.sandbox:
            out["sandbox"] = self.sandbox
        return out


class IPConfig:
    """One entry of a result's ``ips``."""

    __slots__ = ("address", "gateway", "interface")

    def __init__(self, address: Cidr, gateway: IP | None, interface: int | None) -> None:
        self.address = address
        self.gateway = gateway
        self.interface = interface

    @classmethod
    def from_json(cls, obj: object, address_key: str = "address") -> IPConfig:
        """Read one ``ips`` entry; the address is under ``address_key``."""
        if not isinstance(obj, dict):
            raise CniConfigError(f"an ips entry must be an object, not {obj!r}")
        address = Cidr.parse(field(obj, address_key), f"ips {address_key}")
        gateway = field(obj, "gateway")
        return cls(
            address,
            None if gateway is None or gateway == "" else IP.parse(gateway, "gateway"),
            _opt_uint(obj, "interface", "ips"),
        )

    def to_json(self, with_version: bool) -> dict[str, object]:
        """The entry as JSON data, with the ``version`` field (0.3/0.4) if ``with_version``."""
        out: dict[str, object] = {}
        if with_version:
            out["version"] = str(self.address.version)
        if self.interface is not None:
            out["interface"] = self.interface
        out["address"] = str(self.address)
        if self.gateway is not None:
            out["gateway"] = str(self.gateway)
        return out


@dataclass(frozen=True, slots=True)
class Route:
    """One entry of a result's ``routes`` (1.1.0 adds mtu, advmss, priority, table, scope)."""

    dst: Cidr
    gw: IP | None = None
    mtu: int | None = None
    advmss: int | None = None
    priority: int | None = None
    table: int | None = None
    scope: int | None = None

    @classmethod
    def from_json(cls, obj: object) -> Route:
        """Read one ``routes`` entry."""
        if not isinstance(obj, dict):
            raise CniConfigError(f"a routes entry must be an object, not {obj!r}")
        dst = Cidr.parse(field(obj, "dst"), "route dst")
        gw = field(obj, "gw")
        return cls(
            dst,
            None if gw is None or gw == "" else IP.parse(gw, "route gw"),
            mtu=_opt_uint(obj, "mtu", "route"),
            advmss=_opt_uint(obj, "advmss", "route"),
            priority=_opt_uint(obj, "priority", "route"),
            table=_opt_uint(obj, "table", "route"),
            scope=_opt_uint(obj, "scope", "route"),
        )

    def to_json(self, extended: bool) -> dict[str, object]:
        """The entry as JSON data; the 1.1.0 fields only if ``extended``."""
        out: dict[str, object] = {"dst": str(self.dst)}
        if self.gw is not None:
            out["gw"] = str(self.gw)
        if extended:
            for key in ("mtu", "advmss", "priority"):
                value = getattr(self, key)
                if value:
                    out[key] = value
            if self.table is not None:
                out["table"] = self.table
            if self.scope is not None:
                out["scope"] = self.scope
        return out


class Result:
    """An ADD result (or an IPAM plugin's), whatever version it was written in."""

    __slots__ = ("dns", "interfaces", "ips", "routes")

    def __init__(
        self,
        interfaces: list[Interface] | None = None,
        ips: list[IPConfig] | None = None,
        routes: list[Route] | None = None,
        dns: dict[str, object] | None = None,
    ) -> None:
        self.interfaces = interfaces or []
        self.ips = ips or []
        self.routes = routes or []
        self.dns = dns or {}

    @classmethod
    def from_json(cls, obj: object, version: str) -> Result:
        """Read a result written for ``version`` (0.1/0.2: ``ip4``/``ip6``; else ``ips``)."""
        if not isinstance(obj, dict):
            raise CniConfigError(f"a result must be a JSON object, not {obj!r}")
        dns = parse_dns(field(obj, "dns"))
        if version_tuple(version) < (0, 3, 0):
            ips, routes = [], []
            for key in ("ip4", "ip6"):
                entry = field(obj, key)
                if entry is None:
                    continue
                ips.append(IPConfig.from_json(entry, "ip"))
                assert isinstance(entry, dict)
                for route in _list(field(entry, "routes"), f"{key}.routes"):
                    routes.append(Route.from_json(route))
            return cls([], ips, routes, dns)
        interfaces = []
        for entry in _list(field(obj, "interfaces"), "interfaces"):
            if not isinstance(entry, dict) or not isinstance(field(entry, "name") or "", str):
                raise CniConfigError(f"an interfaces entry must be an object, not {entry!r}")
            texts = [field(entry, k) for k in ("name", "mac", "sandbox")]
            name, mac, sandbox = (t if isinstance(t, str) else "" for t in texts)
            interfaces.append(Interface(name, mac, sandbox))
        ips = [IPConfig.from_json(e) for e in _list(field(obj, "ips"), "ips")]
        routes = [Route.from_json(e) for e in _list(field(obj, "routes"), "routes")]
        return cls(interfaces, ips, routes, dns)

    def to_json(self, version: str) -> dict[str, object]:
        """The result as the spec version ``version`` writes it."""
        out: dict[str, object] = {"cniVersion": version}
        number = version_tuple(version)
        if number < (0, 3, 0):
            # 0.1/0.2: the first address of each family, with that family's routes
            for family, key in ((AF_INET, "ip4"), (AF_INET6, "ip6")):
                ipc = next((i for i in self.ips if i.address.family == family), None)
                if ipc is None:
                    continue
                entry: dict[str, object] = {"ip": str(ipc.address)}
                if ipc.gateway is not None:
                    entry["gateway"] = str(ipc.gateway)
                routes = [r.to_json(False) for r in self.routes if r.dst.family == family]
                if routes:
                    entry["routes"] = routes
                out[key] = entry
            out["dns"] = dict(self.dns)
            return out
        if self.interfaces:
            out["interfaces"] = [i.to_json() for i in self.interfaces]
        if self.ips:
            out["ips"] = [i.to_json(number < (1, 0, 0)) for i in self.ips]
        if self.routes:
            out["routes"] = [r.to_json(number >= (1, 1, 0)) for r in self.routes]
        out["dns"] = dict(self.dns)
        return out


def _list(value: object, what: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CniConfigError(f"{what} must be a list, not {value!r}")
    return value
