"""The CNI versions the plugin speaks, and the ``VERSION`` command.

libcni asks ``VERSION`` before every ADD and DEL, so a container costs two plugin
starts that do nothing else: this module answers it importing only :mod:`sys` and
:mod:`posix` (both loaded with the interpreter), so that the launcher
(:mod:`macvlan.cni.install`) can run it alone, without the ``macvlan`` package, and
``VERSION`` costs no more than the interpreter's own start-up.  Only an unusual input
(anything but ``{"cniVersion": "..."}`` with a plain version string) falls back to the
full JSON reader.
"""

from __future__ import annotations

import sys
from posix import _exit, isatty, read

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

#: The CNI specification versions this plugin speaks (SPEC.md "Version").
SUPPORTED_VERSIONS = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
LATEST_VERSION = "1.1.0"

_WHITESPACE = b" \t\n\r"  # JSON's, not bytes.strip()'s


def version_tuple(version: str) -> tuple[int, int, int]:
    """``"0.4.0"`` -> ``(0, 4, 0)``; :class:`~macvlan.CniDecodeError` for anything else."""
    parts = version.split(".")
    # int() refuses strings of more than 4,300 digits: no part of a version is that long
    if len(parts) > 3 or not all(p.isascii() and p.isdigit() and len(p) <= 9 for p in parts):
        from macvlan.cni.errors import CniDecodeError
        from macvlan.cni.jsonio import safe_repr

        raise CniDecodeError(f"cniVersion {safe_repr(version)} is not a version like '1.0.0'")
    numbers = [int(p) for p in parts] + [0, 0]
    return numbers[0], numbers[1], numbers[2]


def config_version(conf: dict[str, object]) -> str:
    """The configuration's cniVersion ("0.1.0" when absent, as libcni assumes)."""
    version = conf.get("cniVersion")
    if version is None or version == "":
        return "0.1.0"
    if isinstance(version, str) and _is_plain(version):
        return version
    from macvlan.cni.errors import CniDecodeError
    from macvlan.cni.jsonio import has_surrogate, safe_repr

    if not isinstance(version, str):
        raise CniDecodeError(f"cniVersion must be a string, not {safe_repr(version)}")
    if has_surrogate(version):  # echoed in every answer, which must be UTF-8
        raise CniDecodeError(
            f"cniVersion {safe_repr(version)} is not valid Unicode: it holds a lone surrogate"
        )
    return version


def check_version(version: str, minimum: str = "0.1.0", command: str = "") -> None:
    """Raise :class:`~macvlan.CniVersionError` unless ``version`` is spoken here and
    is at least ``minimum``."""
    if version in SUPPORTED_VERSIONS and version_tuple(version) >= version_tuple(minimum):
        return
    from macvlan.cni.errors import CniVersionError
    from macvlan.cni.jsonio import safe_repr

    if version not in SUPPORTED_VERSIONS:
        version_tuple(version)  # a malformed version is a decoding failure (code 6)
        raise CniVersionError(
            "incompatible CNI versions",
            f"config is {safe_repr(version)}, plugin supports {', '.join(SUPPORTED_VERSIONS)}",
        )
    raise CniVersionError(f"config version {version} does not allow {command or 'this command'}")


# -- the VERSION command ------------------------------------------------------------------
def _is_plain(text: str) -> bool:
    """Printable ASCII without quotes or backslashes: JSON that needs no escaping."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def _simple_version(data: bytes) -> str | None:
    """The cniVersion of a document that is just ``{"cniVersion": "PLAIN"}`` (any JSON
    white space around the tokens), else None.  What libcni sends is of this form."""
    doc = data.strip(_WHITESPACE)
    if doc[:1] != b"{" or doc[-1:] != b"}":
        return None
    key, colon, value = doc[1:-1].partition(b":")
    if not colon or key.strip(_WHITESPACE) != b'"cniVersion"':
        return None
    value = value.strip(_WHITESPACE)
    if len(value) < 2 or value[:1] != b'"' or value[-1:] != b'"':
        return None
    text = value[1:-1].decode("latin-1")
    return text if _is_plain(text) else None


def answer(data: bytes) -> tuple[int, str]:
    """VERSION's exit status and output for the input ``data`` (SPEC.md section 2).

    The caller's cniVersion is echoed (the latest spoken when it names none, or the
    input is no JSON object); one that cannot be written back as UTF-8 is refused
    with code 6.
    """
    version: str | None = LATEST_VERSION
    if data.strip(_WHITESPACE):
        version = _simple_version(data)
    if version is None:  # anything unusual: the full JSON reader
        version = LATEST_VERSION
        from macvlan.cni.errors import CniError
        from macvlan.cni.jsonio import loads

        try:
            conf = loads(data.decode("utf-8", "replace"))
        except ValueError:
            conf = None
        echoed = conf.get("cniVersion") if isinstance(conf, dict) else None
        if echoed and isinstance(echoed, str):
            try:
                version = config_version({"cniVersion": echoed})
            except CniError as exc:
                return 1, _dumps(exc.to_json(LATEST_VERSION))
    elif not version:
        version = LATEST_VERSION
    return 0, _dumps({"cniVersion": version, "supportedVersions": list(SUPPORTED_VERSIONS)})


def _dumps(value: dict[str, object]) -> str:
    """The answer as :func:`macvlan.cni.jsonio.dumps` writes it (Go's indentation);
    written here for the answer of plain strings, the common case."""
    version = value.get("cniVersion")
    if list(value) == ["cniVersion", "supportedVersions"] and (
        isinstance(version, str) and _is_plain(version)
    ):
        versions = ",\n".join(f'        "{v}"' for v in SUPPORTED_VERSIONS)
        return (
            f'{{\n    "cniVersion": "{version}",\n    "supportedVersions": [\n{versions}\n    ]\n}}'
        )
    from macvlan.cni.jsonio import dumps

    return dumps(value)


def read_stdin() -> bytes:
    """All of stdin; nothing if it is a terminal or cannot be read (VERSION needs none)."""
    chunks = []
    try:
        if isatty(0):
            return b""
        while True:
            chunk = read(0, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return b""
    return b"".join(chunks)


def run() -> NoReturn:
    """Answer VERSION as a process of its own: read stdin, write the answer, exit."""
    status, text = answer(read_stdin())
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError:
        status = status or 1
    _exit(status)
