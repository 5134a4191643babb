"""Differential live tests: our CNI plugin against the reference macvlan plugin.

Both plugins run the way a runtime runs them, as ``ip netns exec HOST plugin`` with
the CNI variables set and the configuration on stdin, HOST being the ``sandbox``
namespace (veth p0/p1).  Each plugin gets its own throw-away container namespace
(``CNI_NETNS=/run/netns/NAME``) and its own host-local dataDir; the two run one
after the other (passthru allows one macvlan per parent).  Compared: the result
JSON (MAC and sandbox path aside), the state left in the container (link kind,
mode, MTU, up, addresses, routes, arp_notify) after ADD and after DEL, and the
exit status of CHECK, DEL and a repeated DEL.  Error cases compare exit status and
error code: where the reference answers 999 for what the spec calls a bad
configuration (7) or a bad CNI_ARGS (4), ours gives the spec's code, listed per
case.  The reference here is Debian's containernetworking-plugins 1.1.1 (CNI
0.1.0-1.0.0); features it lacks (linkInContainer, bcqueuelen, CNI 1.1.0) are
tested on ours alone against ``ip -j``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import Sandbox, ip_json

REPO = Path(__file__).resolve().parents[2]
CNI_DIR = "/usr/lib/cni"
REFERENCE = [f"{CNI_DIR}/macvlan"]
OURS = [sys.executable, "-m", "macvlan.cni"]

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not os.access(REFERENCE[0], os.X_OK),
        reason=f"the reference plugin is not installed at {REFERENCE[0]} "
        "(Debian package containernetworking-plugins)",
    ),
]

NetnsFactory = Callable[..., Any]


class Run:
    """One plugin process: exit status, parsed stdout (or None), stderr."""

    def __init__(self, proc: subprocess.CompletedProcess[bytes]) -> None:
        self.rc = proc.returncode
        text = proc.stdout.decode()
        self.out: Any = json.loads(text) if text.strip() else None
        self.err = proc.stderr.decode()

    @property
    def code(self) -> int | None:
        return self.out.get("code") if isinstance(self.out, dict) else None

    def __repr__(self) -> str:
        return f"Run(rc={self.rc}, out={self.out!r}, err={self.err[-500:]!r})"


def run(
    plugin: list[str],
    host: str,
    command: str,
    config: dict[str, Any] | bytes,
    netns: str | None,
    *,
    ifname: str = "eth0",
    container_id: str = "cid-1",
    env: dict[str, str] | None = None,
    cni_path: str = CNI_DIR,
    timeout: float = 120,
) -> Run:
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_IFNAME": ifname,
        "CNI_PATH": cni_path,
    }
    if netns is not None:
        environ["CNI_NETNS"] = netns
    environ.update(env or {})
    environ = {k: v for k, v in environ.items() if v}
    data = config if isinstance(config, bytes) else json.dumps(config).encode()
    proc = subprocess.run(
        ["ip", "netns", "exec", host, *plugin],
        input=data,
        capture_output=True,
        env=environ,
        cwd=REPO,
        check=False,
        timeout=timeout,
    )
    return Run(proc)


def snapshot(ns: str, ifname: str = "eth0") -> dict[str, Any]:
    """The container's state as ``ip -j`` (an independent oracle) reports it."""
    links = [link for link in ip_json("-d", "link", "show", netns=ns) if link["ifname"] == ifname]
    if not links:
        return {"link": None, "routes": routes_of(ns)}
    link = links[0]
    info = link.get("linkinfo", {})
    addresses = sorted(
        (a["family"], a["local"], a["prefixlen"])
        for entry in ip_json("addr", "show", "dev", ifname, netns=ns)
        for a in entry.get("addr_info", [])
        if a.get("scope") != "link"
    )
    arp_notify = subprocess.run(
        ["ip", "netns", "exec", ns, "cat", f"/proc/sys/net/ipv4/conf/{ifname}/arp_notify"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "link": {
            "kind": info.get("info_kind"),
            "mode": info.get("info_data", {}).get("mode"),
            "mtu": link["mtu"],
            "txqlen": link.get("txqlen", 0),
            "up": "UP" in link["flags"],
        },
        "addresses": addresses,
        "routes": routes_of(ns),
        "arp_notify": arp_notify,
    }


def routes_of(ns: str) -> list[tuple[Any, ...]]:
    out = []
    for family in ("-4", "-6"):
        for r in ip_json(family, "route", "show", "table", "main", netns=ns):
            out.append(
                (r["dst"], r.get("gateway"), r.get("dev"), r.get("protocol"), r.get("scope"))
            )
    return sorted(out, key=repr)


def mac_of(ns: str, ifname: str = "eth0") -> str:
    return str(ip_json("link", "show", ifname, netns=ns)[0]["address"])


def masked(result: Any) -> Any:
    """The result with what must differ (MAC, sandbox path) replaced by placeholders."""
    result = copy.deepcopy(result)
    for interface in result.get("interfaces", []) if isinstance(result, dict) else []:
        if "mac" in interface:
            interface["mac"] = "<mac>"
        if "sandbox" in interface:
            interface["sandbox"] = "<sandbox>"
    return result


def allocations(data_dir: Path) -> list[str]:
    """host-local's reservation files (one per allocated address)."""
    return sorted(
        p.name
        for p in data_dir.rglob("*")
        if p.is_file() and p.name not in ("lock",) and not p.name.startswith("last_reserved")
    )


def with_data_dir(config: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    config = copy.deepcopy(config)
    if config.get("ipam", {}).get("type") == "host-local":
        config["ipam"]["dataDir"] = str(data_dir)
    return config


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@pytest.fixture
def host(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox as the plugins' host namespace: p0 has an address and the default route."""
    sandbox.rt.add_address("p0", "192.168.250.2/24")
    sandbox.rt.add_route("default", gateway="192.168.250.1", link="p0")
    yield sandbox


def lifecycle(
    plugin: list[str],
    host: Sandbox,
    netns_factory: NetnsFactory,
    data_dir: Path,
    config: dict[str, Any],
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """ADD, state, CHECK, DEL, state, DEL again: everything comparable across plugins."""
    ns = netns_factory("mvc")
    config = with_data_dir(config, data_dir)
    add = run(plugin, host.name, "ADD", config, ns.path, env=env)
    assert add.rc == 0, add
    state = snapshot(ns.name)
    mac = mac_of(ns.name)
    if version_tuple(config["cniVersion"]) >= (0, 3, 0):  # 0.1/0.2 results have no interfaces
        assert add.out["interfaces"][0]["mac"] == mac
        assert add.out["interfaces"][0]["sandbox"] == ns.path
    allocated = allocations(data_dir)
    with_prev = dict(config, prevResult=add.out)
    check = None
    if version_tuple(config["cniVersion"]) >= (0, 4, 0):
        check = run(plugin, host.name, "CHECK", with_prev, ns.path, env=env).rc
    first_del = run(plugin, host.name, "DEL", with_prev, ns.path, env=env)
    after = snapshot(ns.name)
    second_del = run(plugin, host.name, "DEL", with_prev, ns.path, env=env)
    return {
        "result": masked(add.out),
        "state": state,
        "allocated": allocated,
        "check": check,
        "del": (first_del.rc, first_del.out, second_del.rc, second_del.out),
        "after": after,
        "left": allocations(data_dir),
        "mac": mac,
    }


def differential(
    host: Sandbox,
    netns_factory: NetnsFactory,
    tmp_path: Path,
    config: dict[str, Any],
    env: dict[str, str] | None = None,
    plugin: list[str] = OURS,
) -> tuple[dict[str, Any], dict[str, Any]]:
    reference = lifecycle(REFERENCE, host, netns_factory, tmp_path / "ref", config, env)
    ours = lifecycle(plugin, host, netns_factory, tmp_path / "ours", config, env)
    mac_ref, mac_ours = reference.pop("mac"), ours.pop("mac")
    assert ours == reference
    return {**reference, "mac": mac_ref}, {**ours, "mac": mac_ours}


def base(version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "cniVersion": version,
        "name": "mvtnet",
        "type": "macvlan",
        "master": "p0",
    }
    config.update(extra)
    return config


def host_local(subnet: str = "10.231.0.0/24", **extra: Any) -> dict[str, Any]:
    return {"type": "host-local", "subnet": subnet, **extra}


DIFFERENTIAL = {
    "host-local-routes-dns": base(
        ipam=host_local(
            routes=[{"dst": "0.0.0.0/0"}, {"dst": "10.232.0.0/16", "gw": "10.231.0.254"}]
        ),
        dns={"nameservers": ["10.231.0.1"], "search": ["example.test"]},
    ),
    "host-local-range": base(
        ipam={
            "type": "host-local",
            "ranges": [[{"subnet": "10.233.0.0/24", "rangeStart": "10.233.0.50"}]],
            "routes": [{"dst": "10.234.0.0/16", "gw": "10.233.0.1"}],
        }
    ),
    "mode-bridge": base(mode="bridge"),
    "mode-private": base(mode="private"),
    "mode-vepa": base(mode="vepa"),
    "mode-passthru": base(mode="passthru"),
    "no-ipam-default-mode": base(),
    "mtu-1400": base(mtu=1400, ipam=host_local()),
    "static-v4-v6": base(
        ipam={
            "type": "static",
            "addresses": [
                {"address": "10.235.0.5/24", "gateway": "10.235.0.1"},
                {"address": "fd00:235::5/64", "gateway": "fd00:235::1"},
            ],
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}],
        }
    ),
    "static-no-gateway": base(
        ipam={"type": "static", "addresses": [{"address": "10.236.0.9/16"}]},
    ),
    "version-0.4.0": base("0.4.0", ipam=host_local()),
    "version-0.3.1": base("0.3.1", ipam=host_local(routes=[{"dst": "0.0.0.0/0"}])),
    "version-0.2.0": base("0.2.0", ipam=host_local(routes=[{"dst": "0.0.0.0/0"}])),
    "default-route-master": {k: v for k, v in base(ipam=host_local()).items() if k != "master"},
}


@pytest.mark.parametrize("case", list(DIFFERENTIAL))
def test_same_result_and_state_as_the_reference(
    case: str, host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    reference, ours = differential(host, netns_factory, tmp_path, DIFFERENTIAL[case])
    # and what both did is what was asked for
    link = ours["state"]["link"]
    config = DIFFERENTIAL[case]
    assert link["kind"] == "macvlan"
    assert link["mode"] == config.get("mode", "bridge")
    assert link["up"] is True
    assert link["mtu"] == config.get("mtu", 1500)
    assert ours["after"]["link"] is None
    assert ours["del"][0] == ours["del"][2] == 0
    if "ipam" in config:
        assert ours["state"]["addresses"]
        assert ours["state"]["arp_notify"] == "1"
    else:
        assert ours["state"]["addresses"] == []
        assert "ips" not in ours["result"]
    if config["ipam"]["type"] == "host-local" if "ipam" in config else False:
        assert len(ours["allocated"]) == 1
        assert ours["left"] == []
    if case == "mode-passthru":
        assert ours["mac"] == reference["mac"]  # passthru takes the parent's MAC
    else:
        assert ours["mac"] != reference["mac"]


def test_the_installed_launcher_is_the_plugin(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    """What ``macvlan cni install`` writes behaves as the reference does, too."""
    from macvlan.cni.install import install

    (tmp_path / "bin").mkdir()
    launcher = install(str(tmp_path / "bin"), "macvlan")
    config = DIFFERENTIAL["static-v4-v6"]
    _, ours = differential(host, netns_factory, tmp_path, config, plugin=[launcher])
    assert ours["state"]["addresses"] == [
        ("inet", "10.235.0.5", 24),
        ("inet6", "fd00:235::5", 64),
    ]


@pytest.mark.parametrize(
    ("where", "env"),
    [
        ("runtimeConfig", {}),
        ("CNI_ARGS", {"CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAME=pod;MAC=02:11:22:33:44:66"}),
    ],
)
def test_mac_from_runtime_config_or_cni_args(
    where: str, env: dict[str, str], host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    config = base(ipam=host_local())
    wanted = "02:11:22:33:44:66"
    if where == "runtimeConfig":
        config["runtimeConfig"] = {"mac": wanted.upper()}
        config["mac"] = "02:00:00:00:00:99"  # runtimeConfig wins over the mac key
    reference, ours = differential(host, netns_factory, tmp_path, config, env)
    assert ours["mac"] == reference["mac"] == wanted


def test_old_versions_convert_results(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    config = DIFFERENTIAL["version-0.2.0"]
    _, ours = differential(host, netns_factory, tmp_path, config)
    assert set(ours["result"]) == {"cniVersion", "ip4", "dns"}
    assert ours["result"]["ip4"]["ip"] == "10.231.0.2/24"
    _, ours = differential(host, netns_factory, tmp_path, DIFFERENTIAL["version-0.4.0"])
    assert ours["result"]["ips"][0]["version"] == "4"
    assert ours["check"] == 0


# -- errors --------------------------------------------------------------------------------
ERRORS: dict[str, tuple[Any, dict[str, str], int, int, str]] = {
    # case: (config, env, our code, reference code, text our message must contain)
    "bad-json": (b'{"cniVersion": "1.0.0",', {}, 6, 6, "decoding"),
    "no-name": ({"cniVersion": "1.0.0", "type": "macvlan"}, {}, 7, 7, "name"),
    "bad-version": (base("9.9.9"), {}, 1, 1, "incompatible"),
    "missing-ifname": (base(), {"CNI_IFNAME": ""}, 4, 4, "CNI_IFNAME"),
    "bad-container-id": (base(), {"CNI_CONTAINERID": "a/../b"}, 4, 4, "'a/../b'"),
    "bad-ifname": (base(), {"CNI_IFNAME": "eth 0"}, 4, 4, "'eth 0'"),
    "source-mode": (base(mode="source"), {}, 7, 999, "'source'"),
    "unknown-mode": (base(mode="bridged"), {}, 7, 999, "'bridged'"),
    "mtu-above-master": (base(mtu=9000), {}, 7, 999, "9000"),
    "mtu-string": (base(mtu="1400"), {}, 7, 999, "'1400'"),
    "missing-master": (base(master="nope0"), {}, 7, 999, "'nope0'"),
    "bad-mac": (base(runtimeConfig={"mac": "02:00:00:00:00:zz"}), {}, 7, 999, "02:00:00:00:00:zz"),
    "unknown-cni-args": (base(), {"CNI_ARGS": "FOO=bar"}, 4, 999, "FOO=bar"),
    "no-such-ipam": (base(ipam={"type": "nosuchipam"}), {}, 7, 999, "'nosuchipam'"),
    "ipam-error-passed-on": (
        base(ipam={"type": "static", "addresses": [{"address": "bogus"}]}),
        {},
        999,
        999,
        "bogus",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_like_the_reference(
    case: str, host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    config, env, ours_code, reference_code, text = ERRORS[case]
    for plugin, code in ((REFERENCE, reference_code), (OURS, ours_code)):
        ns = netns_factory("mvc")
        got = run(plugin, host.name, "ADD", config, ns.path, env=env)
        assert got.rc == 1, got
        assert got.code == code, got
        if plugin is OURS:
            # nothing left behind (the reference leaves its macvlan when the IPAM
            # step fails: its rollback tests a shadowed err)
            assert snapshot(ns.name)["link"] is None
            assert text in got.out["msg"] + got.out.get("details", ""), got
            assert got.out["cniVersion"]


def test_existing_interface_is_an_error_and_left_alone(
    host: Sandbox, netns_factory: NetnsFactory
) -> None:
    for plugin in (REFERENCE, OURS):
        ns = netns_factory("mvc")
        with ns.connect() as rt:
            rt.create_veth("eth0", "peer0")
        got = run(plugin, host.name, "ADD", base(), ns.path)
        assert (got.rc, got.code) == (1, 999), got
        assert snapshot(ns.name)["link"]["kind"] == "veth"


NO_DEFAULT_ROUTE = "no-default-route"
CHECKED_FIRST = {
    "master-missing": (base(master="nope0", ipam=host_local()), 7, 999, "'nope0'"),
    "failing-ipam": (base(master="nope0", ipam={"type": "static", "addresses": [{}]}), 7, 999, ""),
    "mtu-above-master": (base(mtu=9000, ipam=host_local()), 7, 999, "9000"),
    NO_DEFAULT_ROUTE: (
        {k: v for k, v in base(ipam=host_local()).items() if k != "master"},
        7,
        999,
        "no default route interface",
    ),
}


@pytest.mark.parametrize("case", list(CHECKED_FIRST))
def test_bad_add_is_refused_before_ipam_is_asked(
    case: str, host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    """What can be checked is checked before the IPAM plugin runs, as the reference
    does: host-local never creates its data directory nor moves last_reserved_ip."""
    config, ours_code, reference_code, text = CHECKED_FIRST[case]
    if case == NO_DEFAULT_ROUTE:
        host.rt.delete_route("default")
    for plugin, code in ((REFERENCE, reference_code), (OURS, ours_code)):
        ns = netns_factory("mvc")
        data_dir = tmp_path / os.path.basename(plugin[-1])
        got = run(plugin, host.name, "ADD", with_data_dir(config, data_dir), ns.path)
        assert (got.rc, got.code) == (1, code), got
        if plugin is OURS:
            assert text in got.out["msg"], got
        assert not data_dir.exists(), sorted(data_dir.rglob("*"))
        assert snapshot(ns.name)["link"] is None


def test_repeated_add_keeps_the_live_lease(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    """A runtime retries ADD (same container, same ifname): it fails, and the address
    the first ADD got stays allocated -- the next container gets another."""
    seen = {}
    for name, plugin in (("ref", REFERENCE), ("ours", OURS)):
        ns = netns_factory("mvc")
        data_dir = tmp_path / name
        config = with_data_dir(base(ipam=host_local()), data_dir)
        first = run(plugin, host.name, "ADD", config, ns.path)
        assert first.rc == 0, first
        held = allocations(data_dir)
        again = run(plugin, host.name, "ADD", config, ns.path)
        assert (again.rc, again.code) == (1, 999), again
        assert allocations(data_dir) == held  # the lease survives the failed retry
        state = snapshot(ns.name)
        assert state["link"]["kind"] == "macvlan" and state["addresses"], state
        other = netns_factory("mvc")
        second = run(plugin, host.name, "ADD", config, other.path, container_id="cid-2")
        assert second.rc == 0, second
        assert second.out["ips"][0]["address"] != first.out["ips"][0]["address"]
        seen[name] = (held, again.code, allocations(data_dir), masked(second.out))
    assert seen["ours"] == seen["ref"]


def test_two_networks_egress_follows_the_newest_default_route(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    """eth0 then eth1, both with a default route of the same metric: the reference
    adds routes with NLM_F_CREATE only, so the kernel puts eth1's first."""
    routes = [{"dst": "0.0.0.0/0"}]
    first = base(ipam=host_local("192.168.250.0/24", routes=routes, gateway="192.168.250.1"))
    second = dict(
        base(ipam=host_local("10.241.0.0/24", routes=routes, gateway="10.241.0.1")),
        name="mvtnet2",
    )
    egress = {}
    for name, plugin in (("ref", REFERENCE), ("ours", OURS)):
        ns = netns_factory("mvc")
        for config, ifname in ((first, "eth0"), (second, "eth1")):
            got = run(
                plugin,
                host.name,
                "ADD",
                with_data_dir(config, tmp_path / name),
                ns.path,
                ifname=ifname,
            )
            assert got.rc == 0, got
        # a route lookup only (nothing is sent); 198.51.100.7 is TEST-NET-2
        got = ip_json("route", "get", "198.51.100.7", netns=ns.name)[0]
        egress[name] = (got["dev"], got["gateway"], routes_of(ns.name))
    assert egress["ours"] == egress["ref"]
    assert egress["ours"][:2] == ("eth1", "10.241.0.1")


def test_fifo_as_netns_does_not_hang(host: Sandbox, tmp_path: Path) -> None:
    """CNI_NETNS naming a FIFO: opened with O_PATH, it is seen to be no namespace."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    config = with_data_dir(base(ipam=host_local()), tmp_path / "data")
    for command in ("ADD", "CHECK"):
        conf = config if command == "ADD" else dict(config, prevResult={"cniVersion": "1.0.0"})
        got = run(OURS, host.name, command, conf, str(fifo), timeout=30)
        assert (got.rc, got.code) == (1, 3), got
        assert "is not an existing network namespace" in got.out["msg"]
    got = run(OURS, host.name, "DEL", config, str(fifo), timeout=30)
    assert (got.rc, got.out) == (0, None), got  # nothing there to delete
    assert allocations(tmp_path / "data") == []


def test_errors_name_the_interface_not_its_index(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    """Two containers given one MAC on one master: the second cannot come up."""
    config = with_data_dir(base(mac="02:42:0a:f1:00:07", ipam=host_local()), tmp_path)
    assert run(OURS, host.name, "ADD", config, netns_factory("mvc").path).rc == 0
    ns = netns_factory("mvc")
    got = run(OURS, host.name, "ADD", config, ns.path, container_id="cid-2")
    assert (got.rc, got.code) == (1, 999), got
    assert "'eth0'" in got.out["msg"] and "Address already in use" in got.out["msg"], got
    assert not re.search(r"link \d", got.out["msg"]), got
    assert snapshot(ns.name)["link"] is None
    assert len(allocations(tmp_path)) == 1  # the second's address was released


def test_failure_before_the_link_is_made_costs_no_allocation(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    """Without CAP_SYS_ADMIN the plugin cannot enter the container (setns): that
    fails after the IPAM plugin was started, before it was given its input."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed")
    ns = netns_factory("mvc")
    config = with_data_dir(base(ipam=host_local()), tmp_path)
    drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-sys_admin", "--"]
    got = run([*drop, *OURS], host.name, "ADD", config, ns.path)
    assert got.rc == 1, got
    assert "setns" in got.out["msg"] and "Operation not permitted" in got.out["msg"], got
    assert not (tmp_path / "mvtnet").exists()  # host-local never ran
    assert snapshot(ns.name)["link"] is None


def test_existing_interface_keeps_its_name_and_costs_no_allocation(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    for name, plugin in (("ref", REFERENCE), ("ours", OURS)):
        ns = netns_factory("mvc")
        with ns.connect() as rt:
            rt.create_veth("eth0", "peer0")
        data_dir = tmp_path / name
        config = with_data_dir(base(ipam=host_local()), data_dir)
        got = run(plugin, host.name, "ADD", config, ns.path)
        assert (got.rc, got.code) == (1, 999), got
        assert snapshot(ns.name)["link"]["kind"] == "veth"  # the rollback spared it
        assert not data_dir.exists()  # IPAM was never asked


def test_failed_add_rolls_back_link_and_allocation(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    # the route's gateway is not on the link: the kernel refuses it after the
    # address was allocated and configured
    config = base(ipam=host_local(routes=[{"dst": "10.240.0.0/16", "gw": "192.0.2.1"}]))
    left = {}
    for name, plugin in (("ref", REFERENCE), ("ours", OURS)):
        ns = netns_factory("mvc")
        data_dir = tmp_path / name
        got = run(plugin, host.name, "ADD", with_data_dir(config, data_dir), ns.path)
        assert (got.rc, got.code) == (1, 999), got
        assert allocations(data_dir) == []  # both release the address
        left[name] = snapshot(ns.name)["link"]
    assert "192.0.2.1" in got.out["msg"]
    assert left["ours"] is None
    # the reference 1.1.1 (and upstream today) keeps its macvlan: see test_errors_...
    assert left["ref"] is not None and left["ref"]["kind"] == "macvlan"


def test_del_is_idempotent_like_the_reference(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    config = base(ipam=host_local())
    for name, plugin in (("ref", REFERENCE), ("ours", OURS)):
        conf = with_data_dir(config, tmp_path / name)
        assert run(plugin, host.name, "DEL", conf, "/run/netns/mvt-no-such-ns").rc == 0
        assert run(plugin, host.name, "DEL", conf, None).rc == 0
        ns = netns_factory("mvc")
        assert run(plugin, host.name, "DEL", conf, ns.path).rc == 0  # no link there
        add = run(plugin, host.name, "ADD", conf, ns.path)
        assert add.rc == 0, add
        ns.delete()  # the container went away before DEL
        got = run(plugin, host.name, "DEL", dict(conf, prevResult=add.out), ns.path)
        assert (got.rc, got.out) == (0, None), got
        assert allocations(tmp_path / name) == []


@pytest.mark.parametrize("case", ["missing-prev-result", "mode-changed", "address-removed"])
def test_check_failures_like_the_reference(
    case: str, host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    codes = {}
    for name, plugin in (("ref", REFERENCE), ("ours", OURS)):
        ns = netns_factory("mvc")
        config = with_data_dir(base(ipam=host_local()), tmp_path / name)
        add = run(plugin, host.name, "ADD", config, ns.path)
        assert add.rc == 0, add
        check_config = dict(config, prevResult=add.out)
        if case == "missing-prev-result":
            check_config = config
        elif case == "mode-changed":
            check_config["mode"] = "private"
        else:
            subprocess.run(
                ["ip", "-n", ns.name, "addr", "del", add.out["ips"][0]["address"], "dev", "eth0"],
                check=True,
            )
        got = run(plugin, host.name, "CHECK", check_config, ns.path)
        assert got.rc == 1, got
        codes[name] = got.code
        assert run(plugin, host.name, "DEL", check_config, ns.path).rc == 0
    if case == "missing-prev-result":
        assert codes == {"ref": 999, "ours": 7}
    else:
        assert codes == {"ref": 999, "ours": 999}


# -- ours only: what this reference version does not have -----------------------------------
def test_link_in_container(host: Sandbox, netns_factory: NetnsFactory) -> None:
    ns = netns_factory("mvc")
    with ns.connect() as rt:
        rt.create_veth("cp0", "cp1", up=True)
        parent = rt.link("cp0").index
    config = base(master="cp0", linkInContainer=True, mode="vepa")
    add = run(OURS, host.name, "ADD", config, ns.path)
    assert add.rc == 0, add
    link = ip_json("-d", "link", "show", "eth0", netns=ns.name)[0]
    assert link["linkinfo"]["info_kind"] == "macvlan"
    assert link["linkinfo"]["info_data"]["mode"] == "vepa"
    assert link["link"] == "cp0" and "link_netnsid" not in link  # parent in the container
    assert parent == ip_json("link", "show", "cp0", netns=ns.name)[0]["ifindex"]
    assert run(OURS, host.name, "CHECK", dict(config, prevResult=add.out), ns.path).rc == 0
    assert run(OURS, host.name, "DEL", config, ns.path).rc == 0
    assert snapshot(ns.name)["link"] is None
    assert ip_json("link", "show", "cp0", netns=ns.name)  # the parent stays


def test_bcqueuelen(host: Sandbox, netns_factory: NetnsFactory) -> None:
    ns = netns_factory("mvc")
    add = run(OURS, host.name, "ADD", base(bcqueuelen=123), ns.path)
    assert add.rc == 0, add
    link = ip_json("-d", "link", "show", "eth0", netns=ns.name)[0]
    assert link["linkinfo"]["info_data"]["bcqueuelen"] == 123


def test_cni_1_1_0_without_ipam(host: Sandbox, netns_factory: NetnsFactory) -> None:
    ns = netns_factory("mvc")
    config = base("1.1.0", dns={"nameservers": ["10.0.0.53"]})
    add = run(OURS, host.name, "ADD", config, ns.path)
    assert add.rc == 0, add
    assert add.out["cniVersion"] == "1.1.0"
    assert add.out["dns"] == {"nameservers": ["10.0.0.53"]}
    assert run(OURS, host.name, "CHECK", dict(config, prevResult=add.out), ns.path).rc == 0
    assert run(OURS, host.name, "STATUS", config, None, container_id="", ifname="").rc == 0
    gc = dict(config, **{"cni.dev/valid-attachments": []})
    assert run(OURS, host.name, "GC", gc, None, container_id="", ifname="").rc == 0
    assert run(OURS, host.name, "DEL", config, ns.path).rc == 0
    missing = run(OURS, host.name, "STATUS", base("1.1.0", master="gone0"), None, ifname="")
    assert (missing.rc, missing.code) == (1, 50), missing


def test_cni_1_1_0_with_an_ipam_plugin_that_only_speaks_1_0(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    # the IPAM plugin's own error (incompatible version) is passed on; nothing is left
    ns = netns_factory("mvc")
    config = with_data_dir(base("1.1.0", ipam=host_local()), tmp_path)
    got = run(OURS, host.name, "ADD", config, ns.path)
    assert (got.rc, got.code) == (1, 1), got
    assert snapshot(ns.name)["link"] is None


def test_own_namespace_is_refused_and_untouched(host: Sandbox) -> None:
    own = f"/run/netns/{host.name}"
    for command in ("ADD", "DEL"):
        got = run(OURS, host.name, command, base(), own, ifname="p1")
        assert (got.rc, got.code) == (1, 8), got
    assert ip_json("link", "show", "p1", netns=host.name)  # not deleted


def test_del_of_a_path_that_is_no_namespace(host: Sandbox, tmp_path: Path) -> None:
    stale = tmp_path / "stale-netns"
    stale.write_text("")
    got = run(OURS, host.name, "DEL", base(), str(stale))
    assert (got.rc, got.out) == (0, None), got


def test_ipam_del_runs_when_add_fails_after_ipam(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    log = tmp_path / "calls"
    plugin = tmp_path / "fakeipam"
    plugin.write_text(
        "#!/bin/sh\ncat >/dev/null\n"
        f'echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME" >> {log}\n'
        'if [ "$CNI_COMMAND" = ADD ]; then\n'
        '  echo \'{"cniVersion": "1.0.0", "ips": [{"address": "10.241.0.7/24"}],'
        ' "routes": [{"dst": "10.242.0.0/16", "gw": "198.51.100.1"}]}\'\n'
        "fi\n"
    )
    plugin.chmod(0o755)
    ns = netns_factory("mvc")
    got = run(
        OURS,
        host.name,
        "ADD",
        base(ipam={"type": "fakeipam"}),
        ns.path,
        cni_path=f"relative/dir:{tmp_path}",
    )
    assert (got.rc, got.code) == (1, 999), got
    assert log.read_text() == "ADD cid-1 eth0\nDEL cid-1 eth0\n"
    assert snapshot(ns.name)["link"] is None


def test_nothing_is_left_in_the_host_namespace(host: Sandbox, netns_factory: NetnsFactory) -> None:
    ns = netns_factory("mvc")
    assert run(OURS, host.name, "ADD", base(), ns.path).rc == 0
    assert ip_json("-d", "link", "show", "type", "macvlan", netns=host.name) == []
    assert run(OURS, host.name, "DEL", base(), ns.path).rc == 0


def test_check_of_a_route_without_gw(
    host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    """A route without "gw" is installed via the address's gateway by both plugins;
    the reference's CHECK then looks for it without a gateway and fails, ours passes."""
    config = base(ipam=host_local(routes=[{"dst": "10.243.0.0/16"}]))
    checks = {}
    for name, plugin in (("ref", REFERENCE), ("ours", OURS)):
        ns = netns_factory("mvc")
        conf = with_data_dir(config, tmp_path / name)
        add = run(plugin, host.name, "ADD", conf, ns.path)
        assert add.rc == 0, add
        assert ("10.243.0.0/16", "10.231.0.1", "eth0", None, None) in snapshot(ns.name)["routes"]
        checks[name] = run(plugin, host.name, "CHECK", dict(conf, prevResult=add.out), ns.path)
        assert run(plugin, host.name, "DEL", conf, ns.path).rc == 0
    assert checks["ours"].rc == 0, checks["ours"]
    assert checks["ref"].rc == 1 and "10.243.0.0" in checks["ref"].out["msg"]


# -- dhcp IPAM: the CNI dhcp daemon against a minimal DHCP server in the host namespace --------
class MiniDhcpServer:
    """Answers DHCPDISCOVER/REQUEST with one fixed lease and records RELEASEs.

    Listens on ``p1`` of the host namespace; the macvlan's parent ``p0`` is p1's peer,
    so the container's DHCP broadcasts arrive here and the broadcast answers reach it.
    """

    COOKIE = b"\x63\x82\x53\x63"

    def __init__(self, ns: Any, address: str, lease: str, router: str) -> None:
        import socket
        import threading

        def make() -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"p1")
            sock.bind(("0.0.0.0", 67))
            sock.settimeout(0.2)
            return sock

        self.sock = ns.run(make)
        self.address = socket.inet_aton(address)
        self.lease = socket.inet_aton(lease)
        self.router = socket.inet_aton(router)
        self.seen: list[int] = []
        self.released: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def _serve(self) -> None:
        import socket

        while not self._stop.is_set():
            try:
                packet, _ = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            if len(packet) < 240 or packet[0] != 1 or packet[236:240] != self.COOKIE:
                continue
            options = self._options(packet[240:])
            kind = options.get(53, b"\0")[0]
            self.seen.append(kind)
            if kind == 7:  # RELEASE
                self.released.append(socket.inet_ntoa(packet[12:16]))
            elif kind in (1, 3):  # DISCOVER -> OFFER, REQUEST -> ACK
                self.sock.sendto(
                    self._reply(packet, 2 if kind == 1 else 5), ("255.255.255.255", 68)
                )

    @staticmethod
    def _options(data: bytes) -> dict[int, bytes]:
        out, at = {}, 0
        while at < len(data) and data[at] != 255:
            if data[at] == 0:
                at += 1
                continue
            size = data[at + 1]
            out[data[at]] = data[at + 2 : at + 2 + size]
            at += 2 + size
        return out

    def _reply(self, request: bytes, kind: int) -> bytes:
        header = bytes([2, 1, 6, 0]) + request[4:8] + bytes(2) + request[10:12]
        header += bytes(4) + self.lease + self.address + bytes(4) + request[28:44] + bytes(192)
        options = bytes([53, 1, kind, 54, 4]) + self.address
        options += bytes([51, 4]) + (3600).to_bytes(4, "big")
        options += bytes([1, 4, 255, 255, 255, 0, 3, 4]) + self.router + bytes([255])
        return header + self.COOKIE + options


@pytest.fixture
def dhcp(host: Sandbox, tmp_path: Path) -> Iterator[tuple[MiniDhcpServer, str]]:
    if not os.access(f"{CNI_DIR}/dhcp", os.X_OK):
        pytest.skip(f"the dhcp IPAM plugin is not installed at {CNI_DIR}/dhcp")
    host.rt.add_address("p1", "192.168.251.1/24")
    server = MiniDhcpServer(host.ns, "192.168.251.1", "192.168.251.100", "192.168.251.1")
    socket_path = str(tmp_path / "dhcp.sock")
    daemon = subprocess.Popen(
        [f"{CNI_DIR}/dhcp", "daemon", "-socketpath", socket_path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import time

        deadline = time.monotonic() + 10
        while not os.path.exists(socket_path):
            assert daemon.poll() is None, "the dhcp daemon exited"
            assert time.monotonic() < deadline, "the dhcp daemon did not start"
            time.sleep(0.05)
        yield server, socket_path
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        server.close()


def test_dhcp_ipam_like_the_reference(
    dhcp: tuple[MiniDhcpServer, str],
    host: Sandbox,
    netns_factory: NetnsFactory,
    tmp_path: Path,
) -> None:
    server, socket_path = dhcp
    config = base(ipam={"type": "dhcp", "daemonSocketPath": socket_path})
    reference = lifecycle(REFERENCE, host, netns_factory, tmp_path / "ref", config)
    released_by_reference = list(server.released)
    ours = lifecycle(OURS, host, netns_factory, tmp_path / "ours", config)
    reference.pop("mac"), ours.pop("mac")
    assert ours == reference
    assert ours["result"]["ips"] == [
        {"interface": 0, "address": "192.168.251.100/24", "gateway": "192.168.251.1"}
    ]
    assert ("192.168.251.100", 24) in [(a[1], a[2]) for a in ours["state"]["addresses"]]
    # both released the lease through the link before deleting it
    assert released_by_reference == ["192.168.251.100"]
    assert server.released == ["192.168.251.100", "192.168.251.100"]


@pytest.mark.parametrize("kind", ["failipam", "dhcp"])
def test_del_deletes_the_link_even_when_ipam_del_fails(
    kind: str, host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    # "dhcp" here is a stand-in that fails: dhcp's DEL runs before the link is deleted
    plugin = tmp_path / kind
    plugin.write_text('#!/bin/sh\ncat >/dev/null\necho \'{"code": 11, "msg": "later"}\'\nexit 1\n')
    plugin.chmod(0o755)
    ns = netns_factory("mvc")
    assert run(OURS, host.name, "ADD", base(), ns.path).rc == 0
    got = run(OURS, host.name, "DEL", base(ipam={"type": kind}), ns.path, cni_path=str(tmp_path))
    assert (got.rc, got.code, got.out["msg"]) == (1, 11, "later"), got
    assert snapshot(ns.name)["link"] is None


# -- start-up: what a real ADD, CHECK and DEL import -----------------------------------------
# Each of these costs 1-10 ms of every plugin process (bench_cni.py prints the breakdown);
# none is needed by a command that went well.
HEAVY_FOR_A_COMMAND = {
    "typing",
    "enum",
    "collections",
    "functools",
    "re",
    "socket",
    "selectors",
    "threading",
    "contextlib",
    "ipaddress",
    "json",
    "array",
    "dataclasses",
    "subprocess",
    "macvlan._netlink.constants",
}
try:  # with the compiled syscalls, entering namespaces needs neither ctypes nor fcntl
    import macvlan._csys  # type: ignore[import-not-found]  # noqa: F401

    HEAVY_FOR_A_COMMAND |= {"ctypes", "fcntl"}
except ImportError:
    pass


def with_imports(plugin_run: Callable[[list[str]], Run]) -> tuple[Run, set[str]]:
    """One plugin process, checked to succeed, and the modules it imported
    (``-X importtime``).  It starts as the launcher ``macvlan cni install`` writes
    does (``-m`` would add runpy's imports)."""
    from macvlan.cni.install import search_path

    main = f"import sys; sys.path[:0] = {search_path()!r}; from macvlan.cni import run; run()"
    result = plugin_run([sys.executable, "-IS", "-X", "importtime", "-c", main])
    assert result.rc == 0, result
    return result, {
        line.rsplit("|", 1)[1].strip()
        for line in result.err.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("ipam", ["host-local", "static-v4-v6"])
def test_commands_import_only_what_they_need(
    ipam: str, host: Sandbox, netns_factory: NetnsFactory, tmp_path: Path
) -> None:
    ns = netns_factory("mvc")
    config = with_data_dir(
        DIFFERENTIAL["host-local-routes-dns" if ipam == "host-local" else ipam], tmp_path
    )
    add, imported = with_imports(lambda p: run(p, host.name, "ADD", config, ns.path))
    assert {"macvlan.cni.rtnl", "macvlan._netlink.socket"} <= imported  # it did the work
    assert imported & HEAVY_FOR_A_COMMAND == set()
    checked = {**config, "prevResult": add.out}
    _, imported = with_imports(lambda p: run(p, host.name, "CHECK", checked, ns.path))
    assert "macvlan.cni.rtnl" in imported
    assert imported & HEAVY_FOR_A_COMMAND == set()
    _, imported = with_imports(lambda p: run(p, host.name, "DEL", config, ns.path))
    assert "macvlan.cni.rtnl" in imported
    assert imported & HEAVY_FOR_A_COMMAND == set()
    assert [link["ifname"] for link in ip_json("link", "show", netns=ns.name)] == ["lo"]
