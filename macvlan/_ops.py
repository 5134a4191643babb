"""Connection operations as sans-IO generators, shared by the sync and asyncio fronts.

Each operation is a generator that checks its input first, then *yields* the I/O it
needs as small effect values and *receives* their results:

========================  ==================================================
effect                    the driver sends back
========================  ==================================================
``Request(message)``      the answers (``list[Message]``)
``Dump(message)``         the dumped messages (``list[Message]``)
``ParsedDump(...)``       the values parsed from the dumped bytes
``Batch(messages)``       per message ``(answers, NetlinkError | None)``
``IfIndex(name)``         the index of the link ``name`` (or LinkNotFound)
``InNamespace(ns, op)``   what ``op`` returns, run on a connection inside ``ns``
========================  ==================================================

When the kernel refuses a request, the driver throws the error into the generator
at the ``yield``, so each operation's ``try``/``except`` rollback reads exactly as
straight-line code.  :class:`macvlan.connection.Connection` drives operations over
a blocking socket, :class:`macvlan.aio.AsyncConnection` over the event loop; the
messages and the orchestration exist once, here.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from macvlan import link as _link
from macvlan._netlink import requests
from macvlan._netlink.attr import Attr, RawAttr
from macvlan._netlink.constants import Iff, MacaddrMode, MacvlanFlags, MacvlanMode, NlmF, RtmType
from macvlan._netlink.message import Message
from macvlan.errors import DumpInterrupted, LinkNotFound, NetlinkError
from macvlan.link import (
    MACVLAN_KINDS,
    Link,
    MacLike,
    MacvlanSpec,
    check_ifname,
    check_up,
    to_mac,
    to_macs,
)
from macvlan.linkprops import check_alias
from macvlan.mac import MacAddress
from macvlan.namespace import Namespace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from macvlan.address import Address

T = TypeVar("T")
_ECHO = int(NlmF.ECHO)  # a plain int: IntFlag arithmetic is slow

LinkRef: TypeAlias = int | str | Link
NetnsRef: TypeAlias = Namespace | str


# -- effects ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    """Send ``message`` (an ACK is asked for); answered with the reply messages."""

    message: Message
    what: str = ""


@dataclass(frozen=True, slots=True)
class Dump:
    """Run a dump request; answered with the dumped messages."""

    message: Message
    what: str = ""


@dataclass(frozen=True, slots=True)
class ParsedDump:
    """Run a dump whose answers become values without a :class:`Message` each
    (``parse(data, start, end, out)``, see ``NetlinkSocket.dump_parsed``); a driver
    without that path dumps messages and hands them to ``build``.  Answered with
    the values."""

    message: Message
    parse: Callable[[bytes, int, int, list[Any]], None]
    build: Callable[[list[Message]], list[Any]]
    what: str = ""


@dataclass(frozen=True, slots=True)
class Batch:
    """Pipeline many requests; answered with ``(replies, error or None)`` for each."""

    messages: Sequence[Message]
    whats: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class IfIndex:
    """Resolve a link name to its index in the connection's namespace.

    Answered by the kernel itself, without a netlink round trip (the driver asks
    with ``SIOCGIFINDEX`` on the connection's own socket, as ``ip`` does); no cache.
    """

    name: str


@dataclass(frozen=True, slots=True)
class InNamespace:
    """Run the operation ``op`` on a connection inside ``ns``; answered with its result.

    A driver keeps one connection per namespace for the whole top-level operation.
    """

    ns: Namespace
    op: Op[Any]


Effect: TypeAlias = Request | Dump | ParsedDump | Batch | IfIndex | InNamespace
Op: TypeAlias = Generator[Effect, Any, T]


# -- helpers without I/O ---------------------------------------------------------------
def open_namespace(netns: object) -> tuple[Namespace, bool]:
    """The Namespace for ``netns`` and whether we opened it (and must close it)."""
    if isinstance(netns, Namespace):
        netns.fd  # noqa: B018 - raises ValueError now if it is closed, before any request
        return netns, False
    if isinstance(netns, str):
        return Namespace.open(netns), True
    raise TypeError(f"netns must be a Namespace or a namespace name, not {netns!r}")


def temp_name() -> str:
    """A throw-away interface name (15 bytes at most)."""
    return "mvtmp" + os.urandom(5).hex()


def random_group() -> int:
    """A link group number well above the ones people pick by hand."""
    return int.from_bytes(os.urandom(4), "little") % (2**31 - 2**20) + 2**20


def echoed_link(replies: Sequence[Message], name: str) -> Link | None:
    for reply in replies:
        if reply.type == RtmType.NEWLINK:
            link = Link.from_message(reply)
            if link.name == name:
                return link
    return None


def with_reason(err: NetlinkError, why: str) -> NetlinkError:
    """A copy of ``err`` whose message ends with ``why`` (same type, errno, ext_ack)."""
    out = type(err)(err.errno or 0, err.ext_ack, err.request)
    out.strerror = f"{out.strerror} ({why})"
    return out


def parent_key(parent: object) -> object:
    if isinstance(parent, Link):
        return parent.index
    if isinstance(parent, bool) or not isinstance(parent, int | str):
        raise TypeError(f"a parent is a link name, an index or a Link, not {parent!r}")
    return parent


def known_index(ref: object) -> int | None:
    """The index of a Link or a valid index, known without a lookup; else None."""
    if isinstance(ref, Link):
        return ref.index
    if type(ref) is int and ref > 0:
        return ref
    return None


def check_index(ref: object) -> int:
    """A positive link index (a name or Link is not accepted here)."""
    if isinstance(ref, bool) or not isinstance(ref, int):
        raise TypeError(f"a link is a name, an index or a Link, not {ref!r}")
    if not 0 < ref < 2**31:
        raise ValueError(f"link index must be in 1..{2**31 - 1} (a kernel int), not {ref}")
    return ref


def lookup_key(ref: LinkRef) -> int | str:
    """An index or a validated name, without a round trip."""
    if isinstance(ref, Link):
        return ref.index
    if isinstance(ref, str):
        return check_ifname(ref)
    return check_index(ref)


def macvlan_message(
    spec: MacvlanSpec, parent_index: int, name: str, netns_fd: int | None, up: bool
) -> Message:
    return _link.new_macvlan(
        name,
        parent_index,
        spec.kind,
        mode=_link.check_mode(spec.mode),
        flags=_link.check_flags(spec.flags),
        mac=to_mac(spec.mac),
        mtu=spec.mtu,
        up=bool(check_up(up)),
        bcqueuelen=spec.bcqueuelen,
        bc_cutoff=spec.bc_cutoff,
        source_macs=to_macs(spec.source_macs),
        txqueuelen=spec.txqueuelen,
        group=spec.group,
        netns_fd=netns_fd,
    )


def check_spec(spec: MacvlanSpec, parent_ix: int = 0) -> Message:
    """Refuse a bad spec (ValueError/TypeError) before anything is sent.

    Returns the creating message for this namespace with ``parent_ix`` as its
    parent (0 while the parent is not looked up yet).
    """
    if not isinstance(spec, MacvlanSpec):
        raise TypeError(f"expected a MacvlanSpec, not {spec!r}")
    check_ifname(spec.name)
    check_up(spec.up)
    message = macvlan_message(spec, parent_ix, spec.name, None, spec.up)
    if spec.netns is not None and not isinstance(spec.netns, Namespace | str):
        raise TypeError(f"netns must be a Namespace or a namespace name, not {spec.netns!r}")
    return message


def _nothing() -> Op[None]:
    """An operation without I/O: ``InNamespace(ns, _nothing())`` opens the connection."""
    return None
    yield  # pragma: no cover - makes this a generator


# -- lookups -----------------------------------------------------------------------------
def index(ref: LinkRef) -> Op[int]:
    """The index of a link given by name (asked of the kernel), index or Link."""
    if isinstance(ref, Link):
        return ref.index
    if isinstance(ref, str):
        found: int = yield IfIndex(check_ifname(ref))
        return found
    return check_index(ref)


def link(ref: LinkRef) -> Op[Link]:
    """Ask the kernel for one link by name or index (no dump)."""
    key = lookup_key(ref)
    replies: list[Message] = yield Request(_link.get_link(key), f"link {key!r}")
    for reply in replies:
        if reply.type == RtmType.NEWLINK:
            return Link.from_message(reply)
    raise LinkNotFound(errno.ENODEV, request=f"link {key!r}")


def links(
    *,
    kind: str | None = None,
    parent: LinkRef | None = None,
    group: int | None = None,
    mac: MacLike | None = None,
) -> Op[list[Link]]:
    """All links, or those of one kind, parent, group or MAC (kind filtered in the kernel)."""
    if group is not None and (isinstance(group, bool) or not isinstance(group, int)):
        raise TypeError(f"group must be an int, not {group!r}")
    if group is not None and not 0 <= group < 2**32:
        raise ValueError(f"group {group} is outside 0..{2**32 - 1}")
    wanted_mac = None if mac is None else (mac if isinstance(mac, MacAddress) else MacAddress(mac))
    parent_index = None if parent is None else (yield from index(parent))
    message = _link.dump_links(kind)
    replies: list[Message] = yield Dump(message, "list links")
    out = []
    for reply in replies:
        if reply.type != RtmType.NEWLINK:
            continue
        found = Link.from_message(reply)
        if kind is not None and found.kind != kind:
            continue
        if parent_index is not None and (
            found.parent_index != parent_index or found.netnsid is not None
        ):
            continue
        if group is not None and found.group != group:
            continue
        if wanted_mac is not None and found.mac != wanted_mac:
            continue
        out.append(found)
    return out


# -- creating macvlans -----------------------------------------------------------------
def parent_index(parent: LinkRef) -> Op[int]:
    parent_key(parent)
    return (yield from index(parent))


def explain(err: NetlinkError, spec: MacvlanSpec, parent_ix: int) -> Op[NetlinkError]:
    """Add the likely reason to an EINVAL the kernel gave without extended ack.

    The kernel says nothing when the parent is not an Ethernet device (``lo``), when
    a passthru link meets a sibling or when the MTU is above the parent's; one lookup
    (only after a failure) can say which.
    """
    if err.errno != errno.EINVAL or err.ext_ack:
        return err
    try:
        parent = yield from link(parent_ix)
        siblings = [
            x
            for x in (yield from links(parent=parent_ix))
            if x.kind in MACVLAN_KINDS and x.name != spec.name
        ]
    except NetlinkError:
        return err
    passthru = [
        s for s in siblings if s.macvlan is not None and s.macvlan.mode == MacvlanMode.PASSTHRU
    ]
    if parent.flags & Iff.LOOPBACK or parent.mac is None:
        why = (
            f"parent {parent.name!r} is not an Ethernet device; a {spec.kind} needs an "
            "Ethernet parent (a NIC, veth, bond, ...)"
        )
    elif passthru:
        why = (
            f"parent {parent.name!r} already has the passthru {passthru[0].kind} "
            f"{passthru[0].name!r}; a passthru link must be the only macvlan/macvtap "
            "on its parent"
        )
    elif spec.mode == MacvlanMode.PASSTHRU:
        names = ", ".join(repr(s.name) for s in siblings[:4]) or "one in another namespace"
        why = (
            f"a passthru {spec.kind} must be the only macvlan/macvtap on its parent, "
            f"and {parent.name!r} already has {names}"
        )
    elif spec.mtu is not None and spec.mtu > parent.mtu:
        why = f"mtu {spec.mtu} is above the mtu {parent.mtu} of the parent {parent.name!r}"
    else:
        why = (
            f"if {parent.name!r} has a passthru macvlan in another namespace, "
            "no other macvlan/macvtap can share it"
        )
    return with_reason(err, why)


def create_here(spec: MacvlanSpec, message: Message, parent_ix: int) -> Op[Link]:
    try:
        replies: list[Message] = yield Request(
            requests.echo(message, parent_ix), f"create {spec.kind} {spec.name!r}"
        )
    except NetlinkError as exc:
        raise (yield from explain(exc, spec, parent_ix)) from None
    made = echoed_link(replies, spec.name)
    if made is None:  # a kernel without NLM_F_ECHO for links: read it back
        made = yield from link(spec.name)
    return made


def create_there(spec: MacvlanSpec, parent_ix: int, ns: Namespace) -> Op[Link]:
    """Create in ``ns`` under a temporary name (the kernel may check the name here
    too), then rename and bring up inside ``ns``; the temporary link goes on failure."""
    temp = temp_name()
    message = macvlan_message(spec, parent_ix, temp, ns.fd, False)
    try:
        yield Request(message, f"create {spec.kind} {spec.name!r} in {ns.name or ns.path}")
    except NetlinkError as exc:
        raise (yield from explain(exc, spec, parent_ix)) from None
    try:
        made: Link = yield InNamespace(ns, set_link(temp, name=spec.name, up=spec.up or None))
    except BaseException:
        yield InNamespace(ns, delete_link(temp, missing_ok=True))
        raise
    return made


def create(spec: MacvlanSpec) -> Op[Link]:
    """Create one macvlan/macvtap from ``spec``, here or in ``spec.netns``."""
    known = known_index(spec.parent)  # a Link or an index: no lookup, one message
    message = check_spec(spec, known or 0)
    if spec.netns is None:
        parent_ix = known or (yield from parent_index(spec.parent))
        return (yield from create_here(spec, message, parent_ix))
    ns, owned = open_namespace(spec.netns)
    try:
        parent_ix = yield from parent_index(spec.parent)
        yield InNamespace(ns, _nothing())  # a connection there before anything is made
        return (yield from create_there(spec, parent_ix, ns))
    finally:
        if owned:
            ns.close()


def create_macvlan(
    name: str,
    parent: LinkRef,
    mode: MacvlanMode | str = MacvlanMode.BRIDGE,
    *,
    mac: MacLike | None = None,
    mtu: int | None = None,
    up: bool = False,
    netns: NetnsRef | None = None,
    flags: MacvlanFlags = MacvlanFlags.NONE,
    bcqueuelen: int | None = None,
    bc_cutoff: int | None = None,
    source_macs: Sequence[MacLike] = (),
    txqueuelen: int | None = None,
    group: int | None = None,
    kind: str = "macvlan",
) -> Op[Link]:
    """Create a macvlan (or, with ``kind="macvtap"``, a macvtap) on ``parent``."""
    spec = MacvlanSpec(
        name,
        parent,
        _link.check_mode(mode),
        mac,
        mtu,
        up,
        flags,
        bcqueuelen,
        bc_cutoff,
        source_macs if isinstance(source_macs, str | bytes) else tuple(source_macs),
        txqueuelen,
        group,
        kind,
        netns,
    )
    return (yield from create(spec))


def create_macvlans(specs: Iterable[MacvlanSpec]) -> Op[list[Link]]:
    """Create many links pipelined; all or none, in spec order.

    Every spec is checked before anything is sent.  If any creation fails, the
    links this call created (here and in other namespaces) are deleted again and
    the first error is raised.
    """
    specs = list(specs)
    messages = [check_spec(spec, known_index(spec.parent) or 0) for spec in specs]
    for spec in specs:
        parent_key(spec.parent)
    opened: list[Namespace] = []
    try:
        where: list[Namespace | None] = []
        for spec in specs:
            if spec.netns is None:
                where.append(None)
                continue
            ns, owned = open_namespace(spec.netns)
            if owned:
                opened.append(ns)
            where.append(ns)
        seen: set[tuple[Namespace | None, str]] = set()
        for place, spec in zip(where, specs, strict=True):
            if (place, spec.name) in seen:
                raise ValueError(f"create_macvlans: the name {spec.name!r} is given twice")
            seen.add((place, spec.name))
        parents: dict[Any, int] = {}
        for spec in specs:
            key = parent_key(spec.parent)
            if key not in parents:
                parents[key] = yield from parent_index(spec.parent)
        return (yield from _create_many(specs, messages, where, parents))
    finally:
        for ns in opened:
            ns.close()


def _create_many(
    specs: list[MacvlanSpec],
    messages: list[Message],
    where: list[Namespace | None],
    parents: dict[Any, int],
) -> Op[list[Link]]:
    here = [i for i, ns in enumerate(where) if ns is None]
    results: list[tuple[list[Message], NetlinkError | None]] = yield Batch(
        [requests.echo(messages[i], parents[parent_key(specs[i].parent)]) for i in here],
        [f"create {specs[i].kind} {specs[i].name!r}" for i in here],
    )
    made: dict[int, Link | None] = {}
    remote_made: list[tuple[Namespace, int]] = []
    try:
        for i, (replies, err) in zip(here, results, strict=True):
            if err is None:
                made[i] = echoed_link(replies, specs[i].name)
        for i, (_, err) in zip(here, results, strict=True):
            if err is not None:
                spec = specs[i]
                raise (yield from explain(err, spec, parents[parent_key(spec.parent)])) from None
        for i, (spec, ns) in enumerate(zip(specs, where, strict=True)):
            if ns is None:
                continue
            yield InNamespace(ns, _nothing())
            made_there = yield from create_there(spec, parents[parent_key(spec.parent)], ns)
            remote_made.append((ns, made_there.index))
            made[i] = made_there
    except BaseException:
        yield from delete_links([specs[i].name for i in made if where[i] is None], missing_ok=True)
        for ns, ix in remote_made:
            yield InNamespace(ns, delete_link(ix, missing_ok=True))
        raise
    if any(made[i] is None for i in here):  # a kernel without NLM_F_ECHO: read back
        wanted = {specs[i].name for i in here}
        found = {x.name: x for x in (yield from links()) if x.name in wanted}
        for i in here:
            if made[i] is None:
                made[i] = found.get(specs[i].name) or (yield from link(specs[i].name))
    out = []
    for i, spec in enumerate(specs):
        one = made.get(i)
        out.append(one if one is not None else (yield from link(spec.name)))
    return out


def create_veth(
    name: str,
    peer: str,
    *,
    peer_netns: NetnsRef | None = None,
    mtu: int | None = None,
    mac: MacLike | None = None,
    peer_mac: MacLike | None = None,
    up: bool = False,
) -> Op[Link]:
    """Create a veth pair; the peer may go straight into ``peer_netns``."""
    check_ifname(peer)
    check_up(up)
    ns, owned = (None, False) if peer_netns is None else open_namespace(peer_netns)
    try:
        message = _link.new_veth(
            check_ifname(name),
            peer,
            mtu=mtu,
            mac=to_mac(mac),
            peer_mac=to_mac(peer_mac),
            peer_netns_fd=None if ns is None else ns.fd,
            up=up,
        )
        yield Request(message, f"create veth {name!r}/{peer!r}")
    finally:
        if owned and ns is not None:
            ns.close()
    return (yield from link(name))


def create_vlan(
    name: str, parent: LinkRef, vlan_id: int, *, protocol: int | None = None
) -> Op[Link]:
    """Create 802.1Q VLAN ``vlan_id`` on ``parent`` as ``name`` (needs the 8021q module)."""
    _link.new_vlan(name, 0, vlan_id, protocol=protocol)  # refuse bad input before any I/O
    parent_ix = yield from index(parent)
    message = _link.new_vlan(name, parent_ix, vlan_id, protocol=protocol)
    yield Request(message, f"create VLAN {name!r} (id {vlan_id}; needs the 8021q module)")
    return (yield from link(name))


# -- changing links ------------------------------------------------------------------------
def set_link(
    ref: LinkRef,
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

    ``bc_cutoff`` is kept by the kernel per parent, not per macvlan: setting it on
    one macvlan changes it for every macvlan on the same parent.
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
        current = yield from link(ref)
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
            return (yield from link(current.index))
        moved: Link = yield InNamespace(ns, link(final_name))
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
        parent = yield from link(current.parent_index)
    except NetlinkError:
        return err
    if mtu <= parent.mtu:
        return err
    return with_reason(
        err, f"mtu {mtu} is above the mtu {parent.mtu} of the parent {parent.name!r}"
    )


# -- deleting links ------------------------------------------------------------------------
def delete_link(ref: LinkRef, *, missing_ok: bool = False) -> Op[None]:
    """Delete one link (each deletion waits for an RCU grace period)."""
    key = lookup_key(ref)
    try:
        yield Request(_link.del_link(key), f"delete link {key!r}")
    except LinkNotFound:
        if not missing_ok:
            raise


def delete_links(refs: Iterable[LinkRef], *, missing_ok: bool = False) -> Op[int]:
    """Delete many links in one kernel batch; returns how many were deleted.

    The links are moved into a fresh link group and the group is deleted with
    one ``RTM_DELLINK`` — one RCU wait for all instead of one each.  If a step
    fails, the links moved so far get their own group back.
    """
    keys = list(dict.fromkeys(lookup_key(r) for r in refs))
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
        used_groups = {x.group for x in (yield from links())}
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


# -- addresses (macvlan.address, and ipaddress with it, load on first use) ----------------
def add_address(ref: LinkRef, address: object, *, nodad: bool = False) -> Op[None]:
    """Add ``"10.0.0.2/24"`` or ``"fd00::2/64"`` to a link (IPv6: ``nodad`` skips DAD)."""
    from macvlan import address as _address

    interface = _address.to_interface(address)
    _address.new_address(0, interface, nodad=nodad)  # validate before the lookup
    ix = yield from index(ref)
    message = _address.new_address(ix, interface, nodad=nodad)
    yield Request(message, f"add address {interface} to link {ix}")


def delete_address(ref: LinkRef, address: object) -> Op[None]:
    from macvlan import address as _address

    interface = _address.to_interface(address)
    ix = yield from index(ref)
    yield Request(_address.del_address(ix, interface), f"delete address {interface} from link {ix}")


def addresses(ref: LinkRef | None = None, *, family: int | None = None) -> Op[list[Address]]:
    """Addresses of one link or of all (the kernel filters by link)."""
    from macvlan import address as _address
    from macvlan.address import Address

    ix = 0 if ref is None else (yield from index(ref))
    replies: list[Message] = yield Dump(_address.dump_addresses(ix, family or 0), "list addresses")
    out = [Address.from_message(r) for r in replies if r.type == RtmType.NEWADDR]
    return [a for a in out if not ix or a.index == ix]
