"""``macvlan cni install``: the launcher it writes runs the plugin, isolated and
without site, and bad requests are refused before anything is written."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from macvlan.cni import install as _cni_install

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "macvlan", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
        timeout=60,
    )


def test_installed_launcher_answers_version(tmp_path: Path) -> None:
    proc = cli("--json", "cni", "install", str(tmp_path), "--name", "macvlan")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    launcher = tmp_path / "macvlan"
    assert report["path"] == str(launcher)
    assert stat.S_IMODE(launcher.stat().st_mode) == 0o755
    first = launcher.read_text().splitlines()[0]
    assert first == f"#!{os.path.realpath(sys.executable)} -IS"
    assert report["sys_path"][0] == str(REPO)  # where this macvlan package is
    out = subprocess.run(
        [str(launcher)],
        input=b'{"cniVersion": "0.4.0"}',
        capture_output=True,
        env={"CNI_COMMAND": "VERSION"},  # nothing else: -I ignores PYTHON* anyway
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(out) == {
        "cniVersion": "0.4.0",
        "supportedVersions": ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    }
    assert [p.name for p in tmp_path.iterdir()] == ["macvlan"]  # no temporary left


def test_reinstall_replaces_the_launcher(tmp_path: Path) -> None:
    (tmp_path / "macvlan").write_text("old")
    path = _cni_install.install(str(tmp_path))
    assert Path(path).read_text().startswith("#!")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["macvlan"]


@pytest.mark.parametrize("name", ["", "a/b", ".", "..", "x\0y"])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid plugin name"):
        _cni_install.install(str(tmp_path), name)
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_and_bad_interpreters_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _cni_install.install(str(tmp_path / "nope"))
    for python in (tmp_path / "python", tmp_path):  # missing; a directory
        with pytest.raises(ValueError, match="not an executable interpreter"):
            _cni_install.install(str(tmp_path), python=str(python))
    with pytest.raises(ValueError, match="too long for a #! line"):
        _cni_install.launcher("/" + "p" * 300, ["/x"])
    with pytest.raises(ValueError, match="whitespace"):
        _cni_install.launcher("/usr/bin/my python", ["/x"])
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_refusals_without_writing(tmp_path: Path) -> None:
    proc = cli("cni", "install", str(tmp_path / "missing"))
    assert proc.returncode == 1
    assert "no such directory" in proc.stderr
    proc = cli("cni", "install", str(tmp_path), "--name", "a/b")
    assert proc.returncode == 2
    assert "invalid plugin name 'a/b'" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_default_name_is_the_type_conflists_name(tmp_path: Path) -> None:
    """Without --name it is ``macvlan``, what ``"type": "macvlan"`` (Podman's too) runs;
    --name picks another."""
    assert cli("cni", "install", str(tmp_path)).returncode == 0
    assert cli("cni", "install", str(tmp_path), "--name", "macvlan-py").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["macvlan", "macvlan-py"]


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "macvlan.cni"],
        [os.path.join(os.path.dirname(sys.executable), "macvlan-cni")],
    ],
    ids=["python -m macvlan.cni", "macvlan-cni"],
)
def test_the_other_ways_to_start_the_plugin_answer_version(command: list[str]) -> None:
    if not os.path.exists(command[0]):
        pytest.fail(f"{command[0]} is missing: the package is not installed with pip")
    out = subprocess.run(
        command,
        input=b'{"cniVersion": "1.0.0"}',
        capture_output=True,
        cwd=REPO,
        env={"CNI_COMMAND": "VERSION", "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(out)["cniVersion"] == "1.0.0"
