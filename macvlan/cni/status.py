"""STATUS and GC (CNI 1.1.0): both passed on to the IPAM plugin."""

from __future__ import annotations

from macvlan.cni.errors import NOT_AVAILABLE, CniConfigError, CniError
from macvlan.cni.netconf import NetConf, ipam_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from macvlan.cni.env import Args


def cmd_status(args: Args, raw: dict[str, object], data: bytes) -> None:
    """STATUS (1.1.0): ready if the master exists and the IPAM plugin says it is ready."""
    conf = NetConf(raw, args.cni_args)
    if conf.ipam_type:
        from macvlan.cni.ipam import Delegate

        Delegate(args.path, conf.ipam_type, "STATUS", data).result(expect_output=False)
    if not conf.link_in_container:
        from macvlan.cni.rtnl import Rtnl

        with Rtnl() as host:
            master = conf.master or host.default_route_ifname("the host namespace", NOT_AVAILABLE)
            if host.link(master) is None:
                raise CniError(f"master {master!r} not found", code=NOT_AVAILABLE)


def cmd_gc(args: Args, raw: dict[str, object], data: bytes) -> None:
    """GC (1.1.0): nothing of ours outlives a container; the IPAM plugin's may."""
    valid = raw.get("cni.dev/valid-attachments")
    if valid is not None and not (
        isinstance(valid, list) and all(isinstance(a, dict) for a in valid)
    ):
        raise CniConfigError(f"cni.dev/valid-attachments must be a list of objects, not {valid!r}")
    kind = ipam_type(raw)
    if kind:
        from macvlan.cni.ipam import Delegate

        Delegate(args.path, kind, "GC", data).result(expect_output=False)
