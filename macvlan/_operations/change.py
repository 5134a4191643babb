"""Changing links (and their source MACs) and deleting them, one or in a batch."""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence

from macvlan import link as _link
from macvlan._netlink import requests
from macvlan._netlink.attr import Attr, RawAttr
from macvlan._netlink.constants import MacaddrMode, MacvlanFlags, MacvlanMode, RtmType
from macvlan._netlink.message import Message
from macvlan._operations import lookup
from macvlan._operations.effects import (
    Batch,
    InNamespace,
    LinkRef,
    NetnsRef,
    Op,
    Request,
    lookup_key,
    open_namespace,
    random_group,
    with_reason,
)
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import DumpInterrupted, LinkNotFound, NetlinkError
from macvlan.link import (
    MACVLAN_KINDS,
    Link,
    MacLike,
    check_up,
    to_mac,
    to_macs,
)
from macvlan.linkprops import check_alias
from macvlan.mac import MacAddress

if TYPE_CHECKING:
    from typing import Any


# -- changing links ------------------------------------------------------------------------
def set_link(
    link: LinkRef,
    *,
    up: bool | None = None,
    mtu: int | None = None,
    mac: MacLike | None = None,
    name: str | None = None,
    netns: NetnsRef | None = None,
    mode: MacvlanMode | str | None = None,
    flags: MacvlanFlags | None = None,
    group: int | None = None,
    txqueuelen: int | None = None,
    source_macs: Sequence[MacLike] | None = None,
    source_op: MacaddrMode = MacaddrMode.SET,
    alias: str | None = None,
    promisc: bool | None = None,
    allmulti: bool | None = None,
    bcqueuelen: int | None = None,
    bc_cutoff: int | None = None,
) -> Op[Link]:
    """Change a link; returns its new state (read in ``netns`` after a move).

    ``source_macs`` with ``source_op`` (SET, ADD, DEL or FLUSH) edits a
    source-mode macvlan's MAC list.  ``alias`` sets the link's alias (``""``
    removes it); ``promisc`` and ``allmulti`` switch promiscuous and
    all-multicast mode; ``bcqueuelen`` and ``bc_cutoff`` change a macvlan's
    broadcast queue.  ``bc_cutoff`` is one value per *parent*: the kernel keeps
    it on the lower device's port, so setting it on one macvlan changes it for
    every macvlan on that parent (the last writer wins).
    """
    check_up(up, optional=True)
    _link.set_link(0, promisc=promisc, allmulti=allmulti)  # validate the flags
    alias_ = None if alias is None else check_alias(alias)
    bc_data = _link.macvlan_data(None, None, bcqueuelen, bc_cutoff, None)
    mode_ = None if mode is None else _link.check_mode(mode)
    flags_ = None if flags is None else _link.check_flags(flags)
    if not isinstance(source_op, MacaddrMode):
        raise TypeError(f"source_op must be a MacaddrMode, not {source_op!r}")
    macs = None
    more: list[MacAddress] = []  # the kernel adds or deletes one source MAC per message
    if source_macs is not None or source_op == MacaddrMode.FLUSH:
        macs = to_macs(source_macs or ())
        if source_op in (MacaddrMode.ADD, MacaddrMode.DEL) and len(macs) > 1:
            macs, more = macs[:1], macs[1:]
        if source_op in (MacaddrMode.ADD, MacaddrMode.DEL) and not macs:
            raise ValueError(f"source_op={source_op.name} needs at least one source MAC")
        _link.source_mac_attrs(source_op, macs)  # validate
    if more and netns is not None:
        raise ValueError(
            f"source_op={source_op.name} with several MACs cannot be combined with a "
            "namespace move; move the link first"
        )
    mac_ = to_mac(mac)
    _link.check_link_args(name, mtu, txqueuelen, group)
    ns, owned = (None, False) if netns is None else open_namespace(netns)
    try:
        attrs: list[Attr[Any] | RawAttr] = []
        current = yield from lookup.link(link)
        if mode_ is not None or flags_ is not None or macs is not None or bc_data:
            if current.kind not in MACVLAN_KINDS or current.macvlan is None:
                raise ValueError(
                    f"{current.name!r} is a {current.kind or 'plain'} link, "
                    "not a macvlan or macvtap"
                )
            was = current.macvlan.mode
            if mode_ is not None and (mode_ == MacvlanMode.PASSTHRU) != (
                was == MacvlanMode.PASSTHRU
            ):
                raise ValueError(
                    f"cannot change {current.name!r} from {was.name.lower()} to "
                    f"{mode_.name.lower()} mode: the kernel does not switch a link into "
                    "or out of passthru mode; delete it and create it again"
                )
            data = _link.macvlan_data(mode_, flags_, bcqueuelen, bc_cutoff, macs, source_op)
            attrs.append(requests.linkinfo(current.kind, data))
        message = _link.set_link(
            current.index,
            up=up,
            name=name,
            mac=mac_,
            mtu=mtu,
            txqueuelen=txqueuelen,
            group=group,
            netns_fd=None if ns is None else ns.fd,
            alias=alias_,
            attrs=attrs,
            promisc=promisc,
            allmulti=allmulti,
        )
        try:
            yield Request(message, f"change link {current.name!r}")
        except NetlinkError as exc:
            raise (yield from _explain_change(exc, current, mtu)) from None
        if more:
            yield from _more_sources(current, source_op, macs or [], more)
        final_name = name or current.name
        if ns is None:
            return (yield from lookup.link(current.index))
        moved: Link = yield InNamespace(ns, lookup.link(final_name))
        return moved
    finally:
        if owned and ns is not None:
            ns.close()


def _more_sources(
    current: Link, op: MacaddrMode, first: list[MacAddress], more: list[MacAddress]
) -> Op[None]:
    """Send the rest of a multi-MAC ADD/DEL, one message per MAC, pipelined.

    If an ADD fails half-way, the addresses this call added are deleted again.
    """
    kind = current.kind or "macvlan"

    def message(mode: MacaddrMode, mac: MacAddress) -> Message:
        data = _link.source_mac_attrs(mode, [mac])
        return requests.set_link(current.index, attrs=[requests.linkinfo(kind, data)])

    what = f"change source MACs of {current.name!r}"
    results: list[tuple[list[Message], NetlinkError | None]] = yield Batch(
        [message(op, m) for m in more], [what] * len(more)
    )
    errors = [err for _, err in results if err is not None]
    if not errors:
        return
    if op == MacaddrMode.ADD:
        had = set(current.macvlan.source_macs) if current.macvlan else set()
        done = first + [m for m, (_, err) in zip(more, results, strict=True) if err is None]
        undo = [message(MacaddrMode.DEL, m) for m in done if m not in had]
        if undo:
            yield Batch(undo)
    raise errors[0]


def _explain_change(err: NetlinkError, current: Link, mtu: int | None) -> Op[NetlinkError]:
    """A macvlan's MTU above its parent's is refused with a bare EINVAL; say so."""
    if (
        err.errno != errno.EINVAL
        or err.ext_ack
        or mtu is None
        or current.parent_index is None
        or current.netnsid is not None
    ):
        return err
    try:
        parent = yield from lookup.link(current.parent_index)
    except NetlinkError:
        return err
    if mtu <= parent.mtu:
        return err
    return with_reason(
        err, f"mtu {mtu} is above the mtu {parent.mtu} of the parent {parent.name!r}"
    )


# -- deleting links ------------------------------------------------------------------------
def delete_link(link: LinkRef, *, missing_ok: bool = False) -> Op[None]:
    """Delete one link (each deletion waits for an RCU grace period)."""
    key = lookup_key(link)
    try:
        yield Request(_link.del_link(key), f"delete link {key!r}")
    except LinkNotFound:
        if not missing_ok:
            raise


def delete_links(links: Iterable[LinkRef], *, missing_ok: bool = False) -> Op[int]:
    """Delete many links in one kernel batch; returns how many were deleted.

    The links are moved into a fresh link group and the group is deleted with
    one ``RTM_DELLINK`` — one RCU wait for all instead of one each.  If a step
    fails, the links moved so far get their own group back.
    """
    keys = list(dict.fromkeys(lookup_key(r) for r in links))
    if not keys:
        return 0
    # One pipelined GETLINK per link, not a dump of the namespace: a dump can keep
    # racing other writers (NLM_F_DUMP_INTR) until it gives up.
    found: list[tuple[list[Message], NetlinkError | None]] = yield Batch(
        [_link.get_link(key) for key in keys], [f"delete link {key!r}" for key in keys]
    )
    targets = []
    for replies, error in found:
        if error is not None:
            if isinstance(error, LinkNotFound) and missing_ok:
                continue
            raise error
        targets += [Link.from_message(r) for r in replies if r.type == RtmType.NEWLINK]
    targets = list({x.index: x for x in targets}.values())
    # A fresh group number; the groups in use are avoided where a dump can tell.
    try:
        used_groups = {x.group for x in (yield from lookup.links())}
    except DumpInterrupted:
        used_groups = {x.group for x in targets}
    group = random_group()
    while group in used_groups:
        group = random_group()
    messages = [requests.set_link(x.index, group=group) for x in targets]
    results: list[tuple[list[Message], NetlinkError | None]] = yield Batch(
        messages, [f"group link {x.name!r}" for x in targets]
    )
    moved = [x for x, (_, err) in zip(targets, results, strict=True) if err is None]
    errors = [err for _, err in results if err is not None]
    hard = [e for e in errors if not isinstance(e, LinkNotFound)]
    if hard or (errors and not missing_ok):
        yield from _restore_groups(moved)
        raise (hard or errors)[0]
    if not moved:
        return 0
    try:
        yield Request(_link.del_group(group), f"delete {len(moved)} links")
    except NetlinkError:
        yield from _restore_groups(moved)
        raise
    return len(moved)


def _restore_groups(moved: Sequence[Link]) -> Op[None]:
    messages = [requests.set_link(x.index, group=x.group) for x in moved]
    if messages:
        yield Batch(messages)
