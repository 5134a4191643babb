"""Networks in the manner of Docker's macvlan driver: ``Network``, ``Endpoint``, IPAM,
the SQLite store, the attach/detach/remove steps, reconcile and the host shim."""

from __future__ import annotations

from macvlan.errors import NetworkElsewhere
from macvlan.network.dhcp.lease import Lease
from macvlan.network.endpoint import Endpoint, Reconciled
from macvlan.network.networks import (
    AddressTaken,
    EndpointNotFound,
    IpamError,
    MacInUse,
    Network,
    NetworkConfigError,
    NetworkExists,
    NetworkInUse,
    NetworkNotFound,
    ParentInUse,
    PoolExhausted,
)
from macvlan.network.renewal import LeaseChange, LeaseKeeper, LeaseOutcome

__all__ = [
    "AddressTaken",
    "Endpoint",
    "EndpointNotFound",
    "IpamError",
    "Lease",
    "LeaseChange",
    "LeaseKeeper",
    "LeaseOutcome",
    "MacInUse",
    "Network",
    "NetworkConfigError",
    "NetworkElsewhere",
    "NetworkExists",
    "NetworkInUse",
    "NetworkNotFound",
    "ParentInUse",
    "PoolExhausted",
    "Reconciled",
]
