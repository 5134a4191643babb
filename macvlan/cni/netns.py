"""The container's network namespace for the CNI plugin: ``CNI_NETNS``, entering it,
and its sysctls.

The plugin is a single-threaded process that lives for one command, so it enters
the namespace with setns(2) in its own thread for the few steps that must run
there, and returns at once.
"""

from __future__ import annotations

import os
import sys

from macvlan import _syscalls
from macvlan.cni.errors import INVALID_NETNS, UNKNOWN_CONTAINER, CniError


def open_netns(path: str, command: str) -> int:
    """A descriptor on the network namespace at ``path`` (CNI_NETNS).

    A path that is missing or is no network namespace is code 3; the plugin's own
    namespace is code 8.
    """
    fd = open_netns_if_there(path, command)
    if fd is None:
        raise CniError(
            f"CNI_NETNS {path!r} is not an existing network namespace",
            path,
            code=UNKNOWN_CONTAINER,
        )
    return fd


def open_netns_if_there(path: str, command: str) -> int | None:
    """Like :func:`open_netns`, but None when there is no namespace at ``path``.

    The path is opened with ``O_PATH`` first, which never opens a FIFO or a device
    (a FIFO would block ``open`` forever), and reopened for real through
    ``/proc/thread-self/fd`` only once it is seen to be an nsfs file -- the way
    :class:`macvlan.Namespace` opens paths.
    """
    try:
        handle = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise CniError(f"cannot open CNI_NETNS {path!r}: {exc.strerror}", path) from None
    try:
        here = os.stat("/proc/thread-self/ns/net")
        there = os.fstat(handle)
        if there.st_mode & 0o170000 != 0o100000 or there.st_dev != here.st_dev:
            return None  # not a regular file on nsfs: no namespace there
        fd = os.open(f"/proc/thread-self/fd/{handle}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise CniError(f"cannot open CNI_NETNS {path!r}: {exc.strerror}", path) from None
    finally:
        os.close(handle)
    try:
        try:
            kind = _syscalls.ns_type(fd)
        except OSError:
            kind = 0
        if kind != _syscalls.CLONE_NEWNET:
            os.close(fd)
            return None
        if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
            raise CniError(
                f"CNI_NETNS {path!r} is the plugin's own network namespace; {command} "
                "must name the container's",
                path,
                code=INVALID_NETNS,
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


class Inside:
    """``with Inside(fd):`` this thread is in that network namespace for the body."""

    __slots__ = ("_back", "_fd")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._back = -1

    def __enter__(self) -> None:
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _syscalls.setns(self._fd, _syscalls.CLONE_NEWNET)
        except BaseException:
            os.close(back)
            raise
        self._back = back

    def __exit__(self, *exc: object) -> None:
        back, self._back = self._back, -1
        try:
            _syscalls.setns(back, _syscalls.CLONE_NEWNET)
        finally:
            os.close(back)


def sysctl(name: str, value: str, only_if_not: str | None = None) -> None:
    """Write ``/proc/sys/net/NAME`` in the current namespace; failures are only reported
    (the reference ignores them too)."""
    path = "/proc/sys/net/" + name
    try:
        if only_if_not is not None:
            with open(path) as current:
                if current.read().strip() == only_if_not:
                    return
        with open(path, "w") as out:
            out.write(value)
    except OSError as exc:
        sys.stderr.write(f"macvlan-cni: sysctl {path}: {exc.strerror}\n")
