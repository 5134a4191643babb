"""The command line, run as ``python -m macvlan ...`` in throw-away namespaces.

``ip -j`` is the oracle for what the kernel holds, netaddr for MAC arithmetic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from support import ip_json, python_output, run_on_terminal, unique_name

from macvlan.mac import MacAddress

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
live = pytest.mark.live


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m macvlan ARGS`` from the source tree."""
    full_env = {**os.environ, "PYTHONPATH": ROOT, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "macvlan", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def ok(*args: str) -> Any:
    """Run with --json, expect exit 0 and quiet stderr; return the parsed output."""
    proc = run("--json", *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def failed(*args: str, status: int) -> str:
    """Expect ``status`` with no output and no traceback; return the error line(s)."""
    proc = run(*args)
    assert proc.returncode == status, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    return proc.stderr


def one_line_error(*args: str) -> str:
    err = failed(*args, status=1)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("macvlan: error: ")
    return lines[0]


# -- usage -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["link"],
        ["link", "add", "mv0"],  # no --parent
        ["link", "add", "mv0", "--parent", "p0", "--mtu", "12"],
        ["link", "add", "mv0", "--parent", "p0", "--mtu", "lots"],
        ["link", "add", "mv0", "--parent", "p0", "--mode", "sideways"],
        ["link", "add", "mv0", "--parent", "p0", "--mac", "00:11:22:33:44"],
        ["link", "add", "much-too-long-name0", "--parent", "p0"],
        ["link", "add", "mv0", "--parent", "p0", "--flags", "loud"],
        ["link", "add", "mv", "--parent", "p0", "--count", "3", "--mac", "02:00:00:00:00:01"],
        ["link", "add", "mvlongname123", "--parent", "p0", "--count", "1000"],  # 16 bytes
        ["link", "set", "mv0"],  # nothing to change
        ["link", "set", "mv0", "--up", "--down"],
        ["-n", "a/b", "link", "list"],
        ["netns", "add"],
        ["netns", "add", ".."],
        ["mac", "parse", "zz:zz:zz:zz:zz:zz"],
        ["mac", "parse", "00:1b:77:49:54:fd", "0x001b774954fd"],
        ["mac", "random", "--quadrant", "north"],
        ["mac", "random", "--quadrant", "eli"],  # needs --cid
        ["mac", "random", "-n", "0"],
        ["mac", "convert", "00:1b:77:49:54:fd"],  # no --format
        ["mac", "convert", "00:1b:77:49:54:fd", "--format", "klingon"],
        ["network", "create", "lan", "--parent", "p0", "--subnet", "10.0.0.1/24"],
        ["network", "attach", "lan", "ns", "--ip", "10.0.0.300"],
        ["ping", "example.com"],
        ["ping", "10.0.0.1", "-c", "0"],
        ["demo", "--keep", "--cleanup"],
        ["--json", "link", "show"],
    ],
)
def test_bad_arguments_are_usage_errors(args: list[str]) -> None:
    err = failed(*args, status=2)
    assert "usage: macvlan" in err
    assert err.splitlines()[-1].startswith("macvlan")
    assert ": error: " in err.splitlines()[-1]


def test_usage_error_names_the_bad_value() -> None:
    err = failed("mac", "parse", "00:1b:77:49:54:fx", status=2)
    assert "'00:1b:77:49:54:fx'" in err
    err = failed("link", "add", "mv0", "--parent", "p0", "--mtu", "12", status=2)
    assert "--mtu" in err and "12" in err
    assert err.startswith("usage: macvlan link add")


def test_help_and_version() -> None:
    proc = run("--help")
    assert proc.returncode == 0 and "link" in proc.stdout and "demo" in proc.stdout
    proc = run("link", "add", "--help")
    assert proc.returncode == 0 and "--parent" in proc.stdout
    proc = run("--version")
    assert proc.returncode == 0
    import macvlan

    # the backend the child loads from the source tree (a fresh clone has no
    # compiled module there, whatever the test process itself imported)
    probe = subprocess.run(
        [sys.executable, "-c", "import macvlan._netlink as n; print(n.backend)"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ROOT},
        cwd=ROOT,
        check=True,
    )
    backend = probe.stdout.strip()
    assert backend in ("cffi", "python")
    assert proc.stdout.startswith(f"macvlan {macvlan.__version__} (netlink backend: {backend}")
    if backend != "cffi":  # the pure-Python fallback says why, once, here
        assert "slower: " in proc.stdout


def test_import_is_light() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import macvlan.cli\n"
        "new = set(sys.modules) - before\n"
        "mods = sorted(m for m in new if m.startswith('macvlan'))\n"
        "heavy = [m for m in ('json', 'ipaddress', 'sqlite3', 'subprocess', 'socket')"
        " if m in new]\n"
        "print(mods, heavy)\n"
    )
    out = python_output(code)
    assert out.strip() == "['macvlan', 'macvlan.cli', 'macvlan.cli.status', 'macvlan.errors'] []"


def test_console_script_is_declared() -> None:
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert scripts["macvlan"] == "macvlan.cli:main"
    from macvlan.cli import main

    assert main(["--version"]) == 0


def test_main_returns_statuses_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    from macvlan.cli import main

    assert main(["mac", "convert", "00:1b:77:49:54:fd", "-f", "bare"]) == 0
    assert capsys.readouterr().out == "001b774954fd\n"
    assert main(["mac", "parse", "nonsense"]) == 2
    assert main(["link"]) == 2


# -- mac (no root) ----------------------------------------------------------------------------
def test_mac_parse_universal() -> None:
    import netaddr

    data = ok("mac", "parse", "00-1B-77-49-54-FD")
    eui = netaddr.EUI("00:1b:77:49:54:fd")
    assert data["input"] == "00-1B-77-49-54-FD"
    assert data["address"] == "00:1b:77:49:54:fd"
    assert data["formats"] == {
        "colon": "00:1b:77:49:54:fd",
        "hyphen": "00-1b-77-49-54-fd",
        "cisco": str(netaddr.EUI(eui, dialect=netaddr.mac_cisco)),
        "bare": str(netaddr.EUI(eui, dialect=netaddr.mac_bare)).lower(),
        "pgsql": str(netaddr.EUI(eui, dialect=netaddr.mac_pgsql)),
        "bsd": "0:1b:77:49:54:fd",
    }
    assert data["int"] == int(eui)
    assert (data["ig"], data["ul"], data["cast"]) == (0, 0, "unicast")
    assert data["administration"] == "UAA" and data["kind"] == "UAA"
    assert data["slap_quadrant"] is None
    assert data["oui"] == "00:1b:77"
    assert data["modified_eui64"] == str(eui.modified_eui64()).replace("-", ":").lower()
    assert data["ipv6_link_local"] == str(eui.ipv6_link_local()) == "fe80::21b:77ff:fe49:54fd"


@pytest.mark.parametrize(
    ("text", "kind", "quadrant", "cast"),
    [
        ("02:00:00:00:00:01", "LAA AAI", "AAI", "unicast"),
        ("ba98.7600.0001", "LAA ELI", "ELI", "unicast"),
        ("0e0000000001", "LAA SAI", "SAI", "unicast"),
        ("06:00:00:00:00:01", "LAA RESERVED", "RESERVED", "unicast"),
        ("01:00:5e:00:00:01", "group", None, "multicast"),
        ("ff:ff:ff:ff:ff:ff", "group", "SAI", "broadcast"),
    ],
)
def test_mac_parse_kinds(text: str, kind: str, quadrant: str | None, cast: str) -> None:
    data = ok("mac", "parse", text)
    assert (data["kind"], data["slap_quadrant"], data["cast"]) == (kind, quadrant, cast)
    first = int(data["address"][:2], 16)
    assert data["first_octet"] == f"{first:08b}"
    assert data["ul"] == (first >> 1) & 1 and data["ig"] == first & 1
    assert data["cid"] == (data["oui"] if quadrant == "ELI" else None)


def test_mac_parse_text_and_several() -> None:
    proc = run("mac", "parse", "00:1b:77:49:54:fd", "02:42:ac:11:00:02")
    assert proc.returncode == 0
    assert "IPv6 link-local  fe80::21b:77ff:fe49:54fd" in proc.stdout
    assert "SLAP quadrant    AAI (administratively assigned)" in proc.stdout
    assert "administration   UAA (universally administered)" in proc.stdout
    data = ok("mac", "parse", "00:1b:77:49:54:fd", "02:42:ac:11:00:02")
    assert [d["address"] for d in data] == ["00:1b:77:49:54:fd", "02:42:ac:11:00:02"]


@pytest.mark.parametrize(("quadrant", "nibble"), [("aai", 0x2), ("sai", 0xE), (None, None)])
def test_mac_random(quadrant: str | None, nibble: int | None) -> None:
    extra = [] if quadrant is None else ["--quadrant", quadrant]
    macs = [MacAddress(m) for m in ok("mac", "random", "-n", "50", *extra)]
    assert len(set(macs)) == 50
    for mac in macs:
        assert mac.is_local and mac.is_unicast
        if nibble is not None:
            assert int(mac) >> 40 & 0x0F == nibble


def test_mac_random_eli_oui_and_seed() -> None:
    macs = ok("mac", "random", "--quadrant", "eli", "--cid", "ba:98:76", "-n", "3")
    assert all(m.startswith("ba:98:76:") for m in macs) and len(set(macs)) == 3
    macs = ok("mac", "random", "--oui", "00:16:3e", "-n", "3")
    assert all(m.startswith("00:16:3e:") for m in macs)
    first = ok("mac", "random", "-n", "4", "--seed", "7")
    assert ok("mac", "random", "-n", "4", "--seed", "7") == first
    assert ok("mac", "random", "-n", "4", "--seed", "8") != first
    proc = run("mac", "random", "-n", "3")
    assert proc.returncode == 0 and len(proc.stdout.split()) == 3


def test_mac_stable() -> None:
    key = "0123456789abcdef0123456789abcdef"
    data = ok("mac", "stable", "eth0", "--key", key)
    assert data["name"] == "eth0"
    assert data["address"] == str(MacAddress.stable("eth0", key))
    mac = MacAddress(data["address"])
    assert mac.is_local and mac.is_unicast
    assert ok("mac", "stable", "eth0", "--key", key) == data  # deterministic
    both = ok("mac", "stable", "eth0", "eth1", "--key", key)
    assert [d["name"] for d in both] == ["eth0", "eth1"]
    assert both[0]["address"] != both[1]["address"]


def test_mac_convert() -> None:
    import netaddr

    assert ok("mac", "convert", "00:1b:77:49:54:fd", "--format", "cisco") == str(
        netaddr.EUI("00:1b:77:49:54:fd", dialect=netaddr.mac_cisco)
    )
    assert ok("mac", "convert", "001b.7749.54fd", "-f", "HYPHEN") == "00-1B-77-49-54-FD"
    assert ok("mac", "convert", "1:2:3:4:5:6", "0:1b:77:49:54:fd", "-f", "bare") == [
        "010203040506",
        "001b774954fd",
    ]


def test_json_flag_works_after_the_command() -> None:
    before = run("--json", "mac", "convert", "00:1b:77:49:54:fd", "-f", "pgsql")
    after = run("mac", "convert", "00:1b:77:49:54:fd", "-f", "pgsql", "--json")
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout == '"001b77:4954fd"\n'


# -- link (live) --------------------------------------------------------------------------------
def _ip_link(ns: str, name: str) -> dict[str, Any]:
    [data] = ip_json("-d", "link", "show", name, netns=ns)
    return dict(data)


def _same_as_ip(ours: dict[str, Any], theirs: dict[str, Any], settled: bool = True) -> None:
    """Compare the fields both print; ``settled``: the operstate and carrier had time to
    settle (the kernel updates them asynchronously after a link goes up)."""
    assert ours["ifindex"] == theirs["ifindex"]
    assert ours["ifname"] == theirs["ifname"]
    assert ours["address"] == theirs["address"]
    assert ours["mtu"] == theirs["mtu"]
    if settled:
        assert ours["operstate"] == theirs["operstate"]
        assert set(ours["flags"]) == set(theirs["flags"])
    else:
        settling = {"NO-CARRIER", "LOWER_UP"}
        assert set(ours["flags"]) - settling == set(theirs["flags"]) - settling
    assert ours["link"] == theirs.get("link")
    assert ours["txqlen"] == theirs.get("txqlen", 0)
    info = theirs.get("linkinfo", {})
    assert ours["kind"] == info.get("info_kind")
    if "macvlan" in ours:
        data = info["info_data"]
        assert ours["macvlan"]["mode"] == data["mode"]
        assert ours["macvlan"]["bcqueuelen"] == data.get("bcqueuelen")
        assert set(ours["macvlan"]["flags"]) == {f for f in ("nopromisc", "nodst") if data.get(f)}


def _same_once_settled(ns: str, name: str) -> None:
    """``link show`` agrees with ``ip`` once the operstate has stopped changing."""
    for _ in range(40):
        ours, theirs = ok("-n", ns, "link", "show", name), _ip_link(ns, name)
        if ours["operstate"] == theirs["operstate"] == _ip_link(ns, name)["operstate"]:
            break
        time.sleep(0.05)
    _same_as_ip(ours, theirs)


@live
def test_link_add_matches_ip(sandbox: Any) -> None:
    ns = sandbox.name
    data = ok(
        "-n", ns, "link", "add", "mv0", "--parent", "p0", "--mode", "private",
        "--mac", "02:00:5e:10:00:01", "--mtu", "1400", "--up",
    )  # fmt: skip
    theirs = _ip_link(ns, "mv0")
    _same_as_ip(data, theirs, settled=False)
    _same_once_settled(ns, "mv0")
    assert data["address_kind"] == "LAA AAI"
    assert data["macvlan"]["mode"] == "private"
    assert data["up"] is True and "UP" in theirs["flags"]
    # text output: one ip-like line
    proc = run("-n", ns, "link", "add", "mv1", "--parent", "p0", "--flags", "nopromisc")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith(f"{_ip_link(ns, 'mv1')['ifindex']}: mv1@p0: <")
    assert "macvlan bridge nopromisc" in line
    assert _ip_link(ns, "mv1")["linkinfo"]["info_data"].get("nopromisc") is True


@live
def test_link_add_generated_macs(sandbox: Any) -> None:
    ns = sandbox.name
    rnd = ok("-n", ns, "link", "add", "mvr", "--parent", "p0", "--mac", "random")
    assert rnd["address_kind"] == "LAA AAI"
    assert _ip_link(ns, "mvr")["address"] == rnd["address"]
    stable = ok("-n", ns, "link", "add", "mvs", "--parent", "p0", "--mac", "stable")
    assert stable["address"] == str(MacAddress.stable("mvs"))
    assert _ip_link(ns, "mvs")["address"] == stable["address"]
    tap = ok("-n", ns, "link", "add", "tap0", "--parent", "p0", "--type", "macvtap")
    assert tap["kind"] == "macvtap" == _ip_link(ns, "tap0")["linkinfo"]["info_kind"]


@live
def test_link_add_into_another_namespace(sandbox: Any, netns_factory: Callable[..., Any]) -> None:
    other = netns_factory("mvt").name
    data = ok("-n", sandbox.name, "link", "add", "mvx", "--parent", "p0", "--netns", other, "--up")
    theirs = _ip_link(other, "mvx")
    assert data["ifindex"] == theirs["ifindex"] and data["address"] == theirs["address"]
    assert data["link_netnsid"] is not None and theirs.get("link_netnsid") is not None
    assert ip_json("link", "show", "type", "macvlan", netns=sandbox.name) == []


@live
def test_link_bulk_create_and_delete(sandbox: Any) -> None:
    ns = sandbox.name
    proc = run("--json", "-n", ns, "link", "add", "bulk", "--parent", "p0",
               "--count", "300", "--mac", "random")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress in a pipe
    made = json.loads(proc.stdout)
    assert [d["ifname"] for d in made] == [f"bulk{i}" for i in range(300)]
    theirs = {d["ifname"]: d for d in ip_json("link", "show", "type", "macvlan", netns=ns)}
    assert set(theirs) == {f"bulk{i}" for i in range(300)}
    assert {d["address"] for d in made} == {d["address"] for d in theirs.values()}
    assert len({d["address"] for d in made}) == 300
    names = [f"bulk{i}" for i in range(300)]
    assert ok("-n", ns, "link", "del", *names) == {"deleted": 300}
    assert ip_json("link", "show", "type", "macvlan", netns=ns) == []


@live
def test_link_bulk_create_shows_progress_on_a_terminal(sandbox: Any) -> None:
    status, out, seen = run_on_terminal(
        "-n", sandbox.name, "link", "add", "tty", "--parent", "p0", "--count", "600"
    )
    assert status == 0
    assert b"\r\x1b[Kcreated 256/600 links" in seen
    assert b"\r\x1b[Kcreated 600/600 links" in seen
    assert seen.endswith(b"\r\x1b[K")
    assert len(out.splitlines()) == 600 and "\x1b" not in out
    assert len(ip_json("link", "show", "type", "macvlan", netns=sandbox.name)) == 600


@live
def test_link_bulk_create_is_all_or_nothing(sandbox: Any) -> None:
    ns = sandbox.name
    sandbox.rt.create_macvlan("dup7", "p0")  # the 8th name is taken
    err = one_line_error("-n", ns, "link", "add", "dup", "--parent", "p0", "--count", "10")
    assert "exists" in err.lower()
    names = {d["ifname"] for d in ip_json("link", "show", "type", "macvlan", netns=ns)}
    assert names == {"dup7"}


@live
def test_link_list_and_show(sandbox: Any) -> None:
    ns = sandbox.name
    for name in ("mva", "mvb"):
        sandbox.rt.create_macvlan(name, "p0")
    sandbox.rt.create_macvtap("tapa", "p0")
    subprocess.run(["ip", "-n", ns, "addr", "add", "10.7.0.2/24", "dev", "mva"], check=True)
    ours = ok("-n", ns, "link", "list", "--kind", "macvlan")
    theirs = ip_json("-d", "link", "show", "type", "macvlan", netns=ns)
    assert [d["ifname"] for d in ours] == [d["ifname"] for d in theirs] == ["mva", "mvb"]
    for mine, ip_says in zip(ours, theirs, strict=True):
        _same_as_ip(mine, ip_says)
    everything = ok("-n", ns, "link", "list")
    assert {d["ifname"] for d in everything} == {
        d["ifname"] for d in ip_json("link", "show", netns=ns)
    }
    children = ok("-n", ns, "link", "list", "--parent", "p0")
    assert {d["ifname"] for d in children} == {"mva", "mvb", "tapa", "p1"}  # p1: veth peer
    children = ok("-n", ns, "link", "list", "--parent", "p0", "--kind", "macvlan")
    assert {d["ifname"] for d in children} == {"mva", "mvb"}
    shown = ok("-n", ns, "link", "show", "mva")
    _same_as_ip(shown, _ip_link(ns, "mva"))
    assert shown["addresses"] == ["10.7.0.2/24"]
    text = run("-n", ns, "link", "show", "mva").stdout.splitlines()
    assert text[0].startswith(f"{shown['ifindex']}: mva@p0: ")
    assert "    inet 10.7.0.2/24" in text
    mac = MacAddress(shown["address"])
    assert f"    link-local {mac.ipv6_link_local()}" in text
    by_index = ok("-n", ns, "link", "show", str(shown["ifindex"]))
    assert by_index["ifname"] == "mva"


@live
def test_link_set(sandbox: Any, netns_factory: Callable[..., Any]) -> None:
    ns = sandbox.name
    sandbox.rt.create_macvlan("mvset", "p0", up=True)
    data = ok("-n", ns, "link", "set", "mvset", "--mtu", "1300", "--down", "--mode", "vepa",
              "--mac", "02:00:00:00:be:ef", "--flags", "nopromisc")  # fmt: skip
    theirs = _ip_link(ns, "mvset")
    _same_as_ip(data, theirs, settled=False)
    assert (theirs["mtu"], theirs["address"]) == (1300, "02:00:00:00:be:ef")
    assert "UP" not in theirs["flags"]
    assert theirs["linkinfo"]["info_data"]["mode"] == "vepa"
    data = ok("-n", ns, "link", "set", "mvset", "--name", "renamed", "--up")
    assert data["ifname"] == "renamed" and data["up"] is True
    assert _ip_link(ns, "renamed")["ifindex"] == data["ifindex"]
    other = netns_factory("mvt").name
    moved = ok("-n", ns, "link", "set", "renamed", "--netns", other)
    assert moved["ifname"] == "renamed" and moved["link_netnsid"] is not None
    assert _ip_link(other, "renamed")["address"] == "02:00:00:00:be:ef"


@live
def test_link_del(sandbox: Any) -> None:
    ns = sandbox.name
    for name in ("d1", "d2", "d3"):
        sandbox.rt.create_macvlan(name, "p0")
    assert ok("-n", ns, "link", "del", "d1") == {"deleted": 1}
    proc = run("-n", ns, "link", "del", "d2", "d3")
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    assert ip_json("link", "show", "type", "macvlan", netns=ns) == []
    err = one_line_error("-n", ns, "link", "del", "d1")
    assert "'d1'" in err
    assert ok("-n", ns, "link", "del", "d1", "--missing-ok") == {"deleted": 0}
    assert ok("-n", ns, "link", "del", "d1", "d2", "--missing-ok") == {"deleted": 0}


@live
def test_operation_failures_are_one_line(sandbox: Any) -> None:
    ns = sandbox.name
    assert "'nope0'" in one_line_error("-n", ns, "link", "add", "mv0", "--parent", "nope0")
    assert "'nope0'" in one_line_error("-n", ns, "link", "show", "nope0")
    sandbox.rt.create_macvlan("taken", "p0")
    assert "exists" in one_line_error("-n", ns, "link", "add", "taken", "--parent", "p0").lower()
    missing = unique_name("mvt-missing")
    assert missing in one_line_error("-n", missing, "link", "list")
    # MTU above the parent's: refused by the kernel, reported with its ext-ack text
    err = one_line_error("-n", ns, "link", "add", "big", "--parent", "p0", "--mtu", "9000")
    assert err.startswith("macvlan: error: ")
    # --debug shows the traceback
    proc = run("--debug", "-n", ns, "link", "show", "nope0")
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "LinkNotFound" in proc.stderr


@live
def test_global_netns_never_touches_the_caller(sandbox: Any) -> None:
    before = {d["ifname"] for d in ip_json("link", "show")}
    ok("-n", sandbox.name, "link", "add", "mvonly", "--parent", "p0")
    assert {d["ifname"] for d in ip_json("link", "show")} == before
    assert ip_json("link", "show", "type", "macvlan") == []


# -- netns (live) -------------------------------------------------------------------------------
@live
def test_netns_add_list_del() -> None:
    a, b = unique_name("mvt-cli"), unique_name("mvt-cli")
    try:
        assert ok("netns", "add", a, b) == [{"name": a}, {"name": b}]
        listed = {d["name"] for d in ok("netns", "list")}
        names = {d["name"] for d in ip_json("netns", "list")}
        assert {a, b} <= listed and {a, b} <= names
        # others may add and remove namespaces meanwhile; those that stayed agree
        stable = {d["name"] for d in ip_json("netns", "list")} & names
        assert stable <= listed | {d["name"] for d in ok("netns", "list")}
        assert a in run("netns", "list").stdout.split()
        assert "exists" in one_line_error("netns", "add", a)
        assert ok("netns", "del", a, b) == {"deleted": [a, b]}
        assert not {a, b} & {d["name"] for d in ip_json("netns", "list")}
        assert a in one_line_error("netns", "del", a)
        assert ok("netns", "del", a, "--missing-ok") == {"deleted": []}
    finally:
        for name in (a, b):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@live
def test_netns_del_checks_all_names_first() -> None:
    a = unique_name("mvt-cli")
    try:
        ok("netns", "add", a)
        one_line_error("netns", "del", a, unique_name("mvt-missing"))
        assert a in {d["name"] for d in ip_json("netns", "list")}  # nothing deleted
    finally:
        subprocess.run(["ip", "netns", "del", a], capture_output=True, check=False)


# -- ping (live) -------------------------------------------------------------------------------
@live
def test_ping_inside_a_namespace(sandbox: Any) -> None:
    ns = sandbox.name
    sandbox.rt.set_link("lo", up=True)
    sandbox.rt.add_address("p0", "10.8.0.1/24")
    data = ok("-n", ns, "ping", "10.8.0.1", "-c", "2", "-i", "0")
    assert (data["sent"], data["received"], data["loss"]) == (2, 2, 0.0)
    assert all(isinstance(r, float) for r in data["rtt_ms"])
    text = run("-n", ns, "ping", "10.8.0.1", "-c", "1")
    assert text.returncode == 0 and "10.8.0.1: 1/1 replies" in text.stdout
    proc = run("-n", ns, "ping", "10.8.0.99", "-c", "1", "-W", "0.2")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "macvlan: 10.8.0.99: no reply"
    err = one_line_error("-n", ns, "ping", "10.99.0.1", "-c", "1")
    assert err == "macvlan: error: ping 10.99.0.1: Network is unreachable"


# -- network (live) ------------------------------------------------------------------------------
def _network_layer() -> bool:
    try:
        import macvlan.network  # noqa: F401
    except ImportError:
        return False
    return True


needs_network = pytest.mark.skipif(not _network_layer(), reason="network layer not in yet")


@live
@needs_network
def test_network_commands(sandbox: Any, netns_factory: Callable[..., Any], tmp_path: Any) -> None:
    ns = sandbox.name
    store = str(tmp_path / "networks.db")
    red, blue = netns_factory("mvt").name, netns_factory("mvt").name
    data = ok("-n", ns, "network", "create", "lab", "--parent", "p0",
              "--subnet", "10.66.0.0/24", "--gateway", "10.66.0.1", "--store", store)  # fmt: skip
    assert data == {
        "name": "lab",
        "parent": "p0",
        "netns": ns,
        "mode": "bridge",
        "mtu": None,
        "internal": False,
        "subnets": [{"subnet": "10.66.0.0/24", "gateway": "10.66.0.1"}],
        "ipam": "default",
        "ipv6": None,
    }
    assert ok("network", "list", "--store", store) == [data]
    line = run("network", "list", "--store", store).stdout.strip()
    assert line == f"lab: parent p0 (netns {ns}) bridge 10.66.0.0/24 gateway 10.66.0.1"
    # the same name again is an operation failure, not a usage error
    assert "lab" in one_line_error("-n", ns, "network", "create", "lab", "--parent", "p0",
                                   "--subnet", "10.67.0.0/24", "--store", store)  # fmt: skip

    ep = ok("network", "attach", "lab", red, "--store", store)
    [link] = ip_json("link", "show", "eth0", netns=red)
    assert ep["mac"] == link["address"] and ep["kind"] == "container"
    assert ep["namespace"] == red and ep["ifindex"] == link["ifindex"]
    [addr] = [a for a in ip_json("-4", "addr", "show", "eth0", netns=red)[0]["addr_info"]]
    assert ep["addresses"] == [f"{addr['local']}/{addr['prefixlen']}"]
    assert ep["gateways"] == ["10.66.0.1"]
    ep2 = ok("network", "attach", "lab", blue, "--ifname", "lan0", "--ip", "10.66.0.50",
             "--mac", "02:00:00:66:00:50", "--store", store)  # fmt: skip
    assert ep2["addresses"] == ["10.66.0.50/24"] and ep2["mac"] == "02:00:00:66:00:50"
    assert ip_json("link", "show", "lan0", netns=blue)[0]["address"] == "02:00:00:66:00:50"
    # an address with its prefix is accepted when the prefix is the subnet's
    green = netns_factory("mvt").name
    ep3 = ok("network", "attach", "lab", green, "--ip", "10.66.0.60/24", "--store", store)
    assert ep3["addresses"] == ["10.66.0.60/24"]
    err = failed("network", "attach", "lab", green, "--ifname", "eth1", "--ip", "10.66.0.61/16",
                 "--store", store, status=2)  # fmt: skip
    assert "10.66.0.61/16" in err
    ok("network", "detach", "lab", green, "--store", store)
    # a taken address fails the operation and leaves nothing behind
    extra = netns_factory("mvt").name
    err = one_line_error("network", "attach", "lab", extra, "--ip", "10.66.0.50", "--store", store)
    assert "10.66.0.50" in err
    assert [d["ifname"] for d in ip_json("link", "show", netns=extra)] == ["lo"]

    shim = ok("network", "shim", "lab", "10.66.0.254", "--ifname", "shim0", "--store", store)
    assert shim["kind"] == "shim" and shim["ifname"] == "shim0"
    assert ip_json("link", "show", "shim0", netns=ns)[0]["address"] == shim["mac"]
    # the host (the sandbox namespace) reaches an endpoint through the shim
    target = ep2["addresses"][0].split("/")[0]
    assert ok("-n", ns, "ping", target, "-c", "1")["received"] == 1

    listed = ok("network", "endpoints", "lab", "--store", store)
    assert [(e["kind"], e["ifname"]) for e in listed] == [
        ("shim", "shim0"),
        ("container", "eth0"),
        ("container", "lan0"),
    ]
    gone = ok("network", "detach", "lab", blue, "--ifname", "lan0", "--store", store)
    assert gone["detached"]["mac"] == "02:00:00:66:00:50"
    assert [d["ifname"] for d in ip_json("link", "show", netns=blue)] == ["lo"]
    assert "lan0" in one_line_error("network", "detach", "lab", blue, "--ifname", "lan0",
                                    "--store", store)  # fmt: skip

    # still in use: refused without --force
    assert "endpoint" in one_line_error("network", "rm", "lab", "--store", store)
    assert ok("network", "rm", "lab", "--force", "--store", store) == {"removed": ["lab"]}
    assert ok("network", "list", "--store", store) == []
    assert [d["ifname"] for d in ip_json("link", "show", netns=red)] == ["lo"]
    assert ip_json("link", "show", "type", "macvlan", netns=ns) == []
    assert "lab" in one_line_error("network", "endpoints", "lab", "--store", store)


@live
@needs_network
def test_network_usage_errors(tmp_path: Any) -> None:
    store = str(tmp_path / "networks.db")
    for args in (
        ["network", "create", "lab", "--parent", "p0", "--subnet", "10.66.0.0/33"],
        ["network", "create", "lab", "--parent", "p0", "--subnet", "10.66.0.0/24",
         "--gateway", "nope"],
        ["network", "create", "lab", "--parent", "p0", "--subnet", "10.66.0.0/24",
         "--aux", "router"],
        ["network", "attach", "lab", "ns", "--mac", "01:00:5e:00:00:01x"],
        ["network", "rm"],
    ):  # fmt: skip
        err = failed(*args, "--store", store, status=2)
        assert "usage: macvlan network" in err
    assert not os.path.exists(store) or ok("network", "list", "--store", store) == []
