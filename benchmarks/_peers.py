"""Benchmark helpers: throw-away namespaces, timed ``ip`` runs, pyroute2 in a namespace.

Only benchmarks use this module; the library never runs ``ip`` or pyroute2.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from macvlan import Namespace

T = TypeVar("T")


def unique_name(prefix: str = "mvb") -> str:
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"


@contextlib.contextmanager
def throwaway_namespace(
    prefix: str = "mvb", *, name: str | None = None, veth: bool = True
) -> Iterator[Namespace]:
    """A fresh namespace (called ``name``, else a unique name with ``prefix``) holding,
    with ``veth``, a veth pair p0/p1 (both up); deleted afterwards."""
    ns = Namespace.create(name or unique_name(prefix))
    try:
        if veth:
            with ns.connect() as rt:
                rt.create_veth("p0", "p1", up=True)
                rt.set_link("p1", up=True)
        yield ns
    finally:
        ns.delete(missing_ok=True)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU time so far of this process (or of its waited-for children).

    The kernel work of a netlink request runs in the sender's ``sendmsg`` and is
    counted as its system time, so this compares tools without the noise of other
    load on the machine.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def best_of(n: int, fn: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``n`` calls, with its result."""
    best: tuple[float, T] | None = None
    for _ in range(n):
        run = timed(fn)
        if best is None or run[0] < best[0]:
            best = run
    assert best is not None
    return best


# -- iproute2 ------------------------------------------------------------------------------
def ip_batch(netns: str, lines: Sequence[str]) -> float:
    """Seconds for ``ip -n NETNS -batch FILE`` (whole process) running ``lines``."""
    with tempfile.NamedTemporaryFile("w", suffix=".ipbatch", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        start = time.perf_counter()
        subprocess.run(["ip", "-n", netns, "-batch", path], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start
    finally:
        os.unlink(path)


def ip_dump(netns: str) -> list[dict[str, Any]]:
    """``ip -n NETNS -d -j link show`` parsed: the whole process plus ``json.loads``."""
    out = subprocess.run(
        ["ip", "-n", netns, "-d", "-j", "link", "show"], check=True, capture_output=True
    ).stdout
    data: list[dict[str, Any]] = json.loads(out)
    return data


def ip_count(netns: str, kind: str = "macvlan") -> int:
    out = subprocess.run(
        ["ip", "-n", netns, "-o", "link", "show", "type", kind],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return len(out.splitlines())


# -- pyroute2 -----------------------------------------------------------------------------
class Pyroute2:
    """pyroute2's IPRoute with its socket inside a named namespace."""

    def __init__(self, netns: str) -> None:
        from pyroute2 import IPRoute

        self.ipr = IPRoute(netns=netns)

    def index(self, name: str) -> int:
        (index,) = self.ipr.link_lookup(ifname=name)
        return int(index)

    def create_macvlan(self, name: str, parent: int, mac: str) -> None:
        self.ipr.link(
            "add", ifname=name, kind="macvlan", link=parent, macvlan_mode="bridge", address=mac
        )

    def dump(self) -> list[Any]:
        return list(self.ipr.get_links())

    def delete(self, name: str) -> None:
        self.ipr.link("del", ifname=name)

    def set_group(self, name: str, group: int) -> None:
        self.ipr.link("set", ifname=name, group=group)

    def delete_group(self, group: int) -> None:
        self.ipr.link("del", group=group)

    def close(self) -> None:
        self.ipr.close()
