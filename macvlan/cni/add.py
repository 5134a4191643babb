"""ADD: make the macvlan in the container, run the IPAM plugin, apply its result.

The order is the reference's: everything that can be checked is checked, and the
link is made, before the IPAM plugin is asked for anything -- a refused
configuration, a missing master, an MTU above the master's or an interface name
already taken in the container (a runtime retrying an ADD) costs no allocation,
and so no IPAM DEL that could free another attachment's address.  To keep the
IPAM plugin's start-up off the critical path, its process is started first and
held before it reads its input until the link exists (``dhcp`` excepted: its
daemon needs the link, so it starts after).

A failed ADD rolls back only what it did: the link if it made it, the allocation
if the IPAM plugin's ADD succeeded.
"""

from __future__ import annotations

import os
import sys

from macvlan.cni.errors import CniConfigError, CniError
from macvlan.cni.ip import AF_INET6, IP
from macvlan.cni.mac import format_mac
from macvlan.cni.netconf import NetConf
from macvlan.cni.result import Interface, Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from macvlan.cni.env import Args
    from macvlan.cni.ipam import Delegate
    from macvlan.cni.rtnl import LinkView, Rtnl


def cmd_add(args: Args, raw: dict[str, object], data: bytes) -> dict[str, object]:
    """ADD (SPEC.md section 2); the result object, written for the config's version."""
    from macvlan.cni.ipam import Delegate

    conf = NetConf(raw, args.cni_args)
    held = None
    if conf.ipam_type and conf.ipam_type != "dhcp":
        held = Delegate(args.path, conf.ipam_type, "ADD")  # starts; waits for its input
    try:
        from macvlan.cni.netns import open_netns  # the namespace and netlink layers,
        from macvlan.cni.rtnl import Rtnl  # imported while the IPAM plugin starts

        netns = open_netns(args.netns, "ADD")
        try:
            with Rtnl() as host, Rtnl.inside(netns) as cont:
                result = _add(args, conf, data, netns, host, cont, held)
        finally:
            os.close(netns)
    finally:
        if held is not None:
            held.cancel()  # only if it never got its input
    return result.to_json(conf.cni_version)


def find_master(conf: NetConf, host: Rtnl, cont: Rtnl) -> LinkView:
    """The master link, checked against the configuration; refusals as CniError."""
    where = cont if conf.link_in_container else host
    place = "the container" if conf.link_in_container else "the host namespace"
    master = conf.master or where.default_route_ifname(place)
    parent = where.link(master)
    if parent is None:
        raise CniConfigError(f"master {master!r} not found in {place}")
    if conf.mtu > parent.mtu:
        raise CniConfigError(
            f"invalid MTU {conf.mtu}, must be [0, master MTU({parent.mtu})] of {master!r}"
        )
    return parent


def _add(
    args: Args,
    conf: NetConf,
    data: bytes,
    netns: int,
    host: Rtnl,
    cont: Rtnl,
    held: Delegate | None,
) -> Result:
    """Check, make the link, then let the IPAM plugin allocate and apply its result."""
    from macvlan.cni.ipam import Delegate
    from macvlan.cni.netns import Inside, sysctl

    parent = find_master(conf, host, cont)
    layer3 = bool(conf.ipam_type)
    create_macvlan(args, conf, parent, netns, host, cont, up=not layer3)
    ipam = None
    try:
        if layer3:
            if held is None:  # dhcp: its daemon works through the link
                ipam = Delegate(args.path, conf.ipam_type, "ADD", data)
            else:
                ipam = held
                ipam.send(data)
        link = cont.link(args.ifname)
        if link is None:
            raise CniError(f"the new macvlan {args.ifname!r} vanished from the container")
        result = Result([Interface(args.ifname, format_mac(link.mac), args.netns)])
        if ipam is not None:
            with Inside(netns):
                sysctl(f"ipv4/conf/{args.ifname}/arp_notify", "1")
                sysctl(f"ipv6/conf/{args.ifname}/ndisc_notify", "1")
            ipam_result = ipam.result()
            _apply_ipam(args, conf, ipam_result, result, link.index, netns, cont)
        result.dns = dict(conf.dns)
        return result
    except BaseException:
        undo_add(args, conf, data, cont, ipam)
        raise


def create_macvlan(
    args: Args, conf: NetConf, parent: LinkView, netns: int, host: Rtnl, cont: Rtnl, up: bool
) -> None:
    """Create the macvlan in the container under its final name.

    Should a kernel check the name in the creating namespace too, the link is made
    under a temporary name and renamed inside the container, as the reference does.
    An interface of that name already in the container is an error, and stays.
    """
    from macvlan.errors import LinkExists

    where = cont if conf.link_in_container else host
    target = None if conf.link_in_container else netns
    try:
        where.create_macvlan(args.ifname, parent, conf, target, up)
        return
    except LinkExists:
        if cont.link(args.ifname) is not None:
            raise CniError(
                f"container interface {args.ifname!r} already exists in {args.netns}"
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
    conf: NetConf,
    ipam_result: Result,
    result: Result,
    index: int,
    netns: int,
    cont: Rtnl,
) -> None:
    """Put the IPAM plugin's addresses and routes on the link, as the reference does:
    addresses, then up (announced by arp_notify), then routes whose missing gateway
    is the first gateway of their family."""
    from macvlan.cni import rtnl
    from macvlan.cni.netns import Inside, sysctl

    if not ipam_result.ips:
        raise CniConfigError(f"IPAM plugin {conf.ipam_type!r} returned no IP addresses")
    for ipc in ipam_result.ips:
        ipc.interface = 0
    result.ips = ipam_result.ips
    result.routes = ipam_result.routes
    if any(ipc.address.family == AF_INET6 for ipc in result.ips):
        with Inside(netns):
            for name in ("lo", args.ifname):
                sysctl(f"ipv6/conf/{name}/disable_ipv6", "0", only_if_not="0")
    gateways: dict[int, IP] = {}
    requests = []
    for ipc in result.ips:
        requests.append(rtnl.new_address(index, args.ifname, ipc.address))
        if ipc.gateway is not None:
            gateways.setdefault(ipc.gateway.family, ipc.gateway)
    requests.append(rtnl.set_up(index, args.ifname))
    routes = [
        rtnl.new_route(index, r, r.gw or gateways.get(r.dst.family), args.ifname)
        for r in result.routes
    ]
    if AF_INET6 in gateways:  # routes via IPv6 gateways wait for DAD, as the reference
        cont.exchange(requests)
        cont.settle(index, args.ifname)
        requests = []
    cont.exchange(requests + routes)


def undo_add(args: Args, conf: NetConf, data: bytes, cont: Rtnl, ipam: Delegate | None) -> None:
    """Roll back a failed ADD that made the link: delete it, and release the
    allocation (SPEC.md section 4) only if the IPAM plugin's ADD succeeded -- after a
    refused ADD (say, "duplicate allocation" on a retry) a DEL would free the address
    an earlier ADD of the same container holds."""
    try:
        cont.delete_link(args.ifname)
    except Exception as exc:
        sys.stderr.write(f"macvlan-cni: rollback: could not delete {args.ifname!r}: {exc}\n")
    if ipam is None or ipam.wait_quietly() != 0:
        return
    try:
        from macvlan.cni.ipam import Delegate

        Delegate(args.path, conf.ipam_type, "DEL", data).result(expect_output=False)
    except Exception as exc:
        sys.stderr.write(f"macvlan-cni: rollback: IPAM DEL failed: {exc}\n")
