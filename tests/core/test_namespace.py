"""Tests for macvlan.namespace.

Live tests create throw-away namespaces named ``mvt-<pid>-<random>`` and remove
them in fixtures, also when a test fails.  ``ip`` and ``ls`` serve as independent
oracles only; the library itself never runs them.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import secrets
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from macvlan import _syscalls
from macvlan.errors import NamespaceNotFound
from macvlan.namespace import (
    RUN_DIR,
    Namespace,
    NamespaceNameError,
    NamespaceNameTypeError,
    NotANamespaceError,
)

F = TypeVar("F", bound=Callable[..., Any])
ROOT = Path(__file__).resolve().parents[2]


def live(fn: F) -> F:
    """Mark a test as live: it needs root and makes namespaces."""
    return pytest.mark.live(fn)  # skipped without root by the hook in conftest.py  # type: ignore[no-any-return]


def unique_name() -> str:
    return f"mvt-{os.getpid()}-{secrets.token_hex(4)}"


def thread_netns() -> str:
    """The calling thread's namespace as the kernel names it, e.g. ``net:[4026531840]``."""
    return os.readlink("/proc/thread-self/ns/net")


def remove_entry(name: str) -> None:
    """Remove RUN_DIR/name whatever it is (namespace mount, symlink, file, dir)."""
    path = os.path.join(RUN_DIR, name)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        os.unlink(path)
        return
    with contextlib.suppress(OSError):
        _syscalls.umount2(path, _syscalls.MNT_DETACH | _syscalls.UMOUNT_NOFOLLOW)
    if stat.S_ISDIR(os.lstat(path).st_mode):
        os.rmdir(path)
    else:
        os.unlink(path)


def ip_netns_names() -> set[str]:
    out = subprocess.run(
        ["ip", "-j", "netns", "list"], check=True, capture_output=True, text=True
    ).stdout
    return {entry["name"] for entry in json.loads(out or "[]")}


def ls_run_dir() -> set[str]:
    if not os.path.isdir(RUN_DIR):
        return set()
    out = subprocess.run(["ls", "-1A", RUN_DIR], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def ip_links_in(name: str) -> list[str]:
    out = subprocess.run(
        ["ip", "-n", name, "-j", "link", "show"], check=True, capture_output=True, text=True
    ).stdout
    return [link["ifname"] for link in json.loads(out)]


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def names() -> Iterator[Callable[[], str]]:
    """Hands out unique namespace names and removes whatever got made under them."""
    made: list[str] = []

    def new() -> str:
        made.append(unique_name())
        return made[-1]

    try:
        yield new
    finally:
        for name in made:
            remove_entry(name)


@pytest.fixture
def name(names: Callable[[], str]) -> str:
    return names()


# -- names: rejected before anything touches the filesystem ---------------------

BAD_NAMES: list[tuple[object, type[Exception]]] = [
    ("", NamespaceNameError),
    (".", NamespaceNameError),
    ("..", NamespaceNameError),
    ("/", NamespaceNameError),
    ("TOKEN/x", NamespaceNameError),
    ("../TOKEN", NamespaceNameError),
    ("TOKEN\0x", NamespaceNameError),
    ("TOKEN" + "x" * 260, NamespaceNameError),
    ("TOKEN" + "é" * 127, NamespaceNameError),  # under 255 characters, over 255 bytes
    (b"TOKEN", NamespaceNameTypeError),
    (None, NamespaceNameTypeError),
    (42, NamespaceNameTypeError),
]

BAD_IDS = [ascii(raw)[:20] for raw, _ in BAD_NAMES]


def _bad(raw: object, token: str) -> object:
    return raw.replace("TOKEN", token) if isinstance(raw, str) else raw


@pytest.fixture
def no_filesystem_access(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every call that could change the filesystem or namespaces fail the test."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"filesystem touched before the name was checked: {args!r}")

    for fn in ("mount", "umount2", "unshare", "setns"):
        monkeypatch.setattr(_syscalls, fn, forbidden)
    for fn in ("open", "mkdir", "unlink", "scandir"):
        monkeypatch.setattr(os, fn, forbidden)


@pytest.mark.parametrize(("raw", "error"), BAD_NAMES, ids=BAD_IDS)
@pytest.mark.parametrize("method", [Namespace.create, Namespace.open])
@pytest.mark.usefixtures("no_filesystem_access")
def test_bad_name_is_refused_before_any_io(
    method: Callable[[Any], Namespace], raw: object, error: type[Exception]
) -> None:
    bad = _bad(raw, "tok")
    with pytest.raises(error) as info:
        method(bad)
    assert isinstance(info.value, ValueError)
    assert repr(bad) in str(info.value)


def test_non_str_name_is_also_a_type_error() -> None:
    with pytest.raises(TypeError):
        Namespace.open(b"blue")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "good", ["a", "x" * 255, "é" * 127, "with space", "-dash", "a.b"], ids=lambda g: ascii(g)[:20]
)
def test_good_names_get_past_validation(good: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid name reaches the filesystem: opening it fails only for being absent."""
    monkeypatch.setattr("macvlan.namespace.RUN_DIR", "/nonexistent-macvlan-test-dir")
    with pytest.raises(NamespaceNotFound, match="no network namespace named"):
        Namespace.open(good)


@live
@pytest.mark.parametrize(("raw", "error"), BAD_NAMES, ids=BAD_IDS)
def test_bad_name_leaves_run_dir_unchanged(raw: object, error: type[Exception]) -> None:
    token = unique_name()
    bad = _bad(raw, token)
    before = ls_run_dir()
    with pytest.raises(error):
        Namespace.create(bad)  # type: ignore[arg-type]
    after = ls_run_dir()
    # Other processes may add or remove their own namespaces meanwhile: look for ours.
    assert not [entry for entry in after - before if token in entry]


# -- opening without root -------------------------------------------------------


def test_current_equals_from_pid_of_self() -> None:
    with Namespace.current() as here, Namespace.from_pid(os.getpid()) as mine:
        assert here == mine
        assert hash(here) == hash(mine)
        assert here.inode == os.stat("/proc/self/ns/net").st_ino
        assert thread_netns() == f"net:[{here.inode}]"
        assert here.name is None and mine.name is None
        assert mine.path == f"/proc/{os.getpid()}/ns/net"


def test_path_of_current_reaches_the_same_namespace() -> None:
    with Namespace.current() as here, Namespace.from_path(here.path) as again:
        assert again == here


def test_from_path_accepts_pathlike_and_fd_is_cloexec_readonly() -> None:
    with Namespace.from_path(Path("/proc/self/ns/net")) as ns:
        flags = os.get_blocking(ns.fd), os.get_inheritable(ns.fd)
        assert flags == (True, False)
        assert ns.fileno() == ns.fd
        import fcntl

        assert fcntl.fcntl(ns.fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY


def test_from_fd_duplicates_and_checks() -> None:
    raw = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        with Namespace.from_fd(raw) as ns:
            assert ns.fd != raw
            assert ns == Namespace.current()
            assert ns.path == f"/proc/{os.getpid()}/fd/{ns.fd}"
        os.fstat(raw)  # still the caller's and still open
    finally:
        os.close(raw)
    with open("/etc/hostname", "rb") as plain, pytest.raises(NotANamespaceError):
        Namespace.from_fd(plain.fileno())
    with pytest.raises(OSError) as info:
        Namespace.from_fd(987654)
    assert info.value.errno == errno.EBADF
    with pytest.raises(TypeError):
        Namespace.from_fd("3")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["uts", "ipc", "mnt", "user", "cgroup"])
def test_namespace_of_another_kind_is_refused(kind: str) -> None:
    before = fd_count()
    with pytest.raises(NotANamespaceError, match=f"it is a {kind} namespace"):
        Namespace.from_path(f"/proc/self/ns/{kind}")
    assert fd_count() == before


@pytest.mark.parametrize("path", ["/etc/hostname", "/proc", "/dev/null"])
def test_non_namespace_path_is_refused(path: str) -> None:
    with pytest.raises(NotANamespaceError) as info:
        Namespace.from_path(path)
    assert info.value.filename == path
    assert isinstance(info.value, OSError)


def test_missing_path_and_pid_are_namespace_not_found() -> None:
    with pytest.raises(NamespaceNotFound):
        Namespace.from_path("/nonexistent/ns/net")
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    with pytest.raises(NamespaceNotFound, match="no process"):
        Namespace.from_pid(pid_max + 1)
    assert issubclass(NamespaceNotFound, FileNotFoundError)


@pytest.mark.parametrize(("pid", "error"), [(0, ValueError), (-5, ValueError), (True, TypeError)])
def test_bad_pid(pid: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=repr(pid)):
        Namespace.from_pid(pid)  # type: ignore[arg-type]


def test_closed_namespace() -> None:
    ns = Namespace.current()
    fd = ns.fd
    ns.close()
    ns.close()  # idempotent
    assert ns.closed
    with pytest.raises(OSError):
        os.fstat(fd)
    with pytest.raises(ValueError, match="closed"):
        _ = ns.fd
    with pytest.raises(ValueError, match="closed"):
        ns.enter().__enter__()
    assert "fd=closed" in repr(ns)
    assert ns == Namespace.current()  # identity survives closing


def test_repr_and_identity() -> None:
    with Namespace.current() as ns:
        text = repr(ns)
        assert text.startswith("Namespace(") and f"inode={ns.inode}" in text
        assert f"fd={ns.fd}" in text
        assert ns != "net"
        assert len({ns, Namespace.current(), Namespace.from_pid(os.getpid())}) == 1


def test_cannot_construct_directly() -> None:
    with pytest.raises(TypeError):
        Namespace()


def test_unnamed_namespace_cannot_be_deleted() -> None:
    with Namespace.current() as ns, pytest.raises(ValueError, match="no name"):
        ns.delete()


@live
def test_connect_goes_through_the_connection_layer(name: str) -> None:
    try:
        importlib.import_module("macvlan.connection")
    except ImportError:
        pytest.skip("connection layer not in yet")
    home = thread_netns()
    with Namespace.create(name) as ns, ns.connect() as rt:
        assert [link.name for link in rt.links()] == ["lo"]
        assert thread_netns() == home
        ns.delete()


# -- live: create, open, list, delete ----------------------------------------------


@live
def test_round_trip_against_ip_and_ls(name: str) -> None:
    assert name not in Namespace.list()
    ns = Namespace.create(name)
    try:
        assert ns.name == name
        assert ns.path == os.path.join(RUN_DIR, name)
        assert name in Namespace.list()
        assert name in ip_netns_names()
        assert name in ls_run_dir()
        assert ip_links_in(name) == ["lo"]
        assert ns != Namespace.current()
        assert thread_netns() != f"net:[{ns.inode}]"  # caller never moved
        with Namespace.open(name) as again:
            assert again == ns
            assert again.name == name
            assert os.stat(ns.path).st_ino == ns.inode
    finally:
        ns.delete()
    assert ns.closed
    assert name not in Namespace.list()
    assert name not in ip_netns_names()
    assert name not in ls_run_dir()
    with pytest.raises(NamespaceNotFound):
        Namespace.open(name)


@live
def test_namespace_made_by_ip_is_seen_and_ours_deleted_by_ip(names: Callable[[], str]) -> None:
    theirs, ours = names(), names()
    subprocess.run(["ip", "netns", "add", theirs], check=True)
    with Namespace.open(theirs) as ns:
        assert theirs in Namespace.list()
        assert ns.run(socket.if_nameindex) == [(1, "lo")]
        ns.delete()
    assert theirs not in ip_netns_names()
    Namespace.create(ours).close()
    subprocess.run(["ip", "netns", "del", ours], check=True)
    assert ours not in Namespace.list()


@live
def test_run_dir_is_a_shared_mount_point(name: str) -> None:
    Namespace.create(name).close()
    out = subprocess.run(
        ["findmnt", "-n", "-o", "PROPAGATION", "--mountpoint", RUN_DIR],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.split()[0] == "shared"


def mounts_at(path: str) -> list[str]:
    """The propagation fields of every mount stacked on ``path``."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] == path:
            found.append(" ".join(fields[6 : fields.index("-")]))
    return found


@live
def test_fresh_run_dir_is_made_a_shared_mount_point_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The iproute2 set-up from scratch, on a private directory instead of /run/netns."""
    run_dir = str(tmp_path / "netns")
    monkeypatch.setattr("macvlan.namespace.RUN_DIR", run_dir)
    made: list[Namespace] = []
    try:
        assert mounts_at(run_dir) == []
        made.append(Namespace.create("a"))
        made.append(Namespace.create("b"))
        stacked = mounts_at(run_dir)
        assert len(stacked) == 1, stacked  # bound onto itself once, not per creation
        assert stacked[0].startswith("shared:"), stacked
        assert os.stat(run_dir).st_mode & 0o777 == 0o755
        assert Namespace.list() == ["a", "b"]
        assert made[0].run(socket.if_nameindex) == [(1, "lo")]
        assert made[0] != made[1]
    finally:
        for ns in made:
            with contextlib.suppress(OSError):
                ns.delete()
        while mounts_at(run_dir):
            _syscalls.umount2(run_dir, _syscalls.MNT_DETACH)
    assert sorted(os.listdir(run_dir)) == []


@live
def test_create_existing_name_does_not_clobber(name: str) -> None:
    with Namespace.create(name) as first:
        with pytest.raises(FileExistsError, match="already exists"):
            Namespace.create(name)
        with Namespace.open(name) as still:
            assert still == first
        first.delete()


@live
def test_open_missing_creates_nothing(name: str) -> None:
    with pytest.raises(NamespaceNotFound, match=repr(name)):
        Namespace.open(name)
    assert not os.path.lexists(os.path.join(RUN_DIR, name))
    assert name not in ip_netns_names()


@live
def test_delete_twice(name: str) -> None:
    ns = Namespace.create(name)
    again = Namespace.open(name)
    ns.delete()
    with pytest.raises(NamespaceNotFound, match="no longer exists"):
        again.delete()
    assert again.closed
    again.delete(missing_ok=True)
    assert not os.path.lexists(os.path.join(RUN_DIR, name))


@live
def test_delete_refuses_another_namespace_under_the_name(name: str) -> None:
    old = Namespace.create(name)
    keep = Namespace.open(name)
    old.delete()
    new = Namespace.create(name)
    try:
        with pytest.raises(NamespaceNotFound, match="another namespace"):
            keep.delete()
        with Namespace.open(name) as check:
            assert check == new
    finally:
        new.delete()


@live
def test_failed_creation_removes_its_file(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(flags: int) -> None:
        raise OSError(errno.EPERM, "unshare: Operation not permitted")

    monkeypatch.setattr(_syscalls, "unshare", refuse)
    with pytest.raises(PermissionError, match="CAP_SYS_ADMIN"):
        Namespace.create(name)
    assert not os.path.lexists(os.path.join(RUN_DIR, name))


@live
def test_failed_bind_mount_removes_its_file(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_mount = _syscalls.mount

    def mount(source: str, target: str, fstype: str | None, flags: int) -> None:
        if target.endswith(name):
            raise OSError(errno.ENOSPC, "mount: No space left on device", target)
        real_mount(source, target, fstype, flags)

    monkeypatch.setattr(_syscalls, "mount", mount)
    with pytest.raises(OSError) as info:
        Namespace.create(name)
    assert info.value.errno == errno.ENOSPC
    assert not os.path.lexists(os.path.join(RUN_DIR, name))


@live
def test_unprivileged_caller_gets_permission_error_with_hint(names: Callable[[], str]) -> None:
    existing, wanted = names(), names()
    Namespace.create(existing).close()
    script = textwrap.dedent(
        f"""
        import json, os
        from macvlan.namespace import Namespace
        from macvlan import _syscalls
        _syscalls._libc()
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        out = {{}}
        for what, call in [("create", lambda: Namespace.create({wanted!r})),
                           ("enter", lambda: Namespace.open({existing!r}).enter().__enter__()),
                           ("run", lambda: Namespace.open({existing!r}).run(os.getpid)),
                           ("from_pid", lambda: Namespace.from_pid(1))]:
            try:
                call()
                out[what] = "no error"
            except PermissionError as exc:
                out[what] = str(exc)
        print(json.dumps(out))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, text=True
    )
    results = json.loads(done.stdout)
    assert set(results) == {"create", "enter", "run", "from_pid"}
    for what, text in results.items():
        cap = "CAP_SYS_PTRACE" if what == "from_pid" else "CAP_SYS_ADMIN"
        assert f"root or {cap}" in text, results
    assert not os.path.lexists(os.path.join(RUN_DIR, wanted))


# -- live: planted entries are refused ------------------------------------------------


@live
@pytest.mark.parametrize("target", ["/proc/1/ns/net", "/etc/hostname", "/proc/self/ns/net"])
def test_planted_symlink_is_not_followed(name: str, target: str) -> None:
    path = os.path.join(RUN_DIR, name)
    os.makedirs(RUN_DIR, exist_ok=True)
    os.symlink(target, path)
    with pytest.raises(NotANamespaceError, match="symbolic link") as info:
        Namespace.open(name)
    assert info.value.filename == path
    assert name not in Namespace.list()
    assert os.path.islink(path)  # refused, not removed or replaced
    with pytest.raises(FileExistsError):
        Namespace.create(name)
    assert os.readlink(path) == target


@live
def test_planted_regular_file_and_directory_are_refused(names: Callable[[], str]) -> None:
    plain, folder = names(), names()
    os.makedirs(RUN_DIR, exist_ok=True)
    Path(RUN_DIR, plain).write_text("not a namespace")
    os.mkdir(os.path.join(RUN_DIR, folder))
    for entry in (plain, folder):
        with pytest.raises(NotANamespaceError, match="not on nsfs"):
            Namespace.open(entry)
        assert entry not in Namespace.list()
        assert entry in ls_run_dir()


@live
def test_other_kind_of_namespace_mounted_under_run_dir_is_refused(name: str) -> None:
    path = os.path.join(RUN_DIR, name)
    os.makedirs(RUN_DIR, exist_ok=True)
    Path(path).touch(mode=0o444)
    _syscalls.mount("/proc/self/ns/uts", path, None, _syscalls.MS_BIND)
    with pytest.raises(NotANamespaceError, match="uts namespace"):
        Namespace.open(name)
    assert name not in Namespace.list()


# -- live: enter and run -------------------------------------------------------------


@pytest.fixture
def ns(name: str) -> Iterator[Namespace]:
    namespace = Namespace.create(name)
    try:
        yield namespace
    finally:
        namespace.close()


@live
def test_enter_switches_this_thread_and_restores(ns: Namespace) -> None:
    home = thread_netns()
    assert home != f"net:[{ns.inode}]"
    with ns.enter() as entered:
        assert entered is ns
        assert thread_netns() == f"net:[{ns.inode}]"
        assert socket.if_nameindex() == [(1, "lo")]
    assert thread_netns() == home
    with pytest.raises(KeyError, match="inside"), ns.enter():
        assert thread_netns() == f"net:[{ns.inode}]"
        raise KeyError("inside")
    assert thread_netns() == home


@live
def test_enter_nests(ns: Namespace, names: Callable[[], str]) -> None:
    home = thread_netns()
    with Namespace.create(names()) as other:
        with ns.enter():
            with other.enter():
                assert thread_netns() == f"net:[{other.inode}]"
            assert thread_netns() == f"net:[{ns.inode}]"
        assert thread_netns() == home


@live
def test_enter_does_not_move_other_threads(ns: Namespace) -> None:
    home = thread_netns()
    inside = threading.Event()
    leave = threading.Event()
    seen: dict[str, str] = {}

    def visitor() -> None:
        with ns.enter():
            seen["visitor"] = thread_netns()
            inside.set()
            leave.wait(10)
        seen["visitor after"] = thread_netns()

    worker = threading.Thread(target=visitor)
    worker.start()
    try:
        assert inside.wait(10)
        seen["main"] = thread_netns()
        bystander = threading.Thread(target=lambda: seen.__setitem__("new", thread_netns()))
        bystander.start()
        bystander.join()
    finally:
        leave.set()
        worker.join()
    assert seen == {
        "visitor": f"net:[{ns.inode}]",
        "main": home,
        "new": home,
        "visitor after": home,
    }


@live
def test_child_started_inside_is_in_the_namespace(ns: Namespace) -> None:
    with ns.enter():
        child = subprocess.Popen(["sleep", "30"])
    try:
        with Namespace.from_pid(child.pid) as theirs:
            assert theirs == ns
            assert theirs != Namespace.current()
    finally:
        child.kill()
        child.wait()


@live
def test_run_returns_and_raises_without_moving_caller(ns: Namespace) -> None:
    home = thread_netns()
    assert ns.run(thread_netns) == f"net:[{ns.inode}]"

    def pair(a: int, *, b: int) -> tuple[int, int, str]:
        return a, b, thread_netns()

    assert ns.run(pair, 1, b=2) == (1, 2, f"net:[{ns.inode}]")
    assert ns.run(socket.if_nameindex) == [(1, "lo")]

    class Boom(Exception):
        pass

    def explode() -> None:
        raise Boom(thread_netns())

    with pytest.raises(Boom, match=rf"net:\[{ns.inode}\]"):
        ns.run(explode)
    assert thread_netns() == home
    assert ns.run(Namespace.current) == ns


# -- live: concurrency and leaks -------------------------------------------------------


@live
def test_eight_threads_create_enter_delete(names: Callable[[], str]) -> None:
    home = thread_netns()
    wanted = [names() for _ in range(8)]
    start = threading.Barrier(len(wanted))
    results: dict[str, tuple[str, int]] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            start.wait(10)
            ns = Namespace.create(name)
            with ns.enter():
                assert socket.if_nameindex() == [(1, "lo")]
                results[name] = (thread_netns(), ns.inode)
            assert thread_netns() == home
            ns.delete()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in wanted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == sorted(wanted)
    assert all(seen == f"net:[{inode}]" for seen, inode in results.values())
    assert len(set(results.values())) == len(wanted)  # eight distinct namespaces
    assert thread_netns() == home
    assert not set(wanted) & set(Namespace.list())
    assert not set(wanted) & ip_netns_names()


@live
def test_no_fd_or_thread_leak_over_500_cycles(names: Callable[[], str]) -> None:
    name = names()
    warm = Namespace.create(name)  # first use loads libc, caches nsfs' device
    warm.delete()
    fds, threads = fd_count(), set(threading.enumerate())  # (one may end meanwhile)
    for _ in range(500):
        created = Namespace.create(name)
        with Namespace.open(name) as opened:
            assert opened == created
        created.delete()
    assert fd_count() == fds
    assert not set(threading.enumerate()) - threads, "helper threads were left running"
    assert name not in ls_run_dir()
