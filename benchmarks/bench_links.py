"""Issue 4 benchmark: create, dump and delete 1,000 macvlans; ours vs ``ip -batch`` vs pyroute2.

The same work runs through each tool in its own throw-away namespace (a veth pair
p0/p1 as the parent), in one process and one run:

- create 1,000 bridge-mode macvlans with their MACs (ours: ``create_macvlans``, which
  also returns the typed links; ip: one ``ip -batch`` file; pyroute2: ``link("add")``);
- dump them into typed objects (ours: ``links()``; ip: ``ip -d -j link show``, whole
  process plus ``json.loads``; pyroute2: ``get_links()``), best of 5;
- delete a sample of 30 one by one (the rate is extrapolated), then the other 970 in
  bulk (ours: ``delete_links``; ip and pyroute2: set a group, delete the group).

The tools take turns for 3 rounds and every figure is the best of its rounds. For
creation the CPU time (user + system, which includes the kernel's work done inside
each tool's own sendmsg calls) is printed too: it is much less disturbed by other load
on the machine than the wall-clock time the ratios use.

Last line: ``RATIOS key=value ...``, ours over theirs (> 1 means we are faster).
Run as root: ``python benchmarks/bench_links.py``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _peers import (
    Pyroute2,
    best_of,
    cpu_seconds,
    ip_batch,
    ip_count,
    ip_dump,
    throwaway_namespace,
    timed,
)

import macvlan
from macvlan import MacvlanMode, MacvlanSpec, Namespace

N = 1000
SAMPLE = 30
GROUP = 4242
NAMES = [f"mv{i}" for i in range(N)]
MACS = [f"02:4d:00:00:{i >> 8:02x}:{i & 0xFF:02x}" for i in range(N)]


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:9,.0f}/s"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def bench_ours(ns: Namespace) -> dict[str, float]:
    out: dict[str, float] = {}
    with macvlan.connect(ns) as rt:
        rt.links()  # warm up
        specs = [
            MacvlanSpec(n, "p0", MacvlanMode.BRIDGE, mac=m)
            for n, m in zip(NAMES, MACS, strict=True)
        ]
        cpu = cpu_seconds()
        out["create"], links = timed(lambda: rt.create_macvlans(specs))
        out["create_cpu"] = cpu_seconds() - cpu
        assert [link.name for link in links] == NAMES
        assert ip_count(str(ns.name)) == N
        out["dump"], dumped = best_of(5, rt.links)
        assert sum(1 for link in dumped if link.kind == "macvlan") == N
        assert all(link.macvlan is not None for link in dumped if link.kind == "macvlan")
        out["one"], _ = timed(lambda: [rt.delete_link(n) for n in NAMES[:SAMPLE]])
        out["bulk"], deleted = timed(lambda: rt.delete_links(NAMES[SAMPLE:]))
        assert deleted == N - SAMPLE and ip_count(str(ns.name)) == 0
        # for information: one create_macvlan call per link, each returning its Link
        out["create1"], _ = timed(
            lambda: [rt.create_macvlan(n, "p0", mac=m) for n, m in zip(NAMES, MACS, strict=True)]
        )
        assert ip_count(str(ns.name)) == N
        rt.delete_links(NAMES)
    return out


def bench_ip(ns: Namespace) -> dict[str, float]:
    name = str(ns.name)
    out: dict[str, float] = {}
    ip_dump(name)  # warm up (page cache, first exec)
    lines = [
        f"link add {n} link p0 address {m} type macvlan mode bridge"
        for n, m in zip(NAMES, MACS, strict=True)
    ]
    cpu = cpu_seconds(children=True)
    out["create"] = ip_batch(name, lines)
    out["create_cpu"] = cpu_seconds(children=True) - cpu
    assert ip_count(name) == N
    out["dump"], dumped = best_of(5, lambda: ip_dump(name))
    assert sum(1 for e in dumped if e.get("linkinfo", {}).get("info_kind") == "macvlan") == N
    out["one"] = ip_batch(name, [f"link del {n}" for n in NAMES[:SAMPLE]])
    bulk = [f"link set {n} group {GROUP}" for n in NAMES[SAMPLE:]] + [f"link del group {GROUP}"]
    out["bulk"] = ip_batch(name, bulk)
    assert ip_count(name) == 0
    return out


def bench_pyroute2(ns: Namespace) -> dict[str, float]:
    name = str(ns.name)
    out: dict[str, float] = {}
    pr = Pyroute2(name)
    try:
        pr.dump()  # warm up
        parent = pr.index("p0")

        def create() -> None:
            for n, m in zip(NAMES, MACS, strict=True):
                pr.create_macvlan(n, parent, m)

        cpu = cpu_seconds()
        out["create"], _ = timed(create)
        out["create_cpu"] = cpu_seconds() - cpu
        assert ip_count(name) == N
        out["dump"], dumped = best_of(5, pr.dump)
        assert len(dumped) == N + 3
        out["one"], _ = timed(lambda: [pr.delete(n) for n in NAMES[:SAMPLE]])

        def bulk() -> None:
            for n in NAMES[SAMPLE:]:
                pr.set_group(n, GROUP)
            pr.delete_group(GROUP)

        out["bulk"], _ = timed(bulk)
        assert ip_count(name) == 0
    finally:
        pr.close()
    return out


def report(tool: str, r: dict[str, Any]) -> None:
    print(
        f"{tool:<9} create {N}: {ms(r['create'])} {rate(N, r['create'])}"
        f"   (CPU user+sys {ms(r['create_cpu']).strip()})"
    )
    if "create1" in r:
        print(f"{tool:<9} create {N} one call each: {ms(r['create1'])} {rate(N, r['create1'])}")
    print(f"{tool:<9} dump {N + 3} typed: {ms(r['dump'])} (best of 5)")
    print(f"{tool:<9} delete one by one: {rate(SAMPLE, r['one'])} (sample of {SAMPLE})")
    print(f"{tool:<9} delete {N - SAMPLE} in bulk: {ms(r['bulk'])} {rate(N - SAMPLE, r['bulk'])}")


ROUNDS = 3
TOOLS = {"ours": bench_ours, "ip": bench_ip, "pyroute2": bench_pyroute2}


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("bench_links.py needs root (it creates network namespaces)")
    print(f"macvlan netlink backend: {macvlan._netlink.backend}")
    # The tools take turns (order rotated each round) and each figure is the best of
    # the rounds, so that other load on the machine does not favour any one of them.
    runs: dict[str, list[dict[str, float]]] = {tool: [] for tool in TOOLS}
    order = list(TOOLS)
    for r in range(ROUNDS):
        for tool in order[r % 3 :] + order[: r % 3]:
            with throwaway_namespace(f"mvb-{tool[:4]}") as ns:
                runs[tool].append(TOOLS[tool](ns))
    results = {
        tool: {key: min(run[key] for run in tool_runs) for key in tool_runs[0]}
        for tool, tool_runs in runs.items()
    }
    print(f"best of {ROUNDS} rounds, tools taking turns:")
    for tool, r in results.items():
        report(tool, r)

    ours, ip, pr2 = results["ours"], results["ip"], results["pyroute2"]
    ratios = {
        "create_vs_ip": ip["create"] / ours["create"],
        "create_vs_pyroute2": pr2["create"] / ours["create"],
        "dump_vs_pyroute2": pr2["dump"] / ours["dump"],
        "dump_vs_ip": ip["dump"] / ours["dump"],
        "bulkdelete_vs_onebyone": ((N - SAMPLE) / ours["bulk"]) / (SAMPLE / ours["one"]),
    }
    goals = [
        ("create >= 0.9x ip -batch", ratios["create_vs_ip"] >= 0.9),
        ("create >= 3x pyroute2", ratios["create_vs_pyroute2"] >= 3),
        ("typed dump >= 10x pyroute2", ratios["dump_vs_pyroute2"] >= 10),
        (f"typed dump of {N} under 50 ms", ours["dump"] < 0.050),
        ("bulk delete >= 50x one by one", ratios["bulkdelete_vs_onebyone"] >= 50),
    ]
    for goal, met in goals:
        print(f"goal {goal}: {'met' if met else 'MISSED'}")
    print("RATIOS " + " ".join(f"{k}={v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
