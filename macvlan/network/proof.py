"""Proof of ownership carried by every link the network layer creates.

A link's alias (``IFLA_IFALIAS``) reads ``macvlan:STORE:NETWORK:ENDPOINT``: the
store's random id (made when the store file was created), the network's name and
the endpoint's key in that store.  The link group is a hash of store id and network,
set in the creating message itself, so that a link whose process died before it
got its alias is still told apart from other stores' links.  Reconcile, detach and
remove act on a link only when its alias names this store, this network and the
record's endpoint, found at the recorded ifindex in the recorded namespace (or,
for a record whose link was never given its alias, by group, MAC and namespace
together).
"""

from __future__ import annotations

import zlib

from macvlan._dataclass import dataclass
from macvlan.link import Link

__all__ = ["PREFIX", "Tag", "alias", "group", "tag_of"]

PREFIX = "macvlan:"


@dataclass(frozen=True, slots=True)
class Tag:
    """What a link's alias says: whose store, which network, which endpoint."""

    store: str
    network: str
    endpoint: int


def alias(store: str, network: str, endpoint: int) -> str:
    """The alias that marks a link as endpoint ``endpoint`` of ``network`` in ``store``."""
    return f"{PREFIX}{store}:{network}:{endpoint}"


def group(store: str, network: str) -> int:
    """The link group of one store's network (2**30 .. 2**31 - 1)."""
    return 1 << 30 | zlib.crc32(f"{store}:{network}".encode()) & ((1 << 30) - 1)


def tag_of(link: Link) -> Tag | None:
    """The tag a link carries, or None if its alias is not one of ours."""
    text = link.alias
    if not text or not text.startswith(PREFIX):
        return None
    store, sep, rest = text[len(PREFIX) :].partition(":")
    network, sep2, ep = rest.rpartition(":")
    if not (sep and sep2 and ep.isdigit()):
        return None
    return Tag(store, network, int(ep))
