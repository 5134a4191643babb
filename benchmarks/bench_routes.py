"""Dump 10,000 routes and 10,000 neighbours into typed values; ours vs ``ip -j`` vs pyroute2.

One throw-away namespace (a veth pair p0/p1, p0 with 10.255.0.2/24 and
10.254.255.254/16) is filled with ``ip -batch``: 10,000 IPv4 routes
``10.X.Y.0/24 via 10.255.0.1`` in the main table and 10,000 permanent ARP entries
``10.254.X.Y`` on p0.  Then, taking turns for ``ROUNDS`` rounds, best of each:

- ours: ``rt.routes(family=AddrFamily.INET)`` (typed ``Route`` values, main table) and
  ``rt.neighbours()`` (typed ``Neighbour`` values), on the backend this process
  loaded, and again in a child process on the other backend (the pure-Python one
  when this one is compiled), so both backends are measured in the one run;
- ip: the whole ``ip -n NS -j route show`` / ``ip -n NS -j neigh show`` process plus
  ``json.loads`` of its output (what a script that shells out gets);
- pyroute2: ``IPRoute(netns=NS).get_routes(family=AF_INET, table=254)`` and
  ``get_neighbours()``, materialised as lists.

Before each timed call the garbage collector runs (untimed), so that no tool pays
for a collection that the objects another tool made would trigger.  Every tool's
result is checked to hold the 10,000 entries.  Wall-clock and CPU time (user +
system of this process and of ``ip``, which includes the kernel's work inside each
tool's ``recvmsg``) are printed; the ``*_cpu_*`` ratios are the ones to read on a
loaded machine.  Last line: ``RATIOS key=value ...``, theirs over ours (> 1 means
we are faster).
Run as root: ``python benchmarks/bench_routes.py``.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _peers import throwaway_namespace, timed

import macvlan
import macvlan._netlink
from macvlan._netlink.constants import AddrFamily

N = 10_000
ROUNDS = 7


def fill(netns: str) -> None:
    lines = ["addr add 10.255.0.2/24 dev p0", "addr add 10.254.255.254/16 dev p0"]
    lines += [f"route add 10.{i // 256}.{i % 256}.0/24 via 10.255.0.1 dev p0" for i in range(N)]
    lines += [
        f"neigh add 10.254.{i // 256}.{i % 256} lladdr 02:00:{i // 256:02x}:{i % 256:02x}:00:01 "
        "dev p0 nud permanent"
        for i in range(N)
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".ipbatch", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    try:
        subprocess.run(["ip", "-n", netns, "-batch", f.name], check=True)
    finally:
        os.unlink(f.name)


def count_routes(routes: list[Any]) -> int:
    return sum(1 for r in routes if str(getattr(r, "dst", r)).startswith("10."))


def ip_json(netns: str, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run(["ip", "-n", netns, "-j", *args], check=True, capture_output=True).stdout
    data: list[dict[str, Any]] = json.loads(out)
    return data


def ours(netns: str) -> dict[str, Callable[[], int]]:
    rt = macvlan.connect(netns)

    def routes() -> int:
        return sum(1 for r in rt.routes(family=AddrFamily.INET) if r.gateway is not None)

    def neighbours() -> int:
        return sum(1 for n in rt.neighbours() if n.mac is not None and n.ip.version == 4)

    return {"routes": routes, "neigh": neighbours}


def ip(netns: str) -> dict[str, Callable[[], int]]:
    def routes() -> int:
        return sum(1 for r in ip_json(netns, "route", "show") if "gateway" in r)

    def neighbours() -> int:
        return sum(1 for n in ip_json(netns, "neigh", "show") if "lladdr" in n)

    return {"routes": routes, "neigh": neighbours}


def pyroute2(netns: str) -> dict[str, Callable[[], int]]:
    from pyroute2 import IPRoute

    ipr = IPRoute(netns=netns)

    def routes() -> int:
        got = ipr.get_routes(family=socket.AF_INET, table=254)
        return sum(1 for r in got if r.get_attr("RTA_GATEWAY"))

    def neighbours() -> int:
        got = ipr.get_neighbours()
        return sum(1 for n in got if n.get_attr("NDA_LLADDR") and n["family"] == socket.AF_INET)

    return {"routes": routes, "neigh": neighbours}


def cpu_now() -> float:
    """CPU seconds (user + system) of this process and its waited-for children.

    The kernel fills a dump inside the reader's ``recvmsg``, so this counts the
    kernel's work for each tool too, and much less of the machine's other load
    than the wall clock does."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(tools: dict[str, dict[str, Callable[[], int]]]) -> dict[str, dict[str, float]]:
    """Best of ROUNDS per tool and kind (wall clock, and CPU as ``KIND_cpu``), the
    tools taking turns."""
    best: dict[str, dict[str, float]] = {t: {} for t in tools}
    for _ in range(ROUNDS):
        for tool, kinds in tools.items():
            for kind, fn in kinds.items():
                gc.collect()  # no tool pays for the garbage another left
                cpu = cpu_now()
                seconds, found = timed(fn)
                cpu = cpu_now() - cpu
                assert found >= N, f"{tool} {kind}: {found} entries, expected {N}"
                best[tool][kind] = min(best[tool].get(kind, seconds), seconds)
                best[tool][kind + "_cpu"] = min(best[tool].get(kind + "_cpu", cpu), cpu)
    return best


def child(netns: str) -> None:
    """``--ours NETNS``: measure ours only (in this process's backend), print JSON."""
    result = measure({"ours": ours(netns)})["ours"]
    print(json.dumps({"backend": macvlan._netlink.backend, **result}))


def other_backend(netns: str) -> tuple[str, dict[str, float]]:
    env = dict(os.environ)
    if macvlan._netlink.backend == "cffi":
        env["MACVLAN_PUREPYTHON"] = "1"
    else:
        env.pop("MACVLAN_PUREPYTHON", None)
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--ours", netns],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data.pop("backend"), data


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--ours":
        child(sys.argv[2])
        return
    if os.geteuid() != 0:
        sys.exit("bench_routes.py needs root (it creates network namespaces)")
    backend = macvlan._netlink.backend
    print(f"macvlan netlink backend: {backend}")
    with throwaway_namespace("mvb-routes") as ns:
        name = str(ns.name)
        fill(name)
        results = measure({"ours": ours(name), "ip": ip(name), "pyroute2": pyroute2(name)})
        other, theirs_backend = other_backend(name)
    results[f"ours-{other}"] = theirs_backend
    print(f"{N} IPv4 routes and {N} ARP entries, typed, best of {ROUNDS}")
    for tool in ("ours", f"ours-{other}", "ip", "pyroute2"):
        label = f"ours-{backend}" if tool == "ours" else tool
        r = results[tool]
        print(
            f"{label:<13} routes {ms(r['routes'])} (CPU {ms(r['routes_cpu'])})"
            f"   neighbours {ms(r['neigh'])} (CPU {ms(r['neigh_cpu'])})"
        )
    o, p = results["ours"], results[f"ours-{other}"]
    ratios = {
        f"routes_vs_pyroute2_{backend}": results["pyroute2"]["routes"] / o["routes"],
        f"neigh_vs_pyroute2_{backend}": results["pyroute2"]["neigh"] / o["neigh"],
        f"routes_vs_ip_{backend}": results["ip"]["routes"] / o["routes"],
        f"neigh_vs_ip_{backend}": results["ip"]["neigh"] / o["neigh"],
        f"routes_vs_pyroute2_{other}": results["pyroute2"]["routes"] / p["routes"],
        f"neigh_vs_pyroute2_{other}": results["pyroute2"]["neigh"] / p["neigh"],
        f"routes_vs_ip_{other}": results["ip"]["routes"] / p["routes"],
        f"neigh_vs_ip_{other}": results["ip"]["neigh"] / p["neigh"],
    }
    for b, mine in ((backend, o), (other, p)):
        for kind in ("routes", "neigh"):
            ratios[f"{kind}_cpu_vs_ip_{b}"] = results["ip"][f"{kind}_cpu"] / mine[f"{kind}_cpu"]
            ratios[f"{kind}_cpu_vs_pyroute2_{b}"] = (
                results["pyroute2"][f"{kind}_cpu"] / mine[f"{kind}_cpu"]
            )
    for key, goal in (("routes_vs_pyroute2", 10), ("neigh_vs_pyroute2", 10)):
        for b in (backend, other):
            verdict = "met" if ratios[f"{key}_{b}"] >= goal else "NOT met"
            print(f"goal {key} >= {goal} ({b}): {verdict}")
    for key in ("routes_vs_ip", "neigh_vs_ip"):
        for b in (backend, other):
            verdict = "met" if ratios[f"{key}_{b}"] >= 1.0 else "NOT met"
            print(f"goal {key} >= 1.0 ({b}): {verdict}")
    print("RATIOS " + " ".join(f"{k}={v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
