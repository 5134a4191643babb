"""macvlan: give containers, VMs and test hosts their own MAC and IP on a LAN.

The names below are loaded on first use, so ``import macvlan`` stays light.
"""

from __future__ import annotations

import sys

from macvlan.errors import (
    AddressExists,
    AddressInUse,
    AddressNotFound,
    AddressTaken,
    CniConfigError,
    CniDecodeError,
    CniEnvError,
    CniError,
    CniVersionError,
    CommandFailed,
    DemoFailure,
    DeviceBusy,
    DhcpProtocolError,
    DumpInterrupted,
    EndpointNotFound,
    GatewayUnreachable,
    IpamError,
    LeaseDeclined,
    LeaseError,
    LeaseRefused,
    LeaseTimeout,
    LinkExists,
    LinkNotFound,
    MacAddressValueError,
    MacInUse,
    MacSpaceExhausted,
    MonitorOverflow,
    NamespaceNameError,
    NamespaceNameTypeError,
    NamespaceNotFound,
    NeighbourExists,
    NeighbourNotFound,
    NetlinkError,
    NetlinkPermissionError,
    NetworkConfigError,
    NetworkElsewhere,
    NetworkExists,
    NetworkInUse,
    NetworkNotFound,
    NotANamespaceError,
    ParentInUse,
    PoolExhausted,
    ProtocolError,
    RouteExists,
    RouteNotFound,
    RuleExists,
    RuleNotFound,
    SlaacTimeout,
    StoreError,
    SysctlError,
    SysctlNotFound,
    SysctlValueRejected,
    Terminated,
    UnsafeStore,
    UsageError,
)

__version__ = "0.1.0"

TYPE_CHECKING = False  # the front door loads only errors; see macvlan._typing

# public name -> module that defines it
_LAZY = {
    "MacAddress": "macvlan.mac",
    "MacFormat": "macvlan.mac",
    "SlapQuadrant": "macvlan.mac",
    "MacAllocator": "macvlan.macalloc",
    "Namespace": "macvlan.namespace",
    "Link": "macvlan.link",
    "OperState": "macvlan.link",
    "MacaddrMode": "macvlan.link",
    "MacvlanInfo": "macvlan.link",
    "MacvlanMode": "macvlan.link",
    "MacvlanFlags": "macvlan.link",
    "MacvlanSpec": "macvlan.link",
    "Address": "macvlan.address",
    "Route": "macvlan.route",
    "NextHop": "macvlan.route",
    "RouteType": "macvlan.route",
    "RtnhFlags": "macvlan.route",
    "Rule": "macvlan.rule",
    "RuleAction": "macvlan.rule",
    "Neighbour": "macvlan.neighbour",
    "NudState": "macvlan.neighbour",
    "NtfFlags": "macvlan.neighbour",
    "LinkStats": "macvlan.stats",
    "RouteEvent": "macvlan.monitor",
    "NeighbourEvent": "macvlan.monitor",
    "RuleEvent": "macvlan.monitor",
    "LinkEvent": "macvlan.monitor",
    "AddressEvent": "macvlan.monitor",
    "Connection": "macvlan.connection",
    "connect": "macvlan.connection",
    "Network": "macvlan.network",
    "Endpoint": "macvlan.network",
    "Reconciled": "macvlan.network",
    "Lease": "macvlan.network",
    "LeaseKeeper": "macvlan.network",
    "LeaseChange": "macvlan.network",
    "LeaseOutcome": "macvlan.network",
}

__all__ = [
    "Address",
    "AddressEvent",
    "AddressExists",
    "AddressInUse",
    "AddressNotFound",
    "AddressTaken",
    "CniConfigError",
    "CniDecodeError",
    "CniEnvError",
    "CniError",
    "CniVersionError",
    "CommandFailed",
    "Connection",
    "DemoFailure",
    "DeviceBusy",
    "DhcpProtocolError",
    "DumpInterrupted",
    "Endpoint",
    "EndpointNotFound",
    "GatewayUnreachable",
    "IpamError",
    "Lease",
    "LeaseChange",
    "LeaseDeclined",
    "LeaseError",
    "LeaseKeeper",
    "LeaseOutcome",
    "LeaseRefused",
    "LeaseTimeout",
    "Link",
    "LinkEvent",
    "LinkExists",
    "LinkNotFound",
    "LinkStats",
    "MacAddress",
    "MacAddressValueError",
    "MacAllocator",
    "MacFormat",
    "MacInUse",
    "MacSpaceExhausted",
    "MacaddrMode",
    "MacvlanFlags",
    "MacvlanInfo",
    "MacvlanMode",
    "MacvlanSpec",
    "MonitorOverflow",
    "Namespace",
    "NamespaceNameError",
    "NamespaceNameTypeError",
    "NamespaceNotFound",
    "Neighbour",
    "NeighbourEvent",
    "NeighbourExists",
    "NeighbourNotFound",
    "NetlinkError",
    "NetlinkPermissionError",
    "Network",
    "NetworkConfigError",
    "NetworkElsewhere",
    "NetworkExists",
    "NetworkInUse",
    "NetworkNotFound",
    "NextHop",
    "NotANamespaceError",
    "NtfFlags",
    "NudState",
    "OperState",
    "ParentInUse",
    "PoolExhausted",
    "ProtocolError",
    "Reconciled",
    "Route",
    "RouteEvent",
    "RouteExists",
    "RouteNotFound",
    "RouteType",
    "RtnhFlags",
    "Rule",
    "RuleAction",
    "RuleEvent",
    "RuleExists",
    "RuleNotFound",
    "SlaacTimeout",
    "SlapQuadrant",
    "StoreError",
    "SysctlError",
    "SysctlNotFound",
    "SysctlValueRejected",
    "Terminated",
    "UnsafeStore",
    "UsageError",
    "__version__",
    "connect",
]


# submodules reachable as attributes after a plain ``import macvlan``
_SUBMODULES = frozenset({"aio"})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return _import(f"macvlan.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'macvlan' has no attribute {name!r}")
    value = getattr(_import(module), name)
    globals()[name] = value
    return value


def _import(module: str) -> object:
    """The module, imported if need be (importlib itself would cost ~1 ms)."""
    __import__(module)
    return sys.modules[module]


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from typing import Any

    from macvlan.address import Address
    from macvlan.connection import Connection, connect
    from macvlan.link import (
        Link,
        MacaddrMode,
        MacvlanFlags,
        MacvlanInfo,
        MacvlanMode,
        MacvlanSpec,
        OperState,
    )
    from macvlan.mac import (
        MacAddress,
        MacFormat,
        SlapQuadrant,
    )
    from macvlan.macalloc import (
        MacAllocator,
    )
    from macvlan.monitor import AddressEvent, LinkEvent, NeighbourEvent, RouteEvent, RuleEvent
    from macvlan.namespace import (
        Namespace,
    )
    from macvlan.neighbour import Neighbour, NtfFlags, NudState
    from macvlan.network import (
        Endpoint,
        Lease,
        LeaseChange,
        LeaseKeeper,
        LeaseOutcome,
        Network,
        Reconciled,
    )
    from macvlan.route import NextHop, Route, RouteType, RtnhFlags
    from macvlan.rule import Rule, RuleAction
    from macvlan.stats import LinkStats
