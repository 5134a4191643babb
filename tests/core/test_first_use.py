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
    "re",
    "json",
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


def test_lazy_pattern_matches_as_re_does() -> None:
    import re

    from macvlan._lazyre import LazyPattern

    text = r"^(?P<base>.+)\.(?P<id>[0-9]{1,4})$"
    lazy = LazyPattern(text)
    for name in ("eth0.100", "eth0", "a.b.12345", ".1", "x.0"):
        ours, theirs = lazy.match(name), re.match(text, name)
        assert (ours and ours.groupdict()) == (theirs and theirs.groupdict())


def test_the_constants_named_lazily_are_the_ones_rtconstants_defines() -> None:
    # constants lists them so that naming one need not build them all; the two lists
    # must not drift apart
    from macvlan._netlink import constants, rtconstants

    assert frozenset(rtconstants.__all__) == constants._ON_FIRST_USE
