"""First use: what ``import macvlan`` and the first name a program touches cost, as
whole processes over a bare interpreter, beside pyroute2.

Each case is a fresh ``python -S -c CODE`` process (this interpreter; no ``site``,
so that no ``.pth`` file imports anything first; the checkout, then site-packages
on ``sys.path``; run from ``/``); the cases take turns for ``--runs`` rounds and
each figure is the median of its runs minus the median of ``python -S -c pass``,
so it is what the import adds.  Time is the children's CPU time (user + system),
which moves far less than wall time when other work shares the machine.
The checkout is byte-compiled first, as ``pip install`` does.
The slowest modules of each case by their own import time (``-X importtime``) are
printed to show where the rest goes.

Last line: ``RATIOS key=value ...``: ``connect_ms`` and ``network_ms`` are ours in
milliseconds (goals: 25 and 40), ``connect_vs_pyroute2`` pyroute2's cost over ours.

    python benchmarks/bench_import.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = {
    "bare": "pass",
    "connect": "import macvlan; macvlan.connect",
    "Network": "import macvlan; macvlan.Network",
    "MacAddress": "import macvlan; macvlan.MacAddress",
    "pyroute2": "import pyroute2; pyroute2.IPRoute",
}


def env() -> dict[str, str]:
    """The checkout first, then this interpreter's site-packages (for cffi, pyroute2)."""
    import site

    path = [ROOT, *site.getsitepackages()]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


# -S: no site, so no .pth file (an editable install's finder, say) loads modules such
# as enum or re before the code runs and hides what importing macvlan costs.
PYTHON = [sys.executable, "-S"]


def run_once(code: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one whole process."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([*PYTHON, "-c", code], check=True, env=env(), cwd="/")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime


def slowest(code: str, count: int = 6) -> list[tuple[int, str]]:
    """(self microseconds, module) of the slowest modules ``code`` imports."""
    err, bare = (
        subprocess.run(
            [*PYTHON, "-X", "importtime", "-c", source],
            check=True,
            env=env(),
            cwd="/",
            capture_output=True,
            text=True,
        ).stderr
        for source in (code, "pass")
    )
    at_start = {line.split("|")[-1].strip() for line in bare.splitlines() if "|" in line}
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line[len("import time:") :].split("|")
        if name.strip() not in at_start:
            rows.append((int(own), name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    # Byte-compile the checkout first, as pip does when it installs: without the .pyc
    # files (PYTHONDONTWRITEBYTECODE=1 is set on some machines) every import would
    # compile its source again and this would measure the compiler.
    import compileall

    compileall.compile_dir(os.path.join(ROOT, "macvlan"), quiet=1)
    try:
        import pyroute2  # noqa: F401
    except ImportError:
        del CASES["pyroute2"]
    walls: dict[str, list[float]] = {case: [] for case in CASES}
    cpus: dict[str, list[float]] = {case: [] for case in CASES}
    for code in CASES.values():
        run_once(code)  # warm the page cache
    for _ in range(args.runs):
        for case, code in CASES.items():
            wall, cpu = run_once(code)
            walls[case].append(wall)
            cpus[case].append(cpu)
    bare_wall, bare_cpu = statistics.median(walls["bare"]), statistics.median(cpus["bare"])
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}; {args.runs} runs each, taking turns; added to a bare")
    print(f"(load average {load:.1f} on {os.cpu_count()} cores: above that, every figure inflates)")
    print(
        f"interpreter (python -c pass: median {bare_wall * 1e3:.1f} ms wall, "
        f"{bare_cpu * 1e3:.1f} ms CPU); medians, the CPU figure is the one the goals use"
    )
    print("(it moves far less than wall time when other work shares the machine's 2 cores)")
    added: dict[str, float] = {}
    for case, code in CASES.items():
        if case == "bare":
            continue
        cpu = statistics.median(cpus[case]) - bare_cpu
        wall = statistics.median(walls[case]) - bare_wall
        quart = [q - bare_cpu for q in statistics.quantiles(cpus[case], n=4)]
        added[case] = cpu
        print(
            f"  {code:<40} +{cpu * 1e3:6.1f} ms CPU (quartiles +{quart[0] * 1e3:.1f}.."
            f"+{quart[2] * 1e3:.1f}), +{wall * 1e3:6.1f} ms wall"
        )
        if case != "pyroute2":
            top = ", ".join(f"{name} {own / 1e3:.1f}" for own, name in slowest(code))
            print(f"      slowest (own ms): {top}")
    ratios = {"connect_ms": added["connect"] * 1e3, "network_ms": added["Network"] * 1e3}
    if "pyroute2" in added:
        ratios["connect_vs_pyroute2"] = added["pyroute2"] / added["connect"]
    print(f"goal connect <= 25 ms: {'met' if ratios['connect_ms'] <= 25 else 'MISSED'}")
    print(f"goal Network <= 40 ms: {'met' if ratios['network_ms'] <= 40 else 'MISSED'}")
    print("RATIOS " + " ".join(f"{k}={v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
