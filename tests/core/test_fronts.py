"""Both connection fronts are made from one list of operations (macvlan._fronts): every
method has its operation's parameters, docstring and result, blocking or as a coroutine."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from macvlan import _fronts
from macvlan import _operations as ops
from macvlan.aio import AsyncConnection
from macvlan.connection import Connection

LINES = {
    name: line
    for name, line in vars(_fronts.Operations).items()
    if isinstance(line, _fronts.operation)
}


def test_the_list_holds_the_contract() -> None:
    for name in (
        "link",
        "links",
        "create_macvlan",
        "create_macvtap",
        "set_link",
        "delete_link",
        "delete_links",
        "add_address",
        "addresses",
    ):
        assert name in LINES, name


@pytest.mark.parametrize("front", [Connection, AsyncConnection])
@pytest.mark.parametrize("name", sorted(LINES))
def test_method_is_the_operation(front: type[Any], name: str) -> None:
    op = LINES[name].op
    method = vars(front)[name]  # a plain function of the class itself, not the table's line
    assert inspect.isfunction(method)
    assert method.__name__ == name and method.__qualname__ == f"{front.__qualname__}.{name}"
    assert method.__module__ == front.__module__
    assert method.__doc__ == op.__doc__ and method.__doc__
    sig = inspect.signature(method)
    params = list(sig.parameters.values())
    assert params[0].name == "self"
    assert params[1:] == list(inspect.signature(op).parameters.values())
    returns = inspect.signature(op).return_annotation
    assert returns.startswith("Op[") and sig.return_annotation == returns[3:-1]
    assert inspect.iscoroutinefunction(method) == (front is AsyncConnection)


def test_bound_methods_keep_their_first_parameter() -> None:
    rt = Connection.__new__(Connection)
    assert list(inspect.signature(rt.create_macvlan).parameters)[:3] == ["name", "parent", "mode"]


def test_macvlan_and_macvtap_share_their_keywords() -> None:
    a = inspect.signature(Connection.create_macvlan)
    b = inspect.signature(Connection.create_macvtap)
    assert a == b and "kind" not in a.parameters
    assert Connection.create_macvlan.__doc__ != Connection.create_macvtap.__doc__


def test_a_call_hands_the_operation_to_the_driver() -> None:
    seen: list[Any] = []
    rt = Connection.__new__(Connection)
    rt._run = lambda op: seen.append(op) or "done"  # type: ignore[method-assign]
    assert rt.create_macvtap("t0", 3, mtu=1400) == "done"
    (op,) = seen
    assert op.gi_frame.f_locals["kind"] == "macvtap"
    assert op.gi_frame.f_locals["mtu"] == 1400
    op.close()

    async def run(op: Any) -> str:
        seen.append(op)
        return "async done"

    art = AsyncConnection.__new__(AsyncConnection)
    art._run = run  # type: ignore[method-assign]
    assert asyncio.run(art.delete_link("x", missing_ok=True)) == "async done"
    assert seen[-1].gi_code is ops.delete_link.__code__
    seen[-1].close()


def test_bad_arguments_are_refused_before_anything_is_sent() -> None:
    rt = Connection.__new__(Connection)
    rt._run = lambda op: pytest.fail("sent")  # type: ignore[method-assign]
    with pytest.raises(TypeError):
        rt.create_macvlan("mv0", "p0", kind="macvtap")  # type: ignore[call-arg]
    art = AsyncConnection.__new__(AsyncConnection)
    art._run = rt._run  # type: ignore[method-assign]
    with pytest.raises(TypeError):  # as any coroutine's body: raised when awaited
        asyncio.run(art.link())  # type: ignore[call-arg]


def test_a_subclass_of_a_front_keeps_its_methods() -> None:
    class Mine(Connection):
        pass

    assert Mine.create_macvlan is Connection.create_macvlan


def test_watch_is_declared_once_and_names_each_fronts_monitor() -> None:
    sync, asyn = inspect.signature(Connection.watch), inspect.signature(AsyncConnection.watch)
    assert sync.parameters == asyn.parameters
    assert list(sync.parameters) == ["self", "links", "addresses", "routes", "neighbours", "rules"]
    assert (sync.return_annotation, asyn.return_annotation) == ("Monitor", "AsyncMonitor")
    assert Connection.watch.__qualname__ == "Connection.watch"
    assert (
        Connection.watch.__doc__
        == AsyncConnection.watch.__doc__
        == _fronts.Operations.watch.__doc__
    )
    assert Connection.watch.__code__ is AsyncConnection.watch.__code__
