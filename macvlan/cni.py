"""The CNI plugin: a drop-in for the reference ``macvlan`` plugin (CNI 0.1.0-1.1.0).

Run as ``macvlan-cni`` or ``python -m macvlan.cni`` with the ``CNI_*`` environment
variables and the network configuration on stdin (SPEC.md, section 2).  ADD
creates a macvlan on ``master`` (default: the interface of the default route)
inside ``CNI_NETNS``, runs the IPAM plugin named by ``ipam.type`` from
``CNI_PATH`` and applies its addresses and routes; DEL removes both and succeeds
when they are already gone; CHECK compares the container with ``prevResult``;
STATUS and GC (1.1.0) are passed on to the IPAM plugin.

A plugin process is started for every container, so start-up is part of its
speed: commands import only what they use, and the few rtnetlink requests a
command needs are written here directly with :mod:`struct` rather than through
the typed layers of the library (whose imports cost tens of milliseconds).
"""

from __future__ import annotations

import os
import struct
import sys

from macvlan import _cni_types as t
from macvlan._names import check_ifname

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["main"]

_ABOUT = "CNI macvlan plugin (the macvlan Python library) v{version}"

# the CNI_* variables in the order the reference reports them, and which commands
# need them (SPEC.md section 2 and libcni's skel)
_ENV = (
    ("CNI_COMMAND", ("ADD", "CHECK", "DEL", "GC", "STATUS")),
    ("CNI_CONTAINERID", ("ADD", "CHECK", "DEL")),
    ("CNI_NETNS", ("ADD", "CHECK")),
    ("CNI_IFNAME", ("ADD", "CHECK", "DEL")),
    ("CNI_ARGS", ()),
    ("CNI_PATH", ("ADD", "CHECK", "DEL", "GC", "STATUS")),
)
_MIN_VERSION = {"CHECK": "0.4.0", "GC": "1.1.0", "STATUS": "1.1.0"}


class Args:
    """The ``CNI_*`` parameters of one invocation."""

    __slots__ = ("cni_args", "command", "container_id", "ifname", "netns", "path")

    def __init__(self, environ: dict[str, str] | os._Environ[str]) -> None:
        self.command = environ.get("CNI_COMMAND", "")
        self.container_id = environ.get("CNI_CONTAINERID", "")
        self.netns = environ.get("CNI_NETNS", "")
        self.ifname = environ.get("CNI_IFNAME", "")
        self.cni_args = environ.get("CNI_ARGS", "")
        self.path = environ.get("CNI_PATH", "")

    def validate(self, environ: dict[str, str] | os._Environ[str]) -> None:
        """Raise :class:`~macvlan._cni_types.EnvError` (code 4) for missing or bad values."""
        missing = []
        for name, needed_by in _ENV:
            value = environ.get(name, "")
            required = name == "CNI_COMMAND" or self.command in needed_by
            if not value:
                if required:
                    missing.append(name)
            elif required and name == "CNI_CONTAINERID" and not t.is_cni_name(value):
                raise t.EnvError(
                    f"invalid characters in CNI_CONTAINERID {value!r}: it must match "
                    "[a-zA-Z0-9][a-zA-Z0-9_.-]*",
                    value,
                )
            elif required and name == "CNI_IFNAME":
                if "%" in value:  # the kernel would make a name from it as a pattern
                    raise t.EnvError(
                        f"invalid CNI_IFNAME {value!r}: it contains '%', which the kernel "
                        "takes as a name pattern",
                        value,
                    )
                try:
                    check_ifname(value)
                except ValueError as exc:
                    raise t.EnvError(f"invalid CNI_IFNAME: {exc}", value) from None
        if missing:
            raise t.EnvError(f"required env variables [{','.join(missing)}] missing")


# -- entry point ---------------------------------------------------------------------
def main(environ: dict[str, str] | None = None) -> int:
    """Run one CNI command; the exit status (0 on success, 1 after an error object)."""
    env = os.environ if environ is None else environ
    args = Args(env)
    version = t.LATEST_VERSION
    try:
        if args.command == "VERSION":
            return _version(_read_stdin(optional=True))
        if not args.command:
            from macvlan import __version__

            sys.stderr.write(_ABOUT.format(version=__version__) + "\n")
            sys.stderr.write(
                f"CNI protocol versions supported: {', '.join(t.SUPPORTED_VERSIONS)}\n"
            )
            return 0
        handler = _COMMANDS.get(args.command)
        if handler is None:
            raise t.EnvError(f"unknown CNI_COMMAND {args.command!r}", args.command)
        args.validate(env)
        data = _read_stdin()
        conf = t.decode_config(data)
        version = t.config_version(conf)
        t.check_version(version, _MIN_VERSION.get(args.command, "0.1.0"), args.command)
        output = handler(args, conf, data)
    except t.CniError as exc:
        _write(t.dumps(exc.to_json(version)))
        return 1
    except OSError as exc:  # kernel or file errors not given a context by a command
        text = exc.strerror or str(exc)
        if exc.filename:
            text = f"{text}: {exc.filename!r}"
        _write(t.dumps(t.CniError(text).to_json(version)))
        return 1
    except Exception as exc:
        import traceback

        traceback.print_exc()
        _write(t.dumps(t.CniError(f"internal error: {exc!r}").to_json(version)))
        return 1
    if output is not None:
        _write(t.dumps(output))
    return 0


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _read_stdin(optional: bool = False) -> bytes:
    chunks = []
    try:
        if optional and os.isatty(0):
            return b""
        while True:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as exc:
        if optional:
            return b""
        raise t.CniError(f"error reading from stdin: {exc}", code=t.IO_FAILURE) from None
    return b"".join(chunks)


def _version(data: bytes) -> int:
    """VERSION: the versions spoken, echoing the caller's cniVersion (SPEC.md)."""
    version = t.LATEST_VERSION
    if data.strip():
        try:
            conf = t.loads(data.decode("utf-8", "replace"))
        except ValueError:
            conf = None
        if isinstance(conf, dict) and isinstance(conf.get("cniVersion"), str):
            version = conf["cniVersion"] or version
    _write(t.dumps({"cniVersion": version, "supportedVersions": list(t.SUPPORTED_VERSIONS)}))
    return 0


# -- commands --------------------------------------------------------------------------
def _cmd_add(args: Args, raw: dict[str, object], data: bytes) -> dict[str, object]:
    conf = t.NetConf(raw, args.cni_args)
    netns = _open_netns(args.netns, "ADD")
    try:
        with _Rtnl() as host, _Rtnl.inside(netns) as cont:
            result = _add(args, conf, data, netns, host, cont)
    finally:
        os.close(netns)
    return result.to_json(conf.cni_version)


def _add(
    args: Args, conf: t.NetConf, data: bytes, netns: int, host: _Rtnl, cont: _Rtnl
) -> t.Result:
    where = cont if conf.link_in_container else host
    place = "the container" if conf.link_in_container else "the host namespace"
    master = conf.master or where.default_route_ifname(place)
    parent = where.link(master)
    if parent is None:
        raise t.ConfigError(f"master {master!r} not found in {place}")
    if conf.mtu > parent.mtu:
        raise t.ConfigError(
            f"invalid MTU {conf.mtu}, must be [0, master MTU({parent.mtu})] of {master!r}"
        )
    layer3 = bool(conf.ipam_type)
    _create_macvlan(args, conf, parent.index, netns, where, cont, up=not layer3)
    ipam: _Delegate | None = None
    try:
        if layer3:  # runs while the container side is prepared
            ipam = _Delegate(args, conf.ipam_type, "ADD", data)
        link = cont.link(args.ifname)
        if link is None:
            raise t.CniError(f"the new macvlan {args.ifname!r} vanished from the container")
        result = t.Result([t.Interface(args.ifname, t.format_mac(link.mac), args.netns)])
        if ipam is not None:
            with _Inside(netns):
                _sysctl(f"ipv4/conf/{args.ifname}/arp_notify", "1")
                _sysctl(f"ipv6/conf/{args.ifname}/ndisc_notify", "1")
            _apply_ipam(args, conf, ipam.result(), result, link.index, netns, cont)
        result.dns = dict(conf.dns)
        return result
    except BaseException:
        _undo_add(args, conf, data, cont, ipam)
        raise


def _create_macvlan(
    args: Args, conf: t.NetConf, parent: int, netns: int, where: _Rtnl, cont: _Rtnl, up: bool
) -> None:
    """Create the macvlan in the container under its final name.

    Should a kernel check the name in the creating namespace too, the link is made
    under a temporary name and renamed inside the container, as the reference does.
    """
    from macvlan.errors import LinkExists

    target = None if conf.link_in_container else netns
    try:
        where.create_macvlan(args.ifname, parent, conf, target, up)
        return
    except LinkExists:
        if cont.link(args.ifname) is not None:
            raise t.CniError(
                f"an interface named {args.ifname!r} already exists in {args.netns}"
            ) from None
    temp = "mvcni" + os.urandom(4).hex()
    where.create_macvlan(temp, parent, conf, target, False)
    try:
        cont.rename_and_up(temp, args.ifname, up)
    except BaseException:
        cont.delete_link(temp)
        raise


def _apply_ipam(
    args: Args,
    conf: t.NetConf,
    ipam_result: t.Result,
    result: t.Result,
    index: int,
    netns: int,
    cont: _Rtnl,
) -> None:
    """Put the IPAM plugin's addresses and routes on the link, as the reference does:
    addresses, then up (announced by arp_notify), then routes whose missing gateway
    is the first gateway of their family."""
    if not ipam_result.ips:
        raise t.ConfigError(f"IPAM plugin {conf.ipam_type!r} returned no IP addresses")
    for ipc in ipam_result.ips:
        ipc.interface = 0
    result.ips = ipam_result.ips
    result.routes = ipam_result.routes
    if any(ipc.address.family == t.AF_INET6 for ipc in result.ips):
        with _Inside(netns):
            for name in ("lo", args.ifname):
                _sysctl(f"ipv6/conf/{name}/disable_ipv6", "0", only_if_not="0")
    gateways: dict[int, t.IP] = {}
    requests = []
    for ipc in result.ips:
        requests.append(_new_address(index, ipc.address))
        if ipc.gateway is not None:
            gateways.setdefault(ipc.gateway.family, ipc.gateway)
    requests.append(_set_up(index))
    routes = [
        _new_route(index, r, r.gw or gateways.get(r.dst.family), args.ifname) for r in result.routes
    ]
    if t.AF_INET6 in gateways:  # routes via IPv6 gateways wait for DAD, as the reference
        cont.exchange(requests)
        cont.settle(index, args.ifname)
        requests = []
    cont.exchange(requests + routes)


def _undo_add(
    args: Args, conf: t.NetConf, data: bytes, cont: _Rtnl, ipam: _Delegate | None
) -> None:
    """Roll back a failed ADD: the link, then (SPEC.md section 4) the IPAM allocation."""
    try:
        cont.delete_link(args.ifname)
    except Exception as exc:
        sys.stderr.write(f"macvlan-cni: rollback: could not delete {args.ifname!r}: {exc}\n")
    if ipam is None:
        return
    ipam.wait_quietly()
    try:
        _Delegate(args, conf.ipam_type, "DEL", data).result(expect_output=False)
    except Exception as exc:
        sys.stderr.write(f"macvlan-cni: rollback: IPAM DEL failed: {exc}\n")


def _cmd_del(args: Args, raw: dict[str, object], data: bytes) -> None:
    """DEL: release the IPAM allocation and delete the link; missing ones are fine.

    Best effort (SPEC.md): each step runs even if another failed, and the first
    failure is reported.  The IPAM plugin runs while the link is deleted, except
    ``dhcp``, whose daemon sends its release through the link and so goes first.
    """
    ipam_type = t.ipam_type(raw)
    failures: list[Exception] = []
    ipam = None
    if ipam_type:
        ipam = _Delegate(args, ipam_type, "DEL", data)
        if ipam_type == "dhcp":
            try:
                ipam.result(expect_output=False)
            except Exception as exc:
                failures.append(exc)
            ipam = None
    try:
        netns = _open_netns_if_there(args.netns, "DEL") if args.netns else None
        if netns is not None:
            try:
                with _Rtnl.inside(netns) as cont:
                    cont.delete_link(args.ifname)
            finally:
                os.close(netns)
    except Exception as exc:
        failures.append(exc)
    if ipam is not None:
        try:
            ipam.result(expect_output=False)
        except Exception as exc:
            failures.append(exc)
    if failures:
        raise failures[0]


def _cmd_check(args: Args, raw: dict[str, object], data: bytes) -> None:
    conf = t.NetConf(raw, args.cni_args)
    netns = _open_netns(args.netns, "CHECK")
    try:
        if conf.ipam_type:
            _Delegate(args, conf.ipam_type, "CHECK", data).result(expect_output=False)
        if conf.prev_result is None:
            raise t.ConfigError("required prevResult missing")
        prev = t.Result.from_json(conf.prev_result, conf.cni_version)
        with _Rtnl() as host, _Rtnl.inside(netns) as cont:
            _check(args, conf, prev, host, cont)
    finally:
        os.close(netns)


def _check(args: Args, conf: t.NetConf, prev: t.Result, host: _Rtnl, cont: _Rtnl) -> None:
    mine = [i for i in prev.interfaces if i.name == args.ifname and i.sandbox == args.netns]
    if not mine:
        raise t.CniError(f"no interface {args.ifname!r} with sandbox {args.netns!r} in prevResult")
    where = cont if conf.link_in_container else host
    place = "the container" if conf.link_in_container else "the host namespace"
    master = conf.master or where.default_route_ifname(place)
    if where.link(master) is None:
        raise t.CniError(f"master {master!r} not found in {place}")
    link = cont.link(args.ifname)
    if link is None:
        raise t.CniError(f"container interface {args.ifname!r} from prevResult not found")
    if link.kind != "macvlan":
        raise t.CniError(f"container interface {args.ifname!r} is a {link.kind or 'plain'} link")
    if link.mode != conf.mode:
        now = t.MODE_NAMES.get(link.mode, str(link.mode))
        raise t.CniError(
            f"container macvlan mode {now} does not match expected value: {conf.mode_name}"
        )
    expected_mac = mine[0].mac
    if expected_mac and expected_mac.lower() != t.format_mac(link.mac):
        raise t.CniError(
            f"interface {args.ifname!r} MAC {expected_mac} does not match container MAC "
            f"{t.format_mac(link.mac)}"
        )
    addresses = cont.addresses(link.index)
    routes = cont.routes()
    for ipc in prev.ips:
        if ipc.address not in addresses:
            raise t.CniError(f"address {ipc.address} not found on {args.ifname!r}")
        prefix = ipc.address.network()
        if prefix.prefixlen < prefix.bits and not any(r.dst == prefix for r in routes):
            raise t.CniError(f"no route to {prefix} for address {ipc.address}")
    for route in prev.routes:
        wanted = [r for r in routes if r.dst == route.dst.network()]
        if route.dst.prefixlen and route.gw is not None:
            wanted = [r for r in wanted if r.gw == route.gw]
        if not wanted:
            via = f" via {route.gw}" if route.gw is not None else ""
            raise t.CniError(f"expected route {route.dst}{via} not found in the routing table")


def _cmd_status(args: Args, raw: dict[str, object], data: bytes) -> None:
    """STATUS (1.1.0): ready if the master exists and the IPAM plugin says it is ready."""
    conf = t.NetConf(raw, args.cni_args)
    if conf.ipam_type:
        _Delegate(args, conf.ipam_type, "STATUS", data).result(expect_output=False)
    if not conf.link_in_container:
        with _Rtnl() as host:
            master = conf.master or host.default_route_ifname("the host namespace", t.NOT_AVAILABLE)
            if host.link(master) is None:
                raise t.CniError(f"master {master!r} not found", code=t.NOT_AVAILABLE)


def _cmd_gc(args: Args, raw: dict[str, object], data: bytes) -> None:
    """GC (1.1.0): nothing of ours outlives a container; the IPAM plugin's may."""
    valid = raw.get("cni.dev/valid-attachments")
    if valid is not None and not (
        isinstance(valid, list) and all(isinstance(a, dict) for a in valid)
    ):
        raise t.ConfigError(f"cni.dev/valid-attachments must be a list of objects, not {valid!r}")
    ipam_type = t.ipam_type(raw)
    if ipam_type:
        _Delegate(args, ipam_type, "GC", data).result(expect_output=False)


_COMMANDS: dict[str, Callable[[Args, dict[str, object], bytes], dict[str, object] | None]] = {
    "ADD": _cmd_add,
    "DEL": _cmd_del,
    "CHECK": _cmd_check,
    "STATUS": _cmd_status,
    "GC": _cmd_gc,
}


# -- namespaces and sysctls -------------------------------------------------------------
_CLONE_NEWNET = 0x40000000
_NS_GET_NSTYPE = (0xB7 << 8) | 0x3


def _open_netns(path: str, command: str) -> int:
    """A descriptor on the network namespace at ``path`` (CNI_NETNS).

    A path that is missing or is no network namespace is code 3; the plugin's own
    namespace is code 8.
    """
    fd = _open_netns_if_there(path, command)
    if fd is None:
        raise t.CniError(
            f"CNI_NETNS {path!r} is not an existing network namespace",
            path,
            code=t.UNKNOWN_CONTAINER,
        )
    return fd


def _open_netns_if_there(path: str, command: str) -> int | None:
    """Like :func:`_open_netns`, but None when there is no namespace at ``path``."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise t.CniError(f"cannot open CNI_NETNS {path!r}: {exc.strerror}", path) from None
    try:
        try:
            kind = fcntl.ioctl(fd, _NS_GET_NSTYPE)
        except OSError:
            kind = 0
        if kind != _CLONE_NEWNET:
            os.close(fd)
            return None
        here = os.stat("/proc/thread-self/ns/net")
        there = os.fstat(fd)
        if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
            raise t.CniError(
                f"CNI_NETNS {path!r} is the plugin's own network namespace; {command} "
                "must name the container's",
                path,
                code=t.INVALID_NETNS,
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


class _Inside:
    """``with _Inside(fd):`` this thread is in that network namespace for the body."""

    __slots__ = ("_back", "_fd")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._back = -1

    def __enter__(self) -> None:
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(self._fd)
        except BaseException:
            os.close(back)
            raise
        self._back = back

    def __exit__(self, *exc: object) -> None:
        back, self._back = self._back, -1
        try:
            _setns(back)
        finally:
            os.close(back)


_setns_function: list[Callable[[int, int], int]] = []


def _setns(fd: int) -> None:
    """setns(2) into the network namespace open as ``fd`` (this thread only).

    Python 3.11 has no ``os.setns``.  ``ctypes`` (and so ``macvlan._syscalls``)
    costs milliseconds to import, most of the plugin's own start-up; the C
    function is therefore called through ``_ctypes`` directly, whose functions
    without a declared restype return a C int.  ``macvlan._syscalls`` is the
    fallback where ``_ctypes`` lacks these pieces.
    """
    if not _setns_function:
        try:
            import _ctypes

            class _IntFunction(_ctypes.CFuncPtr):
                _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO

            program = _ctypes.dlopen(None)  # type: ignore[arg-type]  # None: the process
            call = _IntFunction(_ctypes.dlsym(program, "setns"))
            get_errno = _ctypes.get_errno
        except (ImportError, AttributeError, OSError):
            from macvlan._syscalls import setns

            def fallback(fd: int, nstype: int) -> int:
                setns(fd, nstype)
                return 0

            _setns_function.append(fallback)
        else:

            def direct(fd: int, nstype: int) -> int:
                if call(fd, nstype) != 0:
                    err = get_errno()
                    raise OSError(err, f"setns: {os.strerror(err)}")
                return 0

            _setns_function.append(direct)
    _setns_function[0](fd, _CLONE_NEWNET)


def _sysctl(name: str, value: str, only_if_not: str | None = None) -> None:
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


# -- the delegated (IPAM) plugin ------------------------------------------------------
_SIGPIPE = 13
_SIGXFSZ = 25


def find_plugin(kind: str, cni_path: str) -> str:
    """The executable ``kind`` in the first absolute ``CNI_PATH`` directory holding it.

    Relative entries are skipped: a plugin is never looked up through the working
    directory, ``PATH`` or a shell.
    """
    dirs = [d for d in cni_path.split(":") if d.startswith("/")]
    if not dirs:
        raise t.EnvError(f"CNI_PATH {cni_path!r} has no absolute directory to find {kind!r} in")
    for directory in dirs:
        candidate = directory.rstrip("/") + "/" + kind
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if st.st_mode & 0o170000 == 0o100000 and os.access(candidate, os.X_OK):
            return candidate
    raise t.ConfigError(f"failed to find IPAM plugin {kind!r} in CNI_PATH {':'.join(dirs)}")


class _Delegate:
    """An IPAM plugin run with our environment (CNI_COMMAND replaced) and our stdin.

    Started at construction; :meth:`result` waits for it.  Its stderr is passed on.
    """

    __slots__ = ("_done", "_err", "_out", "_pid", "command", "kind")

    def __init__(self, args: Args, kind: str, command: str, data: bytes) -> None:
        self.kind = kind
        self.command = command
        path = find_plugin(kind, args.path)
        env = dict(os.environ)
        env["CNI_COMMAND"] = command
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        actions = [
            (os.POSIX_SPAWN_DUP2, stdin_r, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, err_w, 2),
        ]
        try:
            for attempt in range(6):  # "text file busy" while the plugin is replaced
                try:
                    self._pid = os.posix_spawn(
                        path, [path], env, file_actions=actions, setsigdef=(_SIGPIPE, _SIGXFSZ)
                    )
                    break
                except OSError as exc:
                    if exc.errno != 26 or attempt == 5:  # ETXTBSY
                        raise t.CniError(f"cannot run IPAM plugin {path}: {exc}") from None
                    import time

                    time.sleep(1)
        except BaseException:
            for fd in (stdin_r, stdin_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            raise
        os.close(stdin_r)
        os.close(out_w)
        os.close(err_w)
        self._out, self._err, self._done = out_r, err_r, False
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(stdin_w, view) :]
        except BrokenPipeError:
            pass  # it exited without reading; its status says why
        finally:
            os.close(stdin_w)

    def _collect(self) -> tuple[int, bytes, bytes]:
        import select

        chunks: dict[int, list[bytes]] = {self._out: [], self._err: []}
        poller = select.poll()
        for fd in chunks:
            poller.register(fd, select.POLLIN)
        open_fds = set(chunks)
        try:
            while open_fds:
                for fd, _ in poller.poll():
                    chunk = os.read(fd, 1 << 16)
                    if chunk:
                        chunks[fd].append(chunk)
                    else:
                        poller.unregister(fd)
                        open_fds.discard(fd)
        finally:
            os.close(self._out)
            os.close(self._err)
            _, status = os.waitpid(self._pid, 0)
            self._done = True
        return (
            os.waitstatus_to_exitcode(status),
            b"".join(chunks[self._out]),
            b"".join(chunks[self._err]),
        )

    def wait_quietly(self) -> None:
        if not self._done:
            self._collect()

    def result(self, expect_output: bool = True) -> t.Result:
        """Wait; the parsed result, or the plugin's error (its own code) as CniError."""
        status, out, err = self._collect()
        if err:
            sys.stderr.write(err.decode("utf-8", "replace"))
        name = f"IPAM plugin {self.kind!r} ({self.command})"
        if status != 0:
            raise _plugin_error(name, status, out, err)
        if not expect_output:
            return t.Result()
        try:
            obj = t.loads(out.decode("utf-8", "replace"))
        except ValueError as exc:
            raise t.DecodeError(f"{name} returned no JSON result: {exc}") from None
        version = obj.get("cniVersion") if isinstance(obj, dict) else None
        if not isinstance(version, str) or version not in t.SUPPORTED_VERSIONS:
            raise t.DecodeError(f"{name} returned a result of unknown cniVersion {version!r}")
        return t.Result.from_json(obj, version)


def _plugin_error(name: str, status: int, out: bytes, err: bytes) -> t.CniError:
    """The error a failed plugin reported on stdout, its code kept."""
    if out.strip():
        try:
            obj = t.loads(out.decode("utf-8", "replace"))
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("msg"), str):
            code = obj.get("code")
            details = obj.get("details")
            return t.CniError(
                obj["msg"],
                details if isinstance(details, str) else "",
                code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            )
        return t.CniError(f"{name} failed (exit status {status}) with output {out[:200]!r}")
    if err.strip():
        return t.CniError(f"{name} failed (exit status {status}): {err.decode(errors='replace')}")
    return t.CniError(f"{name} failed with exit status {status} and no message")


# -- rtnetlink: the requests the plugin needs --------------------------------------------
_pack = struct.pack
_unpack_from = struct.unpack_from

_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_F_REQUEST, _F_MULTI, _F_ACK, _F_DUMP_INTR = 0x1, 0x2, 0x4, 0x10
_F_DUMP, _F_EXCL, _F_CREATE, _F_APPEND = 0x300, 0x200, 0x400, 0x800
_F_CAPPED, _F_ACK_TLVS = 0x100, 0x200
_RTM_NEWLINK, _RTM_DELLINK, _RTM_GETLINK = 16, 17, 18
_RTM_NEWADDR, _RTM_GETADDR, _RTM_NEWROUTE, _RTM_GETROUTE = 20, 22, 24, 26
_IFLA_ADDRESS, _IFLA_IFNAME, _IFLA_MTU, _IFLA_LINK = 1, 3, 4, 5
_IFLA_LINKINFO, _IFLA_NET_NS_FD, _IFLA_EXT_MASK = 18, 28, 29
_INFO_KIND, _INFO_DATA = 1, 2
_MACVLAN_MODE, _MACVLAN_BC_QUEUE_LEN = 1, 7
_IFA_ADDRESS, _IFA_LOCAL, _IFA_BROADCAST, _IFA_FLAGS = 1, 2, 4, 8
_IFA_F_DADFAILED, _IFA_F_TENTATIVE = 0x08, 0x40
_RTA_DST, _RTA_OIF, _RTA_GATEWAY, _RTA_PRIORITY, _RTA_METRICS, _RTA_TABLE = 1, 4, 5, 6, 8, 15
_RTAX_MTU, _RTAX_ADVMSS = 2, 8
_RT_TABLE_MAIN, _RTPROT_BOOT, _RTN_UNICAST = 254, 3, 1
_IFF_UP = 0x1
_RTEXT_FILTER_SKIP_STATS = 1 << 3
_SOL_NETLINK, _NETLINK_CAP_ACK, _NETLINK_EXT_ACK, _NETLINK_GET_STRICT_CHK = 270, 10, 11, 12
_NLMSGERR_ATTR_MSG = 1

Request = tuple[int, int, bytes, str]  # type, flags, body, what it is (for errors)


def _attr(kind: int, payload: bytes) -> bytes:
    size = 4 + len(payload)
    return _pack("HH", size, kind) + payload + bytes(-size % 4)


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, _pack("I", value))


def _name(kind: int, text: str) -> bytes:
    return _attr(kind, text.encode() + b"\0")


def _attrs(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """The attributes in ``data[start:end]`` by type (the first of each type)."""
    out: dict[int, bytes] = {}
    while start + 4 <= end:
        size, kind = _unpack_from("HH", data, start)
        if size < 4 or start + size > end:
            break
        out.setdefault(kind & 0x3FFF, data[start + 4 : start + size])
        start += (size + 3) & ~3
    return out


def _ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _pack("BxHiII", 0, 0, index, flags, change)


class _Link:
    """What the plugin reads of a link."""

    __slots__ = ("index", "kind", "mac", "mode", "mtu", "name")

    def __init__(self, data: bytes) -> None:
        self.index = _unpack_from("i", data, 20)[0]
        attrs = _attrs(data, 32, len(data))
        self.name = attrs.get(_IFLA_IFNAME, b"").rstrip(b"\0").decode("utf-8", "replace")
        mtu = attrs.get(_IFLA_MTU)
        self.mtu = _unpack_from("I", mtu)[0] if mtu else 0
        self.mac = attrs.get(_IFLA_ADDRESS, b"")
        self.kind = ""
        self.mode = 0
        info = attrs.get(_IFLA_LINKINFO)
        if info:
            nested = _attrs(info, 0, len(info))
            self.kind = nested.get(_INFO_KIND, b"").rstrip(b"\0").decode("utf-8", "replace")
            data_attrs = nested.get(_INFO_DATA)
            if data_attrs:
                mode = _attrs(data_attrs, 0, len(data_attrs)).get(_MACVLAN_MODE)
                self.mode = _unpack_from("I", mode)[0] if mode else 0


class _Route:
    """What the plugin reads of a route: destination prefix, gateway, output link."""

    __slots__ = ("dst", "gw", "oif", "table", "type")

    def __init__(self, data: bytes) -> None:
        family, dst_len, _, _, table, _, _, kind, _ = _unpack_from("BBBBBBBBI", data, 16)
        attrs = _attrs(data, 28, len(data))
        size = 4 if family == t.AF_INET else 16
        dst = attrs.get(_RTA_DST, bytes(size))
        self.dst = t.Cidr(family, dst, dst_len)
        gw = attrs.get(_RTA_GATEWAY)
        self.gw = t.IP(family, gw) if gw else None
        oif = attrs.get(_RTA_OIF)
        self.oif = _unpack_from("I", oif)[0] if oif else 0
        table_attr = attrs.get(_RTA_TABLE)
        self.table = _unpack_from("I", table_attr)[0] if table_attr else table
        self.type = kind


class _Rtnl:
    """A NETLINK_ROUTE socket in the namespace it was opened in (for one process)."""

    def __init__(self) -> None:
        import _socket

        sock = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, 0)
        try:
            for option in (_NETLINK_CAP_ACK, _NETLINK_EXT_ACK, _NETLINK_GET_STRICT_CHK):
                try:
                    sock.setsockopt(_SOL_NETLINK, option, 1)
                except OSError:  # older kernels: plain acks, unfiltered dumps
                    continue
            sock.bind((0, 0))
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._seq = 0
        self._buf = bytearray(1 << 16)

    @classmethod
    def inside(cls, netns: int) -> _Rtnl:
        """A socket opened inside the namespace ``netns`` (this thread returns home)."""
        with _Inside(netns):
            return cls()

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> _Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing
    def exchange(self, requests: list[Request]) -> list[list[bytes]]:
        """Send all requests in one write; their replies, or the first error raised
        once every request has been answered."""
        if not requests:
            return []
        from macvlan.errors import error_for

        base = self._seq + 1
        self._seq += len(requests)
        chunks = []
        for offset, (kind, asked, body, _) in enumerate(requests):
            flags = asked | (_F_REQUEST if asked & _F_DUMP == _F_DUMP else _F_REQUEST | _F_ACK)
            chunks.append(_pack("IHHII", 16 + len(body), kind, flags, base + offset, 0) + body)
        self._sock.sendto(b"".join(chunks), (0, 0))
        replies: list[list[bytes]] = [[] for _ in requests]
        errors: list[OSError] = []
        pending = len(requests)
        buf = self._buf
        while pending:
            size = self._sock.recv_into(buf)
            data = bytes(buf[:size])
            at = 0
            while at + 16 <= size:
                length, kind, flags, seq, _ = _unpack_from("IHHII", data, at)
                if length < 16:
                    break
                slot = seq - base
                if 0 <= slot < len(requests):
                    what = requests[slot][3]
                    if kind in (_NLMSG_ERROR, _NLMSG_DONE):
                        code = -_unpack_from("i", data, at + 16)[0] if length >= 20 else 0
                        if code > 0:
                            errors.append(error_for(code, _ext_ack(data, at, length, flags), what))
                        pending -= 1
                    else:
                        if flags & _F_DUMP_INTR:
                            errors.append(error_for(4, "dump interrupted; try again", what))
                        replies[slot].append(data[at : at + length])
                at += (length + 3) & ~3
        if errors:
            raise errors[0]
        return replies

    # -- links
    def link(self, ref: str | int) -> _Link | None:
        """The link of that name or index, or None."""
        from macvlan.errors import LinkNotFound

        body = _ifinfo(ref if isinstance(ref, int) else 0)
        if isinstance(ref, str):
            body += _name(_IFLA_IFNAME, ref)
        body += _u32(_IFLA_EXT_MASK, _RTEXT_FILTER_SKIP_STATS)
        try:
            (replies,) = self.exchange([(_RTM_GETLINK, 0, body, f"look up link {ref!r}")])
        except LinkNotFound:
            return None
        return _Link(replies[0]) if replies else None

    def default_route_ifname(self, place: str, code: int = t.INVALID_CONFIG) -> str:
        """The link of the first default route of the main table (any family)."""
        for route in self.routes(0):
            if route.dst.prefixlen == 0 and route.oif and route.type == _RTN_UNICAST:
                link = self.link(route.oif)
                if link is not None:
                    return link.name
        raise t.CniError(
            f"master is not set and there is no default route interface in {place}", code=code
        )

    def create_macvlan(
        self, name: str, parent: int, conf: t.NetConf, netns: int | None, up: bool
    ) -> None:
        data = _u32(_MACVLAN_MODE, conf.mode)
        if conf.bcqueuelen:
            data += _u32(_MACVLAN_BC_QUEUE_LEN, conf.bcqueuelen)
        body = _ifinfo(0, _IFF_UP if up else 0, _IFF_UP if up else 0) + _name(_IFLA_IFNAME, name)
        body += _u32(_IFLA_LINK, parent)
        if conf.mtu:
            body += _u32(_IFLA_MTU, conf.mtu)
        if conf.mac is not None:
            body += _attr(_IFLA_ADDRESS, conf.mac)
        if netns is not None:
            body += _u32(_IFLA_NET_NS_FD, netns)
        body += _attr(_IFLA_LINKINFO, _name(_INFO_KIND, "macvlan") + _attr(_INFO_DATA, data))
        what = f"create macvlan {name!r} ({conf.mode_name}) on link {parent}"
        try:
            self.exchange([(_RTM_NEWLINK, _F_CREATE | _F_EXCL, body, what)])
        except OSError as exc:
            from macvlan.errors import LinkExists

            if isinstance(exc, LinkExists):
                raise
            raise t.CniError(f"failed to create macvlan: {exc}") from None

    def rename_and_up(self, old: str, new: str, up: bool) -> None:
        link = self.link(old)
        if link is None:
            raise t.CniError(f"the new macvlan {old!r} vanished from the container")
        flag = _IFF_UP if up else 0
        body = _ifinfo(link.index, flag, flag) + _name(_IFLA_IFNAME, new)
        try:
            self.exchange([(_RTM_NEWLINK, 0, body, f"rename {old!r} to {new!r}")])
        except OSError as exc:
            raise t.CniError(f"failed to rename macvlan to {new!r}: {exc}") from None

    def delete_link(self, name: str) -> None:
        """Delete the link ``name``; a missing one is fine."""
        from macvlan.errors import LinkNotFound

        body = _ifinfo() + _name(_IFLA_IFNAME, name)
        try:
            self.exchange([(_RTM_DELLINK, 0, body, f"delete link {name!r}")])
        except LinkNotFound:
            return

    # -- addresses and routes
    def addresses(self, index: int) -> list[t.Cidr]:
        return [
            t.Cidr(_unpack_from("B", m, 16)[0], a, _unpack_from("B", m, 17)[0])
            for m, a, _ in self._address_dump(index)
        ]

    def _address_dump(self, index: int) -> list[tuple[bytes, bytes, int]]:
        body = _pack("BBBBI", 0, 0, 0, 0, index)
        (replies,) = self.exchange([(_RTM_GETADDR, _F_DUMP, body, "list addresses")])
        out = []
        for message in replies:
            family, _, flags, _, owner = _unpack_from("BBBBI", message, 16)
            if owner != index or family not in (t.AF_INET, t.AF_INET6):
                continue
            attrs = _attrs(message, 24, len(message))
            address = attrs.get(_IFA_LOCAL) or attrs.get(_IFA_ADDRESS)
            extended = attrs.get(_IFA_FLAGS)
            if extended:
                flags = _unpack_from("I", extended)[0]
            if address:
                out.append((message, address, flags))
        return out

    def settle(self, index: int, ifname: str, timeout: float = 10.0) -> None:
        """Wait until no address of the link is tentative (IPv6 DAD), as the reference."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            flags = [f for _, _, f in self._address_dump(index)]
            if any(f & _IFA_F_DADFAILED for f in flags):
                raise t.CniError(f"duplicate address detection failed on {ifname!r}")
            if not any(f & _IFA_F_TENTATIVE for f in flags):
                return
            if time.monotonic() > deadline:
                raise t.CniError(f"{ifname!r} still has tentative addresses after {timeout:g} s")
            time.sleep(0.05)

    def routes(self, family: int = 0, table: int = _RT_TABLE_MAIN) -> list[_Route]:
        body = _pack("BBBBBBBBI", family, 0, 0, 0, 0, 0, 0, 0, 0) + _u32(_RTA_TABLE, table)
        for _ in range(3):
            try:
                (replies,) = self.exchange([(_RTM_GETROUTE, _F_DUMP, body, "list routes")])
                break
            except OSError as exc:
                if exc.errno != 4:  # EINTR: the dump raced a change
                    raise
        else:
            raise t.CniError("the route dump kept racing changes", code=t.TRY_AGAIN_LATER)
        routes = [_Route(m) for m in replies]
        return [r for r in routes if r.table == table and r.dst.family in (t.AF_INET, t.AF_INET6)]


def _new_address(index: int, address: t.Cidr) -> Request:
    body = _pack("BBBBI", address.family, address.prefixlen, 0, 0, index)
    body += _attr(_IFA_LOCAL, address.packed) + _attr(_IFA_ADDRESS, address.packed)
    if address.family == t.AF_INET and address.prefixlen < 31:
        body += _attr(_IFA_BROADCAST, address.broadcast().packed)
    return (_RTM_NEWADDR, _F_CREATE | _F_EXCL, body, f"add address {address}")


def _set_up(index: int) -> Request:
    return (_RTM_NEWLINK, 0, _ifinfo(index, _IFF_UP, _IFF_UP), f"set link {index} up")


def _new_route(index: int, route: t.Route, gw: t.IP | None, ifname: str) -> Request:
    """``RTM_NEWROUTE`` appending (ECMP) to what is there, as the reference does."""
    dst = route.dst.network()
    table = _RT_TABLE_MAIN if not route.table else route.table
    body = _pack(
        "BBBBBBBBI",
        dst.family,
        dst.prefixlen,
        0,
        0,
        table if table < 256 else 0,
        _RTPROT_BOOT,
        route.scope or 0,
        _RTN_UNICAST,
        0,
    )
    body += _attr(_RTA_DST, dst.packed)
    if gw is not None:
        if gw.family != dst.family:
            raise t.ConfigError(f"route {route.dst} has gateway {gw} of another family")
        body += _attr(_RTA_GATEWAY, gw.packed)
    body += _u32(_RTA_OIF, index)
    if route.priority:
        body += _u32(_RTA_PRIORITY, route.priority)
    if table >= 256:
        body += _u32(_RTA_TABLE, table)
    metrics = b""
    if route.mtu:
        metrics += _u32(_RTAX_MTU, route.mtu)
    if route.advmss:
        metrics += _u32(_RTAX_ADVMSS, route.advmss)
    if metrics:
        body += _attr(_RTA_METRICS, metrics)
    via = f" via {gw}" if gw is not None else ""
    what = f"add route '{route.dst}{via} dev {ifname}'"
    return (_RTM_NEWROUTE, _F_CREATE | _F_APPEND, body, what)


def _ext_ack(data: bytes, at: int, length: int, flags: int) -> str:
    """The kernel's extended-ack message in an ``NLMSG_ERROR``, if it sent one."""
    if not flags & _F_ACK_TLVS or length < 36:
        return ""
    echoed = _unpack_from("I", data, at + 20)[0]
    start = at + 20 + (16 if flags & _F_CAPPED else echoed)
    text = _attrs(data, start, at + length).get(_NLMSGERR_ATTR_MSG, b"")
    return text.rstrip(b"\0").decode("utf-8", "replace")


if __name__ == "__main__":
    raise SystemExit(main())
