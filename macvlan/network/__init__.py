"""Networks in the manner of Docker's macvlan driver: ``Network``, ``Endpoint``, IPAM,
the SQLite store, the attach/detach/remove steps, reconcile and the host shim.

The names below are loaded on first use: ``macvlan.Network`` loads the network steps
but not the lease keeper (nor the DHCP client it drives) until a program asks for it.
"""

from __future__ import annotations

import sys

from macvlan._typing import TYPE_CHECKING
from macvlan.errors import (
    AddressTaken,
    EndpointNotFound,
    IpamError,
    MacInUse,
    NetworkConfigError,
    NetworkElsewhere,
    NetworkExists,
    NetworkInUse,
    NetworkNotFound,
    ParentInUse,
    PoolExhausted,
)

# public name -> module that defines it
_LAZY = {
    "Lease": "macvlan.network.dhcp.lease",
    "Endpoint": "macvlan.network.endpoint",
    "Reconciled": "macvlan.network.endpoint",
    "Network": "macvlan.network.networks",
    "LeaseChange": "macvlan.network.renewal",
    "LeaseKeeper": "macvlan.network.renewal",
    "LeaseOutcome": "macvlan.network.renewal",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'macvlan.network' has no attribute {name!r}")
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from typing import Any

    from macvlan.network.dhcp.lease import Lease
    from macvlan.network.endpoint import Endpoint, Reconciled
    from macvlan.network.networks import Network
    from macvlan.network.renewal import LeaseChange, LeaseKeeper, LeaseOutcome
