"""ADD + DEL per container: our CNI plugin against the reference macvlan plugin.

Both plugins run the way a runtime runs them, as a fresh process per command,
inside a throw-away "host" namespace (``ip netns exec HOST plugin``) with the CNI
variables set and the configuration on stdin; both use host-local IPAM (each with
its own temporary dataDir) and a fresh container namespace per container.  The
containers alternate between the two plugins so that drift on the machine hits
both alike.

Ours is started three ways:

- "launcher": the script ``macvlan cni install`` writes (``#!PYTHON -IS``, the
  package's directory -- here the repository -- and cffi's on ``sys.path``, then
  ``macvlan.cni:run``), which docs/howto/cni.rst installs as
  ``/opt/cni/bin/macvlan-cni``;
- "-S -E -m": ``python -S -E -m macvlan.cni`` (adds runpy's imports);
- "plain -m": ``python -m macvlan.cni``, i.e. with ``site`` and the site-packages
  ``.pth`` files, which is what pip's console-script wrapper also pays.

After the timings: bare start-ups (the Go binary; the interpreter as the launcher
runs it, alone, with what any Python plugin needs for an ADD -- a few standard
modules and cffi's backend to call setns(2) --, with the plugin as VERSION loads it
and with what an ADD imports), the modules whose import costs most in an ADD
(``-X importtime``), and the ceiling for any CPython plugin here: the reference's
ADD + DEL against the same plus two such interpreter start-ups in place of two Go
start-ups -- what a plugin loading no code of its own could at best reach.

Then ``VERSION`` (libcni asks it before every ADD and DEL) through the launcher,
interleaved with a bare ``python -IS -c pass``, and, if Podman is installed, a
container's whole life as a runtime sees it: ``podman run --rm --network NET
--rootfs DIR /bin/true`` on a macvlan network (Podman 4.3, CNI backend, configured
under a temporary directory as tests/cni/test_cni_clients.py does), once with the
reference as ``macvlan`` and once with ours, interleaved.

Usage: python benchmarks/bench_cni.py [containers]   (default 30; needs root)
Last line: RATIOS add_del_vs_reference=X add_del_vs_reference_m=Y
add_del_vs_reference_plain=Z podman_run_vs_reference=P version_ms=V
bare_python_ms=B version_vs_bare=R (reference time divided by ours, per container or
per podman run; above 1 means ours is faster; the first key is the launcher;
version_ms and bare_python_ms are medians in ms, version_vs_bare their quotient, the
goal being at most 1.1).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from macvlan import Namespace  # noqa: E402
from macvlan.cni.install import install, search_path  # noqa: E402

CPU: dict[tuple[str, ...], float] = {}  # CPU seconds per plugin command line
REFERENCE_DIR = "/usr/lib/cni"
REFERENCE = f"{REFERENCE_DIR}/macvlan"
PYTHON = os.path.realpath(sys.executable)


def config(subnet: str, data_dir: str) -> bytes:
    conf = {
        "cniVersion": "1.0.0",
        "name": "benchnet",
        "type": "macvlan",
        "master": "p0",
        "mode": "bridge",
        "ipam": {
            "type": "host-local",
            "subnet": subnet,
            "dataDir": data_dir,
            "routes": [{"dst": "0.0.0.0/0"}],
        },
    }
    return json.dumps(conf).encode()


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(host: str, command: list[str], cni: str, netns: str, conf: bytes) -> float:
    """Seconds for one plugin process (started through ``ip netns exec``); its CPU
    seconds (with ip's and the IPAM plugin's) are added to ``CPU``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CNI_COMMAND": cni,
        "CNI_CONTAINERID": f"bench-{os.path.basename(netns)}",
        "CNI_NETNS": netns,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": REFERENCE_DIR,
    }
    argv = ["ip", "netns", "exec", host, *command]
    cpu = cpu_of_children()
    start = time.perf_counter()
    proc = subprocess.run(argv, input=conf, capture_output=True, env=env, cwd=REPO, check=False)
    elapsed = time.perf_counter() - start
    CPU[tuple(command)] = CPU.get(tuple(command), 0.0) + cpu_of_children() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} {cni} failed: {proc.stdout!r} {proc.stderr!r}")
    return elapsed


# what an ADD imports: the plugin, (lazily) its rtnetlink, namespace and IPAM modules,
# and the compiled syscalls
ADD_IMPORTS = (
    "import macvlan.cni, macvlan.cni.rtnl, macvlan.cni.netns, macvlan.cni.ipam, "
    "macvlan._syscalls as s; s.backend()"
)
# what any Python plugin needs for an ADD: the environment, netlink, JSON, polling the
# IPAM plugin's pipes, struct, and a way to call setns(2) (os has none in 3.11): cffi's
# backend, the cheapest, where installed, else ctypes
STDLIB_FLOOR = (
    "import os, _socket, _json, select, struct\n"
    "try: import _cffi_backend\n"
    "except ImportError: import ctypes"
)


def startup_costs(path: list[str], runs: int = 30) -> dict[str, tuple[float, float]]:
    """Bare process start-ups, as (median wall ms, mean CPU ms): where a plugin
    process's time goes.  Python runs as the launcher runs it (``-IS``, ``path``)."""
    head = f"import sys; sys.path[:0] = {path!r}; "
    commands = {
        "reference VERSION (Go)": [REFERENCE],
        "python -IS -c pass": [PYTHON, "-IS", "-c", "pass"],
        "... + what any plugin needs": [PYTHON, "-IS", "-c", head + "\n" + STDLIB_FLOOR],
        "... + macvlan.cni (VERSION)": [PYTHON, "-IS", "-c", head + "import macvlan.cni"],
        "... + what ADD imports": [PYTHON, "-IS", "-c", head + ADD_IMPORTS],
    }
    env = {"CNI_COMMAND": "VERSION", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, float] = dict.fromkeys(commands, 0.0)
    for _ in range(runs):  # interleaved, so drift hits every line alike
        for name, command in commands.items():
            before = cpu_of_children()
            start = time.perf_counter()
            subprocess.run(command, cwd=REPO, env=env, capture_output=True, check=True)
            walls[name].append(time.perf_counter() - start)
            cpu[name] += cpu_of_children() - before
    return {
        name: (statistics.median(walls[name]) * 1e3, cpu[name] / runs * 1e3) for name in commands
    }


def import_breakdown(
    path: list[str], runs: int = 10, top: int = 12
) -> tuple[float, list[tuple[str, float]]]:
    """``-X importtime`` of what ADD imports: the total and the modules costing most
    (each module's own time, the smallest seen over ``runs`` so load drifts less)."""
    own: dict[str, int] = {}
    for _ in range(runs):
        proc = subprocess.run(
            [
                PYTHON,
                "-IS",
                "-X",
                "importtime",
                "-c",
                f"import sys; sys.path[:0] = {path!r}; " + ADD_IMPORTS,
            ],
            cwd=REPO,
            capture_output=True,
            check=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        for line in proc.stderr.decode().splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            us, _, module = line[len("import time:") :].split("|")
            name = module.strip()
            own[name] = min(own.get(name, 1 << 62), int(us))
    ranked = sorted(own.items(), key=lambda item: -item[1])[:top]
    return sum(own.values()) / 1e3, [(name, us / 1e3) for name, us in ranked]


def version_costs(plugin: str, runs: int = 60) -> tuple[float, float]:
    """Median wall ms of VERSION through the launcher (with what libcni sends on
    stdin) and of a bare ``python -IS -c pass``, interleaved."""
    commands = {"version": [plugin], "bare": [PYTHON, "-IS", "-c", "pass"]}
    env = {"CNI_COMMAND": "VERSION", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(
                command, input=b'{"cniVersion":"1.0.0"}', env=env, capture_output=True, check=True
            )
            walls[name].append(time.perf_counter() - start)
            if name == "version" and b'"supportedVersions"' not in proc.stdout:
                raise RuntimeError(f"VERSION answered {proc.stdout!r}")
    return statistics.median(walls["version"]) * 1e3, statistics.median(walls["bare"]) * 1e3


PODMAN_CONF = REPO / "tests" / "cni" / "podman"  # the templates the tests use


def podman_runs(runs: int) -> dict[str, float] | str:
    """Median wall seconds of ``podman run --rm ... /bin/true`` per plugin, or why not."""
    podman = shutil.which("podman")
    if podman is None or not shutil.which("runc") or not os.path.exists("/bin/busybox"):
        return "podman, runc or busybox-static is not installed"
    tag = f"mvbp{os.getpid()}"
    host = Namespace.create(f"{tag}-host")
    top = tempfile.mkdtemp(prefix="mvbp-", dir="/tmp")  # short: Podman's sockets live here
    envs: dict[str, dict[str, str]] = {}
    try:
        with host.connect() as rt:
            rt.create_veth("p0", "p1", up=True)
            rt.set_link("p1", up=True)
        rootfs = Path(top, "rootfs")
        for sub in ("bin", "proc", "sys", "dev", "etc", "tmp"):
            (rootfs / sub).mkdir(parents=True)
        shutil.copy2("/bin/busybox", rootfs / "bin" / "busybox")
        (rootfs / "bin" / "true").symlink_to("busybox")
        for name in ("reference", "ours"):
            root = Path(top, name)
            for sub in ("bin", "net.d", "tmp"):
                (root / sub).mkdir(parents=True)
            for plugin in Path(REFERENCE_DIR).iterdir():
                if name == "reference" or plugin.name != "macvlan":
                    (root / "bin" / plugin.name).symlink_to(plugin)
            if name == "ours":
                install(str(root / "bin"))
            for conf in ("containers.conf", "storage.conf"):
                template = (PODMAN_CONF / conf).read_text()
                (root / conf).write_text(template.format(bin_dir=root / "bin", root=root))
            envs[name] = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "CONTAINERS_CONF": str(root / "containers.conf"),
                "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
                "HOME": str(root),
            }

        def podman_do(name: str, *args: str) -> None:
            subprocess.run(
                ["nsenter", f"--net={host.path}", podman, *args],
                env=envs[name],
                capture_output=True,
                check=True,
                timeout=120,
            )

        for name in envs:
            podman_do(name, "network", "create", "-d", "macvlan", "-o", "parent=p0",
                      "--subnet", "10.70.0.0/16", f"{tag}{name}")  # fmt: skip
        walls: dict[str, list[float]] = {name: [] for name in envs}
        for i in range(runs + 1):  # the first of each is a warm-up
            for name in envs:
                start = time.perf_counter()
                podman_do(name, "run", "--rm", "--network", f"{tag}{name}",
                          "--rootfs", str(rootfs), "/bin/true")  # fmt: skip
                if i:
                    walls[name].append(time.perf_counter() - start)
        return {name: statistics.median(w) for name, w in walls.items()}
    finally:
        for name, env in envs.items():
            subprocess.run(
                ["nsenter", f"--net={host.path}", podman, "network", "rm", "-f", f"{tag}{name}"],
                env=env,
                capture_output=True,
                check=False,
            )
            # host-local's files for the network (its default data directory)
            shutil.rmtree(f"/var/lib/cni/networks/{tag}{name}", ignore_errors=True)
        host.delete(missing_ok=True)
        shutil.rmtree(top, ignore_errors=True)


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("bench_cni needs root (network namespaces)")
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    tag = f"mvbc-{os.getpid()}"
    made: list[Namespace] = []
    try:
        host = Namespace.create(f"{tag}-host")
        made.append(host)
        with host.connect() as rt:
            rt.create_veth("p0", "p1", up=True)
            rt.set_link("p1", up=True)
        with tempfile.TemporaryDirectory(prefix="bench-cni-") as tmp:
            plugins = {
                "reference": [REFERENCE],
                "ours launcher": [install(tmp)],
                "ours -S -E -m": [PYTHON, "-S", "-E", "-m", "macvlan.cni"],
                "ours plain -m": [PYTHON, "-m", "macvlan.cni"],
            }
            confs = {
                name: config(f"10.{60 + i}.0.0/16", f"{tmp}/{i}") for i, name in enumerate(plugins)
            }
            # warm-up (page cache, bytecode caches) with one container each, untimed
            warm = Namespace.create(f"{tag}-warm")
            made.append(warm)
            for name, command in plugins.items():
                run(host.name or "", command, "ADD", warm.path, confs[name])
                run(host.name or "", command, "DEL", warm.path, confs[name])
            times: dict[str, dict[str, list[float]]] = {
                name: {"ADD": [], "DEL": []} for name in plugins
            }
            for i in range(count):
                for name, command in plugins.items():
                    ns = Namespace.create(f"{tag}-{i}-{len(made)}")
                    made.append(ns)
                    for cni in ("ADD", "DEL"):
                        seconds = run(host.name or "", command, cni, ns.path, confs[name])
                        times[name][cni].append(seconds)
    finally:
        for ns in made:
            ns.delete(missing_ok=True)

    def per_container(name: str) -> float:
        return (sum(times[name]["ADD"]) + sum(times[name]["DEL"])) / count

    cpu_ms = {name: CPU[tuple(plugins[name])] / (count + 1) * 1e3 for name in plugins}

    print(f"{count} containers per plugin, host-local IPAM, started via ip netns exec")
    for name in times:
        add = statistics.median(times[name]["ADD"]) * 1e3
        dele = statistics.median(times[name]["DEL"]) * 1e3
        print(
            f"  {name:14s} ADD median {add:6.1f} ms  DEL median {dele:6.1f} ms  "
            f"ADD+DEL mean {per_container(name) * 1e3:6.1f} ms per container "
            f"(CPU {cpu_ms[name]:5.1f} ms)"
        )
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    path = search_path()
    costs = startup_costs(path)
    print("start-up per process (median wall, mean CPU):")
    for name, (wall, cpu) in costs.items():
        print(f"  {name:34s} {wall:5.1f} ms  {cpu:5.1f} ms CPU")
    total, ranked = import_breakdown(path)
    print(f"imports of an ADD (-X importtime, own time per module): {total:.1f} ms in all")
    for name, ms in ranked:
        print(f"  {name:34s} {ms:5.2f} ms")
    # A CPython plugin that loaded no code of its own and did the same work as the
    # reference would still start two interpreters (and the stdlib) where the
    # reference starts two Go binaries.
    extra = costs["... + what any plugin needs"][0] - costs["reference VERSION (Go)"][0]
    ceiling = per_container("reference") / (per_container("reference") + 2 * extra / 1e3)
    print(
        f"ceiling for any CPython plugin here: {ceiling:.2f} "
        f"(the reference's ADD+DEL plus twice {extra:.1f} ms of extra start-up)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-cni-") as tmp:
        version_ms, bare_ms = version_costs(install(tmp))
    print(
        f"VERSION through the launcher: median {version_ms:.1f} ms against {bare_ms:.1f} ms "
        f"for python -IS -c pass ({version_ms / bare_ms:.2f}x; goal <= 1.1x)"
    )
    podman = podman_runs(max(10, count // 2))
    if isinstance(podman, str):
        print(f"podman run --rm: not measured ({podman})")
    else:
        print(
            f"podman run --rm ... /bin/true on a macvlan network: median "
            f"{podman['reference'] * 1e3:.0f} ms with the reference, "
            f"{podman['ours'] * 1e3:.0f} ms with ours"
        )
    reference = per_container("reference")
    launcher = reference / per_container("ours launcher")
    module = reference / per_container("ours -S -E -m")
    plain = reference / per_container("ours plain -m")
    podman_ratio = (
        ""
        if isinstance(podman, str)
        else f" podman_run_vs_reference={podman['reference'] / podman['ours']:.2f}"
    )
    print(
        f"RATIOS add_del_vs_reference={launcher:.2f} add_del_vs_reference_m={module:.2f} "
        f"add_del_vs_reference_plain={plain:.2f}{podman_ratio} version_ms={version_ms:.1f} "
        f"bare_python_ms={bare_ms:.1f} version_vs_bare={version_ms / bare_ms:.2f}"
    )


if __name__ == "__main__":
    main()
