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

While the asyncio tools work, a ticker task yields to the loop over and over; the
longest time between two of its turns is the longest stall any other task saw
(the longest over the rounds is reported, ours and pyroute2's), and beside it the
longest single garbage collection in the same time (a full collection walks every
live object, the thousand links kept included, and stalls the loop by itself).
Each turn starts with the garbage of the previous ones collected (``gc.collect()``
outside the measured time): each tool's figures count its own garbage, not the
cycles another tool left behind.

Each stall is also counted in the loop thread's CPU time (``time.thread_time``):
the part of it the loop itself spent working, without the time the scheduler gave
to other processes on a loaded machine.

Last line: ``RATIOS aio_create_vs_pyroute2_async=X aio_vs_sync=Y stall_ms=S
stall_cpu_ms=C idle_stall_ms=I stall_vs_pyroute2=R`` where X is pyroute2's time
over ours, Y the synchronous path's time over the asyncio one (> 1 means the
asyncio path is faster), S our longest stall in milliseconds (goal: 10), C the
same in the loop thread's CPU time, I an idle loop's longest stall over the same
time and R pyroute2's over ours.  Run as root:
``python benchmarks/bench_aio.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import time
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


STALLS: dict[str, list[float]] = {"aio": [], "pyroute2": [], "idle": []}
GC_PAUSES: dict[str, list[float]] = {"aio": [], "pyroute2": [], "idle": []}
# the same, counted in the loop thread's CPU time: what the loop itself spent, without
# the time the machine's scheduler gave to other processes meanwhile
STALLS_CPU: dict[str, list[float]] = {"aio": [], "pyroute2": [], "idle": []}
GC_PAUSES_CPU: dict[str, list[float]] = {"aio": [], "pyroute2": [], "idle": []}


async def idle(seconds: float) -> None:
    """The floor for stalls: the same ticker on a loop with nothing else to do (what
    the machine's scheduler and other load impose), for as long as a round takes."""

    async def nothing() -> None:
        await asyncio.sleep(seconds)

    await measure(nothing, "idle")


async def measure(work: Callable[[], Awaitable[Any]], tool: str) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, result) of one awaited call.

    Meanwhile a ticker task yields to the loop over and over and records the longest
    time between two of its turns: the longest stall another task on the loop saw.
    """
    loop = asyncio.get_running_loop()
    done = False
    longest = longest_cpu = 0.0

    async def ticker() -> None:
        nonlocal longest, longest_cpu
        last, last_cpu = time.perf_counter(), time.thread_time()
        while not done:
            await asyncio.sleep(0)
            now, now_cpu = time.perf_counter(), time.thread_time()
            longest = max(longest, now - last)
            longest_cpu = max(longest_cpu, now_cpu - last_cpu)
            last, last_cpu = now, now_cpu

    # (start of the collection in progress: wall, CPU; the longest so far: wall, CPU)
    pause = [0.0, 0.0, 0.0, 0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            pause[0], pause[1] = time.perf_counter(), time.thread_time()
        else:
            pause[2] = max(pause[2], time.perf_counter() - pause[0])
            pause[3] = max(pause[3], time.thread_time() - pause[1])

    # The garbage the previous turn left (pyroute2's cycles: some 60,000 objects) is
    # collected before this one starts, so that no tool's stall counts another's.
    gc.collect()
    tick = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    gc.callbacks.append(on_gc)
    cpu = cpu_seconds()
    start = loop.time()
    try:
        result = await work()
    finally:
        gc.callbacks.remove(on_gc)
    wall = loop.time() - start
    done = True
    await tick
    STALLS[tool].append(longest)
    STALLS_CPU[tool].append(longest_cpu)
    GC_PAUSES[tool].append(pause[2])
    GC_PAUSES_CPU[tool].append(pause[3])
    return wall, cpu_seconds() - cpu, result


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

        wall, cpu, links = await measure(work, "aio")
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

        wall, cpu, _ = await measure(work, "pyroute2")
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
            asyncio.run(idle(runs["aio"][-1][0]))
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
    stall = {tool: max(values) for tool, values in STALLS.items()}
    for tool, values in STALLS.items():
        print(
            f"longest event-loop stall, {tool}: {stall[tool] * 1e3:.1f} ms "
            f"(rounds: {', '.join(f'{v * 1e3:.1f}' for v in values)} ms)"
        )
    stall_cpu = {tool: max(values) for tool, values in STALLS_CPU.items()}
    for tool, values in STALLS_CPU.items():
        print(
            f"  the same in the loop thread's CPU time, {tool}: {stall_cpu[tool] * 1e3:.1f} ms "
            f"(rounds: {', '.join(f'{v * 1e3:.1f}' for v in values)} ms)"
        )
    for tool in ("aio", "pyroute2"):
        print(
            f"longest garbage collection during {tool}: {max(GC_PAUSES[tool]) * 1e3:.1f} ms "
            f"(rounds: {', '.join(f'{v * 1e3:.1f}' for v in GC_PAUSES[tool])} ms), "
            f"CPU {max(GC_PAUSES_CPU[tool]) * 1e3:.1f} ms"
        )
    print(f"goal stall <= 10 ms: {'met' if stall['aio'] <= 0.010 else 'MISSED'} (an idle loop's")
    print(f"  longest over the same time, the machine's own floor: {stall['idle'] * 1e3:.1f} ms)")
    print(
        f"RATIOS aio_create_vs_pyroute2_async={results['pyroute2'][0] / aio_wall:.2f} "
        f"aio_vs_sync={results['sync'][0] / aio_wall:.2f} "
        f"stall_ms={stall['aio'] * 1e3:.1f} "
        f"stall_cpu_ms={stall_cpu['aio'] * 1e3:.1f} "
        f"idle_stall_ms={stall['idle'] * 1e3:.1f} "
        f"stall_vs_pyroute2={stall['pyroute2'] / stall['aio']:.2f}"
    )


if __name__ == "__main__":
    main()
