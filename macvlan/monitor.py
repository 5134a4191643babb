"""Link, address, route, neighbour and rule events from the kernel's rtnetlink
multicast groups."""

from __future__ import annotations

import enum
import select
from collections.abc import Iterable, Iterator

from macvlan._dataclass import dataclass
from macvlan._netlink.constants import RtmType, RtnlGroup
from macvlan._netlink.message import AnyMessage, Message
from macvlan._netlink.socket import NetlinkSocket
from macvlan.address import Address
from macvlan.link import Link
from macvlan.neighbour import Neighbour
from macvlan.route import Route
from macvlan.rule import Rule


class EventAction(enum.Enum):
    """What happened to a link, address, route, neighbour or rule."""

    NEW = "new"
    CHANGED = "changed"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """A link appeared, changed or went away; ``link`` is its state then."""

    action: EventAction
    link: Link


@dataclass(frozen=True, slots=True)
class AddressEvent:
    """An address was added or removed."""

    action: EventAction
    address: Address


@dataclass(frozen=True, slots=True)
class RouteEvent:
    """A route was added (or replaced) or removed; ``route`` is the route."""

    action: EventAction
    route: Route


@dataclass(frozen=True, slots=True)
class NeighbourEvent:
    """A neighbour entry appeared or changed state (NEW) or went away (DELETED)."""

    action: EventAction
    neighbour: Neighbour


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """A policy rule was added or removed."""

    action: EventAction
    rule: Rule


Event = LinkEvent | AddressEvent | RouteEvent | NeighbourEvent | RuleEvent


def event_of(message: Message) -> Event | None:
    """The typed event a notification carries, or None for other messages."""
    if message.type == RtmType.NEWLINK:
        body = message.body
        change = getattr(body, "change", 0)
        action = EventAction.NEW if change == 0xFFFFFFFF else EventAction.CHANGED
        return LinkEvent(action, Link.from_message(message))
    if message.type == RtmType.DELLINK:
        return LinkEvent(EventAction.DELETED, Link.from_message(message))
    if message.type == RtmType.NEWADDR:
        return AddressEvent(EventAction.NEW, Address.from_message(message))
    if message.type == RtmType.DELADDR:
        return AddressEvent(EventAction.DELETED, Address.from_message(message))
    if message.type == RtmType.NEWROUTE:
        return RouteEvent(EventAction.NEW, Route.from_message(message))
    if message.type == RtmType.DELROUTE:
        return RouteEvent(EventAction.DELETED, Route.from_message(message))
    if message.type in (RtmType.NEWNEIGH, RtmType.DELNEIGH):
        entry = Neighbour.from_message(message)
        if entry is None:
            return None
        action = EventAction.NEW if message.type == RtmType.NEWNEIGH else EventAction.DELETED
        return NeighbourEvent(action, entry)
    if message.type == RtmType.NEWRULE:
        return RuleEvent(EventAction.NEW, Rule.from_message(message))
    if message.type == RtmType.DELRULE:
        return RuleEvent(EventAction.DELETED, Rule.from_message(message))
    return None


def events_of(messages: Iterable[AnyMessage]) -> list[Event]:
    """The typed events among one datagram's messages."""
    events = []
    for message in messages:
        if isinstance(message, Message):
            event = event_of(message)
            if event is not None:
                events.append(event)
    return events


class Monitor:
    """Iterate over link, address, route, neighbour and rule events.

    Raises :class:`macvlan.MonitorOverflow` when the kernel dropped events
    (``ENOBUFS``): dump again to resynchronise, then keep iterating.
    """

    def __init__(self, sock: NetlinkSocket) -> None:
        self._sock = sock

    @classmethod
    def groups(
        cls,
        *,
        links: bool = True,
        addresses: bool = True,
        routes: bool = False,
        neighbours: bool = False,
        rules: bool = False,
    ) -> list[int]:
        """The rtnetlink multicast groups for the events asked for."""
        groups: list[int] = []
        if links:
            groups.append(RtnlGroup.LINK)
        if addresses:
            groups += (RtnlGroup.IPV4_IFADDR, RtnlGroup.IPV6_IFADDR)
        if routes:
            groups += (RtnlGroup.IPV4_ROUTE, RtnlGroup.IPV6_ROUTE)
        if neighbours:
            groups.append(RtnlGroup.NEIGH)
        if rules:
            groups += (RtnlGroup.IPV4_RULE, RtnlGroup.IPV6_RULE)
        return groups

    def fileno(self) -> int:
        """The socket's descriptor, for ``poll`` or an event loop."""
        return self._sock.fileno()

    def poll(self, timeout: float | None = None) -> list[Event]:
        """The events that arrive within ``timeout`` seconds (None: wait for some)."""
        # poll, not select: select fails on descriptors above 1024
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN)
        wait = -1 if timeout is None else max(0, int(timeout * 1000 + 0.999))
        if not poller.poll(wait):
            return []
        return events_of(self._sock.recv_messages())

    def __iter__(self) -> Iterator[Event]:
        while True:
            yield from self.poll(None)

    def close(self) -> None:
        """Stop listening: close the socket."""
        self._sock.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
