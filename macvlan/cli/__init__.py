"""The ``macvlan`` command line, in the spirit of ``ip``.

``macvlan [--json] [--debug] [-n NS] OBJECT COMMAND ...`` where OBJECT is ``link``,
``netns``, ``mac``, ``network``, ``ping`` or ``demo``.  Every command can print JSON
(``--json``, before or after the command).  A failure is one line on stderr (the
traceback only with ``--debug``); bad usage prints the usage and one error line.
Exit status: 0 done, 1 the operation failed, 2 bad usage (nothing was done),
130/143 interrupted by SIGINT/SIGTERM.  Long work (bulk creation, the demo) shows
progress on stderr when it is a terminal.

Importing this package loads nothing more.  :func:`main` builds the parser
(:mod:`macvlan.cli.parser`), whose commands live in a module per OBJECT
(``macvlan.cli.link``, ``.netns``, ``.mac``, ``.network``, ``.ping``, ``.demo``) with
:mod:`macvlan.cli.output` for what they print; each command imports what it needs.
"""

from __future__ import annotations

import sys

from macvlan.cli.status import EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE
from macvlan.errors import Terminated

TYPE_CHECKING = False  # `import macvlan.cli` loads only what --help needs; see macvlan._typing

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from macvlan.cli.output import (
        Output,
        complain,
        describe,
        silence_stdout,
        usage_error,
    )
    from macvlan.cli.parser import build_parser
    from macvlan.errors import UsageError

    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except UsageError as exc:
        usage_error(exc, exc.parser or parser)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    debug = bool(args.debug)
    out = Output(bool(args.json))
    import signal
    import threading

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        status: int = args.func(args, out)
        return status
    except UsageError as exc:
        usage_error(exc, exc.parser or args.parser)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if debug:
            raise
        complain("interrupted")
        return EXIT_SIGINT
    except Terminated:
        if debug:
            raise
        complain("terminated")
        return EXIT_SIGTERM
    except BrokenPipeError:
        silence_stdout()
        return EXIT_FAILED
    except (ValueError, TypeError) as exc:  # bad input found late: still nothing was done
        if debug:
            raise
        usage_error(UsageError(describe(exc)), args.parser)
        return EXIT_USAGE
    except Exception as exc:  # CommandFailed, OSError (kernel), LookupError, RuntimeError, ...
        if debug:
            raise
        complain(f"error: {describe(exc)}")
        return EXIT_FAILED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
