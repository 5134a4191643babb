"""IP address management for networks: subnets, gateways, ranges and allocation.

No I/O here: a :class:`Subnet` validates its configuration and picks free addresses
from sets of used ones; :mod:`macvlan.network.store` keeps the sets and
:mod:`macvlan.network` runs allocations inside store transactions.

Addresses are never handed out if they are the subnet's network address, its IPv4
broadcast address, its gateway or one of its auxiliary addresses (IPv4 /31 and /32
and IPv6 /127 and /128 have no network or broadcast address: RFC 3021, RFC 6164).
Dynamic allocation draws from ``ip_range`` (the whole subnet when
unset) and goes round-robin from the last address handed out, as Docker does, so
a freed address is not reused at once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

from macvlan import _argcheck
from macvlan._dataclass import dataclass
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import AddressTaken, IpamError, PoolExhausted

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "AddressTaken",
    "IpamError",
    "PoolExhausted",
    "Subnet",
    "parse_requests",
    "parse_subnets",
]

IPAddress = _argcheck.IPAddress
IPNetwork = _argcheck.IPNetwork
IPInterface = _argcheck.IPInterface


def _address(value: object, what: str) -> IPAddress:
    return _argcheck.address(value, what, (IpamError, IpamError))


def _network(value: object, what: str) -> IPNetwork:
    return _argcheck.network(value, what, (IpamError, IpamError))


def _aux(value: object) -> tuple[tuple[str, IPAddress], ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise IpamError(f"aux_addresses must be a mapping name -> address, not {value!r}")
    else:
        items = [(f"aux{i}", v) for i, v in enumerate(value)]
    out = []
    for name, addr in items:
        if not isinstance(name, str) or not name:
            raise IpamError(f"aux_addresses: name {name!r} is not a non-empty string")
        out.append((name, _address(addr, f"aux address {name!r}")))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Subnet:
    """One subnet of a network: its prefix, gateway, allocation range and reserved extras."""

    network: IPNetwork
    gateway: IPAddress | None = None
    ip_range: IPNetwork | None = None
    aux_addresses: tuple[tuple[str, IPAddress], ...] = ()

    @classmethod
    def parse(
        cls,
        subnet: object,
        gateway: object = None,
        ip_range: object = None,
        aux_addresses: object = None,
    ) -> Subnet:
        """Validate a subnet's settings; :class:`IpamError` quotes what is wrong."""
        network = _network(subnet, "subnet")
        gw = None if gateway is None else _address(gateway, "gateway")
        pool = None if ip_range is None else _network(ip_range, "ip_range")
        aux = _aux(aux_addresses)
        self = cls(network, gw, pool, aux)
        self._check()
        return self

    @classmethod
    def from_dict(cls, value: object) -> Subnet:
        """Accept ``{"subnet", "gateway", "ip_range", "aux_addresses"}`` (Docker's
        ``Subnet``/``Gateway``/``IPRange``/``AuxiliaryAddresses`` spellings too)."""
        if isinstance(value, Subnet):
            return value
        if not isinstance(value, Mapping):
            raise IpamError(f"a subnet is a dict like {{'subnet': '10.0.0.0/24'}}, not {value!r}")
        aliases = {
            "subnet": "subnet",
            "gateway": "gateway",
            "ip_range": "ip_range",
            "iprange": "ip_range",
            "aux_addresses": "aux_addresses",
            "auxiliaryaddresses": "aux_addresses",
        }
        kwargs: dict[str, Any] = {}
        for key, item in value.items():
            name = aliases.get(str(key).lower().replace("-", "_"))
            if name is None:
                raise IpamError(f"unknown subnet setting {key!r} in {dict(value)!r}")
            kwargs[name] = item
        if "subnet" not in kwargs:
            raise IpamError(f"subnet settings {dict(value)!r} lack 'subnet'")
        return cls.parse(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings that :meth:`from_dict` reads back."""
        out: dict[str, Any] = {"subnet": str(self.network)}
        if self.gateway is not None:
            out["gateway"] = str(self.gateway)
        if self.ip_range is not None:
            out["ip_range"] = str(self.ip_range)
        if self.aux_addresses:
            out["aux_addresses"] = {k: str(v) for k, v in self.aux_addresses}
        return out

    def _check(self) -> None:
        net = self.network
        if self.gateway is not None:
            self._check_member(self.gateway, "gateway")
            if int(self.gateway) in self._structural():
                raise IpamError(
                    f"gateway {self.gateway} is the network or broadcast address of {net}"
                )
        if self.ip_range is not None:
            pool = self.ip_range
            if pool.version != net.version or not pool.subnet_of(net):  # type: ignore[arg-type]
                raise IpamError(f"ip_range {pool} is not inside subnet {net}")
        seen: dict[IPAddress, str] = {}
        for name, addr in self.aux_addresses:
            self._check_member(addr, f"aux address {name!r}")
            if addr in seen:
                raise IpamError(f"aux addresses {seen[addr]!r} and {name!r} are both {addr}")
            seen[addr] = name

    def _check_member(self, addr: IPAddress, what: str) -> None:
        if addr.version != self.network.version or addr not in self.network:
            raise IpamError(f"{what} {addr} is outside subnet {self.network}")

    @property
    def version(self) -> int:
        """The subnet's IP version, 4 or 6."""
        return self.network.version

    @property
    def pool(self) -> IPNetwork:
        """Where dynamic addresses come from: ``ip_range``, else the whole subnet."""
        return self.ip_range if self.ip_range is not None else self.network

    def _structural(self) -> set[int]:
        net = self.network
        if net.prefixlen >= net.max_prefixlen - 1:  # /31, /32 (RFC 3021), /127, /128 (RFC 6164)
            return set()
        out = {int(net.network_address)}
        if net.version == 4:
            out.add(int(net.broadcast_address))
        return out

    def reserved(self) -> frozenset[int]:
        """Addresses never handed out: network, broadcast, gateway, aux (as ints)."""
        out = self._structural()
        if self.gateway is not None:
            out.add(int(self.gateway))
        out.update(int(a) for _, a in self.aux_addresses)
        return frozenset(out)

    def interface(self, addr: IPAddress) -> IPInterface:
        """``addr`` with this subnet's prefix length."""
        return ipaddress.ip_interface((addr, self.network.prefixlen))

    def check_request(self, addr: IPAddress, used: Iterable[int]) -> None:
        """Raise unless ``addr`` may be given out: inside, not reserved, not taken."""
        self._check_member(addr, "requested address")
        n = int(addr)
        if n in self._structural():
            raise IpamError(f"requested address {addr} is the network or broadcast address")
        if self.gateway is not None and n == int(self.gateway):
            raise IpamError(f"requested address {addr} is the gateway of {self.network}")
        for name, aux in self.aux_addresses:
            if n == int(aux):
                raise IpamError(f"requested address {addr} is reserved as aux address {name!r}")
        if n in set(used):
            raise AddressTaken(f"requested address {addr} is already in use in {self.network}")

    def allocate(self, used: Iterable[int], cursor: int | None = None) -> IPAddress:
        """The next free pool address after ``cursor`` (wrapping round).

        Raises :class:`PoolExhausted` when every pool address is used or reserved.
        """
        pool = self.pool
        first, last = int(pool.network_address), int(pool.broadcast_address)
        taken = {n for n in used if first <= n <= last}
        taken.update(n for n in self.reserved() if first <= n <= last)
        if len(taken) >= last - first + 1:
            raise PoolExhausted(pool, self.network)
        start = cursor + 1 if cursor is not None and first <= cursor < last else first
        n = start
        # a free address exists, so at most len(taken) + 1 steps are needed
        while n in taken:
            n = n + 1 if n < last else first
        return ipaddress.ip_address(n) if pool.version == 4 else ipaddress.IPv6Address(n)


def parse_subnets(
    subnet: object = None,
    gateway: object = None,
    ip_range: object = None,
    aux_addresses: object = None,
    subnets: object = None,
) -> tuple[Subnet, ...]:
    """A network's subnets from the single-subnet keywords or a ``subnets`` list.

    Refuses mixing both forms, no subnet at all, and subnets that overlap.
    """
    single = (subnet, gateway, ip_range, aux_addresses)
    if subnets is not None:
        if any(v is not None for v in single):
            raise IpamError(
                "give either subnet=/gateway=/ip_range=/aux_addresses= or subnets=[...], not both"
            )
        if isinstance(subnets, str | bytes | Mapping) or not isinstance(subnets, Iterable):
            raise IpamError(f"subnets must be a list of dicts, not {subnets!r}")
        out = tuple(Subnet.from_dict(s) for s in subnets)
    elif subnet is None:
        if any(v is not None for v in single):
            raise IpamError("gateway, ip_range and aux_addresses need a subnet")
        raise IpamError("a network needs a subnet (subnet='192.168.1.0/24') or subnets=[...]")
    else:
        out = (Subnet.parse(subnet, gateway, ip_range, aux_addresses),)
    if not out:
        raise IpamError("subnets=[] gives no subnet")
    check_disjoint(out)
    return out


def check_disjoint(
    subnets: Sequence[Subnet], others: Mapping[str, Sequence[Subnet]] | None = None
) -> None:
    """Raise if two of ``subnets`` overlap, or one overlaps another network's."""
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            if a.network.overlaps(b.network):
                raise IpamError(f"subnets {a.network} and {b.network} overlap")
    for name, theirs in (others or {}).items():
        for a in subnets:
            for b in theirs:
                if a.version == b.version and a.network.overlaps(b.network):
                    raise IpamError(f"subnet {a.network} overlaps {b.network} of network {name!r}")


def parse_requests(ip: object, subnets: Sequence[Subnet]) -> dict[int, IPAddress]:
    """Requested addresses (one, or a list for dual stack) by subnet index.

    Each must fall in one of ``subnets``, at most one per IP version.
    """
    if ip is None:
        return {}
    if isinstance(ip, str | ipaddress.IPv4Address | ipaddress.IPv6Address):
        items: list[object] = [ip]
    elif isinstance(ip, Iterable) and not isinstance(ip, bytes | Mapping):
        items = list(ip)
    else:
        raise IpamError(f"ip must be an address or a list of addresses, not {ip!r}")
    out: dict[int, IPAddress] = {}
    versions: dict[int, IPAddress] = {}
    for item in items:
        prefix = None
        if isinstance(item, str) and "/" in item:
            item = _argcheck.interface(item, "requested address", (IpamError, IpamError))  # noqa: PLW2901
        if isinstance(item, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
            addr: IPAddress = item.ip
            prefix = item.network
        else:
            addr = _address(item, "requested address")
        if addr.version in versions:
            raise IpamError(
                f"two IPv{addr.version} addresses requested: {versions[addr.version]}, {addr}"
            )
        versions[addr.version] = addr
        for index, sub in enumerate(subnets):
            if addr.version == sub.version and addr in sub.network:
                if prefix is not None and prefix != sub.network:
                    raise IpamError(
                        f"requested address {item} does not match the prefix of subnet "
                        f"{sub.network}"
                    )
                sub.check_request(addr, ())  # reserved ones are refused before any I/O
                out[index] = addr
                break
        else:
            nets = ", ".join(str(s.network) for s in subnets)
            raise IpamError(f"requested address {addr} is in none of the subnets ({nets})")
    return out


def plan(
    subnets: Sequence[Subnet],
    requests: Mapping[int, IPAddress],
    used: Mapping[int, set[int]],
    cursors: Mapping[int, int],
) -> dict[int, IPAddress]:
    """One address per IP version: the requested one, else the first free one found
    in that version's subnets in order.  ``used`` and ``cursors`` are by subnet index.
    """
    out: dict[int, IPAddress] = {}
    for version in sorted({s.version for s in subnets}):
        indexes = [i for i, s in enumerate(subnets) if s.version == version]
        asked = [i for i in indexes if i in requests]
        if asked:
            i = asked[0]
            subnets[i].check_request(requests[i], used.get(i, set()))
            out[i] = requests[i]
            continue
        exhausted: PoolExhausted | None = None
        for i in indexes:
            try:
                out[i] = subnets[i].allocate(used.get(i, set()), cursors.get(i))
                break
            except PoolExhausted as exc:
                exhausted = exhausted or exc
        else:
            assert exhausted is not None
            raise exhausted
    return out
