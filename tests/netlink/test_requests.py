"""The one request layer: plain arguments in, the bytes iproute2 would send out,
and light enough to import for the CNI plugin."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

from macvlan import address as typed_address
from macvlan import link as typed_link
from macvlan import route as typed_route
from macvlan._netlink import encode, ifla, requests
from macvlan._netlink.constants import MacaddrMode, MacvlanFlags, MacvlanMode
from macvlan._netlink.numbers import NLM_F_ECHO, RTM_DELROUTE, RTM_NEWLINK, RTM_NEWROUTE
from macvlan.mac import MacAddress

REPO = Path(__file__).resolve().parents[2]


def wire(message: object) -> bytes:
    return encode([message])  # type: ignore[list-item]


def test_importing_the_layer_loads_nothing_heavy() -> None:
    proc = subprocess.run(
        [sys.executable, "-S", "-E", "-X", "importtime", "-c", "import macvlan._netlink.requests"],
        capture_output=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.decode().splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "macvlan._netlink.requests" in names
    heavy = {"enum", "typing", "ipaddress", "dataclasses", "re", "socket", "ctypes"}
    heavy |= {"macvlan._netlink.constants", "macvlan.link", "macvlan.mac", "json"}
    assert names & heavy == set()


def test_typed_macvlan_request_is_the_plain_one() -> None:
    mac = MacAddress("02:00:00:00:00:07")
    typed = typed_link.new_macvlan(
        "mv0",
        3,
        "macvtap",
        mode=MacvlanMode.SOURCE,
        flags=MacvlanFlags.NOPROMISC,
        mac=mac,
        mtu=1400,
        up=True,
        bcqueuelen=100,
        bc_cutoff=-1,
        source_macs=[MacAddress("02:00:00:00:00:0a")],
        txqueuelen=0,
        group=9,
        netns_fd=None,
    )
    plain = requests.new_macvlan(
        "mv0",
        3,
        kind="macvtap",
        mode=16,
        flags=1,
        mac=mac.packed,
        mtu=1400,
        up=True,
        bcqueuelen=100,
        bc_cutoff=-1,
        macs=[bytes.fromhex("02000000000a")],
        txqueuelen=0,
        group=9,
    )
    assert wire(typed) == wire(plain)
    assert typed.type == RTM_NEWLINK and typed.body.flags == 1


def test_source_mac_changes() -> None:
    one = [MacAddress("02:00:00:00:00:0b")]
    for op in MacaddrMode:
        macs = [] if op == MacaddrMode.FLUSH else one
        typed = typed_link.source_mac_attrs(op, macs)
        assert wire(requests.set_link(4, attrs=[requests.linkinfo("macvlan", typed)])) == wire(
            requests.set_link(
                4,
                attrs=[
                    requests.linkinfo(
                        "macvlan", requests.source_macs(int(op), [m.packed for m in macs])
                    )
                ],
            )
        )


def test_typed_address_and_route_requests_are_the_plain_ones() -> None:
    iface = ipaddress.ip_interface("10.9.0.2/24")
    assert wire(typed_address.new_address(5, iface)) == wire(
        requests.new_address(5, 2, 24, iface.ip.packed, broadcast=bytes([10, 9, 0, 255]))
    )
    v6 = ipaddress.ip_interface("fd00::2/64")
    assert wire(typed_address.new_address(5, v6, nodad=True)) == wire(
        requests.new_address(5, 10, 64, v6.ip.packed, flags=0x02)
    )
    assert wire(typed_address.del_address(5, iface)) == wire(
        requests.del_address(5, 2, 24, iface.ip.packed)
    )
    dst = ipaddress.ip_network("10.8.0.0/16")
    gw = ipaddress.ip_address("10.9.0.1")
    typed = typed_route.new_route(dst, gateway=gw, oif=5, metric=7, table=1000, src=None)
    plain = requests.route(
        RTM_NEWROUTE,
        2,
        16,
        dst=dst.network_address.packed,
        gateway=gw.packed,
        oif=5,
        metric=7,
        table=1000,
        protocol=3,
        type=1,
        flags=0x600,
    )
    assert wire(typed) == wire(plain)
    assert typed.body.table == 0 and typed.get(ifla.LINK) is None
    deleting = typed_route.del_route(dst, gateway=None, oif=5, metric=None, table=None, src=None)
    assert deleting.type == RTM_DELROUTE and deleting.body.scope == 255  # RT_SCOPE_NOWHERE


def test_echo_asks_for_the_new_link() -> None:
    plain = requests.new_macvlan("mv0", 12, mode=4)
    echoed = requests.new_macvlan("mv0", 12, mode=4, echo=True)
    assert echoed.flags == plain.flags | NLM_F_ECHO and not plain.flags & NLM_F_ECHO
    assert echoed.attrs == plain.attrs and echoed.get(ifla.LINK) == 12
    placed = requests.with_parent(requests.new_macvlan("mv0", 0, mode=4, echo=True), 12)
    assert placed == echoed  # the parent filled in after the lookup, nothing else changed


def test_vlan_request_layout() -> None:
    message = requests.new_vlan("eth0.50", 2, 50)
    assert [a.type for a in message.attrs] == [ifla.LINK.number, ifla.IFNAME.number, 18]
    assert wire(typed_link.new_vlan("eth0.50", 2, 50)) == wire(message)
