"""Issue 9 benchmark: 1,000 concurrent creates on one asyncio connection.

Three ways to create the same 1,000 bridge-mode macvlans (each with its MAC) on a
veth parent, each in its own throw-away namespace, in one process and one run:

- ours, asyncio: 1,000 ``create_macvlan`` tasks at once (``asyncio.gather``) on one
  ``macvlan.aio`` connection; every task gets its typed ``Link`` back;
- ours, synchronous pipelined: one ``Connection.create_macvlans`` call;
- pyroute2's ``AsyncIPRoute(netns=...)``: 1,000 ``link("add", ...)`` tasks at once
  on one connection (which answer with the kernel's ack, not a decoded link).

The three take turns for 5 rounds (each after a warm-up of 50 links) and every
figure is the best of its rounds; after each turn the links are deleted as one
group, so no tool waits for the kernel to tear down another's links.  The CPU
time (user + system: the kernel's work happens inside each tool's own
``sendmsg``) is printed beside the wall-clock time, since load on a small machine
moves the latter.  Everything is checked against ``ip -o link show``.

Last line: ``RATIOS aio_create_vs_pyroute2_async=X aio_vs_sync=Y`` where X is
pyroute2's time over ours and Y is the synchronous path's time over the asyncio
one (> 1 means the asyncio path is faster).  Run as root:
``python benchmarks/bench_aio.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _peers import cpu_seconds, ip_count, throwaway_namespace, timed

import macvlan
from macvlan import MacAddress, MacvlanMode, MacvlanSpec, Namespace, aio

N = 1000
WARM = 50
ROUNDS = 5
NAMES = [f"mv{i}" for i in range(N)]
MACS = [f"02:4e:00:00:{i >> 8:02x}:{i & 0xFF:02x}" for i in range(N)]


async def measure(work: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, result) of one awaited call."""
    loop = asyncio.get_running_loop()
    cpu = cpu_seconds()
    start = loop.time()
    result = await work()
    return loop.time() - start, cpu_seconds() - cpu, result


async def bench_aio(ns: Namespace) -> tuple[float, float]:
    async with aio.connect(ns) as rt:
        p0 = await rt.link("p0")
        warm = await asyncio.gather(*(rt.create_macvlan(f"w{i}", p0) for i in range(WARM)))
        await rt.delete_links(warm)

        macs = [MacAddress(m) for m in MACS]  # parsed beforehand, as for the sync specs

        async def work() -> list[Any]:
            return await asyncio.gather(
                *(
                    rt.create_macvlan(n, p0, MacvlanMode.BRIDGE, mac=m)
                    for n, m in zip(NAMES, macs, strict=True)
                )
            )

        wall, cpu, links = await measure(work)
        assert [link.name for link in links] == NAMES
        assert [str(link.mac) for link in links] == MACS
        assert ip_count(str(ns.name)) == N
    return wall, cpu


def bench_sync(ns: Namespace) -> tuple[float, float]:
    with macvlan.connect(ns) as rt:
        p0 = rt.link("p0")
        rt.delete_links(rt.create_macvlans([MacvlanSpec(f"w{i}", p0) for i in range(WARM)]))
        specs = [
            MacvlanSpec(n, p0, MacvlanMode.BRIDGE, mac=MacAddress(m))
            for n, m in zip(NAMES, MACS, strict=True)
        ]
        cpu = cpu_seconds()
        wall, links = timed(lambda: rt.create_macvlans(specs))
        cpu = cpu_seconds() - cpu
        assert [link.name for link in links] == NAMES
        assert ip_count(str(ns.name)) == N
    return wall, cpu


async def bench_pyroute2(ns: Namespace) -> tuple[float, float]:
    from pyroute2 import AsyncIPRoute

    async with AsyncIPRoute(netns=str(ns.name)) as ipr:
        (p0,) = await ipr.link_lookup(ifname="p0")

        def add(name: str, mac: str | None = None) -> Awaitable[Any]:
            kw = {"address": mac} if mac else {}
            return ipr.link(
                "add", ifname=name, kind="macvlan", link=p0, macvlan_mode="bridge", **kw
            )

        await asyncio.gather(*(add(f"w{i}") for i in range(WARM)))
        await asyncio.gather(*(ipr.link("del", ifname=f"w{i}") for i in range(WARM)))

        async def work() -> list[Any]:
            return await asyncio.gather(*(add(n, m) for n, m in zip(NAMES, MACS, strict=True)))

        wall, cpu, _ = await measure(work)
    assert ip_count(str(ns.name)) == N
    return wall, cpu


def clear(ns: Namespace) -> None:
    """Delete the round's links as one group (one RCU wait), before the next tool runs."""
    with macvlan.connect(ns) as rt:
        rt.delete_links(rt.links(kind="macvlan"))
    assert ip_count(str(ns.name)) == 0


@contextlib.contextmanager
def namespaces(count: int) -> Iterator[list[Namespace]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(throwaway_namespace("mvba")) for _ in range(count)]


def line(what: str, wall: float, cpu: float) -> str:
    return f"{what:<44} {wall * 1000:8.1f} ms {N / wall:8,.0f}/s   cpu {cpu * 1000:7.1f} ms"


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("bench_aio.py needs root (it creates network namespaces)")
    runs: dict[str, list[tuple[float, float]]] = {"aio": [], "sync": [], "pyroute2": []}
    with namespaces(3) as (ns_aio, ns_sync, ns_pr):
        for _ in range(ROUNDS):
            runs["aio"].append(asyncio.run(bench_aio(ns_aio)))
            clear(ns_aio)
            runs["sync"].append(bench_sync(ns_sync))
            clear(ns_sync)
            runs["pyroute2"].append(asyncio.run(bench_pyroute2(ns_pr)))
            clear(ns_pr)
    results = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
    print(f"create {N:,} macvlans with their MACs, best of {ROUNDS} rounds (backend: "
          f"{macvlan._netlink.backend})")  # fmt: skip
    print(line("ours, asyncio: 1,000 tasks, one connection", *results["aio"]))
    print(line("ours, sync pipelined: create_macvlans", *results["sync"]))
    print(line("pyroute2 AsyncIPRoute: 1,000 tasks", *results["pyroute2"]))
    aio_wall, aio_cpu = results["aio"]
    print(
        f"cpu ratios: vs pyroute2 async {results['pyroute2'][1] / aio_cpu:.2f}, "
        f"sync/aio {results['sync'][1] / aio_cpu:.2f}"
    )
    print(
        f"RATIOS aio_create_vs_pyroute2_async={results['pyroute2'][0] / aio_wall:.2f} "
        f"aio_vs_sync={results['sync'][0] / aio_wall:.2f}"
    )


if __name__ == "__main__":
    main()
