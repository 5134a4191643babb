"""What is decoded from the kernel's bytes pickles and copies: links, routes,
neighbours and whole messages from captured dumps come back equal, with their
unmodelled attributes, and re-encode byte for byte.  A pickled list carries the
bytes of its own attributes only, not the whole datagram they came in."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest
from golden_data import dump_chunks

import macvlan._netlink as nl
from macvlan._netlink import ifla
from macvlan._netlink.attr import AttrList, Schema
from macvlan._netlink.message import Message
from macvlan.link import Link, parse_links
from macvlan.neighbour import Neighbour, parse_neighbours
from macvlan.route import Route, parse_routes

PROTOCOLS = range(2, pickle.HIGHEST_PROTOCOL + 1)


def _links() -> list[Link]:
    out: list[Link] = []
    for chunk in dump_chunks("dump_1000_links.bin.gz"):
        parse_links(chunk, 0, len(chunk), out)
    return out


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_links_from_a_dump_pickle_whole(protocol: int) -> None:
    links = _links()
    assert len(links) > 1000
    again: list[Link] = pickle.loads(pickle.dumps(links, protocol))
    assert again == links
    assert [x.extra for x in again] == [x.extra for x in links]
    assert [x.macvlan for x in again] == [x.macvlan for x in links]
    assert [x.altnames for x in again] == [x.altnames for x in links]


def test_a_pickled_link_carries_its_own_bytes_not_its_datagram() -> None:
    chunk = dump_chunks("dump_1000_links.bin.gz")[1]
    links: list[Link] = []
    parse_links(chunk, 0, len(chunk), links)
    assert len(links) >= 8
    one = pickle.dumps(links[3])
    assert len(one) < len(chunk) // 4  # 1.5 KB of attributes against 15 KB
    assert pickle.loads(one) == links[3]


def test_copies_are_equal() -> None:
    link = _links()[5]
    assert copy.copy(link) == link
    assert copy.deepcopy(link) == link


@pytest.mark.parametrize(
    ("file", "meta"),
    [
        ("dump_1000_links.bin.gz", "dumps.json"),
        ("dump_addrs.bin.gz", "dumps.json"),
        ("dump_routes_all.bin.gz", "dumps_routes.json"),
        ("dump_neighbours.bin.gz", "dumps_routes.json"),
        ("dump_rules.bin.gz", "dumps_routes.json"),
    ],
)
def test_decoded_messages_pickle_and_reencode_byte_for_byte(file: str, meta: str) -> None:
    for chunk in dump_chunks(file, meta)[:3]:
        messages = [m for m in nl.decode(chunk) if isinstance(m, Message)]
        again = pickle.loads(pickle.dumps(messages))
        assert again == messages
        assert nl.encode(again) == nl.encode(messages)


def test_routes_and_neighbours_pickle() -> None:
    routes: list[Route] = []
    for chunk in dump_chunks("dump_routes_all.bin.gz", "dumps_routes.json"):
        parse_routes(chunk, 0, len(chunk), routes)
    neighbours: list[Neighbour] = []
    for chunk in dump_chunks("dump_neighbours.bin.gz", "dumps_routes.json"):
        parse_neighbours(chunk, 0, len(chunk), neighbours)
    assert routes and neighbours
    assert pickle.loads(pickle.dumps(routes)) == routes
    assert pickle.loads(pickle.dumps(neighbours)) == neighbours


def test_an_empty_attribute_list_pickles() -> None:
    empty = AttrList(b"", 0, 0, ifla.IFLA)
    again = pickle.loads(pickle.dumps(empty))
    assert isinstance(again, AttrList) and len(again) == 0 and again.schema is ifla.IFLA


def test_a_link_unpickles_in_a_fresh_process() -> None:
    """The schemas are found by name there, their modules loaded on the way."""
    link = _links()[7]
    assert link.macvlan is not None
    code = (
        "import pickle, sys; link = pickle.loads(sys.stdin.buffer.read()); "
        "print(link.name, link.kind, link.macvlan.mode.name, len(link.extra))"
    )
    data = pickle.dumps(link)
    done = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, check=True)
    expected = f"{link.name} {link.kind} {link.macvlan.mode.name} {len(link.extra)}"
    assert done.stdout.decode().strip() == expected


def test_a_schema_that_shares_its_name_refuses_to_pickle() -> None:
    other = Schema("IFLA")
    with pytest.raises(TypeError, match="another one has its name"):
        pickle.dumps(AttrList(b"", 0, 0, other))


def test_every_schema_module_is_one_unpickling_loads() -> None:
    """The codec's modules that declare schemas are the ones ``_schema_named`` imports."""
    import importlib
    import pkgutil

    from macvlan._netlink import attr

    declaring = set()
    for info in pkgutil.iter_modules(nl.__path__):
        module = importlib.import_module(f"macvlan._netlink.{info.name}")
        if module is not attr and any(isinstance(v, Schema) for v in vars(module).values()):
            declaring.add(info.name)
    assert declaring == set(attr._DECLARING)
