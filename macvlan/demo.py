"""``macvlan demo``: a throw-away LAN of network namespaces, built, pinged and removed.

Needs nothing but root.  It builds a sandbox -- a "LAN" namespace holding a veth pair
whose end ``lan0`` is the macvlan parent, and three "container" namespaces -- makes a
macvlan network on ``lan0`` (with :class:`macvlan.Network` and a store in a temporary
directory when the network layer is there, else with plain ``create_macvlan`` and
``add_address``), attaches the containers with generated MACs, adds a host shim in
the LAN namespace, pings every endpoint from every other one with
:mod:`macvlan.icmp`, and removes it all -- also when a step fails or the run is
interrupted.  Nothing is done in the namespace the demo was started in.

Names start with ``mvdemo-<pid>-<random>``, so :func:`cleanup` can tell demos left
standing (``keep=True``) from running ones.  For tests, ``MACVLAN_DEMO_PAUSE=STEP``
(optionally ``STEP:SECONDS``) waits after a step and ``MACVLAN_DEMO_FAIL=STEP``
fails after it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from macvlan.errors import DemoFailure

if TYPE_CHECKING:
    from macvlan.connection import Connection
    from macvlan.icmp import PingResult
    from macvlan.mac import MacAddress
    from macvlan.namespace import Namespace

__all__ = ["PREFIX", "STEPS", "DemoFailure", "Member", "Report", "cleanup", "run"]

PREFIX = "mvdemo-"
STEPS = ("sandbox", "network", "attach", "shim", "ping")
CONTAINERS = ("c1", "c2", "c3")
PING_COUNT = 3
PING_INTERVAL = 0.005
PING_TIMEOUT = 2.0  # a lost first ARP request is repeated after a second
PAUSE_ENV = "MACVLAN_DEMO_PAUSE"
FAIL_ENV = "MACVLAN_DEMO_FAIL"
_NAME_RE = re.compile(r"^mvdemo-(\d+)-[0-9a-f]+(-|$)")
_STORE_MARK = ".mvdemo-store"


@dataclass(frozen=True, slots=True)
class Member:
    """One interface the demo built."""

    role: str
    namespace: str
    ifname: str
    mac: MacAddress
    how: str
    address: str | None


@dataclass(frozen=True, slots=True)
class Ping:
    source: str
    target: str
    result: PingResult


@dataclass
class Report:
    """What the demo built, what the pings measured, and how long it took."""

    prefix: str
    layer: str  # "macvlan.Network" or "create_macvlan" (network layer missing)
    store: str | None
    members: list[Member] = field(default_factory=list)
    pings: list[Ping] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    kept: bool = False
    note: str = ""

    @property
    def namespaces(self) -> list[str]:
        """The namespaces the demo's interfaces live in, sorted."""
        return sorted({m.namespace for m in self.members})

    def failed_pings(self) -> int:
        """How many of the pings got no reply at all."""
        return sum(1 for p in self.pings if not p.result.received)

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON object (what ``macvlan demo --json`` prints)."""
        return {
            "prefix": self.prefix,
            "layer": self.layer,
            "store": self.store,
            "note": self.note or None,
            "members": [
                {
                    "role": m.role,
                    "namespace": m.namespace,
                    "ifname": m.ifname,
                    "mac": str(m.mac),
                    "mac_kind": m.mac.kind,
                    "how": m.how,
                    "address": m.address,
                }
                for m in self.members
            ],
            "pings": [
                {
                    "from": p.source,
                    "to": p.target,
                    "sent": p.result.sent,
                    "received": p.result.received,
                    "rtt_ms": [None if r is None else round(r * 1000, 3) for r in p.result.rtts],
                    "avg_ms": p.result.avg_ms,
                }
                for p in self.pings
            ],
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "kept": self.kept,
            "cleanup": "macvlan demo --cleanup" if self.kept else None,
        }

    def text_lines(self) -> list[str]:
        """The report as text: the interfaces, the ping grid, the timings."""
        lines = [f"macvlan demo {self.prefix}: built with {self.layer}"]
        if self.note:
            lines.append(f"  ({self.note})")
        lines.append("")
        rows = [("ROLE", "NAMESPACE", "IFACE", "MAC", "KIND", "MAC FROM", "ADDRESS")]
        rows += [
            (
                m.role,
                m.namespace,
                m.ifname,
                str(m.mac),
                m.mac.kind,
                m.how,
                m.address or "-",
            )
            for m in self.members
        ]
        lines += _table(rows)
        roles = [m.role for m in self.members if m.address]
        if self.pings:
            by_pair = {(p.source, p.target): p.result for p in self.pings}
            lines.append("")
            lines.append(f"ping, average of {PING_COUNT} echoes in ms (row pings column):")
            grid = [("FROM \\ TO", *roles)]
            for source in roles:
                cells = []
                for target in roles:
                    result = by_pair.get((source, target))
                    if result is None:
                        cells.append("-")
                    elif result.avg_ms is None:
                        cells.append("LOST")
                    else:
                        cells.append(f"{result.avg_ms:.3f}")
                grid.append((source, *cells))
            lines += _table(grid, right=True)
        lines.append("")
        lines.append(
            "  ".join(f"{step} {seconds * 1000:.0f} ms" for step, seconds in self.timings.items())
        )
        if self.kept:
            first = next((m for m in self.members if m.role == CONTAINERS[0]), None)
            other = next((m for m in self.members if m.role == CONTAINERS[1]), None)
            lines.append("")
            lines.append("Left standing. Look around, e.g.:")
            if first is not None:
                lines.append(f"  macvlan -n {first.namespace} link show {first.ifname}")
                if other is not None and other.address:
                    lines.append(
                        f"  macvlan -n {first.namespace} ping {other.address.split('/')[0]}"
                    )
            if self.store:
                lines.append(f"  macvlan network list --store {self.store}")
            lines.append("Remove it with: macvlan demo --cleanup")
        else:
            lines.append("Everything was removed again.")
        return lines


def _table(rows: Sequence[tuple[str, ...]], right: bool = False) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            cell.rjust(w) if right and i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return out


# -- the sandbox ----------------------------------------------------------------------------
class _Sandbox:
    """Everything the demo made, so that it can all be removed."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.names: list[str] = []  # recorded before creation, so none escapes
        self.namespaces: dict[str, Namespace] = {}
        self.connections: list[Connection] = []
        self.store_dir: str | None = None
        self.network: Any = None

    def namespace(self, role: str) -> Namespace:
        from macvlan.namespace import Namespace

        name = f"{self.prefix}-{role}"
        self.names.append(name)
        ns = Namespace.create(name)
        self.namespaces[role] = ns
        return ns

    def connect(self, role: str) -> Connection:
        conn = self.namespaces[role].connect()
        self.connections.append(conn)
        return conn

    def remove(self) -> list[str]:
        """Remove everything; never raises for what is already gone."""
        removed: list[str] = []
        if self.network is not None:  # the network's own teardown, then the namespaces
            with contextlib.suppress(Exception):
                self.network.remove(force=True)
            with contextlib.suppress(Exception):
                self.network.close()
            self.network = None
        for conn in self.connections:
            with contextlib.suppress(Exception):
                conn.close()
        self.connections.clear()
        from macvlan.namespace import Namespace

        for ns in self.namespaces.values():
            ns.close()
        self.namespaces.clear()
        for name in reversed(self.names):
            with contextlib.suppress(OSError), Namespace.open(name) as ns:
                ns.delete(missing_ok=True)
                removed.append(f"netns {name}")
        self.names.clear()
        if self.store_dir is not None:
            shutil.rmtree(self.store_dir, ignore_errors=True)
            removed.append(f"store {self.store_dir}")
            self.store_dir = None
        return removed


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """Hold SIGINT/SIGTERM off while removing; deliver them afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def remember(signum: int, frame: object) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if pending and sys.exc_info()[1] is None:
            signal.raise_signal(pending[0])


def _check_hooks(step: str, say: Callable[[str], None]) -> None:
    pause = os.environ.get(PAUSE_ENV, "")
    if pause:
        name, _, seconds = pause.partition(":")
        if name == step:
            wait = float(seconds) if seconds else 60.0
            print(
                f"macvlan demo: paused after step {step!r} ({PAUSE_ENV}); "
                f"send SIGINT or SIGTERM to interrupt, or wait {wait:g} s",
                file=sys.stderr,
                flush=True,
            )
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                time.sleep(0.05)
    if os.environ.get(FAIL_ENV) == step:
        raise DemoFailure(f"failing on purpose after step {step!r} ({FAIL_ENV})")


def _network_class() -> Any:
    try:
        from macvlan import network
    except ImportError:
        return None
    return getattr(network, "Network", None)


def _stable_mac(name: str) -> tuple[MacAddress, str]:
    from macvlan.mac import MacAddress

    try:
        return MacAddress.stable(name), "stable(name)"
    except (OSError, ValueError):  # no usable /etc/machine-id on this machine
        return MacAddress.stable(name, key=bytes(range(1, 17))), "stable(name, key)"


def run(
    *,
    keep: bool = False,
    progress: Callable[[str], None] | None = None,
    use_network: bool | None = None,
) -> Report:
    """Build the sandbox, ping across it and (unless ``keep``) remove it again.

    ``progress`` is called with a short text at each step.  ``use_network``: True
    requires :class:`macvlan.Network`, False builds with the link layer only, None
    (the default) uses the network layer when it is installed.

    Whatever was built is removed when a step fails or the run is interrupted
    (KeyboardInterrupt, or any exception a SIGTERM handler raises), and the
    exception is raised again.
    """
    from macvlan.icmp import ping
    from macvlan.link import MacvlanMode
    from macvlan.mac import MacAddress

    say = progress or (lambda text: None)
    prefix = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    sandbox = _Sandbox(prefix)
    network_cls = None if use_network is False else _network_class()
    if use_network and network_cls is None:
        raise RuntimeError("the network layer (macvlan.network) is not available")
    report = Report(
        prefix,
        "macvlan.Network" if network_cls is not None else "create_macvlan + add_address",
        None,
    )
    if network_cls is None and use_network is None:
        report.note = "macvlan.network is not available; used the link layer directly"
    clock = time.monotonic
    ok = False
    try:
        # 1. the sandbox: a LAN namespace with a veth parent, and three containers
        started = clock()
        say(f"[1/5] sandbox: namespaces {prefix}-*")
        try:
            lan_ns = sandbox.namespace("lan")
        except PermissionError as exc:
            raise PermissionError(
                exc.errno, "the demo needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW)"
            ) from exc
        lan = sandbox.connect("lan")
        parent_mac = MacAddress.from_oui("00:16:3e")
        lan.create_veth("lan0", "lan1", mac=parent_mac, up=True)
        lan.set_link("lan1", up=True)
        lan.set_link("lo", up=True)
        report.members.append(
            Member("lan", lan_ns.name or "", "lan0", parent_mac, "from_oui(00:16:3e)", None)
        )
        containers = {}
        for role in CONTAINERS:
            ns = sandbox.namespace(role)
            with ns.connect() as rt:
                rt.set_link("lo", up=True)
            containers[role] = ns
        report.timings["sandbox"] = clock() - started
        _check_hooks("sandbox", say)

        # 2. the network on lan0
        started = clock()
        # a subnet of its own (10.X.Y.0/24), so that demos side by side get other
        # addresses and other from_ipv4() MACs
        net24 = "10.{}.{}".format(*secrets.token_bytes(2))
        subnet, gateway, shim_ip = f"{net24}.0/24", f"{net24}.1", f"{net24}.254"
        ips = {role: f"{net24}.{11 + i}" for i, role in enumerate(CONTAINERS)}
        if network_cls is not None:
            say(f"[2/5] network: macvlan.Network on lan0, {subnet}")
            sandbox.store_dir = tempfile.mkdtemp(prefix=f"{prefix}-")
            with open(os.path.join(sandbox.store_dir, _STORE_MARK), "w") as mark:
                mark.write(prefix + "\n")
            store = os.path.join(sandbox.store_dir, "networks.db")
            report.store = store
            sandbox.network = network_cls.create(
                "demo",
                "lan0",
                subnet=subnet,
                gateway=gateway,
                mode=MacvlanMode.BRIDGE,
                store=store,
                netns=lan_ns,
            )
        else:
            say("[2/5] network: (no network layer) macvlans on lan0 by hand")
        report.timings["network"] = clock() - started
        _check_hooks("network", say)

        # 3. attach the containers, each with a differently generated MAC
        started = clock()
        macs: dict[str, tuple[MacAddress, str]] = {
            "c1": (MacAddress.random(), "random()"),
            "c2": _stable_mac(f"{prefix}-c2"),
            "c3": (MacAddress.from_ipv4(ips["c3"]), "from_ipv4(ip)"),
        }
        for role, ns in containers.items():
            say(f"[3/5] attach: {role}")
            mac, how = macs[role]
            if sandbox.network is not None:
                ip = None if role == "c1" else ips[role]  # c1: the network's IPAM picks
                endpoint = sandbox.network.attach(ns, ifname="eth0", ip=ip, mac=mac)
                address = ", ".join(str(a) for a in endpoint.addresses)
                mac = endpoint.mac
                if role == "c1" and endpoint.addresses:
                    ips[role] = str(endpoint.addresses[0].ip)
            else:
                lan.create_macvlan("eth0", "lan0", MacvlanMode.BRIDGE, mac=mac, up=True, netns=ns)
                with ns.connect() as rt:
                    rt.add_address("eth0", f"{ips[role]}/24")
                address = f"{ips[role]}/24"
            report.members.append(Member(role, ns.name or "", "eth0", mac, how, address))
        report.timings["attach"] = clock() - started
        _check_hooks("attach", say)

        # 4. the host shim, in the LAN namespace (the "host" of this LAN)
        started = clock()
        say("[4/5] shim: the host's way to its containers")
        if sandbox.network is not None:
            endpoint = sandbox.network.host_shim(shim_ip, ifname="shim0")
            shim = Member(
                "shim",
                lan_ns.name or "",
                endpoint.ifname,
                endpoint.mac,
                "host_shim()",
                ", ".join(str(a) for a in endpoint.addresses),
            )
        else:
            link = lan.create_macvlan(
                "shim0", "lan0", MacvlanMode.BRIDGE, mac=MacAddress.random(), up=True
            )
            lan.add_address(link, f"{shim_ip}/24")
            mac = link.mac or _no_mac(link.name)
            shim = Member("shim", lan_ns.name or "", link.name, mac, "random()", f"{shim_ip}/24")
        report.members.insert(1, shim)
        ips["shim"] = shim_ip
        report.timings["shim"] = clock() - started
        _check_hooks("shim", say)

        # 5. ping every endpoint from every other one, inside the namespaces
        started = clock()
        where = {"shim": lan_ns, **containers}
        say("[5/5] ping: waiting for the links to come up")
        for member in report.members[1:]:
            _wait_up(where[member.role], member.ifname)
        for source, ns in where.items():
            for target, ip in ips.items():
                if target == source:
                    continue
                say(f"[5/5] ping: {source} -> {target} ({ip})")
                result = ns.run(
                    ping, ip, count=PING_COUNT, interval=PING_INTERVAL, timeout=PING_TIMEOUT
                )
                report.pings.append(Ping(source, target, result))
        report.pings.sort(key=lambda p: (_order(p.source), _order(p.target)))
        report.timings["ping"] = clock() - started
        _check_hooks("ping", say)
        ok = True
    finally:
        if not (ok and keep):
            started = clock()
            say("removing the sandbox")
            with _shielded():
                sandbox.remove()
            report.timings["remove"] = clock() - started
        else:
            report.kept = True
            if sandbox.network is not None:
                sandbox.network.close()
            for conn in sandbox.connections:
                conn.close()
            for ns in sandbox.namespaces.values():
                ns.close()
    return report


def _wait_up(ns: Namespace, ifname: str, timeout: float = 2.0) -> None:
    """Wait until the kernel has finished bringing ``ifname`` up (operstate UP).

    A link that just got its carrier drops what it is given until the kernel's
    link-watch work has run; a ping sent then would wait a second for ARP again.
    """
    from macvlan.link import OperState

    deadline = time.monotonic() + timeout
    with ns.connect() as rt:
        while rt.link(ifname).operstate != OperState.UP and time.monotonic() < deadline:
            time.sleep(0.005)


def _order(role: str) -> int:
    return ["shim", *CONTAINERS].index(role)


def _no_mac(name: str) -> MacAddress:
    raise RuntimeError(f"the host shim {name!r} has no MAC address")


def _running(pid: int) -> bool:
    """Is the demo of process ``pid`` (not this one) still running?"""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup(prefix: str | None = None, *, include_running: bool = False) -> list[str]:
    """Remove what demos left standing: ``mvdemo-*`` namespaces and stores.

    ``prefix`` (a report's :attr:`Report.prefix`, ``mvdemo-PID-HEX``) limits this to
    one demo.  Those of a demo still running (its pid alive) are spared unless
    ``include_running``.
    """
    from macvlan.namespace import Namespace

    if prefix is not None and _NAME_RE.fullmatch(prefix) is None:
        raise ValueError(f"{prefix!r} is not a demo's name (mvdemo-PID-HEX)")

    def ours(name: str) -> bool:
        return prefix is None or name.startswith(prefix + "-")

    removed: list[str] = []
    for name in Namespace.list():
        match = _NAME_RE.match(name)
        if match is None or not ours(name):
            continue
        if not include_running and _running(int(match.group(1))):
            continue
        try:
            with Namespace.open(name) as ns:
                ns.delete(missing_ok=True)
        except OSError:
            continue
        removed.append(f"netns {name}")
    tmp = tempfile.gettempdir()
    for entry in sorted(os.listdir(tmp)):
        match = _NAME_RE.match(entry)
        path = os.path.join(tmp, entry)
        if match is None or not ours(entry) or not os.path.isfile(os.path.join(path, _STORE_MARK)):
            continue
        if not include_running and _running(int(match.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(f"store {path}")
    return removed
