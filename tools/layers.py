"""The layering of the package as a checked rule (run by ``nox -s lint``).

Reads every module's imports with :mod:`ast` (including those inside functions,
which load later but still depend; not those under ``if TYPE_CHECKING:``, which
never run) and fails if a module imports a layer above its own, if two
independent packages import each other, or if modules import each other in a
cycle.  Layers, top first (a module belongs to the first pattern it matches)::

    cli, demo, icmp, __main__              command line, the demo
    cni | network                          the CNI plugin; networks (independent)
    connection, aio, _fronts               the sync and asyncio fronts
    _operations                            operations (sans-IO generators)
    link, address, route, ... namespace    value types, namespaces, the monitor
    mac, macalloc, _siphash                MAC addresses (no I/O)
    _netlink, _names, _typing, _dataclass, _intcheck, _syscalls   the codec, request layer, sockets;
      _argcheck                             checking callers' values (IP text)
    errors                                 every exception (imports only errno, os)

``macvlan/__init__.py`` is the package's front door and may name anything (lazily).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "macvlan"

LAYERS: list[tuple[str, ...]] = [
    ("macvlan.cli", "macvlan.demo", "macvlan.icmp", "macvlan.__main__"),
    ("macvlan.cni", "macvlan.network"),
    (
        "macvlan.connection",
        "macvlan.aio",
        "macvlan._aio_monitor",
        "macvlan._fronts",
    ),
    ("macvlan._operations",),
    (
        "macvlan.link",
        "macvlan._linkargs",
        "macvlan.linkprops",
        "macvlan.address",
        "macvlan.route",
        "macvlan.rule",
        "macvlan.neighbour",
        "macvlan._dumpparse",
        "macvlan.stats",
        "macvlan.monitor",
        "macvlan.namespace",
    ),
    ("macvlan.mac", "macvlan._macparts", "macvlan.macalloc", "macvlan._siphash"),
    (
        "macvlan._netlink",
        "macvlan._names",
        "macvlan._typing",
        "macvlan._intcheck",
        "macvlan._dataclass",
        "macvlan._syscalls",
        "macvlan._argcheck",
    ),
    ("macvlan.errors",),
]
#: packages of one layer that must not import each other
INDEPENDENT = [("macvlan.cni", "macvlan.network")]
#: upward imports allowed on purpose, each with its reason
ALLOWED = {
    # Namespace.connect() is the contract's shortcut for connect(netns=ns); the
    # import runs inside the method, so the value layer loads no front by itself.
    ("macvlan.namespace", "macvlan.connection"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The ``macvlan`` modules ``path`` imports (absolute names; ``from P import m``
    of a submodule ``m`` counts as importing ``P.m``, not ``P``)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if module == "macvlan" and alias.name == "__version__":
                    continue  # the version string, not the package's API
                found.add(sub if sub in modules else module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m == "macvlan" or m.startswith("macvlan.")}


def layer_of(name: str) -> int | None:
    for i, patterns in enumerate(LAYERS):
        for pattern in patterns:
            if name == pattern or name.startswith(pattern + "."):
                return i
    return None


def check() -> list[str]:
    modules = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
    compiled = {"macvlan._netlink._cpack"}  # built by cffi; absent from a source tree
    compiled |= {module_name(p.with_name(p.name.split(".")[0] + ".py")) for p in ROOT.rglob("*.so")}
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name == "macvlan":
            continue
        mine = layer_of(name)
        if mine is None:
            problems.append(f"{name}: in no layer (add it to tools/layers.py)")
            continue
        known = set(modules) | compiled
        deps = {m for m in imports_of(path, name, known) if m in modules and m != name}
        graph[name] = {d for d in deps if (name, d) not in ALLOWED}
        for dep in sorted(deps):
            theirs = layer_of(dep)
            if dep == "macvlan":
                problems.append(f"{name} imports the package front door 'macvlan'")
            elif theirs is not None and theirs < mine and (name, dep) not in ALLOWED:
                problems.append(f"{name} (layer {mine}) imports {dep} (layer {theirs}, above)")
            for a, b in INDEPENDENT:
                for x, y in ((a, b), (b, a)):
                    if name.startswith(x) and (dep == y or dep.startswith(y + ".")):
                        problems.append(f"{name} imports {dep}: {a} and {b} are independent")
    problems.extend(cycles(graph))
    return problems


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """One line per import cycle (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[str] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append("import cycle: " + " -> ".join(sorted(group)))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def main() -> int:
    problems = check()
    for line in problems:
        print(line)
    if problems:
        print(f"layers: {len(problems)} problem(s)")
        return 1
    print(f"layers: {len(LAYERS)} layers kept, no upward import, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
