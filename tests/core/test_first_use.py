"""What the first names a program touches must not import at all (issue 16's first-use
goals; ``benchmarks/bench_import.py`` times them).  Each case is a fresh ``python -S``
process, as the benchmark runs it, so that no ``.pth`` file has loaded anything first."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: costly and needed by neither (each 1-10 ms of every process that uses the library)
NEVER = {
    "typing",
    "dataclasses",
    "inspect",
    "ast",
    "dis",
    "tokenize",
    "asyncio",
    "socket",
    "selectors",
    "sqlite3",
    "datetime",
    "hashlib",
    "random",
    "secrets",
    "macvlan.aio",
    "macvlan.monitor",
}
#: what only some calls need: routes and the like, the network layer, the DHCP stack
NOT_FOR_CONNECT = {
    "re",
    "json",
    "ipaddress",
    "macvlan.address",
    "macvlan.route",
    "macvlan.rule",
    "macvlan.neighbour",
    "macvlan.stats",
    "macvlan._netlink.rtconstants",
    "macvlan.network",
}
NOT_FOR_NETWORK = {
    "macvlan.network.renewal",
    "macvlan.network.dhcp.client",
    "macvlan.network.dhcp.message",
    "macvlan.network.dhcp.packet",
    "macvlan.network.dhcp.transport",
    "macvlan.route",
    "macvlan.rule",
    "macvlan.neighbour",
}


def loaded_by(code: str) -> set[str]:
    """Every module in ``sys.modules`` after ``code`` ran in a fresh ``python -S``."""
    path = os.pathsep.join([str(ROOT), *site.getsitepackages()])
    out = subprocess.run(
        [sys.executable, "-S", "-c", f"{code}; import sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        env={**os.environ, "PYTHONPATH": path},
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    ("code", "needed", "banned"),
    [
        ("import macvlan; macvlan.connect", "macvlan.connection", NEVER | NOT_FOR_CONNECT),
        ("import macvlan; macvlan.Network", "macvlan.network.networks", NEVER | NOT_FOR_NETWORK),
    ],
)
def test_first_use_imports_only_what_it_needs(code: str, needed: str, banned: set[str]) -> None:
    loaded = loaded_by(code)
    assert needed in loaded  # it did load the thing
    assert sorted(loaded & banned) == []


def test_the_rest_loads_on_first_use() -> None:
    loaded = loaded_by(
        "import macvlan; from macvlan.network import LeaseKeeper; "
        "from macvlan._netlink.constants import RtScope; import dataclasses; "
        "assert dataclasses.fields(macvlan.Link)[0].name == 'index'"
    )
    assert {"macvlan.network.renewal", "macvlan._netlink.rtconstants"} <= loaded
