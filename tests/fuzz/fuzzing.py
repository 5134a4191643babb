"""What the atheris fuzzers here share: the repository on ``sys.path``, the library
imported instrumented when fuzzing (plainly when the tests import a fuzzer to replay
its corpus), and libFuzzer's arguments with a scratch corpus and a crash directory.
Importing this module imports nothing of ``macvlan``."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def imports(fuzzing: bool) -> contextlib.AbstractContextManager[object]:
    """Where to import ``macvlan``: under atheris (``fuzzing``) instrumented for
    coverage feedback, else plainly."""
    if not fuzzing:
        return contextlib.nullcontext()
    import atheris

    instrumented: contextlib.AbstractContextManager[object] = atheris.instrument_imports(
        include=["macvlan"]
    )
    return instrumented


def scratch_args(argv: list[str], work: str, crash_prefix: str = "") -> list[str]:
    """Put the scratch corpus ``HERE/work`` first (libFuzzer writes there; not when
    merging) and set ``-artifact_prefix`` to ``HERE/.crashes/crash_prefix`` unless given."""
    flags = [a for a in argv[1:] if a.startswith("-") and a != "--strict"]
    dirs = [a for a in argv[1:] if not a.startswith("-")]
    if dirs and "-merge=1" not in flags:
        scratch = HERE / work
        scratch.mkdir(exist_ok=True)
        dirs.insert(0, str(scratch))
    if not any(a.startswith("-artifact_prefix=") for a in flags):
        crashes = HERE / ".crashes"
        crashes.mkdir(exist_ok=True)
        flags.append(f"-artifact_prefix={crashes}{os.sep}{crash_prefix}")
    return [argv[0], *flags, *dirs]


def fuzz(check: Callable[[bytes], None], work: str, crash_prefix: str = "") -> None:
    """Run libFuzzer over ``check`` with the command line's corpus and flags."""
    import atheris

    atheris.Setup(scratch_args(sys.argv, work, crash_prefix), check)
    atheris.Fuzz()
