"""Routes, rules, neighbours and link properties against bytes captured from iproute2
(``tests/golden/cases_routes.json``, made by ``capture_routes.py``; no root needed).

- every captured request and reply decodes and re-encodes byte for byte, also when
  every attribute is rebuilt from its typed value (multipath records included);
- the requests our builders make carry the header, body and attributes ip sent;
- the kernel's refusals map to the typed errors, ext-ack text kept;
- the captured dumps decode into typed routes, neighbours and rules.
"""

from __future__ import annotations

import errno
import ipaddress
from typing import Any

import pytest
from golden_data import (
    assert_reencodes,
    cases_routes,
    dump_chunks,
    dumps,
    meant,
    normalise,
    on_the_wire,
)

import macvlan._netlink as nl
from macvlan import linkprops
from macvlan._netlink import ifla, rta
from macvlan._netlink.constants import (
    FrAct,
    Iff,
    NudState,
    RtmType,
    RtnhFlags,
    RtType,
)
from macvlan._netlink.message import ErrorMessage, Message
from macvlan._operations import routing as _ops_routing
from macvlan.errors import (
    GatewayUnreachable,
    NeighbourNotFound,
    NetlinkError,
    RouteExists,
    RuleNotFound,
    error_for,
)
from macvlan.link import Link, macvlan_data, set_link
from macvlan.mac import MacAddress
from macvlan.neighbour import Neighbour, del_neighbour, new_neighbour
from macvlan.route import NextHop, Route, del_route, multipath_attr, new_route
from macvlan.rule import Rule, del_rule, new_rule
from macvlan.stats import LinkStats

IP = ipaddress.ip_address
NET = ipaddress.ip_network
IFINDEX = 4  # mv0 in the captured namespace


cases = cases_routes


def dump_messages(file: str) -> list[Any]:
    out = []
    for chunk in dump_chunks(file, "dumps_routes.json"):
        out += assert_reencodes(chunk)
    return out


REQUESTS = [(n, i, h) for n, c in cases().items() for i, h in enumerate(c["requests"])]
REPLIES = [(n, i, h) for n, c in cases().items() for i, h in enumerate(c["replies"])]


def test_every_issue_18_request_kind_was_captured() -> None:
    names = set(cases())
    for wanted in (
        "route_replace",
        "route_add_onlink",
        "route_add_multipath",
        "route_add_blackhole",
        "route_del_metric",
        "rule_add_from",
        "neigh_add",
        "neigh_replace",
        "neigh_del",
        "link_set_alias",
        "link_altname_add",
        "link_set_promisc_on",
        "link_set_allmulti_on",
    ):
        assert wanted in names
        assert cases()[wanted]["exit_status"] == 0


@pytest.mark.parametrize(
    ("name", "i", "hexdata"), REQUESTS, ids=[f"{n}-{i}" for n, i, _ in REQUESTS]
)
def test_request_reencodes_byte_for_byte(name: str, i: int, hexdata: str) -> None:
    assert_reencodes(meant(bytes.fromhex(hexdata)))


@pytest.mark.parametrize(("name", "i", "hexdata"), REPLIES, ids=[f"{n}-{i}" for n, i, _ in REPLIES])
def test_reply_reencodes_byte_for_byte(name: str, i: int, hexdata: str) -> None:
    assert assert_reencodes(bytes.fromhex(hexdata))


# -- our requests against ip's ---------------------------------------------------------
def ip_request(name: str, mtype: int) -> Message:
    """The last request of ``mtype`` that ip sent on its main socket for case ``name``."""
    found = None
    case = cases()[name]
    for hexdata, syscall in zip(case["requests"], case["request_syscalls"], strict=True):
        for message in nl.decode(meant(bytes.fromhex(hexdata))):
            if isinstance(message, Message) and message.type == mtype and "sendmsg" in syscall:
                found = message
    assert found is not None, f"{name}: no request of type {mtype}"
    return found


def same(ours: Message, theirs: Message) -> None:
    assert ours.type == theirs.type
    assert ours.flags | 0x5 == theirs.flags  # the socket adds REQUEST|ACK
    assert ours.body == theirs.body
    assert normalise(on_the_wire(ours).attrs) == normalise(theirs.attrs)


GW1, GW3, GW5 = IP("10.9.0.1"), IP("10.9.0.3"), IP("10.9.0.5")
NO = {"gateway": None, "oif": None, "metric": None, "table": None, "src": None}
ROUTES: dict[str, tuple[Any, ...]] = {
    "route_replace": (new_route, "0.0.0.0/0", {"gateway": GW1, "oif": IFINDEX, "replace": True}),
    "route_add_metric": (new_route, "0.0.0.0/0", {"gateway": GW3, "oif": IFINDEX, "metric": 100}),
    "err_route_exists": (new_route, "0.0.0.0/0", {"gateway": GW1, "oif": IFINDEX}),
    "route_add_onlink": (
        new_route,
        "10.70.0.0/16",
        {"gateway": IP("192.168.77.1"), "oif": IFINDEX, "onlink": True},
    ),
    "route_add_blackhole": (new_route, "198.51.100.0/24", {"type": RtType.BLACKHOLE}),
    "route_add_unreachable": (new_route, "198.51.101.0/24", {"type": RtType.UNREACHABLE}),
    "route_add_prohibit": (new_route, "198.51.102.0/24", {"type": RtType.PROHIBIT, "table": 1000}),
    "route_del_metric": (del_route, "0.0.0.0/0", {"gateway": GW3, "oif": IFINDEX, "metric": 100}),
    "route_del_blackhole": (del_route, "198.51.100.0/24", {"type": RtType.BLACKHOLE}),
}


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_route_request_matches_ip(name: str) -> None:
    build, dst, kw = ROUTES[name]
    mtype = RtmType.NEWROUTE if build is new_route else RtmType.DELROUTE
    same(build(NET(dst), **{**NO, **kw}), ip_request(name, mtype))


@pytest.mark.parametrize(
    ("name", "dst", "hops"),
    [
        ("route_add_multipath", "10.50.0.0/16", [("10.9.0.1", 2), ("10.9.0.5", 1)]),
        ("route_add_multipath_ipv6", "fd00:50::/64", [("fd00::1", 1), ("fd00::5", 3)]),
    ],
)
def test_multipath_request_matches_ip(name: str, dst: str, hops: list[tuple[str, int]]) -> None:
    network = NET(dst)
    resolved = [(NextHop(gw, IFINDEX, weight=w), IFINDEX) for gw, w in hops]
    ours = new_route(network, **NO, multipath=multipath_attr(network.version, resolved))
    same(ours, ip_request(name, RtmType.NEWROUTE))


RULES: dict[str, tuple[Any, dict[str, Any]]] = {
    "rule_add_from": (new_rule, {"priority": 1000, "table": 100, "src": NET("10.9.0.0/24")}),
    "rule_add_fwmark_iif": (new_rule, {"priority": 1001, "table": 1000, "fwmark": 5, "iif": "mv0"}),
    "rule_add_to_oif": (
        new_rule,
        {"priority": 1002, "table": 200, "dst": NET("10.8.0.0/16"), "oif": "mv0"},
    ),
    "rule_add_blackhole": (
        new_rule,
        {"priority": 1003, "src": NET("10.10.0.0/16"), "action": FrAct.BLACKHOLE},
    ),
    "rule_add_ipv6": (new_rule, {"priority": 1004, "table": 100, "src": NET("fd00::/64")}),
    "rule_del_from": (del_rule, {"priority": 1000, "table": 100, "src": NET("10.9.0.0/24")}),
    "err_rule_del_missing": (del_rule, {"priority": 4242}),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_request_matches_ip(name: str) -> None:
    build, kw = RULES[name]
    mtype = RtmType.NEWRULE if build is new_rule else RtmType.DELRULE
    same(build(**kw), ip_request(name, mtype))


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        (
            "neigh_add",
            lambda: new_neighbour(IFINDEX, IP("10.9.0.7"), MacAddress("02:00:00:00:00:07")),
        ),
        (
            "neigh_replace",
            lambda: new_neighbour(
                IFINDEX, IP("10.9.0.7"), MacAddress("02:00:00:00:00:08"), replace=True
            ),
        ),
        (
            "neigh_add_ipv6",
            lambda: new_neighbour(IFINDEX, IP("fd00::7"), MacAddress("02:00:00:00:00:09")),
        ),
        ("neigh_del", lambda: del_neighbour(IFINDEX, IP("10.9.0.7"))),
        ("err_neigh_del_missing", lambda: del_neighbour(IFINDEX, IP("10.9.0.99"))),
    ],
)
def test_neighbour_request_matches_ip(name: str, ours: Any) -> None:
    message = ours()
    same(message, ip_request(name, message.type))


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("link_set_alias", {"attrs": [ifla.IFALIAS.raw(b"hello-mv0")]}),
        ("link_set_alias_empty", {"attrs": [ifla.IFALIAS.raw(b"")]}),
        ("link_set_promisc_on", {"promisc": True}),
        ("link_set_promisc_off", {"promisc": False}),
        ("link_set_allmulti_on", {"allmulti": True}),
        ("link_set_allmulti_off", {"allmulti": False}),
        ("link_set_txqueuelen", {"attrs": [ifla.TXQLEN(800)]}),
        (
            "link_set_bcqueuelen",
            {
                "attrs": [
                    ifla.LINKINFO(
                        [
                            ifla.INFO_KIND("macvlan"),
                            ifla.INFO_DATA(macvlan_data(None, None, 300, None, None)),
                        ]
                    )
                ]
            },
        ),
    ],
)
def test_link_change_matches_ip(name: str, kw: dict[str, Any]) -> None:
    same(set_link(IFINDEX, **kw), ip_request(name, RtmType.NEWLINK))


@pytest.mark.parametrize(
    ("name", "mtype"),
    [("link_altname_add", RtmType.NEWLINKPROP), ("link_altname_del", RtmType.DELLINKPROP)],
)
def test_altname_request_matches_ip(name: str, mtype: RtmType) -> None:
    ours = linkprops.altname_message(mtype, IFINDEX, ["mv0-a-much-longer-alternative-name"])
    same(ours, ip_request(name, mtype))


# -- replies --------------------------------------------------------------------------------
def main_socket_links(name: str) -> list[Message]:
    case = cases()[name]
    out = []
    for hexdata, syscall in zip(case["replies"], case["reply_syscalls"], strict=True):
        if syscall.endswith("(3)"):
            out += [
                m
                for m in nl.decode(bytes.fromhex(hexdata))
                if isinstance(m, Message) and m.type == RtmType.NEWLINK
            ]
    return out


def test_altname_reads_back() -> None:
    (reply,) = main_socket_links("show_altname")
    link = Link.from_message(reply)
    assert link.name == "mv0"
    assert link.altnames == ("mv0-a-much-longer-alternative-name",)
    assert link.flags & Iff.ALLMULTI == 0 and link.promiscuity == 0


def test_statistics_reply_decodes() -> None:
    (reply,) = main_socket_links("show_stats")
    stats = LinkStats.from_message(reply)
    assert stats.name == "mv0" and stats.index == IFINDEX
    raw = reply.attrs.raw(ifla.STATS64.number)  # type: ignore[union-attr]
    assert raw is not None and len(raw) >= 23 * 8
    assert stats.tx_packets == int.from_bytes(raw[8:16], "little")
    assert stats.tx_bytes == int.from_bytes(raw[24:32], "little")
    assert stats.tx_packets > 0  # the macvlan sent IPv6 DAD/MLD traffic when it came up
    changes = reply.attrs.raw(ifla.CARRIER_CHANGES.number)  # type: ignore[union-attr]
    assert changes is not None and stats.carrier_changes == int.from_bytes(changes, "little")


def error_reply(name: str) -> ErrorMessage:
    for hexdata in cases()[name]["replies"]:
        for message in nl.decode(bytes.fromhex(hexdata)):
            if isinstance(message, ErrorMessage) and message.error not in (0, -errno.ENODEV):
                return message
    raise AssertionError(f"no error reply in {name}")


def retype(name: str, op: Any) -> BaseException:
    """What the operation raises when the kernel answers with the captured error."""
    reply = error_reply(name)
    err = error_for(-reply.error, reply.ext_ack_text, name)
    gen = op
    effect = next(gen)
    while type(effect).__name__ != "Request":
        effect = gen.send(IFINDEX)
    try:
        gen.throw(err)
    except NetlinkError as exc:
        return exc
    raise AssertionError("the operation swallowed the error")


@pytest.mark.parametrize(
    ("name", "op", "cls", "code", "text"),
    [
        (
            "err_route_exists",
            lambda: _ops_routing.add_route("default", gateway="10.9.0.1", link=IFINDEX),
            RouteExists,
            errno.EEXIST,
            "",
        ),
        (
            "err_route_invalid_gateway",
            lambda: _ops_routing.add_route("10.71.0.0/16", gateway="192.168.77.1", link=IFINDEX),
            GatewayUnreachable,
            errno.ENETUNREACH,
            "Nexthop has invalid gateway",
        ),
        (
            "err_neigh_del_missing",
            lambda: _ops_routing.delete_neighbour(IFINDEX, "10.9.0.99"),
            NeighbourNotFound,
            errno.ENOENT,
            "",
        ),
        (
            "err_rule_del_missing",
            lambda: _ops_routing.delete_rule(4242),
            RuleNotFound,
            errno.ENOENT,
            "",
        ),
    ],
)
def test_kernel_refusals_become_typed_errors(
    name: str, op: Any, cls: type, code: int, text: str
) -> None:
    exc = retype(name, op())
    assert type(exc) is cls
    assert exc.errno == code  # type: ignore[attr-defined]
    assert exc.ext_ack == text  # type: ignore[attr-defined]
    if text:
        assert text in str(exc)


# -- dumps -------------------------------------------------------------------------------
def test_route_dump_decodes_types_multipath_and_onlink() -> None:
    routes = [
        Route.from_message(m)
        for m in dump_messages("dump_routes_all.bin.gz")
        if isinstance(m, Message) and m.type == RtmType.NEWROUTE
    ]
    by_dst = {(str(r.dst), r.table): r for r in routes}
    mp = by_dst["10.50.0.0/16", 254]
    assert mp.gateway is None and mp.link is None
    assert [(str(h.gateway), h.link, h.weight) for h in mp.nexthops] == [
        ("10.9.0.1", IFINDEX, 2),
        ("10.9.0.5", IFINDEX, 1),
    ]
    mp6 = by_dst["fd00:50::/64", 254]
    assert sorted((str(h.gateway), h.weight) for h in mp6.nexthops) == [
        ("fd00::1", 1),
        ("fd00::5", 3),
    ]
    assert by_dst["10.70.0.0/16", 254].onlink
    assert by_dst["10.70.0.0/16", 254].flags & RtnhFlags.ONLINK
    assert by_dst["198.51.101.0/24", 254].type is RtType.UNREACHABLE
    assert by_dst["198.51.102.0/24", 1000].type is RtType.PROHIBIT
    assert ("198.51.100.0/24", 254) not in by_dst  # deleted again
    defaults = [r for r in routes if r.is_default and r.table == 254 and r.dst.version == 4]
    assert [(str(r.gateway), r.metric) for r in defaults] == [("10.9.0.1", None)]
    connected = by_dst["10.9.0.0/24", 254]
    assert connected.src == IP("10.9.0.2") == connected.prefsrc
    assert connected.link == IFINDEX == connected.oif


def test_neighbour_dump_decodes() -> None:
    entries = [
        n
        for m in dump_messages("dump_neighbours.bin.gz")
        if isinstance(m, Message) and m.type == RtmType.NEWNEIGH
        for n in [Neighbour.from_message(m)]
        if n is not None
    ]
    by_ip = {str(n.ip): n for n in entries}
    assert by_ip["10.9.0.8"].mac == MacAddress("02:00:00:00:00:0a")
    assert by_ip["10.9.0.8"].state is NudState.PERMANENT and by_ip["10.9.0.8"].permanent
    assert by_ip["fd00::7"].mac == MacAddress("02:00:00:00:00:09")
    assert by_ip["fd00::7"].index == IFINDEX
    assert "10.9.0.7" not in by_ip  # deleted again


def test_rule_dumps_decode() -> None:
    rules = [
        Rule.from_message(m)
        for file in ("dump_rules.bin.gz", "dump_rules_ipv6.bin.gz")
        for m in dump_messages(file)
        if isinstance(m, Message) and m.type == RtmType.NEWRULE
    ]
    by_prio = {(r.family, r.priority): r for r in rules}
    fw = by_prio[2, 1001]
    assert (fw.table, fw.fwmark, fw.iif, fw.action) == (1000, 5, "mv0", FrAct.TO_TBL)
    to = by_prio[2, 1002]
    assert (to.dst, to.oif, to.table) == (NET("10.8.0.0/16"), "mv0", 200)
    assert by_prio[2, 1003].action is FrAct.BLACKHOLE
    assert by_prio[10, 1004].src == NET("fd00::/64")
    assert (2, 1000) not in by_prio  # deleted again
    assert by_prio[2, 32766].table == 254  # the kernel's "lookup main"


# -- the dump fast path gives what the typed decoder gives ---------------------------------
def _chunks(file: str) -> list[bytes]:
    routes = file in dumps("dumps_routes.json")
    return dump_chunks(file, "dumps_routes.json" if routes else "dumps.json")


@pytest.mark.parametrize(
    "file", ["dump_routes_all.bin.gz", "dump_routes.bin.gz", "dump_routes_ipv6.bin.gz"]
)
def test_parse_routes_equals_from_message(file: str) -> None:
    from macvlan.route import parse_routes, routes_of

    for chunk in _chunks(file):
        fast: list[Route] = []
        parse_routes(chunk, 0, len(chunk), fast)
        slow = routes_of([m for m in nl.decode(chunk) if isinstance(m, Message)])
        assert fast == slow
        assert all(type(r) is Route for r in fast)
        assert [r.nexthops for r in fast] == [r.nexthops for r in slow]


def test_parse_neighbours_equals_from_message() -> None:
    from macvlan.neighbour import neighbours_of, parse_neighbours

    seen = 0
    for chunk in _chunks("dump_neighbours.bin.gz"):
        fast: list[Neighbour] = []
        parse_neighbours(chunk, 0, len(chunk), fast)
        slow = neighbours_of([m for m in nl.decode(chunk) if isinstance(m, Message)])
        assert fast == slow
        seen += len(fast)
    assert seen >= 3


def test_values_are_not_plain_tuples() -> None:
    route = Route(NET("10.0.0.0/8"), None, 1, 254, 3, 0, RtType.UNICAST)
    assert route != tuple(route) and route == Route(*route)
    assert hash(route) == hash(Route(*route))
    entry = Neighbour(IP("10.0.0.1"), None, NudState.FAILED, 3)
    assert entry != tuple(entry) and entry.index == 3


@pytest.mark.parametrize(("version", "bits"), [(4, 32), (6, 128)])
def test_fast_networks_equal_the_constructor(version: int, bits: int) -> None:
    """parse_routes copies a template network per prefix length: the same values."""
    from macvlan._netlink.structs import RtMsg
    from macvlan.route import parse_routes

    family = 2 if version == 4 else 10
    for plen in range(bits + 1):
        value = ((1 << bits) - 1) & ~((1 << (bits - plen)) - 1) if plen else 0
        dst = value.to_bytes(bits // 8, "big")
        message = Message(
            RtmType.NEWROUTE,
            body=RtMsg(family=family, dst_len=plen, table=254, type=1),
            attrs=[rta.DST(ipaddress.ip_address(dst)), rta.OIF(2)] if plen else [rta.OIF(2)],
        )
        data = nl.encode([message])
        out: list[Route] = []
        parse_routes(data, 0, len(data), out)
        (route,) = out
        real = (ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network)((value, plen))
        assert route.dst == real and hash(route.dst) == hash(real) and str(route.dst) == str(real)
        assert route.dst.broadcast_address == real.broadcast_address
        assert route.dst.num_addresses == real.num_addresses
        if plen >= bits - 2:
            assert list(route.dst.hosts()) == list(real.hosts())
