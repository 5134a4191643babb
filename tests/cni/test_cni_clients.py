"""Our CNI plugin and the reference, driven side by side by real CNI clients.

- **libcni**, through ``cnitool``: a small main of our own (``tests/cni/cnitool``)
  built against Debian's libcni source (``golang-github-appc-cni-dev``) with
  ``GO111MODULE=off``; libcni is what Kubernetes runtimes use.
- **Podman 4.3** with its CNI backend, configured entirely under the test's temporary
  directory (``CONTAINERS_CONF``, ``CONTAINERS_STORAGE_CONF``; nothing under
  ``/etc/containers`` changes), containers made from a busybox-static ``--rootfs``.
- **containerd 1.6** ``ctr run --cni --rootfs``: a containerd of the test's own, and
  ``ctr`` run in a private mount namespace where ``/etc/cni/net.d``, ``/opt`` and
  ``/var/lib/cni`` are the test's directories (ctr takes the first conflist of
  ``/etc/cni/net.d`` and plugins from ``/opt/cni/bin``): nothing on the host changes.

Everything runs in throw-away namespaces: the master ``p0`` is a veth end in a "host"
namespace of the test's own (the runtimes run there, entered with ``nsenter --net=``),
its peer ``p1`` holds the gateway addresses in a "lan" namespace.  Each client runs
once with the reference plugin (Debian's containernetworking-plugins 1.1.1) and once
with ours, installed by ``macvlan cni install`` under the name ``macvlan``; the
outcomes (results with MACs and netns paths masked, addresses, routes, MTU, mode,
egress route, leases and caches left) must be equal.  A missing client is a failure
that names the package to install (``.ci/run`` installs them all), not a skip.

Where the reference is older than upstream, the outcome compared is the reference's
and the difference is named: ours also sets ``ndisc_notify`` (upstream v1.4.0), which
no client here observes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import ip_json, unique_name

REPO = Path(__file__).resolve().parents[2]
CNI_DIR = Path("/usr/lib/cni")
GOPATH = "/usr/share/gocode"  # Debian's Go source packages
LIBCNI = Path(GOPATH, "src/github.com/containernetworking/cni/libcni")
BUSYBOX = Path("/bin/busybox")
PLUGINS = ("ref", "ours")

pytestmark = [
    pytest.mark.live,
]


def need(path: str | Path, package: str) -> str:
    """The program or file, or a failure naming the Debian package that has it."""
    found = shutil.which(str(path)) if "/" not in str(path) else str(path)
    if not found or not os.path.exists(found):
        pytest.fail(
            f"{path} is missing: install the Debian package {package} (.ci/run does)",
            pytrace=False,
        )
    return found


def sh(*cmd: str, netns: str | None = None, check: bool = True, **kw: Any) -> str:
    """Run a command (in the namespace ``netns`` if given); its stdout."""
    argv = [*(["nsenter", f"--net=/run/netns/{netns}"] if netns else []), *cmd]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} failed ({proc.returncode}): {proc.stdout} {proc.stderr}")
    return proc.stdout


# -- the namespaces, the plugins -------------------------------------------------------
@dataclass
class Lan:
    """The host namespace (master p0, the runtimes) and the LAN behind it (p1)."""

    host: str
    lan: str


@pytest.fixture(scope="module")
def lan() -> Iterator[Lan]:
    from macvlan import Namespace

    made = []
    try:
        host = Namespace.create(unique_name("mvk"))
        made.append(host)
        peer = Namespace.create(unique_name("mvk"))
        made.append(peer)
        with host.connect() as rt:
            rt.create_veth("p0", "p1", up=True)
            rt.set_link("lo", up=True)
            rt.set_link("p1", netns=peer)
            rt.add_address("p0", "192.168.250.2/24")
            rt.add_route("default", gateway="192.168.250.1", link="p0")
        with peer.connect() as rt:
            rt.set_link("p1", up=True)
            rt.add_address("p1", "192.168.250.1/24")
            rt.add_address("p1", "10.241.0.1/24")
        yield Lan(str(host.name), str(peer.name))
    finally:
        for ns in made:
            ns.delete(missing_ok=True)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A short directory of the module's own: Podman's attach socket lives under it,
    and a path near the 108-byte limit of socket addresses makes every attached
    ``podman run`` wait 20 s."""
    path = Path(tempfile.mkdtemp(prefix="mvk-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def bin_dirs(workdir: Path) -> dict[str, Path]:
    """A CNI bin directory per plugin: Debian's plugins, with ``macvlan`` ours or theirs."""
    from macvlan.cni.install import install

    need(CNI_DIR / "macvlan", "containernetworking-plugins")
    dirs = {}
    for name in PLUGINS:
        directory = workdir / f"bin-{name}"
        directory.mkdir()
        for plugin in CNI_DIR.iterdir():
            if name == "ref" or plugin.name != "macvlan":
                (directory / plugin.name).symlink_to(plugin)
        if name == "ours":
            install(str(directory))  # as "macvlan"
        dirs[name] = directory
    return dirs


@pytest.fixture(scope="module")
def rootfs(workdir: Path) -> Path:
    """A container root: busybox-static and its applets, nothing else."""
    need(BUSYBOX, "busybox-static")
    if b"/ld-linux" in BUSYBOX.read_bytes()[:4096]:  # it names a program interpreter
        pytest.fail(f"{BUSYBOX} is linked dynamically: install busybox-static", pytrace=False)
    root = workdir / "rootfs"
    for sub in ("bin", "proc", "sys", "dev", "etc", "tmp", "run"):
        (root / sub).mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for applet in ("sh", "true", "ip", "ping", "sleep", "cat"):
        (root / "bin" / applet).symlink_to("busybox")
    return root


def link_state(netns: str, ifname: str) -> dict[str, Any]:
    """A container interface as ``ip -j`` (the oracle) sees it; the MAC left out."""
    (link,) = ip_json("-d", "link", "show", ifname, netns=netns)
    info = link.get("linkinfo", {})
    (entry,) = ip_json("addr", "show", "dev", ifname, netns=netns)
    return {
        "kind": info.get("info_kind"),
        "mode": info.get("info_data", {}).get("mode"),
        "mtu": link["mtu"],
        "txqlen": link.get("txqlen", 0),
        "up": "UP" in link["flags"],
        "addresses": sorted(
            f"{a['local']}/{a['prefixlen']}"
            for a in entry.get("addr_info", [])
            if a.get("scope") != "link"
        ),
    }


def routes(netns: str) -> list[tuple[Any, ...]]:
    """The main table in kernel order: the order decides which default route wins."""
    return [
        (r["dst"], r.get("gateway"), r.get("dev"), r.get("protocol"), r.get("scope"))
        for family in ("-4", "-6")
        for r in ip_json(family, "route", "show", "table", "main", netns=netns)
    ]


def egress(netns: str) -> tuple[str, str | None]:
    """Where the container sends off-LAN traffic (a route lookup only: nothing is sent;
    198.51.100.7 is TEST-NET-2)."""
    got = ip_json("route", "get", "198.51.100.7", netns=netns)[0]
    return got["dev"], got.get("gateway")


MAC = re.compile(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b")


def masked(value: Any, netns: str = "") -> Any:
    """``value`` with MACs and the container's netns path replaced by placeholders."""
    text = json.dumps(value)
    text = MAC.sub("<mac>", text)
    if netns:
        text = text.replace(netns, "<netns>")
    return json.loads(text)


def leases(data_dir: Path) -> list[str]:
    """host-local's reservations (one file per allocated address)."""
    if not data_dir.exists():
        return []
    return sorted(
        p.name
        for p in data_dir.rglob("*")
        if p.is_file() and p.name != "lock" and not p.name.startswith("last_reserved")
    )


# -- libcni: cnitool ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def cnitool(workdir: Path) -> Path:
    """tests/cni/cnitool built against Debian's libcni (GOPATH mode)."""
    go = need("go", "golang-go")
    need(LIBCNI / "api.go", "golang-github-appc-cni-dev")
    out = workdir / "cnitool"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GOPATH": GOPATH,
        "GO111MODULE": "off",
        "GOFLAGS": "",
        "GOCACHE": str(workdir / "gocache"),
        "HOME": str(workdir),
    }
    proc = subprocess.run(
        [go, "build", "-o", str(out), "."],
        cwd=Path(__file__).parent / "cnitool",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"building cnitool against libcni failed: {proc.stderr}", pytrace=False)
    return out


@dataclass
class Tool:
    """cnitool for one plugin: its bin directory, cache and host-local data directory."""

    exe: Path
    host: str
    bin_dir: Path
    cache: Path
    data: Path

    def __call__(
        self,
        command: str,
        conflist: dict[str, Any],
        netns: str,
        cid: str = "cid1",
        ifname: str = "eth0",
    ) -> tuple[int, Any, str]:
        path = self.cache.parent / f"{conflist['name']}.conflist"
        path.write_text(json.dumps(conflist))
        proc = subprocess.run(
            [
                "nsenter",
                f"--net=/run/netns/{self.host}",
                str(self.exe),
                command,
                str(path),
                netns,
                cid,
                ifname,
                str(self.cache),
            ],
            capture_output=True,
            text=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CNI_PATH": str(self.bin_dir)},
            timeout=120,
            check=False,
        )
        out = json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc.returncode, out, proc.stderr

    def cached(self) -> list[str]:
        """libcni's cache: the results it keeps per container and interface."""
        results = self.cache / "results"
        return sorted(p.name for p in results.iterdir()) if results.exists() else []


@pytest.fixture
def tools(cnitool: Path, lan: Lan, bin_dirs: dict[str, Path], tmp_path: Path) -> dict[str, Tool]:
    out = {}
    for name in PLUGINS:
        base = tmp_path / name
        base.mkdir()
        out[name] = Tool(cnitool, lan.host, bin_dirs[name], base / "cache", base / "data")
    return out


def conflist(version: str, tool: Tool, name: str = "mvlib", **ipam: Any) -> dict[str, Any]:
    ranges = ipam.pop("ranges", None) or [
        [
            {
                "subnet": "192.168.250.0/24",
                "rangeStart": "192.168.250.100",
                "rangeEnd": "192.168.250.120",
                "gateway": "192.168.250.1",
            }
        ]
    ]
    return {
        "cniVersion": version,
        "name": name,
        "plugins": [
            {
                "type": "macvlan",
                "master": "p0",
                "ipam": {
                    "type": "host-local",
                    "ranges": ranges,
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(tool.data),
                    **ipam,
                },
            }
        ],
    }


@pytest.fixture
def containers(lan: Lan, netns_factory: Callable[..., Any]) -> Callable[[], Any]:
    """Makes container namespaces (deleted afterwards)."""
    return lambda: netns_factory("mvk")


@pytest.mark.parametrize("version", ["0.3.1", "0.4.0", "1.0.0"])
def test_libcni_add_check_del(version: str, tools: dict[str, Tool], containers: Any) -> None:
    seen = {}
    for name, tool in tools.items():
        ns = containers()
        conf = conflist(version, tool)
        rc, result, err = tool("add", conf, ns.path)
        assert rc == 0, err
        state = link_state(ns.name, "eth0")
        table = routes(ns.name)
        held, cached = leases(tool.data), tool.cached()
        check = tool("check", conf, ns.path)
        first = tool("del", conf, ns.path)
        gone = ip_json("link", "show", netns=ns.name)
        second = tool("del", conf, ns.path)
        seen[name] = {
            "result": masked(result, ns.path),
            "state": state,
            "routes": table,
            "held": held,
            "cached": len(cached),
            "check": (check[0], masked(check[2], ns.path)),
            "del": (first[0], second[0]),
            "links after": [link["ifname"] for link in gone],
            "left": (leases(tool.data), tool.cached()),
        }
    assert seen["ours"] == seen["ref"]
    ours = seen["ours"]
    assert ours["state"]["kind"] == "macvlan" and ours["state"]["mode"] == "bridge"
    assert ours["state"]["addresses"] == ["192.168.250.100/24"] and ours["held"]
    assert ours["cached"] == 1
    assert ours["check"][0] == (0 if version >= "0.4.0" else 1)  # CHECK is 0.4.0+
    assert ours["del"] == (0, 0)
    assert ours["links after"] == ["lo"] and ours["left"] == ([], [])


def test_libcni_two_networks_in_one_container(tools: dict[str, Tool], containers: Any) -> None:
    """eth0 then eth1, each with a default route: egress follows the newest network."""
    seen = {}
    for name, tool in tools.items():
        ns = containers()
        one = conflist("1.0.0", tool)
        two = conflist(
            "1.0.0",
            tool,
            "mvlib2",
            ranges=[
                [{"subnet": "10.241.0.0/24", "rangeStart": "10.241.0.100", "gateway": "10.241.0.1"}]
            ],
        )
        assert tool("add", one, ns.path, ifname="eth0")[0] == 0
        assert tool("add", two, ns.path, ifname="eth1")[0] == 0
        seen[name] = (egress(ns.name), routes(ns.name), tool.cached())
        assert tool("del", two, ns.path, ifname="eth1")[0] == 0
        seen[name] += (egress(ns.name),)  # back on eth0
        assert tool("del", one, ns.path, ifname="eth0")[0] == 0
    assert seen["ours"] == seen["ref"]
    assert seen["ours"][0] == ("eth1", "10.241.0.1")
    assert seen["ours"][3] == ("eth0", "192.168.250.1")


def test_libcni_repeated_add_keeps_the_first_lease(tools: dict[str, Tool], containers: Any) -> None:
    seen = {}
    for name, tool in tools.items():
        ns = containers()
        conf = conflist("1.0.0", tool)
        rc, first, err = tool("add", conf, ns.path)
        assert rc == 0, err
        again = tool("add", conf, ns.path)  # a runtime retrying after a timeout
        held = leases(tool.data)
        other = containers()
        rc, second, err = tool("add", conf, other.path, cid="cid2")
        assert rc == 0, err
        seen[name] = (again[0], held, first["ips"], second["ips"], link_state(ns.name, "eth0"))
        assert tool("del", conf, ns.path)[0] == 0
        assert tool("del", conf, other.path, cid="cid2")[0] == 0
        assert leases(tool.data) == []
    assert seen["ours"] == seen["ref"]
    assert seen["ours"][0] == 1  # the retry fails ...
    assert seen["ours"][2] != seen["ours"][3]  # ... and the next container gets another address


def test_libcni_del_after_the_namespace_is_gone(tools: dict[str, Tool], containers: Any) -> None:
    seen = {}
    for name, tool in tools.items():
        ns = containers()
        conf = conflist("1.0.0", tool)
        assert tool("add", conf, ns.path)[0] == 0
        path = ns.path
        ns.delete()
        rc, _, err = tool("del", conf, path)
        seen[name] = (rc, err, leases(tool.data), tool.cached())
    assert seen["ours"] == seen["ref"] == (0, "", [], [])


# -- Podman ----------------------------------------------------------------------------------
#: Podman's configuration templates, shared with benchmarks/bench_cni.py
PODMAN_CONF = Path(__file__).parent / "podman"

VAR_LIB_CNI = Path("/var/lib/cni")  # libcni's cache and host-local's default data


@dataclass
class Podman:
    """Podman configured under ``root`` with one plugin's bin directory."""

    exe: str
    root: Path
    host: str
    rootfs: Path
    tag: str

    def __call__(self, *args: str, check: bool = True) -> str:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "CONTAINERS_CONF": str(self.root / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(self.root / "storage.conf"),
            "HOME": str(self.root),
        }
        return sh(self.exe, *args, netns=self.host, check=check, env=env, cwd=self.root)

    def macvlan_network(self, name: str, *options: str) -> str:
        """``network create`` of a macvlan network on p0; without a ``--subnet`` in
        ``options``, on the LAN's 192.168.250.0/24 (gateway .1)."""
        if "--subnet" not in options:
            options = ("--subnet", "192.168.250.0/24", "--gateway", "192.168.250.1", *options)
        return self("network", "create", "-d", "macvlan", "-o", "parent=p0", *options, name)

    def run(self, name: str, network: str, *extra: str) -> str:
        """Start a container sleeping in the background; its id."""
        return self(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            network,
            *extra,
            "--rootfs",
            str(self.rootfs),
            "/bin/sleep",
            "600",
        ).strip()

    def netns(self, container: str) -> str:
        """The name of the container's network namespace (under /run/netns)."""
        key = self("inspect", "--format", "{{.NetworkSettings.SandboxKey}}", container).strip()
        return os.path.basename(key)


@pytest.fixture(scope="module")
def podmans(
    lan: Lan, bin_dirs: dict[str, Path], rootfs: Path, workdir: Path, host_dirs: None
) -> Iterator[dict[str, Podman]]:
    exe = need("podman", "podman")
    need("runc", "runc")
    need("conmon", "conmon")
    out = {}
    for name in PLUGINS:
        root = workdir / f"podman-{name}"
        (root / "net.d").mkdir(parents=True)
        (root / "tmp").mkdir()
        for conf in ("containers.conf", "storage.conf"):
            template = (PODMAN_CONF / conf).read_text()
            (root / conf).write_text(template.format(bin_dir=bin_dirs[name], root=root))
        out[name] = Podman(exe, root, lan.host, rootfs, f"mvk{os.getpid()}{name}")
    try:
        yield out
    finally:
        for podman in out.values():
            podman("rm", "-a", "-f", "-t", "0", check=False)
            for net in podman("network", "ls", "--format", "{{.Name}}", check=False).split():
                if net.startswith(podman.tag):
                    podman("network", "rm", "-f", net, check=False)
            for net_dir in VAR_LIB_CNI.glob(f"networks/{podman.tag}*"):
                shutil.rmtree(net_dir, ignore_errors=True)  # host-local's lock and last ip


def podman_leases(network: str) -> list[str]:
    return leases(VAR_LIB_CNI / "networks" / network)


def podman_cache(container_ids: list[str]) -> list[str]:
    """libcni cache entries left for these containers."""
    results = VAR_LIB_CNI / "results"
    if not results.exists():
        return []
    return sorted(p.name for p in results.iterdir() if any(c in p.name for c in container_ids))


def test_podman_macvlan_networks(podmans: dict[str, Podman], lan: Lan) -> None:
    """network create (subnet, gateway, ip-range; a second with mode and MTU), run with
    --ip and --mac-address, two containers pinging each other, network connect, then
    rm and network rm leaving nothing behind."""
    seen = {}
    for name, podman in podmans.items():
        net, net2 = f"{podman.tag}a", f"{podman.tag}b"
        podman.macvlan_network(net, "--ip-range", "192.168.250.128/25")
        podman.macvlan_network(
            net2, "-o", "mode=private", "-o", "mtu=1400", "--subnet", "10.241.0.0/24",
            "--gateway", "10.241.0.1",
        )  # fmt: skip
        c1 = podman.run(
            f"{podman.tag}c1", net, "--ip", "192.168.250.140", "--mac-address", "02:42:c0:a8:fa:8c"
        )
        c2 = podman.run(f"{podman.tag}c2", net)
        ns1, ns2 = podman.netns(c1), podman.netns(c2)
        state = {
            "c1": link_state(ns1, "eth0"),
            "c1 mac": ip_json("link", "show", "eth0", netns=ns1)[0]["address"],
            "c2": link_state(ns2, "eth0"),
            "c1 routes": routes(ns1),
            "leases": podman_leases(net),
        }
        ping = podman("exec", c2, "ping", "-c", "1", "-W", "5", "192.168.250.140", check=False)
        state["c2 pings c1"] = " 0% packet loss" in ping
        ping = podman("exec", c1, "ping", "-c", "1", "-W", "5", "192.168.250.1", check=False)
        state["c1 pings the gateway"] = " 0% packet loss" in ping
        podman("network", "connect", net2, c1)
        state["connected"] = link_state(ns1, "eth1")
        state["egress"] = egress(ns1)
        state["routes after connect"] = routes(ns1)
        podman("network", "disconnect", net2, c1)
        state["egress after disconnect"] = egress(ns1)
        inspect = json.loads(podman("inspect", c1))[0]["NetworkSettings"]["Networks"]
        state["inspect"] = masked(
            {
                k.replace(podman.tag, "<tag>"): {
                    f: v[f] for f in ("IPAddress", "IPPrefixLen", "Gateway", "MacAddress")
                }
                for k, v in inspect.items()
            }
        )
        podman("rm", "-f", "-t", "0", c1, c2)
        podman("network", "rm", net, net2)
        state["left"] = {
            "netns": [n for n in (ns1, ns2) if os.path.exists(f"/run/netns/{n}")],
            "leases": podman_leases(net) + podman_leases(net2),
            "cache": podman_cache([c1, c2]),
            "links on the host": sorted(
                link["ifname"] for link in ip_json("link", "show", netns=lan.host)
            ),
        }
        seen[name] = state
    ours, ref = seen["ours"], seen["ref"]
    assert ours == ref
    assert ours["c1"]["addresses"] == ["192.168.250.140/24"]
    assert ours["c1 mac"] == "02:42:c0:a8:fa:8c"
    assert ours["c2"]["addresses"][0].startswith("192.168.250.1")
    assert ours["c2 pings c1"] and ours["c1 pings the gateway"]
    assert (ours["connected"]["mode"], ours["connected"]["mtu"]) == ("private", 1400)
    assert ours["egress"] == ("eth1", "10.241.0.1")
    assert ours["egress after disconnect"] == ("eth0", "192.168.250.1")
    assert ours["left"] == {
        "netns": [],
        "leases": [],
        "cache": [],
        "links on the host": ["lo", "p0"],
    }


def test_podman_run_rm(podmans: dict[str, Podman]) -> None:
    """``podman run --rm``: the container sees its address; nothing is left after."""
    seen = {}
    for name, podman in podmans.items():
        net = f"{podman.tag}r"
        podman.macvlan_network(net, "--ip-range", "192.168.250.192/27")
        out = podman(
            "run",
            "--rm",
            "--network",
            net,
            "--rootfs",
            str(podman.rootfs),
            "/bin/sh",
            "-c",
            "ip -o -4 addr show eth0; ip route",
        )
        seen[name] = (masked(re.sub(r"\s+", " ", out)), podman_leases(net))
        podman("network", "rm", net)
    assert seen["ours"] == seen["ref"]
    assert "192.168.250.193/24" in seen["ours"][0] and seen["ours"][1] == []


# -- containerd: ctr run --cni ------------------------------------------------------------
CONTAINERD_TOML = """\
version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{root}/containerd.sock"

[ttrpc]
  address = "{root}/containerd.sock.ttrpc"
"""

# ctr runs in a mount namespace of its own in which the test's directories stand
# where ctr looks (the bind mounts vanish with it)
CTR_MOUNTS = """\
set -e
mount --bind "$NETD" /etc/cni/net.d
mount --bind "$OPT" /opt
mount --bind "$VARLIB" /var/lib/cni
exec nsenter --net="/run/netns/$HOST" "$@"
"""


@pytest.fixture(scope="module")
def containerd(lan: Lan, workdir: Path) -> Iterator[Path]:
    """A containerd of the test's own (in the host namespace), stopped by its pid."""
    exe = need("containerd", "containerd")
    need("ctr", "containerd")
    need("containerd-shim-runc-v2", "containerd")
    need("runc", "runc")
    root = workdir / "containerd"
    root.mkdir()
    (root / "config.toml").write_text(CONTAINERD_TOML.format(root=root))
    log = (root / "log").open("w")
    proc = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{lan.host}", exe, "--config", str(root / "config.toml")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not (root / "containerd.sock").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"containerd did not start: {(root / 'log').read_text()}", pytrace=False
                )
            time.sleep(0.1)
        yield root
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def host_dirs() -> Iterator[None]:
    """``/etc/cni/net.d``, ``/var/lib/cni`` and ``/opt`` (ctr's mount points;
    libcni's cache for Podman): made if missing, and then removed afterwards, with the empty
    directories the clients left in them."""
    made: list[Path] = []
    for path in (Path("/etc/cni/net.d"), VAR_LIB_CNI, Path("/opt")):
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        made.extend(missing)  # deepest first
    try:
        yield
    finally:
        for path in made:
            for sub in sorted(path.rglob("*"), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    sub.rmdir()  # only empty ones
            with contextlib.suppress(OSError):
                path.rmdir()


def test_ctr_run_with_cni(
    containerd: Path,
    lan: Lan,
    bin_dirs: dict[str, Path],
    rootfs: Path,
    workdir: Path,
    host_dirs: None,
) -> None:
    seen = {}
    for name in PLUGINS:
        base = workdir / f"ctr-{name}"
        netd, opt, varlib, data = base / "net.d", base / "opt", base / "varlib", base / "data"
        for directory in (netd, opt / "cni", varlib):
            directory.mkdir(parents=True)
        shutil.copytree(bin_dirs[name], opt / "cni" / "bin", symlinks=True)
        conf = {
            "cniVersion": "1.0.0",
            "name": "mvctr",
            "plugins": [
                {
                    "type": "macvlan",
                    "master": "p0",
                    "mode": "vepa",
                    "mtu": 1400,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [
                            [
                                {
                                    "subnet": "192.168.250.0/24",
                                    "rangeStart": "192.168.250.60",
                                    "rangeEnd": "192.168.250.70",
                                    "gateway": "192.168.250.1",
                                }
                            ]
                        ],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(data),
                    },
                }
            ],
        }
        (netd / "10-mvctr.conflist").write_text(json.dumps(conf))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "NETD": str(netd),
            "OPT": str(opt),
            "VARLIB": str(varlib),
            "HOST": lan.host,
        }
        script = (
            "ip -o -4 addr show eth0; ip -o link show eth0; ip route; "
            "echo txqlen $(cat /sys/class/net/eth0/tx_queue_len)"
        )
        out = sh(
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            CTR_MOUNTS,
            "ctr-mounts",
            "ctr",
            "--address",
            str(containerd / "containerd.sock"),
            "run",
            "--rm",
            "--cni",
            "--rootfs",
            str(rootfs),
            f"mvk{os.getpid()}{name}",
            "/bin/sh",
            "-c",
            script,
            env=env,
        )
        text = re.sub(r"\s+", " ", masked(out))
        text = re.sub(r"^\d+: ", "", text)
        seen[name] = (re.sub(r"\b\d+: ", "N: ", text), leases(data), sorted(os.listdir(varlib)))
    assert seen["ours"] == seen["ref"]
    text = seen["ours"][0]
    assert "inet 192.168.250.60/24" in text and "mtu 1400" in text, text
    assert "default via 192.168.250.1 dev eth0" in text
    assert seen["ours"][1] == []  # DEL after the task exited released the address
