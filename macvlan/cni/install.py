"""Install the CNI plugin where a runtime runs it, with a launcher that starts fast.

A runtime starts the plugin afresh for every ADD and DEL, so start-up is a large
part of each.  pip's console script runs ``site`` (and its ``.pth`` files) and
imports :mod:`re` before the plugin even loads; the launcher written here runs the
interpreter isolated and without ``site`` (``-IS``) and puts on ``sys.path``
only the directories the plugin imports from: the one holding this package and,
if elsewhere, the one holding cffi's backend (for the compiled modules).
``benchmarks/bench_cni.py`` measures the plugin through this launcher.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

#: Linux reads at most this much of a ``#!`` line (BINPRM_BUF_SIZE, since 5.1).
SHEBANG_MAX = 255


def search_path() -> list[str]:
    """The directories the plugin imports from: this package's, then cffi's backend's."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    path = [here]
    try:
        import _cffi_backend  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return path  # no compiled modules then: the plugin runs on pure Python and ctypes
    backend = os.path.dirname(os.path.realpath(_cffi_backend.__file__ or ""))
    if backend and backend not in path:
        path.append(backend)
    return path


def launcher(python: str, path: Sequence[str]) -> str:
    """The launcher script: ``python`` run with ``-IS``, ``path`` put first on sys.path.

    ``VERSION`` (which libcni runs before every ADD and DEL) is answered by
    :mod:`macvlan.cni.version` loaded on its own, from its cached bytecode, without
    importing the ``macvlan`` package, so that it costs about what the interpreter's
    start-up does.
    """
    from macvlan import __version__

    shebang = f"#!{python} -IS"
    if len(shebang) > SHEBANG_MAX:
        raise ValueError(
            f"the interpreter path {python!r} is too long for a #! line "
            f"({len(shebang)} > {SHEBANG_MAX} bytes)"
        )
    if any(c in python for c in " \t\n"):
        raise ValueError(f"the interpreter path {python!r} contains whitespace")
    version_py = os.path.join(os.path.dirname(os.path.realpath(__file__)), "version.py")
    return (
        f"{shebang}\n"
        f"# The macvlan CNI plugin (macvlan {__version__}), written by `macvlan cni install`.\n"
        "import sys\n"
        "from posix import environ\n"
        "\n"
        f"sys.path[:0] = {list(path)!r}\n"
        'if environ.get(b"CNI_COMMAND") != b"VERSION":\n'
        "    from macvlan.cni import run\n"
        "else:  # asked before every ADD and DEL: one module, not the package\n"
        "    try:\n"
        "        from _frozen_importlib_external import SourceFileLoader\n"
        "\n"
        '        name = "macvlan.cni.version"\n'
        '        module = {"__name__": name}\n'
        f"        exec(SourceFileLoader(name, {version_py!r}).get_code(name), module)\n"
        '        run = module["run"]\n'
        "    except (ImportError, OSError):  # not CPython, or the file moved: the usual way\n"
        "        from macvlan.cni.version import run\n"
        "run()\n"
    )


def install(directory: str, name: str = "macvlan", python: str | None = None) -> str:
    """Write the launcher as ``directory/name`` (mode 0755, replaced atomically);
    its path.  The name defaults to ``macvlan``, the ``type`` a conflist names;
    ``python`` to the interpreter running this."""
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        raise ValueError(f"invalid plugin name {name!r}: it must be a plain file name")
    if not os.path.isdir(directory):
        raise FileNotFoundError(2, "no such directory", directory)
    interpreter = os.path.realpath(python or sys.executable)
    if not os.path.isfile(interpreter) or not os.access(interpreter, os.X_OK):
        raise ValueError(f"{interpreter!r} is not an executable interpreter")
    text = launcher(interpreter, search_path())
    target = os.path.join(directory, name)
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o755)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(temporary, 0o755)  # whatever the umask
        os.replace(temporary, target)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
    return target
