"""Without CAP_NET_ADMIN: a clear PermissionError with a hint, and nothing created.

A child Python process runs with CAP_NET_ADMIN dropped (``setpriv`` or ``capsh``),
enters the sandbox namespace through its path and tries to change links there.
"""

from __future__ import annotations

import errno
import json
import shlex
import shutil
import sys
import textwrap
from typing import Any

import pytest
from support import run_in_repo

pytestmark = [
    pytest.mark.live,
]

CAP_NET_ADMIN = 12

CHILD = textwrap.dedent(
    """
    import json, sys
    import macvlan
    from macvlan import Namespace

    def cap_eff():
        for line in open("/proc/self/status"):
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)

    out = {"cap_eff": cap_eff()}
    with macvlan.connect(netns=Namespace.from_path(sys.argv[1])) as rt:
        out["links"] = sorted(link.name for link in rt.links())   # reading is allowed
        attempts = {
            "create_macvlan": lambda: rt.create_macvlan("nocap0", "p0"),
            "create_macvlans": lambda: rt.create_macvlans(
                [macvlan.MacvlanSpec("nocap1", "p0"), macvlan.MacvlanSpec("nocap2", "p0")]
            ),
            "set_link": lambda: rt.set_link("p0", mtu=1400),
            "delete_links": lambda: rt.delete_links(["p1"]),
            "add_address": lambda: rt.add_address("p0", "10.81.0.1/24"),
        }
        for what, attempt in attempts.items():
            try:
                attempt()
            except Exception as exc:
                out[what] = {
                    "type": type(exc).__name__,
                    "permission": isinstance(exc, PermissionError),
                    "netlink": isinstance(exc, macvlan.NetlinkPermissionError),
                    "errno": exc.errno,
                    "text": str(exc),
                }
            else:
                out[what] = None
    print(json.dumps(out))
    """
)


DROPPERS = [
    pytest.param(
        ["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin", "--"],
        id="setpriv",
        marks=pytest.mark.skipif(not shutil.which("setpriv"), reason="no setpriv"),
    ),
    pytest.param(
        ["capsh", "--drop=cap_net_admin", "--"],
        id="capsh",
        marks=pytest.mark.skipif(not shutil.which("capsh"), reason="no capsh"),
    ),
]


@pytest.mark.parametrize("dropper", DROPPERS)
def test_without_cap_net_admin(sandbox: Any, dropper: list[str]) -> None:
    before = sandbox.ip("-d", "link", "show")
    if dropper[0] == "capsh":  # capsh runs its arguments through /bin/bash
        script = shlex.join([sys.executable, "-c", CHILD, sandbox.ns.path])
        command = [*dropper, "-c", f"exec {script}"]
    else:
        command = [*dropper, sys.executable, "-c", CHILD, sandbox.ns.path]
    done = run_in_repo(command)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert not out["cap_eff"] & (1 << CAP_NET_ADMIN), "the child still has CAP_NET_ADMIN"
    assert out["links"] == ["lo", "p0", "p1"]
    for what in ("create_macvlan", "create_macvlans", "set_link", "delete_links", "add_address"):
        result = out[what]
        assert result is not None, f"{what} succeeded without CAP_NET_ADMIN"
        assert result["permission"] and result["netlink"], result
        assert result["type"] == "NetlinkPermissionError"
        assert result["errno"] == errno.EPERM
        assert "CAP_NET_ADMIN" in result["text"], result["text"]
    # nothing was created, changed or deleted
    assert sandbox.ip("-d", "link", "show") == before
    (p0,) = sandbox.ip("addr", "show", "dev", "p0")
    assert [i for i in p0.get("addr_info", []) if i["family"] == "inet"] == []
