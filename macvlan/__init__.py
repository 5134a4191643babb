"""macvlan: give containers, VMs and test hosts their own MAC and IP on a LAN.

The names below are loaded on first use, so ``import macvlan`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from macvlan.errors import (
    AddressInUse,
    AddressNotFound,
    DeviceBusy,
    DumpInterrupted,
    LinkExists,
    LinkNotFound,
    MonitorOverflow,
    NamespaceNotFound,
    NetlinkError,
    NetlinkPermissionError,
    ProtocolError,
)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "MacAddress": "macvlan.mac",
    "MacAddressValueError": "macvlan.mac",
    "SlapQuadrant": "macvlan.mac",
    "MacAllocator": "macvlan.macalloc",
    "MacSpaceExhausted": "macvlan.macalloc",
    "Namespace": "macvlan.namespace",
    "Link": "macvlan.link",
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
}

__all__ = [
    "AddressInUse",
    "AddressNotFound",
    "DeviceBusy",
    "DumpInterrupted",
    "LinkExists",
    "LinkNotFound",
    "MonitorOverflow",
    "NamespaceNotFound",
    "NetlinkError",
    "NetlinkPermissionError",
    "ProtocolError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'macvlan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from macvlan.address import Address
    from macvlan.connection import Connection, connect
    from macvlan.link import Link, MacvlanFlags, MacvlanInfo, MacvlanMode, MacvlanSpec
    from macvlan.mac import MacAddress, MacAddressValueError, SlapQuadrant
    from macvlan.macalloc import MacAllocator, MacSpaceExhausted
    from macvlan.monitor import AddressEvent, LinkEvent
    from macvlan.namespace import Namespace
    from macvlan.network import Endpoint, Network
