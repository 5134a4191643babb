"""``macvlan._dataclass`` builds the classes ``dataclasses.dataclass(frozen=True,
slots=True)`` builds: each case is declared twice, once with each, and compared."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from macvlan import _dataclass


def declare(dataclass: Any, field: Any) -> dict[str, type]:
    @dataclass(frozen=True, slots=True)
    class Plain:
        """Two fields, one default."""

        a: int
        b: str = "x"

    @dataclass(frozen=True, slots=True)
    class Options:
        a: int
        hidden: tuple[int, ...] = field(default=(), repr=False, compare=False)
        made: list[int] = field(default_factory=list, compare=False)
        unhashed: int = field(default=0, hash=False)
        later: dict[int, int] = field(init=False, repr=False, compare=False, hash=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "later", {self.a: self.a})

    @dataclass(frozen=True, slots=True)
    class Own:
        """Its own equality and hash: by ``a`` alone."""

        a: int
        b: int = 0

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Own) and other.a == self.a

        def __hash__(self) -> int:
            return hash(self.a)

        def __repr__(self) -> str:
            return f"<Own {self.a}>"

    @dataclass(frozen=True, slots=True)
    class OnlyEq:  # noqa: PLW1641 - dataclasses adds the hash
        a: int

        def __eq__(self, other: object) -> bool:
            return isinstance(other, OnlyEq)

    @dataclass(frozen=True, slots=True)
    class Empty:
        pass

    return {"Plain": Plain, "Options": Options, "Own": Own, "OnlyEq": OnlyEq, "Empty": Empty}


def module_level(prefix: str, classes: dict[str, type]) -> dict[str, type]:
    """The classes as module globals named ``prefix + name``, so that pickle finds them."""
    for name, cls in classes.items():
        cls.__qualname__ = prefix + name
        globals()[prefix + name] = cls
    return classes


REAL = module_level("Real", declare(dataclasses.dataclass, dataclasses.field))
OURS = module_level("Ours", declare(_dataclass.dataclass, _dataclass.field))
ARGS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "Plain": ((1,), (1, "y"), (2,)),
    "Options": ((1,), (1, (5,)), (1, (), [3], 4), (2,)),
    "Own": ((1,), (1, 2), (2, 2)),
    "OnlyEq": ((1,), (2,)),
    "Empty": ((),),
}
NAMES = sorted(ARGS)


def fields_of(cls: type) -> list[tuple[Any, ...]]:
    return [
        (f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.compare, f.hash)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("name", NAMES)
def test_same_class_shape(name: str) -> None:
    real, ours = REAL[name], OURS[name]
    assert ours.__slots__ == real.__slots__  # type: ignore[attr-defined]
    assert ours.__match_args__ == real.__match_args__  # type: ignore[attr-defined]
    assert ours.__doc__ == real.__doc__
    assert str(inspect.signature(ours)) == str(inspect.signature(real))
    assert dataclasses.is_dataclass(ours)
    assert fields_of(ours) == fields_of(real)
    assert ours.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert (ours.__hash__ is None) == (real.__hash__ is None)


@pytest.mark.parametrize("name", NAMES)
def test_same_instances(name: str) -> None:
    real, ours = REAL[name], OURS[name]
    pairs = [(real(*args), ours(*args)) for args in ARGS[name]]
    for r, o in pairs:
        assert repr(o).removeprefix("Ours") == repr(r).removeprefix("Real")
        assert dataclasses.asdict(o) == dataclasses.asdict(r)  # type: ignore[call-overload]
        assert dataclasses.astuple(o) == dataclasses.astuple(r)  # type: ignore[call-overload]
        assert not hasattr(o, "__dict__")
        for f in o.__slots__:
            assert getattr(o, f) == getattr(r, f)
        for trip in (pickle.loads(pickle.dumps(o)), copy.copy(o), copy.deepcopy(o)):
            assert trip == o
            assert repr(trip) == repr(o)
    for r1, o1 in pairs:
        for r2, o2 in pairs:
            assert (o1 == o2) == (r1 == r2)
            assert (o1 != o2) == (r1 != r2)
            if real.__hash__ is not None:
                assert (hash(o1) == hash(o2)) == (hash(r1) == hash(r2))
        assert (o1 == 1) is False


@pytest.mark.parametrize("name", [n for n in NAMES if n != "Empty"])
def test_frozen_alike(name: str) -> None:
    real, ours = REAL[name], OURS[name]
    for cls in (real, ours):
        value = cls(*ARGS[name][0])
        with pytest.raises(dataclasses.FrozenInstanceError) as assigned:
            value.a = 5  # type: ignore[attr-defined]
        with pytest.raises(dataclasses.FrozenInstanceError) as deleted:
            del value.a  # type: ignore[attr-defined]
        assert [str(assigned.value), str(deleted.value)] == (
            ["cannot assign to field 'a'", "cannot delete field 'a'"]
        )


def test_replace_and_post_init() -> None:
    for cls in (REAL["Options"], OURS["Options"]):
        value = cls(1, (2,), [3])
        changed = dataclasses.replace(value, a=7)  # type: ignore[type-var]
        assert (changed.a, changed.hidden, changed.made, changed.later) == (7, (2,), [3], {7: 7})
        with pytest.raises(ValueError, match="init=False"):
            dataclasses.replace(value, later={})  # type: ignore[type-var]
        assert cls(1).made is not cls(1).made  # a fresh list each time


def test_match_statement() -> None:
    plain = OURS["Plain"]
    match plain(3, "z"):
        case plain(a, b):  # type: ignore[misc]
            assert (a, b) == (3, "z")
        case _:
            pytest.fail("did not match")


def test_only_this_form() -> None:
    with pytest.raises(TypeError, match="frozen=True, slots=True"):
        _dataclass.dataclass(frozen=True, slots=False)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="both default and default_factory"):
        _dataclass.field(default=1, default_factory=int)  # type: ignore[call-overload]


def test_no_import_of_dataclasses() -> None:
    code = (
        "import sys; import macvlan._dataclass as d\n"
        "@d.dataclass(frozen=True, slots=True)\n"
        "class A:\n    x: int = 1\n"
        "assert A() == A(1) and hash(A()) == hash(A(1)) and repr(A()) == 'A(x=1)'\n"
        "print(sorted(m for m in ('dataclasses', 'inspect', 'typing') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"
