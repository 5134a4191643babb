"""JSON for the CNI plugin: a reader on the interpreter's C scanner and a writer that
indents like Go's ``json.MarshalIndent`` (the reference plugin's output).

Importing :mod:`json` would bring :mod:`re` and :mod:`enum` into every plugin
process (milliseconds of start-up); ``_json``'s scanner and string encoder are all
the plugin needs.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


class _ScanContext:
    """What ``_json.make_scanner`` reads from the context it is built with."""

    __slots__ = (
        "object_hook",
        "object_pairs_hook",
        "parse_constant",
        "parse_float",
        "parse_int",
        "strict",
    )

    def __init__(self) -> None:
        self.strict = True
        self.object_hook = None
        self.object_pairs_hook = None
        self.parse_float = float
        self.parse_int = int
        self.parse_constant = _no_constant


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


# made on first use: [scanner] and [string encoder]
_scanner: list[Callable[[str, int], tuple[object, int]]] = []
_encoder: list[Callable[[str], str]] = []
_WHITESPACE = " \t\n\r"


def loads(text: str) -> object:
    """Parse one JSON document; ``ValueError`` (with the position) if it is not one.

    Nesting deeper than the interpreter's recursion limit is a ``ValueError`` too.
    """
    try:
        return _loads(text)
    except RecursionError:
        raise ValueError(
            f"JSON nested too deeply to parse (more than about {sys.getrecursionlimit()} "
            f"levels), starting {safe_repr(text, 40)}"
        ) from None


def _loads(text: str) -> object:
    if not _scanner:
        try:
            from _json import make_scanner
        except ImportError:  # another Python: the json module does the same
            import json

            return json.loads(text, parse_constant=_no_constant)
        _scanner.append(make_scanner(_ScanContext()))  # type: ignore[arg-type]
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scanner[0](text, start)
    except StopIteration as stop:
        where = stop.value
        what = "unexpected end of JSON input" if where >= len(text) else "expected a value"
        raise ValueError(f"{what} at offset {where}") from None
    except SystemError:
        # The C scanner reports errors inside a value through json.decoder, which it
        # finds only once imported: let the json module describe the error.
        import json

        json.loads(text, parse_constant=_no_constant)
        raise  # not reached: json refuses what the scanner refused
    rest = text[end:].lstrip(_WHITESPACE)
    if rest:
        raise ValueError(f"extra data after the JSON value at offset {len(text) - len(rest)}")
    return value


def safe_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a message: ASCII-safe, at most about ``limit`` characters."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"... ({len(value)} characters)"
    try:
        text = repr(value)
    except RecursionError:
        text = f"<{type(value).__name__} nested too deeply to show>"
    return text if len(text) <= limit else text[:limit] + "..."


def _quote(text: str) -> str:
    """``text`` as a JSON string; lone surrogates become ``\\udXXX`` escapes, so the
    document can always be written as UTF-8."""
    if not _encoder:
        try:
            from _json import encode_basestring
        except ImportError:
            from json.encoder import py_encode_basestring as encode_basestring
        _encoder.append(encode_basestring)
    quoted = _encoder[0](text)
    if quoted.isascii() or not has_surrogate(quoted):
        return quoted
    return "".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in quoted)


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (it cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def dumps(value: object, indent: str = "    ", _level: str = "") -> str:
    """JSON text of dicts, lists, strings, ints, bools and None, indented like Go's
    ``json.MarshalIndent`` (the reference plugin's output)."""
    if isinstance(value, str):
        return _quote(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    inner = _level + indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{_quote(str(k))}: {dumps(v, indent, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + _level + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = [inner + dumps(v, indent, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + _level + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON: {value!r}")


def field(obj: dict[str, object], key: str) -> object:
    """``obj[key]`` matched as Go's encoding/json does: exactly, else ignoring case.

    JSON ``null`` counts as absent (None), as it does for Go struct fields.
    """
    if key in obj:
        return obj[key]
    folded = key.casefold()
    for name, value in obj.items():
        if name.casefold() == folded:
            return value
    return None
