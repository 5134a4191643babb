"""Checks of what :class:`~macvlan.network.Network` is given, all before any I/O
(but the parent's lookup), and the free-ness checks inside the creating transaction."""

from __future__ import annotations

from macvlan._lazyre import LazyPattern
from macvlan.connection import Connection
from macvlan.errors import LinkNotFound, NetworkConfigError, NetworkExists, ParentInUse
from macvlan.link import Link, MacvlanMode, check_ifname, check_mode
from macvlan.link import check_mtu as link_mtu
from macvlan.mac import MacAddress
from macvlan.network import ipam as _ipam
from macvlan.network.store import NetworkRow, Store
from macvlan.network.vlan import VlanParent

__all__ = [
    "check_free",
    "check_mac",
    "check_metric",
    "check_mtu",
    "check_name",
    "endpoint_ifname",
    "network_mode",
    "resolve_parent",
]

_NAME = LazyPattern(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_name(name: object) -> str:
    """A network name: a letter or digit, then letters, digits, '_', '.', '-'."""
    if not isinstance(name, str):
        raise TypeError(f"a network name is a str, not {name!r}")
    if not _NAME.match(name):
        raise NetworkConfigError(
            f"network name {name!r} must start with a letter or digit and hold only "
            "letters, digits, '_', '.' and '-' (at most 128)"
        )
    return name


def check_mtu(mtu: object) -> int | None:
    """An MTU in 68..65535, or None."""
    if mtu is None:
        return None
    try:
        return link_mtu(mtu)  # the library's one MTU rule (macvlan.link.MTU_MIN..MTU_MAX)
    except TypeError:
        raise
    except ValueError as exc:
        raise NetworkConfigError(str(exc)) from None


def check_mac(mac: object) -> MacAddress:
    """A given endpoint MAC: any MAC form, unicast and not zero."""
    value = mac if isinstance(mac, MacAddress) else MacAddress(mac)  # type: ignore[arg-type]
    if not value.is_unicast or int(value) == 0:
        raise NetworkConfigError(f"MAC {mac!r} is not a unicast address")
    return value


def network_mode(mode: object) -> MacvlanMode:
    """A macvlan mode a network can use (not ``source``)."""
    value = check_mode(mode)
    if value == MacvlanMode.SOURCE:
        raise NetworkConfigError("mode 'source' needs per-link source MAC lists; not for networks")
    return value


def endpoint_ifname(ifname: object) -> str:
    """An endpoint's interface name: valid, and no '%' (the kernel would expand it)."""
    name = check_ifname(ifname)
    if "%" in name:
        raise NetworkConfigError(
            f"interface name {name!r}: '%' is refused (the kernel would expand it)"
        )
    return name


def check_metric(metric: object) -> int | None:
    """A default-route metric (``gateway_metric=``), or None."""
    if metric is None:
        return None
    if isinstance(metric, bool) or not isinstance(metric, int) or not 0 <= metric < 2**32:
        raise TypeError(f"gateway_metric must be an int in 0..2**32-1, not {metric!r}")
    return metric


def resolve_parent(
    host: Connection, parent: str | int | Link, vlan: VlanParent | None, mtu: int | None
) -> tuple[str, Link | None]:
    """The parent's name, and the base link when a VLAN parent must be created."""
    try:
        link = host.link(parent)
    except LinkNotFound:
        link = None
    if link is None:
        if vlan is None:
            raise NetworkConfigError(f"parent link {parent!r} does not exist")
        try:
            base = host.link(vlan.base)
        except LinkNotFound:
            raise NetworkConfigError(
                f"parent {parent!r} does not exist, nor its VLAN base {vlan.base!r}"
            ) from None
        if mtu is not None and mtu > base.mtu:
            raise NetworkConfigError(f"mtu={mtu} exceeds the MTU {base.mtu} of {vlan.base!r}")
        return vlan.name, base
    if mtu is not None and mtu > link.mtu:
        raise NetworkConfigError(f"mtu={mtu} exceeds the MTU {link.mtu} of parent {link.name!r}")
    return link.name, None


def check_free(store: Store, row: NetworkRow) -> None:
    """Inside the creating transaction: the name, the subnets and the parent are free."""
    if store.network(row.name) is not None:
        raise NetworkExists(f"network {row.name!r} already exists in store {store.path!r}")
    others = store.networks()
    _ipam.check_disjoint(row.subnets, {o.name: o.subnets for o in others})
    for other in others:
        if other.parent_key != row.parent_key:
            continue
        if MacvlanMode.PASSTHRU in (row.mode, other.mode):
            raise ParentInUse(
                f"parent {row.parent!r} is used by network {other.name!r}; a passthru "
                "network takes its parent for itself alone"
            )
