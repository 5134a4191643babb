"""Helpers shared by the tests (import with ``from support import ...``).

Live tests run only as root, inside throw-away namespaces; nothing here touches the
namespace the test process runs in.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

IS_ROOT = os.geteuid() == 0
REPO = Path(__file__).resolve().parent.parent  # the repository's root
live = pytest.mark.live  # skipped without root by the hook in conftest.py


class Sent(BaseException):
    """Raised by a patched socket (the ``no_io`` fixture): the library tried to talk to
    the kernel.  Not an Exception, so that no ``except`` in the library hides it."""


def unique_name(prefix: str = "mvt") -> str:
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"


def ip_json(*args: str, netns: str | None = None) -> Any:
    """Run ``ip -j ARGS`` (an independent oracle) and parse its output."""
    cmd = ["ip", "-j", *(["-n", netns] if netns else []), *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def run_in_repo(
    command: list[str], *, check: bool = False, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (text output captured) from the repository's root, with the
    repository first on ``PYTHONPATH`` so that a child Python imports this tree."""
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=check,
    )


def python_output(code: str, *args: str) -> str:
    """What ``python -c CODE ARGS`` prints (run by :func:`run_in_repo`; must succeed)."""
    return run_in_repo([sys.executable, "-c", code, *args], check=True).stdout


def run_on_terminal(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """``python -m macvlan ARGS`` from the repository with stderr on a pseudo-terminal:
    (status, stdout, what the terminal saw).  ``env`` replaces the environment (it
    defaults to :func:`run_in_repo`'s)."""
    import pty
    import select

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "macvlan", *args],
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            env=env or {**os.environ, "PYTHONPATH": str(REPO)},
            cwd=REPO,
        )
        os.close(slave)
        seen = b""
        while select.select([master], [], [], 30)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, out, seen


@dataclass
class Sandbox:
    """One namespace with a veth pair (``p0`` up, peer ``p1``) and a connection in it."""

    ns: Any  # macvlan.Namespace
    rt: Any  # macvlan.Connection inside ns
    parent: str = "p0"
    peer: str = "p1"

    @property
    def name(self) -> str:
        return str(self.ns.name)

    def ip(self, *args: str) -> Any:
        return ip_json(*args, netns=self.name)


@contextmanager
def veth_sandbox(ns: Any, rt: Any) -> Iterator[Sandbox]:
    """A :class:`Sandbox` over ``rt`` (connected in ``ns``): makes the veth pair, closes
    ``rt`` afterwards."""
    try:
        rt.create_veth("p0", "p1", up=True)
        rt.set_link("p1", up=True)
        yield Sandbox(ns, rt)
    finally:
        rt.close()


@contextmanager
def lan_network(
    sandbox: Sandbox, store: Any, subnet: str = "10.30.0.0/24", gateway: str = "10.30.0.1"
) -> Iterator[Any]:
    """A ``macvlan.Network`` "lan" on the sandbox's ``p0`` kept in ``store``; afterwards
    removed (with whatever is still attached) unless the test removed it already."""
    from macvlan.network import Network, NetworkNotFound

    network = Network.create(
        "lan", "p0", subnet=subnet, gateway=gateway, store=store, netns=sandbox.ns
    )
    try:
        yield network
    finally:
        try:
            again = Network.open("lan", store)
        except NetworkNotFound:
            pass
        else:
            again.remove(force=True)
        network.close()
