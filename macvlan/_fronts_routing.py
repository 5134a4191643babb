"""The route, rule, neighbour, statistics and alternative-name methods of
:class:`macvlan.Connection` and :class:`macvlan.aio.AsyncConnection`.

Each method only hands the operation of :mod:`macvlan._operations.routing` to the
connection's driver (``_run``); the two classes here are mixed into the fronts.
"""

from __future__ import annotations

from collections.abc import Sequence

from macvlan._operations.effects import LinkRef, Op
from macvlan.link import Link, MacLike

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    from macvlan._operations import routing
    from macvlan.neighbour import Neighbour
    from macvlan.route import NextHop, Route
    from macvlan.rule import Rule
    from macvlan.stats import LinkStats
else:
    from macvlan._typing import TypeVar

    class _OnFirstUse:
        """``macvlan._operations.routing``, imported when a method first needs it: opening a
        connection does not load the route, rule, neighbour and stats modules (nor
        ipaddress), which a program that only makes links never uses."""

        def __getattr__(self, name: str) -> object:
            from macvlan._operations import routing

            return getattr(routing, name)

    routing = _OnFirstUse()

T = TypeVar("T")


class RoutingMethods:
    """Routes, rules, neighbours, statistics and alternative names (blocking)."""

    def _run(self, op: Op[T]) -> T:  # the driver: macvlan.Connection._run
        raise NotImplementedError

    # -- routes ----------------------------------------------------------------------------
    def add_route(
        self,
        dst: object = "default",
        gateway: object = None,
        link: LinkRef | None = None,
        table: int | None = None,
        metric: int | None = None,
        onlink: bool = False,
        replace: bool = False,
        type: object = None,
        nexthops: Sequence[NextHop] | None = None,
        *,
        src: object = None,
    ) -> None:
        """Add a route: ``add_route("default", gateway="10.0.0.1", link="mv0")``.

        ``replace`` overwrites a route to the same destination (``ip route
        replace``); ``onlink`` takes the gateway as on the link even without a
        route to it; ``type`` is a :class:`RouteType` or its name (``"blackhole"``,
        ``"unreachable"``, ``"prohibit"``, ...); ``nexthops`` a list of
        :class:`NextHop` for a multipath route; ``src`` the preferred source address.
        """
        return self._run(
            routing.add_route(
                dst,
                gateway=gateway,
                link=link,
                table=table,
                metric=metric,
                onlink=onlink,
                replace=replace,
                type=type,
                nexthops=nexthops,
                src=src,
            )
        )

    def delete_route(
        self,
        dst: object = "default",
        gateway: object = None,
        link: LinkRef | None = None,
        table: int | None = None,
        metric: int | None = None,
        *,
        type: object = None,
        src: object = None,
    ) -> None:
        """Delete the first route matching what is given; ``metric`` picks one of
        two alike default routes."""
        return self._run(
            routing.delete_route(
                dst, gateway=gateway, link=link, table=table, metric=metric, type=type, src=src
            )
        )

    def routes(
        self,
        table: int | str | None = None,
        *,
        family: int | None = None,
        link: LinkRef | None = None,
    ) -> list[Route]:
        """Routes of one table (None: main, ``"all"``: every table), optionally via one link."""
        return self._run(routing.routes(table=table, family=family, link=link))

    # -- policy rules ----------------------------------------------------------------------
    def add_rule(
        self,
        priority: int | None = None,
        table: int | None = None,
        src: object = None,
        dst: object = None,
        iif: object = None,
        oif: object = None,
        fwmark: int | None = None,
        *,
        fwmask: int | None = None,
        action: object = None,
        family: int | None = None,
        invert: bool = False,
    ) -> None:
        """Add a policy rule (``ip rule add``): traffic matching ``src``/``dst``
        prefixes, ``iif``/``oif`` link names and ``fwmark`` looks up ``table``
        (or meets ``action``: ``"blackhole"``, ``"unreachable"``, ``"prohibit"``)."""
        return self._run(
            routing.add_rule(
                priority,
                table,
                src=src,
                dst=dst,
                iif=iif,
                oif=oif,
                fwmark=fwmark,
                fwmask=fwmask,
                action=action,
                family=family,
                invert=invert,
            )
        )

    def delete_rule(
        self,
        priority: int | None = None,
        table: int | None = None,
        src: object = None,
        dst: object = None,
        iif: object = None,
        oif: object = None,
        fwmark: int | None = None,
        *,
        fwmask: int | None = None,
        action: object = None,
        family: int | None = None,
        invert: bool = False,
    ) -> None:
        """Delete the first rule matching every field given (as :meth:`add_rule`)."""
        return self._run(
            routing.delete_rule(
                priority,
                table,
                src=src,
                dst=dst,
                iif=iif,
                oif=oif,
                fwmark=fwmark,
                fwmask=fwmask,
                action=action,
                family=family,
                invert=invert,
            )
        )

    def rules(self, *, family: int | None = None) -> list[Rule]:
        """The policy rules, IPv4 and IPv6 unless ``family`` says one."""
        return self._run(routing.rules(family=family))

    # -- neighbours ------------------------------------------------------------------------
    def neighbours(
        self, link: LinkRef | None = None, *, family: int | None = None
    ) -> list[Neighbour]:
        """The ARP/NDP entries of one link or of all."""
        return self._run(routing.neighbours(link, family=family))

    def add_neighbour(self, link: LinkRef, ip: object, mac: MacLike, replace: bool = False) -> None:
        """Add a permanent entry (``replace``: overwrite an existing one)."""
        return self._run(routing.add_neighbour(link, ip, mac, replace=replace))

    def delete_neighbour(self, link: LinkRef, ip: object) -> None:
        """Delete the entry of ``ip`` on ``link``."""
        return self._run(routing.delete_neighbour(link, ip))

    def flush_neighbours(self, link: LinkRef, *, permanent: bool = False) -> int:
        """Delete a link's entries (permanent ones too if ``permanent``); returns how many."""
        return self._run(routing.flush_neighbours(link, permanent=permanent))

    # -- statistics and alternative names --------------------------------------------------
    def link_stats(self, link: LinkRef) -> LinkStats:
        """A link's packet, byte, error and drop counters and carrier changes."""
        return self._run(routing.link_stats(link))

    def add_altname(self, link: LinkRef, name: str) -> Link:
        """Give ``link`` the alternative name ``name``; returns the link."""
        return self._run(routing.add_altname(link, name))

    def delete_altname(self, link: LinkRef, name: str) -> Link:
        """Take the alternative name ``name`` off ``link``; returns the link."""
        return self._run(routing.delete_altname(link, name))


class AsyncRoutingMethods:
    """Routes, rules, neighbours, statistics and alternative names (coroutines)."""

    async def _run(self, op: Op[T]) -> T:  # the driver: AsyncConnection._run
        raise NotImplementedError

    # -- routes ----------------------------------------------------------------------------
    async def add_route(
        self,
        dst: object = "default",
        gateway: object = None,
        link: LinkRef | None = None,
        table: int | None = None,
        metric: int | None = None,
        onlink: bool = False,
        replace: bool = False,
        type: object = None,
        nexthops: Sequence[NextHop] | None = None,
        *,
        src: object = None,
    ) -> None:
        """Add a route: ``add_route("default", gateway="10.0.0.1", link="mv0")``.

        ``replace`` overwrites a route to the same destination (``ip route
        replace``); ``onlink`` takes the gateway as on the link even without a
        route to it; ``type`` is a :class:`RouteType` or its name (``"blackhole"``,
        ``"unreachable"``, ``"prohibit"``, ...); ``nexthops`` a list of
        :class:`NextHop` for a multipath route; ``src`` the preferred source address.
        """
        return await self._run(
            routing.add_route(
                dst,
                gateway=gateway,
                link=link,
                table=table,
                metric=metric,
                onlink=onlink,
                replace=replace,
                type=type,
                nexthops=nexthops,
                src=src,
            )
        )

    async def delete_route(
        self,
        dst: object = "default",
        gateway: object = None,
        link: LinkRef | None = None,
        table: int | None = None,
        metric: int | None = None,
        *,
        type: object = None,
        src: object = None,
    ) -> None:
        """Delete the first route matching what is given; ``metric`` picks one of
        two alike default routes."""
        return await self._run(
            routing.delete_route(
                dst, gateway=gateway, link=link, table=table, metric=metric, type=type, src=src
            )
        )

    async def routes(
        self,
        table: int | str | None = None,
        *,
        family: int | None = None,
        link: LinkRef | None = None,
    ) -> list[Route]:
        """Routes of one table (None: main, ``"all"``: every table), optionally via one link."""
        return await self._run(routing.routes(table=table, family=family, link=link))

    # -- policy rules ----------------------------------------------------------------------
    async def add_rule(
        self,
        priority: int | None = None,
        table: int | None = None,
        src: object = None,
        dst: object = None,
        iif: object = None,
        oif: object = None,
        fwmark: int | None = None,
        *,
        fwmask: int | None = None,
        action: object = None,
        family: int | None = None,
        invert: bool = False,
    ) -> None:
        """Add a policy rule (``ip rule add``): traffic matching ``src``/``dst``
        prefixes, ``iif``/``oif`` link names and ``fwmark`` looks up ``table``
        (or meets ``action``: ``"blackhole"``, ``"unreachable"``, ``"prohibit"``)."""
        return await self._run(
            routing.add_rule(
                priority,
                table,
                src=src,
                dst=dst,
                iif=iif,
                oif=oif,
                fwmark=fwmark,
                fwmask=fwmask,
                action=action,
                family=family,
                invert=invert,
            )
        )

    async def delete_rule(
        self,
        priority: int | None = None,
        table: int | None = None,
        src: object = None,
        dst: object = None,
        iif: object = None,
        oif: object = None,
        fwmark: int | None = None,
        *,
        fwmask: int | None = None,
        action: object = None,
        family: int | None = None,
        invert: bool = False,
    ) -> None:
        """Delete the first rule matching every field given (as :meth:`add_rule`)."""
        return await self._run(
            routing.delete_rule(
                priority,
                table,
                src=src,
                dst=dst,
                iif=iif,
                oif=oif,
                fwmark=fwmark,
                fwmask=fwmask,
                action=action,
                family=family,
                invert=invert,
            )
        )

    async def rules(self, *, family: int | None = None) -> list[Rule]:
        """The policy rules, IPv4 and IPv6 unless ``family`` says one."""
        return await self._run(routing.rules(family=family))

    # -- neighbours ------------------------------------------------------------------------
    async def neighbours(
        self, link: LinkRef | None = None, *, family: int | None = None
    ) -> list[Neighbour]:
        """The ARP/NDP entries of one link or of all."""
        return await self._run(routing.neighbours(link, family=family))

    async def add_neighbour(
        self, link: LinkRef, ip: object, mac: MacLike, replace: bool = False
    ) -> None:
        """Add a permanent entry (``replace``: overwrite an existing one)."""
        return await self._run(routing.add_neighbour(link, ip, mac, replace=replace))

    async def delete_neighbour(self, link: LinkRef, ip: object) -> None:
        """Delete the entry of ``ip`` on ``link``."""
        return await self._run(routing.delete_neighbour(link, ip))

    async def flush_neighbours(self, link: LinkRef, *, permanent: bool = False) -> int:
        """Delete a link's entries (permanent ones too if ``permanent``); returns how many."""
        return await self._run(routing.flush_neighbours(link, permanent=permanent))

    # -- statistics and alternative names --------------------------------------------------
    async def link_stats(self, link: LinkRef) -> LinkStats:
        """A link's packet, byte, error and drop counters and carrier changes."""
        return await self._run(routing.link_stats(link))

    async def add_altname(self, link: LinkRef, name: str) -> Link:
        """Give ``link`` the alternative name ``name``; returns the link."""
        return await self._run(routing.add_altname(link, name))

    async def delete_altname(self, link: LinkRef, name: str) -> Link:
        """Take the alternative name ``name`` off ``link``; returns the link."""
        return await self._run(routing.delete_altname(link, name))
