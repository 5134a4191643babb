"""Kernel refusals and other people's changes, live (issue 8, reliability).

Root only; everything happens in throw-away namespaces (``sandbox``: veth p0/p1,
both up, and ``sandbox.rt`` inside).  ``ip`` plays "someone else": it changes links
behind the library's back, between a lookup and the change that follows it.
Every scenario ends by checking that the connection still works.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from support import ip_json

import macvlan
from macvlan import MacvlanMode, Namespace
from macvlan._netlink import ifla, requests
from macvlan._netlink.constants import RtmType
from macvlan.errors import AddressInUse, LinkNotFound, NetlinkError
from macvlan.link import Link, MacvlanSpec, set_link

pytestmark = [
    pytest.mark.live,
]

T = TypeVar("T")


def no_hang(fn: Callable[[], T], timeout: float = 20.0) -> T:
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it does not end."""
    outcome: list[tuple[T | None, BaseException | None]] = []

    def target() -> None:
        try:
            outcome.append((fn(), None))
        except BaseException as exc:
            outcome.append((None, exc))

    thread = threading.Thread(target=target, daemon=True)  # a hung one dies with us
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{fn} still running after {timeout} s"
    ((value, error),) = outcome
    if error is not None:
        raise error
    return value  # type: ignore[return-value]


def ip(sb: Any, *args: str) -> None:
    """Someone else changing things: ``ip -n NS ...``."""
    subprocess.run(["ip", "-n", sb.name, *args], check=True, capture_output=True)


def ip_names(netns: str) -> set[str]:
    return {e["ifname"] for e in ip_json("link", "show", netns=netns)}


def peer_goes_with_the_orphan(sb: Any, peer: str) -> None:
    """The orphaned namespace dies with its last socket, taking the veth whose peer
    ``peer`` is in ``sb``; then the sandbox's connection is still usable."""
    deadline = time.monotonic() + 10
    while peer in ip_names(sb.name):
        assert time.monotonic() < deadline, "orphaned namespace outlived its last socket"
        time.sleep(0.05)
    still_usable(sb)


def still_usable(sb: Any) -> None:
    """The connection answers, creates, changes and deletes after the fault."""
    rt = sb.rt
    assert rt.link("p0").name == "p0"
    made = rt.create_macvlan("mvok", "p0", mtu=1400)
    assert rt.set_link(made, up=True).up
    rt.delete_link("mvok")
    assert "mvok" not in ip_names(sb.name)


@pytest.fixture
def after(sandbox: Any) -> Iterator[Any]:
    """The sandbox, checked for usability once the test body is done."""
    yield sandbox
    still_usable(sandbox)


# -- refusals the kernel makes ---------------------------------------------------------------
def test_bad_parent_name_is_link_not_found(after: Any) -> None:
    with pytest.raises(LinkNotFound) as info:
        after.rt.create_macvlan("mv0", "nosuchparent")
    assert info.value.errno == errno.ENODEV
    assert "nosuchparent" in str(info.value)
    assert "mv0" not in ip_names(after.name)


def test_parent_index_that_does_not_exist_is_link_not_found(after: Any) -> None:
    with pytest.raises(LinkNotFound):
        after.rt.create_macvlan("mv0", 999_999)
    assert "mv0" not in ip_names(after.name)


@pytest.mark.parametrize("when", ["create", "change"])
def test_mtu_above_the_parent_is_einval_and_says_why(after: Any, when: str) -> None:
    rt = after.rt
    if when == "create":
        with pytest.raises(NetlinkError) as info:
            rt.create_macvlan("mv0", "p0", mtu=1501)
    else:
        rt.create_macvlan("mv0", "p0", mtu=1400)
        with pytest.raises(NetlinkError) as info:
            rt.set_link("mv0", mtu=1501)
        assert rt.link("mv0").mtu == 1400
    assert type(info.value) is NetlinkError
    assert info.value.errno == errno.EINVAL
    # the kernel sends no extended ack for this one: its text is strerror alone,
    # and the library adds the reason it found by looking at the parent
    assert info.value.ext_ack == ""
    assert "Invalid argument" in str(info.value)
    assert "mtu 1501 is above the mtu 1500 of the parent 'p0'" in str(info.value)


@pytest.mark.parametrize("when", ["create", "change"])
def test_mtu_above_the_ethernet_maximum_is_refused_before_sending(after: Any, when: str) -> None:
    rt = after.rt
    if when == "create":
        with pytest.raises(ValueError, match=r"mtu=70000 is outside 68\.\.65535"):
            rt.create_macvlan("mv0", "p0", mtu=70000)
        assert "mv0" not in ip_names(after.name)
    else:
        rt.create_macvlan("mv0", "p0")
        with pytest.raises(ValueError, match=r"mtu=70000 is outside 68\.\.65535"):
            rt.set_link("mv0", mtu=70000)
        assert rt.link("mv0").mtu == 1500


def test_mtu_above_the_device_maximum_carries_the_kernels_text(after: Any) -> None:
    """Sent anyway (the request layer lays out what it is given), the kernel's own
    words come back in the error."""
    rt = after.rt
    index = rt.create_macvlan("mv0", "p0").index
    with pytest.raises(NetlinkError) as info:
        rt._sock.request(requests.set_link(index, mtu=70000), "change link 'mv0'")
    assert info.value.errno == errno.EINVAL
    assert info.value.ext_ack == "mtu greater than device maximum"
    assert str(info.value).endswith("Invalid argument: mtu greater than device maximum")


def test_duplicate_mac_on_a_parent_both_up_is_address_in_use(after: Any) -> None:
    rt = after.rt
    mac = "02:00:5e:10:00:01"
    first = rt.create_macvlan("mva", "p0", mac=mac, up=True)
    with pytest.raises(AddressInUse) as info:
        rt.create_macvlan("mvb", "p0", mac=mac, up=True)
    assert info.value.errno == errno.EADDRINUSE
    assert "mvb" not in ip_names(after.name)
    # the same clash reached by changing a MAC: refused, and nothing else changed
    rt.create_macvlan("mvc", "p0", mtu=1400, up=True)
    before = rt.link("mvc")
    with pytest.raises(AddressInUse):
        rt.set_link("mvc", mac=mac, mtu=1300, name="mvd")
    now = rt.link("mvc")
    assert (now.mac, now.mtu, now.name) == (before.mac, before.mtu, "mvc")
    assert rt.link(first.index).mac == first.mac


def test_duplicate_mac_is_accepted_while_one_is_down(after: Any) -> None:
    """The kernel checks only links that are up (what the fact sheet says)."""
    rt = after.rt
    mac = "02:00:5e:10:00:02"
    rt.create_macvlan("mva", "p0", mac=mac, up=True)
    down = rt.create_macvlan("mvb", "p0", mac=mac)
    assert str(down.mac) == mac
    with pytest.raises(AddressInUse):
        rt.set_link("mvb", up=True)
    assert not rt.link("mvb").up


def test_mode_change_into_passthru(after: Any) -> None:
    rt = after.rt
    link = rt.create_macvlan("mv0", "p0", MacvlanMode.BRIDGE)
    # the library knows the kernel's answer and refuses before sending ...
    with pytest.raises(ValueError, match="passthru"):
        rt.set_link("mv0", mode=MacvlanMode.PASSTHRU)
    # ... which is EINVAL when the request is sent anyway
    data = ifla.INFO_DATA([ifla.MACVLAN_MODE(MacvlanMode.PASSTHRU)])
    message = set_link(link.index, attrs=[ifla.LINKINFO([ifla.INFO_KIND("macvlan"), data])])
    with pytest.raises(NetlinkError) as info:
        rt._sock.request(message, "raw mode change")
    assert info.value.errno == errno.EINVAL
    after_link = rt.link("mv0")
    assert after_link.macvlan is not None
    assert after_link.macvlan.mode == MacvlanMode.BRIDGE


# -- the world changing underneath -----------------------------------------------------------
def test_parent_deleted_under_a_macvlan_takes_it_away(after: Any) -> None:
    rt = after.rt
    mv = rt.create_macvlan("mv0", "p0", up=True)
    rt.create_macvtap("mt0", "p0")
    rt.delete_link("p0")  # the veth pair goes, p1 with it
    for name in ("mv0", "mt0", "p0", "p1"):
        with pytest.raises(LinkNotFound):
            rt.link(name)
    with pytest.raises(LinkNotFound):
        rt.link(mv.index)
    with pytest.raises(LinkNotFound):
        rt.set_link(mv.index, up=False)
    assert ip_names(after.name) == {"lo"}
    rt.create_veth("p0", "p1", up=True)  # for still_usable()
    rt.set_link("p1", up=True)


def test_parent_deleted_by_someone_else_between_lookup_and_create(
    after: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = after.rt
    # a parent given by name is looked up by SIOCGIFINDEX (index_of), then created on
    calls = interfere_after_lookup(
        monkeypatch, rt, "index_of", lambda: ip(after, "link", "del", "p0")
    )
    with pytest.raises(LinkNotFound):
        no_hang(lambda: rt.create_macvlan("mv0", "p0"))
    assert calls
    assert "mv0" not in ip_names(after.name)
    monkeypatch.undo()
    rt.create_veth("p0", "p1", up=True)
    rt.set_link("p1", up=True)


def interfere_after_lookup(
    monkeypatch: pytest.MonkeyPatch, rt: Any, method: str, action: Callable[[], None]
) -> list[int]:
    """Run ``action`` once, right after the connection's first link lookup returned.

    ``method`` is the socket call that carries it: ``"index_of"`` for a name turned
    into an index, ``"request"`` for a lookup of a whole link by name or index,
    ``"dump_parsed"`` for a listing of links.  Wrapping the socket (not Connection
    methods) keeps this independent of how the connection is organised.
    """
    sock = rt._sock
    real = getattr(sock, method)
    calls: list[int] = []

    def wrapped(message: Any, *args: Any, **kwargs: Any) -> Any:
        result = real(message, *args, **kwargs)
        lookup = method == "index_of" or message.type == RtmType.GETLINK
        if lookup and not calls:
            calls.append(1)
            action()
        return result

    monkeypatch.setattr(sock, method, wrapped)
    return calls


def test_link_deleted_between_lookup_and_change(
    after: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = after.rt
    rt.create_macvlan("mv0", "p0")
    calls = interfere_after_lookup(
        monkeypatch, rt, "request", lambda: ip(after, "link", "del", "mv0")
    )
    with pytest.raises(LinkNotFound):
        no_hang(lambda: rt.set_link("mv0", mtu=1400, up=True))
    assert calls  # the lookup did happen before the deletion
    monkeypatch.undo()
    assert "mv0" not in ip_names(after.name)


def test_link_deleted_between_lookup_and_mode_change(
    after: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = after.rt
    rt.create_macvlan("mv0", "p0", MacvlanMode.BRIDGE)
    calls = interfere_after_lookup(
        monkeypatch, rt, "request", lambda: ip(after, "link", "del", "mv0")
    )
    with pytest.raises(LinkNotFound):
        no_hang(lambda: rt.set_link("mv0", mode=MacvlanMode.PRIVATE))
    assert calls
    monkeypatch.undo()


def test_link_renamed_between_lookup_and_change(
    after: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found out: the change lands on the link that was looked up (by its index, as
    ``ip link set`` does), now under its new name; the new name is what comes back."""
    rt = after.rt
    mv = rt.create_macvlan("mv0", "p0")
    calls = interfere_after_lookup(
        monkeypatch, rt, "request", lambda: ip(after, "link", "set", "mv0", "name", "mvx")
    )
    changed = no_hang(lambda: rt.set_link("mv0", mtu=1400))
    assert calls
    monkeypatch.undo()
    assert (changed.index, changed.name, changed.mtu) == (mv.index, "mvx", 1400)
    with pytest.raises(LinkNotFound):
        rt.link("mv0")
    (entry,) = ip_json("link", "show", "dev", "mvx", netns=after.name)
    assert entry["mtu"] == 1400


def test_link_renamed_before_a_change_by_name(after: Any) -> None:
    rt = after.rt
    rt.create_macvlan("mv0", "p0")
    ip(after, "link", "set", "mv0", "name", "mvx")
    for call in (
        lambda: rt.set_link("mv0", up=True),
        lambda: rt.delete_link("mv0"),
        lambda: rt.add_address("mv0", "10.9.0.2/24"),
    ):
        with pytest.raises(LinkNotFound):
            call()
    rt.delete_link("mvx")


def test_link_deleted_between_dump_and_batch_delete(
    after: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """delete_links dumps, regroups, then deletes the group: a link that vanishes
    in between is LinkNotFound, and the others are left as they were."""
    rt = after.rt
    for name in ("mva", "mvb", "mvc"):
        rt.create_macvlan(name, "p0")
    calls = interfere_after_lookup(
        monkeypatch, rt, "dump_parsed", lambda: ip(after, "link", "del", "mvb")
    )
    with pytest.raises(LinkNotFound):
        no_hang(lambda: rt.delete_links(["mva", "mvb", "mvc"]))
    assert calls
    monkeypatch.undo()
    survivors = {x.name: x for x in rt.links(kind="macvlan")}
    assert set(survivors) == {"mva", "mvc"}
    assert {x.group for x in survivors.values()} == {0}  # the regrouping was undone
    calls = interfere_after_lookup(
        monkeypatch, rt, "dump_parsed", lambda: ip(after, "link", "del", "mva")
    )
    assert rt.delete_links(["mva", "mvc"], missing_ok=True) == 1
    assert calls
    monkeypatch.undo()
    assert not rt.links(kind="macvlan")


def test_link_moved_away_by_someone_else(
    after: Any, netns_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = after.rt
    other = netns_factory("mvt")
    rt.create_macvlan("mv0", "p0")
    calls = interfere_after_lookup(
        monkeypatch,
        rt,
        "request",
        lambda: ip(after, "link", "set", "mv0", "netns", str(other.name)),
    )
    with pytest.raises(LinkNotFound):
        no_hang(lambda: rt.set_link("mv0", up=True))
    assert calls
    monkeypatch.undo()
    assert "mv0" in ip_names(str(other.name))


# -- the namespace deleted while a connection is open in it ---------------------------------------
def test_namespace_deleted_under_an_open_connection(sandbox: Any, netns_factory: Any) -> None:
    """Found out: the socket keeps the namespace alive.  Netlink requests keep
    working on the orphaned namespace (no hang, no error); what needs the deleted
    Namespace's descriptor (watch(), creating or moving into it) is refused with
    ValueError "operation on closed namespace"; closing the connection lets the
    namespace die, with its links."""
    doomed = netns_factory("mvt")
    name = str(doomed.name)
    rt = macvlan.connect(doomed)
    try:
        rt.create_veth("x0", "x1", peer_netns=sandbox.ns, up=True)
        doomed.delete()
        assert name not in Namespace.list()
        listed = subprocess.run(["ip", "netns", "list"], check=True, capture_output=True, text=True)
        assert name not in listed.stdout
        # netlink work goes on in the orphan
        links = no_hang(rt.links)
        assert {x.name for x in links} == {"lo", "x0"}
        made = no_hang(lambda: rt.create_macvlan("mv0", "x0", up=True))
        assert no_hang(lambda: rt.set_link(made, mtu=1400)).mtu == 1400
        no_hang(lambda: rt.delete_link("mv0"))
        # what needs the namespace's own descriptor is a clear error
        for call in (
            rt.watch,
            lambda: sandbox.rt.create_macvlan("mvz", "p0", netns=doomed),
            lambda: sandbox.rt.set_link("p1", netns=doomed),
        ):
            with pytest.raises(ValueError, match="closed namespace"):
                no_hang(call)
        assert "mvz" not in ip_names(sandbox.name)
        assert "x1" in ip_names(sandbox.name)
    finally:
        rt.close()
    # the last reference is gone: the namespace dies, and x0 takes its peer with it
    peer_goes_with_the_orphan(sandbox, "x1")


def test_namespace_deleted_by_ip_under_a_connection_opened_by_name(
    sandbox: Any, netns_factory: Any
) -> None:
    """A connection opened by name holds its own descriptor: even watch() goes on."""
    doomed = netns_factory("mvt")
    name = str(doomed.name)
    doomed.close()  # our own descriptor would keep the namespace alive
    rt = macvlan.connect(name)
    try:
        rt.create_veth("y0", "y1", peer_netns=sandbox.ns, up=True)
        subprocess.run(["ip", "netns", "del", name], check=True)
        assert name not in Namespace.list()
        with no_hang(rt.watch) as monitor:
            no_hang(lambda: rt.set_link("y0", mtu=1400))
            events = no_hang(lambda: monitor.poll(2.0))
        assert any(getattr(e, "link", None) and e.link.name == "y0" for e in events)
        assert {x.name for x in no_hang(rt.links)} == {"lo", "y0"}
    finally:
        rt.close()
    peer_goes_with_the_orphan(sandbox, "y1")


def test_reopening_a_deleted_namespace_by_name_is_namespace_not_found(netns_factory: Any) -> None:
    doomed = netns_factory("mvt")
    name = str(doomed.name)
    doomed.delete()
    with pytest.raises(FileNotFoundError, match=name):
        macvlan.connect(name)


def test_link_snapshot_survives_its_link(after: Any) -> None:
    """A Link is a snapshot: using it after the link is gone is LinkNotFound."""
    rt = after.rt
    link: Link = rt.create_macvlan("mv0", "p0")
    rt.delete_link(link)
    for call in (
        lambda: rt.link(link),
        lambda: rt.set_link(link, up=True),
        lambda: rt.delete_link(link),
        lambda: rt.create_macvlan("mv1", link),
    ):
        with pytest.raises(LinkNotFound):
            call()
    rt.delete_link(link, missing_ok=True)


# -- other writers in the same namespace ----------------------------------------------------
def test_delete_links_while_another_writer_churns_the_namespace(after: Any) -> None:
    rt = after.rt
    # a namespace with a few hundred links: its dump takes many parts
    rt.create_macvlans(MacvlanSpec(f"s{i}", "p0") for i in range(300))
    # someone else (ip, another process) keeps adding 100 links and dropping them
    batch = "".join(f"link add c{i} link p0 group 777 type macvlan\n" for i in range(100))
    script = (
        f"while :; do printf '{batch}' | ip -n {after.name} -batch - >/dev/null 2>&1; "
        f"ip -n {after.name} link del group 777 >/dev/null 2>&1; done"
    )
    writer = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    try:
        time.sleep(0.3)
        for round_ in range(10):
            ours = [f"o{round_}x{i}" for i in range(30)]
            rt.create_macvlans(MacvlanSpec(name, "p0") for name in ours)
            assert no_hang(lambda names=ours: rt.delete_links(names)) == len(ours)
    finally:
        os.killpg(writer.pid, signal.SIGTERM)
        writer.wait(10)
        subprocess.run(["ip", "-n", after.name, "link", "del", "group", "777"], check=False)
