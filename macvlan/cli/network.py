"""``macvlan network ...``: Docker-style macvlan networks and their endpoints, over
:mod:`macvlan.network` (imported on first use; its absence is a failure, not a crash)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from macvlan.cli.mac import mac_kind
from macvlan.cli.output import Output, describe
from macvlan.cli.status import EXIT_OK
from macvlan.errors import CommandFailed

if TYPE_CHECKING:
    import argparse


def _network_module() -> Any:
    try:
        from macvlan import network
    except ImportError as exc:
        raise CommandFailed(f"the network layer is not available: {exc}") from None
    return network


@contextlib.contextmanager
def _conflicts_fail() -> Iterator[None]:
    """A clash with what exists (a taken name, address or MAC) fails the operation
    (exit 1); only arguments that are bad in themselves are usage errors (exit 2)."""
    network = _network_module()
    conflicts = (network.NetworkExists, network.ParentInUse, network.AddressTaken, network.MacInUse)
    try:
        yield
    except conflicts as exc:
        raise CommandFailed(describe(exc)) from exc


def network_json(net: Any) -> dict[str, Any]:
    """A network as a JSON object."""
    return {
        "name": net.name,
        "parent": net.parent,
        "netns": net.netns_label,
        "mode": net.mode.name.lower(),
        "mtu": net.mtu,
        "internal": net.internal,
        "subnets": [s.to_dict() for s in net.subnets],
        "ipam": net.ipam,
        "ipv6": net.ipv6,
    }


def endpoint_json(ep: Any) -> dict[str, Any]:
    """An endpoint as a JSON object."""
    return {
        "id": ep.id,
        "network": ep.network,
        "kind": ep.kind.value,
        "namespace": ep.namespace,
        "ifname": ep.ifname,
        "ifindex": ep.index,
        "mac": str(ep.mac),
        "mac_kind": mac_kind(ep.mac),
        "addresses": [str(a) for a in ep.addresses],
        "gateways": [str(g) for g in ep.gateways],
        "lease": None if ep.lease is None else ep.lease.to_dict(),
    }


def _network_line(data: dict[str, Any]) -> str:
    where = f" (netns {data['netns']})" if data["netns"] else ""
    parts = [f"{data['name']}: parent {data['parent']}{where} {data['mode']}"]
    for subnet in data["subnets"]:
        text = subnet["subnet"]
        if "gateway" in subnet:
            text += f" gateway {subnet['gateway']}"
        if "ip_range" in subnet:
            text += f" range {subnet['ip_range']}"
        parts.append(text)
    if data["mtu"]:
        parts.append(f"mtu {data['mtu']}")
    if data["internal"]:
        parts.append("internal")
    if data.get("ipam") == "dhcp":
        parts.append("dhcp")
    if data.get("ipv6"):
        parts.append(f"ipv6 {data['ipv6']}")
    return " ".join(parts)


def _endpoint_line(data: dict[str, Any]) -> str:
    line = (
        f"{data['id']}: {data['kind']} {data['namespace']} {data['ifname']} "
        f"{data['mac']} ({data['mac_kind']}) " + " ".join(data["addresses"])
    ).rstrip()
    lease = data.get("lease")
    if lease:
        if lease.get("expired"):
            line += f" lease of {lease['address']} expired"
        elif lease.get("expires") is not None:
            import time

            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(lease["expires"]))
            line += f" leased from {lease['server']} until {stamp}"
        else:
            line += f" leased from {lease['server']} for ever"
    return line


def _open_network(args: argparse.Namespace, name: str | None = None) -> Any:
    return _network_module().Network.open(name or args.name, store=args.store)


def cmd_network_create(args: argparse.Namespace, out: Output) -> int:
    """``macvlan network create``: create a network on a parent link (in ``-n NS``)."""
    network = _network_module()
    with _conflicts_fail():
        net = network.Network.create(
            args.name,
            args.parent,
            subnet=None if args.subnet is None else str(args.subnet),
            gateway=None if args.gateway is None else str(args.gateway),
            mode=args.mode,
            ip_range=None if args.ip_range is None else str(args.ip_range),
            aux_addresses={k: str(v) for k, v in args.aux} or None,
            mtu=args.mtu,
            store=args.store,
            internal=args.internal,
            netns=args.netns,
            ipam=args.ipam,
            ipv6=args.ipv6,
            slaac=args.slaac,
            sysctls=dict(args.sysctl) or None,
            dhcp_timeout=args.dhcp_timeout,
        )
    with net:
        data = network_json(net)
    out.emit(data, lambda: [_network_line(data)])
    return EXIT_OK


def cmd_network_list(args: argparse.Namespace, out: Output) -> int:
    """``macvlan network list``: list the networks in the store."""
    nets = _network_module().Network.list(store=args.store)
    try:
        data = [network_json(n) for n in nets]
    finally:
        for net in nets:
            net.close()
    out.emit(data, lambda: map(_network_line, data))
    return EXIT_OK


def cmd_network_attach(args: argparse.Namespace, out: Output) -> int:
    """``macvlan network attach``: give a namespace an interface on the network."""
    with _open_network(args) as net, _conflicts_fail():
        ip = None if args.ip is None else str(args.ip)
        ep = net.attach(
            args.target,
            ifname=args.ifname,
            ip=ip,
            mac=args.mac,
            client_id=args.client_id,
            hostname=args.hostname,
            sysctls=dict(args.sysctl) or None,
        )
    data = endpoint_json(ep)
    out.emit(data, lambda: [_endpoint_line(data)])
    return EXIT_OK


def cmd_network_detach(args: argparse.Namespace, out: Output) -> int:
    """``macvlan network detach``: remove a namespace's interface from the network."""
    with _open_network(args) as net:
        found = [
            ep for ep in net.endpoints() if ep.namespace == args.target and ep.ifname == args.ifname
        ]
        if not found:
            raise LookupError(
                f"network {args.name!r} has no endpoint {args.ifname!r} in {args.target!r}"
            )
        net.detach(found[0])
    data = endpoint_json(found[0])
    out.emit({"detached": data})
    return EXIT_OK


def cmd_network_endpoints(args: argparse.Namespace, out: Output) -> int:
    """``macvlan network endpoints``: list a network's endpoints, the shim first."""
    with _open_network(args) as net:
        shim = net.shim
        data = [endpoint_json(ep) for ep in [*([] if shim is None else [shim]), *net.endpoints()]]
    out.emit(data, lambda: map(_endpoint_line, data))
    return EXIT_OK


def cmd_network_keep(args: argparse.Namespace, out: Output) -> int:
    """``macvlan network keep``: renew the network's leases until SIGTERM or Ctrl-C,
    one line (or JSON object) per renewal."""
    import signal

    network = _network_module()
    with _open_network(args) as net:
        keeper = network.LeaseKeeper(net, on_change=lambda c: _emit_change(out, c))
        previous = signal.signal(signal.SIGTERM, lambda *_: keeper.stop(timeout=0))
        try:
            keeper.run()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


def _emit_change(out: Output, change: Any) -> None:
    data = {
        "endpoint": change.endpoint,
        "outcome": change.outcome.value,
        "address": str((change.new or change.old).address),
        "expires": None if change.new is None else change.new.to_dict()["expires"],
        "detail": change.detail,
    }
    out.emit(
        data,
        lambda: [
            f"endpoint {data['endpoint']}: {data['outcome']} {data['address']} "
            f"{data['detail']}".rstrip()
        ],
    )


def cmd_network_rm(args: argparse.Namespace, out: Output) -> int:
    """``macvlan network rm``: remove networks; an unknown name removes none."""
    with contextlib.ExitStack() as stack:
        # open them all first: a typo removes nothing
        removed = [stack.enter_context(_open_network(args, name)) for name in args.names]
        for net in removed:
            net.remove(force=args.force)
    out.emit({"removed": [net.name for net in removed]})
    return EXIT_OK


def cmd_network_shim(args: argparse.Namespace, out: Output) -> int:
    """``macvlan network shim``: let the host reach the network's endpoints."""
    with _open_network(args) as net, _conflicts_fail():
        ip = None if args.ip is None else str(args.ip)
        ep = net.host_shim(ip, ifname=args.ifname)
    data = endpoint_json(ep)
    out.emit(data, lambda: [_endpoint_line(data)])
    return EXIT_OK
