"""Live tests of addresses and routes, checked against ``ip -j addr`` / ``ip -j route``.

Everything happens inside the ``sandbox`` namespace (veth p0/p1) on a macvlan made
there; the addresses are private test ranges that exist only in that namespace.
"""

from __future__ import annotations

import errno
import ipaddress
from typing import Any

import pytest

from macvlan._netlink.constants import AddrFamily, IfaFlags, RtProto, RtScope
from macvlan.errors import (
    AddressExists,
    AddressNotFound,
    LinkExists,
    LinkNotFound,
    NetlinkError,
    RouteExists,
    RouteNotFound,
)

pytestmark = [
    pytest.mark.live,
]


@pytest.fixture
def lan(sandbox: Any) -> Any:
    """The sandbox with an up macvlan ``mv0`` on p0."""
    sandbox.rt.create_macvlan("mv0", "p0", up=True)
    return sandbox


def ip_addrs(sb: Any, *args: str) -> set[tuple[str, int, str]]:
    """(address, prefix length, interface) for every address ``ip -j addr show`` lists."""
    out = set()
    for link in sb.ip("addr", "show", *args):
        for info in link.get("addr_info", []):
            out.add((info["local"], info["prefixlen"], link["ifname"]))
    return out


def our_addrs(sb: Any, *args: Any, **kw: Any) -> set[tuple[str, int, str]]:
    names = {link.index: link.name for link in sb.rt.links()}
    return {
        (str(a.ip), a.interface.network.prefixlen, names[a.index])
        for a in sb.rt.addresses(*args, **kw)
    }


def ip_routes(sb: Any, *family: str) -> set[tuple[str, str | None, str | None, int | None]]:
    """(dst, gateway, dev, metric) of the main table, as ``ip -j route show`` says."""
    out = set()
    for r in sb.ip(*family, "route", "show", "table", "main"):
        dst = r["dst"]
        if dst == "default":
            dst = "::/0" if family == ("-6",) else "0.0.0.0/0"
        elif "/" not in dst:
            dst += "/128" if ":" in dst else "/32"
        out.add((dst, r.get("gateway"), r.get("dev"), r.get("metric")))
    return out


def our_routes(sb: Any, family: int) -> set[tuple[str, str | None, str | None, int | None]]:
    names = {link.index: link.name for link in sb.rt.links()}
    out = set()
    for r in sb.rt.routes(family=family):
        metric = r.metric
        if family == AddrFamily.INET and metric == 0:
            metric = None
        gateway = None if r.gateway is None else str(r.gateway)
        dev = None if r.oif is None else names[r.oif]
        out.add((str(r.dst), gateway, dev, metric))
    return out


# -- addresses ----------------------------------------------------------------------------
def test_add_list_delete_addresses(lan: Any) -> None:
    rt = lan.rt
    rt.add_address("mv0", "10.61.0.2/24")
    rt.add_address("mv0", ipaddress.ip_interface("10.62.0.2/32"))
    rt.add_address("mv0", "fd00:61::2/64", nodad=True)
    rt.add_address("p0", "192.168.61.1/30")

    listed = ip_addrs(lan, "dev", "mv0")
    assert {("10.61.0.2", 24, "mv0"), ("10.62.0.2", 32, "mv0"), ("fd00:61::2", 64, "mv0")} <= listed
    assert our_addrs(lan, "mv0") == listed
    assert our_addrs(lan) == ip_addrs(lan)
    assert ("192.168.61.1", 30, "p0") in our_addrs(lan)

    by_ip = {str(a.ip): a for a in rt.addresses("mv0")}
    v4, v6 = by_ip["10.61.0.2"], by_ip["fd00:61::2"]
    assert v4.family == AddrFamily.INET and v4.broadcast == ipaddress.ip_address("10.61.0.255")
    assert v4.scope == RtScope.UNIVERSE and v4.label == "mv0"
    assert v6.family == AddrFamily.INET6 and v6.flags & IfaFlags.NODAD
    assert not v6.flags & IfaFlags.TENTATIVE  # nodad: usable at once
    # read back under the names add_address(link, address) wrote them with
    mv0 = rt.link("mv0").index
    assert v4.address == ipaddress.ip_interface("10.61.0.2/24") == v4.interface
    assert v4.link == mv0 == v4.index
    (entry,) = lan.ip("addr", "show", "dev", "mv0")
    (info,) = [i for i in entry["addr_info"] if i["local"] == "fd00:61::2"]
    assert info.get("nodad") is True
    (info,) = [i for i in entry["addr_info"] if i["local"] == "10.61.0.2"]
    assert info["broadcast"] == "10.61.0.255"

    v4only = {str(a.ip) for a in rt.addresses("mv0", family=AddrFamily.INET)}
    assert v4only == {"10.61.0.2", "10.62.0.2"}
    v6only = {a.ip.version for a in rt.addresses(family=AddrFamily.INET6)}
    assert v6only == {6}

    rt.delete_address("mv0", "10.61.0.2/24")
    rt.delete_address("mv0", "fd00:61::2/64")
    after = ip_addrs(lan, "dev", "mv0")
    assert ("10.61.0.2", 24, "mv0") not in after and ("fd00:61::2", 64, "mv0") not in after
    assert ("10.62.0.2", 32, "mv0") in after
    assert our_addrs(lan, "mv0") == after


def test_address_errors(lan: Any) -> None:
    rt = lan.rt
    rt.add_address("mv0", "10.63.0.2/24")
    with pytest.raises(FileExistsError) as dup:
        rt.add_address("mv0", "10.63.0.2/24")
    assert isinstance(dup.value, AddressExists) and dup.value.errno == errno.EEXIST
    assert not isinstance(dup.value, LinkExists)
    with pytest.raises(AddressNotFound) as missing:
        rt.delete_address("mv0", "10.63.0.9/24")
    assert missing.value.errno == errno.EADDRNOTAVAIL
    assert "10.63.0.9" in str(missing.value)
    with pytest.raises(LinkNotFound):
        rt.add_address("nosuch", "10.63.0.3/24")
    with pytest.raises(LinkNotFound):
        rt.addresses("nosuch")
    assert ip_addrs(lan, "dev", "mv0") >= {("10.63.0.2", 24, "mv0")}


@pytest.mark.parametrize(
    ("address", "kw", "exc"),
    [
        ("10.0.0.300/24", {}, ValueError),
        ("10.0.0.1/33", {}, ValueError),
        ("fd00::1/129", {}, ValueError),
        ("not an address", {}, ValueError),
        (None, {}, TypeError),
        (167772161, {}, TypeError),
        ("10.0.0.1/24", {"nodad": True}, ValueError),  # nodad is IPv6 only
    ],
    ids=repr,
)
def test_bad_addresses_refused_before_sending(
    lan: Any, no_io: None, address: Any, kw: dict[str, Any], exc: type
) -> None:
    with pytest.raises(exc):
        lan.rt.add_address("mv0", address, **kw)
    if not kw:
        with pytest.raises(exc):
            lan.rt.delete_address("mv0", address)


# -- routes ---------------------------------------------------------------------------------
def test_add_list_delete_routes(lan: Any) -> None:
    rt = lan.rt
    rt.add_address("mv0", "10.64.0.2/24")
    rt.add_address("mv0", "fd00:64::2/64", nodad=True)
    rt.add_route("default", gateway="10.64.0.1")
    rt.add_route("10.99.0.0/16", gateway="10.64.0.254", link="mv0", metric=50)
    rt.add_route("10.98.0.0/16", link="mv0")  # on-link
    rt.add_route("192.0.2.7/32", gateway="10.64.0.1")
    rt.add_route("default", gateway="fd00:64::1")
    rt.add_route("fd00:99::/48", gateway="fd00:64::fe", metric=77)

    v4 = ip_routes(lan)
    assert {
        ("0.0.0.0/0", "10.64.0.1", "mv0", None),
        ("10.99.0.0/16", "10.64.0.254", "mv0", 50),
        ("10.98.0.0/16", None, "mv0", None),
        ("192.0.2.7/32", "10.64.0.1", "mv0", None),
        ("10.64.0.0/24", None, "mv0", None),
    } <= v4
    assert our_routes(lan, AddrFamily.INET) == v4
    v6 = ip_routes(lan, "-6")
    assert {("::/0", "fd00:64::1", "mv0", 1024), ("fd00:99::/48", "fd00:64::fe", "mv0", 77)} <= v6
    assert our_routes(lan, AddrFamily.INET6) == v6

    routes = {str(r.dst): r for r in rt.routes(family=AddrFamily.INET)}
    default = routes["0.0.0.0/0"]
    assert default.is_default and default.protocol == RtProto.BOOT
    assert routes["10.98.0.0/16"].scope == RtScope.LINK and routes["10.98.0.0/16"].gateway is None
    assert routes["10.64.0.0/24"].protocol == RtProto.KERNEL
    assert routes["10.64.0.0/24"].prefsrc == ipaddress.ip_address("10.64.0.2")
    mv0 = rt.link("mv0").index
    assert {r.oif for r in rt.routes(link="mv0")} == {mv0}
    assert rt.routes(link="p1", family=AddrFamily.INET) == []
    assert {str(r.dst) for r in rt.routes(link="p1")} == {"fe80::/64"}

    rt.delete_route("default", gateway="10.64.0.1")
    rt.delete_route("10.99.0.0/16", gateway="10.64.0.254", metric=50)
    rt.delete_route("10.98.0.0/16", link="mv0")
    rt.delete_route("default", gateway="fd00:64::1")
    v4 = ip_routes(lan)
    assert not any(r[0] in ("0.0.0.0/0", "10.99.0.0/16", "10.98.0.0/16") for r in v4)
    assert ("192.0.2.7/32", "10.64.0.1", "mv0", None) in v4
    assert our_routes(lan, AddrFamily.INET) == v4
    assert "::/0" not in {r[0] for r in ip_routes(lan, "-6")}
    assert our_routes(lan, AddrFamily.INET6) == ip_routes(lan, "-6")


def test_route_in_other_table(lan: Any) -> None:
    rt = lan.rt
    rt.add_address("mv0", "10.65.0.2/24")
    rt.add_route("default", gateway="10.65.0.1", table=1000)
    (entry,) = lan.ip("route", "show", "table", "1000")
    assert (entry["dst"], entry["gateway"], entry["dev"]) == ("default", "10.65.0.1", "mv0")
    (route,) = rt.routes(table=1000)
    assert route.table == 1000 and str(route.gateway) == "10.65.0.1"
    assert all(r.table == 254 for r in rt.routes())
    rt.delete_route("default", gateway="10.65.0.1", table=1000)
    assert lan.ip("route", "show", "table", "1000") == []


def test_route_errors(lan: Any) -> None:
    rt = lan.rt
    rt.add_address("mv0", "10.66.0.2/24")
    rt.add_route("10.97.0.0/16", gateway="10.66.0.1")
    with pytest.raises(FileExistsError) as dup:
        rt.add_route("10.97.0.0/16", gateway="10.66.0.1")
    assert isinstance(dup.value, RouteExists) and dup.value.errno == errno.EEXIST
    assert not isinstance(dup.value, LinkExists)
    with pytest.raises(RouteNotFound) as missing:
        rt.delete_route("10.96.0.0/16", link="mv0")
    assert missing.value.errno == errno.ESRCH
    with pytest.raises(NetlinkError) as unreachable:
        rt.add_route("10.95.0.0/16", gateway="172.31.0.1")  # no route to the gateway
    assert unreachable.value.errno == errno.ENETUNREACH
    assert ("10.97.0.0/16", "10.66.0.1", "mv0", None) in ip_routes(lan)


@pytest.mark.parametrize(
    ("dst", "kw", "exc"),
    [
        ("10.0.0.1/8", {"gateway": "10.0.0.254"}, ValueError),  # host bits set
        ("default", {}, ValueError),  # neither gateway nor link
        ("default", {"gateway": "10.0.0.300"}, ValueError),
        ("fd00::/64", {"gateway": "10.0.0.1"}, ValueError),  # mixed families
        ("10.1.0.0/16", {"gateway": "10.0.0.1", "metric": -1}, ValueError),
        ("10.1.0.0/16", {"gateway": "10.0.0.1", "table": 0}, ValueError),
        ("10.1.0.0/16", {"gateway": "10.0.0.1", "src": "fd00::1"}, ValueError),
        ("10.1.0.0/16", {"link": "mv0", "table": 0}, ValueError),  # checked before lookup
        ("10.1.0.0/16", {"link": "mv0", "metric": "5"}, ValueError),
        ("fd00::/64", {"link": "mv0", "src": "10.0.0.2"}, ValueError),
        (None, {"gateway": "10.0.0.1"}, TypeError),
        ("10.1.0.0/16", {"gateway": 167772161}, TypeError),
    ],
    ids=repr,
)
def test_bad_routes_refused_before_sending(
    lan: Any, no_io: None, dst: Any, kw: dict[str, Any], exc: type
) -> None:
    with pytest.raises(exc):
        lan.rt.add_route(dst, **kw)
