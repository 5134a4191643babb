"""The methods both connection fronts share, declared once.

Every method of :class:`macvlan.Connection` and :class:`macvlan.aio.AsyncConnection`
that carries out an operation is one line of :class:`Operations`: the operation's
generator function (:mod:`macvlan._operations`) is the single place of its
parameters, keywords, defaults and docstring.  Each front turns the lines into
methods when its class is made (``class Connection(Operations, method=...)``):
the blocking front into ``def m(self, *a, **k): return self._run(op(*a, **k))``,
the asyncio front into its ``async def`` twin.  Those are plain functions with
the operation's name and docstring, so a call costs what a hand-written method
costs; ``help()``, :func:`inspect.signature` and Sphinx find the real parameters
(``self`` first) through their ``__wrapped__``.

For type checkers each line is an :class:`operation` whose ``__get__`` says what
an instance's attribute is: the operation's parameters returning ``T`` on a
:class:`~macvlan.Connection`, an awaitable of ``T`` on an
:class:`~macvlan.aio.AsyncConnection`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine

from macvlan import _operations as operations
from macvlan._operations.effects import Op

TYPE_CHECKING = False  # typing costs some 5 ms to import; see macvlan._typing
if TYPE_CHECKING:
    from typing import Any, Generic, ParamSpec, TypeVar, overload

    from macvlan.aio import AsyncConnection
    from macvlan.connection import Connection
else:
    from macvlan._typing import Any, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

#: what a front makes of an operation: a function taking ``self`` first
MethodMaker = Callable[[Callable[..., Op[Any]]], Callable[..., Any]]


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


class Operations:
    """The operations of both fronts (links, addresses, routes, rules, neighbours,
    statistics, alternative names); a front's class says how to make its methods."""

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
