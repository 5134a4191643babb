"""DEL: release the allocation and delete the link; what is already gone is fine."""

from __future__ import annotations

import os

from macvlan.cni.netconf import ipam_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from macvlan.cni.env import Args


def cmd_del(args: Args, raw: dict[str, object], data: bytes) -> None:
    """DEL: release the IPAM allocation and delete the link; missing ones are fine.

    Best effort (SPEC.md): each step runs even if another failed, and the first
    failure is reported.  The IPAM plugin runs while the link is deleted, except
    ``dhcp``, whose daemon sends its release through the link and so goes first.
    """
    from macvlan.cni.ipam import Delegate

    kind = ipam_type(raw)
    failures: list[Exception] = []
    ipam = None
    if kind:
        ipam = Delegate(args.path, kind, "DEL", data)
        if kind == "dhcp":
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
