"""Eight processes attach, detach, remove and re-create one network while the test
kills them with SIGKILL at random; after every round a reopen must leave kernel
and store in agreement: no leaked link, no address given twice, no orphan record.

``ip -j`` is the oracle.  Rounds are short (a couple of seconds each) so that the
whole test stays within a minute or two.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import ip_json

from macvlan.network import Network, NetworkExists, NetworkNotFound
from macvlan.network.store import EndpointKind, EndpointState, Store

pytestmark = [
    pytest.mark.live,
]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 8
ROUNDS = 6
SUBNET = "10.79.0.0/24"

_WORKER = """
import random, sys, time
from macvlan import errors
from macvlan.network import Network
store, host, wid, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rng = random.Random(int(wid))
expected = (errors.NetworkNotFound, errors.NetworkExists, errors.NetworkInUse,
            errors.EndpointNotFound, errors.MacInUse, errors.PoolExhausted,
            errors.AddressTaken, errors.NetworkConfigError)
k = 0
print("up", flush=True)
while True:
    try:
        try:
            net = Network.open("lan", store)
        except errors.NetworkNotFound:
            net = Network.create("lan", "p0", SUBNET, "10.79.0.1", store=store, netns=host)
        with net:
            for _ in range(rng.randint(1, 6)):
                r = rng.random()
                eps = net.endpoints()
                if r < 0.03:
                    net.remove(force=True)
                    break
                if r < 0.08 and net.shim is None:
                    net.host_shim()
                elif r < 0.55 and len(eps) < 40:
                    k += 1
                    net.attach(rng.choice(names), ifname=f"w{wid}x{k}")
                elif eps:
                    net.detach(rng.choice(eps))
    except expected:
        time.sleep(0.001)
""".replace("SUBNET", repr(SUBNET))


def _macvlans(ns: str) -> list[dict[str, Any]]:
    return [
        link
        for link in ip_json("-d", "link", "show", netns=ns)
        if link.get("linkinfo", {}).get("info_kind") in ("macvlan", "macvtap")
    ]


def _agree(store: Path, host: str, names: list[str]) -> tuple[int, int]:
    """Reopen (reconcile) and compare kernel and store; returns (endpoints, links)."""
    try:
        net = Network.open("lan", store)
    except NetworkNotFound:
        try:
            net = Network.create("lan", "p0", SUBNET, "10.79.0.1", store=store, netns=host)
        except NetworkExists:  # an abandoned creation was just cleaned up
            net = Network.open("lan", store)
    with net:
        sid = net.store.id
        rows = net.store.endpoints("lan")
        # no orphan record: after the reopen every record is active and its link is there
        assert all(r.state is EndpointState.ACTIVE for r in rows), rows
        recorded = set()
        for r in rows:
            where = host if r.kind is EndpointKind.SHIM else (r.netns.name if r.netns else None)
            recorded.add((where, r.ifindex, f"macvlan:{sid}:lan:{r.id}"))
        # no leaked link: every macvlan on the parent is a recorded one, with its proof
        seen = set()
        for ns in [host, *names]:
            for link in _macvlans(ns):
                seen.add((ns, link["ifindex"], link.get("ifalias")))
        assert seen == recorded, seen ^ recorded
        # no address twice, in the store or on the links
        addrs = [a for r in rows for _, a in r.addresses]
        assert len(addrs) == len(set(addrs))
        on_links: Counter[str] = Counter()
        for ns in names:
            for entry in ip_json("addr", "show", netns=ns):
                for a in entry.get("addr_info", []):
                    if a.get("family") == "inet" and a["local"].startswith("10.79."):
                        on_links[a["local"]] += 1
        assert all(n == 1 for n in on_links.values()), on_links
        containers = {
            str(a) for r in rows if r.kind is EndpointKind.CONTAINER for _, a in r.addresses
        }
        assert set(on_links) == containers
        # the host routes via the shim are exactly the container addresses
        shim = net.shim
        if shim is not None:
            via = {
                r["dst"]
                for r in ip_json("route", "show", "dev", shim.ifname, netns=host)
                if r["dst"].startswith("10.79.")
            }
            assert via == containers, via ^ containers
        return len(rows), len(seen)


def test_eight_processes_killed_at_random_leave_kernel_and_store_in_agreement(
    sandbox: Any, tmp_path: Path, netns_factory: Callable[..., Any]
) -> None:
    store = tmp_path / "networks.db"
    names = [netns_factory("mvk").name for _ in range(6)]
    rng = random.Random(13)
    totals = []
    try:
        for rnd in range(ROUNDS):
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", _WORKER, str(store), sandbox.name, f"{rnd}{i}", *names],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for i in range(WORKERS)
            ]
            for proc in procs:
                assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
            alive = list(procs)
            deadline = time.monotonic() + 2.0
            while alive and time.monotonic() < deadline:
                time.sleep(rng.uniform(0.05, 0.3))
                victim = alive.pop(rng.randrange(len(alive)))
                os.kill(victim.pid, signal.SIGKILL)
            for proc in alive:
                os.kill(proc.pid, signal.SIGKILL)
            for proc in procs:
                proc.wait()
                err = proc.stderr.read() if proc.stderr else ""
                assert "Traceback" not in err, err
            totals.append(_agree(store, sandbox.name, names))
    finally:
        with contextlib.suppress(NetworkNotFound):
            Network.open("lan", store).remove(force=True)
    with Store(store) as st:  # the workers did get work done: endpoint keys handed out
        (made,) = st._all("SELECT seq FROM sqlite_sequence WHERE name = 'endpoints'")[0]
    assert made >= 50, (made, totals)
    for ns in [sandbox.name, *names]:
        assert _macvlans(ns) == []
    with Store(store) as st:
        assert st.networks() == [] and st.macs() == set()
