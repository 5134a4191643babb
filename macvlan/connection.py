"""The synchronous rtnetlink connection: create, inspect, change and delete links,
addresses and routes in one network namespace.

>>> with macvlan.connect() as rt:                      # doctest: +SKIP
...     rt.create_macvlan("mv0", parent="eth0", mode=MacvlanMode.BRIDGE)

The operations themselves live in :mod:`macvlan._operations` as sans-IO generators; this
module drives them over a blocking :class:`NetlinkSocket` (and
:mod:`macvlan.aio` drives the same generators over the event loop).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from macvlan import _operations as operations
from macvlan._fronts_routing import RoutingMethods
from macvlan._netlink.message import Message
from macvlan._netlink.socket import NetlinkSocket
from macvlan._operations import (
    Batch,
    Dump,
    IfIndex,
    InNamespace,
    LinkRef,
    NetnsRef,
    ParsedDump,
    Request,
)
from macvlan.link import Link, MacaddrMode, MacLike, MacvlanFlags, MacvlanMode, MacvlanSpec
from macvlan.namespace import Namespace

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing, addresses and the monitor load when first used
    from typing import Any, TypeVar

    from macvlan.address import Address
    from macvlan.monitor import Monitor

    T = TypeVar("T")

__all__ = ["Connection", "LinkRef", "NetnsRef", "connect"]


def connect(netns: NetnsRef | None = None) -> Connection:
    """Open an rtnetlink connection in the current namespace or in ``netns``.

    The caller's thread never changes namespace: the socket is opened by a short
    helper thread inside ``netns`` and keeps working there.
    """
    return Connection(netns)


class Connection(RoutingMethods):
    """One rtnetlink socket in one network namespace (thread-safe; close it).

    ``parent``, ``link`` and ``ref`` arguments take a name, an index or a
    :class:`Link`; ``netns`` takes a :class:`Namespace` or a name under /run/netns.
    """

    def __init__(self, netns: NetnsRef | None = None) -> None:
        self.netns: Namespace | None = None
        self._owns_netns = False
        if netns is None:
            self._sock = NetlinkSocket()
        else:
            ns, owned = operations.open_namespace(netns)
            try:
                self._sock = ns.run(NetlinkSocket)
            except BaseException:
                if owned:
                    ns.close()
                raise
            self.netns, self._owns_netns = ns, owned

    # -- lifetime --------------------------------------------------------------------
    def close(self) -> None:
        """Close the socket, and the namespace handle if this connection opened it."""
        self._sock.close()
        if self._owns_netns and self.netns is not None:
            self.netns.close()

    @property
    def closed(self) -> bool:
        """Whether the socket is closed."""
        return self._sock.closed

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "current namespace" if self.netns is None else repr(self.netns)
        return f"<macvlan.Connection in {where}{' (closed)' if self.closed else ''}>"

    # -- the driver ----------------------------------------------------------------------
    def _run(self, op: operations.Op[T]) -> T:
        """Carry out an operation's effects on this socket; return what it returns."""
        conns: dict[Namespace, Connection] = {}
        try:
            return self._drive(op, conns)
        finally:
            for conn in conns.values():
                conn.close()

    def _drive(self, op: operations.Op[T], conns: dict[Namespace, Connection]) -> T:
        sock = self._sock
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = op.send(value) if error is None else op.throw(error)
            except StopIteration as done:
                result: T = done.value
                return result
            value = error = None
            try:
                if type(effect) is Request:
                    value = sock.request(effect.message, effect.what)
                elif type(effect) is Batch:
                    value = sock.batch(effect.messages, effect.whats)
                elif type(effect) is IfIndex:
                    value = sock.index_of(effect.name)
                elif type(effect) is Dump:
                    value = sock.dump(effect.message, effect.what)
                elif type(effect) is ParsedDump:
                    value = sock.dump_parsed(effect.message, effect.parse, effect.what)
                elif type(effect) is InNamespace:
                    there = conns.get(effect.ns)
                    if there is None:
                        there = conns[effect.ns] = Connection(effect.ns)
                    value = there._drive(effect.op, conns)
                else:
                    raise TypeError(f"an operation yielded {effect!r}, not an effect")
            except BaseException as exc:  # the operation decides: roll back, explain, raise
                error = exc

    def _request(self, message: Message, what: str) -> list[Message]:
        return self._sock.request(message, what)

    def _in(self, netns: NetnsRef) -> Connection:
        return Connection(netns)

    # -- links -----------------------------------------------------------------------------
    def link(self, link: LinkRef) -> Link:
        """Ask the kernel for one link by name or index (no dump)."""
        return self._run(operations.link(link))

    def links(
        self,
        *,
        kind: str | None = None,
        parent: LinkRef | None = None,
        group: int | None = None,
        mac: MacLike | None = None,
    ) -> list[Link]:
        """All links, or those of one kind, parent, group or MAC (kind filtered in the kernel)."""
        return self._run(operations.links(kind=kind, parent=parent, group=group, mac=mac))

    def create_macvlan(
        self,
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
    ) -> Link:
        """Create a macvlan on ``parent``; the MAC is set in the creating message."""
        return self._run(
            operations.create_macvlan(
                name,
                parent,
                mode,
                mac=mac,
                mtu=mtu,
                up=up,
                netns=netns,
                flags=flags,
                bcqueuelen=bcqueuelen,
                bc_cutoff=bc_cutoff,
                source_macs=source_macs,
                txqueuelen=txqueuelen,
                group=group,
                kind="macvlan",
            )
        )

    def create_macvtap(
        self,
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
    ) -> Link:
        """Create a macvtap (a macvlan with a /dev/tapN character device)."""
        return self._run(
            operations.create_macvlan(
                name,
                parent,
                mode,
                mac=mac,
                mtu=mtu,
                up=up,
                netns=netns,
                flags=flags,
                bcqueuelen=bcqueuelen,
                bc_cutoff=bc_cutoff,
                source_macs=source_macs,
                txqueuelen=txqueuelen,
                group=group,
                kind="macvtap",
            )
        )

    def create_macvlans(self, specs: Iterable[MacvlanSpec]) -> list[Link]:
        """Create many links pipelined on this socket; all or none, in spec order.

        Every spec is checked before anything is sent.  If any creation fails, the
        links this call created (here and in other namespaces) are deleted again and
        the first error is raised.
        """
        return self._run(operations.create_macvlans(specs))

    def create_veth(
        self,
        name: str,
        peer: str,
        *,
        peer_netns: NetnsRef | None = None,
        mtu: int | None = None,
        mac: MacLike | None = None,
        peer_mac: MacLike | None = None,
        up: bool = False,
    ) -> Link:
        """Create a veth pair; the peer may go straight into ``peer_netns``."""
        return self._run(
            operations.create_veth(
                name, peer, peer_netns=peer_netns, mtu=mtu, mac=mac, peer_mac=peer_mac, up=up
            )
        )

    def create_vlan(
        self, name: str, parent: LinkRef, vlan_id: int, *, protocol: int | None = None
    ) -> Link:
        """Create 802.1Q VLAN ``vlan_id`` on ``parent`` (needs the kernel's 8021q module)."""
        return self._run(operations.create_vlan(name, parent, vlan_id, protocol=protocol))

    def set_link(
        self,
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
    ) -> Link:
        """Change a link; returns its new state (read in ``netns`` after a move).

        ``source_macs`` with ``source_op`` (SET, ADD, DEL or FLUSH) edits a
        source-mode macvlan's MAC list.  ``alias`` sets the link's alias (``""``
        removes it); ``promisc`` and ``allmulti`` switch promiscuous and
        all-multicast mode; ``bcqueuelen`` and ``bc_cutoff`` change a macvlan's
        broadcast queue.  ``bc_cutoff`` is one value per *parent*: the kernel keeps
        it on the lower device's port, so setting it on one macvlan changes it for
        every macvlan on that parent (the last writer wins).
        """
        return self._run(
            operations.set_link(
                ref,
                up=up,
                mtu=mtu,
                mac=mac,
                name=name,
                netns=netns,
                mode=mode,
                flags=flags,
                group=group,
                txqueuelen=txqueuelen,
                source_macs=source_macs,
                source_op=source_op,
                alias=alias,
                promisc=promisc,
                allmulti=allmulti,
                bcqueuelen=bcqueuelen,
                bc_cutoff=bc_cutoff,
            )
        )

    def delete_link(self, link: LinkRef, *, missing_ok: bool = False) -> None:
        """Delete one link (each deletion waits for an RCU grace period)."""
        return self._run(operations.delete_link(link, missing_ok=missing_ok))

    def delete_links(self, links: Iterable[LinkRef], *, missing_ok: bool = False) -> int:
        """Delete many links in one kernel batch; returns how many were deleted.

        The links are moved into a fresh link group and the group is deleted with
        one ``RTM_DELLINK`` — one RCU wait for all instead of one each.
        """
        return self._run(operations.delete_links(links, missing_ok=missing_ok))

    # -- addresses ---------------------------------------------------------------------
    def add_address(self, link: LinkRef, address: object, *, nodad: bool = False) -> None:
        """Add ``"10.0.0.2/24"`` or ``"fd00::2/64"`` to a link (IPv6: ``nodad`` skips DAD)."""
        return self._run(operations.add_address(link, address, nodad=nodad))

    def delete_address(self, link: LinkRef, address: object) -> None:
        """Remove ``"10.0.0.2/24"`` or ``"fd00::2/64"`` from a link."""
        return self._run(operations.delete_address(link, address))

    def addresses(self, link: LinkRef | None = None, *, family: int | None = None) -> list[Address]:
        """Addresses of one link or of all (the kernel filters by link)."""
        return self._run(operations.addresses(link, family=family))

    # -- events --------------------------------------------------------------------------
    def watch(
        self,
        *,
        links: bool = True,
        addresses: bool = True,
        routes: bool = False,
        neighbours: bool = False,
        rules: bool = False,
    ) -> Monitor:
        """A :class:`Monitor` of events in this connection's namespace: links and
        addresses unless told otherwise; routes, neighbours and rules when asked."""
        from macvlan.monitor import Monitor

        groups = Monitor.groups(
            links=links, addresses=addresses, routes=routes, neighbours=neighbours, rules=rules
        )
        if self.netns is None:
            return Monitor(NetlinkSocket(groups))
        return Monitor(self.netns.run(NetlinkSocket, groups))
