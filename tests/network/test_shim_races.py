"""The host shim made while endpoints come and go: every route it leaves via itself
leads to an address a container record still holds (``ip -j`` is the oracle)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ip_json, lan_network

import macvlan.network.shim as shim_module
from macvlan.network import Network

pytestmark = pytest.mark.live


@pytest.fixture
def net(sandbox: Any, tmp_path: Path) -> Iterator[Network]:
    with lan_network(sandbox, tmp_path / "networks.db") as network:
        yield network


def _routed(sandbox: Any, ifname: str) -> set[str]:
    return {r["dst"] for r in ip_json("route", "show", "dev", ifname, netns=sandbox.name)}


def test_an_endpoint_detached_while_the_shim_routes_gets_no_route(
    sandbox: Any,
    net: Network,
    containers: Callable[[int], list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stay, leave = (net.attach(c) for c in containers(2))
    real = shim_module.shim_route
    raced: list[object] = []

    def detach_first(ctx: Any, shim: Any, addr: Any, *, add: bool) -> bool:
        # the shim listed both endpoints; `leave` is detached (its routes dropped,
        # none there yet) just before the shim adds the route to its address
        if add and addr == leave.addresses[0].ip and not raced:
            raced.append(addr)
            net.detach(leave)
        return real(ctx, shim, addr, add=add)

    monkeypatch.setattr(shim_module, "shim_route", detach_first)
    shim = net.host_shim("10.30.0.250")
    assert raced, "the race was not staged: the shim routed no endpoint"
    assert [ep.id for ep in net.endpoints()] == [stay.id]
    assert _routed(sandbox, shim.ifname) == {str(stay.addresses[0].ip)}
