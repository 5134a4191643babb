"""A link dump parsed straight from the bytes (``parse_links``, no Message per answer)
gives the very Links that ``Link.from_message`` gives; a link message too short for
its ``ifinfomsg`` is refused, not skipped."""

from __future__ import annotations

import struct

import pytest

from macvlan._netlink import encode, ifla, iter_messages
from macvlan._netlink.constants import MacvlanMode, RtmType
from macvlan._netlink.message import Message
from macvlan._netlink.structs import IfInfoMsg
from macvlan.errors import ProtocolError
from macvlan.link import Link, links_of, parse_links

LINKS = [
    Message(
        RtmType.NEWLINK,
        body=IfInfoMsg(index=7, flags=0x1003),
        attrs=[
            ifla.IFNAME("mv0"),
            ifla.ADDRESS(bytes.fromhex("024d00000001")),
            ifla.MTU(1400),
            ifla.LINK(2),
            ifla.GROUP(9),
            ifla.LINKINFO(
                [ifla.INFO_KIND("macvlan"), ifla.INFO_DATA([ifla.MACVLAN_MODE(MacvlanMode.BRIDGE)])]
            ),
        ],
    ),
    Message(RtmType.NEWLINK, body=IfInfoMsg(index=1, flags=0x49), attrs=[ifla.IFNAME("lo")]),
    Message(RtmType.NEWADDR, body=b"\0" * 8),  # not a link: left out
]


def test_parsed_links_are_the_decoded_ones() -> None:
    data = encode(LINKS)
    out: list[Link] = []
    parse_links(data, 0, len(data), out)
    decoded = links_of([m for m in iter_messages(data) if isinstance(m, Message)])
    assert out == decoded
    assert [(x.index, x.name, x.mtu, x.parent_index, x.group, x.up) for x in out] == [
        (7, "mv0", 1400, 2, 9, True),
        (1, "lo", 0, None, 0, True),
    ]
    assert out[0].kind == "macvlan" and out[0].macvlan is not None
    assert out[0].macvlan.mode is MacvlanMode.BRIDGE
    assert str(out[0].mac) == "02:4d:00:00:00:01"


def test_a_link_message_without_its_ifinfomsg_is_refused() -> None:
    short = struct.pack("=IHHII", 20, RtmType.NEWLINK, 0, 1, 0) + b"\0" * 4
    with pytest.raises(ProtocolError, match="lacks its ifinfomsg"):
        parse_links(short, 0, len(short), [])
