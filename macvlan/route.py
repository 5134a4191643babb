"""Routes: the :class:`Route` snapshot and its requests (sans-IO)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from macvlan._netlink import requests, rta
from macvlan._netlink.attr import AttrList
from macvlan._netlink.constants import (
    AddrFamily,
    NlmF,
    RtmType,
    RtProto,
    RtScope,
    RtTable,
    RtType,
)
from macvlan._netlink.message import Message
from macvlan._netlink.structs import RtMsg
from macvlan.errors import ProtocolError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddr = ipaddress.IPv4Address | ipaddress.IPv6Address


def to_network(value: object, family_hint: int | None = None) -> Network:
    """``"default"`` (IPv4 unless the gateway says IPv6), a prefix, or an ip_network."""
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    if not isinstance(value, str):
        raise TypeError(f"a destination is a str like '10.1.0.0/16' or 'default', not {value!r}")
    if value == "default":
        return ipaddress.ip_network("::/0" if family_hint == 6 else "0.0.0.0/0")
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a destination prefix: {exc}") from None


def to_ip(value: object, what: str) -> IpAddr:
    """An IP address from a str (or an ip_address); ``what`` names it in errors."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{what} must be an IP address string, not {value!r}")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an IP address") from None


@dataclass(frozen=True, slots=True)
class Route:
    """One route, as the kernel reported it."""

    dst: Network
    gateway: IpAddr | None
    oif: int | None
    table: int
    protocol: RtProto | int
    scope: RtScope | int
    type: RtType | int
    metric: int | None = None
    prefsrc: IpAddr | None = None

    @property
    def is_default(self) -> bool:
        """True for a default route (prefix length 0)."""
        return self.dst.prefixlen == 0

    @classmethod
    def from_message(cls, message: Message) -> Route:
        """Build a snapshot from an ``RTM_NEWROUTE`` message."""
        body = message.body
        attrs = message.attrs
        if not isinstance(body, RtMsg) or not isinstance(attrs, AttrList):
            raise ValueError(f"not a decoded route message: {message!r}")
        dst = attrs.get(rta.DST)
        if dst is None:
            dst = ipaddress.ip_address("::" if body.family == AddrFamily.INET6 else "0.0.0.0")
        table = attrs.get(rta.TABLE)
        return cls(
            dst=_network(dst, body.dst_len),
            gateway=attrs.get(rta.GATEWAY),
            oif=attrs.get(rta.OIF),
            table=body.table if table is None else table,
            protocol=_enum(RtProto, body.protocol),
            scope=_enum(RtScope, body.scope),
            type=_enum(RtType, body.type),
            metric=attrs.get(rta.PRIORITY),
            prefsrc=attrs.get(rta.PREFSRC),
        )


def _network(dst: IpAddr, prefixlen: int) -> Network:
    try:
        return ipaddress.ip_network((dst, prefixlen), strict=False)
    except ValueError:
        raise ProtocolError(f"route to {dst} with impossible prefix length {prefixlen}") from None


def _enum(kind: Any, value: int) -> Any:
    try:
        return kind(value)
    except ValueError:
        return value


def route_message(
    mtype: RtmType,
    dst: Network,
    *,
    gateway: IpAddr | None,
    oif: int | None,
    metric: int | None,
    table: int | None,
    src: IpAddr | None,
    flags: int = 0,
) -> Message:
    """``RTM_NEWROUTE`` / ``RTM_DELROUTE`` for a unicast route."""
    family = AddrFamily.INET if dst.version == 4 else AddrFamily.INET6
    for addr, what in ((gateway, "gateway"), (src, "src")):
        if addr is not None and addr.version != dst.version:
            raise ValueError(f"{what} {addr} is not IPv{dst.version} like {dst}")
    table = RtTable.MAIN if table is None else table
    if not 0 < table < 2**32:
        raise ValueError(f"table {table} is outside 1..{2**32 - 1}")
    scope = RtScope.UNIVERSE if gateway is not None or oif is None else RtScope.LINK
    if mtype == RtmType.DELROUTE:
        scope = RtScope.NOWHERE
    return requests.route(
        mtype,
        family,
        dst.prefixlen,
        dst=dst.network_address.packed,
        gateway=None if gateway is None else gateway.packed,
        oif=oif,
        metric=metric,
        prefsrc=None if src is None else src.packed,
        table=table,
        protocol=RtProto.BOOT if mtype == RtmType.NEWROUTE else RtProto.UNSPEC,
        scope=scope,
        type=RtType.UNICAST,
        flags=flags,
    )


def new_route(dst: Network, **kw: Any) -> Message:
    """``RTM_NEWROUTE`` that fails if the route exists; keywords as :func:`route_message`."""
    return route_message(RtmType.NEWROUTE, dst, flags=NlmF.CREATE | NlmF.EXCL, **kw)


def del_route(dst: Network, **kw: Any) -> Message:
    """``RTM_DELROUTE``; keywords as :func:`route_message`."""
    return route_message(RtmType.DELROUTE, dst, **kw)


dump_routes = requests.dump_routes
