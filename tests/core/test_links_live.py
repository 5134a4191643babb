"""Live tests of the link layer: macvlan/macvtap create, inspect, change, move, delete.

Everything happens in throw-away namespaces (``sandbox``: a veth pair p0/p1, both
up) and is checked against ``ip -d -j link show`` (iproute2 6.1), an independent
oracle; ``ip netns exec NS ping`` is the oracle for traffic between macvlans.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import ip_json

import macvlan
from macvlan import MacAddress, MacvlanFlags, MacvlanMode, Namespace
from macvlan._netlink import ifla, requests
from macvlan._netlink.constants import NlmF, RtmType
from macvlan._netlink.message import Message
from macvlan._netlink.socket import NetlinkSocket
from macvlan.errors import AddressInUse, LinkExists, LinkNotFound, NetlinkError
from macvlan.link import Link, MacaddrMode, MacvlanSpec

pytestmark = [
    pytest.mark.live,
]

KINDS = ("macvlan", "macvtap")


# -- oracle helpers ----------------------------------------------------------------------
def ip_link(sb: Any, name: str) -> dict[str, Any]:
    """``ip -d -j link show dev NAME`` in the sandbox."""
    (entry,) = sb.ip("-d", "link", "show", "dev", name)
    assert isinstance(entry, dict)
    return entry


def ip_names(netns: str, *args: str) -> set[str]:
    # ip 6.1 prints an empty object for each link a filter such as "group N" skips
    return {e["ifname"] for e in ip_json("link", "show", *args, netns=netns) if "ifname" in e}


def ip_group(entry: dict[str, Any]) -> int:
    group = entry["group"]
    return 0 if group == "default" else int(group)


def assert_same_as_ip(link: Link, entry: dict[str, Any]) -> None:
    """Every modelled field of ``link`` agrees with ``ip -d -j link show``."""
    assert link.index == entry["ifindex"]
    assert link.name == entry["ifname"]
    assert str(link.mac) == entry["address"]
    assert link.mtu == entry["mtu"]
    assert link.txqueuelen == entry["txqlen"]
    assert link.group == ip_group(entry)
    assert link.up == ("UP" in entry["flags"])
    assert link.min_mtu == entry["min_mtu"] and link.max_mtu == entry["max_mtu"]
    info = entry.get("linkinfo", {})
    assert link.kind == info.get("info_kind")
    if link.macvlan is None:
        return
    data = info["info_data"]
    assert data["mode"] == link.macvlan.mode.name.lower()
    # ip 6.1 prints the flags as booleans under info_data
    assert data.get("nopromisc", False) == bool(link.macvlan.flags & MacvlanFlags.NOPROMISC)
    assert data.get("nodst", False) == bool(link.macvlan.flags & MacvlanFlags.NODST)
    assert data.get("bcqueuelen") == link.macvlan.bcqueuelen
    assert data.get("usedbcqueuelen") == link.macvlan.bcqueuelen_used
    assert sorted(data.get("macaddr_data", [])) == sorted(str(m) for m in link.macvlan.source_macs)
    assert data.get("macaddr_count", 0) == len(link.macvlan.source_macs)


def ping(netns: str, address: str) -> bool:
    """True if one ping from ``netns`` to ``address`` is answered (the oracle)."""
    done = subprocess.run(
        ["ip", "netns", "exec", netns, "ping", "-n", "-q", "-c1", "-W1", address],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def creator(rt: Any, kind: str) -> Callable[..., Link]:
    fn: Callable[..., Link] = rt.create_macvlan if kind == "macvlan" else rt.create_macvtap
    return fn


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Message]]]:
    """Record every message the library sends, with the socket call that sent it."""
    sent: list[tuple[str, Message]] = []
    real_request, real_dump, real_batch = (
        NetlinkSocket.request,
        NetlinkSocket.dump,
        NetlinkSocket.batch,
    )

    def request(self: NetlinkSocket, message: Message, what: str = "") -> Any:
        sent.append(("request", message))
        return real_request(self, message, what)

    def dump(self: NetlinkSocket, message: Message, what: str = "") -> Any:
        sent.append(("dump", message))
        return real_dump(self, message, what)

    def batch(self: NetlinkSocket, messages: Any, what: Any = (), parse: Any = None) -> Any:
        sent.extend(("batch", m) for m in messages)
        return real_batch(self, messages, what, parse)

    real_dump_parsed = NetlinkSocket.dump_parsed
    real_request_parsed = NetlinkSocket.request_parsed

    def request_parsed(self: NetlinkSocket, message: Message, parse: Any, what: str = "") -> Any:
        sent.append(("request", message))  # a request whose answers are parsed from bytes
        return real_request_parsed(self, message, parse, what)

    def dump_parsed(self: NetlinkSocket, message: Message, parse: Any, what: str = "") -> Any:
        sent.append(("dump", message))  # a dump whose answers are parsed straight from bytes
        return real_dump_parsed(self, message, parse, what)

    monkeypatch.setattr(NetlinkSocket, "request", request)
    monkeypatch.setattr(NetlinkSocket, "request_parsed", request_parsed)
    monkeypatch.setattr(NetlinkSocket, "dump", dump)
    monkeypatch.setattr(NetlinkSocket, "dump_parsed", dump_parsed)
    monkeypatch.setattr(NetlinkSocket, "batch", batch)
    yield sent


# -- creation: every kind, every mode, every attribute -------------------------------------
FLAGS_FOR_MODE = {
    MacvlanMode.PRIVATE: MacvlanFlags.NONE,
    MacvlanMode.VEPA: MacvlanFlags.NOPROMISC | MacvlanFlags.NODST,
    MacvlanMode.BRIDGE: MacvlanFlags.NOPROMISC,
    MacvlanMode.PASSTHRU: MacvlanFlags.NOPROMISC,
    MacvlanMode.SOURCE: MacvlanFlags.NODST,
}


@pytest.mark.parametrize("mode", list(MacvlanMode), ids=lambda m: m.name.lower())
@pytest.mark.parametrize("kind", KINDS)
def test_create_every_mode_matches_ip(sandbox: Any, kind: str, mode: MacvlanMode) -> None:
    kw: dict[str, Any] = {
        "mtu": 1400,
        "txqueuelen": 321,
        "group": 7,
        "bcqueuelen": 555,
        "flags": FLAGS_FOR_MODE[mode],
        "up": True,
    }
    if mode != MacvlanMode.PASSTHRU:  # passthru takes its parent's MAC
        kw["mac"] = "02:5a:00:00:00:01"
    if mode == MacvlanMode.SOURCE:
        kw["source_macs"] = ["02:aa:00:00:00:01", "02:aa:00:00:00:02"]
    link = creator(sandbox.rt, kind)("mv0", "p0", mode, **kw)

    entry = ip_link(sandbox, "mv0")
    assert_same_as_ip(link, entry)
    assert link.kind == kind
    assert link.macvlan is not None
    assert link.macvlan.mode == mode
    assert link.macvlan.flags == FLAGS_FOR_MODE[mode]
    assert (link.mtu, link.txqueuelen, link.group, link.macvlan.bcqueuelen) == (1400, 321, 7, 555)
    assert link.up
    assert entry["link"] == "p0"
    assert link.parent_index == ip_link(sandbox, "p0")["ifindex"]
    assert link.netnsid is None
    if mode == MacvlanMode.PASSTHRU:
        assert str(link.mac) == ip_link(sandbox, "p0")["address"]
    else:
        assert link.mac == MacAddress("02:5a:00:00:00:01")
    if mode == MacvlanMode.SOURCE:
        assert set(link.macvlan.source_macs) == {
            MacAddress("02:aa:00:00:00:01"),
            MacAddress("02:aa:00:00:00:02"),
        }
    # a fresh lookup agrees with what create returned
    again = sandbox.rt.link("mv0")
    assert (again.index, again.mac, again.macvlan) == (link.index, link.mac, link.macvlan)


@pytest.mark.parametrize("kind", KINDS)
def test_create_defaults_and_mode_strings(sandbox: Any, kind: str) -> None:
    plain = creator(sandbox.rt, kind)("mv0", "p0")
    assert plain.macvlan is not None and plain.macvlan.mode == MacvlanMode.BRIDGE
    assert not plain.up
    assert_same_as_ip(plain, ip_link(sandbox, "mv0"))
    by_string = creator(sandbox.rt, kind)("mv1", "p0", "vepa")
    assert by_string.macvlan is not None and by_string.macvlan.mode == MacvlanMode.VEPA
    assert ip_link(sandbox, "mv1")["linkinfo"]["info_data"]["mode"] == "vepa"


def test_bc_cutoff_round_trips(sandbox: Any) -> None:
    # iproute2 6.1 does not print bc_cutoff (Linux 6.4); the kernel's answer is the check
    link = sandbox.rt.create_macvlan("mv0", "p0", bc_cutoff=-1)
    assert link.macvlan is not None and link.macvlan.bc_cutoff == -1
    assert sandbox.rt.link("mv0").macvlan.bc_cutoff == -1


def test_parent_by_index_and_by_link(sandbox: Any) -> None:
    p0 = sandbox.rt.link("p0")
    a = sandbox.rt.create_macvlan("mva", p0.index)
    b = sandbox.rt.create_macvtap("mvb", p0)
    assert a.parent_index == b.parent_index == p0.index
    assert ip_link(sandbox, "mva")["link"] == ip_link(sandbox, "mvb")["link"] == "p0"


def test_parent_names_resolve_in_the_connections_namespace(sandbox: Any) -> None:
    """A name is looked up (SIOCGIFINDEX on the connection's socket) where the
    connection lives, not in the namespace of the calling thread."""
    host_only = sorted(
        e["ifname"] for e in ip_json("link", "show") if e["ifname"] not in ("lo", "p0", "p1")
    )
    assert (
        sandbox.rt._sock.index_of("p0")
        == ip_json("link", "show", "p0", netns=sandbox.name)[0]["ifindex"]
    )
    if host_only:  # a link the caller's namespace has and the sandbox does not
        with pytest.raises(LinkNotFound):
            sandbox.rt.create_macvlan("mvx", host_only[0])
    made = sandbox.rt.create_macvlan("mvx", "p1")
    assert made.parent_index == ip_link(sandbox, "p1")["ifindex"]
    assert ip_link(sandbox, "mvx")["link"] == "p1"
    sandbox.rt.set_link("p1", name="p9")  # renamed: the next lookup asks the kernel again
    with pytest.raises(LinkNotFound):
        sandbox.rt.create_macvlan("mvy", "p1")
    assert sandbox.rt.create_macvlan("mvy", "p9").parent_index == made.parent_index


def test_mac_is_set_in_the_creating_message(sandbox: Any, recorder: list[Any]) -> None:
    mac = MacAddress("02:12:34:56:78:9a")
    link = sandbox.rt.create_macvlan("mv0", "p0", mac=mac)
    assert link.mac == mac
    assert ip_link(sandbox, "mv0")["address"] == str(mac)
    newlinks = [m for _, m in recorder if m.type == RtmType.NEWLINK]
    assert len(newlinks) == 1, "the MAC must not be set by a second request"
    (create,) = newlinks
    assert create.flags & NlmF.CREATE and create.flags & NlmF.EXCL
    assert create.get(ifla.ADDRESS) == mac.packed
    # the kernel's echo of the creation is the answer: nothing is read back afterwards
    assert recorder[-1][1] is create and create.flags & NlmF.ECHO


# -- traffic: bridge mode forwards between siblings, private mode does not ------------------
def _pair(sandbox: Any, netns_factory: Any, mode: MacvlanMode) -> tuple[Namespace, Namespace]:
    a, b = netns_factory("mva"), netns_factory("mvb")
    sandbox.rt.create_macvlan("eth0", "p0", mode, netns=a, up=True)
    sandbox.rt.create_macvlan("eth0", "p0", mode, netns=b, up=True)
    with macvlan.connect(a) as ra, macvlan.connect(b) as rb:
        ra.add_address("eth0", "10.77.0.1/24")
        rb.add_address("eth0", "10.77.0.2/24")
    assert "UP" in ip_link(sandbox, "p0")["flags"]
    return a, b


@pytest.mark.parametrize(
    ("mode", "reachable"), [(MacvlanMode.BRIDGE, True), (MacvlanMode.PRIVATE, False)]
)
def test_siblings_in_two_namespaces_ping(
    sandbox: Any, netns_factory: Any, mode: MacvlanMode, reachable: bool
) -> None:
    a, b = _pair(sandbox, netns_factory, mode)
    for ns in (a, b):
        (entry,) = ip_json("-d", "link", "show", "dev", "eth0", netns=ns.name)
        assert entry["linkinfo"]["info_data"]["mode"] == mode.name.lower()
        assert "UP" in entry["flags"]
    assert ping(a.name, "10.77.0.2") is reachable
    assert ping(b.name, "10.77.0.1") is reachable


def test_mode_change_bridge_to_private_stops_traffic(sandbox: Any, netns_factory: Any) -> None:
    a, b = _pair(sandbox, netns_factory, MacvlanMode.BRIDGE)
    assert ping(a.name, "10.77.0.2")
    with macvlan.connect(a) as ra, macvlan.connect(b) as rb:
        for rt in (ra, rb):
            changed = rt.set_link("eth0", mode=MacvlanMode.PRIVATE)
            assert changed.macvlan is not None and changed.macvlan.mode == MacvlanMode.PRIVATE
    (entry,) = ip_json("-d", "link", "show", "dev", "eth0", netns=a.name)
    assert entry["linkinfo"]["info_data"]["mode"] == "private"
    assert not ping(a.name, "10.77.0.2")


# -- passthru -------------------------------------------------------------------------------
def test_second_passthru_on_one_parent_is_a_clear_error(sandbox: Any) -> None:
    sandbox.rt.create_macvlan("pt0", "p0", MacvlanMode.PASSTHRU)
    with pytest.raises(NetlinkError) as info:
        sandbox.rt.create_macvlan("pt1", "p0", MacvlanMode.PASSTHRU)
    assert info.value.errno == errno.EINVAL
    text = str(info.value)
    assert "pt1" in text and "passthru" in text and "pt0" in text, text
    # a bridge macvlan beside the passthru one is refused with an explanation too
    with pytest.raises(NetlinkError) as info:
        sandbox.rt.create_macvtap("mv0", "p0", MacvlanMode.BRIDGE)
    assert info.value.errno == errno.EINVAL
    assert "passthru" in str(info.value) and "pt0" in str(info.value)
    assert ip_names(sandbox.name, "type", "macvlan") == {"pt0"}
    assert ip_names(sandbox.name, "type", "macvtap") == set()


def test_passthru_beside_other_macvlans_is_a_clear_error(sandbox: Any) -> None:
    sandbox.rt.create_macvlan("mv0", "p0", MacvlanMode.BRIDGE)
    with pytest.raises(NetlinkError) as info:
        sandbox.rt.create_macvlan("pt0", "p0", MacvlanMode.PASSTHRU)
    assert info.value.errno == errno.EINVAL
    assert "passthru" in str(info.value) and "mv0" in str(info.value)
    assert ip_names(sandbox.name, "type", "macvlan") == {"mv0"}


def test_passthru_refuses_a_mac_before_sending(sandbox: Any) -> None:
    with pytest.raises(ValueError, match="passthru"):
        sandbox.rt.create_macvlan("pt0", "p0", "passthru", mac="02:00:00:00:00:01")
    assert ip_names(sandbox.name, "type", "macvlan") == set()


# -- other namespaces ---------------------------------------------------------------------
@pytest.mark.parametrize("by_name", [False, True])
def test_create_into_other_namespace_while_name_exists_here(
    sandbox: Any, netns_factory: Any, by_name: bool
) -> None:
    here = sandbox.rt.create_macvlan("mv0", "p0", mac="02:00:00:00:01:01")
    other = netns_factory("mvo")
    link = sandbox.rt.create_macvlan(
        "mv0",
        "p0",
        MacvlanMode.PRIVATE,
        netns=other.name if by_name else other,
        mac="02:00:00:00:01:02",
        mtu=1300,
        up=True,
    )
    (entry,) = ip_json("-d", "link", "show", "dev", "mv0", netns=other.name)
    assert_same_as_ip(link, entry)
    assert link.mac == MacAddress("02:00:00:00:01:02") and link.up and link.mtu == 1300
    assert link.netnsid is not None and entry["link_netnsid"] == link.netnsid
    assert entry["link_index"] == link.parent_index == ip_link(sandbox, "p0")["ifindex"]
    # the local one is untouched and no temporary name is left anywhere
    assert sandbox.rt.link("mv0").index == here.index
    assert ip_link(sandbox, "mv0")["address"] == "02:00:00:00:01:01"
    assert ip_names(other.name) == {"lo", "mv0"}
    assert ip_names(sandbox.name) == {"lo", "p0", "p1", "mv0"}


def test_create_into_other_namespace_name_taken_there(sandbox: Any, netns_factory: Any) -> None:
    other = netns_factory("mvo")
    sandbox.rt.create_macvlan("mv0", "p0", netns=other)
    with pytest.raises(LinkExists):
        sandbox.rt.create_macvlan("mv0", "p0", netns=other)
    assert ip_names(other.name) == {"lo", "mv0"}  # no temporary link left behind
    assert ip_names(sandbox.name) == {"lo", "p0", "p1"}


def test_create_into_missing_namespace(sandbox: Any) -> None:
    with pytest.raises(macvlan.NamespaceNotFound):
        sandbox.rt.create_macvlan("mv0", "p0", netns="mvt-no-such-namespace")
    assert ip_names(sandbox.name, "type", "macvlan") == set()


def test_move_between_namespaces(sandbox: Any, netns_factory: Any) -> None:
    other = netns_factory("mvo")
    created = sandbox.rt.create_macvlan("mv0", "p0", mac="02:00:00:00:02:01")
    moved = sandbox.rt.set_link("mv0", netns=other)
    assert moved.name == "mv0" and moved.mac == created.mac
    assert moved.netnsid is not None
    assert ip_names(other.name) == {"lo", "mv0"}
    assert "mv0" not in ip_names(sandbox.name)
    (entry,) = ip_json("-d", "link", "show", "dev", "mv0", netns=other.name)
    assert_same_as_ip(moved, entry)
    # and back, renamed and up in the same request
    with macvlan.connect(other) as rt:
        back = rt.set_link("mv0", netns=sandbox.ns, name="mv9", up=True)
    assert back.name == "mv9" and back.up and back.netnsid is None
    assert back.parent_index == ip_link(sandbox, "p0")["ifindex"]
    assert_same_as_ip(back, ip_link(sandbox, "mv9"))
    assert ip_names(other.name) == {"lo"}


def test_move_into_namespace_with_that_name_keeps_the_link(
    sandbox: Any, netns_factory: Any
) -> None:
    other = netns_factory("mvo")
    sandbox.rt.create_macvlan("mv0", "p0", netns=other)
    sandbox.rt.create_macvlan("mv0", "p0")
    with pytest.raises(LinkExists) as info:
        sandbox.rt.set_link("mv0", netns=other.name)
    assert "same name" in info.value.ext_ack  # the kernel's extended ack
    assert "mv0" in ip_names(sandbox.name)


# -- changes -----------------------------------------------------------------------------------
def test_set_link_changes(sandbox: Any) -> None:
    rt = sandbox.rt
    link = rt.create_macvlan("mv0", "p0", MacvlanMode.BRIDGE)
    up = rt.set_link("mv0", up=True)
    assert up.up and "UP" in ip_link(sandbox, "mv0")["flags"]
    down = rt.set_link(up, up=False)
    assert not down.up and "UP" not in ip_link(sandbox, "mv0")["flags"]
    assert rt.set_link(link.index, mtu=1280).mtu == 1280 == ip_link(sandbox, "mv0")["mtu"]
    mac = MacAddress("02:00:00:00:03:01")
    assert rt.set_link("mv0", mac=mac).mac == mac
    assert ip_link(sandbox, "mv0")["address"] == str(mac)
    renamed = rt.set_link("mv0", name="lan0", group=9, txqueuelen=77)
    assert (renamed.name, renamed.index, renamed.group, renamed.txqueuelen) == (
        "lan0",
        link.index,
        9,
        77,
    )
    assert_same_as_ip(renamed, ip_link(sandbox, "lan0"))
    private = rt.set_link("lan0", mode="private", flags=MacvlanFlags.NODST)
    assert private.macvlan is not None
    assert private.macvlan.mode == MacvlanMode.PRIVATE
    assert private.macvlan.flags == MacvlanFlags.NODST
    assert_same_as_ip(private, ip_link(sandbox, "lan0"))
    assert "mv0" not in ip_names(sandbox.name)


def test_mode_change_into_or_out_of_passthru_is_refused(sandbox: Any) -> None:
    rt = sandbox.rt
    rt.create_macvlan("mv0", "p0", MacvlanMode.BRIDGE)
    with pytest.raises((ValueError, NetlinkError)) as info:
        rt.set_link("mv0", mode=MacvlanMode.PASSTHRU)
    assert "passthru" in str(info.value).lower()
    assert ip_link(sandbox, "mv0")["linkinfo"]["info_data"]["mode"] == "bridge"
    rt.create_macvlan("pt0", "p1", MacvlanMode.PASSTHRU)
    with pytest.raises((ValueError, NetlinkError)) as info:
        rt.set_link("pt0", mode="bridge")
    assert "passthru" in str(info.value).lower()
    assert ip_link(sandbox, "pt0")["linkinfo"]["info_data"]["mode"] == "passthru"


def test_macvlan_settings_refused_on_other_kinds(sandbox: Any) -> None:
    with pytest.raises(ValueError, match="veth"):
        sandbox.rt.set_link("p0", mode=MacvlanMode.BRIDGE)


def test_source_mac_list_edits(sandbox: Any) -> None:
    rt = sandbox.rt
    a, b, c = (MacAddress(f"02:bb:00:00:00:0{i}") for i in (1, 2, 3))

    def ip_sources() -> set[str]:
        return set(ip_link(sandbox, "src0")["linkinfo"]["info_data"].get("macaddr_data", []))

    def ours(link: Link) -> set[MacAddress]:
        assert link.macvlan is not None
        return set(link.macvlan.source_macs)

    link = rt.create_macvlan("src0", "p0", MacvlanMode.SOURCE, source_macs=[a])
    assert ours(link) == {a} and ip_sources() == {str(a)}
    link = rt.set_link("src0", source_macs=[b, c], source_op=MacaddrMode.ADD)
    assert ours(link) == {a, b, c} and ip_sources() == {str(a), str(b), str(c)}
    link = rt.set_link("src0", source_macs=[a], source_op=MacaddrMode.DEL)
    assert ours(link) == {b, c} and ip_sources() == {str(b), str(c)}
    link = rt.set_link("src0", source_macs=["02:bb:00:00:00:09"], source_op=MacaddrMode.SET)
    assert ours(link) == {MacAddress("02:bb:00:00:00:09")} and ip_sources() == {"02:bb:00:00:00:09"}
    link = rt.set_link("src0", source_op=MacaddrMode.FLUSH)
    assert ours(link) == set() and ip_sources() == set()
    assert_same_as_ip(link, ip_link(sandbox, "src0"))


# -- deletion ---------------------------------------------------------------------------------
def test_delete_link_by_name_index_and_link(sandbox: Any) -> None:
    rt = sandbox.rt
    a = rt.create_macvlan("mv0", "p0")
    b = rt.create_macvlan("mv1", "p0")
    c = rt.create_macvtap("mv2", "p0")
    rt.delete_link("mv0")
    rt.delete_link(b.index)
    rt.delete_link(c)
    assert ip_names(sandbox.name) == {"lo", "p0", "p1"}
    with pytest.raises(LinkNotFound):
        rt.delete_link("mv0")
    with pytest.raises(LinkNotFound):
        rt.delete_link(a.index)
    rt.delete_link("mv0", missing_ok=True)
    rt.delete_link(a, missing_ok=True)
    assert ip_names(sandbox.name) == {"lo", "p0", "p1"}


def _specs(count: int, parent: str = "p0", **kw: Any) -> list[MacvlanSpec]:
    return [
        MacvlanSpec(f"bulk{i}", parent, mac=MacAddress(0x02CC00000000 + i), **kw)
        for i in range(count)
    ]


def test_delete_links_in_one_batch(sandbox: Any, recorder: list[Any]) -> None:
    rt = sandbox.rt
    links = rt.create_macvlans(_specs(30))
    refs: list[Any] = [links[0].name, links[1].index, *links[2:]]
    recorder.clear()
    assert rt.delete_links(refs) == 30
    assert ip_names(sandbox.name) == {"lo", "p0", "p1"}
    deletes = [m for _, m in recorder if m.type == RtmType.DELLINK]
    assert len(deletes) == 1, "bulk delete must be one kernel request"
    assert rt.delete_links([]) == 0


def test_delete_links_missing(sandbox: Any) -> None:
    rt = sandbox.rt
    links = rt.create_macvlans(_specs(5, group=5))
    with pytest.raises(LinkNotFound):
        rt.delete_links([*links, "nosuch"])
    with pytest.raises(LinkNotFound):
        rt.delete_links([links[0], 99999])
    # nothing deleted, and the links kept their own group
    now = {e["ifname"]: ip_group(e) for e in sandbox.ip("link", "show", "type", "macvlan")}
    assert now == {link.name: 5 for link in links}
    assert rt.delete_links([*links, "nosuch", 99999], missing_ok=True) == 5
    assert ip_names(sandbox.name, "type", "macvlan") == set()


@pytest.fixture
def race_batch(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """``race(netns, victim)``: the next batch first deletes ``victim`` with ip, as
    someone else would between our lookup and our batch (test_aio_live overrides this
    for the asyncio socket)."""

    def race(netns: str, victim: str) -> None:
        real_batch = NetlinkSocket.batch

        def racing_batch(self: NetlinkSocket, messages: Any, what: Any = ()) -> Any:
            subprocess.run(["ip", "-n", netns, "link", "del", victim], check=True)
            monkeypatch.setattr(NetlinkSocket, "batch", real_batch)
            return real_batch(self, messages, what)

        monkeypatch.setattr(NetlinkSocket, "batch", racing_batch)

    return race


def test_delete_links_rolls_back_on_kernel_refusal(
    sandbox: Any, race_batch: Callable[[str, str], None]
) -> None:
    rt = sandbox.rt
    links = rt.create_macvlans(_specs(4, group=3))
    victim = rt.create_macvlan("victim", "p0", group=3)
    race_batch(sandbox.name, "victim")
    with pytest.raises(LinkNotFound):
        rt.delete_links([*links[:2], victim, *links[2:]])
    # the kernel refused one step half-way: the others are back in their own group
    now = {e["ifname"]: ip_group(e) for e in sandbox.ip("link", "show", "type", "macvlan")}
    assert now == {link.name: 3 for link in links}


def test_delete_links_missing_ok_tolerates_a_race(
    sandbox: Any, race_batch: Callable[[str, str], None]
) -> None:
    links = sandbox.rt.create_macvlans(_specs(4))
    race_batch(sandbox.name, links[1].name)
    assert sandbox.rt.delete_links(links, missing_ok=True) == 3
    assert ip_names(sandbox.name, "type", "macvlan") == set()


# -- many at once -----------------------------------------------------------------------------
def test_create_macvlans(sandbox: Any) -> None:
    specs = _specs(40, mode=MacvlanMode.PRIVATE, mtu=1450)
    specs.append(MacvlanSpec("tap0", "p1", MacvlanMode.VEPA, kind="macvtap", group=4))
    links = sandbox.rt.create_macvlans(specs)
    assert [link.name for link in links] == [s.name for s in specs]
    by_name = {e["ifname"]: e for e in sandbox.ip("-d", "link", "show")}
    for spec, link in zip(specs, links, strict=True):
        assert_same_as_ip(link, by_name[spec.name])
        if spec.mac is not None:
            assert link.mac == spec.mac
    assert links[-1].kind == "macvtap" and links[-1].group == 4


def test_create_macvlans_is_all_or_nothing(sandbox: Any) -> None:
    rt = sandbox.rt
    before = ip_names(sandbox.name)
    specs = _specs(40)
    specs.insert(25, MacvlanSpec("p1", "p0"))  # the name is taken: the kernel refuses
    with pytest.raises(LinkExists):
        rt.create_macvlans(specs)
    assert ip_names(sandbox.name) == before
    specs = _specs(40)
    specs.insert(10, MacvlanSpec("toobig", "p0", mtu=9000))  # above the parent's MTU
    with pytest.raises(NetlinkError) as info:
        rt.create_macvlans(specs)
    assert info.value.errno == errno.EINVAL
    assert ip_names(sandbox.name) == before


@pytest.mark.parametrize("window", [8, 128])
def test_create_macvlans_over_many_windows(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    """A batch of several windows (sends): every link comes back in order, and a
    refusal in a late window still undoes the whole batch."""
    from macvlan._netlink import socket as nlsocket

    monkeypatch.setattr(nlsocket, "_WINDOW", window)
    rt = sandbox.rt
    specs = _specs(300)
    links = rt.create_macvlans(specs)
    assert [link.name for link in links] == [s.name for s in specs]
    assert [link.mac for link in links] == [s.mac for s in specs]
    assert ip_names(sandbox.name, "type", "macvlan") == {s.name for s in specs}
    assert rt.delete_links(links) == 300
    before = ip_names(sandbox.name)
    specs.insert(290, MacvlanSpec("p1", "p0"))  # taken: refused in the last window
    with pytest.raises(LinkExists):
        rt.create_macvlans(specs)
    assert ip_names(sandbox.name) == before


def test_create_macvlans_rolls_back_other_namespaces(sandbox: Any, netns_factory: Any) -> None:
    other = netns_factory("mvo")
    sandbox.rt.create_macvlan("taken", "p0", netns=other)
    specs = [
        *_specs(5),
        MacvlanSpec("far0", "p0", netns=other),
        MacvlanSpec("far1", "p0", netns=other),
        MacvlanSpec("taken", "p0", netns=other),
    ]
    with pytest.raises(LinkExists):
        sandbox.rt.create_macvlans(specs)
    assert ip_names(other.name) == {"lo", "taken"}
    assert ip_names(sandbox.name) == {"lo", "p0", "p1"}


def test_create_macvlans_with_remote_specs_keeps_order(sandbox: Any, netns_factory: Any) -> None:
    other = netns_factory("mvo")
    specs = [
        MacvlanSpec("far0", "p0", netns=other),
        *_specs(3),
        MacvlanSpec("far1", "p0", netns=other),
    ]
    links = sandbox.rt.create_macvlans(specs)
    assert [link.name for link in links] == [s.name for s in specs]
    assert ip_names(other.name) == {"lo", "far0", "far1"}


# -- lookups ---------------------------------------------------------------------------------
def test_link_by_name_is_one_request_and_no_dump(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Message] = []
    real = NetlinkSocket.request

    def request(self: NetlinkSocket, message: Message, what: str = "") -> Any:
        calls.append(message)
        return real(self, message, what)

    def dump(*args: object, **kwargs: object) -> Any:
        raise AssertionError("link() must not dump")

    monkeypatch.setattr(NetlinkSocket, "request", request)
    monkeypatch.setattr(NetlinkSocket, "dump", dump)
    p0 = sandbox.rt.link("p0")
    assert p0.name == "p0" and p0.kind == "veth"
    assert p0.index == ip_link(sandbox, "p0")["ifindex"]
    assert len(calls) == 1 and calls[0].type == RtmType.GETLINK
    assert not calls[0].flags & NlmF.DUMP
    calls.clear()
    assert sandbox.rt.link(p0.index).name == "p0"
    assert sandbox.rt.link(p0).name == "p0"
    assert [m.type for m in calls] == [RtmType.GETLINK, RtmType.GETLINK]


def test_links_filters(sandbox: Any) -> None:
    rt = sandbox.rt
    rt.create_macvlan("a0", "p0", group=7)
    rt.create_macvlan("a1", "p1")
    rt.create_macvtap("t0", "p0", group=7)
    rt.create_macvtap("t1", "p1", group=8)
    every = rt.links()
    assert {link.name for link in every} == {e["ifname"] for e in sandbox.ip("link", "show")}
    by_name = {e["ifname"]: e for e in sandbox.ip("-d", "link", "show")}
    for link in every:
        assert_same_as_ip(link, by_name[link.name])
    assert (
        {link.name for link in rt.links(kind="macvlan")}
        == ip_names(sandbox.name, "type", "macvlan")
        == {"a0", "a1"}
    )
    assert {link.name for link in rt.links(kind="macvtap")} == {"t0", "t1"}
    assert {link.name for link in rt.links(kind="veth")} == {"p0", "p1"}
    assert (
        {link.name for link in rt.links(group=7)}
        == ip_names(sandbox.name, "group", "7")
        == {"a0", "t0"}
    )
    # ip names p0 as p1's "link" too (a veth's IFLA_LINK is its peer): not a child
    on_p0 = {n for n, e in by_name.items() if e.get("link") == "p0"} - {"p1"}
    assert "p1" in {n for n, e in by_name.items() if e.get("link") == "p0"}
    assert {link.name for link in rt.links(parent="p0")} == on_p0
    assert {"a0", "t0"} <= on_p0 and not {"a1", "t1"} & on_p0
    assert {link.name for link in rt.links(kind="macvtap", parent="p1", group=8)} == {"t1"}
    assert rt.links(kind="macvlan", group=8) == []


# -- input checking and error mapping ----------------------------------------------------------
BAD_NAMES = ["a/b", "a:b", "a b", "tab\t", "x" * 16, "é" * 8, ".", "..", ""]
BAD_MACS: list[Any] = [
    "02:00:00:00:00",
    "02:00:00:00:00:zz",
    "01:00:5e:00:00:01",  # multicast
    "ff:ff:ff:ff:ff:ff",
    "00:00:00:00:00:00",
    b"\x02\x00",
    -1,
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_refused_before_sending(sandbox: Any, no_io: None, name: str) -> None:
    rt = sandbox.rt
    with pytest.raises(ValueError, match="interface name"):
        rt.create_macvlan(name, "p0")
    with pytest.raises(ValueError, match="interface name"):
        rt.create_macvtap(name, "p0")
    with pytest.raises(ValueError, match="interface name"):
        rt.create_macvlans([MacvlanSpec("ok0", "p0"), MacvlanSpec(name, "p0")])
    with pytest.raises(ValueError, match="interface name"):
        rt.set_link(1, name=name)
    if name in ("a:b", "x" * 16, "é" * 8):
        return  # a good alternative name: looked up (tests/core/test_altnames_live.py)
    with pytest.raises(ValueError, match="interface name"):
        rt.create_macvlan("ok0", name)
    if name:
        with pytest.raises(ValueError, match="interface name"):
            rt.link(name)
        with pytest.raises(ValueError, match="interface name"):
            rt.delete_link(name)
        with pytest.raises(ValueError, match="interface name"):
            rt.delete_links(["p0", name])


@pytest.mark.parametrize("mac", BAD_MACS, ids=repr)
def test_bad_macs_refused_before_sending(sandbox: Any, no_io: None, mac: Any) -> None:
    with pytest.raises(ValueError) as info:
        sandbox.rt.create_macvlan("mv0", "p0", mac=mac)
    assert repr(mac)[:12] in str(info.value) or str(mac)[:12] in str(info.value)
    with pytest.raises(ValueError):
        sandbox.rt.set_link("p0", mac=mac)
    with pytest.raises(ValueError):
        sandbox.rt.create_macvlans([MacvlanSpec("mv0", "p0", mac=mac)])


@pytest.mark.parametrize(
    ("kw", "exc"),
    [
        ({"mtu": 0}, ValueError),
        ({"mtu": 67}, ValueError),
        ({"mtu": 2**32}, ValueError),
        ({"mtu": "1500"}, TypeError),
        ({"mtu": 1500.0}, TypeError),
        ({"mode": "bridges"}, ValueError),
        ({"mode": "Bridge "}, ValueError),
        ({"mode": 3}, ValueError),
        ({"mode": None}, TypeError),
        ({"flags": 4}, ValueError),
        ({"flags": "nopromisc"}, TypeError),
        ({"txqueuelen": -1}, ValueError),
        ({"group": 2**32}, ValueError),
        ({"bcqueuelen": -5}, ValueError),
        ({"bc_cutoff": 2**31}, ValueError),
        ({"source_macs": ["02:00:00:00:00:01"]}, ValueError),  # not source mode
        ({"mode": "source", "source_macs": ["nonsense"]}, ValueError),
        ({"mode": "source", "source_macs": ["01:00:00:00:00:01"]}, ValueError),
        ({"up": "yes"}, TypeError),
        ({"netns": 42}, TypeError),
    ],
    ids=repr,
)
def test_bad_arguments_refused_before_sending(
    sandbox: Any, no_io: None, kw: dict[str, Any], exc: type[Exception]
) -> None:
    with pytest.raises(exc):
        sandbox.rt.create_macvlan("mv0", "p0", **kw)
    with pytest.raises(exc):
        sandbox.rt.create_macvlans([MacvlanSpec("ok0", "p0"), MacvlanSpec("mv0", "p0", **kw)])


@pytest.mark.parametrize(
    ("kw", "exc"),
    [
        ({"mtu": 0}, ValueError),
        ({"mtu": "9000"}, TypeError),
        ({"mode": "turbo"}, ValueError),
        ({"flags": 8}, ValueError),
        ({"group": -1}, ValueError),
        ({"up": 1}, TypeError),
        ({"source_macs": ["02:00:00:00:00"]}, ValueError),
        ({"netns": 3.5}, TypeError),
    ],
    ids=repr,
)
def test_bad_changes_refused_before_sending(
    sandbox: Any, no_io: None, kw: dict[str, Any], exc: type[Exception]
) -> None:
    with pytest.raises(exc):
        sandbox.rt.set_link("p0", **kw)


def test_bad_refs_refused_before_sending(sandbox: Any, no_io: None) -> None:
    rt = sandbox.rt
    for ref in (0, -3, True, 2.5, None, b"p0"):
        with pytest.raises((TypeError, ValueError)):
            rt.link(ref)
        with pytest.raises((TypeError, ValueError)):
            rt.delete_link(ref)
        with pytest.raises((TypeError, ValueError)):
            rt.create_macvlan("mv0", ref)
    with pytest.raises(ValueError):
        rt.create_macvlans([MacvlanSpec("dup", "p0"), MacvlanSpec("dup", "p1")])


def test_errors_map_to_types(sandbox: Any) -> None:
    rt = sandbox.rt
    with pytest.raises(LinkNotFound) as nf:
        rt.link("nosuch")
    assert nf.value.errno == errno.ENODEV and "nosuch" in str(nf.value)
    with pytest.raises(LinkNotFound):
        rt.link(99999)
    with pytest.raises(LinkNotFound):
        rt.set_link("nosuch", up=True)
    with pytest.raises(LinkNotFound):
        rt.create_macvlan("mv0", "nosuch")
    with pytest.raises(LinkExists) as ex:
        rt.create_macvlan("p1", "p0")
    assert ex.value.errno == errno.EEXIST and isinstance(ex.value, FileExistsError)
    rt.create_macvlan("mv0", "p0")
    with pytest.raises(ValueError, match=r"mtu=99999 is outside 68\.\.65535"):
        rt.set_link("mv0", mtu=99999)  # refused before sending: above ETH_MAX_MTU
    assert ip_link(sandbox, "mv0")["mtu"] == 1500
    # two macvlans with one MAC on one parent cannot both be up
    rt.set_link("mv0", mac="02:00:00:00:04:01", up=True)
    rt.create_macvlan("mv1", "p0", mac="02:00:00:00:04:02", up=True)
    with pytest.raises(AddressInUse) as inuse:
        rt.set_link("mv1", mac="02:00:00:00:04:01")
    assert inuse.value.errno == errno.EADDRINUSE
    assert ip_link(sandbox, "mv1")["address"] == "02:00:00:00:04:02"


def test_mtu_above_parent_is_explained(sandbox: Any) -> None:
    with pytest.raises(NetlinkError) as info:
        sandbox.rt.create_macvlan("mv0", "p0", mtu=9000)
    assert info.value.errno == errno.EINVAL
    assert "9000" in str(info.value) and "1500" in str(info.value)
    assert ip_names(sandbox.name, "type", "macvlan") == set()


def test_closed_connection(netns_factory: Any) -> None:
    rt = macvlan.connect(netns_factory())
    rt.close()
    assert rt.closed
    with pytest.raises(OSError):
        rt.link("lo")


# -- threads ----------------------------------------------------------------------------------
def _run_threads(count: int, work: Callable[[int], None]) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


def test_threads_with_own_connections_in_own_namespaces(netns_factory: Any) -> None:
    namespaces = [netns_factory("mvth") for _ in range(8)]
    seen: dict[int, set[str]] = {}

    def work(i: int) -> None:
        with macvlan.connect(namespaces[i]) as rt:
            rt.create_veth("p0", "p1", up=True)
            specs = [
                MacvlanSpec(f"t{i}m{j}", "p0", mac=MacAddress(0x020000000000 + i * 256 + j))
                for j in range(20)
            ]
            links = rt.create_macvlans(specs)
            for link in links:
                assert rt.link(link.name).index == link.index
            seen[i] = {link.name for link in rt.links(kind="macvlan")}
            assert rt.delete_links(links[10:]) == 10

    _run_threads(8, work)
    for i, ns in enumerate(namespaces):
        assert seen[i] == {f"t{i}m{j}" for j in range(20)}
        assert ip_names(ns.name, "type", "macvlan") == {f"t{i}m{j}" for j in range(10)}


def test_threads_sharing_one_connection(sandbox: Any) -> None:
    rt = sandbox.rt

    def work(i: int) -> None:
        mine: dict[str, int] = {}
        for j in range(15):
            name = f"s{i}m{j}"
            link = rt.create_macvlan(name, "p0", mac=MacAddress(0x02DD00000000 + i * 256 + j))
            assert link.name == name
            mine[name] = link.index
        for _ in range(3):
            for name, index in mine.items():
                by_name = rt.link(name)
                assert (by_name.name, by_name.index) == (name, index)
                assert rt.link(index).name == name
            listed = {link.name: link.index for link in rt.links(kind="macvlan")}
            assert all(listed[n] == x for n, x in mine.items())
        doomed = sorted(mine)[:5]
        assert rt.delete_links(doomed) == 5
        for name in doomed:
            rt.delete_link(name, missing_ok=True)
        rt.set_link(sorted(mine)[5], up=True)

    _run_threads(8, work)
    expected = {f"s{i}m{j}" for i in range(8) for j in range(15)} - {
        f"s{i}m{j}" for i in range(8) for j in sorted(range(15), key=str)[:5]
    }
    assert ip_names(sandbox.name, "type", "macvlan") == expected


# -- resources --------------------------------------------------------------------------------
def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
def test_no_fd_leak(sandbox: Any, netns_factory: Any) -> None:
    rt = sandbox.rt
    other = netns_factory("mvfd")
    # warm up whatever is created once (thread-locals, caches)
    rt.create_macvlan("warm", "p0", netns=other)
    with rt.watch():
        pass
    before = _fds()
    threads = set(threading.enumerate())  # (one of them may end meanwhile: not a leak)
    for batch in range(20):
        names = [f"c{batch}x{i}" for i in range(100)]
        for name in names:
            rt.create_macvlan(name, "p0")
        assert rt.delete_links(names[1:]) == 99
        rt.delete_link(names[0])  # one by one, an RCU wait each
        with contextlib.suppress(LinkExists):
            rt.create_macvlan("p1", "p0")
        rt.create_macvlan(f"far{batch}", "p0", netns=other.name)  # opens and closes a socket
        with rt.watch():
            pass
    assert ip_names(sandbox.name, "type", "macvlan") == set()
    for _ in range(200):
        with macvlan.connect(sandbox.ns) as extra:
            extra.link("p0")
        with macvlan.connect(other.name) as extra:
            extra.link("warm")
    after = _fds()
    assert after == before, f"{after - before} file descriptors leaked"
    left = set(threading.enumerate()) - threads
    assert not left, f"helper threads were left running: {left}"
    assert len(ip_names(other.name, "type", "macvlan")) == 21


def test_creation_without_kernel_echo(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, recorder: list[Any]
) -> None:
    """Kernels before 6.3 do not echo a new link: the library reads it back instead."""
    real_new_macvlan = requests.new_macvlan

    def no_echo(*args: Any, **kwargs: Any) -> Message:
        echoed = real_new_macvlan(*args, **kwargs)
        assert echoed.flags & NlmF.ECHO  # the library asks for the echo ...
        return Message(echoed.type, echoed.flags & ~NlmF.ECHO, body=echoed.body, attrs=echoed.attrs)

    monkeypatch.setattr(requests, "new_macvlan", no_echo)  # ... which this kernel "lacks"
    one = sandbox.rt.create_macvlan("mv0", "p0", mac="02:00:00:00:0f:01", mtu=1400)
    assert_same_as_ip(one, ip_link(sandbox, "mv0"))
    assert recorder[-1][1].type == RtmType.GETLINK  # read back after the creation
    many = sandbox.rt.create_macvlans(_specs(5))
    assert recorder[-1][0] == "dump"
    assert [link.name for link in many] == [f"bulk{i}" for i in range(5)]
    for link in many:
        assert_same_as_ip(link, ip_link(sandbox, link.name))
