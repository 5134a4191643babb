"""The codec against bytes captured from iproute2 6.1 and the kernel (no root needed).

- every captured reply decodes and re-encodes byte for byte, also when each
  attribute is rebuilt from its typed value;
- the RTM_NEWLINK our builders make carries the same attributes ip sent;
- dumps decode into typed links, addresses and routes.
"""

from __future__ import annotations

import errno
import ipaddress
from typing import Any

import pytest
from golden_data import assert_reencodes, cases, dump_chunks, meant, normalise, on_the_wire

import macvlan._netlink as nl
from macvlan._netlink import ifla, requests
from macvlan._netlink.attr import AttrList
from macvlan._netlink.constants import MacaddrMode, MacvlanFlags, MacvlanMode, RtmType
from macvlan._netlink.message import DoneMessage, ErrorMessage, Message
from macvlan.address import Address
from macvlan.errors import error_for
from macvlan.link import Link, new_macvlan, new_veth, set_link
from macvlan.mac import MacAddress
from macvlan.route import Route

REPLIES = [(c["name"], i, h) for c in cases() for i, h in enumerate(c["replies"])]
REQUESTS = [(c["name"], i, h) for c in cases() for i, h in enumerate(c["requests"])]


@pytest.mark.parametrize(("name", "i", "hexdata"), REPLIES, ids=[f"{n}-{i}" for n, i, _ in REPLIES])
def test_reply_reencodes_byte_for_byte(name: str, i: int, hexdata: str) -> None:
    assert assert_reencodes(bytes.fromhex(hexdata))


@pytest.mark.parametrize(
    ("name", "i", "hexdata"), REQUESTS, ids=[f"{n}-{i}" for n, i, _ in REQUESTS]
)
def test_request_reencodes_byte_for_byte(name: str, i: int, hexdata: str) -> None:
    assert_reencodes(meant(bytes.fromhex(hexdata)))


def test_replies_include_typed_macvlan_data() -> None:
    """The kernel's answer to `ip -d link show` decodes to a typed macvlan Link."""
    case = next(c for c in cases() if c["name"] == "show_macvlan_source_macaddr_set")
    links = [
        Link.from_message(m)
        for h in case["replies"]
        for m in nl.decode(bytes.fromhex(h))
        if isinstance(m, Message) and m.type == RtmType.NEWLINK
    ]
    mv0 = next(link for link in links if link.name == "mv0")
    assert mv0.kind == "macvlan"
    assert mv0.macvlan is not None
    assert mv0.macvlan.mode is MacvlanMode.SOURCE
    assert mv0.macvlan.source_macs == (
        MacAddress("02:00:00:00:00:01"),
        MacAddress("02:00:00:00:00:02"),
    )


# -- our requests against ip's ---------------------------------------------------------
M = MacAddress
CREATE_CASES: dict[str, dict[str, Any]] = {
    "macvlan_default": {"mode": None},
    "macvlan_bridge": {},
    "macvlan_private": {"mode": MacvlanMode.PRIVATE},
    "macvlan_vepa": {"mode": MacvlanMode.VEPA},
    "macvlan_passthru": {"mode": MacvlanMode.PASSTHRU},
    "macvlan_source": {"mode": MacvlanMode.SOURCE},
    "macvlan_source_macaddr_set": {
        "mode": MacvlanMode.SOURCE,
        "source_macs": [M("02:00:00:00:00:01"), M("02:00:00:00:00:02")],
    },
    "macvlan_source_nodst": {"mode": MacvlanMode.SOURCE, "flags": MacvlanFlags.NODST},
    "macvlan_passthru_nopromisc": {"mode": MacvlanMode.PASSTHRU, "flags": MacvlanFlags.NOPROMISC},
    "macvlan_bridge_address": {"mac": M("02:11:22:33:44:55")},
    "macvlan_bridge_mtu": {"mtu": 1400},
    "macvlan_bridge_txqueuelen": {"txqueuelen": 500},
    "macvlan_bridge_bcqueuelen": {"bcqueuelen": 2000},
    "macvlan_bridge_up": {"up": True},
    "macvtap_bridge": {"kind": "macvtap"},
    "macvtap_vepa_address": {
        "kind": "macvtap",
        "mode": MacvlanMode.VEPA,
        "mac": M("02:11:22:33:44:66"),
    },
    "err_mtu_99999": {"mtu": 99999},
    "err_second_passthru": {"name": "mv1", "mode": MacvlanMode.PASSTHRU},
    "macvlan_bridge_netns": {"netns_fd": 4},
}


def ip_newlink(name: str) -> Message:
    case = next(c for c in cases() if c["name"] == name)
    index = case["newlink_request_index"]
    (message,) = nl.decode(meant(bytes.fromhex(case["requests"][index])))
    assert isinstance(message, Message)
    return message


@pytest.mark.parametrize("name", sorted(CREATE_CASES))
def test_create_request_matches_ip(name: str) -> None:
    theirs = ip_newlink(name)
    assert isinstance(theirs.attrs, AttrList)
    args: dict[str, Any] = {
        "mode": MacvlanMode.BRIDGE,
        "flags": MacvlanFlags.NONE,
        "mac": None,
        "mtu": None,
        "up": False,
        "bcqueuelen": None,
        "bc_cutoff": None,
        "source_macs": (),
        "txqueuelen": None,
        "group": None,
        "netns_fd": None,
    }
    args.update(CREATE_CASES[name])
    kind = args.pop("kind", "macvlan")
    name_ = args.pop("name", "mv0")
    parent = theirs.attrs.get(ifla.LINK) or 0
    if args["mtu"] is None or 68 <= args["mtu"] <= 65535:
        ours = new_macvlan(name_, parent, kind, **args)
    else:  # an MTU the typed layer refuses: lay it out as is, for the kernel to refuse
        mac, macs = args.pop("mac"), args.pop("source_macs")
        args["mode"], args["flags"] = int(args["mode"]), int(args["flags"])
        ours = requests.new_macvlan(
            name_,
            parent,
            kind=kind,
            mac=None if mac is None else MacAddress(mac).packed,
            macs=[MacAddress(m).packed for m in macs],
            **args,
        )
    assert ours.type == theirs.type == RtmType.NEWLINK
    assert ours.body == theirs.body
    # ip sends REQUEST|ACK|CREATE|EXCL; the socket adds REQUEST|ACK to ours
    assert ours.flags | 0x5 == theirs.flags
    assert normalise(on_the_wire(ours).attrs) == normalise(theirs.attrs)


def test_veth_request_matches_ip() -> None:
    theirs = ip_newlink("veth_peer")
    ours = new_veth("va", "vb", mtu=None, mac=None, peer_mac=None, peer_netns_fd=None, up=False)
    assert normalise(on_the_wire(ours).attrs) == normalise(theirs.attrs)


@pytest.mark.parametrize(
    ("name", "op", "macs"),
    [
        ("set_source_macaddr_add", MacaddrMode.ADD, ["02:00:00:00:00:03"]),
        ("set_source_macaddr_del", MacaddrMode.DEL, ["02:00:00:00:00:03"]),
        ("set_source_macaddr_set", MacaddrMode.SET, ["02:00:00:00:00:0a", "02:00:00:00:00:0b"]),
        ("set_source_macaddr_flush", MacaddrMode.FLUSH, []),
    ],
)
def test_source_mac_changes_match_ip(name: str, op: MacaddrMode, macs: list[str]) -> None:
    from macvlan.link import macvlan_data

    theirs = ip_newlink(name)
    data = macvlan_data(None, None, None, None, [M(m) for m in macs], op)
    ours = set_link(
        theirs.body.index,  # type: ignore[union-attr]
        attrs=[ifla.LINKINFO([ifla.INFO_KIND("macvlan"), ifla.INFO_DATA(data)])],
    )
    assert ours.body == theirs.body
    assert normalise(on_the_wire(ours).attrs) == normalise(theirs.attrs)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("set_mtu", {"attrs": [ifla.MTU(1300)]}),
        ("set_address", {"attrs": [ifla.ADDRESS(M("02:00:00:00:00:42").packed)]}),
        ("set_name", {"attrs": [ifla.IFNAME("mvx")]}),
        ("set_up", {"up": True}),
        ("set_netns", {"attrs": [ifla.NET_NS_FD(4)]}),
    ],
)
def test_link_changes_match_ip(name: str, kwargs: dict[str, Any]) -> None:
    theirs = ip_newlink(name)
    ours = set_link(theirs.body.index, **kwargs)  # type: ignore[union-attr]
    assert ours.body == theirs.body
    assert normalise(on_the_wire(ours).attrs) == normalise(theirs.attrs)


# -- errors and extended acks --------------------------------------------------------------
def error_reply(name: str) -> ErrorMessage:
    case = next(c for c in cases() if c["name"] == name)
    for h in case["replies"]:
        for message in nl.decode(bytes.fromhex(h)):
            if isinstance(message, ErrorMessage) and message.error not in (0, -errno.ENODEV):
                return message
    raise AssertionError(f"no error reply in {name}")


def test_extended_ack_text_is_decoded() -> None:
    reply = error_reply("err_mtu_99999")
    assert reply.error == -errno.EINVAL
    assert reply.ext_ack_text == "mtu greater than device maximum"
    exc = error_for(-reply.error, reply.ext_ack_text, "create 'mv0'")
    assert exc.errno == errno.EINVAL
    assert "mtu greater than device maximum" in str(exc)
    assert exc.ext_ack == "mtu greater than device maximum"


@pytest.mark.parametrize(
    ("name", "code", "exc_name"),
    [
        ("err_link_exists", errno.EEXIST, "LinkExists"),
        ("err_duplicate_mac", errno.EADDRINUSE, "AddressInUse"),
        ("err_second_passthru", errno.EINVAL, "NetlinkError"),
        ("err_set_mode_passthru", errno.EINVAL, "NetlinkError"),
    ],
)
def test_kernel_errors_map_to_types(name: str, code: int, exc_name: str) -> None:
    reply = error_reply(name)
    assert -reply.error == code
    echoed_type = int.from_bytes(reply.echo[4:6], "little")  # the refused request's RTM_*
    assert echoed_type == 16  # RTM_NEWLINK
    exc = error_for(-reply.error, reply.ext_ack_text, "", echoed_type)
    assert type(exc).__name__ == exc_name
    assert isinstance(exc, OSError)


# -- dumps ------------------------------------------------------------------------------
def test_dump_of_1000_links_decodes_to_typed_links() -> None:
    links = []
    done = 0
    for chunk in dump_chunks("dump_1000_links.bin.gz"):
        messages = nl.decode(chunk)
        assert nl.encode(messages) == chunk
        for message in messages:
            if isinstance(message, DoneMessage):
                done += 1
            elif isinstance(message, Message) and message.type == RtmType.NEWLINK:
                links.append(Link.from_message(message))
    assert done == 1
    names = {link.name for link in links}
    assert {f"mv{i}" for i in range(1000)} <= names
    macvlans = [link for link in links if link.kind == "macvlan"]
    assert len(macvlans) == 1000
    parent = next(link for link in links if link.name == "p0")
    assert all(link.parent_index == parent.index for link in macvlans)
    assert all(link.macvlan and link.macvlan.mode is MacvlanMode.BRIDGE for link in macvlans)
    assert all(link.mac is not None and link.mac.is_local for link in macvlans)


def test_address_dump_decodes() -> None:
    addresses = [
        Address.from_message(m)
        for chunk in dump_chunks("dump_addrs.bin.gz")
        for m in nl.decode(chunk)
        if isinstance(m, Message) and m.type == RtmType.NEWADDR
    ]
    interfaces = {a.interface for a in addresses}
    assert ipaddress.ip_interface("127.0.0.1/8") in interfaces
    assert any(a.interface.version == 6 for a in addresses)


@pytest.mark.parametrize("file", ["dump_routes.bin.gz", "dump_routes_ipv6.bin.gz"])
def test_route_dumps_decode(file: str) -> None:
    routes = [
        Route.from_message(m)
        for chunk in dump_chunks(file)
        for m in nl.decode(chunk)
        if isinstance(m, Message) and m.type == RtmType.NEWROUTE
    ]
    assert routes
    for chunk in dump_chunks(file):
        assert nl.encode(nl.decode(chunk)) == chunk
