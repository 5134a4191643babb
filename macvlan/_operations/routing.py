"""Operations on routes, policy rules, neighbours, link statistics and alternative
names, as sans-IO generators (the effects of :mod:`macvlan._operations`), shared by the
sync and asyncio fronts."""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence

from macvlan import linkprops as _props
from macvlan._netlink.constants import RtmType
from macvlan._netlink.message import Message
from macvlan._operations import lookup
from macvlan._operations.effects import (
    Batch,
    Dump,
    LinkRef,
    Op,
    ParsedDump,
    Request,
    lookup_key,
    with_first,
)
from macvlan._operations.lookup import index
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import (
    GatewayUnreachable,
    LinkNotFound,
    NeighbourExists,
    NeighbourNotFound,
    NetlinkError,
    RouteExists,
    RouteNotFound,
    RuleExists,
    RuleNotFound,
)
from macvlan.link import Link, MacLike, to_mac

if TYPE_CHECKING:
    from typing import Any

    from macvlan.neighbour import Neighbour
    from macvlan.route import NextHop, Route
    from macvlan.rule import Rule
    from macvlan.stats import LinkStats

# The value modules (and ipaddress with them) load when an operation first runs:
# the fronts import this module, and a program that only makes links never needs them
# (nor the routing enums, macvlan._netlink.rtconstants).


def retyped(err: NetlinkError, cls: type[NetlinkError]) -> NetlinkError:
    """``err`` as the more specific ``cls`` (same errno, ext-ack text and request)."""
    return cls(err.errno or 0, err.ext_ack, err.request)


def _route_error(err: NetlinkError) -> NetlinkError:
    if err.errno == errno.EEXIST:
        return retyped(err, RouteExists)
    if err.errno == errno.ESRCH:
        return retyped(err, RouteNotFound)
    if err.errno == errno.ENETUNREACH or (
        err.errno == errno.EINVAL and "gateway" in err.ext_ack.lower()
    ):
        return retyped(err, GatewayUnreachable)
    return err


# -- routes --------------------------------------------------------------------------------
def _metric(metric: object) -> int | None:
    if metric is not None and (
        isinstance(metric, bool) or not isinstance(metric, int) or not 0 <= metric < 2**32
    ):
        raise ValueError(f"metric {metric!r} is not an int in 0..{2**32 - 1}")
    return metric


def _table(table: object) -> int | None:
    if table is not None and (
        isinstance(table, bool) or not isinstance(table, int) or not 0 < table < 2**32
    ):
        raise ValueError(f"table {table!r} is not an int in 1..{2**32 - 1}")
    return table


def _nexthops(nexthops: object) -> list[NextHop]:
    from macvlan.route import NextHop

    if isinstance(nexthops, str | bytes) or not isinstance(nexthops, Iterable):
        raise TypeError(f"nexthops is a sequence of NextHop, not {nexthops!r}")
    hops = list(nexthops)
    if not hops:
        raise ValueError("nexthops is empty; leave it out for a one-hop route")
    for hop in hops:
        if not isinstance(hop, NextHop):
            raise TypeError(f"nexthops holds {hop!r}, not a NextHop")
        if hop.gateway is None and hop.link is None:
            raise ValueError(f"next hop {hop!r} needs a gateway, a link or both")
    return hops


def _route_change(
    mtype: RtmType,
    dst: object,
    gateway: object,
    link_ref: LinkRef | None,
    table: object,
    metric: object,
    onlink: bool,
    replace: bool,
    type: object,
    nexthops: object,
    src: object,
) -> Op[None]:
    """Check everything, look up the links, build the request and send it."""
    import macvlan.route as _route

    gw = None if gateway is None else _route.to_ip(gateway, "gateway")
    source = None if src is None else _route.to_ip(src, "src")
    hops = None if nexthops is None else _nexthops(nexthops)
    hint = gw.version if gw is not None else None
    if hint is None and hops:
        hint = next((h.gateway.version for h in hops if h.gateway is not None), None)
    network = _route.to_network(dst, hint)
    rtype = None if type is None else _route.to_route_type(type)
    if not isinstance(onlink, bool) or not isinstance(replace, bool):
        raise TypeError("onlink and replace are True or False")
    kw: dict[str, Any] = {
        "gateway": gw,
        "oif": None,
        "metric": _metric(metric),
        "table": _table(table),
        "src": source,
        "type": rtype,
        "onlink": onlink,
    }
    if mtype == RtmType.NEWROUTE:
        kw["replace"] = replace
    build = _route.new_route if mtype == RtmType.NEWROUTE else _route.del_route
    if hops is not None:  # checked with placeholder indexes before any lookup
        kw["multipath"] = _route.multipath_attr(network.version, [(h, 0) for h in hops])
    build(network, **kw)  # refuse bad input before the link lookups
    if link_ref is not None:
        kw["oif"] = yield from index(link_ref)
    if hops is not None:
        resolved = []
        for hop in hops:
            ix = 0 if hop.link is None else (yield from index(hop.link))
            resolved.append((hop, ix))
        kw["multipath"] = _route.multipath_attr(network.version, resolved)
    verb = "delete" if mtype == RtmType.DELROUTE else "replace" if replace else "add"
    try:
        yield Request(build(network, **kw), f"{verb} route {dst}")
    except NetlinkError as exc:
        raise _route_error(exc) from None


def add_route(
    dst: object = "default",
    gateway: object = None,
    link: LinkRef | None = None,
    table: int | None = None,
    metric: int | None = None,
    onlink: bool = False,
    replace: bool = False,
    type: object = None,
    nexthops: Sequence[NextHop] | None = None,
    *,
    src: object = None,
) -> Op[None]:
    """Add a route: ``add_route("default", gateway="10.0.0.1", link="mv0")``.

    ``replace`` overwrites a route to the same destination (``ip route
    replace``); ``onlink`` takes the gateway as on the link even without a
    route to it; ``type`` is a :class:`RouteType` or its name (``"blackhole"``,
    ``"unreachable"``, ``"prohibit"``, ...); ``nexthops`` a list of
    :class:`NextHop` for a multipath route; ``src`` the preferred source address.
    """
    import macvlan.route as _route

    rtype = None if type is None else _route.to_route_type(type)
    if gateway is None and link is None and nexthops is None and rtype in (None, 1):
        raise ValueError("a unicast route needs a gateway, a link or next hops")
    yield from _route_change(
        RtmType.NEWROUTE, dst, gateway, link, table, metric, onlink, replace, rtype, nexthops, src
    )


def delete_route(
    dst: object = "default",
    gateway: object = None,
    link: LinkRef | None = None,
    table: int | None = None,
    metric: int | None = None,
    *,
    type: object = None,
    src: object = None,
) -> Op[None]:
    """Delete the first route matching what is given; ``metric`` picks one of
    two alike default routes."""
    yield from _route_change(
        RtmType.DELROUTE, dst, gateway, link, table, metric, False, False, type, None, src
    )


def routes(
    table: int | str | None = None, *, family: int | None = None, link: LinkRef | None = None
) -> Op[list[Route]]:
    """Routes of one table (None: main; ``"all"`` or 0: every table), optionally
    only those via one link (a multipath route counts if one hop uses it)."""
    import macvlan.route as _route

    if table == "all":
        table = 0
    if table is None:
        table = 254
    if isinstance(table, bool) or not isinstance(table, int) or not 0 <= table < 2**32:
        raise ValueError(f"table {table!r} is not a table number, None or 'all'")
    oif = None if link is None else (yield from index(link))
    # (a dump of every family also holds multicast and MPLS routes: both builders
    # keep IPv4 and IPv6 only)
    out: list[Route] = yield ParsedDump(
        _route.dump_routes(family or 0, table),
        _route.parse_routes,
        _route.routes_of,
        "list routes",
    )
    if table:
        out = [r for r in out if r.table == table]
    if oif is not None:
        out = [r for r in out if r.link == oif or any(h.link == oif for h in r.nexthops)]
    return out


# -- policy rules ----------------------------------------------------------------------
def _iface_name(ref: object, what: str) -> str | None:
    if ref is None:
        return None
    if isinstance(ref, Link):
        return ref.name
    if not isinstance(ref, str):
        raise TypeError(f"{what} is a link name or a Link (rules match names), not {ref!r}")
    return ref


def _rule_change(
    add: bool,
    priority: int | None = None,
    table: int | None = None,
    src: object = None,
    dst: object = None,
    iif: object = None,
    oif: object = None,
    fwmark: int | None = None,
    *,
    fwmask: int | None = None,
    action: object = None,
    family: int | None = None,
    invert: bool = False,
) -> Op[None]:
    import macvlan.rule as _rule

    if not isinstance(invert, bool):
        raise TypeError(f"invert is True or False, not {invert!r}")
    if family is not None and (isinstance(family, bool) or not isinstance(family, int)):
        raise TypeError(f"family is an AddrFamily, not {family!r}")
    message = (_rule.new_rule if add else _rule.del_rule)(
        priority=priority,
        table=table,
        src=None if src is None else _rule.to_prefix(src, "src"),
        dst=None if dst is None else _rule.to_prefix(dst, "dst"),
        iif=_iface_name(iif, "iif"),
        oif=_iface_name(oif, "oif"),
        fwmark=fwmark,
        fwmask=fwmask,
        action=None if action is None else _rule.to_action(action),
        family=family,
        invert=invert,
    )
    what = f"{'add' if add else 'delete'} rule {priority if priority is not None else ''}"
    try:
        yield Request(message, what)
    except NetlinkError as exc:
        if add and exc.errno == errno.EEXIST:
            raise retyped(exc, RuleExists) from None
        if not add and exc.errno == errno.ENOENT:
            raise retyped(exc, RuleNotFound) from None
        raise


add_rule = with_first(
    _rule_change,
    True,
    """Add a policy rule (``ip rule add``): traffic matching ``src``/``dst``
    prefixes, ``iif``/``oif`` link names and ``fwmark`` looks up ``table``
    (or meets ``action``: ``"blackhole"``, ``"unreachable"``, ``"prohibit"``).""",
)
delete_rule = with_first(
    _rule_change,
    False,
    """Delete the first rule matching every field given (as :meth:`add_rule`).""",
)


def rules(*, family: int | None = None) -> Op[list[Rule]]:
    """The policy rules, IPv4 and IPv6 unless ``family`` says one (the multicast
    routing families' rules are left out, as ``ip rule`` leaves them out)."""
    import macvlan.rule as _rule
    from macvlan._netlink.constants import AddrFamily
    from macvlan.rule import Rule

    replies: list[Message] = yield Dump(_rule.dump_rules(family or 0), "list rules")
    out = [Rule.from_message(r) for r in replies if r.type == RtmType.NEWRULE]
    wanted = (family,) if family else (AddrFamily.INET, AddrFamily.INET6)
    return [r for r in out if r.family in wanted]


# -- neighbours ----------------------------------------------------------------------------
def neighbours(link: LinkRef | None = None, *, family: int | None = None) -> Op[list[Neighbour]]:
    """The neighbour (ARP/NDP) entries, of one link or of all (filtered in the kernel)."""
    import macvlan.neighbour as _neigh

    ix = 0 if link is None else (yield from index(link))
    out: list[Neighbour] = yield ParsedDump(
        _neigh.dump_neighbours(ix, family or 0),
        _neigh.parse_neighbours,
        _neigh.neighbours_of,
        "list neighbours",
    )
    return [e for e in out if e.index == ix] if ix else out


def add_neighbour(link: LinkRef, ip: object, mac: MacLike, replace: bool = False) -> Op[None]:
    """Add a permanent entry: ``ip`` is at ``mac`` (``replace``: overwrite an existing one)."""
    import macvlan.neighbour as _neigh
    import macvlan.route as _route

    address = _route.to_ip(ip, "ip")
    lladdr = to_mac(mac)
    if lladdr is None:
        raise TypeError("add_neighbour needs a MAC address, not None")
    if not isinstance(replace, bool):
        raise TypeError(f"replace is True or False, not {replace!r}")
    ix = yield from index(link)
    message = _neigh.new_neighbour(ix, address, lladdr, replace=replace)
    try:
        yield Request(message, f"{'replace' if replace else 'add'} neighbour {address}")
    except NetlinkError as exc:
        raise (retyped(exc, NeighbourExists) if exc.errno == errno.EEXIST else exc) from None


def delete_neighbour(link: LinkRef, ip: object) -> Op[None]:
    """Delete the entry of ``ip`` on ``link``."""
    import macvlan.neighbour as _neigh
    import macvlan.route as _route

    address = _route.to_ip(ip, "ip")
    ix = yield from index(link)
    try:
        yield Request(_neigh.del_neighbour(ix, address), f"delete neighbour {address}")
    except NetlinkError as exc:
        raise (retyped(exc, NeighbourNotFound) if exc.errno == errno.ENOENT else exc) from None


def flush_neighbours(link: LinkRef, *, permanent: bool = False) -> Op[int]:
    """Delete the entries of one link, as ``ip neigh flush dev LINK`` does; returns
    how many went.  Permanent entries stay unless ``permanent``; the kernel's own
    no-ARP entries (multicast, broadcast) always stay."""
    import macvlan.neighbour as _neigh
    from macvlan._netlink.constants import NudState

    if not isinstance(permanent, bool):
        raise TypeError(f"permanent is True or False, not {permanent!r}")
    ix = yield from index(link)
    entries = yield from neighbours(ix)
    keep = int(NudState.NOARP if permanent else NudState.PERMANENT | NudState.NOARP)
    doomed = [e for e in entries if not (int(e.state) & keep)]
    if not doomed:
        return 0
    results: list[tuple[list[Message], NetlinkError | None]] = yield Batch(
        [_neigh.del_neighbour(ix, e.ip) for e in doomed],
        [f"delete neighbour {e.ip}" for e in doomed],
    )
    gone = 0
    for _, err in results:
        if err is None:
            gone += 1
        elif err.errno != errno.ENOENT:  # gone by itself meanwhile: fine
            raise err
    return gone


# -- statistics and alternative names ----------------------------------------------------
def link_stats(link: LinkRef) -> Op[LinkStats]:
    """A link's packet, byte, error and drop counters (``IFLA_STATS64``) and carrier changes."""
    from macvlan.stats import LinkStats, get_stats

    key = lookup_key(link)
    replies: list[Message] = yield Request(get_stats(key), f"statistics of link {key!r}")
    for reply in replies:
        if reply.type == RtmType.NEWLINK:
            return LinkStats.from_message(reply)
    raise LinkNotFound(errno.ENODEV, request=f"statistics of link {key!r}")


def add_altname(link: LinkRef, name: str) -> Op[Link]:
    """Give ``link`` the alternative name ``name`` (up to 127 bytes); returns the link."""
    _props.check_altname(name)
    ix = yield from index(link)
    yield Request(_props.altname_message(RtmType.NEWLINKPROP, ix, [name]), f"add altname {name!r}")
    return (yield from lookup.link(ix))


def delete_altname(link: LinkRef, name: str) -> Op[Link]:
    """Take the alternative name ``name`` off ``link``; returns the link."""
    _props.check_altname(name)
    ix = yield from index(link)
    yield Request(
        _props.altname_message(RtmType.DELLINKPROP, ix, [name]), f"delete altname {name!r}"
    )
    return (yield from lookup.link(ix))
