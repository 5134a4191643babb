"""Sessions: tests on both backends, lint, types, docs, benchmarks, fuzz."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "types"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
@nox.parametrize("backend", ["cffi", "python"])
def tests(session: nox.Session, backend: str) -> None:
    """The whole suite, once on the compiled and once on the pure-Python backend."""
    session.install(".[test]")
    env = {"MACVLAN_EXPECT_BACKEND": backend}
    if backend == "python":
        env["MACVLAN_PUREPYTHON"] = "1"
    session.run("pytest", *(session.posargs or ["-q"]), env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the import contract: no upward import between layers, no cycle."""
    session.install("ruff")
    paths = ("macvlan", "tests", "benchmarks", "build_ffi", "tools", "noxfile.py")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", "macvlan", "build_ffi", "tools", "noxfile.py")
    session.run("python", "tools/layers.py")


@nox.session
def types(session: nox.Session) -> None:
    session.install("mypy", ".")
    session.run("mypy", "--strict", "macvlan")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs with warnings as errors, then run their doctests."""
    session.install(".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")
    session.run("sphinx-build", "-W", "-b", "doctest", "docs", "docs/_build/doctest")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark; each prints a last line `RATIOS ...` (needs root)."""
    session.install(".[benchmark]")
    import glob

    for script in sorted(glob.glob("benchmarks/bench_*.py")):
        session.run("python", script)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing of the codec (atheris); pass -- -runs=N to bound it."""
    session.install(".[fuzz]")
    runs = session.posargs or ["-runs=200000"]
    session.run("python", "tests/fuzz/fuzz_decode.py", "tests/fuzz/corpus", *runs)
    session.run("python", "tests/fuzz/fuzz_cni.py", "tests/fuzz/cni_corpus", *runs)
