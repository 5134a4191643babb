"""Keeping leases alive: :func:`renew` (one pass over a network's leases) and
:class:`LeaseKeeper` (passes until stopped, in a thread or in the foreground)."""

from __future__ import annotations

import contextlib
import enum
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from macvlan._dataclass import dataclass
from macvlan.connection import Connection
from macvlan.errors import LeaseError, NetlinkError
from macvlan.network.dhcp.client import Bound, Client, Refused
from macvlan.network.dhcp.lease import Lease
from macvlan.network.dhcp.transport import (
    UdpTransport,
    acquire,
    exchange,
)
from macvlan.network.lanstore import Identity, Tables
from macvlan.network.nsref import reopen
from macvlan.network.store import EndpointKind, EndpointRow, EndpointState

if TYPE_CHECKING:
    from macvlan.namespace import Namespace
    from macvlan.network.networks import Network

__all__ = ["LeaseChange", "LeaseKeeper", "LeaseOutcome", "renew"]

_ATTEMPT = 2.0  # seconds one RENEWING/REBINDING exchange may take
_IDLE = 60.0  # the keeper looks again at least this often (new endpoints)
_RETRY = 10.0  # after a failed renewal, before T2/expiry come closer


class LeaseOutcome(enum.Enum):
    """What one renewal did."""

    RENEWED = "renewed"  # same address, later expiry
    CHANGED = "changed"  # a new address (applied)
    FAILED = "failed"  # no answer; the lease stands until it expires
    EXPIRED = "expired"  # the lease ran out: the address and route are gone
    LOST = "lost"  # NAK'd and no new lease: the address and route are gone
    REGAINED = "regained"  # a lease again after one was lost or ran out


@dataclass(frozen=True, slots=True)
class LeaseChange:
    """One endpoint's renewal: what happened, the lease before and after."""

    endpoint: int
    outcome: LeaseOutcome
    old: Lease
    new: Lease | None
    detail: str = ""


def _remove(there: Connection, index: int, lease: Lease) -> None:
    if lease.router is not None:
        with contextlib.suppress(NetlinkError):
            there.delete_route("default", gateway=lease.router, link=index)
    with contextlib.suppress(NetlinkError):
        there.delete_address(index, lease.address)


def _apply(there: Connection, index: int, old: Lease, new: Lease, internal: bool) -> None:
    if new.address == old.address and new.router == old.router:
        return
    if new.address != old.address:
        there.add_address(index, new.address)
    _remove(there, index, old)  # the old address and route (the route goes with it)
    _add_route(there, index, new, internal)


def _add_route(there: Connection, index: int, lease: Lease, internal: bool) -> None:
    if lease.router is not None and not internal:
        with contextlib.suppress(FileExistsError):
            there.add_route("default", gateway=lease.router, link=index)


def renew(
    net: Network, *, force: bool = False, now: float | None = None, regain: bool = True
) -> list[LeaseChange]:
    """Renew every lease of ``net`` that is due (T1: unicast to its server; T2:
    broadcast to any), expire those that ran out, apply changed addresses.
    ``force`` renews every lease now.  Endpoints whose lease was lost or ran out
    start again from DISCOVER (asking for their old address), unless ``regain`` is
    false; each such try waits at most 3 s for a server."""
    tables = Tables(net.store)
    rows = [
        r
        for r in net.store.endpoints(net.name, EndpointKind.CONTAINER)
        if r.state is EndpointState.ACTIVE
    ]
    records = tables.records([r.id for r in rows])
    changes = []
    for row in rows:
        record = records.get(row.id)
        if record is None or record.lease is None:
            continue
        moment = time.time() if now is None else now
        lease = record.lease
        lost = record.state != "bound"
        if lost and not regain:
            continue
        if not lost and not force and moment < lease.renew_at and moment < lease.expires:
            continue
        try:
            change = _renew_one(net, tables, row, record.name, lease, moment, lost)
        except (OSError, ValueError) as exc:  # one endpoint's trouble stops no other
            change = LeaseChange(row.id, LeaseOutcome.FAILED, lease, None, f"{exc}")
        if change is not None:
            changes.append(change)
    return changes


def _renew_one(
    net: Network,
    tables: Tables,
    row: EndpointRow,
    name: str,
    lease: Lease,
    now: float,
    lost: bool = False,
) -> LeaseChange | None:
    if row.netns is None or row.ifindex is None:
        return None
    ns = reopen(row.netns)
    if ns is None:
        return None  # the namespace is gone; reconcile drops the endpoint
    with ns, Connection(ns) as there:
        ident = tables.identity(net.name, name)
        client_id = ident.client_id if ident else b"\0" + name.encode()
        hostname = ident.hostname if ident else None
        try:
            ifname = there.link(row.ifindex).name
        except NetlinkError:
            return None
        if lost:
            try:
                fresh = _fresh(net, ns, there, row, ifname, client_id, hostname, lease, 3.0)
            except (LeaseError, OSError) as exc:
                return LeaseChange(row.id, LeaseOutcome.FAILED, lease, None, f"no lease yet: {exc}")
            tables.set_lease(row.id, name, fresh, "bound")
            return LeaseChange(row.id, LeaseOutcome.REGAINED, lease, fresh)
        if now >= lease.expires:
            _remove(there, row.ifindex, lease)
            tables.set_lease(row.id, name, lease, "expired")
            return LeaseChange(row.id, LeaseOutcome.EXPIRED, lease, None, "the lease ran out")
        client = Client(row.mac, client_id, hostname)
        rebinding = now >= lease.rebind_at
        first = client.rebind(lease, time.time()) if rebinding else client.renew(lease, time.time())
        until = lease.expires if rebinding else lease.rebind_at  # renewing stops at T2
        timeout = min(_ATTEMPT, max(until - time.time(), 0.5))
        try:
            with UdpTransport(ns, ifname) as transport:
                event = exchange(transport, client, first, timeout, first_wait=0.5)
        except OSError as exc:
            return LeaseChange(row.id, LeaseOutcome.FAILED, lease, None, str(exc))
        if isinstance(event, Bound):
            new = event.lease
            _apply(there, row.ifindex, lease, new, net.internal)
            with net.store.transaction():
                tables.set_lease(row.id, name, new, "bound")
                if ident is not None:
                    tables.set_identity(
                        net.name, name, Identity(ident.client_id, hostname, str(new.address.ip))
                    )
            outcome = LeaseOutcome.RENEWED if new.address == lease.address else LeaseOutcome.CHANGED
            return LeaseChange(row.id, outcome, lease, new)
        if isinstance(event, Refused):
            _remove(there, row.ifindex, lease)
            tables.set_lease(row.id, name, lease, "expired")
            try:  # back to INIT: a fresh lease, maybe another address
                timeout = net.lan_options.dhcp_timeout
                fresh = _fresh(net, ns, there, row, ifname, client_id, hostname, None, timeout)
            except (LeaseError, OSError) as exc:
                return LeaseChange(
                    row.id, LeaseOutcome.LOST, lease, None, f"NAK ({event.text}); then {exc}"
                )
            tables.set_lease(row.id, name, fresh, "bound")
            return LeaseChange(row.id, LeaseOutcome.CHANGED, lease, fresh, f"NAK ({event.text})")
        what = "rebinding" if rebinding else "renewing"
        return LeaseChange(row.id, LeaseOutcome.FAILED, lease, None, f"no answer while {what}")


def _fresh(
    net: Network,
    ns: Namespace,
    there: Connection,
    row: EndpointRow,
    ifname: str,
    client_id: bytes,
    hostname: str | None,
    old: Lease | None,
    timeout: float,
) -> Lease:
    """From INIT: a new lease (asking for ``old``'s address), applied."""
    assert row.ifindex is not None
    requested = None if old is None else old.address.ip
    client = Client(row.mac, client_id, hostname, requested=requested)
    fresh = acquire(ns, ifname, client, timeout=timeout, probe_time=net.lan_options.probe_time)
    there.add_address(row.ifindex, fresh.address)
    _add_route(there, row.ifindex, fresh, net.internal)
    return fresh


def next_due(net: Network, now: float) -> float:
    """When the next lease of ``net`` needs attention (epoch seconds)."""
    tables = Tables(net.store)
    rows = net.store.endpoints(net.name, EndpointKind.CONTAINER)
    due = now + _IDLE
    for record in tables.records([r.id for r in rows]).values():
        lease = record.lease
        if lease is None or record.state != "bound":
            continue
        for t in (lease.renew_at, lease.rebind_at, lease.expires):
            if t > now:
                due = min(due, t)
                break
        else:
            due = now
    return due


class LeaseKeeper:
    """Keeps a network's leases alive until stopped: renews at T1, rebinds at T2,
    removes addresses whose lease ran out.

    ``keeper.start()`` runs it in a daemon thread (``stop()`` ends it);
    ``keeper.run()`` runs it in the calling thread.  ``on_change`` is called with
    each :class:`LeaseChange`.  Also a context manager (start/stop).
    """

    def __init__(
        self, net: Network, *, on_change: Callable[[LeaseChange], object] | None = None
    ) -> None:
        self.net = net
        self.on_change = on_change
        self.changes: list[LeaseChange] = []
        self.errors: list[Exception] = []  # passes that failed as a whole (retried)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Renew until :meth:`stop` is called."""
        retry: dict[int, float] = {}
        while not self._stop.is_set():
            try:
                self._pass(retry)
            except Exception as exc:  # e.g. the store busy past its timeout: try again
                self.errors.append(exc)
                self._stop.wait(_RETRY)

    def _pass(self, retry: dict[int, float]) -> None:
        """One renewal pass, then the wait until the next lease is due."""
        now = time.time()
        for ep in [ep for ep, when in retry.items() if when <= now]:
            del retry[ep]  # due now: tried in this pass (and put back if it fails again)
        for change in renew(self.net, now=now):
            if change.outcome is LeaseOutcome.FAILED:
                old = change.old
                if now >= old.expires or change.detail.startswith("no lease yet"):
                    retry[change.endpoint] = now + _RETRY  # from DISCOVER: every 10 s
                else:
                    left = (old.rebind_at if now < old.rebind_at else old.expires) - now
                    retry[change.endpoint] = now + max(1.0, min(_RETRY, left / 2))
            elif change.outcome in (LeaseOutcome.EXPIRED, LeaseOutcome.LOST):
                retry[change.endpoint] = now + _RETRY  # then start again from DISCOVER
            else:
                retry.pop(change.endpoint, None)
            self.changes.append(change)
            if self.on_change is not None:
                self.on_change(change)
        due = next_due(self.net, time.time())
        if retry:
            due = min(due, *retry.values())
        self._stop.wait(max(0.2, due - time.time()) if not math.isinf(due) else _IDLE)

    def start(self) -> LeaseKeeper:
        """Run in a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("this LeaseKeeper is already running")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run, name=f"macvlan-leases-{self.net.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop (and join the thread, if started)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> LeaseKeeper:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
