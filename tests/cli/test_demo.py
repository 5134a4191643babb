"""``macvlan demo`` end to end, kept and inspected, interrupted, failing, and cleaned up."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from support import ip_json, run_on_terminal

from macvlan.mac import MacAddress

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.live  # the demo makes namespaces


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": ROOT, **extra}
    for key in ("MACVLAN_DEMO_PAUSE", "MACVLAN_DEMO_FAIL"):
        if key not in extra:
            env.pop(key, None)
    return env


def demo(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "macvlan", *args],
        capture_output=True,
        text=True,
        env=_env(**env),
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def failed_usage(*args: str) -> str:
    proc = demo(*args)
    assert proc.returncode == 2 and proc.stdout == "", (proc.stdout, proc.stderr)
    return proc.stderr


def namespaces_of(pid: int) -> list[str]:
    return sorted(
        d["name"] for d in ip_json("netns", "list") if d["name"].startswith(f"mvdemo-{pid}-")
    )


def root_links() -> list[tuple[int, str]]:
    return sorted((d["ifindex"], d["ifname"]) for d in ip_json("link", "show"))


def _has_network_layer() -> bool:
    try:
        import macvlan.network  # noqa: F401
    except ImportError:
        return False
    return True


def test_demo_end_to_end() -> None:
    links_before = root_links()
    started = time.monotonic()
    proc = demo("--json", "demo")
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # quiet in a pipe
    report = json.loads(proc.stdout)
    assert report["layer"] == ("macvlan.Network" if _has_network_layer() else
                               "create_macvlan + add_address")  # fmt: skip
    roles = [m["role"] for m in report["members"]]
    assert roles == ["lan", "shim", "c1", "c2", "c3"]
    namespaces = {m["namespace"] for m in report["members"]}
    assert all(re.fullmatch(r"mvdemo-\d+-[0-9a-f]+-(lan|c1|c2|c3)", n) for n in namespaces)
    macs = [MacAddress(m["mac"]) for m in report["members"]]
    assert len(set(macs)) == 5
    by_role = {m["role"]: m for m in report["members"]}
    assert by_role["lan"]["mac_kind"] == "UAA"
    assert by_role["c1"]["mac_kind"] == "LAA AAI"
    c3_ip = by_role["c3"]["address"].split("/")[0]
    assert by_role["c3"]["mac"] == str(MacAddress.from_ipv4(c3_ip))
    for m in report["members"]:
        mac = MacAddress(m["mac"])
        kind = "UAA" if mac.is_universal else f"LAA {mac.slap_quadrant.name}"  # type: ignore[union-attr]
        assert m["mac_kind"] == kind
    # every endpoint pinged every other one, and all answered
    pings = report["pings"]
    assert len(pings) == 12
    assert {(p["from"], p["to"]) for p in pings} == {
        (a, b) for a in ("shim", "c1", "c2", "c3") for b in ("shim", "c1", "c2", "c3") if a != b
    }
    for p in pings:
        assert p["sent"] == p["received"] == 3
        assert all(0 < rtt < 2000 for rtt in p["rtt_ms"])
    # and everything is gone again; the root namespace was not touched
    assert report["kept"] is False
    assert not namespaces & {d["name"] for d in ip_json("netns", "list")}
    if report["store"]:
        assert not os.path.exists(os.path.dirname(report["store"]))
    assert root_links() == links_before
    assert ip_json("link", "show", "type", "macvlan") == []
    assert elapsed < 30  # not a benchmark: a hang guard


def test_demo_text_table() -> None:
    proc = demo("demo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("ROLE"))
    assert header.split() == ["ROLE", "NAMESPACE", "IFACE", "MAC", "KIND", "MAC", "FROM", "ADDRESS"]
    rows = lines[lines.index(header) + 1 : lines.index(header) + 6]
    assert [r.split()[0] for r in rows] == ["lan", "shim", "c1", "c2", "c3"]
    grid = next(i for i, line in enumerate(lines) if line.startswith("FROM \\ TO"))
    assert lines[grid].split()[-4:] == ["shim", "c1", "c2", "c3"]
    for row in lines[grid + 1 : grid + 5]:
        cells = row.split()[1:]
        assert cells.count("-") == 1 and "LOST" not in cells
        assert all(re.fullmatch(r"\d+\.\d{3}", c) for c in cells if c != "-")
    assert lines[-1] == "Everything was removed again."
    assert "\x1b" not in proc.stdout


def test_demo_shows_progress_on_a_terminal() -> None:
    status, out, seen = run_on_terminal("demo", env=_env())
    assert status == 0
    assert b"\r\x1b[K[1/5] sandbox" in seen
    assert b"[5/5] ping" in seen
    assert seen.endswith(b"\r\x1b[K")  # the status line is cleared at the end
    assert "ROLE" in out and "\x1b" not in out


def test_demo_keep_then_cleanup() -> None:
    proc = demo("--json", "demo", "--keep")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["kept"] is True and report["cleanup"] == "macvlan demo --cleanup"
    try:
        members = {m["role"]: m for m in report["members"]}
        # the oracle sees what the demo says it built
        for m in report["members"]:
            [link] = ip_json("link", "show", m["ifname"], netns=m["namespace"])
            assert link["address"] == m["mac"]
            if m["address"]:
                addrs = ip_json("addr", "show", m["ifname"], netns=m["namespace"])
                got = {f"{a['local']}/{a['prefixlen']}" for a in addrs[0]["addr_info"]}
                assert m["address"] in got
        # containers reach each other, by the ping program as an independent oracle
        target = members["c2"]["address"].split("/")[0]
        out = subprocess.run(
            ["ip", "netns", "exec", members["c1"]["namespace"], "ping", "-c1", "-W2", target],
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stdout
        # and through our own command line
        look = subprocess.run(
            [sys.executable, "-m", "macvlan", "--json", "-n", members["c1"]["namespace"],
             "link", "show", "eth0"],
            capture_output=True, text=True, env=_env(), cwd=ROOT, check=False,
        )  # fmt: skip
        assert look.returncode == 0 and json.loads(look.stdout)["address"] == members["c1"]["mac"]
    finally:
        # only this demo: a plain --cleanup would also take a parallel test run's
        cleaned = demo("--json", "demo", "--cleanup", report["prefix"])
    assert cleaned.returncode == 0, cleaned.stderr
    removed = json.loads(cleaned.stdout)["removed"]
    ours = {m["namespace"] for m in report["members"]}
    expected = {f"netns {ns}" for ns in ours}
    if report["store"]:
        expected.add(f"store {os.path.dirname(report['store'])}")
        assert not os.path.exists(os.path.dirname(report["store"]))
    assert set(removed) == expected
    assert not ours & {d["name"] for d in ip_json("netns", "list")}
    again = demo("demo", "--cleanup", report["prefix"])
    assert again.returncode == 0 and again.stdout.strip() == "nothing to remove"


def test_demo_keep_text_and_plain_cleanup() -> None:
    text = demo("demo", "--keep")
    assert text.returncode == 0, text.stderr
    assert text.stdout.rstrip().endswith("Remove it with: macvlan demo --cleanup")
    prefix = text.stdout.split()[2].rstrip(":")
    assert re.fullmatch(r"mvdemo-\d+-[0-9a-f]+", prefix)
    assert len([d for d in ip_json("netns", "list") if d["name"].startswith(prefix)]) == 4
    cleaned = demo("demo", "--cleanup")
    assert cleaned.returncode == 0 and cleaned.stderr == ""
    assert all(line.startswith("removed ") for line in cleaned.stdout.splitlines())
    # (a parallel test run's --cleanup may take some first: check what is left)
    assert not [d for d in ip_json("netns", "list") if d["name"].startswith(prefix)]
    assert not [e for e in os.listdir("/tmp") if e.startswith(prefix)]
    err = failed_usage("demo", "--cleanup", "not-a-demo")
    assert "'not-a-demo'" in err


def _start_paused(step: str, **env: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "macvlan", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(MACVLAN_DEMO_PAUSE=f"{step}:30", **env),
        cwd=ROOT,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the demo says when it is paused
    assert f"paused after step {step!r}" in line, line
    return proc


@pytest.mark.parametrize(
    ("step", "sig", "status", "message"),
    [
        ("attach", signal.SIGINT, 130, "macvlan: interrupted"),
        ("sandbox", signal.SIGINT, 130, "macvlan: interrupted"),
        ("shim", signal.SIGTERM, 143, "macvlan: terminated"),
    ],
)
def test_demo_interrupted_cleans_up(step: str, sig: int, status: int, message: str) -> None:
    proc = _start_paused(step)
    try:
        made = namespaces_of(proc.pid)
        assert len(made) == 4  # the LAN and three containers exist now
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status
    assert err.strip() == message
    assert out == ""
    assert namespaces_of(proc.pid) == []
    assert ip_json("link", "show", "type", "macvlan") == []


def test_cleanup_spares_a_running_demo() -> None:
    proc = _start_paused("attach")
    try:
        made = namespaces_of(proc.pid)
        assert len(made) == 4
        cleaned = demo("--json", "demo", "--cleanup")
        assert cleaned.returncode == 0
        removed = json.loads(cleaned.stdout)["removed"]
        assert not any(f"mvdemo-{proc.pid}-" in item for item in removed)
        assert namespaces_of(proc.pid) == made
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert namespaces_of(proc.pid) == []


@pytest.mark.parametrize("step", ["sandbox", "network", "attach", "shim", "ping"])
def test_failed_step_cleans_up(step: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "macvlan", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(MACVLAN_DEMO_FAIL=step),
        cwd=ROOT,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert out == ""
    assert err.splitlines() == [
        f"macvlan: error: failing on purpose after step {step!r} (MACVLAN_DEMO_FAIL)"
    ]
    assert namespaces_of(proc.pid) == []


def test_demo_in_process_with_the_link_layer_only() -> None:
    """The fallback path (no macvlan.Network), called as a library."""
    from macvlan import demo as demo_module

    steps: list[str] = []
    report = demo_module.run(progress=steps.append, use_network=False)
    assert report.layer == "create_macvlan + add_address"
    assert report.store is None
    assert report.failed_pings() == 0 and len(report.pings) == 12
    assert [m.role for m in report.members] == ["lan", "shim", "c1", "c2", "c3"]
    addresses = [m.address or "" for m in report.members[1:]]
    net24 = addresses[0].rsplit(".", 1)[0]
    assert re.fullmatch(r"10\.\d+\.\d+", net24)
    assert addresses == [f"{net24}.{n}/24" for n in (254, 11, 12, 13)]
    assert steps[0].startswith("[1/5] sandbox") and steps[-1] == "removing the sandbox"
    assert namespaces_of(os.getpid()) == []
    text = "\n".join(report.text_lines())
    assert "used the link layer" not in text  # asked for, not a fallback


def test_demo_in_process_failure_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from macvlan import demo as demo_module

    monkeypatch.setenv("MACVLAN_DEMO_FAIL", "attach")
    with pytest.raises(demo_module.DemoFailure):
        demo_module.run(use_network=False)
    assert namespaces_of(os.getpid()) == []


def test_demo_without_root_says_so() -> None:
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to drop root for the child")
    proc = subprocess.Popen(  # setpriv execs python: same pid
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         sys.executable, "-m", "macvlan", "demo"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT,
    )  # fmt: skip
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.splitlines() == [
        "macvlan: error: the demo needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW)"
    ]
    assert namespaces_of(proc.pid) == []
