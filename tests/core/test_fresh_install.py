"""``pip install .`` into a fresh virtualenv gives the compiled backend, as the README
promises; without a C compiler it still installs, runs pure Python and says so.

The source is copied first (the files git tracks), so no module built in place in
this checkout can leak into the install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("MACVLAN_EXPECT_BACKEND") == "python",
        reason="an install does not depend on the backend under test: checked in the cffi run",
    ),
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the sources"),
]


def copy_sources(dest: Path) -> Path:
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = ROOT / os.fsdecode(name)
        if src.is_file():
            target = dest / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def fresh_install(tmp: Path, **env: str) -> Path:
    """A new venv with the copied sources installed by plain ``pip install``; its bin/."""
    source = copy_sources(tmp / "src")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MACVLAN_")}
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(source)],
        check=True,
        env={**clean, **env},
        cwd=tmp,
        capture_output=True,
    )
    return venv / "bin"


def run(bin_dir: Path, *args: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MACVLAN_")}
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        check=True,
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd="/",
    ).stdout.strip()


BACKEND = "import macvlan._netlink as nl; print(nl.backend)"


def test_a_fresh_install_runs_the_compiled_backend(tmp_path: Path) -> None:
    bin_dir = fresh_install(tmp_path)
    assert run(bin_dir, "python", "-c", BACKEND) == "cffi"
    assert run(bin_dir, "macvlan", "--version").endswith("(netlink backend: cffi)")
    forced = run(bin_dir, "macvlan", "--version", MACVLAN_PUREPYTHON="1")
    assert "netlink backend: python; slower: MACVLAN_PUREPYTHON is set" in forced


def test_without_a_compiler_the_install_falls_back_and_says_so(tmp_path: Path) -> None:
    bin_dir = fresh_install(tmp_path, CC="false", LDSHARED="false")
    assert run(bin_dir, "python", "-c", BACKEND) == "python"
    version = run(bin_dir, "macvlan", "--version")
    assert "netlink backend: python; slower: the compiled module was not built" in version
    # and the pure backend works: a MAC parses and a message round-trips
    code = (
        "import macvlan; from macvlan._netlink import decode, encode;"
        "from macvlan.link import get_link;"
        "print(macvlan.MacAddress('00-1B-77-49-54-FD'), len(decode(encode([get_link('lo')]))))"
    )
    assert run(bin_dir, "python", "-c", code) == "00:1b:77:49:54:fd 1"
