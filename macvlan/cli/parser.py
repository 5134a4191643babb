"""The argparse grammar: ``macvlan [--json] [--debug] [-n NS] OBJECT COMMAND ...``.

Each command's function comes from the module named for its object; building the
parser imports nothing but those (light) modules."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from macvlan.cli.argtypes import (
    T_AUX,
    T_COUNT,
    T_FORMAT,
    T_IFNAME,
    T_IP,
    T_IP_PREFIX,
    T_LINK,
    T_MAC,
    T_MAC_CHOICE,
    T_MFLAGS,
    T_MODE,
    T_MTU,
    T_NS,
    T_QUADRANT,
    T_SECONDS,
    T_SUBNET,
    T_SYSCTL,
    T_U32,
)
from macvlan.cli.cni import cmd_cni_install
from macvlan.cli.demo import cmd_demo
from macvlan.cli.link import cmd_link_add, cmd_link_del, cmd_link_list, cmd_link_set, cmd_link_show
from macvlan.cli.mac import cmd_mac_convert, cmd_mac_parse, cmd_mac_random, cmd_mac_stable
from macvlan.cli.netns import cmd_netns_add, cmd_netns_del, cmd_netns_list
from macvlan.cli.network import (
    cmd_network_attach,
    cmd_network_create,
    cmd_network_detach,
    cmd_network_endpoints,
    cmd_network_keep,
    cmd_network_list,
    cmd_network_rm,
    cmd_network_shim,
)
from macvlan.cli.output import PROG, Output
from macvlan.cli.ping import cmd_ping
from macvlan.cli.routing import add_commands as add_routing_commands
from macvlan.cli.routing import add_link_options, cmd_link_stats
from macvlan.errors import UsageError

Command = Callable[[argparse.Namespace, Output], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self)


def _common() -> _Parser:
    """Options accepted after any command too (their defaults come from the top)."""
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    return common


class _Version(argparse.Action):
    """``--version``: ``macvlan X.Y.Z (netlink backend: cffi)``; for the pure-Python
    backend also why (the codec is only loaded when asked, not to build the parser)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        from macvlan import __version__
        from macvlan._netlink import _backend

        why = f"; slower: {_backend.why}" if _backend.name != "cffi" else ""
        print(f"{PROG} {__version__} (netlink backend: {_backend.name}{why})")
        parser.exit()


def _sysctl_option(p: argparse.ArgumentParser, help_: str) -> None:
    """``--sysctl KEY=VALUE``, repeatable (a network's defaults, an attach's own)."""
    p.add_argument(
        "--sysctl", action="append", type=T_SYSCTL, default=[], metavar="KEY=VALUE", help=help_
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser for the whole ``macvlan`` command line."""
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
    parser.add_argument("-V", "--version", action=_Version, nargs=0, help="print the version")
    objects = parser.add_subparsers(dest="object", metavar="OBJECT", required=True)

    def sub(
        group: Any, name: str, fn: Command, help_: str, *more: argparse.ArgumentParser
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(
            name, help=help_, description=help_, parents=[common, *more]
        )
        p.set_defaults(func=fn, parser=p)
        return p

    # link
    link = objects.add_parser("link", help="macvlan/macvtap links", parents=[common])
    lcmd = link.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = link_add = sub(lcmd, "add", cmd_link_add, "create a macvlan (or macvtap) link")
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
    p.add_argument("--mac", type=T_MAC, help="only the links with this MAC address")
    p.add_argument("--parent", type=T_LINK, help="only the children of this link")

    p = sub(lcmd, "show", cmd_link_show, "show one link with its addresses")
    p.add_argument("name", type=T_LINK, metavar="NAME")

    p = link_set = sub(lcmd, "set", cmd_link_set, "change a link")
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
    link_stats = sub(lcmd, "stats", cmd_link_stats, "a link's counters (ip -s link)")
    add_link_options(link_add, link_set, link_stats)

    # route, rule, neigh
    add_routing_commands(objects, sub, common)

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

    def wsub(name: str, fn: Command, help_: str) -> argparse.ArgumentParser:
        return sub(wcmd, name, fn, help_, store)

    p = wsub("create", cmd_network_create, "create a network on a parent link (in -n NS)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--parent", required=True, type=T_IFNAME, help="a link, or BASE.ID for a VLAN")
    p.add_argument("--subnet", type=T_SUBNET, help="(needed unless --ipam dhcp)")
    p.add_argument("--gateway", type=T_IP)
    p.add_argument("--mode", type=T_MODE, default="bridge")
    p.add_argument("--ip-range", type=T_SUBNET)
    p.add_argument("--aux", action="append", type=T_AUX, default=[], metavar="NAME=IP")
    p.add_argument("--mtu", type=T_MTU)
    p.add_argument("--internal", action="store_true", help="no default routes for endpoints")
    p.add_argument(
        "--ipam",
        choices=["default", "dhcp"],
        default="default",
        help="dhcp: endpoints lease IPv4 from the LAN's DHCP server",
    )
    p.add_argument("--ipv6", choices=["ra"], help="ra: endpoints take IPv6 from router adverts")
    p.add_argument("--slaac", choices=["eui64", "stable-privacy"], default="eui64")
    _sysctl_option(p, "per-endpoint default, e.g. net.ipv6.conf.IFNAME.accept_ra=0")
    p.add_argument("--dhcp-timeout", type=T_SECONDS, default=10.0)
    p = wsub("keep", cmd_network_keep, "keep the network's DHCP leases alive until stopped")
    p.add_argument("name", metavar="NAME")
    wsub("list", cmd_network_list, "list networks")
    p = wsub("endpoints", cmd_network_endpoints, "list a network's endpoints (shim first)")
    p.add_argument("name", metavar="NAME")
    p = wsub("attach", cmd_network_attach, "give a namespace an interface on the network")
    p.add_argument("name", metavar="NAME")
    p.add_argument("target", type=T_NS, metavar="NETNS")
    p.add_argument("--ifname", type=T_IFNAME, default="eth0")
    p.add_argument("--ip", type=T_IP_PREFIX, help="ask for this address (else allocated)")
    p.add_argument("--mac", type=T_MAC)
    p.add_argument("--client-id", help="DHCP client id: hex pairs (01:02:..) or text")
    p.add_argument("--hostname", help="DHCP host name option")
    _sysctl_option(p, "e.g. net.ipv4.conf.IFNAME.arp_ignore=1 (repeatable)")
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

    # cni
    cni = objects.add_parser("cni", help="the CNI plugin", parents=[common])
    ccmd = cni.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub(
        ccmd, "install", cmd_cni_install, "install the plugin (with a fast launcher) for runtimes"
    )
    p.add_argument("directory", nargs="?", default="/opt/cni/bin", help="the CNI binary directory")
    p.add_argument(
        "--name", default="macvlan", help="the plugin's file name: the type configs name"
    )
    p.add_argument("--python", help="the interpreter to run it (default: this one)")

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
