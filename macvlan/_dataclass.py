"""A run-time stand-in for ``dataclasses.dataclass(frozen=True, slots=True)``, the one
form the package uses, and for ``dataclasses.field`` and ``dataclasses.replace``.

:mod:`dataclasses` costs some 10 ms to import (it pulls in :mod:`inspect` with
:mod:`ast`, :mod:`dis` and :mod:`tokenize`, and :mod:`re` and :mod:`copy`), and
then compiles six methods one by one for every class, 0.3-1.5 ms a class:
``macvlan.connect`` and ``macvlan.Network`` would pay tens of milliseconds for the
value types they load.  This builds the same classes with no import and one small
compile each (``__init__``, ``__eq__``, ``__hash__``): slotted; frozen (assigning raises
``dataclasses.FrozenInstanceError``); ``__init__`` taking the fields with their
defaults and calling ``__post_init__``; ``__repr__``, ``__eq__`` and ``__hash__``
over the fields that take part; ``__match_args__``; pickling; and a class's own
methods of those names win, as with :mod:`dataclasses`.  ``dataclasses.fields``,
``replace``, ``asdict`` and ``is_dataclass`` work on them: the first look at
``__dataclass_fields__`` imports :mod:`dataclasses` and makes the real ``Field``
objects.

Type checkers see the real :func:`dataclasses.dataclass`, ``field`` and ``replace``.
"""

from __future__ import annotations

from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["dataclass", "field", "replace"]


class _Sentinel:
    """A marker that shows its name (``dataclasses.MISSING`` and the factory's)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


_MISSING: Any = _Sentinel("MISSING")  # no default given
_FACTORY: Any = _Sentinel("<factory>")  # an __init__ default: call the field's factory


class _Spec:
    """What ``field(...)`` said about one field."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "repr")

    def __init__(
        self,
        default: Any = _MISSING,
        default_factory: Any = _MISSING,
        init: bool = True,
        repr: bool = True,
        hash: bool | None = None,
        compare: bool = True,
    ) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare


def _field(**options: Any) -> Any:
    """``dataclasses.field``: a field's default or factory and where it takes part."""
    return _Spec(**options)


def _dataclass(*, frozen: bool, slots: bool) -> Callable[[type], type]:
    """``dataclasses.dataclass(frozen=True, slots=True)``; nothing else is supported."""
    if not (frozen and slots):
        raise TypeError("macvlan._dataclass builds only frozen=True, slots=True classes")
    return _build


def _build(cls: type) -> type:
    body = dict(cls.__dict__)
    specs: dict[str, _Spec] = {}
    for name in body.get("__annotations__", {}):
        value = body.pop(name, _MISSING)
        specs[name] = value if isinstance(value, _Spec) else _Spec(default=value)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__slots__"] = tuple(specs)
    if body.get("__doc__") is None:
        body["__doc__"] = _signature(cls.__name__, specs, body.get("__annotations__", {}))
    new = type(cls)(cls.__name__, cls.__bases__, body)
    new.__qualname__ = cls.__qualname__
    own = cls.__dict__
    methods = _methods(new, specs)
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    for name, method in methods.items():
        if name == "__hash__" and explicit_hash:
            continue
        if name not in own or name == "__hash__":
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(new, name, method)
    if "__match_args__" not in own:
        type.__setattr__(new, "__match_args__", tuple(n for n, s in specs.items() if s.init))
    new.__dataclass_specs__ = specs  # type: ignore[attr-defined]
    new.__dataclass_fields__ = _RealFields(specs, "__dataclass_fields__")  # type: ignore[attr-defined]
    new.__dataclass_params__ = _RealFields(specs, "__dataclass_params__")  # type: ignore[attr-defined]
    return new


def _methods(cls: Any, specs: dict[str, _Spec]) -> dict[str, Callable[..., Any]]:
    """The methods :mod:`dataclasses` would add: ``__init__``, ``__eq__`` and ``__hash__``
    compiled (they must be fast), the rest closures over the field names."""
    names = tuple(specs)
    shown = tuple(n for n, s in specs.items() if s.repr)
    init, eq, hash_ = _compiled(cls, specs)

    def __repr__(self: Any) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{self.__class__.__qualname__}({fields})"

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise _frozen(name)
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise _frozen(name, "delete")
        super(cls, self).__delattr__(name)

    def __getstate__(self: Any) -> list[Any]:
        return [getattr(self, name) for name in names]

    def __setstate__(self: Any, state: list[Any]) -> None:
        for name, value in zip(names, state, strict=False):
            object.__setattr__(self, name, value)

    return {
        "__init__": init,
        "__repr__": __repr__,
        "__eq__": eq,
        "__hash__": hash_,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
        "__getstate__": __getstate__,
        "__setstate__": __setstate__,
    }


def _compiled(cls: Any, specs: dict[str, _Spec]) -> tuple[Callable[..., Any], ...]:
    """``__init__`` (each field from its argument, default or factory, then
    ``__post_init__``; annotated as :mod:`dataclasses` annotates it), and ``__eq__``
    and ``__hash__`` over the tuple of the fields that take part, from one source."""
    values: dict[str, Any] = {"_setattr": object.__setattr__, "_FACTORY": _FACTORY}
    params, lines = [], []
    for name, spec in specs.items():
        if spec.default is not _MISSING:
            values[f"_dflt_{name}"] = spec.default
        if spec.default_factory is not _MISSING:
            values[f"_fac_{name}"] = spec.default_factory
        if spec.init:
            if spec.default_factory is not _MISSING:
                params.append(f"{name}=_FACTORY")
                value = f"_fac_{name}() if {name} is _FACTORY else {name}"
            else:
                params.append(name if spec.default is _MISSING else f"{name}=_dflt_{name}")
                value = name
        elif spec.default_factory is not _MISSING:
            value = f"_fac_{name}()"
        elif spec.default is not _MISSING:
            value = f"_dflt_{name}"
        else:
            continue
        slot = vars(cls).get(name)  # the slot's member descriptor: its __set__ is the
        if slot is not None and hasattr(slot, "__set__"):  # quickest way past frozenness
            values[f"_set_{name}"] = slot.__set__
            lines.append(f"  _set_{name}(self, {value})")
        else:
            lines.append(f"  _setattr(self, {name!r}, {value})")
    if "__post_init__" in cls.__dict__:
        lines.append("  self.__post_init__()")
    compared = "".join(f"self.{n}," for n, s in specs.items() if s.compare)
    hashed = "".join(
        f"self.{n}," for n, s in specs.items() if (s.compare if s.hash is None else s.hash)
    )
    source = "\n".join(
        [
            f"def __init__(self, {', '.join(params)}):",
            *(lines or ["  pass"]),
            "def __eq__(self, other):",
            "  if other.__class__ is self.__class__:",
            f"    return ({compared}) == ({compared.replace('self.', 'other.')})",
            "  return NotImplemented",
            "def __hash__(self):",
            f"  return hash(({hashed}))",
        ]
    )
    # exec of the text, not of compile(): compile() first builds the ast module's
    # types (some 1 ms, once per process), which exec of a str does not need
    exec(source, values)
    init: Callable[..., None] = values["__init__"]
    annotations = vars(cls).get("__annotations__", {})
    init.__annotations__ = {
        **{n: annotations[n] for n, s in specs.items() if s.init},
        "return": None,
    }
    return init, values["__eq__"], values["__hash__"]


def _frozen(name: str, verb: str = "assign") -> Exception:
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(f"cannot {verb} {'to ' if verb == 'assign' else ''}field {name!r}")


def _signature(name: str, specs: dict[str, _Spec], annotations: dict[str, Any]) -> str:
    """The ``__doc__`` dataclasses gives a class without one: its ``__init__`` signature."""
    params = []
    for field_name, spec in specs.items():
        if spec.init:
            text = f"{field_name}: {annotations[field_name]!r}"
            if spec.default_factory is not _MISSING:
                text += " = <factory>"
            elif spec.default is not _MISSING:
                text += f" = {spec.default!r}"
            params.append(text)
    return f"{name}({', '.join(params)})"


class _RealFields:
    """``__dataclass_fields__`` and ``__dataclass_params__``, made by :mod:`dataclasses`
    itself on the first look (``dataclasses.fields``, ``replace``, ``asdict``...)."""

    def __init__(self, specs: dict[str, _Spec], name: str) -> None:
        self.specs = specs
        self.name = name

    def __get__(self, instance: object, owner: type) -> Any:
        import dataclasses

        body: dict[str, Any] = {
            "__module__": owner.__module__,
            "__qualname__": owner.__qualname__,
            "__doc__": owner.__doc__,
            "__annotations__": owner.__annotations__,
        }
        for name, spec in self.specs.items():
            options: dict[str, Any] = {
                "init": spec.init,
                "repr": spec.repr,
                "compare": spec.compare,
                "hash": spec.hash,
            }
            if spec.default is not _MISSING:
                options["default"] = spec.default
            if spec.default_factory is not _MISSING:
                options["default_factory"] = spec.default_factory
            body[name] = dataclasses.field(**options)
        shadow: Any = dataclasses.dataclass(frozen=True)(type(owner.__name__, (), body))
        type.__setattr__(owner, "__dataclass_fields__", shadow.__dataclass_fields__)
        type.__setattr__(owner, "__dataclass_params__", shadow.__dataclass_params__)
        return getattr(owner, self.name)


def _replace(obj: Any, /, **changes: Any) -> Any:
    """``dataclasses.replace`` for a class built here: a copy with ``changes``."""
    specs = obj.__dataclass_specs__
    for name in changes:
        if name in specs and not specs[name].init:
            raise ValueError(f"field {name} is declared with init=False, it cannot be specified")
    kept = {n: getattr(obj, n) for n, s in specs.items() if s.init and n not in changes}
    return obj.__class__(**kept, **changes)


if TYPE_CHECKING:
    from dataclasses import dataclass, field, replace
else:
    dataclass, field, replace = _dataclass, _field, _replace
