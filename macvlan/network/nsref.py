"""Finding namespaces again across processes, and the MACs visible in them.

A :class:`~macvlan.network.store.NsRef` records a namespace's name (or path) and identity;
:func:`reopen` opens it again only if it is still the same namespace, so that a
record never acts on a namespace that later took over the name.
"""

from __future__ import annotations

import contextlib
import os

from macvlan.connection import Connection
from macvlan.errors import NamespaceNotFound, NetlinkError
from macvlan.mac import MacAddress
from macvlan.namespace import Namespace, NotANamespaceError
from macvlan.network.store import NsRef

__all__ = ["current_identity", "open_namespace", "ref_of", "reopen", "visible_macs"]


def ref_of(ns: Namespace) -> NsRef:
    st = os.fstat(ns.fd)
    return NsRef(ns.name, ns.path, st.st_dev, st.st_ino)


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


def reopen(ref: NsRef) -> Namespace | None:
    """The namespace ``ref`` names, or None if it is gone or was replaced.

    Only a missing name or path, or another namespace found there, counts as gone;
    other errors (no permission, ...) are raised.
    """
    try:
        ns = Namespace.open(ref.name) if ref.name else Namespace.from_path(ref.path)
    except (NamespaceNotFound, FileNotFoundError, NotANamespaceError):
        return None
    st = os.fstat(ns.fd)
    if (st.st_dev, st.st_ino) != (ref.dev, ref.ino):
        ns.close()
        return None
    return ns


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
