"""The ICMP echo in macvlan.icmp, run inside throw-away namespaces."""

from __future__ import annotations

import errno
import subprocess
import time
from typing import Any

import pytest

from macvlan.icmp import PingResult, _checksum, ping


def test_checksum_matches_rfc1071_example() -> None:
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 -> checksum 220d
    assert _checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    # odd length is padded with a zero byte
    assert _checksum(b"\x01") == _checksum(b"\x01\x00")


def test_result_statistics() -> None:
    r = PingResult("10.0.0.1", (0.001, None, 0.003))
    assert (r.sent, r.received) == (3, 2)
    assert r.loss == pytest.approx(1 / 3)
    assert r.min_ms == pytest.approx(1.0)
    assert r.max_ms == pytest.approx(3.0)
    assert r.avg_ms == pytest.approx(2.0)
    lost = PingResult("10.0.0.1", (None,))
    assert lost.loss == 1.0 and lost.avg_ms is None


@pytest.mark.parametrize(
    ("host", "kwargs", "error"),
    [
        ("example.com", {}, ValueError),
        ("10.0.0.300", {}, ValueError),
        (1234, {}, TypeError),
        ("10.0.0.1", {"count": 0}, ValueError),
        ("10.0.0.1", {"count": True}, TypeError),
        ("10.0.0.1", {"size": 4}, ValueError),
        ("10.0.0.1", {"timeout": 0}, ValueError),
        ("10.0.0.1", {"interval": -1}, ValueError),
        ("fe80::1", {}, ValueError),  # link-local without an interface
    ],
)
def test_bad_arguments_are_refused_before_sending(
    host: object, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        ping(host, **kwargs)
    if isinstance(host, str) and error is ValueError and not kwargs:
        assert host in str(info.value)


def _two_ends(sandbox: Any, netns_factory: Any) -> Any:
    """Move p1 into a second namespace so the echo crosses the veth pair."""
    other = netns_factory("mvt")
    rt = sandbox.rt
    rt.add_address("p0", "10.9.0.1/24")
    rt.add_address("p0", "fd09::1/64", nodad=True)
    rt.set_link("p1", netns=other)
    with other.connect() as there:
        there.set_link("p1", up=True)
        there.set_link("lo", up=True)
        there.add_address("p1", "10.9.0.2/24")
        there.add_address("p1", "fd09::2/64", nodad=True)
        _wait_up(there, "p1")
    _wait_up(rt, "p0")
    return other


def _wait_up(rt: Any, name: str) -> None:
    """Until the link-watch work has run, a link that just got its carrier drops packets."""
    from macvlan.link import OperState

    for _ in range(300):
        if rt.link(name).operstate == OperState.UP:
            return
        time.sleep(0.01)
    raise AssertionError(f"{name} did not come up")


def _warm(ns: Any, host: str) -> None:
    """Resolve the neighbour first: on a link that just came up the first ARP or NDP
    solicitation can go unanswered, and the kernel repeats it only after a second."""
    assert ns.run(ping, host, count=1, timeout=3.0).received == 1


def test_ping_across_a_veth_pair(sandbox: Any, netns_factory: Any) -> None:
    other = _two_ends(sandbox, netns_factory)
    _warm(sandbox.ns, "10.9.0.2")
    result = sandbox.ns.run(ping, "10.9.0.2", count=3, interval=0.01)
    assert isinstance(result, PingResult)
    assert result.host == "10.9.0.2"
    assert result.received == 3 and result.loss == 0.0
    assert all(rtt is not None and 0 < rtt < 1.0 for rtt in result.rtts)
    back = other.run(ping, "10.9.0.1", count=2, interval=0.0)
    assert back.received == 2
    # the oracle agrees that the far end answers
    out = subprocess.run(
        ["ip", "netns", "exec", sandbox.name, "ping", "-c1", "-W1", "10.9.0.2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_ping_ipv6(sandbox: Any, netns_factory: Any) -> None:
    _two_ends(sandbox, netns_factory)
    _warm(sandbox.ns, "fd09::2")
    result = sandbox.ns.run(ping, "fd09::2", count=2, interval=0.01)
    assert result.received == 2
    assert result.host == "fd09::2"


def test_ping_ipv6_link_local_needs_the_interface(sandbox: Any, netns_factory: Any) -> None:
    other = _two_ends(sandbox, netns_factory)
    with other.connect() as there:
        peer_mac = there.link("p1").mac
    assert peer_mac is not None
    target = peer_mac.ipv6_link_local()
    # link-local addresses go through DAD even when global ones skip it: retry briefly
    for _ in range(40):
        result = sandbox.ns.run(ping, str(target), count=1, timeout=0.1, interface="p0")
        if result.received:
            break
    assert result.received == 1


def test_silent_host_counts_as_lost(sandbox: Any, netns_factory: Any) -> None:
    _two_ends(sandbox, netns_factory)
    result = sandbox.ns.run(ping, "10.9.0.77", count=2, timeout=0.2, interval=0.0)
    assert result.rtts == (None, None)
    assert result.loss == 1.0 and result.received == 0


def test_no_route_raises(sandbox: Any) -> None:
    with pytest.raises(OSError) as info:
        sandbox.ns.run(ping, "10.250.0.1", count=1, timeout=0.2)
    assert info.value.errno == errno.ENETUNREACH


def _set_ping_group_range(value: str) -> None:
    with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:
        f.write(value)


def test_unprivileged_datagram_socket(sandbox: Any, netns_factory: Any) -> None:
    other = _two_ends(sandbox, netns_factory)
    # a fresh namespace allows no group to open ICMP datagram sockets ("1 0")
    with pytest.raises(PermissionError, match="ping_group_range"):
        sandbox.ns.run(ping, "10.9.0.2", count=1, unprivileged=True)
    _warm(sandbox.ns, "10.9.0.2")
    _warm(sandbox.ns, "fd09::2")
    sandbox.ns.run(_set_ping_group_range, "0 2147483647")
    result = sandbox.ns.run(ping, "10.9.0.2", count=2, interval=0.0, unprivileged=True)
    assert result.received == 2
    result6 = sandbox.ns.run(ping, "fd09::2", count=1, unprivileged=True)
    assert result6.received == 1
    # the sysctl is per namespace: the other end is still closed
    with pytest.raises(PermissionError):
        other.run(ping, "10.9.0.1", count=1, unprivileged=True)
