"""What the step modules (attach, detach, remove, reconcile, shim) work with.

A :class:`Context` holds the store, the network's record and the host side (the
namespace where the parent lives and a connection there).  The steps take one
instead of reaching into :class:`~macvlan.network.Network`; the Network is a thin
front over it.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable

from macvlan.connection import Connection
from macvlan.errors import (
    NamespaceNotFound,
    NetworkConfigError,
    NetworkElsewhere,
    NetworkNotFound,
)
from macvlan.link import Link, MacvlanMode
from macvlan.mac import MacAddress
from macvlan.namespace import Namespace
from macvlan.network import proof
from macvlan.network.nsref import current_identity, reopen
from macvlan.network.store import (
    EndpointKind,
    EndpointRow,
    EndpointState,
    NetworkRow,
    NetworkState,
    Store,
    owner_alive,
)

__all__ = ["Context"]


class Context:
    """The store, a network's record and its host side, shared by the steps."""

    store: Store
    row: NetworkRow

    def __init__(self, store: Store, row: NetworkRow) -> None:
        self.store = store
        self.row = row
        self._host: Connection | None = None
        self._hostns: Namespace | None = None
        self._parent_ix: int | None = None
        self._lock = threading.RLock()
        self.closed = False
        #: called with a row before its link is torn down (the LAN hooks: DHCPRELEASE)
        self.before_detach: Callable[[EndpointRow], None] | None = None

    @property
    def name(self) -> str:
        """The network's name."""
        return self.row.name

    @property
    def mode(self) -> MacvlanMode:
        """The network's macvlan mode."""
        return MacvlanMode(self.row.mode)

    @property
    def group(self) -> int:
        """The link group of this store's network."""
        return self.row.link_group

    def alias(self, endpoint: int) -> str:
        """The alias that proves a link is endpoint ``endpoint`` of this network."""
        return proof.alias(self.store.id, self.name, endpoint)

    def owns(self, link: Link, row: EndpointRow) -> bool:
        """Whether ``link`` carries the proof that it is ``row``'s link.

        Its alias names this store, network and endpoint; or, for a record whose
        link never got its alias (its process died between two steps), it has no
        alias at all, this network's group and the record's MAC.
        """
        tag = proof.tag_of(link)
        if tag is not None:
            return tag == proof.Tag(self.store.id, self.name, row.id)
        return not link.alias and link.group == self.group and link.mac == row.mac

    def is_ours(self, link: Link) -> proof.Tag | None:
        """The tag of ``link`` if it names this store and network."""
        tag = proof.tag_of(link)
        if tag is None or tag.store != self.store.id or tag.network != self.name:
            return None
        return tag

    # -- the host side ------------------------------------------------------------
    @property
    def host(self) -> Connection:
        """A connection in the namespace where the parent lives."""
        if self.closed:
            raise ValueError(f"network {self.name!r}: this object is closed")
        with self._lock:
            if self._host is None:
                self._host = Connection(self.host_namespace)
            return self._host

    @property
    def host_namespace(self) -> Namespace:
        """The namespace where the parent lives."""
        with self._lock:
            if self._hostns is None:
                ref = self.row.netns
                if ref is None:
                    self._hostns = self._creators_namespace()
                else:
                    ns = reopen(ref)
                    if ns is None:
                        raise NamespaceNotFound(
                            errno.ENOENT,
                            f"network {self.name!r}: its namespace {ref.label!r} is gone",
                            ref.path,
                        )
                    self._hostns = ns
            return self._hostns

    def _creators_namespace(self) -> Namespace:
        """This thread's namespace, if it is the one the network was created in.

        A network made without ``netns=`` names its parent in that namespace only
        (``parent_key`` starts with its identity); elsewhere the same name may be
        another link, so it is refused rather than used.
        """
        if current_identity() != self.row.parent_identity:
            dev, ino = self.row.parent_identity
            raise NetworkElsewhere(
                f"network {self.name!r} was created in another network namespace "
                f"(nsfs {dev}:{ino}) and its parent {self.row.parent!r} is a name there; "
                "use it from that namespace, or create networks with netns= to use them "
                "from anywhere"
            )
        return Namespace.current()

    def host_namespace_or_none(self) -> Namespace | None:
        """The parent's namespace, or None if it is gone (and the shim with it)."""
        try:
            return self.host_namespace
        except NamespaceNotFound:
            return None

    def parent_index(self) -> int:
        """The parent's ifindex (cached)."""
        if self._parent_ix is None:
            self._parent_ix = self.host.link(self.row.parent).index
        return self._parent_ix

    def forget_parent_index(self) -> None:
        """Drop the cached ifindex (the parent may have been re-created)."""
        self._parent_ix = None

    def parent_mac(self) -> MacAddress:
        """The parent's MAC (what passthru endpoints take)."""
        mac = self.host.link(self.row.parent).mac
        if mac is None:
            raise NetworkConfigError(f"parent {self.row.parent!r} has no MAC address")
        return mac

    # -- checks inside transactions --------------------------------------------------
    def check_ready(self) -> None:
        """Raise unless the network's record is there and READY (call it inside the
        transaction that depends on it)."""
        if self.closed:
            raise ValueError(f"network {self.name!r}: this object is closed")
        current = self.store.network(self.name)
        if current is None:
            raise NetworkNotFound(f"network {self.name!r} is no longer in the store")
        if current.state is not NetworkState.READY:
            raise NetworkNotFound(f"network {self.name!r} is being {current.state.value[:-3]}ed")

    def shim_row(self) -> EndpointRow | None:
        """The network's host shim, from the moment its link exists: active, or being
        made by a live process (which routes the endpoints it lists itself)."""
        rows = self.store.endpoints(self.name, EndpointKind.SHIM)
        for r in rows:
            if r.ifindex is None or r.state is EndpointState.DETACHING:
                continue
            if r.state is EndpointState.ACTIVE or owner_alive(r.owner):
                return r
        return None

    def close(self) -> None:
        """Close the host connection and namespace (not the store)."""
        if self.closed:
            return
        self.closed = True
        if self._host is not None:
            self._host.close()
        if self._hostns is not None:
            self._hostns.close()
