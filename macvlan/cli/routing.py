"""``macvlan route|rule|neigh ...`` and ``macvlan link stats``: routes, policy rules,
neighbours and link counters, in the spirit of ``ip route``, ``ip rule``, ``ip neigh``
and ``ip -s link``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from macvlan.cli.argtypes import T_IP, T_LINK, T_MAC, T_U32, _arg_type
from macvlan.cli.output import Output
from macvlan.cli.status import EXIT_OK
from macvlan.errors import UsageError

if TYPE_CHECKING:
    import argparse

    from macvlan.connection import Connection
    from macvlan.neighbour import Neighbour
    from macvlan.route import NextHop, Route
    from macvlan.rule import Rule
    from macvlan.stats import LinkStats

Command = Callable[["argparse.Namespace", Output], int]


def _connect(args: argparse.Namespace) -> Connection:
    from macvlan.connection import connect

    return connect(netns=args.netns)


def _names(rt: Connection) -> dict[int, str]:
    return {link.index: link.name for link in rt.links()}


# -- argument types ----------------------------------------------------------------------
def _table(text: str) -> int | str:
    names = {"main": 254, "local": 255, "default": 253}
    if text in names:
        return names[text]
    if text == "all":
        return "all"
    value = int(text)
    if not 0 < value < 2**32:
        raise ValueError(f"table {text!r} is outside 1..{2**32 - 1}")
    return value


def _nexthop(text: str) -> NextHop:
    """``via=GW,dev=LINK,weight=N`` (any of them; at least via or dev)."""
    from macvlan.route import NextHop

    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or key not in ("via", "dev", "weight", "onlink") or key in fields:
            raise ValueError(f"{text!r} is not via=GW,dev=LINK,weight=N")
        fields[key] = value
    if "via" not in fields and "dev" not in fields:
        raise ValueError(f"{text!r} needs via=GW or dev=LINK")
    from macvlan._netlink.constants import RtnhFlags

    dev: int | str | None = None
    if "dev" in fields:
        dev = int(fields["dev"]) if fields["dev"].isdigit() else fields["dev"]
    return NextHop(
        gateway=fields.get("via"),  # type: ignore[arg-type]  # NextHop parses the string
        link=dev,
        weight=int(fields.get("weight", "1")),
        flags=RtnhFlags.ONLINK if fields.get("onlink") in ("1", "yes", "on") else RtnhFlags.NONE,
    )


def _onoff(text: str) -> bool:
    if text in ("on", "yes", "1"):
        return True
    if text in ("off", "no", "0"):
        return False
    raise ValueError(f"{text!r} is not on or off")


def _mark(text: str) -> int:
    value = int(text, 0)
    if not 0 <= value < 2**32:
        raise ValueError(f"{text!r} is outside 0..0xffffffff")
    return value


T_TABLE = _arg_type(_table, "table")
T_NEXTHOP = _arg_type(_nexthop, "next hop")
T_ONOFF = _arg_type(_onoff, "on|off")
T_MARK = _arg_type(_mark, "mark")


# -- JSON ------------------------------------------------------------------------------
def _kind(value: Any) -> Any:
    return value.name.lower() if hasattr(value, "name") and value.name else int(value)


def route_json(route: Route, names: dict[int, str]) -> dict[str, Any]:
    """A route as JSON; keys follow ``ip -j route`` where they overlap."""
    out: dict[str, Any] = {
        "type": _kind(route.type),
        "dst": "default" if route.is_default else str(route.dst),
        "family": route.dst.version,
        "gateway": None if route.gateway is None else str(route.gateway),
        "dev": None if route.link is None else names.get(route.link, route.link),
        "table": route.table,
        "protocol": _kind(route.protocol),
        "scope": _kind(route.scope),
        "metric": route.metric,
        "prefsrc": None if route.src is None else str(route.src),
        "flags": ["onlink"] if route.onlink else [],
    }
    if route.nexthops:
        out["nexthops"] = [
            {
                "gateway": None if h.gateway is None else str(h.gateway),
                "dev": None if h.link is None else names.get(h.link, h.link),
                "weight": h.weight,
                "flags": ["onlink"] if h.onlink else [],
            }
            for h in route.nexthops
        ]
    return out


def route_line(data: dict[str, Any]) -> str:
    """One ``ip route``-like line for a route's JSON object."""
    parts = [] if data["type"] == "unicast" else [data["type"]]
    parts.append(data["dst"])
    if data["gateway"]:
        parts.append(f"via {data['gateway']}")
    if data["dev"] is not None:
        parts.append(f"dev {data['dev']}")
    if data["table"] != 254:
        parts.append(f"table {data['table']}")
    if data["protocol"] not in ("boot", "unspec"):
        parts.append(f"proto {data['protocol']}")
    if data["scope"] != "universe":
        parts.append(f"scope {data['scope']}")
    if data["prefsrc"]:
        parts.append(f"src {data['prefsrc']}")
    if data["metric"] is not None:
        parts.append(f"metric {data['metric']}")
    parts += data["flags"]
    for hop in data.get("nexthops", ()):
        hop_text = f"nexthop via {hop['gateway']} dev {hop['dev']} weight {hop['weight']}"
        parts.append(hop_text + "".join(f" {f}" for f in hop["flags"]))
    return " ".join(parts)


def rule_json(rule: Rule) -> dict[str, Any]:
    """A rule as JSON; keys follow ``ip -j rule`` where they overlap."""
    return {
        "priority": rule.priority,
        "family": 4 if rule.family == 2 else 6 if rule.family == 10 else int(rule.family),
        "src": None if rule.src is None else str(rule.src),
        "dst": None if rule.dst is None else str(rule.dst),
        "iif": rule.iif,
        "oif": rule.oif,
        "fwmark": None if rule.fwmark is None else hex(rule.fwmark),
        "fwmask": None if rule.fwmask is None else hex(rule.fwmask),
        "table": rule.table,
        "action": "lookup" if rule.action == 1 else _kind(rule.action),
        "invert": rule.invert,
    }


_TABLE_NAMES = {253: "default", 254: "main", 255: "local"}


def rule_line(data: dict[str, Any]) -> str:
    """One ``ip rule``-like line for a rule's JSON object."""
    parts = [f"{data['priority']}:", "not" if data["invert"] else ""]
    parts.append(f"from {data['src'] or 'all'}")
    if data["dst"]:
        parts.append(f"to {data['dst']}")
    if data["fwmark"]:
        mask = "" if data["fwmask"] in (None, "0xffffffff") else f"/{data['fwmask']}"
        parts.append(f"fwmark {data['fwmark']}{mask}")
    for key in ("iif", "oif"):
        if data[key]:
            parts.append(f"{key} {data[key]}")
    if data["action"] == "lookup":
        parts.append(f"lookup {_TABLE_NAMES.get(data['table'], data['table'])}")
    else:
        parts.append(str(data["action"]))
    return " ".join(p for p in parts if p)


def neighbour_json(entry: Neighbour, names: dict[int, str]) -> dict[str, Any]:
    """A neighbour entry as JSON; keys follow ``ip -j neigh``."""
    return {
        "dst": str(entry.ip),
        "dev": names.get(entry.index, entry.index),
        "lladdr": None if entry.mac is None else str(entry.mac),
        "state": [s.name for s in type(entry.state) if s.name and s and s in entry.state],
        "router": entry.is_router,
    }


def neighbour_line(data: dict[str, Any]) -> str:
    """One ``ip neigh``-like line for an entry's JSON object."""
    parts = [data["dst"], f"dev {data['dev']}"]
    if data["lladdr"]:
        parts.append(f"lladdr {data['lladdr']}")
    if data["router"]:
        parts.append("router")
    parts += data["state"]
    return " ".join(parts)


def stats_json(stats: LinkStats) -> dict[str, Any]:
    """Every counter, by LinkStats' field names."""
    from dataclasses import asdict

    return asdict(stats)


# -- commands -------------------------------------------------------------------------------
def cmd_route_list(args: argparse.Namespace, out: Output) -> int:
    """``macvlan route list``: the routes of one table (main unless ``--table``)."""
    family = {4: 2, 6: 10}.get(args.family or 0)
    with _connect(args) as rt:
        routes = rt.routes(args.table, family=family, link=args.dev)
        names = _names(rt)
    data = [route_json(r, names) for r in routes]
    out.emit(data, lambda: map(route_line, data))
    return EXIT_OK


def _route_kw(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "gateway": args.via,
        "link": args.dev,
        "table": None if args.table == "all" else args.table,
        "metric": args.metric,
        "type": args.type,
    }
    if args.table == "all":
        raise UsageError("--table all only lists routes")
    return kw


def cmd_route_add(args: argparse.Namespace, out: Output) -> int:
    """``macvlan route add``: add (or ``--replace``) a route."""
    kw = _route_kw(args)
    with _connect(args) as rt:
        rt.add_route(
            args.dst,
            onlink=args.onlink,
            replace=args.replace,
            nexthops=args.nexthop or None,
            src=args.src,
            **kw,
        )
    out.emit({"added": args.dst, "replaced": args.replace})
    return EXIT_OK


def cmd_route_del(args: argparse.Namespace, out: Output) -> int:
    """``macvlan route del``: delete the first route matching what is given."""
    kw = _route_kw(args)
    with _connect(args) as rt:
        rt.delete_route(args.dst, **kw)
    out.emit({"deleted": args.dst})
    return EXIT_OK


def _rule_kw(args: argparse.Namespace) -> dict[str, Any]:
    if args.table == "all":
        raise UsageError("--table all is not a rule's table")
    return {
        "priority": args.priority,
        "table": args.table,
        "src": args.src,
        "dst": args.dst,
        "iif": args.iif,
        "oif": args.oif,
        "fwmark": args.fwmark,
        "fwmask": args.fwmask,
        "action": args.action,
        "family": {4: 2, 6: 10}.get(args.family or 0),
    }


def cmd_rule_list(args: argparse.Namespace, out: Output) -> int:
    """``macvlan rule list``: the policy rules (IPv4 and IPv6)."""
    with _connect(args) as rt:
        rules = rt.rules(family={4: 2, 6: 10}.get(args.family or 0))
    data = [rule_json(r) for r in rules]
    out.emit(data, lambda: map(rule_line, data))
    return EXIT_OK


def cmd_rule_add(args: argparse.Namespace, out: Output) -> int:
    """``macvlan rule add``: add a policy rule."""
    with _connect(args) as rt:
        rt.add_rule(**_rule_kw(args))
    out.emit({"added": args.priority})
    return EXIT_OK


def cmd_rule_del(args: argparse.Namespace, out: Output) -> int:
    """``macvlan rule del``: delete the first rule matching what is given."""
    with _connect(args) as rt:
        rt.delete_rule(**_rule_kw(args))
    out.emit({"deleted": args.priority})
    return EXIT_OK


def cmd_neigh_list(args: argparse.Namespace, out: Output) -> int:
    """``macvlan neigh list``: ARP and NDP entries, of one link with ``--dev``."""
    with _connect(args) as rt:
        entries = rt.neighbours(args.dev)
        names = _names(rt)
    data = [neighbour_json(n, names) for n in entries]
    out.emit(data, lambda: map(neighbour_line, data))
    return EXIT_OK


def cmd_neigh_add(args: argparse.Namespace, out: Output) -> int:
    """``macvlan neigh add``: a permanent entry (``--replace`` overwrites)."""
    with _connect(args) as rt:
        rt.add_neighbour(args.dev, args.ip, args.lladdr, replace=args.replace)
    out.emit({"added": str(args.ip), "lladdr": str(args.lladdr)})
    return EXIT_OK


def cmd_neigh_del(args: argparse.Namespace, out: Output) -> int:
    """``macvlan neigh del``: delete one entry."""
    with _connect(args) as rt:
        rt.delete_neighbour(args.dev, args.ip)
    out.emit({"deleted": str(args.ip)})
    return EXIT_OK


def cmd_neigh_flush(args: argparse.Namespace, out: Output) -> int:
    """``macvlan neigh flush``: delete a link's learnt entries (``--permanent``: all)."""
    with _connect(args) as rt:
        count = rt.flush_neighbours(args.dev, permanent=args.permanent)
    out.emit({"deleted": count}, lambda: [f"deleted {count} entries"])
    return EXIT_OK


def cmd_link_stats(args: argparse.Namespace, out: Output) -> int:
    """``macvlan link stats``: a link's packet, byte, error and drop counters."""
    with _connect(args) as rt:
        stats = rt.link_stats(args.name)
    data = stats_json(stats)

    def text() -> list[str]:
        return [
            f"{stats.index}: {stats.name}: carrier changes {stats.carrier_changes}",
            f"    RX: {stats.rx_bytes} bytes {stats.rx_packets} packets {stats.rx_errors} errors "
            f"{stats.rx_dropped} dropped {stats.multicast} multicast",
            f"    TX: {stats.tx_bytes} bytes {stats.tx_packets} packets {stats.tx_errors} errors "
            f"{stats.tx_dropped} dropped",
        ]

    out.emit(data, text)
    return EXIT_OK


# -- the grammar ------------------------------------------------------------------------------
def _family_options(p: argparse.ArgumentParser) -> None:
    """``-4`` / ``-6``: only IPv4 or only IPv6 (``args.family``)."""
    p.add_argument("-4", dest="family", action="store_const", const=4)
    p.add_argument("-6", dest="family", action="store_const", const=6)


def add_commands(objects: Any, sub: Callable[..., argparse.ArgumentParser], common: Any) -> None:
    """Add ``route``, ``rule`` and ``neigh`` to the top-level subparsers ``objects``."""
    route = objects.add_parser("route", help="routes (ip route)", parents=[common])
    rcmd = route.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub(rcmd, "list", cmd_route_list, "list routes (main table unless --table)")
    p.add_argument("--table", type=T_TABLE, help="a number, main, local, default or all")
    p.add_argument("--dev", type=T_LINK, help="only routes via this link")
    _family_options(p)
    for name, fn, help_ in (
        ("add", cmd_route_add, "add a route (--replace: put it in place of another)"),
        ("del", cmd_route_del, "delete a route (--metric picks one of alike routes)"),
    ):
        p = sub(rcmd, name, fn, help_)
        p.add_argument("dst", metavar="DST", help="a prefix or 'default'")
        p.add_argument("--via", type=T_IP, help="the gateway")
        p.add_argument("--dev", type=T_LINK, help="the outgoing link")
        p.add_argument("--table", type=T_TABLE)
        p.add_argument("--metric", type=T_U32)
        p.add_argument("--type", help="unicast, blackhole, unreachable, prohibit, throw, ...")
        if name == "add":
            p.add_argument("--onlink", action="store_true", help="the gateway is on the link")
            p.add_argument("--replace", action="store_true", help="as ip route replace")
            p.add_argument("--src", type=T_IP, help="the preferred source address")
            p.add_argument(
                "--nexthop",
                action="append",
                type=T_NEXTHOP,
                default=[],
                metavar="via=GW,dev=LINK,weight=N",
                help="one hop of a multipath route (repeat it)",
            )

    rule = objects.add_parser("rule", help="policy routing rules (ip rule)", parents=[common])
    ucmd = rule.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub(ucmd, "list", cmd_rule_list, "list the rules")
    _family_options(p)
    for name, fn, help_ in (
        ("add", cmd_rule_add, "add a rule"),
        ("del", cmd_rule_del, "delete the first rule matching what is given"),
    ):
        p = sub(ucmd, name, fn, help_)
        p.add_argument("--priority", "--pref", type=T_U32)
        p.add_argument("--table", "--lookup", type=T_TABLE)
        p.add_argument("--from", dest="src", help="source prefix")
        p.add_argument("--to", dest="dst", help="destination prefix")
        p.add_argument("--iif", help="incoming link name")
        p.add_argument("--oif", help="outgoing link name")
        p.add_argument("--fwmark", type=T_MARK)
        p.add_argument("--fwmask", type=T_MARK)
        p.add_argument("--action", help="blackhole, unreachable, prohibit (default: lookup)")
        p.add_argument("-6", dest="family", action="store_const", const=6)

    neigh = objects.add_parser("neigh", help="ARP/NDP entries (ip neigh)", parents=[common])
    ncmd = neigh.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub(ncmd, "list", cmd_neigh_list, "list neighbour entries")
    p.add_argument("--dev", type=T_LINK)
    p = sub(ncmd, "add", cmd_neigh_add, "add a permanent entry")
    p.add_argument("ip", type=T_IP, metavar="IP")
    p.add_argument("--lladdr", required=True, type=T_MAC)
    p.add_argument("--dev", required=True, type=T_LINK)
    p.add_argument("--replace", action="store_true")
    p = sub(ncmd, "del", cmd_neigh_del, "delete an entry")
    p.add_argument("ip", type=T_IP, metavar="IP")
    p.add_argument("--dev", required=True, type=T_LINK)
    p = sub(ncmd, "flush", cmd_neigh_flush, "delete a link's learnt entries")
    p.add_argument("--dev", required=True, type=T_LINK)
    p.add_argument("--permanent", action="store_true", help="permanent entries too")


def add_link_options(add: Any, change: Any, stats_parser: Any) -> None:
    """The issue-18 options of ``link add`` and ``link set``, and ``link stats NAME``."""
    from macvlan.cli.argtypes import T_S32

    add.add_argument(
        "--source-mac",
        dest="source_macs",
        action="append",
        type=T_MAC,
        default=[],
        metavar="MAC",
        help="an allowed source MAC of a --mode source link (repeat it)",
    )
    add.add_argument(
        "--bc-cutoff", type=T_S32, help="broadcast cutoff: one value per parent, last wins"
    )
    change.add_argument("--alias", help="the link's alias ('' removes it)")
    change.add_argument("--promisc", type=T_ONOFF, metavar="on|off")
    change.add_argument("--allmulti", type=T_ONOFF, metavar="on|off")
    change.add_argument("--bcqueuelen", type=T_U32)
    change.add_argument(
        "--bc-cutoff", type=T_S32, help="broadcast cutoff: one value per parent, last wins"
    )
    change.add_argument("--add-altname", action="append", default=[], metavar="NAME")
    change.add_argument("--del-altname", action="append", default=[], metavar="NAME")
    stats_parser.add_argument("name", type=T_LINK, metavar="NAME")
