"""The asyncio front dumps routes and neighbours the fast way the blocking front does
(the answers' bytes parsed straight into values, no Message each), with the same results."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest
from test_aio_live import veth_ns as _veth_ns  # noqa: F401 - a fixture

import macvlan
from macvlan import MacAddress, Namespace, aio
from macvlan import neighbour as _neigh
from macvlan import route as _route
from macvlan._netlink.asocket import AsyncNetlinkSocket
from macvlan._netlink.constants import NudState
from macvlan._netlink.socket import NetlinkSocket


@pytest.fixture
def crowded(_veth_ns: Namespace) -> Namespace:  # noqa: F811 - the imported fixture
    """A namespace with 1,200 routes (two tables) and 400 neighbours: dumps of many datagrams."""
    ns = _veth_ns  # test_aio_live.veth_ns: a veth pair p0/p1, both up
    with macvlan.connect(ns) as rt:
        rt.add_address("p0", "10.40.0.1/16")
        rt.add_address("p0", "fd40::1/64", nodad=True)
        for i in range(1200):
            table = 100 if i % 3 == 0 else None
            rt.add_route(f"10.{41 + i // 250}.{i % 250}.0/24", "10.40.0.2", "p0", table)
        for i in range(300):
            mac = MacAddress(0x020000000000 + i)
            rt.add_neighbour("p0", f"10.40.{1 + i // 200}.{i % 200 + 1}", mac)
        for i in range(100):
            rt.add_neighbour("p0", f"fd40::{i + 10:x}", MacAddress(0x020000010000 + i))
    return ns


QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("routes", {}),
    ("routes", {"table": "all"}),
    ("routes", {"table": 100}),
    ("routes", {"link": "p0", "family": 10}),
    ("neighbours", {}),
    ("neighbours", {"link": "p0"}),
    ("neighbours", {"link": "p1"}),
    ("neighbours", {"family": 10}),
]


def test_aio_dumps_equal_the_blocking_ones(
    crowded: Namespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with macvlan.connect(crowded) as rt:
        expected = [getattr(rt, name)(**kw) for name, kw in QUERIES]
        p0 = rt.link("p0")
    assert len(made(expected[1])) >= 1200 and len(made(expected[4])) == 400

    def slow_path(messages: object) -> Any:
        raise AssertionError("a dump went through Message objects")

    monkeypatch.setattr(_route, "routes_of", slow_path)
    monkeypatch.setattr(_neigh, "neighbours_of", slow_path)

    async def main() -> list[Any]:
        async with aio.connect(crowded) as art:
            # other requests in flight at once: their answers interleave with the dumps'
            others = [art.link("p0") for _ in range(40)]
            dumps = [getattr(art, name)(**kw) for name, kw in QUERIES]
            results = await asyncio.gather(*dumps, *others)
        assert all(x == p0 for x in results[len(QUERIES) :])
        return results[: len(QUERIES)]

    got = asyncio.run(main())
    for (name, kw), ours, theirs in zip(QUERIES, got, expected, strict=True):
        assert made(ours) == made(theirs), (name, kw)
        assert len(ours) >= len(made(ours))


def made(values: list[Any]) -> list[Any]:
    """The entries the fixture made (the kernel adds and drops its own meanwhile: IPv6
    multicast neighbours, the local routes of addresses whose DAD ends)."""
    return [
        v
        for v in values
        if (isinstance(v, _route.Route) and str(v.dst).startswith("10.4"))
        or (isinstance(v, _neigh.Neighbour) and v.state & NudState.PERMANENT)
    ]


def _message(kind: int, seq: int, body: bytes, flags: int = 2) -> bytes:
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body


def test_a_parsed_dump_shares_its_datagram_with_other_answers() -> None:
    """Answers of another request inside a datagram of the dump: the dump's runs go to
    its parse function, the other answer settles its own request (no root needed)."""

    async def main() -> None:
        sock = AsyncNetlinkSocket(NetlinkSocket())
        try:
            runs: list[bytes] = []

            def parse(data: bytes, start: int, end: int, out: list[Any]) -> None:
                runs.append(data[start:end])
                out.append(end - start)

            dump = sock._submit(_route.dump_routes(0, 0), 0, "dump", True, parse)
            ack = sock._submit(_route.dump_routes(0, 0), 0, "other", False)
            d, a = (seq for seq, p in sock._pending.items() if p in (dump, ack))
            route = _message(24, d, b"\x02" + bytes(11))
            data = b"".join(
                [
                    route,
                    route,
                    _message(2, a, struct.pack("=i", 0) + _message(24, a, b"")[:16], 0),
                    route,
                    _message(3, d, struct.pack("=i", 0)),
                ]
            )
            sock._dispatch_parsed(data, d)
            assert runs == [route + route, route]
            assert await dump.future == [2 * len(route), len(route)]
            assert await ack.future == []
        finally:
            sock.close()

    asyncio.run(main())
