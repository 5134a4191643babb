"""Run-time stand-ins for the few :mod:`typing` names the codec uses outside
annotations.

:mod:`typing` costs some 10 ms to import (it pulls in :mod:`re`,
:mod:`collections`, :mod:`functools` and :mod:`contextlib`), which a process
started per container -- the CNI plugin -- pays every time.  The netlink codec
therefore imports :mod:`typing` only for the type checker::

    from macvlan._typing import TYPE_CHECKING
    if TYPE_CHECKING:
        from typing import Generic, TypeVar
    else:
        from macvlan._typing import Generic, TypeVar

Type checkers see the real names; at run time ``class Codec(Generic[T])`` and
``Codec[int]`` both mean plain ``Codec``, and ``Generator[Effect, Any, T]`` is an
ordinary subscription of :class:`collections.abc.Generator`.
"""

from __future__ import annotations

#: :data:`typing.TYPE_CHECKING` without importing typing: False at run time, and
#: type checkers take any name ``TYPE_CHECKING`` as true
TYPE_CHECKING = False


class Generic:
    """A base class whose subscription ``C[...]`` is ``C`` itself."""

    __slots__ = ()

    def __class_getitem__(cls, params: object) -> type:
        return cls


#: Any type: at run time only ever a subscription's argument
Any = object


def TypeVar(name: str, *constraints: object, bound: object = None) -> str:
    """A type variable's name: all a run-time subscription needs."""
    return name


def ParamSpec(name: str) -> str:
    """A parameter specification's name: annotations are all that use one."""
    return name


def cast(kind: object, value: object) -> object:
    """``value`` itself: a cast only tells the type checker."""
    return value


def overload(function: object) -> object:
    """No-op: the implementation defined after the overloads replaces them."""
    return function
