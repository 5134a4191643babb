"""Networks you can trust: the ten failures of issue 13, each reproduced live.

Throw-away namespaces only; ``ip -j`` is the oracle.  The sandbox namespace (veth
parent p0) plays the host, other throw-away namespaces the containers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ip_json, lan_network

import macvlan
from macvlan import Namespace
from macvlan.network import Network, NetworkConfigError, NetworkInUse, NetworkNotFound
from macvlan.network import aio as network_aio
from macvlan.network.ipam import Subnet
from macvlan.network.nsref import PIN_ROOT
from macvlan.network.store import EndpointState, NetworkState, Store

pytestmark = [
    pytest.mark.live,
]

ROOT = Path(__file__).resolve().parents[2]
SUBNET, GATEWAY = "10.71.0.0/24", "10.71.0.1"


# -- oracles -------------------------------------------------------------------------------
def macvlans(ns: str) -> list[dict[str, Any]]:
    return [
        link
        for link in ip_json("-d", "link", "show", netns=ns)
        if link.get("linkinfo", {}).get("info_kind") in ("macvlan", "macvtap")
    ]


def routes(ns: str, *args: str) -> list[dict[str, Any]]:
    return list(ip_json("route", "show", *args, netns=ns))


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=timeout,
    )


def pins(store_id: str) -> list[str]:
    try:
        return sorted(os.listdir(os.path.join(PIN_ROOT, store_id)))
    except FileNotFoundError:
        return []


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "networks.db"
    yield path
    if path.exists():  # pins are the store's; a failed test must not keep namespaces alive
        with Store(path) as st:
            sid = st.id
        for name in pins(sid):
            pin = os.path.join(PIN_ROOT, sid, name)
            subprocess.run(["umount", "-l", pin], capture_output=True, check=False)
            os.unlink(pin)


@pytest.fixture
def net(sandbox: Any, store: Path) -> Iterator[Network]:
    with lan_network(sandbox, store, SUBNET, GATEWAY) as network:
        yield network


# -- 1. identity by name -----------------------------------------------------------------
def test_two_stores_with_a_network_of_one_name_never_touch_each_others_links(
    sandbox: Any, tmp_path: Path, containers: Callable[[int], list[Any]]
) -> None:
    c0, c1 = containers(2)
    (tmp_path / "a").mkdir(mode=0o700)
    (tmp_path / "b").mkdir(mode=0o700)
    a = Network.create("lan", "p0", "10.72.0.0/24", store=tmp_path / "a/db", netns=sandbox.ns)
    b = Network.create("lan", "p0", "10.73.0.0/24", store=tmp_path / "b/db", netns=sandbox.ns)
    try:
        assert a.store.id != b.store.id and a.link_group != b.link_group
        ea = a.attach(c0)
        eb = b.attach(c1)
        a.host_shim(ifname="shima")
        b.host_shim(ifname="shimb")
        (la,) = macvlans(c0.name)
        assert la["ifalias"] == f"macvlan:{a.store.id}:lan:{ea.id}"
        before = sorted(x["ifname"] for x in macvlans(sandbox.name))
        assert before == ["shima", "shimb"]
        # each store's open (reconcile) and remove leave the other's links alone
        with Network.open("lan", tmp_path / "a/db") as again:
            assert again.reconcile().links_deleted == 0
        with Network.open("lan", tmp_path / "b/db") as again:
            assert [e.id for e in again.endpoints()] == [eb.id]
        a.remove(force=True)
        assert [x["ifname"] for x in macvlans(sandbox.name)] == ["shimb"]
        assert [x["ifalias"] for x in macvlans(c1.name)] == [f"macvlan:{b.store.id}:lan:{eb.id}"]
        assert macvlans(c0.name) == []
    finally:
        for n in (a, b):
            with pytest.MonkeyPatch.context(), contextlib.suppress(NetworkNotFound):
                Network.open("lan", n.store.path).remove(force=True)
            n.close()


def test_two_stores_side_by_side_under_concurrent_attach_detach_and_reopen(
    sandbox: Any, tmp_path: Path, containers: Callable[[int], list[Any]]
) -> None:
    cs = containers(4)
    paths = []
    for side in ("a", "b"):
        (tmp_path / side).mkdir(mode=0o700)
        path = tmp_path / side / "db"
        Network.create("lan", "p0", "10.74.0.0/24", store=path, netns=sandbox.ns).close()
        paths.append(path)
    code = """
import sys
from macvlan.network import Network
path, side, names = sys.argv[1], sys.argv[2], sys.argv[3:]
for round in range(6):
    with Network.open("lan", path) as net:   # every open reconciles
        eps = [net.attach(n, ifname=f"{side}{round}") for n in names]
        for ep in eps[::2]:
            net.detach(ep)
"""  # the same namespaces for both stores, interface names of their own
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(p), p.parent.name, *[c.name for c in cs]],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in paths
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    for path in paths:
        with Network.open("lan", path) as net:
            kept = net.endpoints()
            assert len(kept) == 6 * 2  # 6 rounds, 2 of 4 namespaces kept each round
            assert net.reconcile() == macvlan.Reconciled(0, 0)
    stores = {Store(p).id for p in paths}
    aliases = [link["ifalias"] for c in cs for link in macvlans(c.name)]
    assert len(aliases) == 2 * 12 and {a.split(":")[1] for a in aliases} == stores
    with Network.open("lan", paths[0]) as net:
        gone = net.store.id
        net.remove(force=True)
    left = [link["ifalias"] for c in cs for link in macvlans(c.name)]
    assert len(left) == 12 and gone not in {a.split(":")[1] for a in left}
    with Network.open("lan", paths[1]) as net:
        net.remove(force=True)
    assert sum(len(macvlans(c.name)) for c in cs) == 0


# -- 2. namespaces by identity and a path that lasts ---------------------------------------
def test_a_namespace_given_by_fd_is_pinned_and_its_endpoint_survives_other_processes(
    net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    with Namespace.open(c.name) as named, Namespace.from_fd(named.fd) as by_fd:
        ep = net.attach(by_fd)
    assert pins(net.store.id) == [f"net-{ep_ns_identity(c)}"]
    code = """
import json, sys
from macvlan.network import Network
with Network.open("lan", sys.argv[1]) as net:
    print(json.dumps([e.id for e in net.endpoints()]))
"""
    done = run_python(code, str(store))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"[{ep.id}]"  # not taken for dead in another process
    assert len(macvlans(c.name)) == 1
    net.detach(ep)
    assert pins(net.store.id) == []
    assert macvlans(c.name) == []


@contextlib.contextmanager
def held_namespace(
    netns_factory: Callable[..., Any],
) -> Iterator[tuple[Any, subprocess.Popen[bytes]]]:
    """A fresh namespace and a process inside it (``sleep``) that keeps it alive when
    its name is removed; the process is killed afterwards."""
    c = netns_factory("mvc")
    holder = subprocess.Popen(["ip", "netns", "exec", c.name, "sleep", "60"])
    try:
        time.sleep(0.3)
        yield c, holder
    finally:
        holder.kill()
        holder.wait()


def ep_ns_identity(c: Any) -> str:
    st = os.stat(f"/run/netns/{c.name}")
    return f"{st.st_dev}-{st.st_ino}"


def test_a_namespace_whose_name_was_removed_while_in_use_keeps_its_address(
    net: Network, store: Path, netns_factory: Callable[..., Any]
) -> None:
    with held_namespace(netns_factory) as (c, holder):
        ep = net.attach(c.name, ip="10.71.0.40")
        subprocess.run(["ip", "netns", "del", c.name], check=True)  # the name goes, not the ns
        with Network.open("lan", store) as again:
            assert [e.id for e in again.endpoints()] == [ep.id]  # still ACTIVE
            c2 = netns_factory("mvc")
            other = again.attach(c2, ip=None)
            assert other.addresses[0].ip != ep.addresses[0].ip  # never handed out twice
            again.detach(other)
            again.detach(ep)  # found through the process that holds it
            held = f"/proc/{holder.pid}/ns/net"
            with Namespace.from_path(held) as ns, ns.connect() as rt:
                assert [x.name for x in rt.links(kind="macvlan")] == []


def test_a_record_is_dropped_only_once_its_namespace_exists_nowhere(
    net: Network, store: Path, netns_factory: Callable[..., Any]
) -> None:
    with held_namespace(netns_factory) as (c, _):
        net.attach(c.name)
        subprocess.run(["ip", "netns", "del", c.name], check=True)
        assert net.reconcile().records_removed == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and net.reconcile().records_removed == 0:
        time.sleep(0.05)  # the namespace dies with its last process
    assert net.endpoints() == []


def test_a_network_created_with_a_namespace_by_fd_works_in_another_process_and_is_removed(
    sandbox: Any, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    with Namespace.from_fd(sandbox.ns.fd) as by_fd:
        net = Network.create("fdnet", "p0", "10.75.0.0/24", store=store, netns=by_fd)
    sid = net.store.id
    net.host_shim("10.75.0.250")
    net.close()
    assert len(pins(sid)) == 1
    code = """
import sys
from macvlan.network import Network
net = Network.open("fdnet", sys.argv[1])
net.attach(sys.argv[2])
net.remove(force=True)
"""
    done = run_python(code, str(store), c.name)
    assert done.returncode == 0, done.stderr
    assert macvlans(sandbox.name) == [] and macvlans(c.name) == []
    assert pins(sid) == []


# -- 3. a changed MAC --------------------------------------------------------------------------
def test_a_changed_mac_does_not_make_reconcile_delete_the_link(
    net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    ep = net.attach(c)
    subprocess.run(
        ["ip", "-n", c.name, "link", "set", "eth0", "address", "02:aa:bb:cc:dd:ee"], check=True
    )
    for step in ("eth0 down", "eth0 name lan7", "lan7 up"):  # and renamed, as users do
        subprocess.run(["ip", "-n", c.name, "link", "set", *step.split()], check=True)
    with Network.open("lan", store) as again:
        assert [e.id for e in again.endpoints()] == [ep.id]
    (link,) = macvlans(c.name)
    assert (link["address"], link["ifname"]) == ("02:aa:bb:cc:dd:ee", "lan7")
    net.detach(ep)  # found by ifindex and alias, not by its old MAC
    assert macvlans(c.name) == []


# -- 4. transactions ----------------------------------------------------------------------
_PAUSED_ATTACH = """
import sys, time
from macvlan.network import Network
from macvlan.network.attach import Attach
original = Attach.add_routes
def paused(self):
    original(self)
    print("paused", flush=True)
    sys.stdin.readline()          # the test removes the network meanwhile
Attach.add_routes = paused
net = Network.open("lan", sys.argv[1])
try:
    net.attach(sys.argv[2])
except Exception as exc:
    print(type(exc).__name__, exc, flush=True)
"""


def _paused_attach(store: Path, ns: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _PAUSED_ATTACH, str(store), ns],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "paused"
    return proc


def test_a_remove_sees_a_pending_endpoint_and_an_attach_cannot_commit_into_a_removal(
    net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    proc = _paused_attach(store, c.name)
    try:
        with pytest.raises(NetworkInUse, match="1 endpoint"):
            Network.open("lan", store).remove()  # a pending endpoint counts
        remover = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from macvlan.network import Network;"
                "Network.open('lan', sys.argv[1]).remove(force=True)",
                str(store),
            ],
            cwd=ROOT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with Store(store) as st:
                row = st.network("lan")
            if row is not None and row.state is NetworkState.REMOVING:
                break
            time.sleep(0.01)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        said = proc.stdout.read()
        assert "NetworkNotFound" in said and "being remov" in said
        assert remover.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
    assert macvlans(c.name) == []
    with Store(store) as st:
        assert st.networks() == [] and st.macs() == set()


def test_a_failed_remove_leaves_the_network_ready(
    net: Network, store: Path, containers: Callable[[int], list[Any]], monkeypatch: Any
) -> None:
    from macvlan.network import lifecycle

    cs = containers(2)
    for c in cs:
        net.attach(c)
    original = lifecycle.detach_row
    calls: list[int] = []

    def failing(ctx: Any, row: Any, wait: bool = False) -> bool:
        if calls:
            raise OSError("the second detach fails")
        calls.append(row.id)
        return original(ctx, row, wait)

    monkeypatch.setattr(lifecycle, "detach_row", failing)
    with pytest.raises(OSError, match="second detach"):
        net.remove(force=True)
    monkeypatch.undo()
    with Store(store) as st:
        row = st.network("lan")
        assert row is not None and row.state is NetworkState.READY and row.owner is None
    with Network.open("lan", store) as again:
        assert len(again.endpoints()) == 1
        again.attach(cs[0], ifname="eth1")  # usable again


# -- 5. reconcile and the host side ---------------------------------------------------------
def test_reconcile_removes_the_host_route_of_a_dead_endpoint(
    sandbox: Any, net: Network, store: Path, netns_factory: Callable[..., Any]
) -> None:
    net.host_shim("10.71.0.250")
    c = netns_factory("mvc")
    net.attach(c, ip="10.71.0.33")
    assert "10.71.0.33" in {r["dst"] for r in routes(sandbox.name)}
    subprocess.run(["ip", "netns", "del", c.name], check=True)
    c.close()
    with Network.open("lan", store) as again:
        assert again.endpoints() == []
        assert "10.71.0.33" not in {r["dst"] for r in routes(sandbox.name)}
        c2 = netns_factory("mvc")
        again.attach(c2, ip="10.71.0.33")  # no "File exists" for the re-issued address


# -- 6. two networks with gateways ----------------------------------------------------------
def test_a_container_joins_two_networks_with_gateways_the_first_wins(
    sandbox: Any, net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    c0, c1 = containers(2)
    with Network.create(
        "wan", "p0", "10.76.0.0/24", "10.76.0.1", store=store, netns=sandbox.ns
    ) as wan:
        net.attach(c0, ifname="eth0")
        wan.attach(c0, ifname="eth1")
        got = sorted((r.get("metric", 0), r["gateway"]) for r in routes(c0.name, "default"))
        assert got == [(0, GATEWAY), (1, "10.76.0.1")]
        wan.attach(c1, ifname="eth1", gateway_metric=50)
        net.attach(c1, ifname="eth0", gateway_metric=10)
        got = sorted((r.get("metric", 0), r["gateway"]) for r in routes(c1.name, "default"))
        assert got == [(10, GATEWAY), (50, "10.76.0.1")]
        with pytest.raises(NetworkConfigError, match="metric 10 already exists"):
            wan.attach(c1, ifname="eth2", gateway_metric=10)
        assert sorted(x["ifname"] for x in macvlans(c1.name)) == ["eth0", "eth1"]  # rolled back
        wan.remove(force=True)


# -- 7. no select() limit ---------------------------------------------------------------------
_MANY_FDS = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
held = [os.open("/dev/null", os.O_RDONLY) for _ in range(2000)]
assert max(held) > 1024
from macvlan.network import Network
with Network.open("lan", sys.argv[1]) as net:
    for _ in range(3):
        ep = net.attach(sys.argv[2])
        net.detach(ep)
    with net.host.watch() as mon:
        assert mon.fileno() > 1024
        mon.poll(0.01)
print("ok")
"""


def test_detach_and_monitor_work_with_2000_open_descriptors(
    net: Network, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    done = run_python(_MANY_FDS, str(store), c.name)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert macvlans(c.name) == []
    with Store(store) as st:
        assert st.endpoints("lan") == []


def test_no_select_select_in_the_library() -> None:
    for path in (ROOT / "macvlan").rglob("*.py"):
        assert "select.select(" not in path.read_text(), path


# -- 8. cancellation --------------------------------------------------------------------------
def test_a_doubly_cancelled_async_attach_leaves_nothing(
    net: Network, containers: Callable[[int], list[Any]]
) -> None:

    cs = containers(10)

    cancelled = 0

    async def main() -> None:
        nonlocal cancelled
        for i, c in enumerate(cs):
            task = asyncio.ensure_future(network_aio.attach(net, c))
            await asyncio.sleep(0.0003 * i)
            task.cancel()
            await asyncio.sleep(0.0003)
            task.cancel()
            try:
                ep = await task
            except asyncio.CancelledError:
                cancelled += 1
            else:  # the attach was done before the first cancel reached it
                await network_aio.detach(net, ep)

    asyncio.run(main())
    assert cancelled >= 5
    assert net.endpoints() == []
    assert all(macvlans(c.name) == [] for c in cs)


# -- 9. neighbours are told ---------------------------------------------------------------------
def _neigh(ns: str, ip: str) -> str | None:
    for entry in ip_json("neigh", "show", "dev", "r0", netns=ns):
        if entry.get("dst") == ip:
            return entry.get("lladdr")
    return None


def test_a_router_learns_the_new_mac_of_a_reused_address_without_traffic(
    sandbox: Any, store: Path, netns_factory: Callable[..., Any]
) -> None:
    router = netns_factory("mvr")
    ip = ["ip", "-n", sandbox.name]
    subprocess.run(
        [*ip, "link", "add", "r0", "link", "p0", "type", "macvlan", "mode", "bridge"], check=True
    )
    subprocess.run([*ip, "link", "set", "r0", "netns", router.name], check=True)
    rip = ["ip", "-n", router.name]
    subprocess.run([*rip, "addr", "add", "10.77.0.1/24", "dev", "r0"], check=True)
    subprocess.run([*rip, "addr", "add", "fd00:77::1/64", "dev", "r0", "nodad"], check=True)
    subprocess.run([*rip, "link", "set", "r0", "up"], check=True)
    # locktime 0: the router takes an announcement at once, not only a second after
    # its entry was last updated (the kernel's ARP/ND "first reply wins" window)
    for family in ("ipv4", "ipv6"):
        knob = f"/proc/sys/net/{family}/neigh/r0/locktime"
        cmd = ["ip", "netns", "exec", router.name, "sh", "-c", f"echo 0 > {knob}"]
        subprocess.run(cmd, check=True)
    subnets = [
        {"subnet": "10.77.0.0/24", "gateway": "10.77.0.1"},
        {"subnet": "fd00:77::/64", "gateway": "fd00:77::1"},
    ]
    with Network.create("lan", "p0", subnets=subnets, store=store, netns=sandbox.ns) as net:
        c0 = netns_factory("mvc")
        first = net.attach(c0, ip=["10.77.0.50", "fd00:77::50"], nodad=True)
        for addr in ("10.77.0.50", "fd00:77::50"):  # the router learns the first MAC
            ping = ["ip", "netns", "exec", router.name, "ping", "-c1", "-W1", addr]
            subprocess.run(ping, capture_output=True, check=True)
        assert _neigh(router.name, "10.77.0.50") == str(first.mac)
        net.detach(first)
        c1 = netns_factory("mvc")
        second = net.attach(c1, ip=["10.77.0.50", "fd00:77::50"], nodad=True)
        assert second.mac != first.mac
        deadline = time.monotonic() + 5
        seen: dict[str, str | None] = {}
        while time.monotonic() < deadline:  # no traffic: only the announcements
            seen = {a: _neigh(router.name, a) for a in ("10.77.0.50", "fd00:77::50")}
            if all(v == str(second.mac) for v in seen.values()):
                break
            time.sleep(0.05)
        assert seen == {"10.77.0.50": str(second.mac), "fd00:77::50": str(second.mac)}
        net.remove(force=True)


# -- 10. the smaller points -------------------------------------------------------------------
def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_network_list_closes_its_store(net: Network, store: Path) -> None:
    Network.list(store)  # warm up lazily opened things
    before = _fds()
    for _ in range(20):
        for n in Network.list(store):
            n.close()
    assert _fds() <= before + 1


def test_percent_is_refused_in_interface_names(
    net: Network, containers: Callable[[int], list[Any]]
) -> None:
    (c,) = containers(1)
    with pytest.raises(NetworkConfigError, match="'%'"):
        net.attach(c, ifname="eth%d")
    with pytest.raises(NetworkConfigError, match="'%'"):
        net.host_shim(ifname="shim%d")
    assert macvlans(c.name) == [] and net.endpoints() == []


def test_store_directly_in_a_sticky_world_writable_directory_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with pytest.raises(macvlan.UnsafeStore, match="writable by other users"):
        Store(shared / "db")
    assert not (shared / "db").exists()


def test_an_existing_store_path_that_is_no_regular_file_is_refused_before_opening(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "db"
    os.mkfifo(fifo, 0o600)  # opened read-write it would not block, but it is no store
    with pytest.raises(macvlan.UnsafeStore, match="not a regular file"):
        Store(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_corrupted_store_raises_a_library_error(tmp_path: Path) -> None:
    path = tmp_path / "db"
    path.write_bytes(b"this is not a database" * 512)
    os.chmod(path, 0o600)
    with pytest.raises(macvlan.StoreError, match="corrupted or not a store"):
        Store(path)
    with pytest.raises(macvlan.StoreError):
        Network.list(path)
    assert not isinstance(macvlan.StoreError("x"), sqlite3.DatabaseError)


_NET_ADMIN_ONLY = """
import sys
from macvlan import Namespace
from macvlan.network import Network
net = Network.create("own", "p0", "10.78.0.0/24", "10.78.0.1", store=sys.argv[1])
ep = net.attach(Namespace.current(), ifname="c0")
shim = net.host_shim("10.78.0.250")
with Network.open("own", sys.argv[1]) as again:
    assert [e.id for e in again.endpoints()] == [ep.id]
net.detach(ep)
net.remove(force=True)
print("ok")
"""


def test_cap_net_admin_alone_suffices_for_a_network_in_the_own_namespace(
    sandbox: Any, store: Path
) -> None:
    cmd = [
        "ip",
        "netns",
        "exec",
        sandbox.name,
        "setpriv",
        "--bounding-set=-all,+net_admin",
        "--inh-caps=-all,+net_admin",
        "--ambient-caps=-all,+net_admin",
        sys.executable,
        "-c",
        _NET_ADMIN_ONLY,
        str(store),
    ]
    probe = subprocess.run(
        ["setpriv", "--bounding-set=-all,+net_admin", "grep", "CapEff", "/proc/self/status"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0 and probe.stdout.split()[1] == "0000000000001000"
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert macvlans(sandbox.name) == []


def test_ipv6_slash_127_yields_two_addresses() -> None:
    sub = Subnet.parse("fd00:1::/127")
    first = sub.allocate([])
    second = sub.allocate([int(first)])
    assert {str(first), str(second)} == {"fd00:1::", "fd00:1::1"}
    v4 = Subnet.parse("10.9.9.0/31")
    assert str(v4.allocate([])) == "10.9.9.0"


def test_endpoint_is_a_hashable_value(net: Network, containers: Callable[[int], list[Any]]) -> None:
    (c,) = containers(1)
    ep = net.attach(c)
    (again,) = net.endpoints()
    assert ep == again and hash(ep) == hash(again) and {ep, again} == {ep}
    assert isinstance(ep.addresses, tuple) and isinstance(ep.gateways, tuple)
    with pytest.raises(AttributeError):
        ep.ifname = "x"  # type: ignore[misc]


def test_every_network_exception_is_exported_from_macvlan() -> None:
    import inspect

    from macvlan import errors

    for name, obj in vars(errors).items():
        if inspect.isclass(obj) and issubclass(obj, BaseException) and not name.startswith("_"):
            assert getattr(macvlan, name) is obj, name
    for name in ("StoreError", "UnsafeStore", "NetworkNotFound", "MacInUse", "PoolExhausted"):
        assert name in macvlan.__all__


_ = (signal, EndpointState)


def test_a_network_made_without_netns_is_refused_from_another_namespace(
    sandbox: Any, store: Path, containers: Callable[[int], list[Any]]
) -> None:
    c0, c1 = containers(2)
    with sandbox.ns.enter():
        made = Network.create("lan", "p0", subnet=SUBNET, gateway=GATEWAY, store=store)
    try:
        # here (the test's own namespace) "p0" is not that parent: opening it, which
        # reconciles the host side, is refused
        with pytest.raises(macvlan.NetworkElsewhere, match="'p0' is a name there"):
            Network.open("lan", store)
        with pytest.raises(macvlan.NetworkElsewhere):
            made.attach(c0)
        assert macvlans(c0.name) == [] and made.endpoints() == []
        # from the namespace it was made in, all works
        with sandbox.ns.enter(), Network.open("lan", store) as net:
            ep = net.attach(c0)
            assert [x["address"] for x in macvlans(c0.name)] == [str(ep.mac)]
            ep1 = net.attach(c1)
            assert {e.id for e in net.endpoints()} == {ep.id, ep1.id}
            net.detach(ep1)
            net.detach(ep)
        assert macvlans(c0.name) == [] and macvlans(c1.name) == []
    finally:
        with sandbox.ns.enter():
            made.remove(force=True)
        made.close()
    assert macvlans(sandbox.name) == []
