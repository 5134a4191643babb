"""What a command hands back: its result (JSON or text lines) on stdout, progress on a
terminal, and its failures as one line on stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

from macvlan.errors import UsageError

if TYPE_CHECKING:
    import argparse

PROG = "macvlan"


class Output:
    """Writes either JSON or lines of text to stdout."""

    def __init__(self, as_json: bool, stream: IO[str] | None = None) -> None:
        self.as_json = as_json
        self.stream = stream if stream is not None else sys.stdout

    def emit(self, data: Any, text: Callable[[], Iterable[str]] | None = None) -> None:
        """Write ``data`` as JSON, or else the lines ``text()`` yields (if given)."""
        if self.as_json:
            import json

            self.stream.write(json.dumps(data, indent=2) + "\n")
        elif text is not None:
            for line in text():
                self.stream.write(line + "\n")
        self.stream.flush()


class Progress:
    """One self-overwriting status line on stderr, shown only on a terminal."""

    def __init__(self, enabled: bool | None = None, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._shown = False

    def __call__(self, text: str) -> None:
        """Show ``text`` as the status line (when enabled)."""
        if self.enabled:
            self.stream.write(f"\r\033[K{text}")
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        """Erase the status line, if one is shown."""
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False


def describe(exc: BaseException) -> str:
    """A one-line message for an exception."""
    if isinstance(exc, OSError) and exc.strerror:
        text = str(exc.strerror)
        if exc.filename and str(exc.filename) not in text:
            text += f": {exc.filename}"
        return text
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def complain(text: str) -> None:
    """``macvlan: TEXT`` on stderr."""
    print(f"{PROG}: {text}", file=sys.stderr)


def usage_error(exc: UsageError, parser: argparse.ArgumentParser) -> None:
    """The (sub)command's usage, then ``PROG COMMAND: error: ...``, on stderr."""
    sys.stderr.write(parser.format_usage())
    print(f"{parser.prog}: error: {exc}", file=sys.stderr)


def silence_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the exit flush does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)
