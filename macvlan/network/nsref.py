"""Finding namespaces again across processes, and telling when one is really gone.

A :class:`~macvlan.network.store.NsRef` records a namespace's identity (the nsfs
device and inode) and a path that lasts: its name under ``/run/netns``, or, for a
namespace given as a descriptor or a ``/proc`` path, a bind mount the library makes
under ``/run/macvlan/STORE-ID/`` (as runtimes pin theirs).  :func:`reopen` opens
the namespace only if it is still the same one; when the path is gone or holds
another namespace, the identity is looked for everywhere a namespace can be held
(our pins, ``/run/netns``, every task's namespace, every open namespace
descriptor, this mount namespace's mounts).  Only when none is found is the
namespace gone, and only then may its endpoints' addresses be given out again.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator

from macvlan import _syscalls
from macvlan.connection import Connection
from macvlan.errors import NamespaceNotFound, NetlinkError
from macvlan.mac import MacAddress
from macvlan.namespace import RUN_DIR, Namespace, NotANamespaceError, call_in_thread
from macvlan.network.store import NsRef

__all__ = [
    "PIN_ROOT",
    "Finder",
    "connections",
    "current_identity",
    "namespace_exists",
    "open_namespace",
    "ref_of",
    "reopen",
    "unpin",
    "visible_macs",
]

#: Where namespaces given without a lasting name are pinned, one directory per store.
PIN_ROOT = "/run/macvlan"


def current_identity() -> tuple[int, int]:
    """(device, inode) of the calling thread's network namespace."""
    st = os.stat("/proc/thread-self/ns/net")
    return st.st_dev, st.st_ino


def open_namespace(namespace: object) -> tuple[Namespace, bool]:
    """A Namespace for a Namespace or a name, and whether the caller must close it."""
    if isinstance(namespace, Namespace):
        if namespace.closed:
            raise ValueError(f"namespace {namespace!r} is closed")
        return namespace, False
    if isinstance(namespace, str):
        return Namespace.open(namespace), True
    raise TypeError(f"a namespace is a Namespace or a name under /run/netns, not {namespace!r}")


# -- pins ------------------------------------------------------------------------------
def _pin_dir(store_id: str) -> str:
    return os.path.join(PIN_ROOT, store_id)


def _pin_path(store_id: str, dev: int, ino: int) -> str:
    return os.path.join(_pin_dir(store_id), f"net-{dev}-{ino}")


def _same(path: str, dev: int, ino: int) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def _shared_root() -> None:
    """Make :data:`PIN_ROOT` a shared mount point, as ``ip netns`` does for its
    directory, so that pins made and removed here are seen in every mount namespace."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(PIN_ROOT, 0o700)
    try:
        _syscalls.mount("", PIN_ROOT, None, _syscalls.MS_SHARED | _syscalls.MS_REC)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # EINVAL: not a mount point yet
            raise
        _syscalls.mount(PIN_ROOT, PIN_ROOT, None, _syscalls.MS_BIND | _syscalls.MS_REC)
        _syscalls.mount("", PIN_ROOT, None, _syscalls.MS_SHARED | _syscalls.MS_REC)


def _pin(ns: Namespace, store_id: str, dev: int, ino: int) -> str | None:
    """Bind-mount ``ns`` under the store's pin directory; None if not permitted."""
    path = _pin_path(store_id, dev, ino)
    if _same(path, dev, ino):
        return path
    try:
        _shared_root()
        with contextlib.suppress(FileExistsError):
            os.mkdir(_pin_dir(store_id), 0o700)
        with contextlib.suppress(OSError):  # a stale mount or file from an earlier pin
            _syscalls.umount2(path, _syscalls.MNT_DETACH | _syscalls.UMOUNT_NOFOLLOW)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        _syscalls.mount(f"/proc/self/fd/{ns.fd}", path, None, _syscalls.MS_BIND)
    except PermissionError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return None  # CAP_NET_ADMIN alone: the identity search stands in for the pin
    return path


def unpin(store_id: str, ref: NsRef) -> None:
    """Remove the pin of ``ref`` (if it is one of this store's pins)."""
    path = _pin_path(store_id, ref.dev, ref.ino)
    if ref.path != path:
        return
    with contextlib.suppress(OSError):
        _syscalls.umount2(path, _syscalls.MNT_DETACH | _syscalls.UMOUNT_NOFOLLOW)
    with contextlib.suppress(OSError):
        os.unlink(path)
    with contextlib.suppress(OSError):  # the store's directory goes with its last pin
        os.rmdir(_pin_dir(store_id))


def ref_of(ns: Namespace, store_id: str) -> NsRef:
    """A lasting reference to ``ns``: by name, or pinned under the store's directory.

    Call it inside the store transaction that writes the record, so that a
    concurrent :func:`unpin` of the last other user cannot remove the pin between.
    """
    st = os.fstat(ns.fd)
    if ns.name is not None and _same(os.path.join(RUN_DIR, ns.name), st.st_dev, st.st_ino):
        return NsRef(ns.name, os.path.join(RUN_DIR, ns.name), st.st_dev, st.st_ino)
    pinned = _pin(ns, store_id, st.st_dev, st.st_ino)
    return NsRef(None, pinned or ns.path, st.st_dev, st.st_ino)


# -- finding a namespace again -----------------------------------------------------------
def _open_if(path: str, dev: int, ino: int) -> Namespace | None:
    try:
        ns = Namespace.from_path(path)
    except (NamespaceNotFound, NotANamespaceError, OSError):
        return None
    st = os.fstat(ns.fd)
    if (st.st_dev, st.st_ino) != (dev, ino):
        ns.close()
        return None
    return ns


def _holders() -> Iterator[tuple[str, str]]:
    """(``net:[INODE]``, path) for every place a namespace can be held: pins,
    names, this mount namespace's mounts, every task, every open descriptor."""
    with contextlib.suppress(OSError), os.scandir(PIN_ROOT) as stores:
        for store in stores:
            with contextlib.suppress(OSError), os.scandir(store.path) as pins:
                for pin in pins:
                    with contextlib.suppress(OSError):
                        yield f"net:[{os.stat(pin.path).st_ino}]", pin.path
    with contextlib.suppress(OSError), os.scandir(RUN_DIR) as names:
        for entry in names:
            with contextlib.suppress(OSError):
                yield f"net:[{os.stat(entry.path).st_ino}]", entry.path
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4 and fields[3].startswith("net:["):
                yield fields[3], fields[4]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        for sub in ("task", "fd"):
            with contextlib.suppress(OSError):
                for item in os.listdir(f"/proc/{pid}/{sub}"):
                    path = f"/proc/{pid}/{sub}/{item}" + ("/ns/net" if sub == "task" else "")
                    with contextlib.suppress(OSError):
                        target = os.readlink(path)
                        if target.startswith("net:["):
                            yield target, path


class Finder:
    """Reopens namespace references; looks everywhere (once) for those whose path
    no longer holds them."""

    def __init__(self) -> None:
        self._index: dict[str, list[str]] | None = None

    def _paths(self, ino: int) -> list[str]:
        if self._index is None:
            index: dict[str, list[str]] = {}
            for label, path in _holders():
                index.setdefault(label, []).append(path)
            self._index = index
        return self._index.get(f"net:[{ino}]", [])

    def reopen(self, ref: NsRef) -> Namespace | None:
        """The namespace ``ref`` names, or None only if no namespace with its identity
        exists anywhere this process can see."""
        ns = _open_if(ref.path, ref.dev, ref.ino)
        if ns is not None:
            return ns
        for path in self._paths(ref.ino):
            ns = _open_if(path, ref.dev, ref.ino)
            if ns is not None:
                return ns
        return None


def reopen(ref: NsRef) -> Namespace | None:
    """The namespace ``ref`` names, or None only if no namespace with its identity
    exists anywhere this process can see."""
    return Finder().reopen(ref)


def namespace_exists(ref: NsRef) -> bool:
    """Whether the namespace of ``ref`` still exists (see :func:`reopen`)."""
    ns = reopen(ref)
    if ns is None:
        return False
    ns.close()
    return True


def connections(namespaces: Iterable[Namespace]) -> list[Connection]:
    """One connection in each namespace, all opened from one helper thread.

    ``Connection(ns)`` starts a thread per namespace; reconcile of hundreds of
    endpoints opens them all in one go instead.
    """
    todo = list(namespaces)
    out: list[Connection] = []

    def work() -> None:
        here = current_identity()
        try:
            for ns in todo:
                st = os.fstat(ns.fd)
                if (st.st_dev, st.st_ino) != here:
                    _syscalls.setns(ns.fd, _syscalls.CLONE_NEWNET)
                    here = (st.st_dev, st.st_ino)
                out.append(Connection())
        except BaseException:
            for conn in out:
                conn.close()
            raise

    call_in_thread(work, "macvlan-reconcile-sockets")
    return out


def visible_macs(host: Connection) -> dict[MacAddress, str]:
    """MAC -> "link in namespace" for every link this process can see: the host
    connection's namespace and every named namespace under /run/netns."""
    out: dict[MacAddress, str] = {}
    for link in host.links():
        if link.mac is not None:
            out.setdefault(link.mac, f"{link.name!r} in the parent's namespace")
    for name in Namespace.list():
        with (
            contextlib.suppress(OSError, NetlinkError),
            Namespace.open(name) as ns,
            Connection(ns) as conn,
        ):
            for link in conn.links():
                if link.mac is not None:
                    out.setdefault(link.mac, f"{link.name!r} in namespace {name!r}")
    return out
