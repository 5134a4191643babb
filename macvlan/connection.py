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
from macvlan._netlink import ifla
from macvlan._netlink.attr import Attr
from macvlan._netlink.constants import MacaddrMode, MacvlanFlags, MacvlanMode, NlmF, RtmType
from macvlan._netlink.message import Message
from macvlan._netlink.socket import NetlinkSocket
from macvlan.address import Address
from macvlan.errors import LinkNotFound, NetlinkError
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


def _parent_key(parent: object) -> object:
    if isinstance(parent, Link):
        return parent.index
    if isinstance(parent, bool) or not isinstance(parent, int | str):
        raise TypeError(f"a parent is a link name, an index or a Link, not {parent!r}")
    return parent


def _echo(message: Message, parent_index: int) -> Message:
    """``message`` with its parent index filled in and ``NLM_F_ECHO`` set, so that the
    kernel answers a creation with the new link itself (Linux 6.3+)."""
    attrs = [
        Attr(ifla.LINK, parent_index) if isinstance(a, Attr) and a.spec is ifla.LINK else a
        for a in message.attrs
    ]
    return Message(message.type, message.flags | NlmF.ECHO, body=message.body, attrs=attrs)


def _echoed_link(replies: Sequence[Message], name: str) -> Link | None:
    for reply in replies:
        if reply.type == RtmType.NEWLINK:
            link = Link.from_message(reply)
            if link.name == name:
                return link
    return None


def _with_reason(err: NetlinkError, why: str) -> NetlinkError:
    """A copy of ``err`` whose message ends with ``why`` (same type, errno, ext_ack)."""
    out = type(err)(err.errno or 0, err.ext_ack, err.request)
    out.strerror = f"{out.strerror} ({why})"
    return out


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

    def _check_spec(self, spec: MacvlanSpec) -> Message:
        """Refuse a bad spec (ValueError/TypeError) before anything is sent.

        Returns the creating message for this namespace, parent index still 0.
        """
        if not isinstance(spec, MacvlanSpec):
            raise TypeError(f"expected a MacvlanSpec, not {spec!r}")
        check_ifname(spec.name)
        check_up(spec.up)
        message = self._macvlan_message(spec, 0, spec.name, None, spec.up)
        if spec.netns is not None and not isinstance(spec.netns, Namespace | str):
            raise TypeError(f"netns must be a Namespace or a namespace name, not {spec.netns!r}")
        return message

    def _parent_index(self, parent: LinkRef) -> int:
        _parent_key(parent)
        return self._index(parent)

    def _explain(self, err: NetlinkError, spec: MacvlanSpec, parent_index: int) -> NetlinkError:
        """Add the likely reason to an EINVAL the kernel gave without extended ack.

        The kernel says nothing when a passthru link meets a sibling or when the MTU
        is above the parent's; one lookup (only after a failure) can say which.
        """
        if err.errno != errno.EINVAL or err.ext_ack:
            return err
        try:
            parent = self.link(parent_index)
            siblings = [
                link
                for link in self.links(parent=parent_index)
                if link.kind in MACVLAN_KINDS and link.name != spec.name
            ]
        except NetlinkError:
            return err
        passthru = [
            s for s in siblings if s.macvlan is not None and s.macvlan.mode == MacvlanMode.PASSTHRU
        ]
        if passthru:
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
        return _with_reason(err, why)

    def _create_here(self, spec: MacvlanSpec, message: Message, parent_index: int) -> Link:
        try:
            replies = self._request(
                _echo(message, parent_index), f"create {spec.kind} {spec.name!r}"
            )
        except NetlinkError as exc:
            raise self._explain(exc, spec, parent_index) from None
        return _echoed_link(replies, spec.name) or self.link(spec.name)

    def _create_there(
        self, spec: MacvlanSpec, parent_index: int, ns: Namespace, there: Connection
    ) -> Link:
        """Create in ``ns`` under a temporary name (the kernel may check the name here
        too), then rename and bring up inside ``ns`` through ``there``."""
        temp = _temp_name()
        message = self._macvlan_message(spec, parent_index, temp, ns.fd, False)
        try:
            self._request(message, f"create {spec.kind} {spec.name!r} in {ns.name or ns.path}")
        except NetlinkError as exc:
            raise self._explain(exc, spec, parent_index) from None
        try:
            return there.set_link(temp, name=spec.name, up=spec.up or None)
        except BaseException:
            there.delete_link(temp, missing_ok=True)
            raise

    def _create(self, spec: MacvlanSpec) -> Link:
        message = self._check_spec(spec)
        if spec.netns is None:
            return self._create_here(spec, message, self._parent_index(spec.parent))
        ns, owned = _open_namespace(spec.netns)
        try:
            parent_index = self._parent_index(spec.parent)
            with Connection(ns) as there:
                return self._create_there(spec, parent_index, ns, there)
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
                source_macs if isinstance(source_macs, str | bytes) else tuple(source_macs),
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
                source_macs if isinstance(source_macs, str | bytes) else tuple(source_macs),
                txqueuelen,
                group,
                "macvtap",
                netns,
            )
        )

    def create_macvlans(self, specs: Iterable[MacvlanSpec]) -> list[Link]:
        """Create many links pipelined on this socket; all or none, in spec order.

        Every spec is checked before anything is sent.  If any creation fails, the
        links this call created (here and in other namespaces) are deleted again and
        the first error is raised.
        """
        specs = list(specs)
        messages = [self._check_spec(spec) for spec in specs]
        opened: list[Namespace] = []
        try:
            where: list[Namespace | None] = []
            for spec in specs:
                if spec.netns is None:
                    where.append(None)
                    continue
                ns, owned = _open_namespace(spec.netns)
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
                key = _parent_key(spec.parent)
                if key not in parents:
                    parents[key] = self._parent_index(spec.parent)
            return self._create_many(specs, messages, where, parents)
        finally:
            for ns in opened:
                ns.close()

    def _create_many(
        self,
        specs: list[MacvlanSpec],
        messages: list[Message],
        where: list[Namespace | None],
        parents: dict[Any, int],
    ) -> list[Link]:
        here = [i for i, ns in enumerate(where) if ns is None]
        results = self._sock.batch(
            [_echo(messages[i], parents[_parent_key(specs[i].parent)]) for i in here],
            [f"create {specs[i].kind} {specs[i].name!r}" for i in here],
        )
        made: dict[int, Link | None] = {}
        remote_made: list[tuple[Namespace, int]] = []
        conns: dict[Namespace, Connection] = {}
        try:
            for i, (replies, err) in zip(here, results, strict=True):
                if err is None:
                    made[i] = _echoed_link(replies, specs[i].name)
            for i, (_, err) in zip(here, results, strict=True):
                if err is not None:
                    spec = specs[i]
                    raise self._explain(err, spec, parents[_parent_key(spec.parent)])
            for i, (spec, ns) in enumerate(zip(specs, where, strict=True)):
                if ns is None:
                    continue
                there = conns.get(ns)
                if there is None:
                    there = conns[ns] = Connection(ns)
                link = self._create_there(spec, parents[_parent_key(spec.parent)], ns, there)
                remote_made.append((ns, link.index))
                made[i] = link
        except BaseException:
            self.delete_links([specs[i].name for i in made if where[i] is None], missing_ok=True)
            for ns, index in remote_made:
                conn = conns.get(ns)
                if conn is not None:
                    conn.delete_link(index, missing_ok=True)
            raise
        finally:
            for conn in conns.values():
                conn.close()
        if any(made[i] is None for i in here):  # a kernel without NLM_F_ECHO: read back
            wanted = {specs[i].name for i in here}
            found = {x.name: x for x in self.links() if x.name in wanted}
            for i in here:
                if made[i] is None:
                    made[i] = found.get(specs[i].name) or self.link(specs[i].name)
        return [made[i] or self.link(specs[i].name) for i in range(len(specs))]

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
        check_up(up)
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
        check_up(up, optional=True)
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
                if current.kind not in _link.MACVLAN_KINDS or current.macvlan is None:
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
                data = _link.macvlan_data(mode_, flags_, None, None, macs, source_op)
                attrs.append(ifla.LINKINFO([ifla.INFO_KIND(current.kind), ifla.INFO_DATA(data)]))
            message = _link.set_link(current.index, up=up, attrs=attrs)
            try:
                self._request(message, f"change link {current.name!r}")
            except NetlinkError as exc:
                raise self._explain_change(exc, current, mtu) from None
            if more:
                self._more_sources(current, source_op, macs or [], more)
            final_name = name or current.name
            if ns is None:
                return self.link(current.index)
            with Connection(ns) as there:
                return there.link(final_name)
        finally:
            if owned and ns is not None:
                ns.close()

    def _more_sources(
        self, current: Link, op: MacaddrMode, first: list[MacAddress], more: list[MacAddress]
    ) -> None:
        """Send the rest of a multi-MAC ADD/DEL, one message per MAC, pipelined.

        If an ADD fails half-way, the addresses this call added are deleted again.
        """
        kind = ifla.INFO_KIND(current.kind or "macvlan")

        def message(mode: MacaddrMode, mac: MacAddress) -> Message:
            data = ifla.INFO_DATA(_link.source_mac_attrs(mode, [mac]))
            return _link.set_link(current.index, attrs=[ifla.LINKINFO([kind, data])])

        what = f"change source MACs of {current.name!r}"
        results = self._sock.batch([message(op, m) for m in more], [what] * len(more))
        errors = [err for _, err in results if err is not None]
        if not errors:
            return
        if op == MacaddrMode.ADD:
            had = set(current.macvlan.source_macs) if current.macvlan else set()
            done = first + [m for m, (_, err) in zip(more, results, strict=True) if err is None]
            undo = [message(MacaddrMode.DEL, m) for m in done if m not in had]
            if undo:
                self._sock.batch(undo)
        raise errors[0]

    def _explain_change(self, err: NetlinkError, current: Link, mtu: int | None) -> NetlinkError:
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
            parent = self.link(current.parent_index)
        except NetlinkError:
            return err
        if mtu <= parent.mtu:
            return err
        return _with_reason(
            err, f"mtu {mtu} is above the mtu {parent.mtu} of the parent {parent.name!r}"
        )

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
        messages = [_link.set_link(link.index, attrs=[ifla.GROUP(group)]) for link in targets]
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
        messages = [_link.set_link(link.index, attrs=[ifla.GROUP(link.group)]) for link in links]
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
        if metric is not None and (
            isinstance(metric, bool) or not isinstance(metric, int) or not 0 <= metric < 2**32
        ):
            raise ValueError(f"metric {metric!r} is not an int in 0..{2**32 - 1}")
        kw = {"gateway": gw, "oif": None, "metric": metric, "table": table, "src": source}
        _route.new_route(network, **kw)  # refuse bad input before the link lookup
        kw["oif"] = None if link is None else self._index(link)
        return network, kw

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
