"""Shared fixtures.  Live tests run only as root, inside throw-away namespaces.

``netns_factory`` makes uniquely named namespaces and deletes them afterwards, even
when the test fails; ``sandbox`` is one namespace holding a veth pair (``p0`` up,
peer ``p1``) to use as the macvlan parent, with a connection ``rt`` inside it.
Nothing here touches the namespace the test process runs in.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

IS_ROOT = os.geteuid() == 0
live = pytest.mark.skipif(not IS_ROOT, reason="needs root to create network namespaces")


def pytest_configure(config: pytest.Config) -> None:
    backend = os.environ.get("MACVLAN_EXPECT_BACKEND")
    if backend:
        import macvlan._netlink

        actual = macvlan._netlink.backend
        if actual != backend:
            raise pytest.UsageError(f"expected the {backend} backend, but {actual} is loaded")


def pytest_report_header(config: pytest.Config) -> str:
    import macvlan._netlink

    return f"macvlan netlink backend: {macvlan._netlink.backend}"


def unique_name(prefix: str = "mvt") -> str:
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"


def ip_json(*args: str, netns: str | None = None) -> Any:
    """Run ``ip -j ARGS`` (an independent oracle) and parse its output."""
    cmd = ["ip", "-j", *(["-n", netns] if netns else []), *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


@pytest.fixture
def netns_factory() -> Iterator[Callable[..., Any]]:
    from macvlan import Namespace

    made: list[Any] = []

    def make(prefix: str = "mvt") -> Any:
        ns = Namespace.create(unique_name(prefix))
        made.append(ns)
        return ns

    try:
        yield make
    finally:
        for ns in made:
            ns.delete(missing_ok=True)


@dataclass
class Sandbox:
    ns: Any  # macvlan.Namespace
    rt: Any  # macvlan.Connection inside ns
    parent: str = "p0"
    peer: str = "p1"

    @property
    def name(self) -> str:
        return str(self.ns.name)

    def ip(self, *args: str) -> Any:
        return ip_json(*args, netns=self.name)


@pytest.fixture
def sandbox(netns_factory: Callable[..., Any]) -> Iterator[Sandbox]:
    if not IS_ROOT:
        pytest.skip("needs root to create network namespaces")
    import macvlan

    ns = netns_factory("mvt")
    rt = macvlan.connect(ns)
    try:
        rt.create_veth("p0", "p1", up=True)
        rt.set_link("p1", up=True)
        yield Sandbox(ns, rt)
    finally:
        rt.close()
