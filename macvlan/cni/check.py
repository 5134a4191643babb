"""CHECK: compare the container with the ``prevResult`` an ADD returned."""

from __future__ import annotations

import os

from macvlan.cni.errors import CniConfigError, CniError
from macvlan.cni.mac import format_mac
from macvlan.cni.netconf import MODE_NAMES, NetConf
from macvlan.cni.result import Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from macvlan.cni.env import Args
    from macvlan.cni.rtnl import Rtnl


def cmd_check(args: Args, raw: dict[str, object], data: bytes) -> None:
    """CHECK: the container still has the interface, addresses and routes of the
    previous result, on the configured master and mode (:class:`~macvlan.CniError`
    otherwise)."""
    from macvlan.cni.netns import open_netns

    conf = NetConf(raw, args.cni_args)
    netns = open_netns(args.netns, "CHECK")
    try:
        if conf.ipam_type:
            from macvlan.cni.ipam import Delegate

            Delegate(args.path, conf.ipam_type, "CHECK", data).result(expect_output=False)
        if conf.prev_result is None:
            raise CniConfigError("required prevResult missing")
        prev = Result.from_json(conf.prev_result, conf.cni_version)
        from macvlan.cni.rtnl import Rtnl

        with Rtnl() as host, Rtnl.inside(netns) as cont:
            _check(args, conf, prev, host, cont)
    finally:
        os.close(netns)


def _check(args: Args, conf: NetConf, prev: Result, host: Rtnl, cont: Rtnl) -> None:
    mine = [i for i in prev.interfaces if i.name == args.ifname and i.sandbox == args.netns]
    if not mine:
        raise CniError(f"no interface {args.ifname!r} with sandbox {args.netns!r} in prevResult")
    where = cont if conf.link_in_container else host
    place = "the container" if conf.link_in_container else "the host namespace"
    master = conf.master or where.default_route_ifname(place)
    if where.link(master) is None:
        raise CniError(f"master {master!r} not found in {place}")
    link = cont.link(args.ifname)
    if link is None:
        raise CniError(f"container interface {args.ifname!r} from prevResult not found")
    if link.kind != "macvlan":
        raise CniError(f"container interface {args.ifname!r} is a {link.kind or 'plain'} link")
    if link.mode != conf.mode:
        now = MODE_NAMES.get(link.mode, str(link.mode))
        raise CniError(
            f"container macvlan mode {now} does not match expected value: {conf.mode_name}"
        )
    expected_mac = mine[0].mac
    if expected_mac and expected_mac.lower() != format_mac(link.mac):
        raise CniError(
            f"interface {args.ifname!r} MAC {expected_mac} does not match container MAC "
            f"{format_mac(link.mac)}"
        )
    addresses = cont.addresses(link.index)
    routes = cont.routes()
    for ipc in prev.ips:
        if ipc.address not in addresses:
            raise CniError(f"address {ipc.address} not found on {args.ifname!r}")
        prefix = ipc.address.network()
        if prefix.prefixlen < prefix.bits and not any(r.dst == prefix for r in routes):
            raise CniError(f"no route to {prefix} for address {ipc.address}")
    for route in prev.routes:
        wanted = [r for r in routes if r.dst == route.dst.network()]
        if route.dst.prefixlen and route.gw is not None:
            wanted = [r for r in wanted if r.gw == route.gw]
        if not wanted:
            via = f" via {route.gw}" if route.gw is not None else ""
            raise CniError(f"expected route {route.dst}{via} not found in the routing table")
