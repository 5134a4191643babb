"""Links found by their alternative names (``ip link property add ... altname``),
live in throw-away namespaces with ``ip -j`` as the oracle, on both fronts.

The kernel looks a name up among names and alternative names alike; one longer
than a name's 15 bytes (up to 127) travels as ``IFLA_ALT_IFNAME``, and the index
of one is asked with ``RTM_GETLINK`` (an ``ifreq`` holds 15 bytes only).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from typing import Any

import pytest

import macvlan
import macvlan.aio
from macvlan import LinkNotFound

pytestmark = [pytest.mark.live]

LONG = "p0-an-alternative-name-longer-than-a-name"
LONGEST = "a" * 127
SHORT = "p0:short"  # the kernel takes ':' in an alternative name, not in a name


@pytest.fixture
def named(sandbox: Any) -> Any:
    """The sandbox with p0 given three alternative names by ``ip``."""
    subprocess.run(
        ["ip", "-n", sandbox.name, "link", "property", "add", "dev", "p0",
         "altname", LONG, "altname", LONGEST, "altname", SHORT],
        check=True,
    )  # fmt: skip
    return sandbox


def test_link_by_alternative_name(named: Any) -> None:
    rt = named.rt
    (theirs,) = named.ip("link", "show", "dev", "p0")
    assert set(theirs["altnames"]) == {LONG, LONGEST, SHORT}
    for name in (LONG, LONGEST, SHORT):
        found = rt.link(name)
        assert (found.index, found.name) == (theirs["ifindex"], "p0")
        assert set(found.altnames) == {LONG, LONGEST, SHORT}
        assert rt.link_stats(name).index == theirs["ifindex"]


def test_operations_take_an_alternative_name_as_the_link(named: Any) -> None:
    rt = named.rt
    (theirs,) = named.ip("link", "show", "dev", "p0")
    assert rt.set_link(LONG, mtu=1400).mtu == 1400
    assert named.ip("link", "show", "dev", "p0")[0]["mtu"] == 1400
    rt.add_address(LONGEST, "10.81.0.1/24")
    (addrs,) = named.ip("addr", "show", "dev", "p0")
    assert "10.81.0.1" in {a["local"] for a in addrs["addr_info"]}
    mv = rt.create_macvlan("mv0", parent=LONG)
    assert mv.parent_index == theirs["ifindex"]
    rt.add_route("10.82.0.0/16", gateway="10.81.0.254", link=LONG)
    assert [r.link for r in rt.routes() if str(r.dst) == "10.82.0.0/16"] == [theirs["ifindex"]]
    renamed = rt.set_link(LONG, name="p0new")
    assert renamed.name == "p0new" and LONG in renamed.altnames
    assert named.ip("link", "show", "dev", LONG)[0]["ifname"] == "p0new"
    rt.delete_link(SHORT)  # p0 (and with it its peer p1 and mv0)
    assert [link["ifname"] for link in named.ip("link", "show")] == ["lo"]
    with pytest.raises(LinkNotFound):
        rt.link(LONG)


def test_alternative_names_of_several_links_are_deleted_in_one_batch(named: Any) -> None:
    rt = named.rt
    rt.create_macvlan("mv1", parent="p0")
    rt.add_altname("mv1", "mv1-" + "b" * 40)
    assert rt.delete_links([LONGEST, "mv1-" + "b" * 40]) == 2
    assert [link["ifname"] for link in named.ip("link", "show")] == ["lo"]


def test_async_front_finds_links_by_alternative_name(named: Any) -> None:
    async def main() -> tuple[int, int, int]:
        async with macvlan.aio.connect(named.ns) as rt:
            link = await rt.link(LONG)
            changed = await rt.set_link(LONGEST, mtu=1300)
            stats = await rt.link_stats(LONG)
            return link.index, changed.mtu, stats.index

    index, mtu, stats_index = asyncio.run(main())
    (theirs,) = named.ip("link", "show", "dev", "p0")
    assert index == stats_index == theirs["ifindex"] and mtu == theirs["mtu"] == 1300


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("a" * 128, "127"),
        ("has space", "' '"),
        ("slash/ed", "'/'"),
        ("nul\0", "'\\x00'"),
        ("", "empty"),
        ("..", "not allowed"),
    ],
    ids=["128-bytes", "space", "slash", "nul", "empty", "dotdot"],
)
def test_bad_link_names_are_refused_before_anything_is_sent(
    named: Any, name: str, says: str
) -> None:
    rt = named.rt
    for call in (rt.link, rt.link_stats, lambda n: rt.set_link(n, mtu=1400)):
        with pytest.raises(ValueError, match=re.escape(says)):
            call(name)
    assert named.ip("link", "show", "dev", "p0")[0]["mtu"] == 1500
    with pytest.raises(LinkNotFound):
        rt.link("no-such-alternative-name-anywhere")
    with pytest.raises(ValueError, match="15"):
        rt.set_link("p0", name="a-new-name-too-long")  # a name is still 15 bytes at most


@pytest.mark.parametrize("name", ["x" * 16, "é" * 8, "mv0:1", "b" * 127])
def test_a_good_alternative_name_no_link_has_is_not_found(sandbox: Any, name: str) -> None:
    """Names that could only be alternative names are looked up, not refused (the
    kernel answers ENODEV), by every operation that takes a link."""
    rt = sandbox.rt
    calls = [
        lambda: rt.link(name),
        lambda: rt.set_link(name, up=True),
        lambda: rt.delete_link(name),
        lambda: rt.delete_links(["p0", name]),
        lambda: rt.add_address(name, "10.0.0.2/24"),
        lambda: rt.addresses(name),
        lambda: rt.create_macvlan("mv0", name),
        lambda: rt.add_route("default", gateway="10.0.0.1", link=name),
        lambda: rt.link_stats(name),
        lambda: rt.neighbours(name),
    ]
    for call in calls:
        with pytest.raises(LinkNotFound):
            call()
    assert {link["ifname"] for link in sandbox.ip("link", "show")} == {"lo", "p0", "p1"}
    rt.delete_link(name, missing_ok=True)
