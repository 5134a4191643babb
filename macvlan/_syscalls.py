"""Thin wrappers for the Linux calls Python 3.11's :mod:`os` lacks.

Each wrapper raises :class:`OSError` (so ``EPERM`` arrives as
:class:`PermissionError`, ``ENOENT`` as :class:`FileNotFoundError`, ...) with the
path involved.  The calls go through the compiled module ``macvlan._csys``
(cffi, built by ``build_ffi/syscalls_build.py``) or, when it is not built or
``MACVLAN_PUREPYTHON=1``, through :mod:`ctypes` (and :mod:`fcntl` for the
namespace-type ioctl).  Either is loaded on first use,
so importing this module costs next to nothing (the CNI plugin, a process per
container, enters namespaces with it; ctypes alone costs it some 3 ms).
"""

from __future__ import annotations

import os

from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# include/uapi/linux/sched.h
CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# include/uapi/linux/mount.h
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_SHARED = 1 << 20
MNT_DETACH = 0x2
UMOUNT_NOFOLLOW = 0x8

# include/uapi/linux/nsfs.h: NS_GET_NSTYPE is _IO(0xb7, 0x3)
NS_GET_NSTYPE = (0xB7 << 8) | 0x3

NSTYPE_NAMES: dict[int, str] = {
    CLONE_NEWTIME: "time",
    CLONE_NEWNS: "mnt",
    CLONE_NEWCGROUP: "cgroup",
    CLONE_NEWUTS: "uts",
    CLONE_NEWIPC: "ipc",
    CLONE_NEWUSER: "user",
    CLONE_NEWPID: "pid",
    CLONE_NEWNET: "net",
}


class _Libc:
    """The few libc functions we call, and how to read ``errno`` after them."""

    setns: Callable[[int, int], int]
    unshare: Callable[[int], int]
    mount: Callable[[bytes, bytes, object, int, object], int]
    umount2: Callable[[bytes, int], int]
    errno: Callable[[], int]
    null: object  # what a NULL pointer argument is
    backend: str

    def __init__(self) -> None:
        compiled = _compiled()
        if compiled is not None:
            self._use_cffi(*compiled)
        else:
            self._use_ctypes()

    def _use_cffi(self, ffi: Any, lib: Any) -> None:
        self.backend = "cffi"
        self.setns, self.unshare = lib.setns, lib.unshare
        self.mount, self.umount2 = lib.mount, lib.umount2
        self.errno = lambda: int(ffi.errno)
        self.null = ffi.NULL

    def _use_ctypes(self) -> None:
        import ctypes

        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
        except OSError:  # not glibc: take the symbols the interpreter already has
            libc = ctypes.CDLL(None, use_errno=True)

        def declare(name: str, *argtypes: Any) -> Any:
            function = getattr(libc, name)
            function.argtypes = list(argtypes)
            function.restype = ctypes.c_int
            return function

        text, c_int = ctypes.c_char_p, ctypes.c_int
        self.backend = "ctypes"
        self.setns = declare("setns", c_int, c_int)
        self.unshare = declare("unshare", c_int)
        self.mount = declare("mount", text, text, text, ctypes.c_ulong, ctypes.c_void_p)
        self.umount2 = declare("umount2", text, c_int)
        self.errno = ctypes.get_errno
        self.null = None


_loaded: list[_Libc] = []
_cffi: list[tuple[Any, Any] | None] = []


def _compiled() -> tuple[Any, Any] | None:
    """The compiled module's ``(ffi, lib)``, or None (not built, or
    ``MACVLAN_PUREPYTHON=1``); looked up once."""
    if not _cffi:
        found = None
        if os.environ.get("MACVLAN_PUREPYTHON", "") in ("", "0"):
            try:
                from macvlan._csys import ffi, lib  # type: ignore[import-not-found]
            except ImportError:
                pass
            else:
                found = (ffi, lib)
        _cffi.append(found)
    return _cffi[0]


def _libc() -> _Libc:
    """libc's functions, loaded by the first call."""
    if not _loaded:
        _loaded.append(_Libc())
    return _loaded[0]


def backend() -> str:
    """``"cffi"`` or ``"ctypes"``: how the calls are made (loads them)."""
    return _libc().backend


def _raise(what: str, filename: str | None = None) -> None:
    err = _libc().errno()
    raise OSError(err, f"{what}: {os.strerror(err)}", filename)


def setns(fd: int, nstype: int) -> None:
    """Move the calling thread into the namespace open as ``fd``."""
    if _libc().setns(fd, nstype) != 0:
        _raise("setns")


def unshare(flags: int) -> None:
    """Give the calling thread new namespaces of the kinds in ``flags``."""
    if _libc().unshare(flags) != 0:
        _raise("unshare")


def mount(source: str, target: str, fstype: str | None, flags: int) -> None:
    """mount(2) without filesystem data."""
    libc = _libc()
    fs = libc.null if fstype is None else os.fsencode(fstype)
    if libc.mount(os.fsencode(source), os.fsencode(target), fs, flags, libc.null) != 0:
        _raise(f"mount {source!r} on", target)


def umount2(target: str, flags: int) -> None:
    """umount2(2)."""
    if _libc().umount2(os.fsencode(target), flags) != 0:
        _raise("umount", target)


def ns_type(fd: int) -> int:
    """The ``CLONE_NEW*`` kind of the namespace open as ``fd`` (``ENOTTY`` if none)."""
    compiled = _compiled()
    if compiled is None:
        import fcntl  # ~0.5 ms to import: only without the compiled module

        kind: int = fcntl.ioctl(fd, NS_GET_NSTYPE)
        return kind
    ffi, lib = compiled
    kind = lib.ioctl(fd, NS_GET_NSTYPE)
    if kind < 0:
        err = ffi.errno
        raise OSError(err, os.strerror(err))
    return int(kind)
