"""Live tests of ``Connection.watch()``: link and address events, and overflow.

Events are produced by the library in throw-away namespaces; the overflow test
shrinks the monitor's receive buffer through its public ``fileno()`` and checks that
a fresh dump afterwards agrees with ``ip -j link``.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from support import ip_json

import macvlan
from macvlan import MacvlanSpec
from macvlan.monitor import AddressEvent, EventAction, LinkEvent, Monitor

pytestmark = [
    pytest.mark.live,
]

Event = LinkEvent | AddressEvent


def collect(
    mon: Monitor, until: Callable[[list[Event]], bool], timeout: float = 5.0
) -> list[Event]:
    """Poll until ``until(events)`` holds (or the time is up); return every event seen."""
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    while not until(events):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        events.extend(mon.poll(left))
    return events


def link_events(events: list[Event], name: str) -> list[LinkEvent]:
    return [e for e in events if isinstance(e, LinkEvent) and e.link.name == name]


def test_link_events(sandbox: Any) -> None:
    rt = sandbox.rt
    with rt.watch() as mon:
        while mon.poll(0.05):  # drain anything left from the fixture's set-up
            pass
        link = rt.create_macvlan("mv0", "p0", mac="02:00:00:00:0e:01")

        def created(evs: list[Event]) -> bool:
            return any(e.action == EventAction.NEW for e in link_events(evs, "mv0"))

        events = collect(mon, created)
        (new,) = [e for e in link_events(events, "mv0") if e.action == EventAction.NEW]
        assert new.link.index == link.index and new.link.kind == "macvlan"
        assert str(new.link.mac) == "02:00:00:00:0e:01"

        rt.set_link("mv0", up=True, mtu=1400)

        def changed(evs: list[Event]) -> bool:
            return any(e.link.up and e.link.mtu == 1400 for e in link_events(evs, "mv0"))

        events = collect(mon, changed)
        ups = [e for e in link_events(events, "mv0") if e.link.up]
        assert ups and all(e.action == EventAction.CHANGED for e in ups)

        rt.delete_link("mv0")

        def deleted(evs: list[Event]) -> bool:
            return any(e.action == EventAction.DELETED for e in link_events(evs, "mv0"))

        events = collect(mon, deleted)
        (gone,) = [e for e in link_events(events, "mv0") if e.action == EventAction.DELETED]
        assert gone.link.index == link.index
    assert "mv0" not in {e["ifname"] for e in sandbox.ip("link", "show")}


def test_address_events(sandbox: Any) -> None:
    rt = sandbox.rt
    rt.create_macvlan("mv0", "p0", up=True)
    index = rt.link("mv0").index
    with rt.watch(links=False) as mon:
        rt.add_address("mv0", "10.71.0.2/24")
        rt.add_address("mv0", "fd00:71::2/64", nodad=True)

        def added(evs: list[Event]) -> bool:
            ips = {str(e.address.ip) for e in evs if isinstance(e, AddressEvent)}
            return {"10.71.0.2", "fd00:71::2"} <= ips

        events = collect(mon, added)
        assert all(isinstance(e, AddressEvent) for e in events), "links=False: no link events"
        news = {
            str(e.address.interface): e.address.index
            for e in events
            if isinstance(e, AddressEvent) and e.action == EventAction.NEW
        }
        assert news["10.71.0.2/24"] == index and news["fd00:71::2/64"] == index

        rt.delete_address("mv0", "10.71.0.2/24")

        def removed(evs: list[Event]) -> bool:
            return any(
                isinstance(e, AddressEvent)
                and e.action == EventAction.DELETED
                and str(e.address.ip) == "10.71.0.2"
                for e in evs
            )

        events = collect(mon, removed)
        assert removed(events)


def test_events_stay_in_their_namespace(sandbox: Any, netns_factory: Any) -> None:
    other = netns_factory("mvw")
    with macvlan.connect(other) as far, far.watch() as mon:
        sandbox.rt.create_macvlan("here0", "p0")  # in the sandbox, not in `other`
        sandbox.rt.create_macvlan("there0", "p0", netns=other)
        events = collect(mon, lambda evs: bool(link_events(evs, "there0")))
        assert link_events(events, "there0")
        assert not link_events(events, "here0")


class Timeout(Exception):
    pass


def test_iteration_yields_events(sandbox: Any) -> None:
    def expire(signum: int, frame: object) -> None:
        raise Timeout("no event for tap0 within 10 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(10)  # iteration blocks: fail instead of hanging if the event never comes
    try:
        with sandbox.rt.watch() as mon:
            sandbox.rt.create_macvtap("tap0", "p0")
            seen = None
            for event in mon:
                if isinstance(event, LinkEvent) and event.link.name == "tap0":
                    seen = event
                    break
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert seen is not None
    assert seen.action == EventAction.NEW and seen.link.kind == "macvtap"


def test_overflow_then_resync(sandbox: Any) -> None:
    rt = sandbox.rt
    with rt.watch() as mon:
        # shrink the receive buffer of the monitor's socket (shared via a dup'd fd)
        dup = socket.socket(fileno=os.dup(mon.fileno()))
        try:
            dup.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
            assert dup.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < 16384
        finally:
            dup.close()
        # a flood of link events that nobody reads
        specs = [MacvlanSpec(f"fl{i}", "p0") for i in range(60)]
        rt.create_macvlans(specs)
        rt.delete_links([s.name for s in specs[:30]])
        with pytest.raises(macvlan.MonitorOverflow) as info:
            while mon.poll(0.5):  # reading what fitted must end in the overflow
                pass
        assert isinstance(info.value, OSError) and info.value.errno == errno.ENOBUFS
        # resynchronise: a fresh dump matches the oracle
        ours = {(link.index, link.name, link.mtu) for link in rt.links()}
        theirs = {
            (e["ifindex"], e["ifname"], e["mtu"])
            for e in ip_json("link", "show", netns=sandbox.name)
        }
        assert ours == theirs
        assert {n for _, n, _ in ours if n.startswith("fl")} == {f"fl{i}" for i in range(30, 60)}
        # and the monitor keeps delivering after the overflow
        while mon.poll(0.2):
            pass
        rt.set_link("fl59", up=True)
        events = collect(mon, lambda evs: any(e.link.up for e in link_events(evs, "fl59")))
        assert any(e.link.up for e in link_events(events, "fl59"))
