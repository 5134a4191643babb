"""``macvlan mac ...``: explain, draw and convert MAC addresses (no root, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from macvlan.cli.output import Output
from macvlan.cli.status import EXIT_OK
from macvlan.errors import UsageError

if TYPE_CHECKING:
    import argparse

    from macvlan.mac import MacAddress


def mac_kind(mac: MacAddress) -> str:
    """``UAA``, ``LAA AAI`` (with the SLAP quadrant), or ``group`` for multicast."""
    return mac.kind


def mac_json(mac: MacAddress, given: str | None = None) -> dict[str, Any]:
    """Everything there is to say about one address."""
    first = int(mac) >> 40
    quadrant = mac.slap_quadrant
    return {
        "input": given if given is not None else str(mac),
        "address": str(mac),
        "formats": {
            style: mac.format(style)
            for style in ("colon", "hyphen", "cisco", "bare", "pgsql", "bsd")
        },
        "int": int(mac),
        "first_octet": f"{first:08b}",
        "ig": first & 1,
        "ul": first >> 1 & 1,
        "cast": "broadcast"
        if mac.is_broadcast
        else ("multicast" if mac.is_multicast else "unicast"),
        "administration": "LAA" if mac.is_local else "UAA",
        "slap_quadrant": None if quadrant is None else quadrant.name,
        "oui": mac.oui,
        "cid": mac.oui if quadrant is not None and quadrant.name == "ELI" else None,
        "kind": mac_kind(mac),
        "modified_eui64": mac.modified_eui64().hex(":"),
        "ipv6_link_local": str(mac.ipv6_link_local()),
    }


_QUADRANT_TEXT = {
    "AAI": "AAI (administratively assigned)",
    "ELI": "ELI (extended local, CID-based)",
    "SAI": "SAI (standard assigned)",
    "RESERVED": "reserved",
}


def _mac_text(data: dict[str, Any]) -> list[str]:
    admin = data["administration"]
    rows = [
        ("address", data["address"]),
        *((f"  {k}", v) for k, v in data["formats"].items() if k != "colon"),
        ("integer", f"{data['int']} (0x{data['int']:012x})"),
        (
            "first octet",
            f"{data['first_octet']}  I/G={data['ig']} ({'group' if data['ig'] else 'individual'})"
            f", U/L={data['ul']} ({'local' if data['ul'] else 'universal'})",
        ),
        ("cast", data["cast"]),
        (
            "administration",
            "LAA (locally administered)" if admin == "LAA" else "UAA (universally administered)",
        ),
        (
            "SLAP quadrant",
            _QUADRANT_TEXT[data["slap_quadrant"]] if data["slap_quadrant"] else "- (a UAA)",
        ),
        ("OUI", data["oui"] + ("" if admin == "UAA" else " (not an IEEE OUI: the U/L bit is set)")),
    ]
    if data["cid"]:
        rows.append(("CID", data["cid"]))
    rows += [
        ("modified EUI-64", data["modified_eui64"]),
        ("IPv6 link-local", data["ipv6_link_local"]),
    ]
    return [f"{k:<16} {v}" for k, v in rows]


def cmd_mac_parse(args: argparse.Namespace, out: Output) -> int:
    """``macvlan mac parse``: explain addresses (formats, bits, SLAP quadrant, EUI-64)."""
    from macvlan.mac import MacAddress

    items = []
    for given in args.macs:
        try:
            items.append(mac_json(MacAddress(given), given))
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def text() -> Iterable[str]:
        for i, item in enumerate(items):
            if i:
                yield ""
            yield from _mac_text(item)

    out.emit(items[0] if len(items) == 1 else items, text)
    return EXIT_OK


def cmd_mac_random(args: argparse.Namespace, out: Output) -> int:
    """``macvlan mac random``: distinct random unicast addresses (LAA, or ``--oui``)."""
    from macvlan.mac import MacAddress, SlapQuadrant

    rng = None
    if args.seed is not None:
        import random

        rng = random.Random(args.seed)
    if args.cid is not None and args.quadrant is not SlapQuadrant.ELI:
        raise UsageError("--cid goes with --quadrant eli")
    if args.oui is not None and args.quadrant is not SlapQuadrant.AAI:
        raise UsageError("--oui and --quadrant exclude each other")
    if args.quadrant is SlapQuadrant.ELI and args.cid is None:
        raise UsageError("--quadrant eli needs --cid (a 24-bit company ID like 'ba:98:76')")
    seen: set[MacAddress] = set()
    macs: list[MacAddress] = []
    attempts = 0
    while len(macs) < args.count:
        attempts += 1
        if attempts > args.count * 4 + 64:
            raise RuntimeError(f"could not draw {args.count} distinct addresses")
        if args.oui is not None:
            mac = MacAddress.from_oui(args.oui, rng)
        else:
            mac = MacAddress.random(args.quadrant, rng, cid=args.cid)
        if mac not in seen:
            seen.add(mac)
            macs.append(mac)
    out.emit([str(m) for m in macs], lambda: map(str, macs))
    return EXIT_OK


def cmd_mac_stable(args: argparse.Namespace, out: Output) -> int:
    """``macvlan mac stable``: udev's persistent address for interface names."""
    from macvlan.mac import MacAddress

    items = [
        {"name": n, "address": str(m), "kind": mac_kind(m)}
        for n, m in ((n, MacAddress.stable(n, args.key)) for n in args.names)
    ]
    out.emit(
        items[0] if len(items) == 1 else items,
        lambda: (
            item["address"] if len(items) == 1 else f"{item['name']} {item['address']}"
            for item in items
        ),
    )
    return EXIT_OK


def cmd_mac_convert(args: argparse.Namespace, out: Output) -> int:
    """``macvlan mac convert``: rewrite addresses in another format."""
    converted = [m.format(args.format) for m in args.macs]
    out.emit(converted[0] if len(converted) == 1 else converted, lambda: converted)
    return EXIT_OK
