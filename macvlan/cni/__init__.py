"""The CNI plugin: a drop-in for the reference ``macvlan`` plugin (CNI 0.1.0-1.1.0).

Run as ``macvlan-cni`` or ``python -m macvlan.cni`` with the ``CNI_*`` environment
variables and the network configuration on stdin (SPEC.md, section 2).  ADD
creates a macvlan on ``master`` (default: the interface of the default route)
inside ``CNI_NETNS``, runs the IPAM plugin named by ``ipam.type`` from
``CNI_PATH`` and applies its addresses and routes; DEL removes both and succeeds
when they are already gone; CHECK compares the container with ``prevResult``;
STATUS and GC (1.1.0) are passed on to the IPAM plugin.

A plugin process is started for every container, so start-up is part of its
speed: commands import only what they use (VERSION loads no netlink at all).
Its rtnetlink requests go through the library's codec and socket
(:mod:`macvlan.cni.rtnl`); the namespace steps are in :mod:`macvlan.cni.netns`
and the IPAM plugin is run by :mod:`macvlan.cni.ipam`.
"""

from __future__ import annotations

import os
import sys

from macvlan._names import check_ifname
from macvlan.cni import types as t

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

    from macvlan.cni.ipam import Delegate
    from macvlan.cni.rtnl import Rtnl

__all__ = ["main", "run"]

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
        """Raise :class:`~macvlan.cni.types.EnvError` (code 4) for missing or bad values."""
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


def run() -> NoReturn:
    """Run the plugin as its own process (console script, launcher, ``python -m``).

    After :func:`main`, the output is flushed and the process exits at once with
    :func:`os._exit`: the interpreter's teardown (some 3 ms of freeing modules) would
    only slow down every command, as nothing is left to clean up -- sockets and
    files close with the process, and any IPAM plugin started has been waited for.
    """
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # the runtime closed our output: the result is lost
        status = status or 1
    os._exit(status)


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
        echoed = conf.get("cniVersion") if isinstance(conf, dict) else None
        if echoed and isinstance(echoed, str):
            # config_version refuses (code 6) one that cannot be written back as UTF-8
            version = t.config_version({"cniVersion": echoed})
    _write(t.dumps({"cniVersion": version, "supportedVersions": list(t.SUPPORTED_VERSIONS)}))
    return 0


# -- commands --------------------------------------------------------------------------
def _cmd_add(args: Args, raw: dict[str, object], data: bytes) -> dict[str, object]:
    """ADD: create the link and run the IPAM plugin side by side; on failure undo both.

    The IPAM plugin starts as soon as the input is known to be good, and allocates
    while this process imports its netlink layer and makes the link -- except
    ``dhcp``, whose daemon needs the link to exist.  Errors about the link are still
    reported before the IPAM plugin's, as the reference (which runs it after) does.
    """
    from macvlan.cni.ipam import Delegate
    from macvlan.cni.netns import open_netns

    conf = t.NetConf(raw, args.cni_args)
    netns = open_netns(args.netns, "ADD")
    try:
        ipam = None
        if conf.ipam_type and conf.ipam_type != "dhcp":
            ipam = Delegate(args.path, conf.ipam_type, "ADD", data)
        handed_over = False
        try:
            from macvlan.cni.rtnl import Rtnl  # the netlink layer, while IPAM allocates

            with Rtnl() as host, Rtnl.inside(netns) as cont:
                handed_over = True  # from here on _add undoes what fails
                result = _add(args, conf, data, netns, host, cont, ipam)
        except BaseException:
            if not handed_over:
                _undo_add(args, conf, data, None, ipam)
            raise
    finally:
        os.close(netns)
    return result.to_json(conf.cni_version)


def _add(
    args: Args,
    conf: t.NetConf,
    data: bytes,
    netns: int,
    host: Rtnl,
    cont: Rtnl,
    ipam: Delegate | None,
) -> t.Result:
    """Make the link, start the IPAM plugin if ``_cmd_add`` has not, apply its result;
    on failure undo the link (if made) and the allocation."""
    from macvlan.cni.ipam import Delegate
    from macvlan.cni.netns import Inside, sysctl

    layer3 = bool(conf.ipam_type)
    created = False
    try:
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
        _create_macvlan(args, conf, parent.index, netns, where, cont, up=not layer3)
        created = True
        if layer3 and ipam is None:  # dhcp: its daemon works through the link
            ipam = Delegate(args.path, conf.ipam_type, "ADD", data)
        link = cont.link(args.ifname)
        if link is None:
            raise t.CniError(f"the new macvlan {args.ifname!r} vanished from the container")
        result = t.Result([t.Interface(args.ifname, t.format_mac(link.mac), args.netns)])
        if ipam is not None:
            with Inside(netns):
                sysctl(f"ipv4/conf/{args.ifname}/arp_notify", "1")
                sysctl(f"ipv6/conf/{args.ifname}/ndisc_notify", "1")
            _apply_ipam(args, conf, ipam.result(), result, link.index, netns, cont)
        result.dns = dict(conf.dns)
        return result
    except BaseException:
        _undo_add(args, conf, data, cont if created else None, ipam)
        raise


def _create_macvlan(
    args: Args, conf: t.NetConf, parent: int, netns: int, where: Rtnl, cont: Rtnl, up: bool
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
    cont: Rtnl,
) -> None:
    """Put the IPAM plugin's addresses and routes on the link, as the reference does:
    addresses, then up (announced by arp_notify), then routes whose missing gateway
    is the first gateway of their family."""
    from macvlan.cni import rtnl as rtnl
    from macvlan.cni.netns import Inside, sysctl

    if not ipam_result.ips:
        raise t.ConfigError(f"IPAM plugin {conf.ipam_type!r} returned no IP addresses")
    for ipc in ipam_result.ips:
        ipc.interface = 0
    result.ips = ipam_result.ips
    result.routes = ipam_result.routes
    if any(ipc.address.family == t.AF_INET6 for ipc in result.ips):
        with Inside(netns):
            for name in ("lo", args.ifname):
                sysctl(f"ipv6/conf/{name}/disable_ipv6", "0", only_if_not="0")
    gateways: dict[int, t.IP] = {}
    requests = []
    for ipc in result.ips:
        requests.append(rtnl.new_address(index, ipc.address))
        if ipc.gateway is not None:
            gateways.setdefault(ipc.gateway.family, ipc.gateway)
    requests.append(rtnl.set_up(index))
    routes = [
        rtnl.new_route(index, r, r.gw or gateways.get(r.dst.family), args.ifname)
        for r in result.routes
    ]
    if t.AF_INET6 in gateways:  # routes via IPv6 gateways wait for DAD, as the reference
        cont.exchange(requests)
        cont.settle(index, args.ifname)
        requests = []
    cont.exchange(requests + routes)


def _undo_add(
    args: Args, conf: t.NetConf, data: bytes, cont: Rtnl | None, ipam: Delegate | None
) -> None:
    """Roll back a failed ADD: the link if it was made (``cont``, the container's
    socket), then (SPEC.md section 4) the IPAM allocation if the plugin ran."""
    try:
        if cont is not None:
            cont.delete_link(args.ifname)
    except Exception as exc:
        sys.stderr.write(f"macvlan-cni: rollback: could not delete {args.ifname!r}: {exc}\n")
    if ipam is None:
        return
    ipam.wait_quietly()
    try:
        from macvlan.cni.ipam import Delegate

        Delegate(args.path, conf.ipam_type, "DEL", data).result(expect_output=False)
    except Exception as exc:
        sys.stderr.write(f"macvlan-cni: rollback: IPAM DEL failed: {exc}\n")


def _cmd_del(args: Args, raw: dict[str, object], data: bytes) -> None:
    """DEL: release the IPAM allocation and delete the link; missing ones are fine.

    Best effort (SPEC.md): each step runs even if another failed, and the first
    failure is reported.  The IPAM plugin runs while the link is deleted, except
    ``dhcp``, whose daemon sends its release through the link and so goes first.
    """
    from macvlan.cni.ipam import Delegate

    ipam_type = t.ipam_type(raw)
    failures: list[Exception] = []
    ipam = None
    if ipam_type:
        ipam = Delegate(args.path, ipam_type, "DEL", data)
        if ipam_type == "dhcp":
            try:
                ipam.result(expect_output=False)
            except Exception as exc:
                failures.append(exc)
            ipam = None
    try:
        netns = None
        if args.netns:
            from macvlan.cni.netns import open_netns_if_there

            netns = open_netns_if_there(args.netns, "DEL")
        if netns is not None:
            from macvlan.cni.rtnl import Rtnl

            try:
                with Rtnl.inside(netns) as cont:
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
    from macvlan.cni.netns import open_netns

    conf = t.NetConf(raw, args.cni_args)
    netns = open_netns(args.netns, "CHECK")
    try:
        if conf.ipam_type:
            from macvlan.cni.ipam import Delegate

            Delegate(args.path, conf.ipam_type, "CHECK", data).result(expect_output=False)
        if conf.prev_result is None:
            raise t.ConfigError("required prevResult missing")
        prev = t.Result.from_json(conf.prev_result, conf.cni_version)
        from macvlan.cni.rtnl import Rtnl

        with Rtnl() as host, Rtnl.inside(netns) as cont:
            _check(args, conf, prev, host, cont)
    finally:
        os.close(netns)


def _check(args: Args, conf: t.NetConf, prev: t.Result, host: Rtnl, cont: Rtnl) -> None:
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
        from macvlan.cni.ipam import Delegate

        Delegate(args.path, conf.ipam_type, "STATUS", data).result(expect_output=False)
    if not conf.link_in_container:
        from macvlan.cni.rtnl import Rtnl

        with Rtnl() as host:
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
        from macvlan.cni.ipam import Delegate

        Delegate(args.path, ipam_type, "GC", data).result(expect_output=False)


_COMMANDS: dict[str, Callable[[Args, dict[str, object], bytes], dict[str, object] | None]] = {
    "ADD": _cmd_add,
    "DEL": _cmd_del,
    "CHECK": _cmd_check,
    "STATUS": _cmd_status,
    "GC": _cmd_gc,
}
