"""The methods both connection fronts share, declared once.

Every method of :class:`macvlan.Connection` and :class:`macvlan.aio.AsyncConnection`
that carries out an operation is one line of :class:`Operations`: the operation's
generator function (:mod:`macvlan._operations`) is the single place of its
parameters, keywords, defaults and docstring.  Each front turns the lines into
methods when its class is made (``class Connection(Operations[Monitor], method=...)``):
the blocking front into ``def m(self, *a, **k): return self._run(op(*a, **k))``,
the asyncio front into its ``async def`` twin.  Those are plain functions with
the operation's name and docstring, so a call costs what a hand-written method
costs; ``help()``, :func:`inspect.signature` and Sphinx find the real parameters
(``self`` first) through their ``__wrapped__``.  :meth:`Operations.watch` is
written once as well; each front only says how it listens (``_monitor``).

For type checkers each line is an :class:`operation` whose ``__get__`` says what
an instance's attribute is: the operation's parameters returning ``T`` on a
:class:`~macvlan.Connection`, an awaitable of ``T`` on an
:class:`~macvlan.aio.AsyncConnection`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from types import FunctionType

from macvlan import _operations as operations
from macvlan._operations import routing
from macvlan._operations.effects import Op
from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Generic, ParamSpec, TypeVar, overload

    from macvlan.aio import AsyncConnection
    from macvlan.connection import Connection

    #: what a front makes of an operation: a function taking ``self`` first
    MethodMaker = Callable[[Callable[..., Op[Any]]], Callable[..., Any]]
else:
    from macvlan._typing import Any, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M")  # the front's kind of event monitor


class operation(Generic[P, T]):
    """One line of :class:`Operations`: the method that carries out ``op``."""

    __slots__ = ("op",)

    def __init__(self, op: Callable[P, Op[T]]) -> None:
        self.op = op

    if TYPE_CHECKING:  # the fronts replace every line by a real method

        @overload
        def __get__(self, obj: None, owner: type[Any]) -> operation[P, T]: ...
        @overload
        def __get__(self, obj: Connection, owner: type[Any]) -> Callable[P, T]: ...
        @overload
        def __get__(
            self, obj: AsyncConnection, owner: type[Any]
        ) -> Callable[P, Coroutine[Any, Any, T]]: ...
        def __get__(self, obj: object, owner: type[Any]) -> Any: ...


class _Signature:
    """What :func:`inspect.signature` finds behind a front's method (its
    ``__wrapped__``): the operation's signature with ``self`` first, returning what
    the operation returns; made when asked for, so opening a connection does not
    import :mod:`inspect`."""

    __slots__ = ("op",)

    def __init__(self, op: Callable[..., Any]) -> None:
        self.op = op

    @property
    def __signature__(self) -> Any:
        import inspect

        sig = inspect.signature(self.op)
        returns: object = sig.return_annotation
        if isinstance(returns, str) and returns.startswith("Op[") and returns.endswith("]"):
            returns = returns[3:-1]
        first = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        return sig.replace(parameters=[first, *sig.parameters.values()], return_annotation=returns)


def _watch_of(front: type[Any]) -> Callable[..., Any]:
    """:meth:`Operations.watch` as ``front``'s own method, saying which monitor it returns
    (what ``front._monitor`` makes), so that help() and the docs name the real type."""
    watch = Operations.watch
    home = vars(sys.modules[front.__module__])  # where the annotations' names are
    own = FunctionType(watch.__code__, home, "watch", None, watch.__closure__)
    own.__kwdefaults__ = watch.__kwdefaults__
    own.__doc__ = watch.__doc__
    own.__qualname__ = f"{front.__qualname__}.watch"
    own.__module__ = front.__module__
    own.__annotations__ = {
        **watch.__annotations__,
        "return": front._monitor.__annotations__["return"],
    }
    return own


class Operations(Generic[M]):
    """The operations of both fronts (links, addresses, routes, rules, neighbours,
    statistics, alternative names, events); a front's class says how to make its
    methods, and ``M`` is the kind of monitor its :meth:`watch` returns."""

    def __init_subclass__(cls, *, method: MethodMaker | None = None, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if method is None:  # a user's subclass of a front inherits its methods
            return
        for name, line in vars(Operations).items():
            if isinstance(line, operation):
                fn = method(line.op)
                fn.__name__ = name
                fn.__qualname__ = f"{cls.__qualname__}.{name}"
                fn.__module__ = cls.__module__
                fn.__doc__ = line.op.__doc__
                fn.__annotations__ = {}  # the signature holds them
                fn.__wrapped__ = _Signature(line.op)  # type: ignore[attr-defined]
                setattr(cls, name, fn)
        cls.watch = _watch_of(cls)  # type: ignore[method-assign]

    def _monitor(self, groups: list[int]) -> M:  # the front's: listen to these groups
        raise NotImplementedError

    def watch(
        self,
        *,
        links: bool = True,
        addresses: bool = True,
        routes: bool = False,
        neighbours: bool = False,
        rules: bool = False,
    ) -> M:
        """A monitor of events in this connection's namespace: links and addresses
        unless told otherwise; routes, neighbours and rules when asked.

        A :class:`~macvlan.Monitor` on the blocking front; on the asyncio front an
        :class:`~macvlan.aio.AsyncMonitor`, which in the current namespace listens
        from this call on, and inside another namespace from ``async with`` (or the
        first event asked for) on, because its socket is opened there by a helper
        thread.
        """
        from macvlan.monitor import Monitor

        groups = Monitor.groups(
            links=links, addresses=addresses, routes=routes, neighbours=neighbours, rules=rules
        )
        return self._monitor(groups)

    # -- links -----------------------------------------------------------------------------
    link = operation(operations.link)
    links = operation(operations.links)
    create_macvlan = operation(operations.create_macvlan)
    create_macvtap = operation(operations.create_macvtap)
    create_macvlans = operation(operations.create_macvlans)
    create_veth = operation(operations.create_veth)
    create_vlan = operation(operations.create_vlan)
    set_link = operation(operations.set_link)
    delete_link = operation(operations.delete_link)
    delete_links = operation(operations.delete_links)

    # -- addresses ---------------------------------------------------------------------
    add_address = operation(operations.add_address)
    delete_address = operation(operations.delete_address)
    addresses = operation(operations.addresses)

    # -- routes, rules, neighbours, statistics, alternative names ------------------------
    add_route = operation(routing.add_route)
    delete_route = operation(routing.delete_route)
    routes = operation(routing.routes)
    add_rule = operation(routing.add_rule)
    delete_rule = operation(routing.delete_rule)
    rules = operation(routing.rules)
    neighbours = operation(routing.neighbours)
    add_neighbour = operation(routing.add_neighbour)
    delete_neighbour = operation(routing.delete_neighbour)
    flush_neighbours = operation(routing.flush_neighbours)
    link_stats = operation(routing.link_stats)
    add_altname = operation(routing.add_altname)
    delete_altname = operation(routing.delete_altname)
