"""The ``macvlan`` command line, in the spirit of ``ip``.

``macvlan [--json] [--debug] [-n NS] OBJECT COMMAND ...`` where OBJECT is ``link``,
``netns``, ``mac``, ``network``, ``ping`` or ``demo``.  Every command can print JSON
(``--json``, before or after the command).  A failure is one line on stderr (the
traceback only with ``--debug``); bad usage prints the usage and one error line.
Exit status: 0 done, 1 the operation failed, 2 bad usage (nothing was done),
130/143 interrupted by SIGINT/SIGTERM.  Long work (bulk creation, the demo) shows
progress on stderr when it is a terminal.

Only :mod:`argparse` is imported up front; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from macvlan.connection import Connection
    from macvlan.link import Link, MacvlanMode
    from macvlan.mac import MacAddress

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

PROG = "macvlan"
BULK_CHUNK = 256


class UsageError(Exception):
    """Bad command-line usage; ``parser`` is the (sub)command whose usage to show."""

    def __init__(self, message: str, parser: argparse.ArgumentParser | None = None) -> None:
        super().__init__(message)
        self.parser = parser


class Terminated(BaseException):
    """SIGTERM arrived (raised from the signal handler, like KeyboardInterrupt)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self)


# -- output ------------------------------------------------------------------------------
class Output:
    """Writes either JSON or lines of text to stdout."""

    def __init__(self, as_json: bool, stream: IO[str] | None = None) -> None:
        self.as_json = as_json
        self.stream = stream if stream is not None else sys.stdout

    def emit(self, data: Any, text: Callable[[], Iterable[str]] | None = None) -> None:
        if self.as_json:
            import json

            self.stream.write(json.dumps(data, indent=2) + "\n")
        elif text is not None:
            for line in text():
                self.stream.write(line + "\n")
        self.stream.flush()


class Progress:
    """One self-overwriting status line on stderr, shown only on a terminal."""

    def __init__(self, enabled: bool | None = None, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._shown = False

    def __call__(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"\r\033[K{text}")
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False


# -- argument types (a bad value is a usage error, raised before anything is done) --------
def _arg_type(fn: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    """``fn`` as an argparse ``type``: its ValueError/TypeError become usage errors."""

    def convert(text: str) -> Any:
        try:
            return fn(text)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = what
    return convert


def _ifname(text: str) -> str:
    from macvlan.link import check_ifname

    return check_ifname(text)


def _linkref(text: str) -> int | str:
    """A link name, or an index when all digits."""
    if text.isdigit():
        return int(text)
    return _ifname(text)


def _nsname(text: str) -> str:
    from macvlan.namespace import _check_name

    return _check_name(text)


def _mac(text: str) -> MacAddress:
    from macvlan.mac import MacAddress

    return MacAddress(text)


def _mac_choice(text: str) -> MacAddress | str:
    """A MAC address, or ``random`` / ``stable`` (generated per link)."""
    if text in ("random", "stable"):
        return text
    return _mac(text)


def _mode(text: str) -> MacvlanMode:
    from macvlan.link import check_mode

    return check_mode(text)


def _mflags(text: str) -> Any:
    from macvlan.link import MacvlanFlags

    value = MacvlanFlags.NONE
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part.lower() == "none":
            continue
        try:
            value |= MacvlanFlags[part.upper()]
        except KeyError:
            raise ValueError(
                f"unknown macvlan flag {part!r}; expected nopromisc, nodst or none"
            ) from None
    return value


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value

    return parse


def _quadrant(text: str) -> Any:
    from macvlan.mac import SlapQuadrant

    if text.lower() in ("any", "none"):
        return None
    try:
        return SlapQuadrant[text.upper()]
    except KeyError:
        raise ValueError(f"unknown SLAP quadrant {text!r}; expected aai, eli, sai or any") from None


def _mac_format(text: str) -> str:
    from macvlan.mac import MacFormat

    try:
        return MacFormat(text).value
    except ValueError:
        names = ", ".join(m.value for m in MacFormat if m.value.islower())
        raise ValueError(
            f"unknown format {text!r}; expected one of {names} (capitals: upper-case digits)"
        ) from None


def _ip(text: str) -> Any:
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def _ip_maybe_prefix(text: str) -> str:
    """An IP address, optionally with its prefix length (``10.0.0.5/24``)."""
    import ipaddress

    try:
        if "/" in text:
            ipaddress.ip_interface(text)
        else:
            ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None
    return text


def _network(text: str) -> Any:
    import ipaddress

    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a subnet: {exc}") from None


def _aux(text: str) -> tuple[str, Any]:
    name, sep, addr = text.partition("=")
    if not sep or not name:
        raise ValueError(f"{text!r} is not NAME=IP")
    return name, _ip(addr)


T_IFNAME = _arg_type(_ifname, "interface name")
T_LINK = _arg_type(_linkref, "link")
T_NS = _arg_type(_nsname, "namespace name")
T_MAC = _arg_type(_mac, "MAC address")
T_MAC_CHOICE = _arg_type(_mac_choice, "MAC address")
T_MODE = _arg_type(_mode, "mode")
T_MFLAGS = _arg_type(_mflags, "flags")
T_MTU = _arg_type(_int_in(68, 2**31 - 1), "MTU")
T_U32 = _arg_type(_int_in(0, 2**32 - 1), "u32")
T_S32 = _arg_type(_int_in(-(2**31), 2**31 - 1), "s32")
T_COUNT = _arg_type(_int_in(1, 1_000_000), "count")
T_QUADRANT = _arg_type(_quadrant, "quadrant")
T_FORMAT = _arg_type(_mac_format, "format")
T_IP = _arg_type(_ip, "IP address")
T_SUBNET = _arg_type(_network, "subnet")
T_IP_PREFIX = _arg_type(_ip_maybe_prefix, "IP address")
T_AUX = _arg_type(_aux, "NAME=IP")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise ValueError(f"{text!r} must not be negative")
    return value


T_SECONDS = _arg_type(_positive_float, "seconds")


# -- describing things ---------------------------------------------------------------
def mac_kind(mac: MacAddress) -> str:
    """``UAA``, ``LAA AAI`` (with the SLAP quadrant), or ``group`` for multicast."""
    if mac.is_multicast:
        return "group"
    if mac.is_universal:
        return "UAA"
    quadrant = mac.slap_quadrant
    return "LAA" if quadrant is None else f"LAA {quadrant.name}"


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


def _describe(exc: BaseException) -> str:
    """A one-line message for an exception."""
    if isinstance(exc, OSError) and exc.strerror:
        text = str(exc.strerror)
        if exc.filename and str(exc.filename) not in text:
            text += f": {exc.filename}"
        return text
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


# -- the link commands -------------------------------------------------------------------
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
    from macvlan.link import MacvlanSpec

    if args.count is None:
        names = [args.name]
    else:
        if args.mac is not None and not isinstance(args.mac, str):
            raise UsageError("--count needs --mac random or --mac stable, not one address")
        names = [f"{args.name}{i}" for i in range(args.count)]
        for name in names:
            _ifname(name)  # the longest name must still fit
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
            txqueuelen=args.txqueuelen,
            group=args.group,
            kind=args.type,
            netns=args.to_netns,
        )
        for name in names
    ]
    with _connect(args) as rt:
        if args.count is None:
            spec = specs[0]
            create = rt.create_macvtap if args.type == "macvtap" else rt.create_macvlan
            link = create(
                spec.name,
                spec.parent,
                spec.mode,
                mac=spec.mac,
                mtu=spec.mtu,
                up=spec.up,
                netns=spec.netns,
                flags=spec.flags,
                bcqueuelen=spec.bcqueuelen,
                txqueuelen=spec.txqueuelen,
                group=spec.group,
            )
            made = [link]
        else:
            made = _bulk_create(rt, specs)
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
    with _connect(args) as rt:
        links = rt.links()
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
    changes: dict[str, Any] = {
        key: getattr(args, key)
        for key in ("up", "mtu", "name", "mode", "flags", "group", "txqueuelen")
        if getattr(args, key) is not None
    }
    if args.to_netns is not None:
        changes["netns"] = args.to_netns
    if args.mac is not None:
        new_name = args.name or (args.link if isinstance(args.link, str) else None)
        if args.mac == "stable" and new_name is None:
            raise UsageError("--mac stable needs the link's name, not its index")
        changes["mac"] = _generated_mac(args.mac, new_name or "")
    if not changes:
        raise UsageError("nothing to change: give --up/--down, --mtu, --mac, --name, ...")
    with _connect(args) as rt:
        link = rt.set_link(args.link, **changes)
        names = _names(rt) if args.to_netns is None else {}
    data = link_json(link, names)
    out.emit(data, lambda: [link_line(data)])
    return EXIT_OK


# -- netns ---------------------------------------------------------------------------------
def cmd_netns_add(args: argparse.Namespace, out: Output) -> int:
    from macvlan.namespace import Namespace

    made: list[str] = []
    try:
        for name in args.names:
            Namespace.create(name).close()
            made.append(name)
    except BaseException:
        for name in made:  # all or nothing
            Namespace.open(name).delete(missing_ok=True)
        raise
    out.emit([{"name": n} for n in made])
    return EXIT_OK


def cmd_netns_del(args: argparse.Namespace, out: Output) -> int:
    from macvlan.errors import NamespaceNotFound
    from macvlan.namespace import Namespace

    opened = []
    try:
        for name in args.names:  # check them all before deleting any
            try:
                opened.append(Namespace.open(name))
            except NamespaceNotFound:
                if not args.missing_ok:
                    raise
        for ns in opened:
            ns.delete(missing_ok=args.missing_ok)
    finally:
        for ns in opened:
            ns.close()
    out.emit({"deleted": [ns.name for ns in opened]})
    return EXIT_OK


def cmd_netns_list(args: argparse.Namespace, out: Output) -> int:
    from macvlan.namespace import Namespace

    names = Namespace.list()
    out.emit([{"name": n} for n in names], lambda: names)
    return EXIT_OK


# -- mac -----------------------------------------------------------------------------------
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
    converted = [m.format(args.format) for m in args.macs]
    out.emit(converted[0] if len(converted) == 1 else converted, lambda: converted)
    return EXIT_OK


# -- ping --------------------------------------------------------------------------------
def cmd_ping(args: argparse.Namespace, out: Output) -> int:
    from macvlan.icmp import ping

    kwargs = {
        "count": args.count,
        "timeout": args.timeout,
        "interval": args.interval,
        "interface": args.interface,
    }
    try:
        if args.netns is None:
            result = ping(args.host, **kwargs)
        else:
            from macvlan.namespace import Namespace

            with Namespace.open(args.netns) as ns:
                result = ns.run(ping, args.host, **kwargs)
    except OSError as exc:
        if exc.filename or not exc.strerror or isinstance(exc, PermissionError):
            raise
        raise OSError(exc.errno, f"ping {args.host}: {exc.strerror}") from exc
    rtt_ms = [None if r is None else round(r * 1000, 3) for r in result.rtts]
    data = {
        "host": result.host,
        "sent": result.sent,
        "received": result.received,
        "loss": result.loss,
        "rtt_ms": rtt_ms,
        "min_ms": result.min_ms,
        "avg_ms": result.avg_ms,
        "max_ms": result.max_ms,
    }

    def text() -> Iterable[str]:
        for seq, rtt in enumerate(rtt_ms, 1):
            yield f"seq={seq} " + ("no reply" if rtt is None else f"time={rtt:.3f} ms")
        line = f"{result.host}: {result.received}/{result.sent} replies"
        if result.received:
            line += (
                f", rtt min/avg/max {result.min_ms:.3f}/{result.avg_ms:.3f}/{result.max_ms:.3f} ms"
            )
        yield line

    out.emit(data, text)
    if not result.received:
        print(f"{PROG}: {result.host}: no reply", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


# -- network ---------------------------------------------------------------------------------
class Failed(Exception):
    """The operation failed (exit 1) though the arguments were fine."""


def _network_module() -> Any:
    try:
        from macvlan import network
    except ImportError as exc:
        raise Failed(f"the network layer is not available: {exc}") from None
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
        raise Failed(_describe(exc)) from exc


def network_json(net: Any) -> dict[str, Any]:
    return {
        "name": net.name,
        "parent": net.parent,
        "netns": net.netns,
        "mode": net.mode.name.lower(),
        "mtu": net.mtu,
        "internal": net.internal,
        "subnets": [s.to_dict() for s in net.subnets],
    }


def endpoint_json(ep: Any) -> dict[str, Any]:
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
    return " ".join(parts)


def _endpoint_line(data: dict[str, Any]) -> str:
    return (
        f"{data['id']}: {data['kind']} {data['namespace']} {data['ifname']} "
        f"{data['mac']} ({data['mac_kind']}) " + " ".join(data["addresses"])
    ).rstrip()


def _open_network(args: argparse.Namespace, name: str | None = None) -> Any:
    return _network_module().Network.open(name or args.name, store=args.store)


def cmd_network_create(args: argparse.Namespace, out: Output) -> int:
    network = _network_module()
    with _conflicts_fail():
        net = network.Network.create(
            args.name,
            args.parent,
            subnet=str(args.subnet),
            gateway=None if args.gateway is None else str(args.gateway),
            mode=args.mode,
            ip_range=None if args.ip_range is None else str(args.ip_range),
            aux_addresses={k: str(v) for k, v in args.aux} or None,
            mtu=args.mtu,
            store=args.store,
            internal=args.internal,
            netns=args.netns,
        )
    with net:
        data = network_json(net)
    out.emit(data, lambda: [_network_line(data)])
    return EXIT_OK


def cmd_network_list(args: argparse.Namespace, out: Output) -> int:
    nets = _network_module().Network.list(store=args.store)
    try:
        data = [network_json(n) for n in nets]
    finally:
        for net in nets:
            net.close()
    out.emit(data, lambda: map(_network_line, data))
    return EXIT_OK


def cmd_network_attach(args: argparse.Namespace, out: Output) -> int:
    with _open_network(args) as net, _conflicts_fail():
        ip = None if args.ip is None else str(args.ip)
        ep = net.attach(args.target, ifname=args.ifname, ip=ip, mac=args.mac)
    data = endpoint_json(ep)
    out.emit(data, lambda: [_endpoint_line(data)])
    return EXIT_OK


def cmd_network_detach(args: argparse.Namespace, out: Output) -> int:
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
    with _open_network(args) as net:
        shim = net.shim
        data = [endpoint_json(ep) for ep in [*([] if shim is None else [shim]), *net.endpoints()]]
    out.emit(data, lambda: map(_endpoint_line, data))
    return EXIT_OK


def cmd_network_rm(args: argparse.Namespace, out: Output) -> int:
    removed = []
    for name in args.names:  # open them all first: a typo removes nothing
        removed.append(_open_network(args, name))
    try:
        for net in removed:
            net.remove(force=args.force)
    finally:
        for net in removed:
            net.close()
    out.emit({"removed": [net.name for net in removed]})
    return EXIT_OK


def cmd_network_shim(args: argparse.Namespace, out: Output) -> int:
    with _open_network(args) as net, _conflicts_fail():
        ip = None if args.ip is None else str(args.ip)
        ep = net.host_shim(ip, ifname=args.ifname)
    data = endpoint_json(ep)
    out.emit(data, lambda: [_endpoint_line(data)])
    return EXIT_OK


# -- demo ----------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    from macvlan import demo

    if args.cleanup is not None:
        removed = demo.cleanup(args.cleanup or None)
        out.emit(
            {"removed": removed},
            lambda: [f"removed {item}" for item in removed] or ["nothing to remove"],
        )
        return EXIT_OK
    progress = Progress()
    try:
        report = demo.run(keep=args.keep, progress=progress)
    except (ValueError, TypeError) as exc:  # the demo takes no input: these are failures
        raise Failed(_describe(exc)) from exc
    finally:
        progress.clear()
    out.emit(report.to_json(), report.text_lines)
    if report.failed_pings():
        print(f"{PROG}: error: {report.failed_pings()} pings got no reply", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


# -- the parser --------------------------------------------------------------------------------
def _common() -> _Parser:
    """Options accepted after any command too (their defaults come from the top)."""
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    return common


def build_parser() -> argparse.ArgumentParser:
    from macvlan import __version__

    common = _common()
    parser = _Parser(
        prog=PROG,
        description="macvlan links, network namespaces, MAC addresses and networks.",
        epilog="Exit status: 0 done, 1 the operation failed, 2 bad usage.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument(
        "-n", "--netns", type=T_NS, help="run the command inside this named namespace (ip -n)"
    )
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}")
    objects = parser.add_subparsers(dest="object", metavar="OBJECT", required=True)

    def sub(
        group: Any, name: str, fn: Callable[[argparse.Namespace, Output], int], help_: str
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(
            name, help=help_, description=help_, parents=[common]
        )
        p.set_defaults(func=fn, parser=p)
        return p

    # link
    link = objects.add_parser("link", help="macvlan/macvtap links", parents=[common])
    lcmd = link.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub(lcmd, "add", cmd_link_add, "create a macvlan (or macvtap) link")
    p.add_argument("name", type=T_IFNAME, metavar="NAME")
    p.add_argument("--parent", "--link", required=True, type=T_LINK, help="the lower device")
    p.add_argument("--type", choices=("macvlan", "macvtap"), default="macvlan")
    p.add_argument(
        "--mode", type=T_MODE, default="bridge", help="private|vepa|bridge|passthru|source"
    )
    p.add_argument("--mac", type=T_MAC_CHOICE, help="an address, 'random' or 'stable' (udev's)")
    p.add_argument("--mtu", type=T_MTU)
    p.add_argument("--flags", type=T_MFLAGS, default="none", help="nopromisc,nodst")
    p.add_argument("--bcqueuelen", type=T_U32)
    p.add_argument("--txqueuelen", type=T_U32)
    p.add_argument("--group", type=T_U32)
    p.add_argument("--netns", dest="to_netns", type=T_NS, help="create it in this namespace")
    p.add_argument("--up", action="store_true", help="bring it up")
    p.add_argument("--count", type=T_COUNT, help="create NAME0..NAME<N-1> in bulk (pipelined)")

    p = sub(lcmd, "del", cmd_link_del, "delete links (several in one kernel batch)")
    p.add_argument("names", nargs="+", type=T_LINK, metavar="NAME")
    p.add_argument("--missing-ok", action="store_true", help="no error for missing links")

    p = sub(lcmd, "list", cmd_link_list, "list links")
    p.add_argument("--kind", help="e.g. macvlan, macvtap, veth")
    p.add_argument("--parent", type=T_LINK, help="only the children of this link")

    p = sub(lcmd, "show", cmd_link_show, "show one link with its addresses")
    p.add_argument("name", type=T_LINK, metavar="NAME")

    p = sub(lcmd, "set", cmd_link_set, "change a link")
    p.add_argument("link", type=T_LINK, metavar="NAME")
    updown = p.add_mutually_exclusive_group()
    updown.add_argument("--up", dest="up", action="store_const", const=True)
    updown.add_argument("--down", dest="up", action="store_const", const=False)
    p.add_argument("--mtu", type=T_MTU)
    p.add_argument("--mac", type=T_MAC_CHOICE, help="an address, 'random' or 'stable'")
    p.add_argument("--name", type=T_IFNAME, help="rename it")
    p.add_argument("--netns", dest="to_netns", type=T_NS, help="move it into this namespace")
    p.add_argument("--mode", type=T_MODE)
    p.add_argument("--flags", type=T_MFLAGS)
    p.add_argument("--group", type=T_U32)
    p.add_argument("--txqueuelen", type=T_U32)

    # netns
    netns = objects.add_parser("netns", help="named network namespaces", parents=[common])
    ncmd = netns.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub(ncmd, "add", cmd_netns_add, "create named namespaces")
    p.add_argument("names", nargs="+", type=T_NS, metavar="NAME")
    p = sub(ncmd, "del", cmd_netns_del, "delete named namespaces (and their links)")
    p.add_argument("names", nargs="+", type=T_NS, metavar="NAME")
    p.add_argument("--missing-ok", action="store_true")
    sub(ncmd, "list", cmd_netns_list, "list named namespaces")

    # mac
    mac = objects.add_parser("mac", help="MAC addresses (no root needed)", parents=[common])
    mcmd = mac.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub(mcmd, "parse", cmd_mac_parse, "explain addresses: formats, bits, SLAP, EUI-64")
    p.add_argument("macs", nargs="+", metavar="MAC")
    p = sub(mcmd, "random", cmd_mac_random, "random unicast locally administered addresses")
    p.add_argument("--quadrant", type=T_QUADRANT, default="aai", help="aai|eli|sai|any")
    p.add_argument("--cid", help="the company ID for --quadrant eli")
    p.add_argument("--oui", help="an OUI prefix instead (e.g. 52:54:00)")
    p.add_argument("-n", "--count", type=T_COUNT, default=1, help="how many (all distinct)")
    p.add_argument("--seed", type=int, help="reproducible output")
    p = sub(mcmd, "stable", cmd_mac_stable, "udev's persistent address for interface names")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--key", help="a machine ID instead of /etc/machine-id")
    p = sub(mcmd, "convert", cmd_mac_convert, "rewrite addresses in another format")
    p.add_argument("macs", nargs="+", type=T_MAC, metavar="MAC")
    p.add_argument(
        "--format", "-f", required=True, type=T_FORMAT, help="colon|hyphen|cisco|bare|pgsql|bsd"
    )

    # network
    network = objects.add_parser(
        "network", help="macvlan networks (Docker-style)", parents=[common]
    )
    wcmd = network.add_subparsers(dest="command", metavar="COMMAND", required=True)
    store = _Parser(add_help=False)
    store.add_argument("--store", help="the state file (default: the library's)")

    def wsub(name: str, fn: Callable[[argparse.Namespace, Output], int], help_: str) -> Any:
        p: argparse.ArgumentParser = wcmd.add_parser(
            name, help=help_, description=help_, parents=[common, store]
        )
        p.set_defaults(func=fn, parser=p)
        return p

    p = wsub("create", cmd_network_create, "create a network on a parent link (in -n NS)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--parent", required=True, type=T_IFNAME, help="a link, or BASE.ID for a VLAN")
    p.add_argument("--subnet", required=True, type=T_SUBNET)
    p.add_argument("--gateway", type=T_IP)
    p.add_argument("--mode", type=T_MODE, default="bridge")
    p.add_argument("--ip-range", type=T_SUBNET)
    p.add_argument("--aux", action="append", type=T_AUX, default=[], metavar="NAME=IP")
    p.add_argument("--mtu", type=T_MTU)
    p.add_argument("--internal", action="store_true", help="no default routes for endpoints")
    wsub("list", cmd_network_list, "list networks")
    p = wsub("endpoints", cmd_network_endpoints, "list a network's endpoints (shim first)")
    p.add_argument("name", metavar="NAME")
    p = wsub("attach", cmd_network_attach, "give a namespace an interface on the network")
    p.add_argument("name", metavar="NAME")
    p.add_argument("target", type=T_NS, metavar="NETNS")
    p.add_argument("--ifname", type=T_IFNAME, default="eth0")
    p.add_argument("--ip", type=T_IP_PREFIX, help="ask for this address (else allocated)")
    p.add_argument("--mac", type=T_MAC)
    p = wsub("detach", cmd_network_detach, "remove a namespace's interface from the network")
    p.add_argument("name", metavar="NAME")
    p.add_argument("target", type=T_NS, metavar="NETNS")
    p.add_argument("--ifname", type=T_IFNAME, default="eth0")
    p = wsub("rm", cmd_network_rm, "remove networks")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--force", action="store_true", help="detach their endpoints first")
    p = wsub("shim", cmd_network_shim, "let the host reach the network's endpoints")
    p.add_argument("name", metavar="NAME")
    p.add_argument("ip", type=T_IP_PREFIX, metavar="IP", nargs="?", help="(default: allocated)")
    p.add_argument("--ifname", type=T_IFNAME)

    # ping
    p = sub(objects, "ping", cmd_ping, "ICMP echo from here (or from -n NS)")
    p.add_argument("host", type=T_IP, metavar="HOST")
    p.add_argument("-c", "--count", type=T_COUNT, default=3)
    p.add_argument("-W", "--timeout", type=T_SECONDS, default=1.0)
    p.add_argument("-i", "--interval", type=T_SECONDS, default=0.2)
    p.add_argument("-I", "--interface", type=T_IFNAME)

    # demo
    p = sub(objects, "demo", cmd_demo, "build a sandbox LAN, ping across it, remove it")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--keep", action="store_true", help="leave it standing for a look around")
    mode.add_argument(
        "--cleanup",
        nargs="?",
        const="",
        metavar="DEMO",
        help="remove demos left by --keep (or only DEMO, e.g. mvdemo-1234-abcdef)",
    )
    return parser


# -- main ------------------------------------------------------------------------------------
def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except UsageError as exc:
        _usage_error(exc, exc.parser or parser)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    debug = bool(args.debug)
    out = Output(bool(args.json))
    import signal
    import threading

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        status: int = args.func(args, out)
        return status
    except UsageError as exc:
        _usage_error(exc, exc.parser or args.parser)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_SIGINT
    except Terminated:
        if debug:
            raise
        print(f"{PROG}: terminated", file=sys.stderr)
        return EXIT_SIGTERM
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_FAILED
    except (ValueError, TypeError) as exc:  # bad input found late: still nothing was done
        if debug:
            raise
        _usage_error(UsageError(_describe(exc)), args.parser)
        return EXIT_USAGE
    except Exception as exc:  # Failed, OSError (kernel), LookupError, RuntimeError, ...
        if debug:
            raise
        print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _usage_error(exc: UsageError, parser: argparse.ArgumentParser) -> None:
    sys.stderr.write(parser.format_usage())
    print(f"{parser.prog}: error: {exc}", file=sys.stderr)


def _silence_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the exit flush does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)
