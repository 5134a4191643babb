"""Shared fixtures.  Live tests run only as root, inside throw-away namespaces.

``netns_factory`` makes uniquely named namespaces and deletes them afterwards, even
when the test fails; ``sandbox`` is one namespace holding a veth pair (``p0`` up,
peer ``p1``) to use as the macvlan parent, with a connection ``rt`` inside it.
Nothing here touches the namespace the test process runs in.  Helpers that tests
import live in ``support.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import IS_ROOT, Sandbox, Sent, unique_name, veth_sandbox


def pytest_configure(config: pytest.Config) -> None:
    backend = os.environ.get("MACVLAN_EXPECT_BACKEND")
    if backend:
        import macvlan._netlink

        actual = macvlan._netlink.backend
        if actual != backend:
            raise pytest.UsageError(f"expected the {backend} backend, but {actual} is loaded")


#: fixtures that make namespaces: a test using one is live even without the marker
_LIVE_FIXTURES = {"netns_factory", "sandbox"}
_NOT_ROOT = "live test: needs root to create throw-away network namespaces"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The one way live tests are marked and skipped: ``@pytest.mark.live`` (or a
    namespace-making fixture) and, when not root, a skip that says why."""
    skip = pytest.mark.skip(reason=_NOT_ROOT)
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & _LIVE_FIXTURES and item.get_closest_marker("live") is None:
            item.add_marker(pytest.mark.live)
        if not IS_ROOT and item.get_closest_marker("live") is not None:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    import macvlan._netlink

    return f"macvlan netlink backend: {macvlan._netlink.backend}"


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


@pytest.fixture
def sandbox(netns_factory: Callable[..., Any]) -> Iterator[Sandbox]:
    import macvlan

    ns = netns_factory("mvt")
    with veth_sandbox(ns, macvlan.connect(ns)) as box:
        yield box


@pytest.fixture
def containers(netns_factory: Callable[..., Any]) -> Callable[[int], list[Any]]:
    """``containers(n)``: n fresh namespaces to attach (deleted afterwards)."""
    return lambda n: [netns_factory("mvc") for _ in range(n)]


@pytest.fixture
def no_io(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make every path to the kernel fail loudly with :class:`support.Sent` (input must be
    refused before; test_aio_live has the asyncio socket's own)."""
    from macvlan._netlink.socket import NetlinkSocket

    def refuse(*args: object, **kwargs: object) -> None:
        raise Sent("the library sent a request")

    for method in ("request", "request_parsed", "dump", "dump_parsed", "batch", "send_raw"):
        monkeypatch.setattr(NetlinkSocket, method, refuse)
    yield
