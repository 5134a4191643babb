"""Endpoints as LAN hosts, live: DHCP leases from real dnsmasq and busybox udhcpd,
SLAAC from dnsmasq's and radvd's router advertisements, per-endpoint sysctls.
Servers run in a throw-away "router" namespace and are stopped by their pid;
``ip -j`` and the servers' lease files are the oracles."""

from __future__ import annotations

import ipaddress
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from lanlab import ROUTER_IP, Lan, v6_globals
from support import ip_json

from macvlan import (
    LeaseDeclined,
    LeaseOutcome,
    LeaseTimeout,
    MacAddress,
    SlaacTimeout,
    SysctlError,
    SysctlNotFound,
    SysctlValueRejected,
)
from macvlan.network import Network
from macvlan.network import aio as network_aio
from macvlan.network.lanstore import Tables
from macvlan.network.renewal import renew
from macvlan.network.store import Store

pytestmark = [
    pytest.mark.live,
]


def dhcp_net(lan: Lan, **kw: Any) -> Network:
    kw.setdefault("dhcp_timeout", 6.0)
    return Network.create(
        "lan", parent="p0", ipam="dhcp", netns=lan.host, store=lan.tmp / "store.db", **kw
    )


def addresses(ns: str, ifname: str = "eth0") -> list[str]:
    out = ip_json("-4", "addr", "show", "dev", ifname, netns=ns)
    return [f"{a['local']}/{a['prefixlen']}" for a in out[0]["addr_info"]] if out else []


def default_via(ns: str, family: str = "-4") -> list[str]:
    return [
        r["gateway"]
        for r in ip_json(family, "route", "show", "default", netns=ns)
        if "gateway" in r
    ]


def no_links_left(ns: str) -> bool:
    return [x["ifname"] for x in ip_json("link", "show", netns=ns)] == ["lo"]


def store_clean(path: Path) -> None:
    with Store(path) as st:
        assert st.endpoints("lan") == []
        assert Tables(st).records(list(range(1, 50))) == {}


# -- DHCPv4 ------------------------------------------------------------------------------
def test_lease_from_dnsmasq_applied_and_in_its_lease_file(lan: Lan, netns_factory: Any) -> None:
    server = lan.dnsmasq()
    blue = netns_factory("mvle")
    with dhcp_net(lan) as net:
        t0 = time.monotonic()
        ep = net.attach(blue, ifname="eth0", hostname="blue-1")
        took = time.monotonic() - t0
        lease = ep.lease
        assert lease is not None
        assert lease.server == ipaddress.IPv4Address(ROUTER_IP)
        assert lease.router == ipaddress.IPv4Address(ROUTER_IP)
        assert lease.address.network == ipaddress.IPv4Network("10.77.0.0/24")
        assert lease.lease_time == 120
        assert lease.renew_at < lease.rebind_at < lease.expires
        assert abs(lease.expires - (time.time() + 120)) < 10
        assert addresses(blue.name) == [str(lease.address)]
        assert default_via(blue.name) == [ROUTER_IP]
        assert ep.addresses == (lease.address,) and ep.gateways == (lease.router,)
        line = server.wait_for(lambda: server.lease_for(ep.mac))
        assert line is not None, server.lease_lines()
        assert line[2] == str(lease.address.ip) and line[3] == "blue-1"
        # the store has it: another process's view
        with Network.open("lan", store=lan.tmp / "store.db") as again:
            (seen,) = again.endpoints()
            assert seen.lease == lease
        print(f"attach with DHCP: {took * 1000:.0f} ms")
        net.detach(ep)
        assert server.wait_for(lambda: server.lease_for(ep.mac) is None)
        assert no_links_left(blue.name)
    store_clean(lan.tmp / "store.db")


def test_two_endpoints_two_leases_and_the_same_address_back(lan: Lan, netns_factory: Any) -> None:
    server = lan.dnsmasq()
    a, b = netns_factory("mvle"), netns_factory("mvle")
    with dhcp_net(lan) as net:
        ea = net.attach(a, client_id="01:02:03:04:05:06")
        eb = net.attach(b)
        assert ea.lease and eb.lease
        assert ea.lease.address != eb.lease.address
        assert server.wait_for(lambda: len(server.lease_lines()) == 2)
        first = ea.lease.address
        cid = server.lease_for(ea.mac)[4]
        assert cid == "01:02:03:04:05:06"
        net.detach(ea)  # RELEASE: dnsmasq forgets the lease
        assert server.wait_for(lambda: server.lease_for(ea.mac) is None)
        again = net.attach(a)  # new MAC, same name: same client id, asks for the address
        assert again.mac != ea.mac
        assert again.lease is not None and again.lease.address == first
        assert server.lease_for(again.mac)[4] == "01:02:03:04:05:06"
        net.detach(again)
        net.detach(eb)


def test_renewal_extends_the_lease_at_the_server(lan: Lan, netns_factory: Any) -> None:
    server = lan.dnsmasq()
    blue = netns_factory("mvle")
    with dhcp_net(lan) as net:
        ep = net.attach(blue)
        assert ep.lease
        before = int(server.wait_for(lambda: server.lease_for(ep.mac))[0])
        assert net.renew() == []  # nothing due yet
        time.sleep(1.1)
        (change,) = net.renew(force=True)
        assert change.outcome is LeaseOutcome.RENEWED
        assert change.new is not None and change.new.expires > ep.lease.expires
        assert change.new.address == ep.lease.address
        after = server.wait_for(
            lambda: int(server.lease_for(ep.mac)[0]) > before and server.lease_for(ep.mac)
        )
        assert after and int(after[0]) > before
        (now_ep,) = net.endpoints()
        assert now_ep.lease == change.new
        net.detach(now_ep)


def test_silent_server_renew_then_rebind_fail_then_expiry_removes_address(
    lan: Lan, netns_factory: Any
) -> None:
    server = lan.udhcpd(lease=120)
    blue = netns_factory("mvle")
    with dhcp_net(lan) as net:
        ep = net.attach(blue)
        lease = ep.lease
        assert lease is not None and lease.address.ip in ipaddress.IPv4Network("10.77.0.0/24")
        server.stop()  # the server stops answering
        (c1,) = renew(net, now=lease.renew_at + 1)
        assert c1.outcome is LeaseOutcome.FAILED and "renewing" in c1.detail
        (c2,) = renew(net, now=lease.rebind_at + 1)
        assert c2.outcome is LeaseOutcome.FAILED and "rebinding" in c2.detail
        assert addresses(blue.name) == [str(lease.address)]
        (c3,) = renew(net, now=lease.expires + 1)
        assert c3.outcome is LeaseOutcome.EXPIRED
        assert addresses(blue.name) == []
        assert default_via(blue.name) == []
        (gone,) = net.endpoints()
        assert gone.lease is not None and gone.lease.expired and gone.lease.lost
        assert gone.lease.address == lease.address
        assert gone.addresses == () and gone.gateways == ()
        rec = Tables(net.store).record(gone.id)
        assert rec is not None and rec.state == "expired"
        assert renew(net, now=lease.expires + 2, regain=False) == []
        lan.udhcpd(lease=120)  # a server again: the endpoint starts over from DISCOVER
        (c4,) = net.renew()
        assert c4.outcome is LeaseOutcome.REGAINED
        assert c4.new is not None and c4.new.address == lease.address  # asked for it
        assert addresses(blue.name) == [str(lease.address)]
        (back,) = net.endpoints()
        assert back.lease == c4.new and not back.lease.expired
        net.detach(back)
        assert no_links_left(blue.name)


def test_real_time_short_lease_kept_alive_by_the_keeper(lan: Lan, netns_factory: Any) -> None:
    from macvlan import LeaseKeeper

    lan.udhcpd(lease=4, min_lease=1)
    blue = netns_factory("mvle")
    with dhcp_net(lan) as net:
        ep = net.attach(blue)
        assert ep.lease and ep.lease.lease_time == 4
        with LeaseKeeper(net) as keeper:
            time.sleep(5.5)  # past the first lease's expiry
        assert any(c.outcome is LeaseOutcome.RENEWED for c in keeper.changes), keeper.changes
        (now_ep,) = net.endpoints()
        assert now_ep.lease is not None and now_ep.lease.expires > ep.lease.expires
        assert addresses(blue.name) == [str(ep.lease.address)]
        net.detach(now_ep)


def test_nak_at_renewal_then_a_new_address(lan: Lan, netns_factory: Any) -> None:
    first = lan.dnsmasq()
    blue = netns_factory("mvle")
    with dhcp_net(lan) as net:
        assert net.attach(blue).lease
        first.stop()
        lan.dnsmasq(range_="10.77.0.210,10.77.0.220")  # a new server: the old address is not its
        (change,) = net.renew(force=True)
        assert change.outcome is LeaseOutcome.CHANGED and "NAK" in change.detail
        assert change.new is not None
        assert change.new.address.ip in ipaddress.ip_network("10.77.0.208/28")
        assert addresses(blue.name) == [str(change.new.address)]
        net.detach(net.endpoints()[0])


def test_offered_address_in_use_is_declined_and_nothing_is_left(
    lan: Lan, netns_factory: Any
) -> None:
    mac = MacAddress("02:77:00:00:00:60")
    server = lan.dnsmasq(f"--dhcp-host={mac},10.77.0.60")
    squatter, blue = netns_factory("mvle"), netns_factory("mvle")
    with (
        Network.create(
            "squat", parent="p0", netns=lan.host, store=lan.tmp / "store.db", subnet="10.77.0.0/24"
        ) as other,
        dhcp_net(lan) as net,
    ):
        other.attach(squatter, ip="10.77.0.60")  # another host on the LAN holds it
        with pytest.raises(LeaseDeclined, match=r"10\.77\.0\.60"):
            net.attach(blue, mac=mac)
        assert no_links_left(blue.name)
        assert net.endpoints() == []
        log = server.wait_for(
            lambda: "DHCPDECLINE" in server.log.read_text() and server.log.read_text()
        )
        assert "DHCPDECLINE" in log
        assert server.lease_for(mac) is None
        other.detach(other.endpoints()[0])
    store_clean(lan.tmp / "store.db")


def test_no_server_times_out_and_leaves_nothing(lan: Lan, netns_factory: Any) -> None:
    blue = netns_factory("mvle")
    with dhcp_net(lan, dhcp_timeout=1.5) as net:
        t0 = time.monotonic()
        with pytest.raises(LeaseTimeout, match="no DHCP server answered"):
            net.attach(blue)
        assert time.monotonic() - t0 < 4
        assert no_links_left(blue.name)
        assert net.endpoints() == []
    store_clean(lan.tmp / "store.db")


def test_lease_outside_the_given_subnet_is_refused_and_released(
    lan: Lan, netns_factory: Any
) -> None:
    server = lan.dnsmasq()
    blue = netns_factory("mvle")
    with dhcp_net(lan, subnet="10.99.0.0/24") as net:
        with pytest.raises(Exception, match="outside the network's subnets"):
            net.attach(blue)
        assert no_links_left(blue.name)
        time.sleep(0.3)
        assert server.lease_lines() == []  # the lease went back with a RELEASE


# -- IPv6 from router advertisements --------------------------------------------------------
@pytest.mark.parametrize("router", ["dnsmasq", "radvd"])
def test_slaac_address_and_default_route(lan: Lan, netns_factory: Any, router: str) -> None:
    if router == "dnsmasq":
        lan.dnsmasq(ra=True)
    else:
        lan.udhcpd()
        lan.radvd()
    blue = netns_factory("mvle")
    with dhcp_net(lan, ipv6="ra", ra_timeout=20) as net:
        ep = net.attach(blue)
        v6 = [a for a in ep.addresses if a.version == 6]
        assert len(v6) == 1
        expected = ipaddress.IPv6Address(b"\xfd\x77" + bytes(6) + ep.mac.modified_eui64())
        assert v6[0] == ipaddress.IPv6Interface(f"{expected}/64")
        assert str(v6[0]) in v6_globals(blue.name, "eth0")
        routers = default_via(blue.name, "-6")
        assert routers and routers[0].startswith("fe80::")
        assert any(str(g) == routers[0] for g in ep.gateways)
        net.detach(ep)


def test_stable_privacy_address_comes_back_after_reattach(lan: Lan, netns_factory: Any) -> None:
    lan.dnsmasq(ra=True)
    blue = netns_factory("mvle")
    with dhcp_net(lan, ipv6="ra", slaac="stable-privacy", ra_timeout=20) as net:
        ep = net.attach(blue)
        (v6,) = [a for a in ep.addresses if a.version == 6]
        eui = ipaddress.IPv6Address(b"\xfd\x77" + bytes(6) + ep.mac.modified_eui64())
        assert v6.ip != eui and v6.network == ipaddress.IPv6Network("fd77::/64")
        assert str(v6) in v6_globals(blue.name, "eth0")
        net.detach(ep)
        again = net.attach(blue)  # a new MAC, the same name: the same secret
        assert again.mac != ep.mac
        assert [a for a in again.addresses if a.version == 6] == [v6]
        net.detach(again)


def test_accept_ra_0_keeps_router_advertisements_away(lan: Lan, netns_factory: Any) -> None:
    lan.dnsmasq(ra=True)
    plain, guarded = netns_factory("mvle"), netns_factory("mvle")
    with dhcp_net(lan) as net:  # no ipv6="ra": kernel defaults, RAs taken
        e1 = net.attach(plain)
        e2 = net.attach(guarded, sysctls={"net.ipv6.conf.IFNAME.accept_ra": 0})
        end = time.monotonic() + 20  # SLAAC took up to 15 s here
        while not v6_globals(plain.name, "eth0") and time.monotonic() < end:
            time.sleep(0.1)
        assert v6_globals(plain.name, "eth0"), "the control endpoint never saw an RA"
        time.sleep(0.5)
        assert v6_globals(guarded.name, "eth0") == []
        assert default_via(guarded.name, "-6") == []
        net.detach(e1)
        net.detach(e2)


def test_static_ipv6_network_turns_ra_off(lan: Lan, netns_factory: Any) -> None:
    lan.dnsmasq(ra=True)
    blue, ctl = netns_factory("mvle"), netns_factory("mvle")
    store = lan.tmp / "store.db"
    with (
        Network.create(
            "lan",
            parent="p0",
            netns=lan.host,
            store=store,
            subnets=[{"subnet": "10.77.0.0/24"}, {"subnet": "fd78::/64"}],
        ) as net,
        Network.create(
            "ctl", parent="p0", netns=lan.host, store=store, subnet="10.77.1.0/24"
        ) as ctl_net,
    ):
        ep = net.attach(blue, nodad=True)
        c = ctl_net.attach(ctl)
        end = time.monotonic() + 20  # SLAAC took up to 15 s here
        while not v6_globals(ctl.name, "eth0") and time.monotonic() < end:
            time.sleep(0.1)
        assert v6_globals(ctl.name, "eth0")
        assert [a for a in v6_globals(blue.name, "eth0") if a.startswith("fd77")] == []
        net.detach(ep)
        ctl_net.detach(c)


# -- sysctls ----------------------------------------------------------------------------
def test_sysctls_written_inside_the_endpoint_namespace(lan: Lan, netns_factory: Any) -> None:
    blue = netns_factory("mvle")
    with Network.create(
        "lan",
        parent="p0",
        netns=lan.host,
        store=lan.tmp / "store.db",
        subnet="10.77.0.0/24",
        sysctls={"net.ipv4.conf.IFNAME.arp_ignore": 1},
    ) as net:
        ep = net.attach(
            blue,
            sysctls={
                "net.ipv4.conf.IFNAME.arp_announce": "2",
                "net.ipv6.conf.IFNAME.hop_limit": 33,
                "net.ipv4.neigh.IFNAME.retrans_time_ms": 700,
            },
        )

        def read(key: str) -> str:
            out = subprocess.run(
                ["ip", "netns", "exec", blue.name, "cat", f"/proc/sys/net/{key}"],
                capture_output=True,
                text=True,
                check=True,
            )
            return out.stdout.strip()

        assert read("ipv4/conf/eth0/arp_ignore") == "1"
        assert read("ipv4/conf/eth0/arp_announce") == "2"
        assert read("ipv6/conf/eth0/hop_limit") == "33"
        assert read("ipv4/neigh/eth0/retrans_time_ms") == "700"
        # and not in the namespace the parent lives in, nor in the test's own
        net.detach(ep)


@pytest.mark.parametrize(
    ("sysctls", "error", "text"),
    [
        ({"net.ipv4.ip_forward": 1}, SysctlError, "not allowed"),
        ({"net.ipv4.conf.all.forwarding": 1}, SysctlError, "not allowed"),
        ({"net.ipv4.conf.eth0.forwarding": 1}, SysctlError, "not allowed"),
        ({"kernel.hostname": "x"}, SysctlError, "not allowed"),
        ({"net.ipv4.conf.IFNAME.no_such_thing": 1}, SysctlNotFound, "does not exist"),
        ({"net.ipv4.neigh.IFNAME.gc_thresh1": 1}, SysctlNotFound, "namespace-wide"),
        ({"net.ipv6.conf.IFNAME.addr_gen_mode": 9}, SysctlValueRejected, "rejects value '9'"),
        ({"net.ipv6.conf.IFNAME.mtu": 100}, SysctlValueRejected, "rejects"),
        ({"net.ipv4.conf.IFNAME.arp_ignore": "abc"}, SysctlValueRejected, "rejects"),
        ({"net.ipv4.conf.IFNAME.mc_forwarding": 1}, SysctlValueRejected, "read-only"),
        ({"net.ipv4.conf.IFNAME.arp_ignore": [1]}, SysctlError, "must be a str"),
    ],
)
def test_bad_sysctls_refused_before_any_link_exists(
    lan: Lan, netns_factory: Any, sysctls: dict[str, Any], error: type[Exception], text: str
) -> None:
    blue = netns_factory("mvle")
    store = lan.tmp / "store.db"
    with pytest.raises(error, match=text):
        Network.create(
            "bad", parent="p0", netns=lan.host, store=store, subnet="10.77.2.0/24", sysctls=sysctls
        )
    with Store(store) as st:
        assert st.networks() == []
    with Network.create(
        "lan", parent="p0", netns=lan.host, store=store, subnet="10.77.0.0/24"
    ) as net:
        host_links = ip_json("link", "show", netns=lan.host.name)
        with pytest.raises(error, match=text):
            net.attach(blue, sysctls=sysctls)
        assert no_links_left(blue.name)
        assert ip_json("link", "show", netns=lan.host.name) == host_links
        assert net.endpoints() == []


# -- asyncio front ----------------------------------------------------------------------
def test_asyncio_attach_renew_and_keep_without_blocking_the_loop(
    lan: Lan, netns_factory: Any
) -> None:
    import asyncio

    lan.dnsmasq()
    blue = netns_factory("mvle")

    async def main(net: Network) -> tuple[Any, list[Any], int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        ep = await network_aio.attach(net, blue)
        changes = await network_aio.renew(net, force=True)
        keeper = asyncio.ensure_future(network_aio.keep_leases(net))
        await asyncio.sleep(0.3)
        keeper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await keeper
        await network_aio.detach(net, ep)
        ticker.cancel()
        return ep, changes, ticks

    with dhcp_net(lan) as net:
        ep, changes, ticks = asyncio.run(main(net))
        assert ep.lease is not None
        assert [c.outcome for c in changes] == [LeaseOutcome.RENEWED]
        # the loop kept running while the attach (with its 0.3 s ARP probe) and the
        # 0.3 s of keeping went on: a blocked loop would count a handful of ticks
        assert ticks > 20
        assert no_links_left(blue.name)


def test_no_router_advertisement_times_out_and_releases_the_lease(
    lan: Lan, netns_factory: Any
) -> None:
    server = lan.dnsmasq()  # DHCP, but no RA on this LAN
    blue = netns_factory("mvle")
    with dhcp_net(lan, ipv6="ra", ra_timeout=1.5) as net:
        with pytest.raises(SlaacTimeout, match="no router advertisement"):
            net.attach(blue)
        assert no_links_left(blue.name)
        assert net.endpoints() == []
        assert server.wait_for(lambda: server.lease_lines() == [])  # RELEASEd on rollback
    store_clean(lan.tmp / "store.db")


def test_bad_lan_keywords_are_refused_before_anything(lan: Lan, netns_factory: Any) -> None:
    store = lan.tmp / "store.db"
    kw: dict[str, Any] = {"parent": "p0", "netns": lan.host, "store": store}
    with pytest.raises(ValueError, match="ipam must be"):
        Network.create("x", ipam="static", subnet="10.77.3.0/24", **kw)
    with pytest.raises(ValueError, match="ipv6 must be"):
        Network.create("x", ipam="dhcp", ipv6="slaac", **kw)
    with pytest.raises(ValueError, match="give no IPv6 subnet"):
        Network.create("x", ipam="dhcp", ipv6="ra", subnet="fd79::/64", **kw)
    with pytest.raises(ValueError, match="slaac must be"):
        Network.create("x", ipam="dhcp", slaac="random", **kw)
    with pytest.raises(ValueError, match="dhcp_timeout"):
        Network.create("x", ipam="dhcp", dhcp_timeout=0, **kw)
    with pytest.raises(Exception, match="needs a subnet"):
        Network.create("x", **kw)
    with Store(store) as st:
        assert st.networks() == []
    blue = netns_factory("mvle")
    with (
        Network.create("static", subnet="10.77.4.0/24", **kw) as net,
        pytest.raises(ValueError, match="need a DHCP network"),
    ):
        net.attach(blue, hostname="blue")
    with dhcp_net(lan) as net:
        with pytest.raises(ValueError, match="not a valid host name"):
            net.attach(blue, hostname="bad_name!")
        with pytest.raises(ValueError, match="2 to 255 bytes"):
            net.attach(blue, client_id=b"x")
        assert no_links_left(blue.name)


def test_host_shim_reaches_a_dhcp_endpoint(lan: Lan, netns_factory: Any) -> None:
    lan.dnsmasq()
    blue = netns_factory("mvle")
    with dhcp_net(lan, subnet="10.77.0.0/24") as net:
        net.host_shim("10.77.0.254")
        ep = net.attach(blue)
        assert ep.lease is not None
        dst = str(ep.lease.address.ip)
        routes = [r["dst"] for r in ip_json("route", "show", netns=lan.host.name)]
        assert dst in routes
        ping = ["ip", "netns", "exec", lan.host.name, "ping", "-c1", "-W1", dst]
        assert subprocess.run(ping, capture_output=True, check=False).returncode == 0
        net.detach(ep)
        assert dst not in [r["dst"] for r in ip_json("route", "show", netns=lan.host.name)]
        net.remove()


def test_real_time_silent_server_the_keeper_lets_the_lease_expire(
    lan: Lan, netns_factory: Any
) -> None:
    from macvlan import LeaseKeeper

    server = lan.udhcpd(lease=4, min_lease=1)
    blue = netns_factory("mvle")
    with dhcp_net(lan) as net:
        ep = net.attach(blue)
        assert ep.lease is not None and ep.lease.lease_time == 4
        server.stop()
        with LeaseKeeper(net) as keeper:
            end = time.monotonic() + 20
            while time.monotonic() < end and not any(
                c.outcome is LeaseOutcome.EXPIRED for c in keeper.changes
            ):
                time.sleep(0.1)
        outcomes = [c.outcome for c in keeper.changes]
        assert outcomes[-1] is LeaseOutcome.EXPIRED, keeper.changes
        assert LeaseOutcome.FAILED in outcomes  # renewing, then rebinding, got no answer
        assert any("rebinding" in c.detail for c in keeper.changes)
        assert time.time() >= ep.lease.expires
        assert addresses(blue.name) == [] and default_via(blue.name) == []
        (gone,) = net.endpoints()
        assert gone.lease is not None and gone.lease.expired
        net.detach(gone, wait=False)
