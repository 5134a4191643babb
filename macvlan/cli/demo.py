"""``macvlan demo``: run :mod:`macvlan.demo` with progress, or clean up what it kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from macvlan.cli.output import Output, Progress, complain, describe
from macvlan.cli.status import EXIT_FAILED, EXIT_OK
from macvlan.errors import CommandFailed

if TYPE_CHECKING:
    import argparse


def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    """``macvlan demo``: build a sandbox LAN, ping across it, remove it; or clean up demos."""
    from macvlan import demo

    if args.cleanup is not None:
        removed = demo.cleanup(args.cleanup or None)
        out.emit(
            {"removed": removed},
            lambda: [f"removed {item}" for item in removed] or ["nothing to remove"],
        )
        return EXIT_OK
    progress = Progress()
    try:
        report = demo.run(keep=args.keep, progress=progress)
    except (ValueError, TypeError) as exc:  # the demo takes no input: these are failures
        raise CommandFailed(describe(exc)) from exc
    finally:
        progress.clear()
    out.emit(report.to_json(), report.text_lines)
    if report.failed_pings():
        complain(f"error: {report.failed_pings()} pings got no reply")
        return EXIT_FAILED
    return EXIT_OK
