"""macvlan: give containers, VMs and test hosts their own MAC and IP on a LAN.

The names below are loaded on first use, so ``import macvlan`` stays light.
"""

from __future__ import annotations

import sys

# the network layer's errors (macvlan.network)
from macvlan.errors import (
    AddressInUse,
    AddressNotFound,
    AddressTaken,
    CniConfigError,
    CniDecodeError,
    CniEnvError,
    CniError,
    CniVersionError,
    DeviceBusy,
    DumpInterrupted,
    EndpointNotFound,
    IpamError,
    LinkExists,
    LinkNotFound,
    MacInUse,
    MonitorOverflow,
    NamespaceNotFound,
    NetlinkError,
    NetlinkPermissionError,
    NetworkConfigError,
    NetworkExists,
    NetworkInUse,
    NetworkNotFound,
    ParentInUse,
    PoolExhausted,
    ProtocolError,
    StoreError,
    UnsafeStore,
)

__version__ = "0.1.0"

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms)

# public name -> module that defines it
_LAZY = {
    "MacAddress": "macvlan.mac",
    "MacAddressValueError": "macvlan.mac",
    "MacFormat": "macvlan.mac",
    "SlapQuadrant": "macvlan.mac",
    "MacAllocator": "macvlan.macalloc",
    "MacSpaceExhausted": "macvlan.macalloc",
    "Namespace": "macvlan.namespace",
    "NamespaceNameError": "macvlan.namespace",
    "NotANamespaceError": "macvlan.namespace",
    "Link": "macvlan.link",
    "OperState": "macvlan.link",
    "MacaddrMode": "macvlan.link",
    "MacvlanInfo": "macvlan.link",
    "MacvlanMode": "macvlan.link",
    "MacvlanFlags": "macvlan.link",
    "MacvlanSpec": "macvlan.link",
    "Address": "macvlan.address",
    "Route": "macvlan.route",
    "LinkEvent": "macvlan.monitor",
    "AddressEvent": "macvlan.monitor",
    "Connection": "macvlan.connection",
    "connect": "macvlan.connection",
    "Network": "macvlan.network",
    "Endpoint": "macvlan.network",
    "Reconciled": "macvlan.network",
}

__all__ = [
    "Address",
    "AddressEvent",
    "AddressInUse",
    "AddressNotFound",
    "AddressTaken",
    "CniConfigError",
    "CniDecodeError",
    "CniEnvError",
    "CniError",
    "CniVersionError",
    "Connection",
    "DeviceBusy",
    "DumpInterrupted",
    "Endpoint",
    "EndpointNotFound",
    "IpamError",
    "Link",
    "LinkEvent",
    "LinkExists",
    "LinkNotFound",
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
    "NamespaceNotFound",
    "NetlinkError",
    "NetlinkPermissionError",
    "Network",
    "NetworkConfigError",
    "NetworkExists",
    "NetworkInUse",
    "NetworkNotFound",
    "NotANamespaceError",
    "OperState",
    "ParentInUse",
    "PoolExhausted",
    "ProtocolError",
    "Reconciled",
    "Route",
    "SlapQuadrant",
    "StoreError",
    "UnsafeStore",
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
        MacAddressValueError,
        MacFormat,
        SlapQuadrant,
    )
    from macvlan.macalloc import (
        MacAllocator,
        MacSpaceExhausted,
    )
    from macvlan.monitor import AddressEvent, LinkEvent
    from macvlan.namespace import (
        Namespace,
        NamespaceNameError,
        NotANamespaceError,
    )
    from macvlan.network import Endpoint, Network, Reconciled
    from macvlan.route import Route
