"""``macvlan link ...``: create, list, show, change and delete macvlan/macvtap links."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from macvlan.cli.mac import mac_kind
from macvlan.cli.output import Output, Progress
from macvlan.cli.status import EXIT_OK
from macvlan.errors import UsageError

if TYPE_CHECKING:
    import argparse

    from macvlan.connection import Connection
    from macvlan.link import Link
    from macvlan.mac import MacAddress

BULK_CHUNK = 256

_FLAG_ORDER = (
    "LOOPBACK",
    "BROADCAST",
    "POINTOPOINT",
    "MULTICAST",
    "NOARP",
    "ALLMULTI",
    "PROMISC",
    "NOTRAILERS",
    "DEBUG",
    "UP",
    "LOWER_UP",
    "DORMANT",
    "ECHO",
    "MASTER",
    "SLAVE",
    "DYNAMIC",
)


def _flag_names(link: Link) -> list[str]:
    """The interface flags as ``ip`` prints them (RUNNING hidden, NO-CARRIER added)."""
    from macvlan.link import Iff

    flags = Iff(link.flags)
    names = [n for n in _FLAG_ORDER if flags & Iff[n]]
    if flags & Iff.UP and not flags & Iff.LOWER_UP:
        names.insert(0, "NO-CARRIER")
    return names


def link_json(link: Link, names: dict[int, str] | None = None) -> dict[str, Any]:
    """A link as a JSON object; keys follow ``ip -j -d link`` where they overlap."""
    out: dict[str, Any] = {
        "ifindex": link.index,
        "ifname": link.name,
        "kind": link.kind,
        "address": None if link.mac is None else str(link.mac),
        "address_kind": None if link.mac is None else mac_kind(link.mac),
        "mtu": link.mtu,
        "up": link.up,
        "operstate": link.operstate.name,
        "flags": _flag_names(link),
        "link": None,
        "link_index": link.parent_index,
        "link_netnsid": link.netnsid,
        "group": link.group,
        "txqlen": link.txqueuelen,
        "min_mtu": link.min_mtu,
        "max_mtu": link.max_mtu,
        "ifalias": link.alias,
        "altnames": list(link.altnames),
        "promiscuity": link.promiscuity,
        "allmulti": link.allmulti,
    }
    if link.parent_index is not None and link.netnsid is None and names:
        out["link"] = names.get(link.parent_index)
    info = link.macvlan
    if info is not None:
        out["macvlan"] = {
            "mode": info.mode.name.lower(),
            "flags": [f.name.lower() for f in type(info.flags) if f.name and f and f in info.flags],
            "bcqueuelen": info.bcqueuelen,
            "usedbcqueuelen": info.bcqueuelen_used,
            "bc_cutoff": info.bc_cutoff,
            "source_macs": [str(m) for m in info.source_macs],
        }
    return out


def link_line(data: dict[str, Any]) -> str:
    """One ``ip link``-like line for a link's JSON object."""
    name = data["ifname"]
    if data["link"]:
        name += "@" + data["link"]
    elif data["link_index"] is not None:
        name += f"@if{data['link_index']}"
    parts = [f"{data['ifindex']}: {name}: <{','.join(data['flags'])}>", f"mtu {data['mtu']}"]
    parts.append(f"state {data['operstate']}")
    if data["kind"]:
        parts.append(data["kind"])
    if "macvlan" in data:
        parts.append(data["macvlan"]["mode"])
        parts.extend(data["macvlan"]["flags"])
    if data["address"]:
        parts.append(f"{data['address']} ({data['address_kind']})")
    if data["link_netnsid"] is not None:
        parts.append(f"link-netnsid {data['link_netnsid']}")
    return " ".join(parts)


def _connect(args: argparse.Namespace) -> Connection:
    from macvlan.connection import connect

    return connect(netns=args.netns)


def _names(rt: Connection) -> dict[int, str]:
    return {link.index: link.name for link in rt.links()}


def _generated_mac(choice: MacAddress | str | None, name: str) -> MacAddress | None:
    from macvlan.mac import MacAddress

    if choice == "random":
        return MacAddress.random()
    if choice == "stable":
        return MacAddress.stable(name)
    return choice if isinstance(choice, MacAddress) else None


def cmd_link_add(args: argparse.Namespace, out: Output) -> int:
    """``macvlan link add``: create a macvlan (or macvtap) link, or ``--count`` of them."""
    from macvlan.link import MacvlanSpec, check_ifname

    if args.count is None:
        names = [args.name]
    else:
        if args.mac is not None and not isinstance(args.mac, str):
            raise UsageError("--count needs --mac random or --mac stable, not one address")
        names = [f"{args.name}{i}" for i in range(args.count)]
        for name in names:
            check_ifname(name)  # the longest name must still fit
    specs = [
        MacvlanSpec(
            name,
            args.parent,
            args.mode,
            mac=_generated_mac(args.mac, name),
            mtu=args.mtu,
            up=args.up,
            flags=args.flags,
            bcqueuelen=args.bcqueuelen,
            bc_cutoff=args.bc_cutoff,
            source_macs=tuple(args.source_macs),
            txqueuelen=args.txqueuelen,
            group=args.group,
            kind=args.type,
            netns=args.to_netns,
        )
        for name in names
    ]
    with _connect(args) as rt:
        # one link: the same all-or-nothing creation as a batch of one
        made = rt.create_macvlans(specs) if args.count is None else _bulk_create(rt, specs)
        names_map = _names(rt) if args.to_netns is None else {}
    data = [link_json(link, names_map) for link in made]
    if args.to_netns is not None:
        for item in data:
            item["link"] = None  # the parent lives in another namespace
    out.emit(data if args.count is not None else data[0], lambda: map(link_line, data))
    return EXIT_OK


def _bulk_create(rt: Connection, specs: list[Any]) -> list[Link]:
    """Create in chunks (pipelined), with progress; all or nothing."""
    progress = Progress()
    made: list[Link] = []
    try:
        for start in range(0, len(specs), BULK_CHUNK):
            made.extend(rt.create_macvlans(specs[start : start + BULK_CHUNK]))
            progress(f"created {len(made)}/{len(specs)} links")
    except BaseException:
        progress.clear()
        if made:
            progress(f"rolling back {len(made)} links")
            local = [link for link, spec in zip(made, specs, strict=False) if spec.netns is None]
            rt.delete_links(local, missing_ok=True)
            for spec in specs[: len(made)]:
                if spec.netns is not None:
                    from macvlan.connection import connect

                    with connect(spec.netns) as there:
                        there.delete_link(spec.name, missing_ok=True)
        progress.clear()
        raise
    progress.clear()
    return made


def cmd_link_del(args: argparse.Namespace, out: Output) -> int:
    """``macvlan link del``: delete links (several in one kernel batch)."""
    from macvlan.errors import LinkNotFound

    with _connect(args) as rt:
        if len(args.names) == 1:
            count = 1
            try:
                rt.delete_link(args.names[0])
            except LinkNotFound:
                if not args.missing_ok:
                    raise
                count = 0
        else:
            count = rt.delete_links(args.names, missing_ok=args.missing_ok)
    out.emit({"deleted": count})
    return EXIT_OK


def cmd_link_list(args: argparse.Namespace, out: Output) -> int:
    """``macvlan link list``: list links, optionally of one kind or one parent."""
    with _connect(args) as rt:
        links = rt.links(mac=args.mac)
        parent_index = None if args.parent is None else rt.link(args.parent).index
    names = {link.index: link.name for link in links}
    chosen = [
        link
        for link in links
        if (args.kind is None or link.kind == args.kind)
        and (parent_index is None or (link.parent_index == parent_index and link.netnsid is None))
    ]
    data = [link_json(link, names) for link in chosen]
    out.emit(data, lambda: map(link_line, data))
    return EXIT_OK


def cmd_link_show(args: argparse.Namespace, out: Output) -> int:
    """``macvlan link show``: one link with its addresses."""
    from macvlan.errors import LinkNotFound

    with _connect(args) as rt:
        link = rt.link(args.name)
        names = {link.index: link.name}
        if link.parent_index is not None and link.netnsid is None:
            try:
                parent = rt.link(link.parent_index)
                names[parent.index] = parent.name
            except LinkNotFound:
                pass
        addresses = rt.addresses(link.index)
    data = link_json(link, names)
    data["addresses"] = [str(a.interface) for a in addresses]

    def text() -> Iterable[str]:
        yield link_line(data)
        if link.mac is not None:
            yield f"    link-local {link.mac.ipv6_link_local()}"
        for address in data["addresses"]:
            yield f"    inet{'6' if ':' in address else ''} {address}"

    out.emit(data, text)
    return EXIT_OK


def cmd_link_set(args: argparse.Namespace, out: Output) -> int:
    """``macvlan link set``: change a link (up/down, MTU, MAC, name, namespace, ...)."""
    keys = ["up", "mtu", "name", "mode", "flags", "group", "txqueuelen", "alias", "promisc"]
    keys += ["allmulti", "bcqueuelen", "bc_cutoff"]
    changes: dict[str, Any] = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    if args.to_netns is not None:
        changes["netns"] = args.to_netns
    if args.mac is not None:
        new_name = args.name or (args.link if isinstance(args.link, str) else None)
        if args.mac == "stable" and new_name is None:
            raise UsageError("--mac stable needs the link's name, not its index")
        changes["mac"] = _generated_mac(args.mac, new_name or "")
    if not changes and not args.add_altname and not args.del_altname:
        raise UsageError("nothing to change: give --up/--down, --mtu, --mac, --name, ...")
    with _connect(args) as rt:
        link = rt.set_link(args.link, **changes) if changes else rt.link(args.link)
        for altname in args.add_altname:
            link = rt.add_altname(link.index, altname)
        for altname in args.del_altname:
            link = rt.delete_altname(link.index, altname)
        names = _names(rt) if args.to_netns is None else {}
    data = link_json(link, names)
    out.emit(data, lambda: [link_line(data)])
    return EXIT_OK
