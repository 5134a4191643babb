"""802.1Q parents (``eth0.50``): the RTM_NEWLINK request on golden bytes.

This kernel has no 8021q, so a VLAN link cannot be created here.  The request is
checked instead against bytes built by hand from the kernel UAPI headers, and
(where strace is available) against what ``ip link add link p0 name p0.50 type vlan
id 50`` really sends: ip sends its request before the kernel refuses it, so the
request can be captured even though the link is never made.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest
from support import unique_name

from macvlan._netlink.attr import Attr, AttrList, RawAttr
from macvlan._netlink.constants import NlmF
from macvlan._netlink.message import Message, encode, iter_messages
from macvlan.network.vlan import ETH_P_8021AD, VLAN_ID, VLAN_PROTOCOL, new_vlan, parse_vlan_parent

SEQ = 0x6B0A892E


def nla(nla_type: int, payload: bytes) -> bytes:
    """struct nlattr { __u16 nla_len; __u16 nla_type; } + payload, padded to 4."""
    head = struct.pack("=HH", 4 + len(payload), nla_type)
    return head + payload + b"\0" * (-len(payload) % 4)


def expected_request(parent_index: int, seq: int = SEQ) -> bytes:
    """``ip link add link p0 name p0.50 type vlan id 50``, from the kernel headers."""
    IFLA_IFNAME, IFLA_LINK, IFLA_LINKINFO = 3, 5, 18  # include/uapi/linux/if_link.h
    IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
    IFLA_VLAN_ID = 1
    attrs = (
        nla(IFLA_LINK, struct.pack("=I", parent_index))
        + nla(IFLA_IFNAME, b"p0.50\0")
        + nla(
            IFLA_LINKINFO,
            # iproute2 sends the kind with strlen(): no NUL, so 8 bytes, no padding
            nla(IFLA_INFO_KIND, b"vlan") + nla(IFLA_INFO_DATA, nla(IFLA_VLAN_ID, b"\x32\x00")),
        )
    )
    # struct ifinfomsg: family AF_UNSPEC, pad, type, index 0, flags 0, change 0
    ifinfomsg = struct.pack("=BBHiII", 0, 0, 0, 0, 0, 0)
    RTM_NEWLINK = 16
    flags = 0x1 | 0x4 | 0x200 | 0x400  # NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
    body = ifinfomsg + attrs
    return struct.pack("=IHHII", 16 + len(body), RTM_NEWLINK, flags, seq, 0) + body


def as_sent(message: Message, seq: int = SEQ) -> bytes:
    """The bytes our socket sends for ``message`` (it adds REQUEST|ACK and the seq)."""
    flags = message.flags | NlmF.REQUEST | NlmF.ACK
    return encode([message._replace(flags=flags, seq=seq)])


def test_expected_bytes_are_what_the_headers_say() -> None:
    data = expected_request(3)
    assert len(data) == 76
    assert data.hex() == (
        "4c000000100005062e890a6b00000000"  # nlmsghdr: 76 bytes, RTM_NEWLINK, 0x605
        "00000000000000000000000000000000"  # ifinfomsg
        "0800050003000000"  # IFLA_LINK = 3
        "0a00030070302e3530000000"  # IFLA_IFNAME "p0.50\0" + 2 pad
        "18001200"  # IFLA_LINKINFO (24)
        "08000100766c616e"  # IFLA_INFO_KIND "vlan"
        "0c000200"
        "0600010032000000"  # IFLA_INFO_DATA { IFLA_VLAN_ID 50 + 2 pad }
    )


@pytest.mark.parametrize("parent_index", [3, 2, 1_000_000])
def test_new_vlan_bytes_equal_iproute2s(parent_index: int) -> None:
    assert as_sent(new_vlan("p0.50", parent_index, 50)) == expected_request(parent_index)


def test_new_vlan_decodes_back() -> None:
    (message,) = list(iter_messages(as_sent(new_vlan("eth0.4094", 7, 4094))))
    assert isinstance(message, Message)
    attrs = message.attrs
    assert isinstance(attrs, AttrList)
    info = next(a for a in attrs if a.type == 18)
    assert isinstance(info, Attr)
    kind, data = list(info.value)
    assert isinstance(kind, RawAttr) and kind.data == b"vlan"
    assert data.type == 2


def test_protocol_attribute_is_big_endian() -> None:
    message = new_vlan("p0.7", 3, 7, protocol=ETH_P_8021AD)
    data = as_sent(message)
    # IFLA_VLAN_PROTOCOL (5), __be16 0x88a8
    assert bytes.fromhex("0600050088a80000") in data
    assert VLAN_PROTOCOL.number == 5 and VLAN_ID.number == 1
    with pytest.raises(ValueError, match="0x800"):
        new_vlan("p0.7", 3, 7, protocol=0x0800)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("eth0.50", ("eth0", 50)),
        ("bond0.1", ("bond0", 1)),
        ("en.p1s0.4094", ("en.p1s0", 4094)),
        ("eth0", None),
        ("eth0.x", None),
        ("eth0.", None),
    ],
)
def test_parse_vlan_parent(name: str, expected: tuple[str, int] | None) -> None:
    got = parse_vlan_parent(name)
    assert (None if got is None else (got.base, got.vlan_id)) == expected


@pytest.mark.parametrize("bad", ["eth0.0", "eth0.4095", "eth0.9999"])
def test_vlan_ids_outside_the_range_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        parse_vlan_parent(bad)
    with pytest.raises(ValueError, match=re.escape("1..4094")):
        new_vlan("x.1", 3, int(bad.split(".")[1]))


def test_bad_names_are_refused_before_anything_is_built() -> None:
    with pytest.raises(ValueError, match="15"):
        new_vlan("a-very-long-name.5", 3, 5)


@pytest.mark.live
@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_same_bytes_as_a_captured_ip_request() -> None:
    """Capture ip's request with strace (it is sent even though the kernel refuses)."""
    ns = unique_name("mvv")
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(
            ["ip", "-n", ns, "link", "add", "p0", "type", "veth", "peer", "name", "p1"],
            check=True,
        )
        index = int(
            subprocess.run(
                ["ip", "-n", ns, "-o", "link", "show", "p0"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split(":")[0]
        )
        trace = subprocess.run(
            [
                "strace",
                "-f",
                "-e",
                "trace=sendmsg",
                "-e",
                "write=all",
                "-xx",
                "-s",
                "0",
                "ip",
                "-n",
                ns,
                "link",
                "add",
                "link",
                "p0",
                "name",
                "p0.50",
                "type",
                "vlan",
                "id",
                "50",
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stderr
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
    sent = _last_newlink(trace)
    seq = struct.unpack_from("=I", sent, 8)[0]
    assert sent == expected_request(index, seq)
    assert sent == as_sent(new_vlan("p0.50", index, 50), seq)


def _last_newlink(trace: str) -> bytes:
    """The bytes of the last RTM_NEWLINK buffer in an strace ``-e write=all`` log."""
    buffers: list[bytes] = []
    current: list[str] = []
    for line in trace.splitlines():
        if line.lstrip().startswith("* ") and "bytes in buffer" in line:
            if current:
                buffers.append(bytes.fromhex("".join(current)))
            current = []
        elif match := re.match(r"\s*\| [0-9a-f]{5}  (.{49})", line):
            current.append(match.group(1).replace(" ", ""))
    if current:
        buffers.append(bytes.fromhex("".join(current)))
    newlinks = [b for b in buffers if len(b) >= 16 and struct.unpack_from("=H", b, 4)[0] == 16]
    assert newlinks, f"no RTM_NEWLINK in the trace:\n{trace[-2000:]}"
    return newlinks[-1]


def test_vlan_info_data_decodes_by_kind() -> None:
    """With "vlan" in the kind table, IFLA_INFO_DATA of a vlan link is typed."""
    import macvlan._netlink as nl
    from macvlan._netlink import ifla as _ifla
    from macvlan._netlink.attr import AttrList
    from macvlan._netlink.constants import RtmType
    from macvlan._netlink.message import Message
    from macvlan._netlink.structs import IfInfoMsg

    built = Message(
        RtmType.NEWLINK,
        body=IfInfoMsg(index=7),
        attrs=[_ifla.LINKINFO([_ifla.INFO_KIND("vlan"), _ifla.INFO_DATA([_ifla.VLAN_ID(50)])])],
    )
    (message,) = nl.decode(nl.encode([built]))
    assert isinstance(message, Message)
    info = message.get(_ifla.LINKINFO)
    assert isinstance(info, AttrList)
    data = info.get(_ifla.INFO_DATA)
    assert isinstance(data, AttrList)
    assert data.get(_ifla.VLAN_ID) == 50
