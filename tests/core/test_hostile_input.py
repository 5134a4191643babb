"""Hostile arguments are refused with ValueError/TypeError BEFORE anything is touched.

Every hostile call runs under a :class:`Guard`: the socket layer (NetlinkSocket request,
batch, dump, send_raw, recv and new sockets), the raw socket send calls, the file
and namespace system calls (os.open/mkdir/unlink/stat/scandir, setns, unshare,
mount, umount2) and new threads all raise :class:`Touched` if reached.  A refusal
therefore proves it came first: a ``Touched`` instead of the expected error fails
the test.  No root needed; nothing is created anywhere.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import lan_network

import macvlan
from macvlan import MacAddress, MacvlanMode, MacvlanSpec, Namespace, _syscalls
from macvlan._netlink.socket import NetlinkSocket
from macvlan.connection import Connection
from macvlan.link import check_ifname


class Touched(Exception):
    """Raised by every guarded entry point (and recorded, in case a handler hid it)."""


@pytest.fixture(scope="module")
def rt() -> Iterator[Connection]:
    """A connection in the test's own namespace; the guard keeps it from sending."""
    conn = macvlan.connect()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="module")
def closed_ns() -> Namespace:
    ns = Namespace.current()
    ns.close()
    return ns


GUARDED: list[tuple[Any, str]] = [
    (NetlinkSocket, "request"),
    (NetlinkSocket, "request_parsed"),
    (NetlinkSocket, "batch"),
    (NetlinkSocket, "dump"),
    (NetlinkSocket, "dump_parsed"),
    (NetlinkSocket, "send_raw"),
    (NetlinkSocket, "recv_messages"),
    (NetlinkSocket, "__init__"),
    (socket.socket, "sendall"),
    (socket.socket, "send"),
    (socket.socket, "sendto"),
    (socket.socket, "sendmsg"),
    (os, "open"),
    (os, "mkdir"),
    (os, "unlink"),
    (os, "rmdir"),
    (os, "stat"),
    (os, "lstat"),
    (os, "scandir"),
    (_syscalls, "setns"),
    (_syscalls, "unshare"),
    (_syscalls, "mount"),
    (_syscalls, "umount2"),
    (threading.Thread, "start"),
    (sqlite3, "connect"),
]


_MISSING = object()


class Guard:
    """``with guard:`` makes every way of touching the system raise Touched.

    Armed only inside the ``with`` block, so pytest's own reporting (which reads
    source files) runs unguarded.  ``reached`` lists what was reached.
    """

    def __init__(self, guarded: list[tuple[Any, str]] = GUARDED) -> None:
        self.reached: list[str] = []
        self._saved: list[tuple[Any, str, Any]] = []
        self._guarded = guarded

    def __enter__(self) -> Guard:
        for owner, name in self._guarded:
            label = f"{getattr(owner, '__name__', owner)}.{name}"

            def guard(*args: object, _label: str = label, **kwargs: object) -> Any:
                self.reached.append(_label)
                raise Touched(_label)

            self._saved.append((owner, name, vars(owner).get(name, _MISSING)))
            setattr(owner, name, guard)
        return self

    def __exit__(self, *exc: object) -> None:
        while self._saved:
            owner, name, original = self._saved.pop()
            if original is _MISSING:
                delattr(owner, name)  # it was inherited (socket.socket.sendall)
            else:
                setattr(owner, name, original)


@pytest.fixture
def guard() -> Guard:
    return Guard()


def refused(
    call: Callable[[], object], guard: Guard, value: object, *, quote: bool = True
) -> BaseException:
    """Assert ``call`` raises ValueError/TypeError, touched nothing and quotes ``value``."""
    with pytest.raises((ValueError, TypeError)) as info, guard:
        call()
    assert guard.reached == [], f"touched {guard.reached} before refusing {value!r}"
    if quote and value not in ("", b"", None):
        shown = repr(value)
        assert shown[:24] in str(info.value) or str(value)[:24] in str(info.value), (
            f"{info.value!s} does not quote {shown}"
        )
    return info.value


# -- interface names -------------------------------------------------------------------------
BAD_IFNAMES: list[object] = [
    "",
    "/",
    "a/b",
    "../p0",
    ".",
    "..",
    "mv\0",
    "\0",
    "x" * 16,
    "é" * 8,  # 16 bytes in UTF-8
    "mv0\udcff",  # a surrogate escape: not UTF-8
    "\ud800",
    "a b",
    " mv0",
    "mv0\n",
    "mv\t0",
    "mv\u00a00",  # no-break space
    "\u3000",
    "mv0:1",  # an alias, not a link
    b"mv0",
    bytearray(b"mv0"),
    None,
    1.0,
    ["mv0"],
]


def _ifname_calls(rt: Connection, bad: Any) -> dict[str, Callable[[], object]]:
    return {
        "create_macvlan name": lambda: rt.create_macvlan(bad, "p0"),
        "create_macvlan parent": lambda: rt.create_macvlan("mv0", bad),
        "create_macvtap name": lambda: rt.create_macvtap(bad, "p0"),
        "create_macvlans": lambda: rt.create_macvlans(
            [MacvlanSpec("mv1", "p0"), MacvlanSpec(bad, "p0")]
        ),
        "create_veth name": lambda: rt.create_veth(bad, "vb"),
        "create_veth peer": lambda: rt.create_veth("va", bad),
        "link": lambda: rt.link(bad),
        "links parent": lambda: rt.links(parent=bad),
        "set_link ref": lambda: rt.set_link(bad, up=True),
        "set_link name": lambda: rt.set_link("mv0", name=bad),
        "delete_link": lambda: rt.delete_link(bad),
        "delete_links": lambda: rt.delete_links(["mv0", bad]),
        "add_address": lambda: rt.add_address(bad, "10.0.0.2/24"),
        "addresses": lambda: rt.addresses(bad),
        "add_route link": lambda: rt.add_route("default", gateway="10.0.0.1", link=bad),
    }


@pytest.mark.parametrize("bad", BAD_IFNAMES, ids=repr)
@pytest.mark.parametrize("where", sorted(_ifname_calls(None, None)))  # type: ignore[arg-type]
def test_bad_interface_names(rt: Connection, guard: Guard, bad: Any, where: str) -> None:
    if bad is None and where in ("set_link name", "links parent", "addresses", "add_route link"):
        pytest.skip("None means 'leave it' / 'all links' / 'no link' here")
    if bad in ALTNAMES_ONLY and where in LOOKUPS:
        pytest.skip("a valid alternative name: looked up (test_altnames_live.py)")
    refused(_ifname_calls(rt, bad)[where], guard, bad, quote=where != "create_macvlans")


#: bad names for a link, but good alternative names, so good to look a link up by
ALTNAMES_ONLY = ["x" * 16, "é" * 8, "mv0:1"]
LOOKUPS = {"create_macvlan parent", "link", "links parent", "set_link ref", "delete_link"}
LOOKUPS |= {"delete_links", "add_address", "addresses", "add_route link"}


def _kernel_accepts(name: str) -> bool:
    """The kernel's dev_valid_name(), which check_ifname must not be looser than."""
    raw = name.encode("utf-8", "surrogateescape")
    return (
        0 < len(raw) < 16
        and raw not in (b".", b"..")
        and not any(c in b"/: \t\n\v\f\r\0" for c in raw)
    )


@settings(max_examples=2000, database=None, deadline=None)
@given(st.text(max_size=20) | st.sampled_from(["mv0", "p0", "eth0.100", "a-b_c", "x" * 15]))
def test_ifname_check_is_never_looser_than_the_kernel(name: str) -> None:
    try:
        check_ifname(name)
    except ValueError as exc:
        assert name == "" or repr(name)[:24] in str(exc)
        return
    assert _kernel_accepts(name), name


# -- namespace names ---------------------------------------------------------------------------
BAD_NETNS_NAMES: list[object] = [
    "",
    ".",
    "..",
    "/",
    "a/b",
    "../../etc",
    "/run/netns/x",
    "ns\0",
    "x" * 256,
    "é" * 128,  # 256 bytes
    "\ud800",  # a lone surrogate: no file name encodes it
    b"blue",
    5,
    None,
    ["blue"],
]


def _netns_calls(rt: Connection, bad: Any) -> dict[str, Callable[[], object]]:
    return {
        "Namespace.create": lambda: Namespace.create(bad),
        "Namespace.open": lambda: Namespace.open(bad),
        "connect": lambda: macvlan.connect(netns=bad) if bad is not None else _none(),
        "create_macvlan netns": lambda: rt.create_macvlan("mv0", "p0", netns=bad),
        "create_veth peer_netns": lambda: rt.create_veth("va", "vb", peer_netns=bad),
        "set_link netns": lambda: rt.set_link("mv0", netns=bad),
        "create_macvlans": lambda: rt.create_macvlans([MacvlanSpec("mv0", "p0", netns=bad)]),
    }


def _none() -> None:
    raise TypeError("None stands for the current namespace: not hostile")


@pytest.mark.parametrize("bad", BAD_NETNS_NAMES, ids=repr)
@pytest.mark.parametrize("where", sorted(_netns_calls(None, None)))  # type: ignore[arg-type]
def test_bad_namespace_names(rt: Connection, guard: Guard, bad: Any, where: str) -> None:
    if bad is None and where not in ("Namespace.create", "Namespace.open"):
        pytest.skip("None means the current namespace here")
    refused(_netns_calls(rt, bad)[where], guard, bad)


def test_longest_namespace_name_passes_the_check(guard: Guard) -> None:
    """255 bytes is allowed: the refusal above is the length, not something else."""
    with pytest.raises(Touched), guard:
        Namespace.open("x" * 255)
    assert guard.reached == ["os.open"]


@pytest.mark.parametrize(
    ("call", "value"),
    [
        (lambda: Namespace.from_path(""), ""),
        (lambda: Namespace.from_path("/proc/self/ns/net\0"), "/proc/self/ns/net\0"),
        (lambda: Namespace.from_path(b"/proc/self/ns/net"), b"/proc/self/ns/net"),
        (lambda: Namespace.from_pid(0), 0),
        (lambda: Namespace.from_pid(-1), -1),
        (lambda: Namespace.from_pid(True), True),
        (lambda: Namespace.from_pid("1"), "1"),
        (lambda: Namespace.from_pid(1.0), 1.0),
        (lambda: Namespace.from_fd(-1), -1),
        (lambda: Namespace.from_fd("3"), "3"),
        (lambda: Namespace.from_fd(False), False),
    ],
    ids=lambda v: repr(v) if not callable(v) else "",
)
def test_bad_namespace_handles(guard: Guard, call: Callable[[], object], value: object) -> None:
    refused(call, guard, value)


def test_from_path_with_a_number_quotes_it(guard: Guard) -> None:
    refused(lambda: Namespace.from_path(7), guard, 7)  # type: ignore[arg-type]


def test_a_closed_namespace_is_refused_before_anything(
    rt: Connection, guard: Guard, closed_ns: Namespace
) -> None:
    for call in (
        lambda: rt.create_veth("va", "vb", peer_netns=closed_ns),
        lambda: closed_ns.run(print),
        lambda: closed_ns.enter().__enter__(),
        lambda: macvlan.connect(closed_ns),
    ):
        with pytest.raises(ValueError, match="closed namespace"), guard:
            call()
        assert guard.reached == []


def test_closed_namespace_in_create_macvlan(
    rt: Connection, guard: Guard, closed_ns: Namespace
) -> None:
    with guard:
        try:
            rt.create_macvlan("mv0", "p0", netns=closed_ns)
        except ValueError as exc:
            assert "closed namespace" in str(exc)
    assert guard.reached == []


# -- MAC addresses ---------------------------------------------------------------------------
BAD_MACS: list[object] = [
    "",
    "00:11:22:33:44",
    "00:11:22:33:44:55:66",
    "00:11:22:33:44:5g",
    "0x001122334455",
    "00-11-22:33-44-55",
    "00:11:22:33:44:55 ",
    " 00:11:22:33:44:55",
    "00:11:22:33:44:55\n",
    "00:11:22:33:44:55\0",
    "00::11:22:33:44:55",
    "0011.2233.44556",
    "00112233445",
    "٠٠١١٢٢٣٣٤٤٥٥",  # Arabic-Indic digits: int() would take them
    "00:11:22:33:44:55".translate({ord(d): 0xFF10 + int(d) for d in "0123456789"}),
    "00:11:22:33:44:\udcff",
    "01:00:5e:00:00:01",  # multicast: not a link's own address
    "33:33:00:00:00:01",
    "ff:ff:ff:ff:ff:ff",
    "00:00:00:00:00:00",
    b"\x02\x00\x00\x00\x00",
    b"\x02\x00\x00\x00\x00\x00\x00",
    b"",
    -1,
    2**48,
    1.5,
    True,
    [2, 0, 0, 0, 0, 1],
    ("02:00:00:00:00:01",),
]


def _mac_calls(rt: Connection, bad: Any) -> dict[str, Callable[[], object]]:
    return {
        "MacAddress": lambda: _unicast(MacAddress(bad)),
        "create_macvlan mac": lambda: rt.create_macvlan("mv0", "p0", mac=bad),
        "create_macvtap mac": lambda: rt.create_macvtap("mv0", "p0", mac=bad),
        "create_macvlans": lambda: rt.create_macvlans([MacvlanSpec("mv0", "p0", mac=bad)]),
        "create_veth mac": lambda: rt.create_veth("va", "vb", mac=bad),
        "create_veth peer_mac": lambda: rt.create_veth("va", "vb", peer_mac=bad),
        "set_link mac": lambda: rt.set_link("mv0", mac=bad),
        "source_macs create": lambda: rt.create_macvlan(
            "mv0", "p0", MacvlanMode.SOURCE, source_macs=["02:00:00:00:00:01", bad]
        ),
        "source_macs set_link": lambda: rt.set_link("mv0", source_macs=[bad]),
    }


def _unicast(mac: MacAddress) -> None:
    if mac.is_multicast or not int(mac):
        raise ValueError(f"{mac} is no unicast address (the test's own check)")


@pytest.mark.parametrize("bad", BAD_MACS, ids=repr)
@pytest.mark.parametrize("where", sorted(_mac_calls(None, None)))  # type: ignore[arg-type]
def test_bad_macs(rt: Connection, guard: Guard, bad: Any, where: str) -> None:
    # the multicast/zero ones are valid MacAddress values, refused as a link's MAC
    refused(_mac_calls(rt, bad)[where], guard, bad, quote=where != "MacAddress")


@pytest.mark.parametrize(
    ("kwargs", "value"),
    [
        ({"source_macs": "02:00:00:00:00:01"}, "02:00:00:00:00:01"),  # a str, not a list
        ({"source_macs": b"\x02\0\0\0\0\x01"}, b"\x02\0\0\0\0\x01"),
        ({"source_macs": [None]}, None),
        ({"mode": MacvlanMode.BRIDGE, "source_macs": ["02:00:00:00:00:01"]}, "source_macs"),
        ({"mode": MacvlanMode.PASSTHRU, "mac": "02:00:00:00:00:01"}, "02:00:00:00:00:01"),
    ],
    ids=repr,
)
def test_bad_mac_combinations(
    rt: Connection, guard: Guard, kwargs: dict[str, Any], value: object
) -> None:
    kwargs.setdefault("mode", MacvlanMode.SOURCE)
    refused(lambda: rt.create_macvlan("mv0", "p0", **kwargs), guard, value, quote=False)


# -- IP addresses and routes ----------------------------------------------------------------------
BAD_INTERFACES: list[object] = [
    "",
    "10.0.0.256/24",
    "10.0.0.2/33",
    "10.0.0.2/-1",
    "10.0.0.2/24/1",
    "10.0.0.2 /24",
    "10.0.0.02/24",
    "10.0.0.2/255.0.255.0",
    "fd00::2/129",
    "fd00:::2/64",
    "::ffff:10.0.0.2/200",
    "localhost",
    "10.0.0.2/24\0",
    b"10.0.0.2/24",
    167772162,
    None,
    ["10.0.0.2/24"],
    ipaddress.ip_network("10.0.0.0/24"),
]


@pytest.mark.parametrize("bad", BAD_INTERFACES, ids=repr)
@pytest.mark.parametrize("op", ["add", "delete"])
def test_bad_ip_interfaces(rt: Connection, guard: Guard, bad: Any, op: str) -> None:
    # the link is named: the address must be refused before the name is looked up
    call = rt.add_address if op == "add" else rt.delete_address
    refused(lambda: call("mv0", bad), guard, bad)


def test_nodad_on_ipv4_is_refused(rt: Connection, guard: Guard) -> None:
    refused(lambda: rt.add_address("mv0", "10.0.0.2/24", nodad=True), guard, "nodad")


ROUTE_CASES: list[tuple[dict[str, Any], object]] = [
    ({"dst": "10.1.0.0/33", "gateway": "10.0.0.1"}, "10.1.0.0/33"),
    ({"dst": "10.1.0.1/16", "gateway": "10.0.0.1"}, "10.1.0.1/16"),  # host bits set
    ({"dst": "nowhere", "gateway": "10.0.0.1"}, "nowhere"),
    ({"dst": "Default", "gateway": "10.0.0.1"}, "Default"),
    ({"dst": 5, "gateway": "10.0.0.1"}, 5),
    ({"gateway": "10.0.0.300"}, "10.0.0.300"),
    ({"gateway": "10.0.0.1/24"}, "10.0.0.1/24"),
    ({"gateway": b"\x0a\0\0\x01"}, b"\x0a\0\0\x01"),
    ({"gateway": "10.0.0.1", "src": "fd00::1"}, "fd00::1"),
    ({"gateway": "10.0.0.1", "metric": -1}, -1),
    ({"gateway": "10.0.0.1", "metric": 2**32}, 2**32),
]


@pytest.mark.parametrize(("kwargs", "value"), ROUTE_CASES, ids=repr)
@pytest.mark.parametrize("link", [None, 3])
def test_bad_routes(
    rt: Connection, guard: Guard, kwargs: dict[str, Any], value: object, link: Any
) -> None:
    kwargs = dict(kwargs)
    if link is not None:
        kwargs["link"] = link
    refused(lambda: rt.add_route(**kwargs), guard, value, quote=False)
    refused(lambda: rt.delete_route(**kwargs), guard, value, quote=False)


ROUTE_CHECKED_LATE: list[tuple[dict[str, Any], object]] = [
    ({"dst": "10.1.0.0/16", "gateway": "fd00::1"}, "fd00::1"),  # family mismatch
    ({"gateway": "10.0.0.1", "table": 0}, 0),
    ({"gateway": "10.0.0.1", "table": -1}, -1),
    ({"gateway": "10.0.0.1", "table": 2**32}, 2**32),
]


@pytest.mark.parametrize(("kwargs", "value"), ROUTE_CHECKED_LATE, ids=repr)
@pytest.mark.parametrize("link", [3, "mv0"])
def test_bad_routes_checked_before_the_link_lookup(
    rt: Connection, guard: Guard, kwargs: dict[str, Any], value: object, link: object
) -> None:
    refused(lambda: rt.add_route(link=link, **kwargs), guard, value, quote=False)
    refused(lambda: rt.delete_route(link=link, **kwargs), guard, value, quote=False)


def test_a_route_needs_a_gateway_or_a_link(rt: Connection, guard: Guard) -> None:
    refused(lambda: rt.add_route("10.1.0.0/16"), guard, "gateway", quote=False)


# -- numbers, modes, flags, link references ----------------------------------------------
NUMBER_CASES: list[tuple[str, dict[str, Any], object]] = [
    ("mtu", {"mtu": 67}, 67),
    ("mtu", {"mtu": -1}, -1),
    ("mtu", {"mtu": 2**31}, 2**31),
    ("mtu", {"mtu": "1500"}, "1500"),
    ("mtu", {"mtu": 1500.0}, 1500.0),
    ("mtu", {"mtu": True}, True),
    ("txqueuelen", {"txqueuelen": -1}, -1),
    ("txqueuelen", {"txqueuelen": 2**32}, 2**32),
    ("group", {"group": -1}, -1),
    ("group", {"group": "1"}, "1"),
    ("bcqueuelen", {"bcqueuelen": -1}, -1),
    ("bc_cutoff", {"bc_cutoff": 2**31}, 2**31),
    ("mode", {"mode": "bridge "}, "bridge "),
    ("mode", {"mode": "BRIDGE\0"}, "BRIDGE\0"),
    ("mode", {"mode": 3}, 3),
    ("mode", {"mode": 0}, 0),
    ("mode", {"mode": None}, None),
    ("mode", {"mode": 4.0}, 4.0),
    ("flags", {"flags": 4}, "0x4"),
    ("flags", {"flags": "nopromisc"}, "nopromisc"),
    ("up", {"up": 1}, 1),
    ("up", {"up": "yes"}, "yes"),
    ("up", {"up": None}, None),
]


@pytest.mark.parametrize(("what", "kwargs", "value"), NUMBER_CASES, ids=repr)
def test_bad_numbers_on_create(
    rt: Connection, guard: Guard, what: str, kwargs: dict[str, Any], value: object
) -> None:
    refused(lambda: rt.create_macvlan("mv0", "p0", **kwargs), guard, value, quote=False)


@pytest.mark.parametrize(
    ("what", "kwargs", "value"),
    [c for c in NUMBER_CASES if c[0] in ("mtu", "txqueuelen", "group", "mode", "flags")]
    + [("up", {"up": 1}, 1), ("source_op", {"source_op": 3}, 3)],
    ids=repr,
)
def test_bad_numbers_on_set_link(
    rt: Connection, guard: Guard, what: str, kwargs: dict[str, Any], value: object
) -> None:
    if kwargs.get("mode", 1) is None:
        pytest.skip("mode=None means 'leave it' in set_link")
    refused(lambda: rt.set_link("mv0", **kwargs), guard, value, quote=False)


BAD_REFS: list[object] = [0, -1, True, False, 1.0, None, b"mv0", ["mv0"], object()]


@pytest.mark.parametrize("bad", BAD_REFS, ids=repr)
@pytest.mark.parametrize("where", ["link", "set_link", "delete_link", "delete_links", "parent"])
def test_bad_link_references(rt: Connection, guard: Guard, bad: Any, where: str) -> None:
    calls: dict[str, Callable[[], object]] = {
        "link": lambda: rt.link(bad),
        "set_link": lambda: rt.set_link(bad, up=True),
        "delete_link": lambda: rt.delete_link(bad),
        "delete_links": lambda: rt.delete_links([bad]),
        "parent": lambda: rt.create_macvlan("mv0", bad),
    }
    refused(calls[where], guard, bad, quote=False)


@pytest.mark.parametrize("bad", [2**31, 2**64])
def test_link_index_out_of_range(rt: Connection, guard: Guard, bad: int) -> None:
    refused(lambda: rt.link(bad), guard, bad)


def test_links_group_is_validated(rt: Connection, guard: Guard) -> None:
    refused(lambda: rt.links(group="1"), guard, "1")


def test_links_kind_is_validated(rt: Connection, guard: Guard) -> None:
    refused(lambda: rt.links(kind=5), guard, 5)  # type: ignore[arg-type]
    refused(lambda: rt.links(kind="mac\0vlan"), guard, "mac\0vlan")


def test_guard_catches_what_it_should(rt: Connection, guard: Guard) -> None:
    """The guard is real: a valid call is stopped at the socket, not refused."""
    with pytest.raises(Touched), guard:
        rt.link("mv0")
    with pytest.raises(Touched), guard:
        rt.create_macvlan("mv0", 3)
    with pytest.raises(Touched), guard:
        Namespace.open("blue")
    with pytest.raises(Touched), guard:
        macvlan.connect()
    assert guard.reached == [
        "NetlinkSocket.request",
        "NetlinkSocket.request_parsed",
        "os.open",
        "NetlinkSocket.__init__",
    ]
    assert socket.socket.sendall is vars(socket.socket).get("sendall", socket.socket.sendall)
    assert "sendall" not in vars(socket.socket)  # restored to the inherited method


# -- the CNI plugin: hostile environment and stdin ------------------------------------------------
# Run as the runtime runs it (a process, CNI_* variables, config on stdin).  CNI_NETNS
# names a path that does not exist, so an error that is not about the bad input shows
# that something was tried before the input was checked.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOOD_CONF = '{"cniVersion": "1.0.0", "name": "lan", "type": "macvlan", "master": "p0"}'


def run_cni(env: dict[str, str], stdin: str | bytes) -> tuple[int, dict[str, Any], str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": ROOT,
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": "c0ffee",
        "CNI_NETNS": "/nonexistent/netns/mvt-hostile",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/nonexistent/cni/bin",
    }
    base.update(env)
    data = stdin.encode("utf-8", "surrogatepass") if isinstance(stdin, str) else stdin
    done = subprocess.run(
        [sys.executable, "-m", "macvlan.cni"],
        input=data,
        env={k: v for k, v in base.items() if v is not None},
        capture_output=True,
        timeout=60,
        check=False,
    )
    out = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, out, done.stderr.decode("utf-8", "replace")


CNI_CASES: list[tuple[str, dict[str, str], str, int]] = [
    ("unknown command", {"CNI_COMMAND": "EXPLODE"}, GOOD_CONF, 4),
    ("container id with a slash", {"CNI_CONTAINERID": "../../etc"}, GOOD_CONF, 4),
    ("container id with a newline", {"CNI_CONTAINERID": "abc\ndef"}, GOOD_CONF, 4),
    ("ifname with a slash", {"CNI_IFNAME": "a/b"}, GOOD_CONF, 4),
    ("ifname too long", {"CNI_IFNAME": "x" * 16}, GOOD_CONF, 4),
    ("ifname pattern", {"CNI_IFNAME": "eth%d"}, GOOD_CONF, 4),
    ("ifname with a space", {"CNI_IFNAME": "eth 0"}, GOOD_CONF, 4),
    ("ifname dot-dot", {"CNI_IFNAME": ".."}, GOOD_CONF, 4),
    ("CNI_ARGS not K=V", {"CNI_ARGS": "MAC"}, GOOD_CONF, 4),
    ("CNI_ARGS unknown key", {"CNI_ARGS": "X=1"}, GOOD_CONF, 4),
    ("CNI_ARGS multicast MAC", {"CNI_ARGS": "MAC=01:00:5e:00:00:01"}, GOOD_CONF, 7),
    ("no network name", {}, '{"cniVersion": "1.0.0", "type": "macvlan"}', 7),
    ("network name with a slash", {}, '{"cniVersion": "1.0.0", "name": "a/b"}', 7),
    ("not JSON", {}, "{'name': 'lan'}", 6),
    ("JSON but not an object", {}, '["lan"]', 6),
    ("trailing garbage", {}, GOOD_CONF + " x", 6),
    ("NaN", {}, '{"cniVersion": "1.0.0", "name": "lan", "mtu": NaN}', 6),
    ("invalid UTF-8", {}, b'{"cniVersion": "1.0.0", "name": "\xff\xfe"}', 7),
    ("unknown version", {}, '{"cniVersion": "9.9.9", "name": "lan"}', 1),
    ("version not a string", {}, '{"cniVersion": 1, "name": "lan"}', 6),
    ("master a path", {}, GOOD_CONF.replace('"p0"', '"../../p0"'), 7),
    ("mode unknown", {}, GOOD_CONF[:-1] + ', "mode": "bridge; rm -rf /"}', 7),
    ("mtu negative", {}, GOOD_CONF[:-1] + ', "mtu": -1}', 7),
    ("mtu huge", {}, GOOD_CONF[:-1] + ', "mtu": 99999999999999999999}', 7),
    ("mac broadcast", {}, GOOD_CONF[:-1] + ', "mac": "ff:ff:ff:ff:ff:ff"}', 7),
    ("ipam type a path", {}, GOOD_CONF[:-1] + ', "ipam": {"type": "../../bin/sh"}}', 7),
    ("ipam absolute path", {}, GOOD_CONF[:-1] + ', "ipam": {"type": "/bin/sh"}}', 7),
    ("ipam dataDir relative", {}, GOOD_CONF[:-1] + ', "ipam": {"type": "x", "dataDir": "d"}}', 7),
    (
        "ipam dataDir dot-dot",
        {},
        GOOD_CONF[:-1] + ', "ipam": {"type": "x", "dataDir": "/a/../b"}}',
        7,
    ),
]


@pytest.mark.parametrize(("what", "env", "stdin", "code"), CNI_CASES, ids=[c[0] for c in CNI_CASES])
def test_cni_refuses_hostile_input_first(
    what: str, env: dict[str, str], stdin: str, code: int
) -> None:
    rc, out, err = run_cni(env, stdin)
    assert rc == 1, (what, out, err)
    assert out.get("code") == code, (what, out)
    assert out.get("msg")
    assert "Traceback" not in err, err


@pytest.mark.parametrize("command", ["VERSION", "DEL", "ADD"])
def test_cni_lone_surrogate_in_the_version(command: str) -> None:
    conf = '{"cniVersion": "\\ud800", "name": "lan"}'
    _rc, out, err = run_cni({"CNI_COMMAND": command}, conf)
    assert "Traceback" not in err, err
    assert out, "no JSON on stdout"
    assert out.get("code") in (None, 1, 6)


def test_cni_deeply_nested_config_is_a_decoding_failure() -> None:
    rc, out, err = run_cni({"CNI_COMMAND": "DEL"}, '{"name": "lan", "x": ' + "[" * 100_000)
    assert rc == 1
    assert out.get("code") == 6, out
    assert "Traceback" not in err


# -- networks (macvlan.network): refused before the store or the kernel is touched --------------
NETWORK_CREATE_CASES: list[tuple[str, dict[str, Any], object]] = [
    ("name empty", {"name": ""}, ""),
    ("name with a slash", {"name": "a/b"}, "a/b"),
    ("name with a space", {"name": "a b"}, "a b"),
    ("name too long", {"name": "n" * 200}, "n" * 200),
    ("name not a str", {"name": b"lan"}, b"lan"),
    ("parent with a slash", {"parent": "a/b"}, "a/b"),
    ("parent too long", {"parent": "p" * 16}, "p" * 16),
    ("subnet not a prefix", {"subnet": "10.0.0.0/33"}, "10.0.0.0/33"),
    ("subnet nonsense", {"subnet": "lan"}, "lan"),
    ("subnet host bits", {"subnet": "10.0.0.1/24"}, "10.0.0.1/24"),
    ("gateway outside", {"gateway": "10.9.9.1"}, "10.9.9.1"),
    ("gateway nonsense", {"gateway": "x"}, "x"),
    ("ip_range outside", {"ip_range": "10.9.0.0/24"}, "10.9.0.0/24"),
    ("aux a bad address", {"aux_addresses": {"a": "10.0.0.300"}}, "10.0.0.300"),
    ("aux outside", {"aux_addresses": {"a": "10.9.0.5"}}, "10.9.0.5"),
    ("mtu low", {"mtu": 10}, 10),
    ("mtu str", {"mtu": "1500"}, "1500"),
    ("mode unknown", {"mode": "bridged"}, "bridged"),
    ("mode source", {"mode": "source"}, "source"),
    ("internal not bool", {"internal": "yes"}, "yes"),
    ("netns with a slash", {"netns": "../x"}, "../x"),
]


@pytest.mark.parametrize(
    ("what", "change", "value"), NETWORK_CREATE_CASES, ids=[c[0] for c in NETWORK_CREATE_CASES]
)
def test_bad_network_create(
    guard: Guard, tmp_path: Any, what: str, change: dict[str, Any], value: object
) -> None:
    from macvlan import Network

    kwargs: dict[str, Any] = {
        "name": "lan",
        "parent": "p0",
        "subnet": "10.0.0.0/24",
        "gateway": "10.0.0.1",
        "store": str(tmp_path / "networks.db"),
    }
    kwargs.update(change)
    refused(lambda: Network.create(**kwargs), guard, value, quote=False)
    assert not (tmp_path / "networks.db").exists()


@pytest.fixture
def network(sandbox: Any, tmp_path: Any) -> Iterator[Any]:
    with lan_network(sandbox, str(tmp_path / "networks.db")) as net:
        yield net


ATTACH_CASES: list[tuple[str, dict[str, Any], object]] = [
    ("namespace with a slash", {"namespace": "../etc"}, "../etc"),
    ("namespace empty", {"namespace": ""}, ""),
    ("namespace int", {"namespace": 5}, 5),
    ("ifname with a slash", {"ifname": "a/b"}, "a/b"),
    ("ifname too long", {"ifname": "e" * 16}, "e" * 16),
    ("ifname None", {"ifname": None}, None),
    ("ip outside the subnet", {"ip": "10.99.0.2"}, "10.99.0.2"),
    ("ip nonsense", {"ip": "ten"}, "ten"),
    ("ip IPv6 on an IPv4 network", {"ip": "fd00::5"}, "fd00::5"),
    ("mac multicast", {"mac": "01:00:5e:00:00:01"}, "01:00:5e:00:00:01"),
    ("mac zero", {"mac": "00:00:00:00:00:00"}, "00:00:00:00:00:00"),
    ("mac nonsense", {"mac": "zz:zz"}, "zz:zz"),
    ("nodad not bool", {"nodad": "yes"}, "yes"),
]


@pytest.mark.live
@pytest.mark.parametrize(
    ("what", "change", "value"), ATTACH_CASES, ids=[c[0] for c in ATTACH_CASES]
)
def test_bad_attach(
    network: Any,
    netns_factory: Any,
    guard: Guard,
    what: str,
    change: dict[str, Any],
    value: object,
) -> None:
    container = netns_factory("mvc")
    kwargs: dict[str, Any] = {"namespace": container, "ifname": "eth0"}
    kwargs.update(change)
    refused(lambda: network.attach(**kwargs), guard, value, quote=False)
    assert network.endpoints() == []


@pytest.mark.parametrize("parent", [1.5, None, b"p0"], ids=repr)
def test_bad_network_parent_type(guard: Guard, tmp_path: Any, parent: object) -> None:
    from macvlan import Network

    store = tmp_path / "networks.db"
    with pytest.raises(TypeError), guard:
        Network.create("lan", parent, subnet="10.0.0.0/24", store=str(store))  # type: ignore[arg-type]
    assert guard.reached == []


# sending only: sockets may be opened, nothing may go out
NETLINK_ONLY = [g for g in GUARDED if g[0] in (NetlinkSocket, socket.socket) and g[1] != "__init__"]


@pytest.mark.live
@pytest.mark.parametrize("ip", ["10.30.0.1", "10.30.0.0", "10.30.0.255"])
def test_attach_reserved_addresses_refused_before_netlink(
    network: Any, netns_factory: Any, ip: str
) -> None:
    """The gateway, network and broadcast addresses are refused (IpamError) after the
    store is read (and a connection opened) but before any netlink request."""
    from macvlan.network.ipam import IpamError

    container = netns_factory("mvc")
    guard = Guard(NETLINK_ONLY)
    with pytest.raises(IpamError, match=ip.replace(".", r"\.")), guard:
        network.attach(container, ip=ip)
    assert guard.reached == []
    assert network.endpoints() == []


# -- the command line: bad arguments are usage errors, before the namespace is opened ----------
# -n names a namespace that does not exist: an error about it would mean the bad
# argument was not looked at first.
CLI_NS = "mvt-nonexistent-cli"
CLI_CASES: list[tuple[list[str], str]] = [
    (["link", "add", "a/b", "--parent", "p0"], "a/b"),
    (["link", "add", "x" * 16, "--parent", "p0"], "x" * 16),
    (["link", "add", "mv0", "--parent", "x/y"], "x/y"),
    (["link", "add", "mv0", "--parent", "p0", "--mtu", "10"], "10"),
    (["link", "add", "mv0", "--parent", "p0", "--mtu", "lots"], "lots"),
    (["link", "add", "mv0", "--parent", "p0", "--mode", "bogus"], "bogus"),
    (["link", "add", "mv0", "--parent", "p0", "--flags", "bogus"], "bogus"),
    (["link", "add", "mv0", "--parent", "p0", "--mac", "zz:zz"], "zz:zz"),
    (["link", "add", "mv0", "--parent", "p0", "--count", "-5"], "-5"),
    (["link", "add", "mv0", "--parent", "p0", "--group", "-1"], "-1"),
    (["link", "add", "mv0", "--parent", "p0", "--netns", "../x"], "../x"),
    (["link", "set", "x" * 128, "--up"], "x" * 128),  # beyond an alternative name
    (["link", "set", "mv0", "--name", "a:b"], "a:b"),
    (["link", "del", "a b"], "a b"),
]


def run_cli(*args: str) -> tuple[int, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": ROOT}
    done = subprocess.run(
        [sys.executable, "-m", "macvlan", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stderr


@pytest.mark.parametrize(("args", "value"), CLI_CASES, ids=[" ".join(c[0])[:40] for c in CLI_CASES])
def test_cli_bad_arguments_are_usage_errors(args: list[str], value: str) -> None:
    rc, err = run_cli("-n", CLI_NS, *args)
    assert rc == 2, err
    assert value in err, err
    assert CLI_NS not in err  # the namespace was never looked for
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["../x", "", "a/b", "x" * 256])
def test_cli_bad_namespace_names_are_usage_errors(name: str) -> None:
    for args in (("-n", name, "link", "list"), ("netns", "add", name), ("netns", "del", name)):
        rc, err = run_cli(*args)
        assert rc == 2, (args, err)
        assert "Traceback" not in err
    assert name == "" or name not in Namespace.list()


@pytest.mark.live
def test_cli_multicast_mac_is_refused_and_nothing_made(sandbox: Any) -> None:
    rc, err = run_cli(
        "-n", sandbox.name, "link", "add", "mv0", "--parent", "p0", "--mac", "01:00:5e:00:00:01"
    )
    assert rc in (1, 2), err
    assert "01:00:5e:00:00:01" in err
    assert "Traceback" not in err
    assert "mv0" not in {x.name for x in sandbox.rt.links()}
