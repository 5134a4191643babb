"""Networks live: the sandbox namespace (veth parent p0) plays the host, throw-away
namespaces play the containers.  ``ip -j`` and ``ping`` are the oracles."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ip_json, lan_network

import macvlan.network.shim as shim_module
from macvlan import MacAddress, NetlinkError, SlapQuadrant
from macvlan.errors import (
    EndpointNotFound,
    LinkExists,
    LinkNotFound,
    MacInUse,
    NamespaceNotFound,
    NetworkConfigError,
    NetworkExists,
    NetworkInUse,
    NetworkNotFound,
    ParentInUse,
)
from macvlan.network import Network
from macvlan.network.attach import Attach
from macvlan.network.ipam import AddressTaken, IpamError, PoolExhausted
from macvlan.network.store import Store

pytestmark = [
    pytest.mark.live,
]

ROOT = Path(__file__).resolve().parents[2]
SUBNET, GATEWAY = "10.30.0.0/24", "10.30.0.1"


# -- oracles -------------------------------------------------------------------------------
def macvlans(ns: str) -> list[dict[str, Any]]:
    links = ip_json("-d", "link", "show", netns=ns)
    return [
        link
        for link in links
        if link.get("linkinfo", {}).get("info_kind") in ("macvlan", "macvtap")
    ]


def links(ns: str) -> list[tuple[int, str, str]]:
    """(index, name, MAC) of every link: what a leak would change (carrier, which
    the veth peer's state moves on its own, left out)."""
    return sorted(
        (x["ifindex"], x["ifname"], x["address"]) for x in ip_json("link", "show", netns=ns)
    )


def addresses(ns: str, ifname: str) -> list[str]:
    out = ip_json("addr", "show", "dev", ifname, netns=ns)
    return [f"{a['local']}/{a['prefixlen']}" for a in out[0]["addr_info"] if a["scope"] != "link"]


def ping(ns: str, addr: str) -> bool:
    cmd = ["ip", "netns", "exec", ns, "ping", "-c1", "-W1", addr]
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


def store_is_empty(path: Path, name: str = "lan") -> None:
    with Store(path) as st:
        assert st.endpoints(name) == []
        assert st.used_addresses(name) == {}
        assert st.macs() == set()


def run_python(code: str, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def crashes(code: str, *args: str) -> None:
    """Run ``python -c CODE ARGS``, which must die with status 3 (a simulated crash)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 3, done.stderr


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "networks.db"


@pytest.fixture
def net(sandbox: Any, store: Path) -> Iterator[Network]:
    with lan_network(sandbox, store, SUBNET, GATEWAY) as network:
        yield network


# -- attach, reach, detach -----------------------------------------------------------------
def test_attach_several_containers_that_reach_each_other(
    net: Network, containers: Callable[[int], list[Any]]
) -> None:
    cs = containers(3)
    eps = [net.attach(c) for c in cs[:2]] + [net.attach(netns=cs[2].name)]
    assert len({str(ep.addresses[0]) for ep in eps}) == 3
    assert len({ep.mac for ep in eps}) == 3
    for c, ep in zip(cs, eps, strict=True):
        assert ep.netns == ep.namespace == c.name  # read back as written; the alias
        assert ep.ifname == "eth0" and ep.network == "lan"
        assert ep.mac.slap_quadrant is SlapQuadrant.AAI and ep.mac.is_unicast
        (link,) = macvlans(c.name)
        assert link["ifname"] == "eth0"
        assert link["address"] == str(ep.mac)
        assert link["ifindex"] == ep.index
        assert "UP" in link["flags"]
        assert link["linkinfo"]["info_data"]["mode"] == "bridge"
        assert addresses(c.name, "eth0") == [str(ep.addresses[0])]
        routes = ip_json("route", "show", "default", netns=c.name)
        assert [(r["gateway"], r["dev"]) for r in routes] == [(GATEWAY, "eth0")]
    assert ping(cs[0].name, str(eps[1].addresses[0].ip))
    assert ping(cs[2].name, str(eps[0].addresses[0].ip))
    assert {ep.id for ep in net.endpoints()} == {ep.id for ep in eps}
    net.detach(eps[1])
    assert macvlans(cs[1].name) == []
    assert not ping(cs[0].name, str(eps[1].addresses[0].ip))
    assert {ep.id for ep in net.endpoints()} == {eps[0].id, eps[2].id}


def test_namespace_by_name_requested_ip_and_mac_are_honoured(
    net: Network, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    ep = net.attach(c.name, ifname="lan0", ip="10.30.0.77", mac="02:11:22:33:44:55")
    assert ep.addresses[0].with_prefixlen == "10.30.0.77/24"
    (link,) = macvlans(c.name)
    assert (link["ifname"], link["address"]) == ("lan0", "02:11:22:33:44:55")


def test_mtu_and_mode_reach_the_link(
    sandbox: Any, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    with Network.create(
        "lan", "p0", SUBNET, mode="vepa", mtu=1400, store=store, netns=sandbox.ns
    ) as net:
        (c,) = containers(1)
        net.attach(c)
        (link,) = macvlans(c.name)
        assert link["mtu"] == 1400
        assert link["linkinfo"]["info_data"]["mode"] == "vepa"
        net.remove(force=True)


def test_host_shim_reaches_the_children(
    sandbox: Any, net: Network, containers: Callable[[int], list[Any]]
) -> None:
    c0, c1 = containers(2)
    before = net.attach(c0)
    assert not ping(sandbox.name, str(before.addresses[0].ip))  # the classic macvlan limit
    shim = net.host_shim("10.30.0.250")
    assert shim.addresses[0].with_prefixlen == "10.30.0.250/32"
    (link,) = macvlans(sandbox.name)
    assert link["linkinfo"]["info_data"]["mode"] == "bridge"
    after = net.attach(c1)  # attached after the shim: gets its route too
    for ep in (before, after):
        assert ping(sandbox.name, str(ep.addresses[0].ip))
    assert ping(c1.name, "10.30.0.250")
    assert net.host_shim("10.30.0.250").id == shim.id  # asking again returns it
    with pytest.raises(NetworkConfigError, match="already has a host shim"):
        net.host_shim("10.30.0.251")
    net.detach(after)
    routes = ip_json("route", "show", netns=sandbox.name)
    assert str(after.addresses[0].ip) not in {r["dst"] for r in routes}
    net.remove(force=True)
    assert macvlans(sandbox.name) == []
    assert macvlans(c0.name) == []


def test_an_endpoint_detached_while_the_shim_routes_gets_no_route(
    sandbox: Any,
    net: Network,
    containers: Callable[[int], list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every route the shim leaves via itself leads to an address a container
    record still holds."""
    stay, leave = (net.attach(c) for c in containers(2))
    real = shim_module.shim_route
    raced: list[object] = []

    def detach_first(ctx: Any, shim: Any, addr: Any, *, add: bool) -> bool:
        # the shim listed both endpoints; `leave` is detached (its routes dropped,
        # none there yet) just before the shim adds the route to its address
        if add and addr == leave.addresses[0].ip and not raced:
            raced.append(addr)
            net.detach(leave)
        return real(ctx, shim, addr, add=add)

    monkeypatch.setattr(shim_module, "shim_route", detach_first)
    shim = net.host_shim("10.30.0.250")
    assert raced, "the race was not staged: the shim routed no endpoint"
    assert [ep.id for ep in net.endpoints()] == [stay.id]
    routed = {r["dst"] for r in ip_json("route", "show", "dev", shim.ifname, netns=sandbox.name)}
    assert routed == {str(stay.addresses[0].ip)}


def test_reopened_from_a_new_process_and_detached_there(
    net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    c0, c1 = containers(2)
    eps = [net.attach(c0), net.attach(c1)]
    code = """
import json, sys
from macvlan.network import Network
net = Network.open("lan", sys.argv[1])
seen = [(ep.namespace, str(ep.mac), [str(a) for a in ep.addresses]) for ep in net.endpoints()]
target = [ep for ep in net.endpoints() if ep.namespace == sys.argv[2]][0]
net.detach(target)
print(json.dumps({"seen": seen, "left": [ep.namespace for ep in net.endpoints()]}))
"""
    out = run_python(code, str(store), c0.name)
    assert sorted(map(tuple, [s[:2] for s in out["seen"]])) == sorted(
        (ep.namespace, str(ep.mac)) for ep in eps
    )
    assert out["left"] == [c1.name]
    assert macvlans(c0.name) == []
    assert [ep.id for ep in net.endpoints()] == [eps[1].id]
    with pytest.raises(EndpointNotFound):
        net.detach(eps[0])


def test_six_processes_attaching_at_once_get_distinct_addresses_and_macs(
    net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    cs = containers(6)
    code = """
import json, sys
from macvlan.network import Network
with Network.open("lan", sys.argv[1]) as net:
    ep = net.attach(sys.argv[2])
print(json.dumps([str(ep.addresses[0]), str(ep.mac)]))
"""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(store), c.name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for c in cs
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert len({r[0] for r in results}) == 6
    assert len({r[1] for r in results}) == 6
    for c, (address, mac) in zip(cs, results, strict=True):
        (link,) = macvlans(c.name)
        assert link["address"] == mac
        assert addresses(c.name, "eth0") == [address]
    assert len(net.endpoints()) == 6


# -- IPAM through the network ---------------------------------------------------------------
def test_pool_exhaustion_leaves_nothing_behind(
    sandbox: Any, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    with Network.create(
        "small",
        "p0",
        "10.31.0.0/29",
        "10.31.0.1",
        aux_addresses={"r": "10.31.0.6"},
        store=store,
        netns=sandbox.ns,
    ) as net:
        cs = containers(5)
        got = [str(net.attach(c).addresses[0].ip) for c in cs[:4]]
        assert got == ["10.31.0.2", "10.31.0.3", "10.31.0.4", "10.31.0.5"]
        with pytest.raises(PoolExhausted, match=r"10\.31\.0\.0/29"):
            net.attach(cs[4])
        assert macvlans(cs[4].name) == []
        assert len(net.endpoints()) == 4
        with Store(store) as st:
            assert len(st.used_addresses("small")[0]) == 4
        net.remove(force=True)


def test_requested_address_taken_is_refused(
    net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    c0, c1 = containers(2)
    net.attach(c0, ip="10.30.0.9")
    with pytest.raises(AddressTaken, match=r"10\.30\.0\.9"):
        net.attach(c1, ip="10.30.0.9")
    with pytest.raises(IpamError, match="gateway"):
        net.attach(c1, ip=GATEWAY)
    assert macvlans(c1.name) == []
    assert len(net.endpoints()) == 1


# -- failures roll back --------------------------------------------------------------------
@pytest.mark.parametrize("step", Attach.STEPS)
@pytest.mark.parametrize("when", ["before", "after"])
def test_failure_at_every_attach_step_leaves_nothing(
    step: str,
    when: str,
    sandbox: Any,
    net: Network,
    store: Path,
    containers: Callable[[int], list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c0, c1 = containers(2)
    shim = net.host_shim("10.30.0.250")  # so that add_shim_routes has work to do
    routes_before = ip_json("route", "show", netns=sandbox.name)
    links_before = links(sandbox.name)
    original = getattr(Attach, step)

    def failing(self: Attach) -> None:
        if when == "after":
            original(self)
        raise RuntimeError(f"injected {when} {step}")

    monkeypatch.setattr(Attach, step, failing)
    with pytest.raises(RuntimeError, match=f"injected {when} {step}"):
        net.attach(c0)
    assert links(c0.name) == links(c1.name)
    assert ip_json("route", "show", netns=sandbox.name) == routes_before
    assert links(sandbox.name) == links_before
    with Store(store) as st:
        assert [r.id for r in st.endpoints("lan")] == [shim.id]
        assert st.used_addresses("lan") == {0: {int(shim.addresses[0].ip)}}
        assert st.macs() == {int(shim.mac)}
    monkeypatch.undo()
    assert net.attach(c0).addresses  # and the network still works


def test_rename_clash_rolls_back(
    sandbox: Any, net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    subprocess.run(
        ["ip", "-n", c.name, "link", "add", "eth0", "type", "veth", "peer", "name", "v1"],
        check=True,
    )
    before = links(c.name)
    with pytest.raises(LinkExists):
        net.attach(c, ifname="eth0")
    assert links(c.name) == before  # no mvtmp... left
    store_is_empty(store)


def test_given_mac_already_in_use_is_refused_before_anything(
    sandbox: Any, net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    c0, c1 = containers(2)
    parent_mac = ip_json("link", "show", "p0", netns=sandbox.name)[0]["address"]
    peer_mac = ip_json("link", "show", "p1", netns=sandbox.name)[0]["address"]
    for mac in (parent_mac, peer_mac):
        with pytest.raises(MacInUse, match=mac):
            net.attach(c0, mac=mac)
    ep = net.attach(c0, mac="02:aa:00:00:00:01")
    with pytest.raises(MacInUse, match="02:aa:00:00:00:01"):
        net.attach(c1, mac=str(ep.mac))
    assert macvlans(c1.name) == []


def test_missing_namespace_or_parent(
    sandbox: Any, net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    with pytest.raises(NamespaceNotFound):
        net.attach("mvt-no-such-namespace")
    store_is_empty(store)
    (c,) = containers(1)
    sandbox.rt.delete_link("p1")  # takes p0 with it
    with pytest.raises(LinkNotFound):
        net.attach(c)
    assert macvlans(c.name) == []
    store_is_empty(store)


# -- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "quoted"),
    [
        ({"mode": "turbo"}, ValueError, "'turbo'"),
        ({"mode": "source"}, NetworkConfigError, "source"),
        ({"gateway": "10.99.0.1"}, IpamError, "10.99.0.1 is outside subnet"),
        ({"gateway": "10.30.0.x"}, IpamError, "'10.30.0.x'"),
        ({"subnet": "10.30.0.0/33"}, IpamError, "10.30.0.0/33"),
        ({"subnet": "10.30.0.1/24"}, IpamError, "host bits"),
        ({"ip_range": "10.31.0.0/28"}, IpamError, "not inside subnet"),
        ({"aux_addresses": {"r": "192.168.0.1"}}, IpamError, "192.168.0.1 is outside"),
        (
            {
                "subnet": None,
                "gateway": None,
                "subnets": [{"subnet": "10.30.0.0/24"}, {"subnet": "10.30.0.128/25"}],
            },
            IpamError,
            "overlap",
        ),
        ({"mtu": 9000}, NetworkConfigError, "exceeds the MTU 1500"),
        ({"mtu": 10}, NetworkConfigError, "68..65535"),
        ({"parent": "nope0"}, NetworkConfigError, "'nope0'"),
        ({"parent": "p0.4095"}, ValueError, "4095"),
        ({"name": "bad name!"}, NetworkConfigError, "'bad name!'"),
    ],
)
def test_bad_network_settings_fail_before_anything_is_created(
    sandbox: Any, store: Path, kwargs: dict[str, Any], error: type[Exception], quoted: str
) -> None:
    args: dict[str, Any] = {
        "name": "lan",
        "parent": "p0",
        "subnet": SUBNET,
        "gateway": GATEWAY,
        "store": store,
        "netns": sandbox.ns,
    }
    args.update(kwargs)
    links_before = links(sandbox.name)
    with pytest.raises(error) as info:
        Network.create(**args)
    assert isinstance(info.value, ValueError)
    assert quoted in str(info.value)
    assert links(sandbox.name) == links_before
    with Store(store) as st:
        assert st.networks() == []


def test_conflicts_with_existing_networks(sandbox: Any, net: Network, store: Path) -> None:
    with pytest.raises(NetworkExists, match="'lan' already exists"):
        Network.create("lan", "p0", "10.40.0.0/24", store=store, netns=sandbox.ns)
    with pytest.raises(IpamError, match=re.escape("overlaps 10.30.0.0/24 of network 'lan'")):
        Network.create("other", "p1", "10.30.0.0/16", store=store, netns=sandbox.ns)
    with pytest.raises(ParentInUse, match="passthru"):
        Network.create("pt", "p0", "10.41.0.0/24", mode="passthru", store=store, netns=sandbox.ns)
    assert [n.name for n in Network.list(store)] == ["lan"]


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"ifname": "a-name-longer-than-15"}, "15"),
        ({"ip": "10.30.0.999"}, "'10.30.0.999'"),
        ({"ip": "10.77.0.2"}, "10.77.0.2 is in none of the subnets"),
        ({"mac": "01:00:5e:00:00:01"}, "not a unicast"),
        ({"mac": "zz:zz"}, "zz:zz"),
    ],
)
def test_bad_attach_arguments_fail_before_anything(
    net: Network,
    store: Path,
    containers: Callable[[int], list[Any]],
    kwargs: dict[str, Any],
    quoted: str,
) -> None:
    (c,) = containers(1)
    with pytest.raises(ValueError) as info:
        net.attach(c, **kwargs)
    assert quoted in str(info.value)
    assert macvlans(c.name) == []
    store_is_empty(store)


# -- removal, vanished namespaces, crashes ---------------------------------------------------
def test_remove_is_refused_while_endpoints_exist(
    sandbox: Any, net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    cs = containers(2)
    for c in cs:
        net.attach(c)
    net.host_shim()
    with pytest.raises(NetworkInUse, match="2 endpoint"):
        net.remove()
    assert len(net.endpoints()) == 2
    net.remove(force=True)
    for ns in [sandbox.name] + [c.name for c in cs]:
        assert macvlans(ns) == []
    with pytest.raises(NetworkNotFound):
        Network.open("lan", store)
    assert Network.list(store) == []


def test_detach_after_the_namespace_vanished_cleans_the_record(
    net: Network, store: Path, netns_factory: Callable[..., Any]
) -> None:
    c = netns_factory("mvc")
    ep = net.attach(c)
    subprocess.run(["ip", "netns", "del", c.name], check=True)
    c.close()
    net.detach(ep)
    store_is_empty(store)


_CRASH = """
import os, sys
from macvlan.network.attach import Attach
from macvlan.network import Network
step = sys.argv[3]
original = getattr(Attach, step)
def crash(self):
    original(self)
    os._exit(3)   # die right after this step, leaving the rest undone
setattr(Attach, step, crash)
Network.open("lan", sys.argv[1]).attach(sys.argv[2])
"""


@pytest.mark.parametrize("step", ["allocate", "create_link", "add_routes"])
def test_a_crash_during_attach_is_recovered_on_the_next_open(
    step: str, net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    crashes(_CRASH, str(store), c.name, step)
    with Store(store) as st:
        assert len(st.endpoints("lan")) == 1  # the pending row is there
    assert len(macvlans(c.name)) == (0 if step == "allocate" else 1)
    with Network.open("lan", store) as again:
        assert again.endpoints() == []
    assert macvlans(c.name) == []
    store_is_empty(store)


def test_a_crash_during_detach_is_recovered_on_the_next_open(
    net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    net.attach(c)
    code = """
import os, sys
from macvlan.network import Network, lifecycle
lifecycle.delete_link = lambda *a, **k: os._exit(3)
net = Network.open("lan", sys.argv[1])
net.detach(net.endpoints()[0])
"""
    crashes(code, str(store))
    assert len(macvlans(c.name)) == 1
    Network.open("lan", store).close()
    assert macvlans(c.name) == []
    store_is_empty(store)


def test_reconcile_drops_records_without_links_and_links_without_records(
    net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    c0, c1 = containers(2)
    gone = net.attach(c0)
    kept = net.attach(c1)
    subprocess.run(["ip", "-n", c0.name, "link", "del", "eth0"], check=True)
    host = net.netns_label or ""
    # a stray carries this store's proof for an endpoint that has no record; a link of
    # the same group without the proof is not ours to delete
    proof = f"macvlan:{net.store.id}:lan:999999"
    for name, mac in (("stray", "02:de:ad:00:00:01"), ("guess", "02:de:ad:00:00:02")):
        add = f"link add {name} link p0 address {mac} group {net.link_group} type macvlan"
        subprocess.run(["ip", "-n", host, *add.split()], check=True)
        if name == "stray":
            subprocess.run(["ip", "-n", host, "link", "set", name, "alias", proof], check=True)
        subprocess.run(["ip", "-n", host, "link", "set", name, "netns", c1.name], check=True)
    assert len(macvlans(c1.name)) == 3
    result = net.reconcile()
    assert (result.records_removed, result.links_deleted) == (1, 1)
    assert sorted(link["ifname"] for link in macvlans(c1.name)) == ["eth0", "guess"]
    assert [ep.id for ep in net.endpoints()] == [kept.id]
    assert gone.id not in {ep.id for ep in net.endpoints()}


# -- modes and families -----------------------------------------------------------------
def test_passthru_takes_the_parent_for_one_endpoint(
    sandbox: Any, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    parent_mac = ip_json("link", "show", "p0", netns=sandbox.name)[0]["address"]
    with Network.create(
        "pt", "p0", "10.32.0.0/24", mode="passthru", store=store, netns=sandbox.ns
    ) as net:
        with pytest.raises(ParentInUse, match="passthru"):
            Network.create("b", "p0", "10.33.0.0/24", store=store, netns=sandbox.ns)
        c0, c1 = containers(2)
        with pytest.raises(NetworkConfigError, match="parent"):
            net.attach(c0, mac="02:00:00:00:00:09")
        ep = net.attach(c0)
        assert ep.mac == MacAddress(parent_mac)
        (link,) = macvlans(c0.name)
        assert link["linkinfo"]["info_data"]["mode"] == "passthru"
        with pytest.raises(ParentInUse, match="one endpoint"):
            net.attach(c1)
        assert macvlans(c1.name) == []
        with pytest.raises(NetworkConfigError, match="passthru"):
            net.host_shim()
        net.detach(ep)
        net.remove()


def test_dual_stack_with_nodad(
    sandbox: Any, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    subnets = [
        {"subnet": "10.34.0.0/24", "gateway": "10.34.0.1"},
        {"subnet": "fd00:34::/64", "gateway": "fd00:34::1"},
    ]
    with Network.create("ds", "p0", subnets=subnets, store=store, netns=sandbox.ns) as net:
        c0, c1 = containers(2)
        e0 = net.attach(c0, nodad=True)
        e1 = net.attach(c1, ip=["10.34.0.50", "fd00:34::50"], nodad=True)
        assert [str(a) for a in e1.addresses] == ["10.34.0.50/24", "fd00:34::50/64"]
        info = ip_json("addr", "show", "dev", "eth0", netns=c0.name)[0]["addr_info"]
        v6 = [a for a in info if a["family"] == "inet6" and a["scope"] == "global"]
        assert [a["local"] for a in v6] == [str(e0.addresses[1].ip)]
        assert "tentative" not in v6[0] and "nodad" in v6[0]
        routes6 = ip_json("-6", "route", "show", "default", netns=c0.name)
        assert [r["gateway"] for r in routes6] == ["fd00:34::1"]
        assert e0.gateways == (ipaddress_of("10.34.0.1"), ipaddress_of("fd00:34::1"))
        assert ping(c0.name, "fd00:34::50")
        assert ping(c0.name, "10.34.0.50")
        net.remove(force=True)


def ipaddress_of(text: str) -> Any:
    import ipaddress

    return ipaddress.ip_address(text)


def test_ipv6_only_and_internal_networks_have_no_default_route(
    sandbox: Any, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    with Network.create(
        "v6", "p0", "fd00:35::/64", "fd00:35::1", internal=True, store=store, netns=sandbox.ns
    ) as net:
        (c,) = containers(1)
        ep = net.attach(c, nodad=True)
        assert ep.addresses[0].version == 6 and ep.gateways == ()
        assert ip_json("-6", "route", "show", "default", netns=c.name) == []
        v4 = ip_json("-4", "addr", "show", "dev", "eth0", netns=c.name)
        assert [a for link in v4 for a in link["addr_info"]] == []
        net.remove(force=True)


# -- VLAN parents --------------------------------------------------------------------------
def _kernel_has_8021q(sandbox: Any) -> bool:
    done = subprocess.run(
        [
            "ip",
            "-n",
            sandbox.name,
            "link",
            "add",
            "link",
            "p0",
            "name",
            "probe.9",
            "type",
            "vlan",
            "id",
            "9",
        ],
        capture_output=True,
        check=False,
    )
    subprocess.run(
        ["ip", "-n", sandbox.name, "link", "del", "probe.9"], capture_output=True, check=False
    )
    return done.returncode == 0


def test_vlan_parent_refused_by_the_kernel_leaves_nothing(sandbox: Any, store: Path) -> None:
    if _kernel_has_8021q(sandbox):
        pytest.skip("the kernel has 8021q: the refusal path cannot be shown here")
    links_before = links(sandbox.name)
    with pytest.raises(NetlinkError) as info:
        Network.create("v50", "p0.50", "10.36.0.0/24", store=store, netns=sandbox.ns)
    assert info.value.errno == errno.EOPNOTSUPP
    assert "8021q" in str(info.value)
    assert links(sandbox.name) == links_before
    with Store(store) as st:
        assert st.networks() == [] and st.vlans() == []


def test_vlan_parent_is_created_and_removed_with_the_last_network(
    sandbox: Any, store: Path
) -> None:
    if not _kernel_has_8021q(sandbox):
        pytest.skip("kernel lacks 8021q")
    a = Network.create("v50a", "p0.50", "10.37.0.0/24", store=store, netns=sandbox.ns)
    b = Network.create("v50b", "p0.50", "10.38.0.0/24", store=store, netns=sandbox.ns)
    (link,) = ip_json("-d", "link", "show", "p0.50", netns=sandbox.name)
    assert link["linkinfo"]["info_data"]["id"] == 50
    a.remove()
    assert ip_json("link", "show", "p0.50", netns=sandbox.name)
    b.remove()
    done = subprocess.run(
        ["ip", "-n", sandbox.name, "link", "show", "p0.50"], capture_output=True, check=False
    )
    assert done.returncode != 0


def test_a_random_mac_the_kernel_finds_on_the_parent_is_drawn_again(
    sandbox: Any,
    net: Network,
    containers: Callable[[int], list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A MAC on another macvlan of the parent, in a namespace the store does not know:
    the kernel refuses it (EADDRINUSE) and attach draws another."""
    from macvlan import macalloc

    c0, c1 = containers(2)
    taken = "02:00:00:be:ef:01"
    subprocess.run(
        ["ip", "-n", sandbox.name, *f"link add other link p0 address {taken} type macvlan".split()],
        check=True,
    )
    subprocess.run(["ip", "-n", sandbox.name, "link", "set", "other", "netns", c1.name], check=True)
    subprocess.run(["ip", "-n", c1.name, "link", "set", "other", "up"], check=True)
    original = macalloc.MacAllocator.allocate
    draws: list[MacAddress] = []

    def first_the_taken_one(self: macalloc.MacAllocator) -> MacAddress:
        mac = MacAddress(taken) if not draws else original(self)
        draws.append(mac)
        return mac

    monkeypatch.setattr(macalloc.MacAllocator, "allocate", first_the_taken_one)
    ep = net.attach(c0)
    assert draws[0] == MacAddress(taken) and len(draws) == 2
    assert ep.mac == draws[1]
    (link,) = macvlans(c0.name)
    assert link["address"] == str(ep.mac)
    with Store(net.store.path) as st:
        assert st.macs() == {int(ep.mac)}


def test_netns_by_name_list_and_detach_waiting_for_the_kernel(
    sandbox: Any, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    with Network.create("byname", "p0", "10.39.0.0/24", store=store, netns=sandbox.name) as net:
        assert net.netns_label == sandbox.name
        assert net.netns is not None  # the open namespace, as Connection.netns is
        assert net.netns.fd >= 0 and net.netns.path == net.host.netns.path
        assert [(n.name, n.parent, str(n.subnet)) for n in Network.list(store)] == [
            ("byname", "p0", "10.39.0.0/24")
        ]
        (c,) = containers(1)
        ep = net.attach(c)
        net.detach(ep, wait=True)
        assert macvlans(c.name) == []
        store_is_empty(store, "byname")
        net.remove()


_CRASH_SHIM = """
import os, sys
from macvlan.network import Network
net = Network.open("lan", sys.argv[1])
original = net.host.set_link
def crash(*a, **k):
    original(*a, **k)
    os._exit(3)   # the shim exists and is up; its record is still pending
net.host.set_link = crash
net.host_shim("10.30.0.250")
"""


def test_a_crash_while_making_the_shim_is_recovered(
    sandbox: Any, net: Network, store: Path
) -> None:
    crashes(_CRASH_SHIM, str(store))
    assert len(macvlans(sandbox.name)) == 1
    with Network.open("lan", store) as again:
        assert again.shim is None
    assert macvlans(sandbox.name) == []
    store_is_empty(store)


_CRASH_REMOVE = """
import os, sys
from macvlan.network import Network
net = Network.open("lan", sys.argv[1])
calls = []
from macvlan.network import lifecycle
original = lifecycle.detach_row
def crash(ctx, row, wait=False):
    if calls:
        os._exit(3)   # half the endpoints detached, the network still recorded
    calls.append(row)
    return original(ctx, row, wait)
lifecycle.detach_row = crash
net.remove(force=True)
"""


def test_a_crash_during_remove_is_finished_by_the_next_open(
    sandbox: Any, net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    cs = containers(3)
    for c in cs:
        net.attach(c)
    crashes(_CRASH_REMOVE, str(store))
    assert sum(len(macvlans(c.name)) for c in cs) == 2
    assert Network.list(store) == []  # a network being removed is not listed
    with pytest.raises(NetworkNotFound, match="half-removed"):
        Network.open("lan", store)
    assert sum(len(macvlans(c.name)) for c in cs) == 0
    with Store(store) as st:
        assert st.networks() == [] and st.macs() == set()


def test_an_abandoned_creation_is_undone_by_the_next_open(sandbox: Any, store: Path) -> None:
    from dataclasses import replace

    from macvlan.network.store import NetworkState

    with Network.create("half", "p0", "10.42.0.0/24", store=store, netns=sandbox.ns) as net:
        row = net._row
    with Store(store) as st:
        st.delete_network("half")
        st.add_network(replace(row, state=NetworkState.CREATING, owner="1:1"))
    with pytest.raises(NetworkNotFound, match="half-created"):
        Network.open("half", store)
    with Store(store) as st:
        assert st.networks() == []


def test_a_network_whose_host_namespace_vanished_can_still_be_removed(
    netns_factory: Callable[..., Any], store: Path, containers: Callable[[int], list[Any]]
) -> None:
    host = netns_factory("mvh")
    veth = ["link", "add", "p0", "type", "veth", "peer", "name", "p1"]
    subprocess.run(["ip", "-n", host.name, *veth], check=True)
    subprocess.run(["ip", "-n", host.name, "link", "set", "p0", "up"], check=True)
    net = Network.create("gone", "p0", "10.43.0.0/24", store=store, netns=host)
    (c,) = containers(1)
    net.attach(c)
    net.host_shim()
    net.close()
    subprocess.run(["ip", "netns", "del", host.name], check=True)
    host.close()
    deadline = time.monotonic() + 10
    while macvlans(c.name) and time.monotonic() < deadline:  # the kernel dismantles
        time.sleep(0.05)  # the namespace, its parent and so the parent's macvlans
    assert macvlans(c.name) == []
    with Network.open("gone", store) as again:  # the record without a link is dropped
        assert again.endpoints() == []
        again.remove(force=True)
    assert macvlans(c.name) == []
    with Store(store) as st:
        assert st.networks() == [] and st.macs() == set()
