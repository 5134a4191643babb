"""The sans-IO operations of macvlan._operations, driven by a scripted fake kernel (no root).

Each test lists the effects an operation must yield, in order, with the answer the
fake gives (a value sent back, or an exception thrown in at that ``yield``), and
checks what the operation finally returns or raises.  This shows the rollback
paths run from errors thrown into the generators, exactly as the real drivers
(sync and asyncio) throw the kernel's errors.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from macvlan import _operations as _ops
from macvlan._netlink import ifla
from macvlan._netlink.constants import MacaddrMode, NlmF, RtmType
from macvlan._netlink.message import Message, encode, iter_messages
from macvlan._netlink.structs import IfInfoMsg
from macvlan._operations import (
    Batch,
    IfIndex,
    InNamespace,
    ParsedBatch,
    ParsedDump,
    ParsedRequest,
    Request,
)
from macvlan._operations import routing as _ops_routing
from macvlan.errors import LinkExists, LinkNotFound, NetlinkError, error_for
from macvlan.link import MacvlanMode, MacvlanSpec
from macvlan.mac import MacAddress
from macvlan.namespace import Namespace


# -- a fake kernel -------------------------------------------------------------------------
def link_message(
    index: int,
    name: str,
    *,
    kind: str | None = "macvlan",
    parent: int | None = 2,
    group: int = 0,
    mtu: int = 1500,
    mode: MacvlanMode = MacvlanMode.BRIDGE,
    sources: tuple[MacAddress, ...] = (),
    flags: int = 0,
) -> Message:
    """A decoded RTM_NEWLINK as the kernel would send it (encoded, then decoded)."""
    attrs: list[Any] = [ifla.IFNAME(name), ifla.MTU(mtu), ifla.GROUP(group)]
    if not flags & 0x8:  # IFF_LOOPBACK: lo has a 6-byte all-zero address too
        attrs.append(ifla.ADDRESS(bytes([2, 0, 0, 0, 0, index & 0xFF])))
    else:
        attrs.append(ifla.ADDRESS(bytes(6)))
    if parent is not None:
        attrs.append(ifla.LINK(parent))
    if kind is not None:
        info: list[Any] = [ifla.INFO_KIND(kind)]
        if kind in ("macvlan", "macvtap"):
            data: list[Any] = [ifla.MACVLAN_MODE(mode)]
            if sources:
                data.append(
                    ifla.MACVLAN_MACADDR_DATA([ifla.MACADDRS_MACADDR(m.packed) for m in sources])
                )
            info.append(ifla.INFO_DATA(data))
        attrs.append(ifla.LINKINFO(info))
    raw = encode([Message(RtmType.NEWLINK, 0, 1, 0, IfInfoMsg(index=index, flags=flags), attrs)])
    (decoded,) = iter_messages(raw)
    assert isinstance(decoded, Message)
    return decoded


P0 = link_message(2, "p0", kind="veth", parent=3)


def decoded(message: Message) -> Message:
    """An outgoing message as the kernel would read it (nested attributes decoded)."""
    (out,) = iter_messages(encode([message]))
    assert isinstance(out, Message)
    return out


def source_change(message: Message) -> tuple[int, bytes]:
    data = decoded(message).get(ifla.LINKINFO).get(ifla.INFO_DATA)
    return data.get(ifla.MACVLAN_MACADDR_MODE), data.get(ifla.MACVLAN_MACADDR)


@dataclass
class Step:
    """One expected effect: ``check`` must hold for it; then send ``answer`` or throw ``error``."""

    check: Callable[[Any], bool]
    answer: Any = None
    error: BaseException | None = None


def ask(kind: type, check: Callable[[Any], bool] = lambda e: True, **kw: Any) -> Step:
    return Step(lambda e: isinstance(e, kind) and check(e), **kw)


def drive(op: _ops.Op[Any], script: list[Step], *, interrupt: BaseException | None = None) -> Any:
    """Run ``op`` against ``script``; InNamespace sub-operations are driven inline
    from the same script.  Every step must be used.

    ``interrupt`` is thrown in at the first InNamespace effect instead of running it,
    as the asyncio driver delivers a cancellation at the next step.
    """
    steps = iter(script)
    pending = [interrupt] if interrupt is not None else []

    def run(gen: _ops.Op[Any]) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = gen.send(value) if error is None else gen.throw(error)
            except StopIteration as done:
                return done.value
            value = error = None
            if isinstance(effect, InNamespace) and pending:
                error = pending.pop()
                continue
            if isinstance(effect, InNamespace):
                try:
                    value = run(effect.op)
                except BaseException as exc:
                    error = exc
                continue
            step = next(steps, None)
            assert step is not None, f"unexpected effect {effect!r}"
            assert step.check(effect), f"effect {effect!r} is not what the script expected"
            value, error = step.answer, step.error
            if isinstance(effect, ParsedDump | ParsedRequest) and error is None:
                value = effect.build(value)  # the messages scripted, as values
            elif isinstance(effect, ParsedBatch) and error is None:
                value = [(effect.build(replies), err) for replies, err in value]

    try:
        result = run(op)
    except BaseException as exc:
        left = list(steps)
        assert not left, f"{len(left)} scripted steps not reached; it raised {exc!r}"
        raise
    left = list(steps)
    assert not left, f"{len(left)} scripted steps were not reached"
    return result


def is_type(mtype: RtmType) -> Callable[[Any], bool]:
    return lambda e: e.message.type == mtype


def names_in(batch: Batch | ParsedBatch) -> list[str]:
    return [str(m.get(ifla.IFNAME)) for m in batch.messages]


# -- input is refused before the first effect ------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: _ops.create_macvlan("bad/name", "p0"),
        lambda: _ops.create_macvlan("mv0", 2.5),
        lambda: _ops.create_macvlan("mv0", "p0", mac="ff:ff:ff:ff:ff:ff"),
        lambda: _ops.create_macvlans([MacvlanSpec("ok", "p0"), MacvlanSpec("ok", "p0")]),
        lambda: _ops.create_macvlans([MacvlanSpec("a", "p0"), MacvlanSpec("b", None)]),
        lambda: _ops.set_link("p0", mtu=10),
        lambda: _ops.delete_links(["p0", "x" * 128]),  # 127 bytes for an alternative name
        lambda: _ops.add_address("p0", "10.0.0.300/24"),
        lambda: _ops_routing.add_route("default"),
        lambda: _ops.link(0),
    ],
)
def test_bad_input_raises_before_any_effect(make: Callable[[], _ops.Op[Any]]) -> None:
    op = make()
    with pytest.raises((ValueError, TypeError)):
        op.send(None)


def test_a_parent_of_a_later_spec_is_checked_before_the_first_lookup() -> None:
    op = _ops.create_macvlans([MacvlanSpec("a", "p0"), MacvlanSpec("b", 1.5)])
    with pytest.raises(TypeError, match=r"1\.5"):
        op.send(None)  # the first spec's parent "p0" was not looked up yet


# -- create ------------------------------------------------------------------------------------
def test_create_uses_the_echo_and_sends_nothing_else() -> None:
    echoed = link_message(7, "mv0")

    def create(e: ParsedRequest) -> bool:
        return (
            e.message.type == RtmType.NEWLINK
            and bool(e.message.flags & NlmF.ECHO)
            and e.message.get(ifla.LINK) == 2
        )

    made = drive(
        _ops.create_macvlan("mv0", "p0"),
        [
            ask(IfIndex, lambda e: e.name == "p0", answer=2),  # the parent's name: no round trip
            ask(ParsedRequest, create, answer=[echoed]),
        ],
    )
    assert (made.index, made.name, made.parent_index) == (7, "mv0", 2)


def test_a_parent_name_not_found_is_link_not_found_and_nothing_is_sent() -> None:
    with pytest.raises(LinkNotFound):
        drive(
            _ops.create_macvlan("mv0", "nope"),
            [ask(IfIndex, lambda e: e.name == "nope", error=error_for(errno.ENODEV))],
        )


def test_create_without_echo_reads_the_link_back() -> None:
    back = link_message(7, "mv0")
    made = drive(
        _ops.create_macvlan("mv0", 2),
        [ask(ParsedRequest, is_type(RtmType.NEWLINK), answer=[]), ask(Request, answer=[back])],
    )
    assert made.index == 7


def test_einval_is_explained_with_lookups_after_the_failure() -> None:
    passthru = link_message(9, "pt0", mode=MacvlanMode.PASSTHRU)
    with pytest.raises(NetlinkError, match="already has the passthru macvlan 'pt0'") as info:
        drive(
            _ops.create_macvlan("mv0", 2),
            [
                ask(ParsedRequest, is_type(RtmType.NEWLINK), error=error_for(errno.EINVAL)),
                ask(Request, is_type(RtmType.GETLINK), answer=[P0]),
                ask(ParsedDump, answer=[P0, passthru]),
            ],
        )
    assert info.value.errno == errno.EINVAL


def test_einval_on_a_parent_that_is_not_ethernet_says_so() -> None:
    lo = link_message(1, "lo", flags=0x8 | 0x1)  # IFF_LOOPBACK | IFF_UP
    with pytest.raises(NetlinkError, match="parent 'lo' is not an Ethernet device") as info:
        drive(
            _ops.create_macvlan("mv0", 1, mode=MacvlanMode.PASSTHRU),
            [
                ask(ParsedRequest, is_type(RtmType.NEWLINK), error=error_for(errno.EINVAL)),
                ask(Request, is_type(RtmType.GETLINK), answer=[lo]),
                ask(ParsedDump, answer=[lo]),
            ],
        )
    assert info.value.errno == errno.EINVAL
    assert "passthru" not in str(info.value)


class FakeNamespace:
    """Stands in for a Namespace: create_there only needs fd, name and path."""

    fd = 99
    name = "far"
    path = "/run/netns/far"


def test_create_there_deletes_the_temporary_link_when_the_rename_fails() -> None:
    ns: Any = FakeNamespace()
    seen: dict[str, str] = {}

    def temp_create(e: Request) -> bool:
        seen["temp"] = str(e.message.get(ifla.IFNAME))
        return e.message.get(ifla.NET_NS_FD) == 99 and seen["temp"].startswith("mvtmp")

    def rename(e: Request) -> bool:
        return e.message.get(ifla.IFNAME) == "mv0"

    def delete_temp(e: Request) -> bool:
        return e.message.type == RtmType.DELLINK and e.message.get(ifla.IFNAME) == seen["temp"]

    spec = MacvlanSpec("mv0", 2, up=True)
    with pytest.raises(LinkExists):
        drive(
            _ops.create_there(spec, 2, ns),
            [
                ask(Request, temp_create, answer=[]),
                ask(Request, is_type(RtmType.GETLINK), answer=[link_message(4, "mvtmp0")]),
                ask(Request, rename, error=error_for(errno.EEXIST, message_type=RtmType.NEWLINK)),
                ask(Request, delete_temp, answer=[]),
            ],
        )


def test_create_macvlans_rolls_back_what_it_made_when_one_fails() -> None:
    specs = [MacvlanSpec(f"bulk{i}", 2) for i in range(4)]
    made = [link_message(10 + i, f"bulk{i}") for i in range(4)]
    results = [
        ([made[0]], None),
        ([made[1]], None),
        ([], error_for(errno.EEXIST, message_type=RtmType.NEWLINK)),
        ([made[3]], None),
    ]
    groups: dict[str, int] = {}

    def regroup(e: Batch) -> bool:
        groups["new"] = e.messages[0].get(ifla.GROUP)
        return len(e.messages) == 3 and all(m.get(ifla.GROUP) == groups["new"] for m in e.messages)

    def delete_group(e: Request) -> bool:
        return e.message.type == RtmType.DELLINK and e.message.get(ifla.GROUP) == groups["new"]

    with pytest.raises(LinkExists):
        drive(
            _ops.create_macvlans(specs),
            [
                ask(ParsedBatch, lambda e: len(e.messages) == 4, answer=results),
                # delete_links looks its targets up, then the groups in use
                ask(
                    Batch, is_getlinks(3), answer=[([m], None) for m in (made[0], made[1], made[3])]
                ),
                ask(ParsedDump, answer=[P0, made[0], made[1], made[3]]),
                ask(Batch, regroup, answer=[([], None)] * 3),
                ask(Request, delete_group, answer=[]),
            ],
        )


def test_cancellation_inside_create_macvlans_rolls_back() -> None:
    """A CancelledError thrown in at the step after the batch (where the asyncio
    driver delivers a cancellation) undoes the creations as a kernel error would."""
    ns = Namespace.current()  # never entered: the cancellation comes first
    specs = [MacvlanSpec("a0", 2), MacvlanSpec("a1", 2), MacvlanSpec("far0", 2, netns=ns)]
    a0, a1 = link_message(10, "a0"), link_message(11, "a1")
    with pytest.raises(asyncio.CancelledError):
        drive(
            _ops.create_macvlans(specs),
            [
                ask(
                    ParsedBatch,
                    lambda e: names_in(e) == ["a0", "a1"],
                    answer=[([a0], None), ([a1], None)],
                ),
                # cancelled at the remote creation's first step: nothing made there yet
                ask(Batch, is_getlinks(2), answer=[([a0], None), ([a1], None)]),
                ask(ParsedDump, answer=[P0, a0, a1]),
                ask(Batch, lambda e: len(e.messages) == 2, answer=[([], None)] * 2),
                ask(Request, is_type(RtmType.DELLINK)),
            ],
            interrupt=asyncio.CancelledError(),
        )
    ns.close()


# -- set_link ------------------------------------------------------------------------------------
def test_source_mac_add_undoes_the_added_ones_when_one_fails() -> None:
    a, b, c, d = (MacAddress(f"02:bb:00:00:00:0{i}") for i in (1, 2, 3, 4))
    current = link_message(5, "src0", mode=MacvlanMode.SOURCE, sources=(a,))

    def undo(e: Batch) -> bool:
        # b went in with the first message and c in the batch; d failed; a was there before
        changes = sorted(source_change(m) for m in e.messages)
        return changes == sorted([(MacaddrMode.DEL, b.packed), (MacaddrMode.DEL, c.packed)])

    with pytest.raises(NetlinkError) as info:
        drive(
            _ops.set_link("src0", source_macs=[b, c, d], source_op=MacaddrMode.ADD),
            [
                ask(Request, is_type(RtmType.GETLINK), answer=[current]),
                ask(Request, is_type(RtmType.NEWLINK), answer=[]),
                ask(Batch, answer=[([], None), ([], error_for(errno.ENOSPC))]),
                ask(Batch, undo, answer=[([], None), ([], None)]),
            ],
        )
    assert info.value.errno == errno.ENOSPC


def test_mtu_above_parent_is_explained_after_the_refusal() -> None:
    current = link_message(5, "mv0", parent=2)
    with pytest.raises(NetlinkError, match="mtu 9000 is above the mtu 1500 of the parent 'p0'"):
        drive(
            _ops.set_link("mv0", mtu=9000),
            [
                ask(Request, is_type(RtmType.GETLINK), answer=[current]),
                ask(Request, is_type(RtmType.NEWLINK), error=error_for(errno.EINVAL)),
                ask(Request, is_type(RtmType.GETLINK), answer=[P0]),
            ],
        )


# -- delete_links --------------------------------------------------------------------------------
def is_getlinks(count: int) -> Callable[[Batch], bool]:
    """A batch of ``count`` single-link GETLINK requests (how delete_links finds its targets)."""
    return lambda e: len(e.messages) == count and all(m.type == RtmType.GETLINK for m in e.messages)


def test_delete_links_restores_groups_when_one_move_fails() -> None:
    links = [link_message(10 + i, f"m{i}", group=3) for i in range(3)]

    def restore(e: Batch) -> bool:
        return [m.get(ifla.GROUP) for m in e.messages] == [3, 3] and [
            m.body.index for m in e.messages
        ] == [10, 12]

    with pytest.raises(LinkNotFound):
        drive(
            _ops.delete_links(["m0", "m1", "m2"]),
            [
                ask(Batch, is_getlinks(3), answer=[([m], None) for m in links]),
                ask(ParsedDump, answer=[P0, *links]),
                ask(Batch, answer=[([], None), ([], error_for(errno.ENODEV)), ([], None)]),
                ask(Batch, restore, answer=[([], None)] * 2),
            ],
        )


def test_delete_links_restores_groups_when_the_group_delete_fails() -> None:
    links = [link_message(10 + i, f"m{i}", group=i) for i in range(2)]
    with pytest.raises(NetlinkError):
        drive(
            _ops.delete_links(["m0", 11]),
            [
                ask(Batch, is_getlinks(2), answer=[([m], None) for m in links]),
                ask(ParsedDump, answer=[P0, *links]),
                ask(Batch, answer=[([], None)] * 2),
                ask(Request, is_type(RtmType.DELLINK), error=error_for(errno.EPERM)),
                ask(Batch, lambda e: [m.get(ifla.GROUP) for m in e.messages] == [0, 1]),
            ],
        )


def test_delete_links_missing_ok_skips_links_that_are_gone() -> None:
    links = [link_message(10, "m0")]
    count = drive(
        _ops.delete_links(["m0", "gone"], missing_ok=True),
        [
            ask(Batch, is_getlinks(2), answer=[([links[0]], None), ([], LinkNotFound(19))]),
            ask(ParsedDump, answer=[P0, *links]),
            ask(Batch, lambda e: len(e.messages) == 1, answer=[([], None)]),
            ask(Request, is_type(RtmType.DELLINK)),
        ],
    )
    assert count == 1


def test_delete_link_missing_ok_swallows_only_link_not_found() -> None:
    assert (
        drive(_ops.delete_link("m0", missing_ok=True), [ask(Request, error=LinkNotFound(19))])
        is None
    )
    with pytest.raises(NetlinkError):
        drive(_ops.delete_link("m0", missing_ok=True), [ask(Request, error=error_for(errno.EPERM))])
