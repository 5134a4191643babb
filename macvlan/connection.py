"""The synchronous rtnetlink connection: create, inspect, change and delete links,
addresses and routes in one network namespace.

>>> with macvlan.connect() as rt:                      # doctest: +SKIP
...     rt.create_macvlan("mv0", parent="eth0", mode=MacvlanMode.BRIDGE)

The operations themselves live in :mod:`macvlan._operations` as sans-IO generators; this
module drives them over a blocking :class:`NetlinkSocket` (and
:mod:`macvlan.aio` drives the same generators over the event loop).  The methods
that carry them out are declared once, for both fronts, in :mod:`macvlan._fronts`.
"""

from __future__ import annotations

from collections.abc import Callable

from macvlan import _operations as operations
from macvlan._fronts import Operations
from macvlan._netlink.message import Message
from macvlan._netlink.socket import NetlinkSocket
from macvlan._operations import (
    Batch,
    Dump,
    IfIndex,
    InNamespace,
    LinkRef,
    NetnsRef,
    ParsedBatch,
    ParsedDump,
    ParsedRequest,
    Request,
)
from macvlan._typing import TYPE_CHECKING
from macvlan.namespace import Namespace

if TYPE_CHECKING:  # the monitor loads when first used
    from typing import Any, TypeVar

    from macvlan.monitor import Monitor
else:
    from macvlan._typing import TypeVar

T = TypeVar("T")

__all__ = ["Connection", "LinkRef", "NetnsRef", "connect"]


def _blocking(op: Callable[..., operations.Op[Any]]) -> Callable[..., Any]:
    """The method of :class:`Connection` that carries out ``op`` (see :mod:`macvlan._fronts`)."""

    def method(self: Connection, /, *args: Any, **kwargs: Any) -> Any:
        return self._run(op(*args, **kwargs))

    return method


def connect(netns: NetnsRef | None = None) -> Connection:
    """Open an rtnetlink connection in the current namespace or in ``netns``.

    The caller's thread never changes namespace: the socket is opened by a short
    helper thread inside ``netns`` and keeps working there.
    """
    return Connection(netns)


class Connection(Operations["Monitor"], method=_blocking):
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
                elif type(effect) is ParsedRequest:
                    value = sock.request_parsed(effect.message, effect.parse, effect.what)
                elif type(effect) is Batch:
                    value = sock.batch(effect.messages, effect.whats)
                elif type(effect) is ParsedBatch:
                    value = sock.batch(effect.messages, effect.whats, effect.parse)
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

    # -- events --------------------------------------------------------------------------
    def _monitor(self, groups: list[int]) -> Monitor:
        from macvlan.monitor import Monitor

        if self.netns is None:
            return Monitor(NetlinkSocket(groups))
        return Monitor(self.netns.run(NetlinkSocket, groups))
