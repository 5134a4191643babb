"""The fast dump parsers' layout plans (``macvlan._dumpparse``) against the typed
decoders, on well-formed dumps whose layouts vary: the same length with other
attributes, other orders, other families, repeated attributes, flag bits.

A plan kept from one message must never read another layout: every test here runs
its parser on messages of one length but several layouts, after the plans of the
earlier examples are kept.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import macvlan._netlink as nl
from macvlan import _dumpparse
from macvlan.neighbour import Neighbour, neighbours_of, parse_neighbours
from macvlan.route import Route, parse_routes, routes_of


def attr(kind: int, payload: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + bytes(-len(raw) % 4)


def message(mtype: int, body: bytes, attrs: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(body) + len(attrs), mtype, 2, 9, 0) + body + attrs


def rtmsg(family: int, dst_len: int, table: int = 254, flags: int = 0) -> bytes:
    return struct.pack("=BBBBBBBBI", family, dst_len, 0, 0, table, 3, 0, 1, flags)


def u32(n: int) -> bytes:
    return struct.pack("=I", n)


def fast_and_typed(data: bytes, fast: Any, typed: Any) -> tuple[list[Any], list[Any]]:
    out: list[Any] = []
    fast(data, 0, len(data), out)
    return out, typed(list(nl.decode(data)))


def test_routes_of_one_length_but_other_layouts_are_each_read_right() -> None:
    v4 = ipaddress.IPv4Address
    via = attr(1, v4("10.1.0.0").packed) + attr(5, v4("10.0.0.1").packed) + attr(4, u32(3))
    link = attr(1, v4("10.2.0.0").packed) + attr(7, v4("10.0.0.2").packed) + attr(4, u32(3))
    swapped = attr(5, v4("10.0.0.9").packed) + attr(1, v4("10.3.0.0").packed) + attr(4, u32(0))
    messages = [
        message(24, rtmsg(2, 16), attr(15, u32(254)) + a) for a in (via, link, swapped, via)
    ]
    assert len({len(m) for m in messages}) == 1  # one length, three layouts
    data = b"".join(messages)
    fast, typed = fast_and_typed(data, parse_routes, routes_of)
    assert fast == typed
    assert [str(r.dst) for r in fast] == ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"] * 1 + [
        "10.1.0.0/16"
    ]
    assert [r.gateway for r in fast] == [v4("10.0.0.1"), None, v4("10.0.0.9"), v4("10.0.0.1")]
    assert [r.src for r in fast] == [None, v4("10.0.0.2"), None, None]
    assert [r.link for r in fast] == [3, 3, None, 3]


def test_a_route_plan_does_not_read_another_family_or_message_type() -> None:
    dst4 = attr(1, bytes(4)) + attr(15, u32(10))
    v4 = message(24, rtmsg(2, 0), dst4 + attr(3, bytes(8)))  # same length as the v6 one
    v6 = message(24, rtmsg(10, 0), attr(1, bytes(16)) + attr(15, u32(10)))
    deleted = message(25, rtmsg(2, 0), dst4 + attr(3, bytes(8)))
    assert len(v4) == len(v6) == len(deleted)
    fast, typed = fast_and_typed(v4 + v6 + deleted + v4, parse_routes, routes_of)
    assert fast == typed
    assert [r.dst.version for r in fast] == [4, 6, 4]


def test_neighbours_of_one_length_but_other_layouts_are_each_read_right() -> None:
    body = struct.pack("=B3xiHBB", 2, 3, 0x80, 0, 1)
    mac = bytes.fromhex("020000000001")
    entries = [
        attr(1, bytes([10, 0, 0, 1])) + attr(2, mac + b"\0\0"),  # an 8-byte lladdr: no MAC
        attr(1, bytes([10, 0, 0, 2])) + attr(2, mac),
        attr(2, mac) + attr(1, bytes([10, 0, 0, 3])),
        attr(8, bytes(4)) + attr(2, mac),  # no NDA_DST: no entry
    ]
    data = b"".join(message(28, body, a) for a in entries)
    fast, typed = fast_and_typed(data, parse_neighbours, neighbours_of)
    assert fast == typed
    assert [(str(n.ip), n.mac is not None) for n in fast] == [
        ("10.0.0.1", False),
        ("10.0.0.2", True),
        ("10.0.0.3", True),
    ]


def via_route(n: int, gateway: int = 1, oif: int = 3) -> bytes:
    dst = ipaddress.IPv4Address(0x0A000000 + (n << 8)).packed
    attrs = attr(15, u32(254)) + attr(1, dst) + attr(5, bytes([10, 255, 0, gateway]))
    return message(24, rtmsg(2, 24), attrs + attr(4, u32(oif)))


def test_a_run_of_alike_routes_is_read_as_each_one_alone() -> None:
    alike = [via_route(n, gateway=n % 7, oif=n % 5) for n in range(300)]
    # the same length, another attribute (RTA_PREFSRC) in the third place
    odd_attrs = attr(15, u32(254)) + attr(1, bytes(4)) + attr(7, bytes(4)) + attr(4, u32(3))
    odd = message(24, rtmsg(2, 24), odd_attrs)
    assert len(odd) == len(alike[0])
    for messages in (alike, [*alike[:150], odd, *alike[150:]], [*alike, odd], [odd, *alike]):
        data = b"".join(messages)
        fast, typed = fast_and_typed(data, parse_routes, routes_of)
        assert fast == typed and len(fast) == len(messages)
        assert [repr(r) for r in fast] == [repr(r) for r in typed]


def test_a_last_message_without_its_padding_is_read_too() -> None:
    # a 1-byte attribute last: each message is 65 bytes, padded to 68 but the last
    one_byte = struct.pack("=HH", 5, 0x8000 | 3) + b"x"
    messages = [via_route(n)[16:] for n in range(3)]
    messages = [message(24, m[:12], m[12:] + one_byte) for m in messages]
    assert {len(m) for m in messages} == {65}
    data = b"".join(m + bytes(3) for m in messages[:-1]) + messages[-1]
    fast, typed = fast_and_typed(data, parse_routes, routes_of)
    assert fast == typed and len(fast) == 3


def test_kept_plans_stay_bounded() -> None:
    kept: dict[int, list[Any]] = {}
    for length in range(_dumpparse.MAX_LENGTHS * 3):
        for n in range(_dumpparse.MAX_PER_LENGTH + 2):
            _dumpparse.keep(kept, length, n)
    assert len(kept) <= _dumpparse.MAX_LENGTHS
    assert all(len(plans) <= _dumpparse.MAX_PER_LENGTH for plans in kept.values())


def test_values_equal_only_their_own_type() -> None:
    route = Route(ipaddress.ip_network("10.0.0.0/8"), None, 2, 254, 3, 0, 1)
    assert route == Route(*route) and hash(route) == hash(Route(*route))
    assert route != tuple(route)
    assert not route == tuple(route)  # noqa: SIM201  (__eq__ itself, not __ne__)
    entry = Neighbour(ipaddress.ip_address("10.0.0.1"), None, 1, 2)  # type: ignore[arg-type]
    assert entry == Neighbour(*entry) and entry != tuple(entry)


# -- random well-formed dumps ------------------------------------------------------------
V4, V6 = 2, 10


def sized(*sizes: int) -> st.SearchStrategy[bytes]:
    return st.sampled_from(sizes).flatmap(lambda n: st.binary(min_size=n, max_size=n))


route_attr = st.one_of(
    st.tuples(st.sampled_from([15, 4, 6]), st.integers(0, 2**32 - 1).map(u32)),  # u32s
    st.tuples(st.sampled_from([1, 5, 7]), sized(4, 16)),
    st.tuples(st.sampled_from([1, 5, 7, 15, 4]), st.binary(max_size=6)),  # odd sizes
    st.tuples(st.sampled_from([3, 12, 16, 0x8000 | 1]), st.binary(max_size=12)),
)


@st.composite
def route_message(draw: Any) -> bytes:
    family = draw(st.sampled_from([V4, V6, V4, V6, 128]))
    dst_len = draw(st.integers(0, 130))
    flags = draw(st.sampled_from([0, 4, 0x200]))
    attrs = draw(st.lists(route_attr, max_size=6))
    body = rtmsg(family, dst_len, draw(st.sampled_from([254, 255, 10])), flags)
    return message(24, body, b"".join(attr(k, p) for k, p in attrs))


neigh_attr = st.one_of(
    st.tuples(st.just(1), sized(4, 16, 4, 3)),
    st.tuples(st.just(2), sized(6, 6, 8)),
    st.tuples(st.sampled_from([3, 4, 0x8000 | 2]), st.binary(max_size=16)),
)


@st.composite
def neigh_message(draw: Any) -> bytes:
    body = struct.pack(
        "=B3xiHBB",
        draw(st.sampled_from([V4, V6, 7])),
        draw(st.integers(0, 2**31 - 1)),
        draw(st.sampled_from([0x80, 0x02, 0x20, 0x1000])),
        draw(st.sampled_from([0, 0x80, 0x81])),
        1,
    )
    attrs = draw(st.lists(neigh_attr, max_size=5))
    return message(28, body, b"".join(attr(k, p) for k, p in attrs))


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(route_message(), min_size=1, max_size=12))
def test_random_route_dumps_read_as_the_typed_decoder_reads_them(messages: list[bytes]) -> None:
    data = b"".join(messages)
    try:
        typed = routes_of(list(nl.decode(data)))
    except ValueError:  # ProtocolError: an impossible prefix length
        with pytest.raises(ValueError):
            parse_routes(data, 0, len(data), [])
        return
    fast: list[Route] = []
    parse_routes(data, 0, len(data), fast)
    assert fast == typed
    assert [repr(r) for r in fast] == [repr(r) for r in typed]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(neigh_message(), min_size=1, max_size=12))
def test_random_neighbour_dumps_read_as_the_typed_decoder_reads_them(
    messages: list[bytes],
) -> None:
    data = b"".join(messages)
    fast, typed = fast_and_typed(data, parse_neighbours, neighbours_of)
    assert fast == typed
    assert [repr(n) for n in fast] == [repr(n) for n in typed]
