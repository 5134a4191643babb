"""IPAM without I/O: subnet validation, reserved addresses, allocation, requests."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macvlan.network.ipam import (
    AddressTaken,
    IpamError,
    PoolExhausted,
    Subnet,
    check_disjoint,
    parse_requests,
    parse_subnets,
    plan,
)

ip = ipaddress.ip_address


def drain(subnet: Subnet) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    used: set[int] = set()
    cursor = None
    out: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    while True:
        try:
            addr = subnet.allocate(used, cursor)
        except PoolExhausted:
            return out
        used.add(int(addr))
        cursor = int(addr)
        out.append(addr)


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"subnet": "10.0.0.0/33"}, "10.0.0.0/33"),
        ({"subnet": "banana/24"}, "banana/24"),
        ({"subnet": "10.0.0.0"}, "no prefix length"),
        ({"subnet": "10.0.0.5/24"}, "did you mean '10.0.0.0/24'"),
        ({"subnet": 42}, "42"),
        (
            {"subnet": "10.0.0.0/24", "gateway": "10.0.1.1"},
            "10.0.1.1 is outside subnet 10.0.0.0/24",
        ),
        ({"subnet": "10.0.0.0/24", "gateway": "10.0.0.256"}, "'10.0.0.256'"),
        ({"subnet": "10.0.0.0/24", "gateway": "10.0.0.0"}, "network or broadcast"),
        ({"subnet": "10.0.0.0/24", "gateway": "10.0.0.255"}, "network or broadcast"),
        ({"subnet": "10.0.0.0/24", "gateway": "fd00::1"}, "fd00::1 is outside subnet"),
        ({"subnet": "10.0.0.0/24", "ip_range": "10.0.1.0/28"}, "not inside subnet"),
        ({"subnet": "10.0.0.0/24", "ip_range": "10.0.0.0/16"}, "not inside subnet"),
        ({"subnet": "10.0.0.0/24", "ip_range": "fd00::/64"}, "not inside subnet"),
        ({"subnet": "10.0.0.0/24", "aux_addresses": {"r": "10.9.9.9"}}, "aux address 'r'"),
        ({"subnet": "10.0.0.0/24", "aux_addresses": {"r": "nope"}}, "'nope'"),
        ({"subnet": "10.0.0.0/24", "aux_addresses": "10.0.0.9"}, "mapping"),
        (
            {"subnet": "10.0.0.0/24", "aux_addresses": {"a": "10.0.0.9", "b": "10.0.0.9"}},
            "both 10.0.0.9",
        ),
    ],
)
def test_bad_subnet_settings_are_refused_with_the_input_quoted(
    kwargs: dict[str, object], quoted: str
) -> None:
    with pytest.raises(IpamError) as info:
        Subnet.parse(**kwargs)
    assert quoted in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parse_subnets_forms() -> None:
    one = parse_subnets("10.0.0.0/24", "10.0.0.1")
    assert one == (Subnet(ipaddress.ip_network("10.0.0.0/24"), ip("10.0.0.1")),)
    dual = parse_subnets(
        subnets=[
            {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1"},
            {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::1", "IPRange": "fd00:1::/120"},
        ]
    )
    assert [s.version for s in dual] == [4, 6]
    assert dual[1].ip_range == ipaddress.ip_network("fd00:1::/120")
    v6_only = parse_subnets("fd00:2::/64")
    assert v6_only[0].gateway is None


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({}, "needs a subnet"),
        ({"gateway": "10.0.0.1"}, "need a subnet"),
        ({"subnet": "10.0.0.0/24", "subnets": [{"subnet": "10.1.0.0/24"}]}, "not both"),
        ({"subnets": []}, "no subnet"),
        ({"subnets": "10.0.0.0/24"}, "list of dicts"),
        ({"subnets": [{"gateway": "10.0.0.1"}]}, "lack 'subnet'"),
        ({"subnets": [{"subnet": "10.0.0.0/24", "colour": "red"}]}, "'colour'"),
        (
            {"subnets": [{"subnet": "10.0.0.0/16"}, {"subnet": "10.0.5.0/24"}]},
            "10.0.0.0/16 and 10.0.5.0/24 overlap",
        ),
    ],
)
def test_parse_subnets_refusals(kwargs: dict[str, object], quoted: str) -> None:
    with pytest.raises(IpamError) as info:
        parse_subnets(**kwargs)
    assert quoted in str(info.value)


def test_overlap_with_other_networks() -> None:
    mine = parse_subnets("10.0.0.0/24")
    check_disjoint(mine, {"other": parse_subnets("10.0.1.0/24")})
    check_disjoint(mine, {"v6": parse_subnets("fd00::/64")})
    with pytest.raises(IpamError, match=re.escape("overlaps 10.0.0.0/8 of network 'big'")):
        check_disjoint(mine, {"big": parse_subnets("10.0.0.0/8")})


def test_round_trip_through_dict() -> None:
    s = Subnet.parse("10.0.0.0/24", "10.0.0.1", "10.0.0.128/25", {"router": "10.0.0.2"})
    assert Subnet.from_dict(s.to_dict()) == s


# -- reserved addresses and allocation ---------------------------------------------------
def test_never_hands_out_network_broadcast_gateway_or_aux() -> None:
    s = Subnet.parse("192.168.7.0/29", "192.168.7.1", aux_addresses={"r": "192.168.7.4"})
    got = drain(s)
    assert [str(a) for a in got] == ["192.168.7.2", "192.168.7.3", "192.168.7.5", "192.168.7.6"]


def test_ip_range_limits_dynamic_allocation() -> None:
    s = Subnet.parse("10.1.0.0/24", "10.1.0.1", ip_range="10.1.0.64/30")
    assert [str(a) for a in drain(s)] == ["10.1.0.64", "10.1.0.65", "10.1.0.66", "10.1.0.67"]


def test_range_at_the_subnet_start_still_skips_the_network_address() -> None:
    s = Subnet.parse("10.1.0.0/24", ip_range="10.1.0.0/30")
    assert [str(a) for a in drain(s)] == ["10.1.0.1", "10.1.0.2", "10.1.0.3"]


def test_point_to_point_prefixes_use_every_address() -> None:
    assert [str(a) for a in drain(Subnet.parse("10.2.0.0/31"))] == ["10.2.0.0", "10.2.0.1"]
    assert [str(a) for a in drain(Subnet.parse("10.2.0.9/32"))] == ["10.2.0.9"]


def test_ipv6_skips_the_subnet_router_anycast_but_not_the_last_address() -> None:
    got = drain(Subnet.parse("fd00:9::/126", "fd00:9::1"))
    assert [str(a) for a in got] == ["fd00:9::2", "fd00:9::3"]


def test_large_ipv6_pool_allocates_without_scanning_it() -> None:
    s = Subnet.parse("fd00:a::/64", "fd00:a::1")
    used = {int(ip("fd00:a::2")), int(ip("fd00:a::3"))}
    assert s.allocate(used) == ip("fd00:a::4")


def test_allocation_goes_round_robin_from_the_cursor() -> None:
    s = Subnet.parse("10.3.0.0/29", "10.3.0.1")
    assert s.allocate(set(), int(ip("10.3.0.4"))) == ip("10.3.0.5")
    # past the end it wraps to the first free address
    assert s.allocate(set(), int(ip("10.3.0.6"))) == ip("10.3.0.2")


def test_exhaustion_is_a_clear_error() -> None:
    s = Subnet.parse("10.4.0.0/30", "10.4.0.1")
    used = {int(ip("10.4.0.2"))}
    with pytest.raises(PoolExhausted, match=r"no free address left in 10\.4\.0\.0/30"):
        s.allocate(used)
    ranged = Subnet.parse("10.4.0.0/24", ip_range="10.4.0.8/31")
    with pytest.raises(PoolExhausted, match=r"10\.4\.0\.8/31 \(in 10\.4\.0\.0/24\)"):
        ranged.allocate({int(ip("10.4.0.8")), int(ip("10.4.0.9"))})


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.integers(min_value=24, max_value=30),
    gateway_offset=st.integers(min_value=1, max_value=200),
    aux=st.sets(st.integers(min_value=0, max_value=255), max_size=6),
    taken=st.sets(st.integers(min_value=0, max_value=255), max_size=20),
)
def test_allocation_properties(
    prefix: int, gateway_offset: int, aux: set[int], taken: set[int]
) -> None:
    net = ipaddress.ip_network(f"10.7.0.0/{prefix}")
    size = net.num_addresses
    gw = net.network_address + 1 + gateway_offset % (size - 2)
    aux_addrs = {
        f"a{i}": net.network_address + n % size for i, n in enumerate(sorted(aux)) if n % size
    }
    aux_addrs = {k: v for k, v in aux_addrs.items() if v not in (gw, net.broadcast_address)}
    if len(set(aux_addrs.values())) != len(aux_addrs):
        return
    s = Subnet.parse(net, gw, aux_addresses=aux_addrs)
    used = {int(net.network_address) + t % size for t in taken}
    got = []
    cursor = None
    while True:
        try:
            addr = s.allocate(used, cursor)
        except PoolExhausted:
            break
        assert addr in net
        assert int(addr) not in used and int(addr) not in s.reserved()
        used.add(int(addr))
        cursor = int(addr)
        got.append(addr)
    free = set(range(int(net.network_address), int(net.broadcast_address) + 1))
    assert free - used - s.reserved() == set()


# -- requested addresses -------------------------------------------------------------
def test_requested_address_is_honoured_or_refused() -> None:
    subnets = parse_subnets(
        subnets=[
            {"subnet": "10.5.0.0/24", "gateway": "10.5.0.1", "aux_addresses": {"r": "10.5.0.9"}},
            {"subnet": "fd00:5::/64", "gateway": "fd00:5::1"},
        ]
    )
    requests = parse_requests("10.5.0.77", subnets)
    assert requests == {0: ip("10.5.0.77")}
    got = plan(subnets, requests, {}, {})
    assert got == {0: ip("10.5.0.77"), 1: ip("fd00:5::2")}
    with pytest.raises(AddressTaken, match=re.escape("10.5.0.77 is already in use")):
        plan(subnets, requests, {0: {int(ip("10.5.0.77"))}}, {})
    for bad, why in [
        ("10.5.0.1", "gateway"),
        ("10.5.0.9", "aux address 'r'"),
        ("10.5.0.0", "network or broadcast"),
        ("10.5.0.255", "network or broadcast"),
    ]:
        with pytest.raises(IpamError, match=why):
            plan(subnets, parse_requests(bad, subnets), {}, {})


def test_requests_outside_the_subnets_or_malformed() -> None:
    subnets = parse_subnets("10.6.0.0/24")
    with pytest.raises(
        IpamError, match=r"10\.9\.0\.1 is in none of the subnets \(10\.6\.0\.0/24\)"
    ):
        parse_requests("10.9.0.1", subnets)
    with pytest.raises(IpamError, match=re.escape("'10.6.0.x'")):
        parse_requests("10.6.0.x", subnets)
    with pytest.raises(IpamError, match="two IPv4"):
        parse_requests(["10.6.0.5", "10.6.0.6"], subnets)
    with pytest.raises(IpamError, match="list of addresses"):
        parse_requests(7, subnets)


def test_requests_may_sit_outside_the_ip_range_but_inside_the_subnet() -> None:
    subnets = parse_subnets("10.8.0.0/24", "10.8.0.1", "10.8.0.128/25")
    assert plan(subnets, parse_requests("10.8.0.20", subnets), {}, {}) == {0: ip("10.8.0.20")}


def test_plan_moves_on_to_the_next_subnet_of_a_version_when_one_is_full() -> None:
    subnets = parse_subnets(subnets=[{"subnet": "10.9.0.0/30"}, {"subnet": "10.9.1.0/30"}])
    full = {0: {int(ip("10.9.0.1")), int(ip("10.9.0.2"))}}
    assert plan(subnets, {}, full, {}) == {1: ip("10.9.1.1")}
    both = {**full, 1: {int(ip("10.9.1.1")), int(ip("10.9.1.2"))}}
    with pytest.raises(PoolExhausted):
        plan(subnets, {}, both, {})


def test_requests_with_a_prefix_must_match_the_subnet() -> None:
    subnets = parse_subnets("10.6.0.0/24")
    assert parse_requests("10.6.0.5/24", subnets) == {0: ip("10.6.0.5")}
    assert parse_requests(ipaddress.ip_interface("10.6.0.6/24"), subnets) == {0: ip("10.6.0.6")}
    with pytest.raises(IpamError, match=re.escape("10.6.0.5/16 does not match")):
        parse_requests("10.6.0.5/16", subnets)
    with pytest.raises(IpamError, match=re.escape("'10.6.0.5/40'")):
        parse_requests("10.6.0.5/40", subnets)
