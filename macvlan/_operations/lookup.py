"""Looking links up: by index, by name, all of them or some."""

from __future__ import annotations

import errno

from macvlan import link as _link
from macvlan._names import check_link_name, is_short_name
from macvlan._netlink.constants import RtmType
from macvlan._netlink.message import Message
from macvlan._operations.effects import (
    IfIndex,
    LinkRef,
    Op,
    ParsedDump,
    Request,
    check_index,
    lookup_key,
)
from macvlan.errors import LinkNotFound
from macvlan.link import (
    Link,
    MacLike,
)
from macvlan.mac import MacAddress


# -- lookups -----------------------------------------------------------------------------
def index(ref: LinkRef) -> Op[int]:
    """The index of a link given by name (asked of the kernel), index or Link."""
    if isinstance(ref, Link):
        return ref.index
    if isinstance(ref, str):
        if is_short_name(check_link_name(ref)):
            found: int = yield IfIndex(ref)  # also finds a short alternative name
            return found
        return (yield from link(ref)).index  # an alternative name too long for an ifreq
    return check_index(ref)


def link(link: LinkRef) -> Op[Link]:
    """Ask the kernel for one link by name or index (no dump)."""
    key = lookup_key(link)
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
    """All links, or those of one kind, parent, group or MAC (kind filtered in the kernel).

    ``parent`` finds the links stacked on it (macvlans, macvtaps, VLANs); a veth's
    peer is not one, though the kernel reports it in the same attribute.
    """
    if group is not None and (isinstance(group, bool) or not isinstance(group, int)):
        raise TypeError(f"group must be an int, not {group!r}")
    if group is not None and not 0 <= group < 2**32:
        raise ValueError(f"group {group} is outside 0..{2**32 - 1}")
    wanted_mac = None if mac is None else (mac if isinstance(mac, MacAddress) else MacAddress(mac))
    parent_index = None if parent is None else (yield from index(parent))
    message = _link.dump_links(kind)
    dumped: list[Link] = yield ParsedDump(message, _link.parse_links, _link.links_of, "list links")
    out = []
    for found in dumped:
        if kind is not None and found.kind != kind:
            continue
        if parent_index is not None and (
            found.parent_index != parent_index
            or found.netnsid is not None
            or found.kind == "veth"  # a veth's IFLA_LINK names its peer, not a parent
        ):
            continue
        if group is not None and found.group != group:
            continue
        if wanted_mac is not None and found.mac != wanted_mac:
            continue
        out.append(found)
    return out
