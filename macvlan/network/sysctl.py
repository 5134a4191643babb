"""Per-endpoint sysctls: checked before anything is created, written inside the
endpoint's namespace before its interface comes up, undone if a step fails.

Keys are full names in which the literal ``IFNAME`` stands for the endpoint's
interface, and only four trees are allowed (as Docker allows):
``net.ipv4.conf.IFNAME.*``, ``net.ipv6.conf.IFNAME.*``, ``net.ipv4.neigh.IFNAME.*``
and ``net.ipv6.neigh.IFNAME.*``.  ``/proc/sys/net`` shows the network namespace
of the thread that opens it, so every read and write runs in a helper thread
inside the namespace.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Mapping

from macvlan import _syscalls
from macvlan.errors import SysctlError, SysctlNotFound, SysctlValueRejected
from macvlan.namespace import Namespace, call_in_thread

__all__ = ["SysctlKey", "apply", "check", "merge", "parse", "restore"]

_KEY = re.compile(r"^net\.(ipv4|ipv6)\.(conf|neigh)\.IFNAME\.([A-Za-z0-9_]+)$")
# entries of neigh/default that no interface has
_DEFAULT_ONLY = frozenset({"gc_interval", "gc_thresh1", "gc_thresh2", "gc_thresh3"})
_VALUE = re.compile(r"^[\x20-\x7e]{1,4096}$")


class SysctlKey(tuple[str, str, str]):
    """A checked key: (``ipv4``/``ipv6``, ``conf``/``neigh``, leaf)."""

    __slots__ = ()

    def path(self, ifname: str) -> str:
        """The file under ``/proc/sys`` for interface ``ifname``."""
        family, tree, leaf = self
        return f"/proc/sys/net/{family}/{tree}/{ifname}/{leaf}"

    @property
    def name(self) -> str:
        """The key as the user wrote it."""
        family, tree, leaf = self
        return f"net.{family}.{tree}.IFNAME.{leaf}"


def _value(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise SysctlError(f"sysctl {key}: the value must be a str, int or bool, not {value!r}")
    text = value.strip()
    if not _VALUE.match(text):
        raise SysctlError(f"sysctl {key}: value {value!r} must be 1-4096 printable characters")
    return text


def parse(sysctls: object) -> dict[SysctlKey, str]:
    """Check the form of keys and values (no I/O); the checked mapping."""
    if sysctls is None:
        return {}
    if not isinstance(sysctls, Mapping):
        raise SysctlError(f"sysctls must be a mapping of names to values, not {sysctls!r}")
    out: dict[SysctlKey, str] = {}
    for key, value in sysctls.items():
        if not isinstance(key, str):
            raise SysctlError(f"sysctl names are str, not {key!r}")
        match = _KEY.match(key.strip())
        if match is None:
            raise SysctlError(
                f"sysctl {key!r} is not allowed: only net.ipv4.conf.IFNAME.*, "
                "net.ipv6.conf.IFNAME.*, net.ipv4.neigh.IFNAME.* and net.ipv6.neigh.IFNAME.* "
                "(with the literal IFNAME) can be set per endpoint"
            )
        family, tree, leaf = match.groups()
        if tree == "neigh" and leaf in _DEFAULT_ONLY:
            raise SysctlNotFound(f"sysctl {key!r} does not exist: {leaf} is namespace-wide")
        out[SysctlKey((family, tree, leaf))] = _value(key, value)
    return out


def merge(*layers: Mapping[SysctlKey, str]) -> dict[SysctlKey, str]:
    """Later layers win (presets, then the network's, then the attach's)."""
    out: dict[SysctlKey, str] = {}
    for layer in layers:
        out.update(layer)
    return out


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode() + b"\n")
    finally:
        os.close(fd)


def _read(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read().strip()


def _rejected(key: SysctlKey, value: str, exc: OSError) -> SysctlValueRejected:
    why = "it is read-only" if exc.errno in (errno.EACCES, errno.EPERM) else exc.strerror
    return SysctlValueRejected(f"sysctl {key.name}: the kernel rejects value {value!r} ({why})")


def _trial(sysctls: Mapping[SysctlKey, str]) -> None:
    """In a brand-new scratch namespace (this helper thread's own): every key must
    exist for interfaces and take its value."""
    _syscalls.unshare(_syscalls.CLONE_NEWNET)
    for key, value in sysctls.items():
        # conf/default is what new interfaces copy; a new namespace has no
        # neigh/default, but its lo has every per-interface neigh entry
        path = key.path("default" if key[1] == "conf" else "lo")
        if not os.path.exists(path):
            raise SysctlNotFound(f"sysctl {key.name} does not exist in this kernel")
        try:
            _write(path, value)
        except OSError as exc:
            raise _rejected(key, value, exc) from None


def check(sysctls: Mapping[SysctlKey, str]) -> None:
    """Refuse keys the kernel lacks and values it would reject, before anything is
    made: each is tried on the defaults of a throw-away namespace that lives only as
    long as the helper thread doing it."""
    if not sysctls:
        return
    call_in_thread(lambda: _trial(sysctls), "macvlan-sysctl-check")


def apply(ns: Namespace, ifname: str, sysctls: Mapping[SysctlKey, str]) -> list[tuple[str, str]]:
    """Write the values for ``ifname`` inside ``ns``; the (path, old value) pairs to
    :func:`restore`.  On a failure the ones written are put back first."""
    if not sysctls:
        return []

    def run() -> list[tuple[str, str]]:
        done: list[tuple[str, str]] = []
        try:
            for key, value in sysctls.items():
                path = key.path(ifname)
                try:
                    old: str | None = _read(path)
                except FileNotFoundError:
                    raise SysctlNotFound(
                        f"sysctl {key.name} does not exist for {ifname!r}"
                    ) from None
                except OSError:
                    old = None  # e.g. stable_secret before it is set: nothing to put back
                try:
                    _write(path, value)
                except OSError as exc:
                    raise _rejected(key, value, exc) from None
                if old is not None:
                    done.append((path, old))
        except BaseException:
            _restore_here(done)
            raise
        return done

    return ns.run(run)


def _restore_here(done: list[tuple[str, str]]) -> None:
    for path, old in reversed(done):
        with contextlib.suppress(OSError):
            _write(path, old)


def restore(ns: Namespace, done: list[tuple[str, str]]) -> None:
    """Put back what :func:`apply` changed (best effort: the link may be gone)."""
    if done:
        ns.run(_restore_here, done)


def read(ns: Namespace, ifname: str, key: str) -> str:
    """The current value of one allowed key for ``ifname`` in ``ns``."""
    (parsed,) = parse({key: "0"})
    return ns.run(_read, parsed.path(ifname))
