"""Creating macvlans, macvtaps, veth pairs and VLANs (one or many, here or in
another namespace), with the kernel's bare EINVALs explained."""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence

from macvlan import link as _link
from macvlan._netlink.constants import Iff, MacvlanFlags, MacvlanMode
from macvlan._netlink.message import Message
from macvlan._netlink.requests import with_parent
from macvlan._operations.change import delete_link, delete_links, set_link
from macvlan._operations.effects import (
    InNamespace,
    LinkRef,
    NetnsRef,
    Op,
    ParsedBatch,
    ParsedRequest,
    Request,
    _nothing,
    check_spec,
    echoed_link,
    known_index,
    macvlan_message,
    open_namespace,
    parent_key,
    temp_name,
    with_first,
    with_reason,
)
from macvlan._operations.lookup import index, link, links
from macvlan.errors import NetlinkError
from macvlan.link import (
    MACVLAN_KINDS,
    Link,
    MacLike,
    MacvlanSpec,
    check_ifname,
    check_up,
    to_mac,
)
from macvlan.namespace import Namespace


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
    """Send the creating ``message`` (``NLM_F_ECHO`` set) and return the link the
    kernel echoed, decoded straight from the answer's bytes."""
    try:
        echoed: list[Link] = yield ParsedRequest(
            message, _link.parse_links, _link.links_of, f"create {spec.kind} {spec.name!r}"
        )
    except NetlinkError as exc:
        raise (yield from explain(exc, spec, parent_ix)) from None
    made = echoed_link(echoed, spec.name)
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
        if known is None:
            parent_ix = yield from parent_index(spec.parent)
            return (yield from create_here(spec, with_parent(message, parent_ix), parent_ix))
        return (yield from create_here(spec, message, known))
    ns, owned = open_namespace(spec.netns)
    try:
        parent_ix = yield from parent_index(spec.parent)
        yield InNamespace(ns, _nothing())  # a connection there before anything is made
        return (yield from create_there(spec, parent_ix, ns))
    finally:
        if owned:
            ns.close()


def _macvlan_link(
    kind: str,
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
) -> Op[Link]:
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


create_macvlan = with_first(
    _macvlan_link,
    "macvlan",
    """Create a macvlan on ``parent``; the MAC is set in the creating message.

    ``mode`` is a :class:`MacvlanMode` or its name; ``mac`` None lets the kernel pick
    one; ``up`` brings the link up in the same message; ``netns`` creates it inside
    that namespace; ``flags``, ``bcqueuelen``, ``bc_cutoff`` and ``source_macs`` (for
    source mode) set the macvlan's own options; ``txqueuelen`` and ``group`` the link's.
    """,
)
create_macvtap = with_first(
    _macvlan_link,
    "macvtap",
    """Create a macvtap (a macvlan with a /dev/tapN character device); the keywords
    are those of :meth:`create_macvlan`.""",
)


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
        parents: dict[object, int] = {}
        for spec in specs:
            key = parent_key(spec.parent)
            if key not in parents:
                parents[key] = known_index(spec.parent) or (yield from parent_index(spec.parent))
        return (yield from _create_many(specs, messages, where, parents))
    finally:
        for ns in opened:
            ns.close()


def _create_many(
    specs: list[MacvlanSpec],
    messages: list[Message],
    where: list[Namespace | None],
    parents: dict[object, int],
) -> Op[list[Link]]:
    here = [i for i, ns in enumerate(where) if ns is None]
    results: list[tuple[list[Link], NetlinkError | None]] = yield ParsedBatch(
        [with_parent(messages[i], parents[parent_key(specs[i].parent)]) for i in here],
        _link.parse_links,
        _link.links_of,
        [f"create {specs[i].kind} {specs[i].name!r}" for i in here],
    )
    made: dict[int, Link | None] = {}
    remote_made: list[tuple[Namespace, int]] = []
    try:
        for i, (echoed, err) in zip(here, results, strict=True):
            if err is None:
                made[i] = echoed_link(echoed, specs[i].name)
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
