"""Thin ctypes wrappers for the Linux calls Python 3.11's :mod:`os` lacks.

Each wrapper raises :class:`OSError` (so ``EPERM`` arrives as
:class:`PermissionError`, ``ENOENT`` as :class:`FileNotFoundError`, ...) with the
path involved.  :mod:`ctypes` and libc are loaded on first use, not at import, so
importing this module costs next to nothing (the CNI plugin, a process per
container, enters namespaces with it).
"""

from __future__ import annotations

import fcntl
import os

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
    """The few libc functions we call, with their C signatures declared."""

    def __init__(self) -> None:
        import ctypes

        try:
            lib = ctypes.CDLL("libc.so.6", use_errno=True)
        except OSError:  # not glibc: take the symbols the interpreter already has
            lib = ctypes.CDLL(None, use_errno=True)
        self.setns = lib.setns
        self.setns.argtypes = [ctypes.c_int, ctypes.c_int]
        self.setns.restype = ctypes.c_int
        self.unshare = lib.unshare
        self.unshare.argtypes = [ctypes.c_int]
        self.unshare.restype = ctypes.c_int
        self.mount = lib.mount
        self.mount.argtypes = [
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_void_p,
        ]
        self.mount.restype = ctypes.c_int
        self.umount2 = lib.umount2
        self.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        self.umount2.restype = ctypes.c_int


_loaded: list[_Libc] = []


def _libc() -> _Libc:
    """libc's functions, loaded by the first call."""
    if not _loaded:
        _loaded.append(_Libc())
    return _loaded[0]


def _raise(what: str, filename: str | None = None) -> None:
    import ctypes

    err = ctypes.get_errno()
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
    fs = None if fstype is None else os.fsencode(fstype)
    if _libc().mount(os.fsencode(source), os.fsencode(target), fs, flags, None) != 0:
        _raise(f"mount {source!r} on", target)


def umount2(target: str, flags: int) -> None:
    """umount2(2)."""
    if _libc().umount2(os.fsencode(target), flags) != 0:
        _raise("umount", target)


def ns_type(fd: int) -> int:
    """The ``CLONE_NEW*`` kind of the namespace open as ``fd`` (``ENOTTY`` if none)."""
    return fcntl.ioctl(fd, NS_GET_NSTYPE)
