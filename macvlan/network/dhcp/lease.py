"""The :class:`Lease` value type: what a DHCP server granted an endpoint."""

from __future__ import annotations

import ipaddress
import math
import time

from macvlan._dataclass import dataclass
from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Lease"]


def _time(value: float) -> float | None:
    return None if math.isinf(value) else value


def _untime(value: object) -> float:
    return math.inf if value is None else float(value)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Lease:
    """A DHCPv4 lease; times are epoch seconds (``math.inf`` for an infinite lease).

    ``renew_at`` is T1 (renew with the server), ``rebind_at`` T2 (ask any server),
    ``expires`` the end of the lease.  ``lost`` is set on a lease the endpoint no
    longer holds (it ran out, or the server refused it and gave no other): its
    address and route are gone.
    """

    address: ipaddress.IPv4Interface
    server: ipaddress.IPv4Address
    router: ipaddress.IPv4Address | None
    dns: tuple[ipaddress.IPv4Address, ...]
    lease_time: int
    renew_at: float
    rebind_at: float
    expires: float
    lost: bool = False

    @property
    def expired(self) -> bool:
        """Whether the lease is over: lost, or past :attr:`expires` by the clock."""
        return self.lost or time.time() >= self.expires

    def to_dict(self) -> dict[str, Any]:
        """The lease as JSON-able data (None for the times of an infinite lease)."""
        return {
            "address": str(self.address),
            "server": str(self.server),
            "router": None if self.router is None else str(self.router),
            "dns": [str(d) for d in self.dns],
            "lease_time": self.lease_time,
            "renew_at": _time(self.renew_at),
            "rebind_at": _time(self.rebind_at),
            "expires": _time(self.expires),
            "expired": self.expired,
            "lost": self.lost,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lease:
        """The lease from :meth:`to_dict` data."""
        router = data.get("router")
        return cls(
            address=ipaddress.IPv4Interface(data["address"]),
            server=ipaddress.IPv4Address(data["server"]),
            router=None if router is None else ipaddress.IPv4Address(router),
            dns=tuple(ipaddress.IPv4Address(d) for d in data.get("dns", ())),
            lease_time=int(data["lease_time"]),
            renew_at=_untime(data.get("renew_at")),
            rebind_at=_untime(data.get("rebind_at")),
            expires=_untime(data.get("expires")),
            lost=bool(data.get("lost", False)),
        )
