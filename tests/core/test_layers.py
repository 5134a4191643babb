"""The import contract of tools/layers.py (also run by ``nox -s lint``) holds, and it
would catch what it is meant to catch."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import layers


def test_the_package_keeps_its_layers() -> None:
    assert layers.check() == []


def test_every_module_is_in_a_layer() -> None:
    names = [layers.module_name(p) for p in layers.ROOT.rglob("*.py")]
    assert len(names) > 80
    assert all(layers.layer_of(n) is not None for n in names if n != "macvlan")


def test_upward_imports_and_cycles_are_found(tmp_path: Path) -> None:
    low = tmp_path / "low.py"
    low.write_text(
        "from macvlan.cli import main\nimport macvlan.link\ndef f():\n    import macvlan.network\n"
    )
    found = layers.imports_of(
        low, "macvlan.mac", {"macvlan.cli", "macvlan.link", "macvlan.network"}
    )
    assert found == {"macvlan.cli", "macvlan.link", "macvlan.network"}
    guarded = tmp_path / "guarded.py"
    guarded.write_text("TYPE_CHECKING = False\nif TYPE_CHECKING:\n    import macvlan.cli\n")
    assert layers.imports_of(guarded, "macvlan.mac", {"macvlan.cli"}) == set()
    assert layers.cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == ["import cycle: a -> b"]
    assert layers.layer_of("macvlan.cli.link") < layers.layer_of("macvlan._operations.create")
