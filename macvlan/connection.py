"""The synchronous rtnetlink connection: create, inspect, change and delete links,
addresses and routes in one network namespace.

>>> with macvlan.connect() as rt:                      # doctest: +SKIP
...     rt.create_macvlan("mv0", parent="eth0", mode=MacvlanMode.BRIDGE)
"""

from __future__ import annotations

import errno
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from macvlan import address as _address
from macvlan import link as _link
from macvlan import route as _route
from macvlan._netlink.constants import MacaddrMode, MacvlanFlags, MacvlanMode, RtmType
from macvlan._netlink.message import Message
from macvlan._netlink.socket import NetlinkSocket
from macvlan.address import Address
from macvlan.errors import LinkNotFound, NetlinkError
from macvlan.link import Link, MacLike, MacvlanSpec, check_ifname, to_mac
from macvlan.mac import MacAddress
from macvlan.monitor import Monitor
from macvlan.namespace import Namespace
from macvlan.route import Route

LinkRef = int | str | Link
NetnsRef = Namespace | str

__all__ = ["Connection", "LinkRef", "NetnsRef", "connect"]


def connect(netns: NetnsRef | None = None) -> Connection:
    """Open an rtnetlink connection in the current namespace or in ``netns``.

    The caller's thread never changes namespace: the socket is opened by a short
    helper thread inside ``netns`` and keeps working there.
    """
    return Connection(netns)


def _open_namespace(netns: object) -> tuple[Namespace, bool]:
    """The Namespace for ``netns`` and whether we opened it (and must close it)."""
    if isinstance(netns, Namespace):
        return netns, False
    if isinstance(netns, str):
        return Namespace.open(netns), True
    raise TypeError(f"netns must be a Namespace or a namespace name, not {netns!r}")


def _temp_name() -> str:
    return "mvtmp" + secrets.token_hex(5)


class Connection:
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
            ns, owned = _open_namespace(netns)
            try:
                self._sock = ns.run(NetlinkSocket)
            except BaseException:
                if owned:
                    ns.close()
                raise
            self.netns, self._owns_netns = ns, owned

    # -- lifetime --------------------------------------------------------------------
    def close(self) -> None:
        self._sock.close()
        if self._owns_netns and self.netns is not None:
            self.netns.close()

    @property
    def closed(self) -> bool:
        return self._sock.closed

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "current namespace" if self.netns is None else repr(self.netns)
        return f"<macvlan.Connection in {where}{' (closed)' if self.closed else ''}>"

    # -- plumbing ----------------------------------------------------------------------
    def _request(self, message: Message, what: str) -> list[Message]:
        return self._sock.request(message, what)

    def _index(self, ref: LinkRef) -> int:
        if isinstance(ref, Link):
            return ref.index
        if isinstance(ref, bool):
            raise TypeError(f"a link is a name, an index or a Link, not {ref!r}")
        if isinstance(ref, int):
            if ref <= 0:
                raise ValueError(f"link index must be positive, not {ref}")
            return ref
        if isinstance(ref, str):
            return self.link(ref).index
        raise TypeError(f"a link is a name, an index or a Link, not {ref!r}")

    def _lookup_key(self, ref: LinkRef) -> int | str:
        """An index or a validated name, without a round trip."""
        if isinstance(ref, Link):
            return ref.index
        if isinstance(ref, str):
            return check_ifname(ref)
        return self._index(ref)

    def _in(self, netns: NetnsRef) -> Connection:
        return Connection(netns)

    # -- links -----------------------------------------------------------------------------
    def link(self, ref: LinkRef) -> Link:
        """Ask the kernel for one link by name or index (no dump)."""
        key = self._lookup_key(ref)
        replies = self._request(_link.get_link(key), f"link {key!r}")
        for reply in replies:
            if reply.type == RtmType.NEWLINK:
                return Link.from_message(reply)
        raise LinkNotFound(errno.ENODEV, request=f"link {key!r}")

    def links(
        self, *, kind: str | None = None, parent: LinkRef | None = None, group: int | None = None
    ) -> list[Link]:
        """All links, or those of one kind, parent or group (kind filtered in the kernel)."""
        parent_index = None if parent is None else self._index(parent)
        replies = self._sock.dump(_link.dump_links(kind), "list links")
        out = []
        for reply in replies:
            if reply.type != RtmType.NEWLINK:
                continue
            link = Link.from_message(reply)
            if kind is not None and link.kind != kind:
                continue
            if parent_index is not None and (
                link.parent_index != parent_index or link.netnsid is not None
            ):
                continue
            if group is not None and link.group != group:
                continue
            out.append(link)
        return out

    def _macvlan_message(
        self, spec: MacvlanSpec, parent_index: int, name: str, netns_fd: int | None, up: bool
    ) -> Message:
        mac = to_mac(spec.mac)
        sources = [m if isinstance(m, MacAddress) else MacAddress(m) for m in spec.source_macs]
        return _link.new_macvlan(
            name,
            parent_index,
            spec.kind,
            mode=_link.check_mode(spec.mode),
            flags=_link.check_flags(spec.flags),
            mac=mac,
            mtu=spec.mtu,
            up=up,
            bcqueuelen=spec.bcqueuelen,
            bc_cutoff=spec.bc_cutoff,
            source_macs=sources,
            txqueuelen=spec.txqueuelen,
            group=spec.group,
            netns_fd=netns_fd,
        )

    def _create(self, spec: MacvlanSpec) -> Link:
        check_ifname(spec.name)
        if spec.netns is None:
            message = self._macvlan_message(spec, 0, spec.name, None, spec.up)  # validate
            parent_index = self._index(spec.parent)
            message = self._macvlan_message(spec, parent_index, spec.name, None, spec.up)
            self._request(message, f"create {spec.kind} {spec.name!r}")
            return self.link(spec.name)
        # In another namespace: create under a temporary name (the kernel may check
        # the name here too), then rename and bring up inside the target namespace.
        temp = _temp_name()
        self._macvlan_message(spec, 0, temp, None, False)  # validate before anything
        ns, owned = _open_namespace(spec.netns)
        try:
            parent_index = self._index(spec.parent)
            message = self._macvlan_message(spec, parent_index, temp, ns.fd, False)
            self._request(message, f"create {spec.kind} {spec.name!r} in {ns.name or ns.path}")
            with Connection(ns) as there:
                try:
                    return there.set_link(temp, name=spec.name, up=spec.up or None)
                except BaseException:
                    there.delete_link(temp, missing_ok=True)
                    raise
        finally:
            if owned:
                ns.close()

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
        return self._create(
            MacvlanSpec(
                name,
                parent,
                _link.check_mode(mode),
                mac,
                mtu,
                up,
                flags,
                bcqueuelen,
                bc_cutoff,
                tuple(source_macs),
                txqueuelen,
                group,
                "macvlan",
                netns,
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
        return self._create(
            MacvlanSpec(
                name,
                parent,
                _link.check_mode(mode),
                mac,
                mtu,
                up,
                flags,
                bcqueuelen,
                bc_cutoff,
                tuple(source_macs),
                txqueuelen,
                group,
                "macvtap",
                netns,
            )
        )

    def create_macvlans(self, specs: Iterable[MacvlanSpec]) -> list[Link]:
        """Create many links pipelined on this socket; all or none.

        If any creation fails, the ones this call created are deleted again and the
        first error is raised.
        """
        specs = list(specs)
        local = [s for s in specs if s.netns is None]
        names = [check_ifname(s.name) for s in specs]
        if len(set(names)) != len(names):
            raise ValueError("create_macvlans: the same name is given twice")
        parents: dict[Any, int] = {}
        messages = []
        for spec in local:
            self._macvlan_message(spec, 0, spec.name, None, spec.up)  # validate all first
        for spec in local:
            key = spec.parent.index if isinstance(spec.parent, Link) else spec.parent
            if key not in parents:
                parents[key] = self._index(spec.parent)
            messages.append(self._macvlan_message(spec, parents[key], spec.name, None, spec.up))
        results = self._sock.batch(messages, [f"create {s.kind} {s.name!r}" for s in local])
        failures = [err for _, err in results if err is not None]
        created = [s.name for s, (_, err) in zip(local, results, strict=True) if err is None]
        remote: list[Link] = []
        try:
            if failures:
                raise failures[0]
            remote = [self._create(s) for s in specs if s.netns is not None]
        except BaseException:
            self.delete_links(created, missing_ok=True)
            raise
        wanted = set(created)
        by_name = {link.name: link for link in self.links() if link.name in wanted}
        return [by_name[n] if n in by_name else self.link(n) for n in created] + remote

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
        check_ifname(peer)
        ns, owned = (None, False) if peer_netns is None else _open_namespace(peer_netns)
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
            self._request(message, f"create veth {name!r}/{peer!r}")
        finally:
            if owned and ns is not None:
                ns.close()
        return self.link(name)

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
    ) -> Link:
        """Change a link; returns its new state (read in ``netns`` after a move).

        ``source_macs`` with ``source_op`` (SET, ADD, DEL or FLUSH) edits a
        source-mode macvlan's MAC list.
        """
        mode_ = None if mode is None else _link.check_mode(mode)
        flags_ = None if flags is None else _link.check_flags(flags)
        macs = None
        if source_macs is not None or source_op == MacaddrMode.FLUSH:
            macs = [m if isinstance(m, MacAddress) else MacAddress(m) for m in source_macs or ()]
        mac_ = to_mac(mac)
        if name is not None:
            check_ifname(name)
        ns, owned = (None, False) if netns is None else _open_namespace(netns)
        try:
            attrs = _link.common_attrs(
                name=name,
                mac=mac_,
                mtu=mtu,
                txqueuelen=txqueuelen,
                group=group,
                netns_fd=None if ns is None else ns.fd,
            )
            current = self.link(ref)
            if mode_ is not None or flags_ is not None or macs is not None:
                if current.kind not in _link.MACVLAN_KINDS:
                    raise ValueError(
                        f"{current.name!r} is a {current.kind or 'plain'} link, "
                        "not a macvlan or macvtap"
                    )
                data = _link.macvlan_data(mode_, flags_, None, None, macs, source_op)
                attrs.append(
                    _link.ifla.LINKINFO(
                        [_link.ifla.INFO_KIND(current.kind), _link.ifla.INFO_DATA(data)]
                    )
                )
            message = _link.set_link(current.index, up=up, attrs=attrs)
            self._request(message, f"change link {current.name!r}")
            final_name = name or current.name
            if ns is None:
                return self.link(current.index)
            with Connection(ns) as there:
                return there.link(final_name)
        finally:
            if owned and ns is not None:
                ns.close()

    def delete_link(self, ref: LinkRef, *, missing_ok: bool = False) -> None:
        """Delete one link (each deletion waits for an RCU grace period)."""
        key = self._lookup_key(ref)
        try:
            self._request(_link.del_link(key), f"delete link {key!r}")
        except LinkNotFound:
            if not missing_ok:
                raise

    def delete_links(self, refs: Iterable[LinkRef], *, missing_ok: bool = False) -> int:
        """Delete many links in one kernel batch; returns how many were deleted.

        The links are moved into a fresh link group and the group is deleted with
        one ``RTM_DELLINK`` — one RCU wait for all instead of one each.
        """
        keys = [self._lookup_key(r) for r in refs]
        if not keys:
            return 0
        existing = self.links()
        used_groups = {link.group for link in existing}
        by_key: dict[int | str, Link] = {link.index: link for link in existing}
        by_key.update({link.name: link for link in existing})
        group = secrets.randbelow(2**31 - 2**20) + 2**20
        while group in used_groups:
            group = secrets.randbelow(2**31 - 2**20) + 2**20
        targets = []
        for key in keys:
            link = by_key.get(key)
            if link is None:
                if not missing_ok:
                    raise LinkNotFound(errno.ENODEV, request=f"delete link {key!r}")
                continue
            targets.append(link)
        targets = list({link.index: link for link in targets}.values())
        messages = [_link.set_link(link.index, attrs=[_link.ifla.GROUP(group)]) for link in targets]
        results = self._sock.batch(messages, [f"group link {link.name!r}" for link in targets])
        moved = [link for link, (_, err) in zip(targets, results, strict=True) if err is None]
        errors = [err for _, err in results if err is not None]
        hard = [e for e in errors if not isinstance(e, LinkNotFound)]
        if hard or (errors and not missing_ok):
            self._restore_groups(moved)
            raise (hard or errors)[0]
        if not moved:
            return 0
        try:
            self._request(_link.del_group(group), f"delete {len(moved)} links")
        except NetlinkError:
            self._restore_groups(moved)
            raise
        return len(moved)

    def _restore_groups(self, links: Sequence[Link]) -> None:
        messages = [
            _link.set_link(link.index, attrs=[_link.ifla.GROUP(link.group)]) for link in links
        ]
        if messages:
            self._sock.batch(messages)

    # -- addresses ---------------------------------------------------------------------
    def add_address(self, ref: LinkRef, address: object, *, nodad: bool = False) -> None:
        """Add ``"10.0.0.2/24"`` or ``"fd00::2/64"`` to a link (IPv6: ``nodad`` skips DAD)."""
        interface = _address.to_interface(address)
        message = _address.new_address(0, interface, nodad=nodad)  # validate first
        index = self._index(ref)
        message = _address.new_address(index, interface, nodad=nodad)
        self._request(message, f"add address {interface} to link {index}")

    def delete_address(self, ref: LinkRef, address: object) -> None:
        interface = _address.to_interface(address)
        index = self._index(ref)
        self._request(
            _address.del_address(index, interface), f"delete address {interface} from link {index}"
        )

    def addresses(self, ref: LinkRef | None = None, *, family: int | None = None) -> list[Address]:
        """Addresses of one link or of all (the kernel filters by link)."""
        index = 0 if ref is None else self._index(ref)
        replies = self._sock.dump(_address.dump_addresses(index, family or 0), "list addresses")
        out = [Address.from_message(r) for r in replies if r.type == RtmType.NEWADDR]
        return [a for a in out if not index or a.index == index]

    # -- routes --------------------------------------------------------------------------
    def _route_args(
        self,
        dst: object,
        gateway: object,
        link: LinkRef | None,
        metric: int | None,
        table: int | None,
        src: object,
    ) -> tuple[Any, dict[str, Any]]:
        gw = None if gateway is None else _route.to_ip(gateway, "gateway")
        source = None if src is None else _route.to_ip(src, "src")
        network = _route.to_network(dst, gw.version if gw is not None else None)
        if metric is not None and not 0 <= metric < 2**32:
            raise ValueError(f"metric {metric} is outside 0..{2**32 - 1}")
        oif = None if link is None else self._index(link)
        return network, {"gateway": gw, "oif": oif, "metric": metric, "table": table, "src": source}

    def add_route(
        self,
        dst: object = "default",
        *,
        gateway: object = None,
        link: LinkRef | None = None,
        metric: int | None = None,
        table: int | None = None,
        src: object = None,
    ) -> None:
        """Add a route: ``add_route("default", gateway="10.0.0.1", link="mv0")``."""
        if gateway is None and link is None:
            raise ValueError("a route needs a gateway, a link or both")
        network, kw = self._route_args(dst, gateway, link, metric, table, src)
        self._request(_route.new_route(network, **kw), f"add route {network}")

    def delete_route(
        self,
        dst: object = "default",
        *,
        gateway: object = None,
        link: LinkRef | None = None,
        metric: int | None = None,
        table: int | None = None,
        src: object = None,
    ) -> None:
        network, kw = self._route_args(dst, gateway, link, metric, table, src)
        self._request(_route.del_route(network, **kw), f"delete route {network}")

    def routes(
        self, *, family: int | None = None, link: LinkRef | None = None, table: int = 254
    ) -> list[Route]:
        """Routes of one table (main by default), optionally only via one link."""
        oif = None if link is None else self._index(link)
        replies = self._sock.dump(_route.dump_routes(family or 0, table), "list routes")
        out = [Route.from_message(r) for r in replies if r.type == RtmType.NEWROUTE]
        return [r for r in out if (oif is None or r.oif == oif) and (not table or r.table == table)]

    # -- events --------------------------------------------------------------------------
    def watch(self, *, links: bool = True, addresses: bool = True) -> Monitor:
        """A :class:`Monitor` of link/address events in this connection's namespace."""
        groups = Monitor.groups(links=links, addresses=addresses)
        if self.netns is None:
            return Monitor(NetlinkSocket(groups))
        return Monitor(self.netns.run(NetlinkSocket, groups))
