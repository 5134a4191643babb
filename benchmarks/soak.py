"""Issue 8 soak and scale run: does the library leak, and does it stay flat at scale?

Soak.  ``--cycles`` (default 10,000) create/move/set/delete cycles across two
throw-away namespaces, A (holding the parent, veth p0/p1) and B:

- create: ``create_macvlan(..., netns=B)`` on p0 in A, straight into B (the
  library creates it under a temporary name and renames it inside B: a namespace
  move at creation); every ``--move-every``-th cycle instead creates it in A and
  moves it with ``set_link(netns=B)``, a real move (about 30 ms of kernel RCU wait);
- set: MTU and up, in B;
- delete: the cycle's links are deleted in batches of ``--delete-batch`` with
  ``delete_links`` (one RCU wait per batch); the real-move cycles delete their own
  link one by one with ``delete_link``.

It runs twice: through one connection per namespace, then through ``--connections``
(default 10) threads, each with its own connections and its own destination
namespace (``--shared-namespace``: all into one B, where every thread's
``delete_links`` races the others' changes; any DumpInterrupted is counted).
Then ``--network-cycles`` (default 300) attach/detach cycles on one
macvlan.Network.  Before and after each
run it reads open descriptors (/proc/self/fd), threads, RSS (VmRSS), live Python
memory blocks, and what is left in the namespaces (and the store).

Scale.  In a fresh namespace, with 100, 1,000 and 10,000 macvlans existing on one
parent: the cost of creating one more (ours; the bare kernel request on the same
socket; ``ip -batch`` as the peer), of looking one up by name, of a full typed
listing per link and of ``Network.attach`` of one endpoint on that parent; then, on
a network of its own, of attaching endpoints 1, 100 and 500 (``--endpoints``).  The
curve is printed and, if matplotlib is importable, drawn to benchmarks/out/scale.png.

Last line: ``RATIOS soak_cycles_per_s=... fd_growth=... rss_growth_kib=... ...``.
Run as root: ``python benchmarks/soak.py [--cycles N]``.  Nothing outside the
namespaces it creates is touched; they are removed also when it fails.
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _peers import throwaway_namespace

import macvlan
from macvlan import MacvlanSpec, Namespace
from macvlan._netlink.message import Message
from macvlan._operations.effects import macvlan_message
from macvlan.connection import Connection
from macvlan.errors import DumpInterrupted

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
PREFIX = f"mvsoak-{os.getpid()}-{secrets.token_hex(2)}"


# -- process figures ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    fds: int
    threads: int
    rss_kib: int
    blocks: int  # Python objects' memory blocks alive (sys.getallocatedblocks)

    @classmethod
    def now(cls) -> Figures:
        gc.collect()
        with open("/proc/self/status") as f:
            status = dict(line.split(":", 1) for line in f.read().splitlines())
        return cls(
            fds=len(os.listdir("/proc/self/fd")),
            threads=int(status["Threads"]),
            rss_kib=int(status["VmRSS"].split()[0]),
            blocks=sys.getallocatedblocks(),
        )

    def __str__(self) -> str:
        return (
            f"fds {self.fds:4d}  threads {self.threads:3d}  RSS {self.rss_kib:8,d} KiB  "
            f"Python blocks {self.blocks:9,d}"
        )


def our_namespaces() -> list[str]:
    return [n for n in Namespace.list() if n.startswith(PREFIX)]


def namespace(tag: str, veth: bool = False) -> AbstractContextManager[Namespace]:
    return throwaway_namespace(name=f"{PREFIX}-{tag}", veth=veth)


def pct(values: array, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- soak ------------------------------------------------------------------------------------------
@dataclass
class Worker:
    """One thread's connections and the links it has made but not yet deleted."""

    tag: str
    a: Connection
    b: Connection
    b_ns: Namespace
    move_every: int
    delete_batch: int
    pending: list[str]
    cycle_times: array  # of doubles: no Python object per cycle to count as growth
    deleted: int = 0
    interrupted: int = 0

    def cycle(self, i: int) -> None:
        start = time.perf_counter()
        name = f"{self.tag}{i}"
        if self.move_every and i % self.move_every == self.move_every - 1:
            self.a.create_macvlan(name, "p0")
            self.a.set_link(name, netns=self.b_ns)  # a real namespace move
            self.b.set_link(name, mtu=1400, up=True)
            self.b.delete_link(name)
            self.deleted += 1
        else:
            self.a.create_macvlan(name, "p0", netns=self.b_ns)
            self.b.set_link(name, mtu=1400, up=True)
            self.pending.append(name)
            if len(self.pending) >= self.delete_batch:
                self.flush()
        self.cycle_times.append(time.perf_counter() - start)

    def flush(self, *, final: bool = False) -> None:
        """Delete the pending links in one batch.

        Should ``delete_links`` give up with DumpInterrupted (it used to dump the
        namespace, which other threads keep changing), that is counted and the
        links are retried at the next flush.
        """
        if not self.pending:
            return
        attempts = 100 if final else 1
        for attempt in range(attempts):
            try:
                self.deleted += self.b.delete_links(self.pending)
            except DumpInterrupted:
                self.interrupted += 1
                if attempt == attempts - 1:
                    if final:
                        raise
                    return
                time.sleep(0.01)
            else:
                self.pending.clear()
                return


def run_cycles(
    a_ns: Namespace, b_nss: list[Namespace], cycles: int, threads: int, args: argparse.Namespace
) -> tuple[float, array, int, int]:
    """(seconds, per-cycle times, links deleted, DumpInterrupted count) for ``cycles``
    cycles over ``threads``; thread k moves its links into ``b_nss[k % len(b_nss)]``."""
    workers = [
        Worker(
            f"s{k}x",
            Connection(a_ns),
            Connection(b_nss[k % len(b_nss)]),
            b_nss[k % len(b_nss)],
            args.move_every,
            args.delete_batch,
            [],
            array("d"),
        )
        for k in range(threads)
    ]
    errors: list[BaseException] = []

    def work(worker: Worker, first: int, count: int) -> None:
        try:
            for i in range(first, first + count):
                worker.cycle(i)
        except BaseException as exc:
            errors.append(exc)

    share = cycles // threads
    try:
        start = time.perf_counter()
        if threads == 1:
            work(workers[0], 0, cycles)
        else:
            pool = [
                threading.Thread(target=work, args=(w, 0, share + (k < cycles % threads)))
                for k, w in enumerate(workers)
            ]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
        for w in workers:  # the churn is over: what is left deletes now
            w.flush(final=True)
        seconds = time.perf_counter() - start
    finally:
        for w in workers:
            w.a.close()
            w.b.close()
    if errors:
        raise errors[0]
    times = array("d")
    for w in workers:
        times.extend(w.cycle_times)
    interrupted = sum(w.interrupted for w in workers)
    return seconds, times, sum(w.deleted for w in workers), interrupted


def leftovers(a_ns: Namespace, b_nss: list[Namespace]) -> int:
    with a_ns.connect() as a:
        extra_a = [x.name for x in a.links() if x.name not in ("lo", "p0", "p1")]
    extra_b = []
    for b_ns in b_nss:
        with b_ns.connect() as b:
            extra_b += [x.name for x in b.links() if x.name != "lo"]
    if extra_a or extra_b:
        print(f"  LEFT OVER: in A {extra_a[:5]}..., in B {extra_b[:5]}...")
    return len(extra_a) + len(extra_b)


def soak(args: argparse.Namespace) -> dict[str, float]:
    out: dict[str, float] = {}
    start_figures = Figures.now()
    print(f"soak: {args.cycles:,} create/move/set/delete cycles per run; A holds p0, B the links")
    print(f"  at start                       {start_figures}")
    with ExitStack() as stack:
        a_ns = stack.enter_context(namespace("a", veth=True))
        b_nss = [stack.enter_context(namespace(f"b{k}")) for k in range(args.connections)]
        for label, threads in (("one", 1), ("many", args.connections)):
            # by default each thread moves its links into a namespace of its own;
            # --shared-namespace puts them all in one, where the threads race
            # each other's changes
            where = b_nss[:1] if args.shared_namespace or threads == 1 else b_nss
            warm = max(args.connections, min(200, args.cycles // 50))
            run_cycles(a_ns, where, warm, threads, args)  # warm-up: caches, allocator
            before = Figures.now()
            seconds, times, deleted, interrupted = run_cycles(
                a_ns, where, args.cycles, threads, args
            )
            after = Figures.now()
            left = leftovers(a_ns, b_nss)
            what = (
                "1 thread, 1 connection per namespace"
                if threads == 1
                else f"{threads} threads, each with its own connections"
                + (
                    ", all moving into one namespace"
                    if len(where) == 1
                    else ", each moving into a namespace of its own"
                )
            )
            print(f"- {what}:")
            print(f"  before                         {before}")
            print(f"  after                          {after}")
            print(
                f"  {args.cycles:,} cycles in {seconds:6.1f} s = {args.cycles / seconds:7.1f}/s"
                f"; cycle p50 {pct(times, 0.5) * 1e3:.2f} ms, p99 {pct(times, 0.99) * 1e3:.2f} ms,"
                f" max {max(times) * 1e3:.1f} ms; {deleted:,} links deleted; {left} left over"
            )
            if interrupted:
                print(
                    f"  delete_links failed {interrupted} times with DumpInterrupted (its dump "
                    "raced the other threads' changes; retried at the next batch)"
                )
            out[f"{label}_dump_interrupted"] = interrupted
            out[f"{label}_cycles_per_s"] = args.cycles / seconds
            out[f"{label}_fd_growth"] = after.fds - before.fds
            out[f"{label}_thread_growth"] = after.threads - before.threads
            out[f"{label}_rss_growth_kib"] = after.rss_kib - before.rss_kib
            out[f"{label}_block_growth"] = after.blocks - before.blocks
            out[f"{label}_leftover_links"] = left
    end_figures = Figures.now()
    out["netns_left"] = len(our_namespaces())
    out["final_fd_growth"] = end_figures.fds - start_figures.fds
    print(f"  at end (namespaces deleted)    {end_figures}")
    print(f"  our namespaces left: {int(out['netns_left'])}")
    return out


def drain(timeout: float = 10.0) -> None:
    """Wait for the short-lived threads Network.detach leaves to wait out each
    deletion's RCU grace period, so that they are not counted as growth."""
    deadline = time.monotonic() + timeout
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.05)


def network_soak(args: argparse.Namespace) -> dict[str, float]:
    """``--network-cycles`` attach/detach cycles on one Network (10 container
    namespaces, one endpoint each at a time): process figures and what is left in the
    kernel and in the store."""
    out: dict[str, float] = {}
    cycles = args.network_cycles
    print(f"network soak: {cycles:,} attach/detach cycles on one macvlan.Network")
    with ExitStack() as stack:
        host = stack.enter_context(namespace("nsoak", veth=True))
        containers = [stack.enter_context(namespace(f"nc{i}")) for i in range(10)]
        net = stack.enter_context(network_on(host, "p0", "10.72.0.0/16"))
        for k in range(10):  # warm-up
            net.detach(net.attach(containers[k], ifname="eth0"))
        drain()
        before = Figures.now()
        times = array("d")
        start = time.perf_counter()
        for k in range(cycles):
            t0 = time.perf_counter()
            endpoint = net.attach(containers[k % 10], ifname="eth0")
            net.detach(endpoint)
            times.append(time.perf_counter() - t0)
        seconds = time.perf_counter() - start
        drain()
        after = Figures.now()
        rows = len(net.store.endpoints(net.name))
        with host.connect() as rt:
            left = [x.name for x in rt.links(kind="macvlan")]
        for c in containers:
            with c.connect() as rt:
                left += [x.name for x in rt.links() if x.name != "lo"]
    print(f"  before                         {before}")
    print(f"  after                          {after}")
    print(
        f"  {cycles:,} cycles in {seconds:5.1f} s = {cycles / seconds:6.1f}/s; cycle p50 "
        f"{pct(times, 0.5) * 1e3:.2f} ms, p99 {pct(times, 0.99) * 1e3:.2f} ms; "
        f"{len(left)} links and {rows} endpoint records left"
    )
    out["network_cycles_per_s"] = cycles / seconds
    out["network_fd_growth"] = after.fds - before.fds
    out["network_rss_growth_kib"] = after.rss_kib - before.rss_kib
    out["network_block_growth"] = after.blocks - before.blocks
    out["network_leftovers"] = len(left) + rows
    return out


# -- scale -------------------------------------------------------------------------------------
def median_cost(fn: Callable[[int], object], repeat: int) -> float:
    times = []
    for j in range(repeat):
        start = time.perf_counter()
        fn(j)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextmanager
def network_on(host: Namespace, parent: str, subnet: str) -> Iterator[Any]:
    """A macvlan.Network on ``parent`` in ``host`` (internal: no default routes, so one
    container namespace can hold many endpoints), its store in a temporary directory."""
    from macvlan import Network

    with tempfile.TemporaryDirectory(prefix="mvsoak-store-") as store:
        net = Network.create(
            "soak",
            parent,
            subnet=subnet,
            netns=host,
            internal=True,
            store=os.path.join(store, "networks.db"),
        )
        try:
            yield net
        finally:
            try:
                net.remove(force=True)
            finally:
                net.close()


def attach_curve(endpoints: int) -> dict[int, float]:
    """Seconds to attach endpoint k for k in 5, 100, ``endpoints``: the median of the
    five attaches ending at k, on a fresh parent, spread over 10 container namespaces."""
    marks = sorted({min(5, endpoints), min(100, endpoints), endpoints})
    times: list[float] = []
    with ExitStack() as stack:
        host = stack.enter_context(namespace("net", veth=True))
        containers = [stack.enter_context(namespace(f"c{i}")) for i in range(10)]
        net = stack.enter_context(network_on(host, "p0", "10.64.0.0/16"))
        for k in range(1, endpoints + 1):
            start = time.perf_counter()
            net.attach(containers[k % 10], ifname=f"e{k}")
            times.append(time.perf_counter() - start)
    return {k: statistics.median(times[max(0, k - 5) : k]) for k in marks}


def has_network() -> bool:
    try:
        import macvlan.network  # noqa: F401
    except ImportError:
        return False
    return True


def scale(args: argparse.Namespace) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Cost per operation with N macvlans on one parent, ours against the bare kernel
    request (same socket, message built beforehand) and ``ip -batch``."""
    sizes = [int(s) for s in args.scale.split(",") if s]
    rows: list[dict[str, float]] = []
    network = args.endpoints > 0 and has_network()
    print(f"scale: cost per operation with N macvlans on one parent ({', '.join(map(str, sizes))})")
    with ExitStack() as stack:
        ns = stack.enter_context(namespace("scale", veth=True))
        rt = stack.enter_context(ns.connect())
        if network:
            container = stack.enter_context(namespace("c"))
            net = stack.enter_context(network_on(ns, "p0", "10.80.0.0/16"))
        parent = rt.link("p0").index
        made = 0
        for n in sizes:
            while made < n:  # grow in pipelined batches
                chunk = min(1000, n - made)
                rt.create_macvlans(MacvlanSpec(f"m{made + i}", "p0") for i in range(chunk))
                made += chunk
            ours = [f"x{n}-{j}" for j in range(args.repeat)]
            create = median_cost(lambda j, e=ours: rt.create_macvlan(e[j], "p0"), args.repeat)
            bare = [raw_create(f"y{n}-{j}", parent) for j in range(args.repeat)]
            kernel = median_cost(lambda j, m=bare: rt._sock.request(m[j], "create"), args.repeat)
            ip_each = ip_batch_create(ns, [f"z{n}-{j}" for j in range(args.repeat)])
            rt.delete_links(ours + [f"y{n}-{j}" for j in range(args.repeat)])
            rt.delete_links([f"z{n}-{j}" for j in range(args.repeat)])
            names = [f"m{(j * 7919) % n}" for j in range(args.repeat * 5)]
            lookup = median_cost(lambda j, m=names: rt.link(m[j]), args.repeat * 5)
            start = time.perf_counter()
            listed = rt.links()
            listing = (time.perf_counter() - start) / len(listed)
            row = {
                "n": n,
                "create": create,
                "kernel": kernel,
                "ip": ip_each,
                "lookup": lookup,
                "list_per_link": listing,
            }
            line = (
                f"  N={n:6,d}: create one more {create * 1e3:6.2f} ms (bare kernel request "
                f"{kernel * 1e3:5.2f} ms, ip -batch {ip_each * 1e3:5.2f} ms), lookup by name "
                f"{lookup * 1e3:5.3f} ms, full listing {listing * 1e6:5.1f} us per link"
            )
            if network:
                start = time.perf_counter()
                endpoint = net.attach(container, ifname="eth0")
                row["attach"] = time.perf_counter() - start
                net.detach(endpoint)
                line += f", attach one endpoint {row['attach'] * 1e3:6.1f} ms"
            rows.append(row)
            print(line)
    curve: dict[int, float] = {}
    if network:
        curve = attach_curve(args.endpoints)
        print(
            "  attach endpoint k on a network of its own: "
            + ", ".join(f"k={k}: {v * 1e3:.1f} ms" for k, v in curve.items())
        )
    elif args.endpoints:
        print("  macvlan.network is not there: attach costs left out")
    first, last = rows[0], rows[-1]
    big = int(last["n"])
    out = {
        f"create_ms_at_{big}": last["create"] * 1e3,
        f"create_{big}_vs_{int(first['n'])}": last["create"] / first["create"],
        f"kernel_create_{big}_vs_{int(first['n'])}": last["kernel"] / first["kernel"],
        f"create_vs_ip_at_{big}": last["ip"] / last["create"],
        f"lookup_ms_at_{big}": last["lookup"] * 1e3,
        f"lookup_{big}_vs_{int(first['n'])}": last["lookup"] / first["lookup"],
    }
    if network:
        out[f"attach_ms_parent_{big}"] = last["attach"] * 1e3
        k = max(curve)
        out[f"attach_ms_at_{k}"] = curve[k] * 1e3
        out[f"attach_{k}_vs_1"] = curve[k] / curve[min(curve)]
    draw(rows, curve)
    return out, rows


def raw_create(name: str, parent: int) -> Message:
    """The creating request alone, built ahead of timing (what the kernel costs)."""
    return macvlan_message(MacvlanSpec(name, parent), parent, name, netns_fd=None, up=False)


def ip_batch_create(ns: Namespace, names: list[str]) -> float:
    """Seconds per link for ``ip -n NS -batch`` creating ``names`` (the peer)."""
    with tempfile.NamedTemporaryFile("w", suffix=".ipbatch") as f:
        f.write("".join(f"link add {n} link p0 type macvlan mode bridge\n" for n in names))
        f.flush()
        start = time.perf_counter()
        subprocess.run(["ip", "-n", str(ns.name), "-batch", f.name], check=True)
        return (time.perf_counter() - start) / len(names)


def draw(rows: list[dict[str, float]], curve: dict[int, float]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: no PNG; pip install matplotlib)")
        return
    os.makedirs(OUT, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ns = [r["n"] for r in rows]
    series = [
        ("create", "o-", "create one more (ours)"),
        ("kernel", "o--", "create one more (bare kernel request)"),
        ("ip", "x:", "create one more (ip -batch, per link)"),
        ("lookup", "s-", "look one up by name"),
        ("list_per_link", "^-", "full typed listing, per link"),
        ("attach", "D-", "Network.attach one endpoint"),
    ]
    for key, style, label in series:
        if all(key in r for r in rows):
            ax.plot(ns, [r[key] * 1e3 for r in rows], style, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("macvlans existing on the parent")
    ax.set_ylabel("ms per operation (median)")
    title = "macvlan: cost per operation at scale"
    if curve:
        title += "\nattach on a fresh network: " + ", ".join(
            f"#{k} {v * 1e3:.1f} ms" for k, v in curve.items()
        )
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(OUT, "scale.png")
    fig.savefig(path, dpi=110)
    print(f"  curve drawn to {os.path.relpath(path)}")


# -- main --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--move-every", type=int, default=50, help="0: never a real move")
    parser.add_argument("--delete-batch", type=int, default=100)
    parser.add_argument("--scale", default="100,1000,10000", help="comma-separated N; '' skips")
    parser.add_argument("--repeat", type=int, default=40, help="samples per scale figure")
    parser.add_argument("--endpoints", type=int, default=500, help="0 skips the attach figure")
    parser.add_argument(
        "--shared-namespace",
        action="store_true",
        help="the threads all move their links into one namespace",
    )
    parser.add_argument("--network-cycles", type=int, default=300, help="0 skips them")
    parser.add_argument("--no-soak", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak.py needs root: it creates network namespaces")
    if args.cycles < args.connections:
        parser.error("--cycles must be at least --connections")

    ratios: dict[str, float] = {}
    try:
        if not args.no_soak:
            ratios.update(soak(args))
            if args.network_cycles and has_network():
                ratios.update(network_soak(args))
        if args.scale:
            scale_ratios, _ = scale(args)
            ratios.update(scale_ratios)
    finally:
        for name in our_namespaces():  # only ever ours: the prefix holds our pid
            Namespace.open(name).delete(missing_ok=True)
    with macvlan.connect() as root:
        root_macvlans = len(root.links(kind="macvlan"))
    print(
        f"our namespaces left: {len(our_namespaces())}; macvlans in the root namespace: "
        f"{root_macvlans}"
    )

    keys = ["soak_cycles_per_s", "fd_growth", "rss_growth_kib"]
    summary: dict[str, float] = {}
    if not args.no_soak:
        summary = {
            "soak_cycles_per_s": ratios["one_cycles_per_s"],
            "fd_growth": max(ratios["one_fd_growth"], ratios["many_fd_growth"]),
            "rss_growth_kib": max(ratios["one_rss_growth_kib"], ratios["many_rss_growth_kib"]),
            "many_cycles_per_s": ratios["many_cycles_per_s"],
            "thread_growth": max(ratios["one_thread_growth"], ratios["many_thread_growth"]),
            "block_growth": max(ratios["one_block_growth"], ratios["many_block_growth"]),
            "leftover_links": ratios["one_leftover_links"] + ratios["many_leftover_links"],
            "leftover_netns": ratios["netns_left"],
            "dump_interrupted": ratios["one_dump_interrupted"] + ratios["many_dump_interrupted"],
        }
    summary.update(
        {
            k: v
            for k, v in ratios.items()
            if k.startswith(("network", "create", "kernel", "lookup", "attach"))
        }
    )
    print(
        "RATIOS "
        + " ".join(
            f"{k}={summary[k]:.4g}"
            for k in [*[k for k in keys if k in summary], *[k for k in summary if k not in keys]]
        )
    )


if __name__ == "__main__":
    main()
