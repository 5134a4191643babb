"""Routes: the :class:`Route` and :class:`NextHop` snapshots and their requests (sans-IO).

A route read back names its fields as :meth:`Connection.add_route` takes them:
``link`` (the outgoing link's index) and ``src`` (the preferred source address).
``oif`` and ``prefsrc`` remain as read-only aliases.
"""

from __future__ import annotations

import ipaddress
import struct
import sys
from typing import Any, NamedTuple

from macvlan import _argcheck
from macvlan._argcheck import IPNetwork
from macvlan._dataclass import dataclass
from macvlan._dumpparse import FAST_ADDRESSES, Plan, find, layout, new_address, strict_values
from macvlan._intcheck import check_int, member
from macvlan._netlink import requests, rta
from macvlan._netlink.attr import Attr, AttrList, RawAttr
from macvlan._netlink.constants import (
    AddrFamily,
    NlmF,
    RtmType,
    RtnhFlags,
    RtProto,
    RtScope,
    RtTable,
    RtType,
)
from macvlan._netlink.message import Message, iter_messages
from macvlan._netlink.structs import RtMsg
from macvlan.errors import ProtocolError

__all__ = ["NextHop", "Route", "RouteType", "RtnhFlags"]

IpAddr = _argcheck.IPAddress
#: The route types (``RTN_*``): ``RouteType.BLACKHOLE``, ``RouteType.UNREACHABLE``, ...
RouteType = RtType

_ORDER = sys.byteorder
_V6_FAMILIES = (int(AddrFamily.INET6), 129)  # 129: RTNL_FAMILY_IP6MR
_V4NET, _V6NET = ipaddress.IPv4Network, ipaddress.IPv6Network
_TYPES = {int(t): t for t in RtType}
_PROTOS = {int(p): p for p in RtProto}
_SCOPES = {int(s): s for s in RtScope}
_DST, _GATEWAY, _OIF, _PRIORITY, _PREFSRC, _TABLE, _MULTIPATH = (
    s.number
    for s in (rta.DST, rta.GATEWAY, rta.OIF, rta.PRIORITY, rta.PREFSRC, rta.TABLE, rta.MULTIPATH)
)
# Types whose routes have no next hop: the kernel drops, refuses or throws.
_NO_NEXTHOP = frozenset({RtType.BLACKHOLE, RtType.UNREACHABLE, RtType.PROHIBIT, RtType.THROW})


def to_network(value: object, family_hint: int | None = None) -> IPNetwork:
    """``"default"`` (IPv4 unless the gateway says IPv6), a prefix, or an ip_network."""
    if value == "default":
        return ipaddress.ip_network("::/0" if family_hint == 6 else "0.0.0.0/0")
    return _argcheck.network(value, "destination", host_ok=True)


def to_ip(value: object, what: str) -> IpAddr:
    """An IP address from a str (or an ip_address); ``what`` names it in errors."""
    return _argcheck.address(value, what)


def to_route_type(value: object) -> RtType:
    """A :class:`RouteType` from the enum or its name (``"blackhole"``)."""
    names = ", ".join(t.name.lower() for t in RtType if t)
    return member(RtType, value, "route type", choices=names)


def _u32(name: str, value: object, low: int = 0) -> int:
    return check_int(name, value, low, 2**32 - 1)


@dataclass(frozen=True, slots=True)
class NextHop:
    """One next hop of a multipath route.

    Given to :meth:`Connection.add_route` (``nexthops=[NextHop("10.0.0.1", "mv0"), ...]``),
    ``gateway`` may be a string and ``link`` a name or a :class:`Link`; read back
    from the kernel they are an ip_address and a link index.
    """

    gateway: IpAddr | None = None
    link: Any = None
    weight: int = 1
    flags: RtnhFlags = RtnhFlags.NONE

    def __post_init__(self) -> None:
        if self.gateway is not None and not isinstance(
            self.gateway, ipaddress.IPv4Address | ipaddress.IPv6Address
        ):
            object.__setattr__(self, "gateway", to_ip(self.gateway, "gateway"))
        if isinstance(self.weight, bool) or not isinstance(self.weight, int):
            raise TypeError(f"weight must be an int, not {self.weight!r}")
        if not 1 <= self.weight <= 256:
            raise ValueError(f"weight {self.weight} is outside 1..256")
        if not isinstance(self.flags, RtnhFlags):
            object.__setattr__(self, "flags", RtnhFlags(_u32("flags", self.flags) & 0xFF))

    @property
    def onlink(self) -> bool:
        """Whether the gateway is taken as on the link without a covering route."""
        return bool(self.flags & RtnhFlags.ONLINK)

    @classmethod
    def from_rtnh(cls, hop: rta.RtNexthop) -> NextHop:
        """The next hop in one decoded ``rtnexthop`` record."""
        attrs = hop.attrs
        gateway = attrs.get(rta.GATEWAY) if isinstance(attrs, AttrList) else None
        return cls(
            gateway=gateway,
            link=hop.ifindex or None,
            weight=hop.hops + 1,
            flags=RtnhFlags(hop.flags),
        )


@strict_values
class Route(NamedTuple):
    """One route, as the kernel reported it (an immutable, typed named tuple).

    ``link`` is the outgoing link's index and ``src`` the preferred source
    address (``RTA_PREFSRC``).  A multipath route has its hops in ``nexthops``
    (and ``gateway``/``link`` None); a one-hop route has ``nexthops == ()``.
    A route equals only another route with the same fields, not a plain tuple.
    """

    dst: IPNetwork
    gateway: IpAddr | None
    link: int | None
    table: int
    protocol: RtProto | int
    scope: RtScope | int
    type: RtType | int
    metric: int | None = None
    src: IpAddr | None = None
    nexthops: tuple[NextHop, ...] = ()
    flags: RtnhFlags = RtnhFlags.NONE

    @property
    def is_default(self) -> bool:
        """True for a default route (prefix length 0)."""
        return self.dst.prefixlen == 0

    @property
    def onlink(self) -> bool:
        """Whether the route was added ``onlink`` (``RTNH_F_ONLINK``)."""
        return bool(self.flags & RtnhFlags.ONLINK)

    @property
    def oif(self) -> int | None:
        """The outgoing link's index: the old name of :attr:`link`."""
        return self.link

    @property
    def prefsrc(self) -> IpAddr | None:
        """The preferred source address: the old name of :attr:`src`."""
        return self.src

    @classmethod
    def from_message(cls, message: Message) -> Route:
        """Build a snapshot from an ``RTM_NEWROUTE`` message."""
        body, attrs = message.decoded(RtMsg, "route")
        raw = attrs.raw
        v6 = body.family in _V6_FAMILIES
        dst = raw(_DST)
        size = 16 if v6 else 4
        plen = body.dst_len
        if dst is None:
            dst_int = 0
        elif len(dst) == size:
            dst_int = int.from_bytes(dst, "big")
        else:
            raise ProtocolError(f"route destination of {len(dst)} bytes in family {body.family}")
        try:
            network = (_V6NET if v6 else _V4NET)((dst_int, plen), strict=False)
        except ValueError:
            raise ProtocolError(f"route with impossible prefix length {plen}") from None
        table = raw(_TABLE)
        metric = raw(_PRIORITY)
        oif = raw(_OIF)
        hops: tuple[NextHop, ...] = ()
        if raw(_MULTIPATH) is not None:
            decoded = attrs.get(rta.MULTIPATH)
            if decoded:
                hops = tuple(NextHop.from_rtnh(h) for h in decoded)
        return cls(
            network,
            _addr(raw(_GATEWAY), size),
            int.from_bytes(oif, _ORDER) or None if oif is not None and len(oif) == 4 else None,
            int.from_bytes(table, _ORDER) if table is not None and len(table) == 4 else body.table,
            _PROTOS.get(body.protocol, body.protocol),
            _SCOPES.get(body.scope, body.scope),
            _TYPES.get(body.type, body.type),
            int.from_bytes(metric, _ORDER) if metric is not None and len(metric) == 4 else None,
            _addr(raw(_PREFSRC), size),
            hops,
            _rtnh_flags(body.flags & 0xFF),
        )


# the netlink header and struct rtmsg: length, type, family, dst_len, table,
# protocol, scope, type, flags
_HEAD = struct.Struct("=IH10xBBxxBBBBI")
_V4ADDR, _V6ADDR = ipaddress.IPv4Address, ipaddress.IPv6Address
Template = tuple[Any, int]  # a prefix length's netmask, and the mask as an int


def _templates(cls: Any, bits: int) -> list[Template]:
    """Per prefix length, the parts of a ``cls`` network but its address.

    Building an ``ip_network`` costs some 2 us (argument parsing, the netmask
    cache); a dump makes one per route.  A network is its ``network_address``,
    ``netmask`` and ``_prefixlen`` (set in this order), and an address its
    ``_ip``: an object given these three is the value the constructor makes.
    Only where that holds (checked here, for this Python's ``ipaddress``) and
    below the two longest prefixes (whose ``hosts`` the constructor binds to the
    instance); else the list is empty and the constructors are used.
    """
    if not FAST_ADDRESSES:
        return []
    out: list[Template] = []
    for plen in range(bits - 1):
        real = cls(((1 << bits) - 1 << (bits - plen) & (1 << bits) - 1, plen))
        if list(vars(real)) != ["network_address", "netmask", "_prefixlen"]:
            return []
        probe = object.__new__(cls)
        probe.network_address = new_address(type(real.network_address), int(real.network_address))
        probe.netmask = real.netmask
        probe._prefixlen = plen
        same = (probe == real, hash(probe) == hash(real), str(probe) == str(real))
        if not all(same) or vars(probe) != vars(real):
            return []
        if probe.broadcast_address != real.broadcast_address:
            return []
        out.append((real.netmask, int(real.netmask)))
    return out


_V4_TEMPLATES = _templates(ipaddress.IPv4Network, 32)
_V6_TEMPLATES = _templates(ipaddress.IPv6Network, 128)
_V4_WANTED = {_TABLE: "I", _DST: "4s", _GATEWAY: "4s", _OIF: "I", _PRIORITY: "I"}
_V4_WANTED |= {_PREFSRC: "4s", _MULTIPATH: ""}  # multipath: the typed decoder takes it apart
_V6_WANTED = {**_V4_WANTED, _DST: "16s", _GATEWAY: "16s", _PREFSRC: "16s"}
# per byte value (struct rtmsg's are u8), the enum's member, or the int it lacks
_PROTOCOL_OF = tuple(_PROTOS.get(n, n) for n in range(256))
_SCOPE_OF = tuple(_SCOPES.get(n, n) for n in range(256))
_TYPE_OF = tuple(_TYPES.get(n, n) for n in range(256))
# per message length, the plans of the layouts seen (see macvlan._dumpparse)
_PLANS: dict[int, list[Plan]] = {}


def _plan(data: bytes, pos: int, stop: int) -> Plan | None:
    """How to read the routes laid out as the one in ``data[pos:stop]`` (None: an
    IPv4 or IPv6 route no plan serves, or another message)."""
    if stop - pos < _HEAD.size:
        return None
    _, mtype, family = _HEAD.unpack_from(data, pos)[:3]
    if mtype != RtmType.NEWROUTE or family not in (2, 10):
        return None
    v4 = family == 2
    shape = layout(data, pos, stop, _HEAD, _V4_WANTED if v4 else _V6_WANTED)
    if shape is None:
        return None
    templates = _V4_TEMPLATES if v4 else _V6_TEMPLATES
    get = shape.fields.get
    return (
        *shape[:4],
        32 if v4 else 128,
        templates,
        len(templates),
        not v4,
        _V4ADDR if v4 else _V6ADDR,
        _V4NET if v4 else _V6NET,
        4 if v4 else 16,
        *(get(t, 0) for t in (_DST, _GATEWAY, _OIF, _PRIORITY, _PREFSRC, _TABLE)),
    )


def parse_routes(data: bytes, start: int, end: int, out: list[Route]) -> None:
    """Append the IPv4 and IPv6 routes of the ``RTM_NEWROUTE`` messages in
    ``data[start:end]`` to ``out``, straight from the bytes.

    The same values as :meth:`Route.from_message` gives (a test holds the two
    together).  Other families' routes are left out, as
    :func:`macvlan._operations.routing.routes` leaves them out.

    The loop is a dump's hot path, written out flat.  A dump's routes mostly
    share one layout, so each message is first tried with the plan of the one
    before: its ``shape`` (length, type, family, attribute headers) must be the
    plan's ``expected``.  Only where it is not does
    :func:`macvlan._dumpparse.find` look the plan up (by length, or make one); a
    message no plan serves (multipath, odd sizes) goes through
    :meth:`Route.from_message`.  Then one call unpacks the header fields and the
    payloads (at the plan's indexes ``d``, ``g``, ... ; 0: absent), and the route
    is built positionally: the network from its prefix length's template (see
    :func:`_templates`), the enums from per-byte tables.
    """
    make, new, from_bytes, addrs, rtnh = (
        object.__new__,
        tuple.__new__,
        int.from_bytes,
        _ADDRS,
        _RTNH_FLAGS,
    )
    protocols, scopes, types, append = _PROTOCOL_OF, _SCOPE_OF, _TYPE_OF, out.append
    shape: Any = None
    expected: Any = None
    pos, last = start, -1  # last: the last offset a message of the plan's length fits at
    while pos < end:
        if pos > last or shape(data, pos) != expected:
            length, plan = find(data, pos, end, _PLANS, _plan)
            if plan is None:
                _other(data, pos, pos + length, out)
                pos += (length + 3) & ~3
                continue
            _, shape, expected, values, bits, templates, short, v6, addr_cls, net_cls = plan[:10]
            size, d, g, o, m, s, t = plan[10:]
            last, step = end - length, (length + 3) & ~3
        r = values(data, pos)
        pos += step
        dst_len = r[3]
        value = from_bytes(r[d], "big") if d else 0
        if dst_len < short:
            netmask, mask = templates[dst_len]
            address = make(addr_cls)
            address._ip = value & mask
            if v6:
                address._scope_id = None
            network = make(net_cls)
            network.network_address = address
            network.netmask = netmask
            network._prefixlen = dst_len
        elif dst_len <= bits:
            network = net_cls((value, dst_len), strict=False)
        else:
            raise ProtocolError(f"route with impossible prefix length {dst_len}")
        flags = rtnh.get(r[8] & 0xFF)
        if flags is None:
            flags = _rtnh_flags(r[8] & 0xFF)
        append(
            new(
                Route,
                (
                    network,
                    (addrs.get(r[g]) or _addr(r[g], size)) if g else None,
                    (r[o] or None) if o else None,
                    r[t] if t else r[4],
                    protocols[r[5]],
                    scopes[r[6]],
                    types[r[7]],
                    r[m] if m else None,
                    (addrs.get(r[s]) or _addr(r[s], size)) if s else None,
                    (),
                    flags,
                ),
            )
        )


def _other(data: bytes, pos: int, stop: int, out: list[Route]) -> None:
    """A message no plan serves: an IPv4 or IPv6 route goes through the typed
    decoder, anything else is left out."""
    if stop - pos < _HEAD.size:
        return
    _, mtype, family = _HEAD.unpack_from(data, pos)[:3]
    if mtype == RtmType.NEWROUTE and family in (2, 10):
        (message,) = iter_messages(data[pos:stop])
        out.append(Route.from_message(message))  # type: ignore[arg-type]


def routes_of(messages: list[Message]) -> list[Route]:
    """The IPv4 and IPv6 routes among dumped messages (what :func:`parse_routes`
    gives for their bytes)."""
    new = RtmType.NEWROUTE
    out = []
    for m in messages:
        if m.type == new and isinstance(m.body, RtMsg) and m.body.family in (2, 10):
            out.append(Route.from_message(m))
    return out


_RTNH_FLAGS: dict[int, RtnhFlags] = {}


def _rtnh_flags(bits: int) -> RtnhFlags:
    flags = _RTNH_FLAGS.get(bits)
    if flags is None:
        flags = _RTNH_FLAGS[bits] = RtnhFlags(bits)
    return flags


# Gateways and source addresses repeat across a table: one object per address.
_ADDRS: dict[bytes, IpAddr] = {}


def _addr(raw: bytes | None, size: int) -> IpAddr | None:
    """An address payload of the family's ``size`` (other sizes read as absent)."""
    if raw is None or len(raw) != size:
        return None
    addr = _ADDRS.get(raw)
    if addr is None:
        if len(_ADDRS) >= 4096:
            _ADDRS.clear()
        addr = _ADDRS[raw] = (ipaddress.IPv4Address if size == 4 else ipaddress.IPv6Address)(raw)
    return addr


def _family(version: int) -> AddrFamily:
    return AddrFamily.INET if version == 4 else AddrFamily.INET6


def check_table(table: object) -> int:
    """A routing table number (1..2**32-1); None means main."""
    if table is None:
        return int(RtTable.MAIN)
    return _u32("table", table, 1)


def multipath_attr(version: int, hops: list[tuple[NextHop, int]]) -> Attr[Any]:
    """``RTA_MULTIPATH`` for next hops whose links are resolved to indexes (0: none)."""
    records = []
    for hop, ifindex in hops:
        if hop.gateway is not None and hop.gateway.version != version:
            raise ValueError(f"next hop gateway {hop.gateway} is not IPv{version}")
        inner: list[Attr[Any] | RawAttr] = []
        if hop.gateway is not None:
            inner.append(rta.GATEWAY(hop.gateway))
        records.append(rta.RtNexthop(int(hop.flags), hop.weight - 1, ifindex, tuple(inner)))
    return rta.MULTIPATH(rta.Multipath(records))


def route_message(
    mtype: RtmType,
    dst: IPNetwork,
    *,
    gateway: IpAddr | None,
    oif: int | None,
    metric: int | None,
    table: int | None,
    src: IpAddr | None,
    flags: int = 0,
    type: RtType | None = None,
    onlink: bool = False,
    multipath: Attr[Any] | None = None,
) -> Message:
    """``RTM_NEWROUTE`` / ``RTM_DELROUTE``, laid out as iproute2 lays them out.

    ``type`` None means unicast for a new route and "any type" for a deletion.
    """
    for addr, what in ((gateway, "gateway"), (src, "src")):
        if addr is not None and addr.version != dst.version:
            raise ValueError(f"{what} {addr} is not IPv{dst.version} like {dst}")
    table = check_table(table)
    deleting = mtype == RtmType.DELROUTE
    rtype = type if type is not None else (RtType.UNSPEC if deleting else RtType.UNICAST)
    if rtype in _NO_NEXTHOP and (gateway is not None or oif is not None or multipath):
        raise ValueError(f"a {rtype.name.lower()} route takes no gateway, link or next hops")
    if multipath is not None and gateway is not None:
        raise ValueError("give either a gateway or next hops, not both")
    if onlink and gateway is None and multipath is None:
        raise ValueError("onlink needs a gateway (it says the gateway is on the link)")
    if metric is not None:
        _u32("metric", metric)
    if deleting:
        scope = RtScope.NOWHERE
    elif rtype in (RtType.LOCAL, RtType.NAT):
        scope = RtScope.HOST
    elif rtype in (RtType.BROADCAST, RtType.MULTICAST, RtType.ANYCAST):
        scope = RtScope.LINK
    elif rtype == RtType.UNICAST and gateway is None and multipath is None:
        scope = RtScope.LINK if oif is not None else RtScope.UNIVERSE
    else:
        scope = RtScope.UNIVERSE
    return requests.route(
        mtype,
        _family(dst.version),
        dst.prefixlen,
        dst=dst.network_address.packed,
        gateway=None if gateway is None else gateway.packed,
        oif=oif,
        metric=metric,
        prefsrc=None if src is None else src.packed,
        table=table,
        protocol=RtProto.UNSPEC if deleting else RtProto.BOOT,
        scope=scope,
        type=rtype,
        rtm_flags=RtnhFlags.ONLINK if onlink and multipath is None else 0,
        flags=flags,
        attrs=() if multipath is None else (multipath,),
    )


def new_route(dst: IPNetwork, *, replace: bool = False, **kw: Any) -> Message:
    """``RTM_NEWROUTE``: fails if the route exists, or replaces it (``replace``).

    Keywords as :func:`route_message`.
    """
    flags = NlmF.CREATE | (NlmF.REPLACE if replace else NlmF.EXCL)
    return route_message(RtmType.NEWROUTE, dst, flags=flags, **kw)


def del_route(dst: IPNetwork, **kw: Any) -> Message:
    """``RTM_DELROUTE``; keywords as :func:`route_message`."""
    return route_message(RtmType.DELROUTE, dst, **kw)


dump_routes = requests.dump_routes
