"""Live tests of routes, rules, neighbours, statistics and link properties (issue 18),
with ``ip -j`` (and ``ping`` for the statistics) as the oracle.

Everything happens in throw-away namespaces: the ``sandbox`` (veth p0/p1) with an up
macvlan ``mv0`` on p0, and for the statistics a second namespace at the far end of a
veth pair.  The addresses are private test ranges that exist only there.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from support import ip_json

import macvlan
import macvlan.aio
from macvlan import (
    GatewayUnreachable,
    NeighbourExists,
    NeighbourNotFound,
    NextHop,
    NudState,
    RouteExists,
    RouteNotFound,
    RouteType,
    RuleAction,
    RuleExists,
    RuleNotFound,
)
from macvlan._netlink.constants import Iff
from macvlan.monitor import EventAction, NeighbourEvent, RouteEvent, RuleEvent

pytestmark = [
    pytest.mark.live,
]

IP = ipaddress.ip_address


@pytest.fixture
def lan(sandbox: Any) -> Any:
    """The sandbox with an up macvlan ``mv0`` on p0, 10.80.0.2/24 and fd80::2/64."""
    rt = sandbox.rt
    rt.create_macvlan("mv0", "p0", up=True, mac="02:00:00:00:80:02")
    rt.add_address("mv0", "10.80.0.2/24")
    rt.add_address("mv0", "fd80::2/64", nodad=True)
    return sandbox


def ip_routes(sb: Any, *args: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = sb.ip(*args)
    return out


# -- routes ----------------------------------------------------------------------------------
def test_replace_and_metric_aware_delete(lan: Any) -> None:
    rt = lan.rt
    rt.add_route("default", gateway="10.80.0.1", link="mv0")
    with pytest.raises(RouteExists) as dup:
        rt.add_route("default", gateway="10.80.0.9", link="mv0")
    assert dup.value.errno == errno.EEXIST and isinstance(dup.value, FileExistsError)
    rt.add_route("default", gateway="10.80.0.9", link="mv0", replace=True)
    (default,) = [r for r in lan.ip("route", "show") if r["dst"] == "default"]
    assert default["gateway"] == "10.80.0.9"
    rt.add_route("default", gateway="10.80.0.3", link="mv0", metric=100)
    seen = {(r["gateway"], r.get("metric")) for r in lan.ip("route") if r["dst"] == "default"}
    assert seen == {("10.80.0.9", None), ("10.80.0.3", 100)}
    ours = {(str(r.gateway), r.metric) for r in rt.routes() if r.is_default and r.dst.version == 4}
    assert ours == seen
    rt.delete_route("default", metric=100)  # only the metric-100 one goes
    seen = {(r["gateway"], r.get("metric")) for r in lan.ip("route") if r["dst"] == "default"}
    assert seen == {("10.80.0.9", None)}
    with pytest.raises(RouteNotFound) as missing:
        rt.delete_route("default", metric=100)
    assert missing.value.errno == errno.ESRCH


def test_onlink_gateway(lan: Any) -> None:
    rt = lan.rt
    with pytest.raises(GatewayUnreachable) as refused:
        rt.add_route("10.81.0.0/16", gateway="192.168.81.1", link="mv0")
    assert "gateway" in refused.value.ext_ack
    assert not any(r["dst"] == "10.81.0.0/16" for r in lan.ip("route"))
    rt.add_route("10.81.0.0/16", gateway="192.168.81.1", link="mv0", onlink=True)
    (theirs,) = [r for r in lan.ip("route") if r["dst"] == "10.81.0.0/16"]
    assert theirs["flags"] == ["onlink"] and theirs["gateway"] == "192.168.81.1"
    (ours,) = [r for r in rt.routes() if str(r.dst) == "10.81.0.0/16"]
    assert ours.onlink and ours.link == rt.link("mv0").index


@pytest.mark.parametrize(
    ("dst", "hops", "args"),
    [
        ("10.82.0.0/16", [("10.80.0.1", 3), ("10.80.0.5", 1)], ()),
        ("fd82::/64", [("fd80::1", 1), ("fd80::5", 2)], ("-6",)),
    ],
)
def test_multipath(lan: Any, dst: str, hops: list[tuple[str, int]], args: tuple[str, ...]) -> None:
    rt = lan.rt
    rt.add_route(dst, nexthops=[NextHop(gw, "mv0", weight=w) for gw, w in hops])
    (theirs,) = [r for r in lan.ip(*args, "route") if r["dst"] == dst]
    expected = sorted((gw, "mv0", w) for gw, w in hops)
    assert sorted((h["gateway"], h["dev"], h["weight"]) for h in theirs["nexthops"]) == expected
    (ours,) = [r for r in rt.routes() if str(r.dst) == dst]
    names = {x.index: x.name for x in rt.links()}
    assert sorted((str(h.gateway), names[h.link], h.weight) for h in ours.nexthops) == expected
    assert ours in rt.routes(link="mv0")  # a multipath route counts for its hops' links
    rt.delete_route(dst)
    assert not any(r["dst"] == dst for r in lan.ip(*args, "route"))


def test_route_types(lan: Any) -> None:
    rt = lan.rt
    rt.add_route("198.51.100.0/24", type="blackhole")
    rt.add_route("198.51.101.0/24", type=RouteType.UNREACHABLE)
    rt.add_route("198.51.102.0/24", type="prohibit", table=1000)
    theirs = {(r["dst"], r.get("type")) for r in lan.ip("route", "show", "table", "all")}
    assert {
        ("198.51.100.0/24", "blackhole"),
        ("198.51.101.0/24", "unreachable"),
        ("198.51.102.0/24", "prohibit"),
    } <= theirs
    ours = {str(r.dst): r.type for r in rt.routes("all")}
    assert ours["198.51.100.0/24"] is RouteType.BLACKHOLE
    assert ours["198.51.102.0/24"] is RouteType.PROHIBIT
    assert "198.51.102.0/24" not in {str(r.dst) for r in rt.routes()}  # main only
    rt.delete_route("198.51.100.0/24", type="blackhole")
    with pytest.raises(RouteNotFound):  # a type given must match
        rt.delete_route("198.51.101.0/24", type="blackhole")
    rt.delete_route("198.51.101.0/24")  # no type: any type matches
    assert not any(r["dst"].startswith("198.51.10") for r in lan.ip("route"))
    with pytest.raises(ValueError, match="takes no gateway"):
        rt.add_route("198.51.103.0/24", type="blackhole", gateway="10.80.0.1")
    with pytest.raises(ValueError, match="unknown route type"):
        rt.add_route("198.51.103.0/24", type="black-hole")


# -- rules ----------------------------------------------------------------------------------
def ip_rules(sb: Any, *args: str) -> dict[int, dict[str, Any]]:
    return {r["priority"]: r for r in sb.ip(*args, "rule", "show")}


def test_rules_against_ip(lan: Any) -> None:
    rt = lan.rt
    rt.add_rule(1000, table=100, src="10.80.0.0/24")
    rt.add_rule(1001, table=1000, fwmark=5, fwmask=0xFF, iif="mv0")
    rt.add_rule(1002, table=200, dst="10.8.0.0/16", oif="mv0")
    rt.add_rule(1003, src="10.10.0.0/16", action="blackhole")
    rt.add_rule(1004, table=100, src="fd80::/64")
    theirs = ip_rules(lan)
    assert (theirs[1000]["src"], theirs[1000]["srclen"], theirs[1000]["table"]) == (
        "10.80.0.0",
        24,
        "100",
    )
    assert (theirs[1001]["fwmark"], theirs[1001]["fwmask"], theirs[1001]["iif"]) == (
        "0x5",
        "0xff",
        "mv0",
    )
    assert (theirs[1002]["dst"], theirs[1002]["oif"]) == ("10.8.0.0", "mv0")
    assert theirs[1003]["action"] == "blackhole"
    assert ip_rules(lan, "-6")[1004]["src"] == "fd80::"
    ours = {(r.family, r.priority): r for r in rt.rules()}
    assert {p for f, p in ours if f == 2} == set(theirs)
    assert ours[2, 1001].fwmark == 5 and ours[2, 1001].fwmask == 0xFF
    assert ours[2, 1001].iif == "mv0" and ours[2, 1001].table == 1000
    assert ours[2, 1003].action is RuleAction.BLACKHOLE
    assert str(ours[10, 1004].src) == "fd80::/64"
    with pytest.raises(RuleExists):
        rt.add_rule(1000, table=100, src="10.80.0.0/24")
    rt.delete_rule(1000, table=100, src="10.80.0.0/24")
    rt.delete_rule(1003)
    assert 1000 not in ip_rules(lan) and 1003 not in ip_rules(lan)
    with pytest.raises(RuleNotFound) as missing:
        rt.delete_rule(4242)
    assert missing.value.errno == errno.ENOENT
    with pytest.raises(ValueError):
        rt.add_rule(1005)  # neither a table nor an action
    with pytest.raises(ValueError):
        rt.add_rule(1005, table=100, src="10.0.0.0/8", dst="fd00::/8")


# -- neighbours -------------------------------------------------------------------------------
def ip_neigh(sb: Any, *args: str) -> dict[str, dict[str, Any]]:
    return {n["dst"]: n for n in sb.ip("neigh", "show", *args)}


def test_neighbours_against_ip(lan: Any) -> None:
    rt = lan.rt
    rt.add_neighbour("mv0", "10.80.0.7", "02:00:00:00:00:07")
    rt.add_neighbour("mv0", "fd80::7", "02:00:00:00:00:17")
    with pytest.raises(NeighbourExists):
        rt.add_neighbour("mv0", "10.80.0.7", "02:00:00:00:00:08")
    rt.add_neighbour("mv0", "10.80.0.7", "02:00:00:00:00:08", replace=True)
    theirs = ip_neigh(lan, "dev", "mv0", "nud", "all")  # (ip hides NOARP ones otherwise)
    assert theirs["10.80.0.7"]["lladdr"] == "02:00:00:00:00:08"
    assert theirs["10.80.0.7"]["state"] == ["PERMANENT"]
    # the kernel adds NOARP entries for multicast groups (MLD) at any moment: not those
    ours = {str(n.ip): n for n in rt.neighbours("mv0") if not n.ip.is_multicast}
    assert set(ours) == {ip for ip in theirs if not IP(ip).is_multicast}
    assert str(ours["10.80.0.7"].mac) == "02:00:00:00:00:08"
    assert ours["fd80::7"].state is NudState.PERMANENT
    assert ours["10.80.0.7"].index == rt.link("mv0").index
    assert all(n.index == rt.link("p1").index for n in rt.neighbours("p1"))
    rt.delete_neighbour("mv0", "fd80::7")
    assert "fd80::7" not in ip_neigh(lan)
    with pytest.raises(NeighbourNotFound) as missing:
        rt.delete_neighbour("mv0", "fd80::7")
    assert missing.value.errno == errno.ENOENT


def test_flush_neighbours_keeps_permanent_entries(lan: Any) -> None:
    rt = lan.rt
    rt.add_neighbour("mv0", "10.80.0.7", "02:00:00:00:00:07")
    for i in range(10, 15):  # entries the kernel might have learnt
        subprocess.run(
            ["ip", "-n", lan.name, "neigh", "add", f"10.80.0.{i}", "lladdr",
             f"02:00:00:00:00:{i:02x}", "dev", "mv0", "nud", "stale"],
            check=True,
        )  # fmt: skip
    assert len(ip_neigh(lan, "dev", "mv0")) == 6
    assert rt.flush_neighbours("mv0") == 5
    assert set(ip_neigh(lan, "dev", "mv0")) == {"10.80.0.7"}
    assert rt.flush_neighbours("mv0", permanent=True) == 1
    assert ip_neigh(lan, "dev", "mv0") == {}


# -- statistics ------------------------------------------------------------------------------
STAT_KEYS = (
    "rx_packets",
    "rx_bytes",
    "rx_errors",
    "rx_dropped",
    "multicast",
    "tx_packets",
    "tx_bytes",
    "tx_errors",
    "tx_dropped",
)


def ip_stats(ns: str, name: str) -> dict[str, int]:
    """The counters ``ip -s -j link show`` prints, under LinkStats' names."""
    (entry,) = ip_json("-s", "link", "show", "dev", name, netns=ns)
    rx, tx = entry["stats64"]["rx"], entry["stats64"]["tx"]
    out = {f"rx_{k}": rx[k] for k in ("packets", "bytes", "errors", "dropped")}
    out |= {f"tx_{k}": tx[k] for k in ("packets", "bytes", "errors", "dropped")}
    out["multicast"] = rx["multicast"]
    return out


def our_stats(rt: Any, name: str) -> dict[str, int]:
    stats = rt.link_stats(name)
    return {k: getattr(stats, k) for k in STAT_KEYS}


def agreeing(
    fetch_ours: Callable[[], dict[str, int]], fetch_ip: Callable[[], dict[str, int]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Both readings, taken again until no stray packet (IPv6 ND, MLD) fell between."""
    for _ in range(20):
        ours, theirs, again = fetch_ours(), fetch_ip(), fetch_ours()
        if ours == theirs == again:
            break
        time.sleep(0.05)
    return ours, theirs


PINGS = 7


def test_link_stats_after_pings(netns_factory: Callable[..., Any]) -> None:
    here, there = netns_factory("mvt"), netns_factory("mvt")
    with macvlan.connect(here) as rt, macvlan.connect(there) as far:
        rt.create_veth("s0", "s1", peer_netns=there, up=True)
        far.set_link("s1", up=True)
        rt.add_address("s0", "10.83.0.1/24")
        far.add_address("s1", "10.83.0.2/24")
        before, _ = agreeing(lambda: our_stats(rt, "s0"), lambda: ip_stats(str(here.name), "s0"))
        subprocess.run(
            ["ip", "netns", "exec", str(here.name), "ping", "-c", str(PINGS), "-i", "0.01",
             "-W", "2", "-s", "100", "10.83.0.2"],
            check=True, capture_output=True,
        )  # fmt: skip
        ours, theirs = agreeing(lambda: our_stats(rt, "s0"), lambda: ip_stats(str(here.name), "s0"))
        assert ours == theirs
        # PINGS echo requests out and replies in (ARP adds one packet each way)
        assert ours["tx_packets"] - before["tx_packets"] >= PINGS
        assert ours["rx_packets"] - before["rx_packets"] >= PINGS
        assert ours["tx_bytes"] - before["tx_bytes"] >= PINGS * (100 + 8 + 20 + 14)
        stats = rt.link_stats("s0")
        assert stats.name == "s0" and stats.index == rt.link("s0").index
        assert stats.carrier_changes is not None and stats.carrier_changes >= 1
        far_stats = far.link_stats("s1")
        assert far_stats.rx_packets >= PINGS and far_stats.tx_packets >= PINGS


# -- link properties -------------------------------------------------------------------------
def test_link_properties_against_ip(lan: Any) -> None:
    rt = lan.rt
    link = rt.set_link("mv0", alias="uplink to lab", promisc=True, allmulti=True, txqueuelen=800)
    (theirs,) = lan.ip("-d", "link", "show", "dev", "mv0")
    assert theirs["ifalias"] == "uplink to lab" == link.alias
    assert theirs["promiscuity"] == link.promiscuity == 1
    assert theirs["allmulti"] == link.allmulti == 1
    assert theirs["txqlen"] == link.txqueuelen == 800
    assert "PROMISC" in theirs["flags"] and link.flags & Iff.PROMISC
    link = rt.set_link("mv0", alias="", promisc=False, allmulti=False)
    (theirs,) = lan.ip("-d", "link", "show", "dev", "mv0")
    assert "ifalias" not in theirs and link.alias is None
    assert theirs["promiscuity"] == link.promiscuity == 0
    assert not link.flags & Iff.PROMISC
    long = "mv0-alternative-name-longer-than-fifteen"
    assert rt.add_altname("mv0", long).altnames == (long,)
    (theirs,) = lan.ip("link", "show", "dev", "mv0")
    assert theirs["altnames"] == [long]
    assert rt.delete_altname("mv0", long).altnames == ()
    assert "altnames" not in lan.ip("link", "show", "dev", "mv0")[0]
    with pytest.raises(ValueError):
        rt.add_altname("mv0", "has space")


def test_links_by_mac(lan: Any) -> None:
    rt = lan.rt
    (found,) = rt.links(mac="02:00:00:00:80:02")
    assert found.name == "mv0"
    assert rt.links(mac="0200.0000.8002") == [found]
    assert rt.links(mac="02:00:00:00:80:99") == []
    with pytest.raises(ValueError):
        rt.links(mac="not a mac")


def test_bcqueuelen_and_bc_cutoff_after_creation(lan: Any) -> None:
    rt = lan.rt
    rt.create_macvlan("mv1", "p0")
    mv0 = rt.set_link("mv0", bcqueuelen=321)
    (theirs,) = lan.ip("-d", "link", "show", "dev", "mv0")
    assert theirs["linkinfo"]["info_data"]["bcqueuelen"] == 321
    assert mv0.macvlan is not None and mv0.macvlan.bcqueuelen == 321
    rt.set_link("mv0", bc_cutoff=7)
    # one value per parent: the sibling on p0 reads the same cutoff
    for name in ("mv0", "mv1"):
        info = rt.link(name).macvlan
        assert info is not None and info.bc_cutoff == 7
    rt.set_link("mv1", bc_cutoff=-1)
    assert rt.link("mv0").macvlan.bc_cutoff == -1  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="not a macvlan"):
        rt.set_link("p0", bcqueuelen=10)


# -- events -------------------------------------------------------------------------------
def test_route_neighbour_and_rule_events(lan: Any) -> None:
    rt = lan.rt
    ns = lan.name
    with rt.watch(links=False, addresses=False, routes=True, neighbours=True, rules=True) as mon:
        while mon.poll(0.05):
            pass
        for command in (
            "route add 10.84.0.0/16 via 10.80.0.1 dev mv0",
            "neigh add 10.80.0.44 lladdr 02:00:00:00:00:44 dev mv0 nud permanent",
            "rule add from 10.84.0.0/16 table 84 priority 84",
            "route del 10.84.0.0/16 via 10.80.0.1 dev mv0",
            "neigh del 10.80.0.44 dev mv0",
            "rule del priority 84",
        ):
            subprocess.run(["ip", "-n", ns, *command.split()], check=True)
        events: list[Any] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
            isinstance(e, RuleEvent) and e.action == EventAction.DELETED for e in events
        ):
            events += mon.poll(0.5)
    routes = [(e.action, e.route.gateway) for e in events if isinstance(e, RouteEvent)
              and str(e.route.dst) == "10.84.0.0/16"]  # fmt: skip
    assert routes == [(EventAction.NEW, IP("10.80.0.1")), (EventAction.DELETED, IP("10.80.0.1"))]
    neigh = [(e.action, str(e.neighbour.mac)) for e in events if isinstance(e, NeighbourEvent)
             and str(e.neighbour.ip) == "10.80.0.44"]  # fmt: skip
    assert neigh[0] == (EventAction.NEW, "02:00:00:00:00:44")
    assert neigh[-1][0] == EventAction.DELETED
    rules = [(e.action, e.rule.priority) for e in events if isinstance(e, RuleEvent)]
    assert rules == [(EventAction.NEW, 84), (EventAction.DELETED, 84)]


# -- the asyncio front -------------------------------------------------------------------------
def test_asyncio_front(lan: Any) -> None:
    async def main() -> None:
        async with macvlan.aio.connect(lan.ns) as rt:
            await rt.add_route("default", gateway="10.80.0.1", link="mv0")
            await rt.add_route("default", gateway="10.80.0.9", link="mv0", replace=True)
            await rt.add_route("10.85.0.0/16", nexthops=[NextHop("10.80.0.1", "mv0"),
                                                         NextHop("10.80.0.5", "mv0")])  # fmt: skip
            await rt.add_rule(1100, table=100, src="10.80.0.0/24")
            await rt.add_neighbour("mv0", "10.80.0.7", "02:00:00:00:00:07")
            link = await rt.set_link("mv0", alias="async", promisc=True)
            assert link.alias == "async" and link.promiscuity == 1
            assert (await rt.add_altname("mv0", "mv0-async-altname")).altnames == (
                "mv0-async-altname",
            )
            stats = await rt.link_stats("mv0")
            assert stats.name == "mv0"
            routes = await rt.routes()
            assert {str(r.gateway) for r in routes if r.is_default and r.dst.version == 4} == {
                "10.80.0.9"
            }
            assert len(next(r for r in routes if str(r.dst) == "10.85.0.0/16").nexthops) == 2
            assert any(r.priority == 1100 for r in await rt.rules())
            assert [str(n.mac) for n in await rt.neighbours("mv0") if str(n.ip) == "10.80.0.7"] == [
                "02:00:00:00:00:07"
            ]
            with pytest.raises(RouteExists):
                await rt.add_route("default", gateway="10.80.0.1", link="mv0")
            await rt.delete_neighbour("mv0", "10.80.0.7")
            await rt.delete_rule(1100, table=100, src="10.80.0.0/24")
            assert await rt.flush_neighbours("mv0") == 0
            assert [x.name for x in await rt.links(mac="02:00:00:00:80:02")] == ["mv0"]

    asyncio.run(main())
    (default,) = [r for r in lan.ip("route") if r["dst"] == "default"]
    assert default["gateway"] == "10.80.0.9"
    assert 1100 not in ip_rules(lan)
    (theirs,) = lan.ip("link", "show", "dev", "mv0")
    assert theirs["ifalias"] == "async" and theirs["altnames"] == ["mv0-async-altname"]


def test_asyncio_route_and_neighbour_events(lan: Any) -> None:
    async def main() -> list[Any]:
        async with macvlan.aio.connect(lan.ns) as rt:
            monitor = rt.watch(links=False, addresses=False, routes=True, neighbours=True)
            async with monitor:
                while await monitor.poll(0.05):
                    pass
                for command in (
                    "route add 10.86.0.0/16 via 10.80.0.1 dev mv0",
                    "neigh add 10.80.0.46 lladdr 02:00:00:00:00:46 dev mv0 nud permanent",
                ):
                    subprocess.run(["ip", "-n", lan.name, *command.split()], check=True)
                events: list[Any] = []
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 5
                while loop.time() < deadline and not (
                    any(isinstance(e, RouteEvent) and str(e.route.dst) == "10.86.0.0/16"
                        for e in events)
                    and any(isinstance(e, NeighbourEvent) and str(e.neighbour.ip) == "10.80.0.46"
                            for e in events)
                ):  # fmt: skip
                    events += await monitor.poll(0.5)
                return events

    events = asyncio.run(main())
    (route,) = [
        e for e in events if isinstance(e, RouteEvent) and str(e.route.dst) == "10.86.0.0/16"
    ]
    assert route.action == EventAction.NEW and route.route.gateway == IP("10.80.0.1")
    neigh = [
        e for e in events if isinstance(e, NeighbourEvent) and str(e.neighbour.ip) == "10.80.0.46"
    ]
    assert neigh and str(neigh[0].neighbour.mac) == "02:00:00:00:00:46"
