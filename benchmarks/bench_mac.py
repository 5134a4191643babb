"""MAC address parsing and formatting: macvlan.MacAddress against netaddr and macaddress.

All contenders run in the same process on the same random addresses; repeats are
interleaved and the best of each is kept (GC off while timing, as timeit does, except
for the "GC on" row: a program's collections included, the rest of macvlan loaded;
its ratio is ``parse_gc_vs_netaddr``).  Every contender is timed by the same clock,
the timing thread's CPU time, so that other load on the machine does not decide the
ratios; the GC-on row is also timed by the wall clock (``parse_gc_wall_vs_netaddr``).
The last line is ``RATIOS key=value ...``: ours divided by theirs, higher is better.

    python benchmarks/bench_mac.py [--repeats N] [--count N]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import macaddress
import netaddr

from macvlan.mac import MacAddress, SlapQuadrant


def best_rate(
    contenders: dict[str, Callable[[], object]],
    items: int,
    repeats: int,
    *,
    gc_on: bool = False,
    clock: Callable[[], float] = time.thread_time,
) -> dict[str, float]:
    """Items per second for each contender: best of ``repeats``, repeats interleaved.

    GC is off while timing unless ``gc_on``: then the collections that the
    contender's own allocations trigger are part of its time, as in a program.
    Timed by ``clock``: by default this thread's CPU time, which leaves out the time
    the scheduler gives other processes (a loaded machine otherwise decides which
    contender a preemption lands on); the same clock for every contender.
    """
    best = dict.fromkeys(contenders, float("inf"))
    gc_was_enabled = gc.isenabled()
    gc.collect()
    if gc_on:
        gc.enable()
    else:
        gc.disable()
    try:
        for _ in range(repeats):
            for name, run in contenders.items():
                start = clock()
                kept = run()  # freed after the clock is read: a parse's cost, not a free's
                elapsed = clock() - start
                del kept
                best[name] = min(best[name], elapsed)
                gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: items / t for name, t in best.items()}


def show(title: str, rates: dict[str, float]) -> None:
    cells = ", ".join(f"{name} {rate / 1e6:.3f} M/s" for name, rate in rates.items())
    print(f"{title:<34} {cells}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="addresses per run")
    parser.add_argument("--repeats", type=int, default=7, help="runs per contender")
    args = parser.parse_args(argv)
    count, repeats = args.count, args.repeats

    rng = random.Random(20240601)
    ints = [rng.getrandbits(48) for _ in range(count)]
    ours = [MacAddress(n) for n in ints]
    colon = [m.format("colon") for m in ours]
    hyphen_upper = [m.format("HYPHEN") for m in ours]
    cisco = [m.format("cisco") for m in ours]
    bare = [m.format("bare") for m in ours]

    # sanity: every contender reads the same values
    EUI, MAC = netaddr.EUI, macaddress.MAC
    assert [int(EUI(s)) for s in colon[:200]] == ints[:200]
    assert [int(MAC(s)) for s in colon[:200]] == ints[:200]
    assert [int(MacAddress(s)) for s in colon] == ints

    print(f"python {sys.version.split()[0]}, netaddr {netaddr.__version__}, macaddress")
    print(
        f"{count} random addresses, best of {repeats} interleaved runs, GC off while timing, "
        "timed in this thread's CPU time (the wall clock for the GC-on row's second line)"
    )

    parse = best_rate(
        {
            "ours": lambda: list(map(MacAddress, colon)),
            "netaddr": lambda: list(map(EUI, colon)),
            "macaddress": lambda: list(map(MAC, colon)),
            "int(s.replace)": lambda: [int(s.replace(":", ""), 16) for s in colon],
        },
        count,
        repeats,
    )
    show("parse 00:1b:77:49:54:fd", parse)

    # As a program meets it: GC on, with the rest of the library loaded (a bigger heap
    # for every full collection to walk), each result kept.
    import macvlan.connection
    import macvlan.network  # noqa: F401

    parse_gc = best_rate(
        {
            "ours": lambda: [MacAddress(s) for s in colon],
            "netaddr": lambda: [EUI(s) for s in colon],
            "macaddress": lambda: [MAC(s) for s in colon],
        },
        count,
        repeats,
        gc_on=True,
    )
    show("parse, GC on, library loaded", parse_gc)
    parse_gc_wall = best_rate(
        {
            "ours": lambda: [MacAddress(s) for s in colon],
            "netaddr": lambda: [EUI(s) for s in colon],
        },
        count,
        repeats,
        gc_on=True,
        clock=time.perf_counter,
    )
    show("  the same by the wall clock", parse_gc_wall)

    other_forms: dict[str, tuple[str, list[Any]]] = {
        "parse_hyphen": ("parse 00-1B-77-49-54-FD", hyphen_upper),
        "parse_cisco": ("parse 001b.7749.54fd", cisco),
        "parse_bare": ("parse 001b774954fd", bare),
        "from_int": ("from int", ints),
    }
    by_form: dict[str, dict[str, float]] = {}
    for key, (title, values) in other_forms.items():
        by_form[key] = best_rate(
            {
                "ours": lambda v=values: list(map(MacAddress, v)),
                "netaddr": lambda v=values: list(map(EUI, v)),
                "macaddress": lambda v=values: list(map(MAC, v)),
            },
            count,
            max(2, repeats // 2),
        )
        show(title, by_form[key])

    theirs_netaddr = [EUI(n) for n in ints]
    theirs_macaddress = [MAC(n) for n in ints]
    fmt = best_rate(
        {
            "ours": lambda: list(map(str, ours)),
            "netaddr": lambda: list(map(str, theirs_netaddr)),
            "macaddress": lambda: list(map(str, theirs_macaddress)),
        },
        count,
        repeats,
    )
    show("str()", fmt)

    unix_expanded = netaddr.mac_unix_expanded
    fmt_colon = best_rate(
        {
            "ours": lambda: [m.format("colon") for m in ours],
            "netaddr": lambda: [e.format(unix_expanded) for e in theirs_netaddr],
        },
        count,
        max(2, repeats // 2),
    )
    show("format colon", fmt_colon)

    sort = best_rate(
        {
            "ours": lambda: sorted(ours),
            "netaddr": lambda: sorted(theirs_netaddr),
            "macaddress": lambda: sorted(theirs_macaddress),
        },
        count,
        max(2, repeats // 2),
    )
    show("sort", sort)

    seeded = random.Random(1)
    gen = best_rate(
        {
            "random(rng=Random)": lambda: [MacAddress.random(rng=seeded) for _ in range(count)],
            "random() secrets": lambda: [MacAddress.random() for _ in range(count)],
            "random(None)": lambda: [MacAddress.random(None, seeded) for _ in range(count)],
            "from_oui": lambda: [MacAddress.from_oui("52:54:00", seeded) for _ in range(count)],
            "stable(key=...)": lambda: [
                MacAddress.stable(f"mv{i}", key=b"0123456789abcdef") for i in range(count // 10)
            ],
        },
        count,
        2,
    )
    gen["stable(key=...)"] /= 10
    show("generate (ours only)", gen)
    assert MacAddress.random(SlapQuadrant.AAI, seeded).slap_quadrant is SlapQuadrant.AAI

    def vs(rates: dict[str, float], peer: str = "netaddr") -> float:
        return rates["ours"] / rates[peer]

    ratios = {
        "parse_vs_netaddr": vs(parse),
        "parse_gc_vs_netaddr": vs(parse_gc),
        "parse_gc_wall_vs_netaddr": vs(parse_gc_wall),
        "format_vs_netaddr": vs(fmt),
        "parse_vs_macaddress": vs(parse, "macaddress"),
        "format_vs_macaddress": vs(fmt, "macaddress"),
        **{f"{key}_vs_netaddr": vs(rates) for key, rates in by_form.items()},
        "format_colon_vs_netaddr": vs(fmt_colon),
        "sort_vs_netaddr": vs(sort),
        "parse_mps": parse["ours"] / 1e6,
        "format_mps": fmt["ours"] / 1e6,
    }
    print("RATIOS " + " ".join(f"{k}={v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
