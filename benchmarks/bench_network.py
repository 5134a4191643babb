"""Attach + detach cycles per second: ``Network`` against the reference CNI plugin.

One throw-away "host" namespace holds a veth pair (parent ``p0``); every cycle uses
a fresh container namespace (made before the clock starts).

- ours: ``net.attach(ns)`` then ``net.detach(ep)`` in this process (state in a
  temporary SQLite store), as a runtime embedding the library would;
- theirs: Debian's ``/usr/lib/cni/macvlan`` run per the CNI spec, ``ADD`` then
  ``DEL``, each a fresh process inside the host namespace
  (``ip netns exec HOST /usr/lib/cni/macvlan``) with host-local IPAM in a temporary
  dataDir, as a runtime runs it;
- ``reconcile_ms_500``: ``Network.open`` (store, reconcile: every namespace found by
  identity, every link checked for its proof) of a network with 500 endpoints in
  500 namespaces, median of 5 opens, in milliseconds (lower is better);
- also shown: ours with ``detach(wait=True)``, which returns only after the kernel's
  RCU grace period instead of at the kernel's deletion notice; and attach with
  3,000 other macvlans on the parent against attach on an empty one.

Rounds alternate between the two so that drift on the machine hits both alike.
Usage: python benchmarks/bench_network.py [rounds]   (default 6; needs root)
Last line: RATIOS attach_detach_vs_cni=X attach_detach_wait_vs_cni=Y
attach_crowded_vs_empty=Z reconcile_ms_500=R (cycles per second, ours divided by the reference
plugin's; above 1 = ours faster; Z is attach time on an empty parent divided by
attach time on the crowded one, 1 when attach does not grow with the links).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from macvlan import MacvlanSpec, Namespace, connect  # noqa: E402
from macvlan.network import Network  # noqa: E402

PLUGIN = "/usr/lib/cni/macvlan"
OURS_PER_ROUND = 20
CNI_PER_ROUND = 6
SIBLINGS = 3000
RECONCILE_ENDPOINTS = 500


def reconcile_ms(host: Namespace, tmp: str, fresh: Callable[[int], list[Namespace]]) -> float:
    """Median time to open a network with RECONCILE_ENDPOINTS endpoints."""
    path = f"{tmp}/reconcile.db"
    with Network.create("big", "p0", "10.63.0.0/16", store=path, netns=host) as net:
        for ns in fresh(RECONCILE_ENDPOINTS):
            net.attach(ns)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        with Network.open("big", path) as net:
            assert len(net.endpoints()) == RECONCILE_ENDPOINTS
            times.append((time.perf_counter() - start) * 1e3)
    Network.open("big", path).remove(force=True)
    return statistics.median(times)


def cni(host: str, command: str, container: str, conf: bytes) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container,
        "CNI_NETNS": f"/run/netns/{container}",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/usr/lib/cni",
    }
    done = subprocess.run(
        ["ip", "netns", "exec", host, PLUGIN],
        input=conf,
        env=env,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"CNI {command} failed: {done.stdout!r} {done.stderr!r}")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces)")
    if not os.access(PLUGIN, os.X_OK):
        raise SystemExit(f"the reference plugin {PLUGIN} is not installed")
    tag = f"mvnb-{os.getpid()}"
    made: list[Namespace] = []

    def fresh(n: int) -> list[Namespace]:
        out = [Namespace.create(f"{tag}-{len(made) + i}") for i in range(n)]
        made.extend(out)
        return out

    with tempfile.TemporaryDirectory(prefix="mvnb-") as tmp:
        host = Namespace.create(f"{tag}-host")
        made.append(host)
        try:
            with connect(host) as rt:
                rt.create_veth("p0", "p1", up=True)
                rt.set_link("p1", up=True)
            conf = json.dumps(
                {
                    "cniVersion": "1.0.0",
                    "name": "bench",
                    "type": "macvlan",
                    "master": "p0",
                    "mode": "bridge",
                    "ipam": {
                        "type": "host-local",
                        "subnet": "10.60.0.0/16",
                        "gateway": "10.60.0.1",
                        "dataDir": f"{tmp}/cni",
                    },
                }
            ).encode()
            net = Network.create(
                "bench",
                "p0",
                "10.61.0.0/16",
                "10.61.0.1",
                store=f"{tmp}/networks.db",
                netns=host,
            )
            assert host.name is not None
            # warm up both (imports, caches, the plugin binaries in the page cache)
            for ns in fresh(2):
                net.detach(net.attach(ns))
                assert ns.name is not None
                cni(host.name, "ADD", ns.name, conf)
                cni(host.name, "DEL", ns.name, conf)
            ours: list[float] = []
            ours_wait: list[float] = []
            theirs: list[float] = []
            attach_ms: list[float] = []
            detach_ms: list[float] = []
            for _ in range(rounds):
                start = time.perf_counter()
                for ns in fresh(OURS_PER_ROUND):
                    t0 = time.perf_counter()
                    ep = net.attach(ns)
                    t1 = time.perf_counter()
                    net.detach(ep)
                    detach_ms.append((time.perf_counter() - t1) * 1e3)
                    attach_ms.append((t1 - t0) * 1e3)
                ours.append(OURS_PER_ROUND / (time.perf_counter() - start))
                start = time.perf_counter()
                for ns in fresh(CNI_PER_ROUND):
                    assert ns.name is not None
                    cni(host.name, "ADD", ns.name, conf)
                    cni(host.name, "DEL", ns.name, conf)
                theirs.append(CNI_PER_ROUND / (time.perf_counter() - start))
                start = time.perf_counter()
                for ns in fresh(OURS_PER_ROUND // 2):
                    net.detach(net.attach(ns), wait=True)
                ours_wait.append(OURS_PER_ROUND // 2 / (time.perf_counter() - start))
            rec_ms = reconcile_ms(host, tmp, fresh)
            # the same with SIBLINGS other macvlans on the parent: attach must not
            # grow with them (it once dumped every link to pick a MAC)
            with connect(host) as rt:
                rt.create_macvlans([MacvlanSpec(f"s{i}", "p0") for i in range(SIBLINGS)])
            crowded_ms: list[float] = []
            for ns in fresh(OURS_PER_ROUND):
                t0 = time.perf_counter()
                ep = net.attach(ns)
                crowded_ms.append((time.perf_counter() - t0) * 1e3)
                net.detach(ep)
            net.remove(force=True)
            net.close()
        finally:
            for ns in made:
                ns.delete(missing_ok=True)
    o, w, t = (statistics.median(x) for x in (ours, ours_wait, theirs))
    print(f"rounds: {rounds}; cycles per round: ours {OURS_PER_ROUND}, reference {CNI_PER_ROUND}")
    print(f"Network.attach + detach:          {o:7.1f} cycles/s (median of rounds)")
    print(
        f"  attach median {statistics.median(attach_ms):.2f} ms, "
        f"detach median {statistics.median(detach_ms):.2f} ms"
    )
    crowded = statistics.median(crowded_ms)
    print(f"  attach median with {SIBLINGS:,} other macvlans on the parent: {crowded:.2f} ms")
    print(f"Network.attach + detach(wait=True): {w:5.1f} cycles/s")
    print(f"reference CNI macvlan ADD + DEL:   {t:7.1f} cycles/s")
    print(f"Network.open with {RECONCILE_ENDPOINTS} endpoints: {rec_ms:.0f} ms (median of 5)")
    print(
        f"RATIOS attach_detach_vs_cni={o / t:.2f} attach_detach_wait_vs_cni={w / t:.2f} "
        f"attach_crowded_vs_empty={statistics.median(attach_ms) / crowded:.2f} "
        f"reconcile_ms_500={rec_ms:.0f}"
    )


if __name__ == "__main__":
    main()
