"""Network namespaces: create, open, list, enter and delete them without forking.

Named namespaces live where iproute2 keeps them (``/run/netns/NAME``, a bind
mount of a namespace file), so ``ip netns`` sees ours and we see its.  Creating
one and running code inside one happen in a short-lived helper thread: the
calling thread never changes namespace, and nothing forks, so this is safe in
threaded programs.  :meth:`Namespace.enter` is the one call that switches the
calling thread, and only for the body of its ``with`` block.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import stat
import threading
from collections.abc import Callable, Iterator
from types import TracebackType

from macvlan import _syscalls
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import (
    NamespaceNameError,
    NamespaceNameTypeError,
    NamespaceNotFound,
    NotANamespaceError,
)

if TYPE_CHECKING:
    from typing import ParamSpec, TypeVar

    from macvlan.connection import Connection  # type: ignore[import-not-found, unused-ignore]
else:
    from macvlan._typing import ParamSpec, TypeVar

__all__ = [
    "RUN_DIR",
    "Namespace",
    "NamespaceNameError",
    "NamespaceNameTypeError",
    "NotANamespaceError",
]

#: Where named network namespaces are mounted (iproute2's ``/var/run/netns``).
RUN_DIR = "/run/netns"

_THIS_THREAD = "/proc/thread-self/ns/net"
_NAME_MAX = 255
_PERMISSION_HINT = "network namespaces need root or CAP_SYS_ADMIN"
_OPEN_HINT = "opening another user's process's namespace needs root or CAP_SYS_PTRACE"

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _check_name(name: object) -> str:
    """Return ``name`` if it can name a namespace, else raise before any I/O."""
    if not isinstance(name, str):
        raise NamespaceNameTypeError(
            f"network namespace name must be str, not {type(name).__name__}: {name!r}"
        )
    problem = ""
    if not name:
        problem = "it is empty"
    elif name in (".", ".."):
        problem = "it is a directory reference"
    elif "/" in name:
        problem = "it contains '/'"
    elif "\0" in name:
        problem = "it contains a NUL character"
    else:
        try:
            size = len(os.fsencode(name))
        except UnicodeEncodeError:
            problem = "it cannot be encoded as a file name"
        else:
            if size > _NAME_MAX:
                problem = f"it is {size} bytes long (at most {_NAME_MAX})"
    if problem:
        raise NamespaceNameError(f"invalid network namespace name {name!r}: {problem}")
    return name


@contextlib.contextmanager
def _permission_hint(hint: str = _PERMISSION_HINT) -> Iterator[None]:
    """Add a hint about privileges to a PermissionError raised in the body."""
    try:
        yield
    except PermissionError as exc:
        if "(hint: " in str(exc.strerror):  # an inner call already explained it
            raise
        raise PermissionError(exc.errno, f"{exc.strerror} (hint: {hint})", exc.filename) from exc


@functools.cache
def _nsfs_dev() -> int:
    """The device number every namespace file (nsfs inode) reports."""
    return os.stat("/proc/self/ns/net").st_dev


def _open_checked(path: str, *, follow: bool) -> tuple[int, os.stat_result]:
    """Open ``path`` read-only if, and only if, it is a network namespace.

    The path is first opened with ``O_PATH`` (which never opens a device or a FIFO
    and, with ``follow=False``, does not follow a symbolic link); only once that
    handle is seen to be an nsfs file is it reopened for real, through
    ``/proc/thread-self/fd``, so the file checked is the file opened.
    """
    flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        with _permission_hint(_OPEN_HINT):
            handle = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise NamespaceNotFound(errno.ENOENT, f"no network namespace at {path!r}", path) from exc
    try:
        st = os.fstat(handle)
        if stat.S_ISLNK(st.st_mode):
            raise NotANamespaceError(path, "it is a symbolic link, which is not followed")
        if not stat.S_ISREG(st.st_mode) or st.st_dev != _nsfs_dev():
            raise NotANamespaceError(path, "it is not a namespace file (not on nsfs)")
        fd = os.open(f"/proc/thread-self/fd/{handle}", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(handle)
    try:
        st = os.fstat(fd)
        try:
            kind = _syscalls.ns_type(fd)
        except OSError as exc:
            raise NotANamespaceError(path, f"NS_GET_NSTYPE failed: {exc.strerror}") from exc
        if kind != _syscalls.CLONE_NEWNET:
            what = _syscalls.NSTYPE_NAMES.get(kind, hex(kind))
            raise NotANamespaceError(path, f"it is a {what} namespace")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def call_in_thread(fn: Callable[[], _T], name: str) -> _T:
    """Run ``fn`` in a new thread named ``name``, wait for it, return its result or raise
    its error (a namespace the thread enters is left with it: the caller stays put)."""
    result: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join()
    if failure:
        exc = failure.pop()
        try:
            raise exc
        finally:
            del exc
    return result[0]


def _prepare_run_dir() -> None:
    """Make :data:`RUN_DIR` exist and be a shared mount point, as ``ip netns add`` does.

    Shared propagation lets a namespace unmounted in one mount namespace be
    unmounted in all of them.  The directory is flock'ed meanwhile so that
    concurrent creators do not stack bind mounts of it on top of each other.
    """
    with contextlib.suppress(FileExistsError):
        os.mkdir(RUN_DIR, 0o755)
    lock = os.open(RUN_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError):  # best effort, as iproute2
            fcntl.flock(lock, fcntl.LOCK_EX)
        made_mount_point = False
        while True:
            try:
                _syscalls.mount("", RUN_DIR, None, _syscalls.MS_SHARED | _syscalls.MS_REC)
                return
            except OSError as exc:
                # EINVAL: not a mount point yet; make it one (once) and retry.
                if exc.errno != errno.EINVAL or made_mount_point:
                    why = os.strerror(exc.errno or 0)
                    raise type(exc)(
                        exc.errno, f"cannot make {RUN_DIR} a shared mount point: {why}"
                    ) from exc
            _syscalls.mount(RUN_DIR, RUN_DIR, None, _syscalls.MS_BIND | _syscalls.MS_REC)
            made_mount_point = True
    finally:
        os.close(lock)  # also releases the flock


def _new_netns_onto(path: str) -> None:
    """In the calling (helper) thread: make a new netns and bind it onto ``path``."""
    _syscalls.unshare(_syscalls.CLONE_NEWNET)
    _syscalls.mount(_THIS_THREAD, path, None, _syscalls.MS_BIND)


def _unmount_and_unlink(path: str) -> None:
    """Undo a half-made namespace file; errors here would hide the real one."""
    with contextlib.suppress(OSError):
        _syscalls.umount2(path, _syscalls.MNT_DETACH | _syscalls.UMOUNT_NOFOLLOW)
    with contextlib.suppress(OSError):
        os.unlink(path)


class _Entered:
    """Context manager behind :meth:`Namespace.enter`."""

    __slots__ = ("_namespace", "_saved", "_thread")

    def __init__(self, namespace: Namespace) -> None:
        self._namespace = namespace
        self._saved = -1
        self._thread = 0

    def __enter__(self) -> Namespace:
        if self._saved >= 0:
            raise RuntimeError("this enter() context is already active")
        target = self._namespace.fd
        saved = os.open(_THIS_THREAD, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with _permission_hint():
                _syscalls.setns(target, _syscalls.CLONE_NEWNET)
        except BaseException:
            os.close(saved)
            raise
        self._saved = saved
        self._thread = threading.get_ident()
        return self._namespace

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        saved, self._saved = self._saved, -1
        try:
            if threading.get_ident() != self._thread:
                raise RuntimeError(
                    "Namespace.enter() was left on another thread than the one that "
                    "entered it; that thread is still inside the namespace"
                )
            _syscalls.setns(saved, _syscalls.CLONE_NEWNET)
        finally:
            os.close(saved)


class Namespace:
    """An open network namespace (a file descriptor on its nsfs inode).

    Get one with :meth:`create`, :meth:`open`, :meth:`from_path`,
    :meth:`from_pid`, :meth:`from_fd` or :meth:`current`.  Two objects are equal
    when they refer to the same namespace (same device and inode), however opened.
    Closing (or leaving a ``with`` block on the object) closes the descriptor;
    the namespace itself lives on while it is mounted or used.
    """

    __slots__ = ("__weakref__", "_dev", "_fd", "_ino", "_name", "_path")

    _fd: int
    _dev: int
    _ino: int
    _name: str | None
    _path: str

    def __init__(self) -> None:
        raise TypeError(
            "use Namespace.create(), open(), from_path(), from_pid(), from_fd() or current()"
        )

    @classmethod
    def _adopt(cls, fd: int, st: os.stat_result, path: str, name: str | None) -> Namespace:
        self = object.__new__(cls)
        self._fd = fd
        self._dev = st.st_dev
        self._ino = st.st_ino
        self._name = name
        self._path = path
        return self

    # -- getting one ------------------------------------------------------------

    @classmethod
    def create(cls, name: str) -> Namespace:
        """Create the named namespace ``RUN_DIR/name``, as ``ip netns add`` does.

        Raises :class:`NamespaceNameError` for a bad name (before touching the
        filesystem), :class:`FileExistsError` if the name is taken (the existing
        namespace is left alone) and :class:`PermissionError` without privileges.
        If a step fails, the file made for the namespace is removed again.
        """
        name = _check_name(name)
        path = os.path.join(RUN_DIR, name)
        with _permission_hint():
            _prepare_run_dir()
            try:
                placeholder = os.open(
                    path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0
                )
            except FileExistsError as exc:
                raise FileExistsError(
                    errno.EEXIST, f"network namespace {name!r} already exists", path
                ) from exc
            os.close(placeholder)
            try:
                call_in_thread(
                    functools.partial(_new_netns_onto, path), f"macvlan-netns-create-{name}"
                )
                fd, st = _open_checked(path, follow=False)
            except BaseException:
                _unmount_and_unlink(path)
                raise
        return cls._adopt(fd, st, path, name)

    @classmethod
    def open(cls, name: str) -> Namespace:
        """Open the named namespace ``RUN_DIR/name`` (never creates one).

        Raises :class:`~macvlan.errors.NamespaceNotFound` if there is none and
        :class:`NotANamespaceError` if the entry is a symbolic link, an ordinary
        file or another kind of namespace.
        """
        name = _check_name(name)
        path = os.path.join(RUN_DIR, name)
        try:
            fd, st = _open_checked(path, follow=False)
        except NamespaceNotFound as exc:
            raise NamespaceNotFound(
                errno.ENOENT, f"no network namespace named {name!r}", path
            ) from exc
        return cls._adopt(fd, st, path, name)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> Namespace:
        """Open the network namespace file at ``path`` (e.g. ``/proc/PID/ns/net``).

        Symbolic links in a path given here are followed.  ``name`` is None even
        for a path under :data:`RUN_DIR`; use :meth:`open` for named ones.
        """
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"namespace path must be str or os.PathLike[str], not {path!r}")
        text = os.fspath(path)
        if not isinstance(text, str):
            raise TypeError(f"namespace path must be str or os.PathLike[str]: {path!r}")
        if not text or "\0" in text:
            raise ValueError(f"invalid namespace path {text!r}")
        fd, st = _open_checked(text, follow=True)
        return cls._adopt(fd, st, text, None)

    @classmethod
    def from_pid(cls, pid: int) -> Namespace:
        """Open the network namespace of process ``pid``."""
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise TypeError(f"pid must be int: {pid!r}")
        if pid <= 0:
            raise ValueError(f"pid must be positive: {pid!r}")
        path = f"/proc/{pid}/ns/net"
        try:
            fd, st = _open_checked(path, follow=True)
        except NamespaceNotFound as exc:
            raise NamespaceNotFound(errno.ENOENT, f"no process {pid}", path) from exc
        return cls._adopt(fd, st, path, None)

    @classmethod
    def from_fd(cls, fd: int) -> Namespace:
        """Open the network namespace that ``fd`` refers to; ``fd`` stays the caller's.

        ``path`` is then ``/proc/PID/fd/N`` for the new descriptor ``N``.
        """
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f"fd must be int: {fd!r}")
        if fd < 0:
            raise ValueError(f"fd must not be negative: {fd!r}")
        try:
            own, st = _open_checked(f"/proc/thread-self/fd/{fd}", follow=True)
        except NamespaceNotFound as exc:
            raise OSError(errno.EBADF, f"bad file descriptor {fd}") from exc
        return cls._adopt(own, st, f"/proc/{os.getpid()}/fd/{own}", None)

    @classmethod
    def current(cls) -> Namespace:
        """Open the calling thread's network namespace.

        ``path`` is then ``/proc/PID/fd/N`` for the object's descriptor ``N``.
        """
        fd, st = _open_checked(_THIS_THREAD, follow=True)
        return cls._adopt(fd, st, f"/proc/{os.getpid()}/fd/{fd}", None)

    @staticmethod
    def list() -> list[str]:
        """Sorted names of the network namespaces mounted under :data:`RUN_DIR`.

        Entries that are not network namespace mounts (symbolic links, ordinary
        files, half-created or half-deleted entries) are left out.
        """
        try:
            entries = os.scandir(RUN_DIR)
        except FileNotFoundError:
            return []
        names = []
        with entries:
            for entry in entries:
                try:
                    fd, _ = _open_checked(entry.path, follow=False)
                except OSError:
                    continue
                os.close(fd)
                names.append(entry.name)
        return sorted(names)

    # -- what it is ---------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """Its name under :data:`RUN_DIR`, or None if it was not opened by name."""
        return self._name

    @property
    def path(self) -> str:
        """The path it was opened from (or one that reaches it while it is open)."""
        return self._path

    @property
    def fd(self) -> int:
        """The ``O_RDONLY | O_CLOEXEC`` descriptor; ValueError once closed."""
        if self._fd < 0:
            raise ValueError(f"operation on closed namespace {self!r}")
        return self._fd

    @property
    def inode(self) -> int:
        """The namespace's inode number, as in ``net:[INODE]``."""
        return self._ino

    @property
    def closed(self) -> bool:
        """True once :meth:`close` (or :meth:`delete`) has run."""
        return self._fd < 0

    def fileno(self) -> int:
        """The descriptor, so the object can be passed where a file is expected."""
        return self.fd

    # -- using it -----------------------------------------------------------------

    def enter(self) -> _Entered:
        """Context manager: the calling thread is in this namespace for the body.

        Only the calling thread moves; it is moved back when the body ends, also
        when it raises.  Threads and processes started inside the body begin in
        this namespace.  Do not ``await`` inside the body: other coroutines of
        the event loop would run in this namespace too.
        """
        return _Entered(self)

    def run(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Call ``fn(*args, **kwargs)`` in a helper thread inside this namespace.

        Returns what it returns and raises what it raises; the calling thread
        never changes namespace.
        """
        target = self.fd
        here = os.stat(_THIS_THREAD)  # the helper thread starts where the caller is
        move = (here.st_dev, here.st_ino) != (self._dev, self._ino)

        def call() -> _T:
            if move:  # no setns into the namespace it is in: CAP_NET_ADMIN alone suffices
                with _permission_hint():
                    _syscalls.setns(target, _syscalls.CLONE_NEWNET)
            return fn(*args, **kwargs)

        return call_in_thread(call, f"macvlan-netns-run-{self._name or self._ino}")

    def connect(self) -> Connection:
        """An rtnetlink connection inside this namespace (the caller stays put)."""
        from macvlan.connection import connect

        conn: Connection = connect(netns=self)
        return conn

    # -- ending it ----------------------------------------------------------------

    def delete(self, *, missing_ok: bool = False) -> None:
        """Remove the name, as ``ip netns del`` does, and close the descriptor.

        The namespace goes away once nothing else uses it.  Only namespaces opened
        by name can be deleted.  If the name is gone (or now holds another
        namespace), :class:`~macvlan.errors.NamespaceNotFound` is raised unless
        ``missing_ok``; another namespace found under the name is never removed.
        """
        name = self._name
        if name is None:
            raise ValueError(f"{self!r} has no name under {RUN_DIR}; nothing to delete")
        path = self._path
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is None or (st.st_dev, st.st_ino) != (self._dev, self._ino):
            self.close()
            if missing_ok:
                return
            why = "no longer exists" if st is None else "now names another namespace or file"
            raise NamespaceNotFound(errno.ENOENT, f"network namespace {name!r} {why}", path)
        with _permission_hint():
            try:
                _syscalls.umount2(path, _syscalls.MNT_DETACH | _syscalls.UMOUNT_NOFOLLOW)
            except OSError as exc:
                if exc.errno != errno.EINVAL:  # EINVAL: not mounted any more
                    raise
            try:
                os.unlink(path)
            except FileNotFoundError:
                if not missing_ok:
                    raise NamespaceNotFound(
                        errno.ENOENT, f"network namespace {name!r} vanished", path
                    ) from None
        self.close()

    def close(self) -> None:
        """Close the descriptor (idempotent); the namespace itself is untouched."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> Namespace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            self.close()

    # -- identity -----------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Namespace):
            return NotImplemented
        return (self._dev, self._ino) == (other._dev, other._ino)

    def __hash__(self) -> int:
        return hash((self._dev, self._ino))

    def __repr__(self) -> str:
        fd = "closed" if self._fd < 0 else str(self._fd)
        return f"Namespace(name={self._name!r}, path={self._path!r}, inode={self._ino}, fd={fd})"
