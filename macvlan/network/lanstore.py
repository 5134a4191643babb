"""The store's tables for LAN-host endpoints: network options, leases and the
client identities that outlive an endpoint.

They sit beside the tables of :mod:`macvlan.network.store` in the same SQLite file,
created on first use (``CREATE TABLE IF NOT EXISTS``), and go with the rows they
hang on (``ON DELETE CASCADE``): a network's options and identities with the
network, an endpoint's lease with the endpoint.
"""

from __future__ import annotations

from _weakrefset import WeakSet  # weakref.WeakSet itself, without weakref's 1 ms

from macvlan._dataclass import dataclass
from macvlan._typing import TYPE_CHECKING
from macvlan.network.dhcp.lease import Lease
from macvlan.network.store import Store

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Identity", "LanOptions", "LeaseRecord", "Tables"]

_TABLES = (
    """CREATE TABLE IF NOT EXISTS lan_networks (
        network TEXT PRIMARY KEY REFERENCES networks(name) ON DELETE CASCADE,
        options TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS lan_endpoints (
        endpoint INTEGER PRIMARY KEY REFERENCES endpoints(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        lease TEXT,
        state TEXT NOT NULL,
        slaac TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS lan_identities (
        network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,
        name TEXT NOT NULL,
        client_id TEXT NOT NULL,
        hostname TEXT,
        last_address TEXT,
        PRIMARY KEY (network, name)
    )""",
)

_READY: WeakSet[Store] = WeakSet()


@dataclass(frozen=True, slots=True)
class LanOptions:
    """A network's settings for LAN-host endpoints (the defaults: none of it)."""

    ipam: str = "default"  # or "dhcp"
    ipv6: str | None = None  # or "ra"
    slaac: str = "eui64"  # or "stable-privacy"
    sysctls: tuple[tuple[str, str], ...] = ()  # (key as written, value)
    dhcp_timeout: float = 10.0
    probe_time: float = 0.3
    ra_timeout: float = 20.0

    @property
    def dhcp(self) -> bool:
        """Whether endpoints take their IPv4 address from a DHCP server."""
        return self.ipam == "dhcp"

    def to_json(self) -> str:
        """JSON text of the options."""
        import json  # here: some 1.5 ms (with re), for programs that use a store

        return json.dumps(
            {
                "ipam": self.ipam,
                "ipv6": self.ipv6,
                "slaac": self.slaac,
                "sysctls": [list(p) for p in self.sysctls],
                "dhcp_timeout": self.dhcp_timeout,
                "probe_time": self.probe_time,
                "ra_timeout": self.ra_timeout,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> LanOptions:
        """The options from :meth:`to_json` text."""
        import json

        data = json.loads(text)
        return cls(
            ipam=data.get("ipam", "default"),
            ipv6=data.get("ipv6"),
            slaac=data.get("slaac", "eui64"),
            sysctls=tuple((k, v) for k, v in data.get("sysctls", ())),
            dhcp_timeout=float(data.get("dhcp_timeout", 10.0)),
            probe_time=float(data.get("probe_time", 0.3)),
            ra_timeout=float(data.get("ra_timeout", 20.0)),
        )


@dataclass(frozen=True, slots=True)
class Identity:
    """How an endpoint name shows itself to DHCP servers, kept across attaches."""

    client_id: bytes
    hostname: str | None
    last_address: str | None


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """An endpoint's lease and SLAAC result as stored."""

    endpoint: int
    name: str
    lease: Lease | None
    state: str  # "bound", "expired"
    slaac: dict[str, Any] | None


class Tables:
    """The LAN tables of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        if store not in _READY:
            with store.transaction():
                for sql in _TABLES:
                    store._run(sql)
            _READY.add(store)

    # -- network options ---------------------------------------------------------------
    def set_options(self, network: str, options: LanOptions) -> None:
        """Record a network's options (inside the creating transaction)."""
        self.store._run(
            "INSERT OR REPLACE INTO lan_networks (network, options) VALUES (?, ?)",
            (network, options.to_json()),
        )

    def options(self, network: str) -> LanOptions:
        """A network's options (the defaults if none were recorded)."""
        rows = self.store._all("SELECT options FROM lan_networks WHERE network = ?", (network,))
        return LanOptions.from_json(rows[0][0]) if rows else LanOptions()

    # -- identities ----------------------------------------------------------------------
    def identity(self, network: str, name: str) -> Identity | None:
        """The identity recorded for an endpoint name, or None."""
        rows = self.store._all(
            "SELECT client_id, hostname, last_address FROM lan_identities"
            " WHERE network = ? AND name = ?",
            (network, name),
        )
        if not rows:
            return None
        client_id, hostname, last = rows[0]
        return Identity(bytes.fromhex(client_id), hostname, last)

    def set_identity(self, network: str, name: str, identity: Identity) -> None:
        """Record (or replace) the identity of an endpoint name."""
        self.store._run(
            "INSERT OR REPLACE INTO lan_identities"
            " (network, name, client_id, hostname, last_address) VALUES (?,?,?,?,?)",
            (network, name, identity.client_id.hex(), identity.hostname, identity.last_address),
        )

    # -- leases --------------------------------------------------------------------------
    def set_lease(
        self,
        endpoint: int,
        name: str,
        lease: Lease | None,
        state: str,
        slaac: dict[str, Any] | None = None,
    ) -> None:
        """Record an endpoint's lease (and SLAAC result)."""
        import json

        self.store._run(
            "INSERT OR REPLACE INTO lan_endpoints (endpoint, name, lease, state, slaac)"
            " VALUES (?,?,?,?,?)",
            (
                endpoint,
                name,
                None if lease is None else json.dumps(lease.to_dict()),
                state,
                None if slaac is None else json.dumps(slaac),
            ),
        )

    def record(self, endpoint: int) -> LeaseRecord | None:
        """What is stored for that endpoint, or None."""
        rows = self.store._all(
            "SELECT endpoint, name, lease, state, slaac FROM lan_endpoints WHERE endpoint = ?",
            (endpoint,),
        )
        return _record(rows[0]) if rows else None

    def records(self, endpoints: list[int]) -> dict[int, LeaseRecord]:
        """What is stored for these endpoints, by id."""
        if not endpoints:
            return {}
        marks = ",".join("?" * len(endpoints))
        rows = self.store._all(
            "SELECT endpoint, name, lease, state, slaac FROM lan_endpoints"
            f" WHERE endpoint IN ({marks})",
            endpoints,
        )
        return {r[0]: _record(r) for r in rows}


def _record(row: Any) -> LeaseRecord:
    import json

    endpoint, name, lease, state, slaac = row
    return LeaseRecord(
        endpoint=endpoint,
        name=name,
        lease=None if lease is None else Lease.from_dict(json.loads(lease)),
        state=state,
        slaac=None if slaac is None else json.loads(slaac),
    )
