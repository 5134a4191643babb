"""Choose the packer backend at import: compiled (cffi) unless unavailable or
``MACVLAN_PUREPYTHON=1``.  ``name`` says which one is in use, ``why`` why it is
the pure-Python one (empty for the compiled one)."""

from __future__ import annotations

import os
import struct

from macvlan._netlink import _pypack
from macvlan._netlink._bytecode import SCAN_FIRST
from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from array import array
    from collections.abc import Callable, Sequence

    PackFn = Callable[[Sequence[int], bytes], bytes]
    ScanFn = Callable[[bytes, int, int], memoryview]

pack: PackFn
scan: ScanFn
name: str
why: str = ""
_listeners: list[Callable[[ScanFn], None]] = []


def cffi_functions() -> tuple[PackFn, ScanFn] | None:
    """The compiled ``pack`` and ``scan``, or None when the module is not built."""
    try:
        from macvlan._netlink._cpack import ffi, lib  # type: ignore[import-not-found]
    except ImportError:
        return None

    alloc = ffi.new_allocator(should_clear_after_alloc=False)
    c_pack = lib.mvl_pack
    c_scan = lib.mvl_scan
    buffer = ffi.buffer
    from_buffer = ffi.from_buffer
    py_pack = _pypack.pack
    py_scan = _pypack.scan

    def cffi_pack(ops: Sequence[int], blob: bytes) -> bytes:
        cap = 16 * (len(ops) // 3) + len(blob)
        out = alloc("unsigned char[]", cap or 1)
        try:
            c_ops = from_buffer("uint64_t[]", _u64_array(ops))
        except (OverflowError, TypeError, struct.error):
            return py_pack(ops, blob)  # raises the error the pure backend gives
        written = c_pack(c_ops, len(ops), blob, len(blob), out, cap)
        if written < 0:
            return py_pack(ops, blob)  # re-run for the precise error message
        return buffer(out, written)[:]  # type: ignore[no-any-return]

    def cffi_scan(data: bytes, start: int, end: int) -> memoryview:
        if end - start < 32 or start < 0 or end > len(data):
            return py_scan(data, start, end)  # below ~3 attributes the call costs more
        cap = SCAN_FIRST + 3 * ((end - start) // 4)
        out = alloc("uint32_t[]", cap)
        count = c_scan(data, start, end, out, cap)
        if count < 0:
            return py_scan(data, start, end)  # raises the precise ProtocolError
        return memoryview(buffer(out, 4 * count)[:]).cast("I")

    return cffi_pack, cffi_scan


def _why_missing() -> str:
    """Why the compiled module cannot be loaded, in words a user can act on."""
    try:
        from macvlan._netlink import _cpack  # noqa: F401
    except ImportError as exc:
        if exc.name == "_cffi_backend":
            return "cffi is not installed (pip install cffi)"
    return (
        "the compiled module was not built (no C compiler when macvlan was installed?); "
        "reinstall with a compiler for the fast path"
    )


_U64S: dict[int, struct.Struct] = {}  # "=<n>Q" by n, for op lists under 4,096


def _u64_array(ops: Sequence[int]) -> bytes | array[int]:
    """The ops as native uint64s for C to read in place.

    A cached ``struct.Struct`` per length is as fast as ``array("Q", ...)`` on
    short op lists, and array's import pulls in collections (~3 ms), which
    short-lived processes such as the CNI plugin, whose messages are small, need
    not pay.  Long lists (1.6x struct's time at 60,000 ops) go through array.
    """
    count = len(ops)
    if count < 4096:
        layout = _U64S.get(count)
        if layout is None:
            layout = _U64S[count] = struct.Struct(f"={count}Q")
        return layout.pack(*ops)
    from array import array

    return array("Q", ops)


def use(backend: str) -> None:
    """Switch backends ("cffi" or "python"); for tests and benchmarks."""
    global pack, scan, name
    if backend == "python":
        pack, scan, name = _pypack.pack, _pypack.scan, "python"
    elif backend == "cffi":
        functions = cffi_functions()
        if functions is None:
            raise ImportError("the compiled backend macvlan._netlink._cpack is not built")
        (pack, scan), name = functions, "cffi"
    else:
        raise ValueError(f"unknown backend {backend!r}: 'cffi' or 'python'")
    for listener in _listeners:
        listener(scan)


def on_use(listener: Callable[[ScanFn], None]) -> None:
    """Call ``listener(scan)`` now and whenever :func:`use` switches backends (the
    codec keeps the scanner in a global of its own, for the decode fast path)."""
    _listeners.append(listener)
    listener(scan)


if os.environ.get("MACVLAN_PUREPYTHON", "") not in ("", "0"):
    use("python")
    why = "MACVLAN_PUREPYTHON is set"
elif cffi_functions() is None:
    use("python")
    why = _why_missing()
else:
    use("cffi")
