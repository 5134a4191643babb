"""The CNI plugin's rtnetlink: its few requests, built by the library's one request
layer (:mod:`macvlan._netlink.requests`) and sent with
:class:`~macvlan._netlink.socket.NetlinkSocket`, which maps kernel errors to
:mod:`macvlan.errors`.

What this module adds is the plugin's: a description of each request naming the
interfaces (error messages say ``set 'eth0' up``, as the reference's do, never a
bare ifindex), the arguments as the configuration gives them, and the few answers
the plugin reads (:class:`LinkView`, :class:`RouteView`, addresses).

A plugin process lives for one command, so this module keeps to what imports
fast: kernel numbers from :mod:`macvlan._netlink.numbers` rather than the enums,
and addresses and the macvlan mode in wire form rather than :mod:`ipaddress`
objects and enum members (the typed layers :mod:`macvlan.link` and
:mod:`macvlan.address` would add ``dataclasses`` and :mod:`macvlan.mac` to every
plugin process).  Both were checked when the configuration and the IPAM result
were parsed.
"""

from __future__ import annotations

import errno
import os

from macvlan._netlink import ifa, ifla, requests, rta
from macvlan._netlink.attr import AttrList
from macvlan._netlink.codecs import u32_of
from macvlan._netlink.message import Message
from macvlan._netlink.numbers import (
    IFA_F_DADFAILED,
    IFA_F_TENTATIVE,
    NLM_F_CREATE,
    RT_TABLE_MAIN,
    RTM_NEWROUTE,
    RTN_UNICAST,
    RTPROT_BOOT,
)
from macvlan._netlink.socket import NetlinkSocket
from macvlan._netlink.structs import IfAddrMsg, IfInfoMsg, RtMsg
from macvlan.cni.errors import INVALID_CONFIG, TRY_AGAIN_LATER, CniConfigError, CniError
from macvlan.cni.ip import AF_INET, AF_INET6, IP, Cidr
from macvlan.errors import LinkExists, LinkNotFound, NetlinkError, ProtocolError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from macvlan._netlink.attr import Attr, RawAttr
    from macvlan.cni.netconf import NetConf
    from macvlan.cni.result import Route

#: A request and what it is (for error messages).
Described = tuple[Message, str]


def _u32(attrs: Sequence[Attr[Any] | RawAttr], number: int) -> int | None:
    """A u32 attribute's value as it came, or None (absent or of another size)."""
    return u32_of(attrs.raw(number) if isinstance(attrs, AttrList) else None)


def _packed(attrs: Sequence[Attr[Any] | RawAttr], number: int, size: int) -> bytes | None:
    """An address attribute's bytes as they came, or None (absent or not ``size`` bytes)."""
    data = attrs.raw(number) if isinstance(attrs, AttrList) else None
    return data if data is not None and len(data) == size else None


def reason(exc: OSError) -> str:
    """Why a request failed: the kernel's words (errno text and extended ack), without
    the request's description that :class:`NetlinkError` puts first."""
    if isinstance(exc, NetlinkError) and exc.errno:
        text = os.strerror(exc.errno)
        return f"{text}: {exc.ext_ack}" if exc.ext_ack else text
    return exc.strerror or str(exc)


# -- what the plugin reads of the kernel's answers ---------------------------------------
class LinkView:
    """What the plugin reads of a link: index, name, MTU, MAC, kind, macvlan mode."""

    __slots__ = ("index", "kind", "mac", "mode", "mtu", "name")

    def __init__(self, message: Message) -> None:
        body = message.body
        if not isinstance(body, IfInfoMsg):
            raise ProtocolError(f"a link message without its ifinfomsg: {message!r}")
        self.index: int = body.index
        self.name: str = message.get(ifla.IFNAME) or ""
        self.mtu: int = message.get(ifla.MTU) or 0
        self.mac: bytes = message.get(ifla.ADDRESS) or b""
        self.kind = ""
        self.mode = 0
        info = message.get(ifla.LINKINFO)
        if info is not None:
            self.kind = info.get(ifla.INFO_KIND) or ""
            data = info.get(ifla.INFO_DATA)
            if data is not None and self.kind in ("macvlan", "macvtap"):
                self.mode = _u32(data, ifla.MACVLAN_MODE.number) or 0


class RouteView:
    """What the plugin reads of a route: destination, gateway, output link, table, type."""

    __slots__ = ("dst", "gw", "oif", "table", "type")

    def __init__(self, message: Message) -> None:
        body = message.body
        if not isinstance(body, RtMsg):
            raise ProtocolError(f"a route message without its rtmsg: {message!r}")
        family = body.family
        size = 4 if family == AF_INET else 16
        dst = _packed(message.attrs, rta.DST.number, size)
        self.dst = Cidr(family, bytes(size) if dst is None else dst, body.dst_len)
        gw = _packed(message.attrs, rta.GATEWAY.number, size)
        self.gw = None if gw is None else IP(family, gw)
        self.oif: int = message.get(rta.OIF) or 0
        table = message.get(rta.TABLE)
        self.table: int = body.table if table is None else table
        self.type: int = body.type


# -- requests: the library's builders (macvlan._netlink.requests), with what they ask --------
def get_link(ref: str | int) -> Described:
    """``RTM_GETLINK`` for one link by name or index (statistics left out)."""
    return requests.get_link(ref), f"look up link {ref!r}"


def new_macvlan(
    name: str, parent: LinkView, conf: NetConf, netns: int | None, up: bool
) -> Described:
    """``RTM_NEWLINK`` creating macvlan ``name`` on ``parent`` as ``conf`` says, in the
    namespace open as ``netns`` (None: where the socket is).

    Its transmit queue length is 0, as the reference plugin's (and Docker's) macvlans
    have: a macvlan has no queue of its own (``noqueue``).
    """
    message = requests.new_macvlan(
        name,
        parent.index,
        mode=conf.mode,
        mac=conf.mac,
        mtu=conf.mtu or None,
        up=up,
        bcqueuelen=conf.bcqueuelen or None,
        txqueuelen=0,
        netns_fd=netns,
    )
    return message, f"create macvlan {name!r} ({conf.mode_name}) on {parent.name!r}"


def rename_link(index: int, old: str, new: str, up: bool) -> Described:
    """``RTM_NEWLINK`` renaming link ``index``, and setting it up if ``up``."""
    return requests.set_link(index, up=True if up else None, name=new), f"rename {old!r} to {new!r}"


def set_up(index: int, name: str) -> Described:
    """``RTM_NEWLINK`` setting link ``index`` (called ``name``) up."""
    return requests.set_link(index, up=True), f"set {name!r} up"


def del_link(name: str) -> Described:
    """``RTM_DELLINK`` by name."""
    return requests.del_link(name), f"delete link {name!r}"


def new_address(index: int, name: str, address: Cidr) -> Described:
    """``RTM_NEWADDR``: the address, its prefix, and the IPv4 broadcast address."""
    broadcast = None
    if address.family == AF_INET and address.prefixlen < 31:
        broadcast = address.broadcast().packed
    message = requests.new_address(
        index, address.family, address.prefixlen, address.packed, broadcast=broadcast
    )
    return message, f"add address {address} to {name!r}"


def new_route(index: int, route: Route, gw: IP | None, ifname: str) -> Described:
    """``RTM_NEWROUTE`` with ``NLM_F_CREATE`` only, as the reference sends it.

    Not ``NLM_F_APPEND``: of two routes to one prefix with one metric (two networks'
    default routes), the kernel then puts the newer first, so a container's egress
    follows the network added last, as with the reference.
    """
    dst = route.dst.network()
    if gw is not None and gw.family != dst.family:
        raise CniConfigError(f"route {route.dst} has gateway {gw} of another family")
    metrics: list[Attr[Any]] = []
    if route.mtu:
        metrics.append(rta.RTAX_MTU(route.mtu))
    if route.advmss:
        metrics.append(rta.RTAX_ADVMSS(route.advmss))
    message = requests.route(
        RTM_NEWROUTE,
        dst.family,
        dst.prefixlen,
        dst=dst.packed,
        gateway=None if gw is None else gw.packed,
        oif=index,
        metric=route.priority or None,
        table=route.table or RT_TABLE_MAIN,
        protocol=RTPROT_BOOT,
        scope=route.scope or 0,
        type=RTN_UNICAST,
        flags=NLM_F_CREATE,
        attrs=[rta.METRICS(metrics)] if metrics else (),
    )
    via = f" via {gw}" if gw is not None else ""
    return message, f"add route '{route.dst}{via} dev {ifname}'"


def dump_addresses(index: int) -> Message:
    """``RTM_GETADDR`` dump (the kernel filters by link in strict mode)."""
    return requests.dump_addresses(index)


def dump_routes(family: int, table: int) -> Message:
    """``RTM_GETROUTE`` dump of one table."""
    return requests.dump_routes(family, table)


# -- the socket --------------------------------------------------------------------------
class Rtnl:
    """A :class:`NetlinkSocket` in the namespace it was opened in, with the requests
    the plugin's commands make."""

    __slots__ = ("_sock",)

    def __init__(self) -> None:
        self._sock = NetlinkSocket()

    @classmethod
    def inside(cls, netns: int) -> Rtnl:
        """A socket opened inside the namespace ``netns`` (this thread returns home)."""
        from macvlan.cni.netns import Inside

        with Inside(netns):
            return cls()

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exchange(self, requests: Sequence[Described]) -> list[list[Message]]:
        """Send the requests together; their answers, or the first error raised once
        every request has been answered."""
        if not requests:
            return []
        results = self._sock.batch([m for m, _ in requests], [w for _, w in requests])
        for _, error in results:
            if error is not None:
                raise error
        return [answers for answers, _ in results]

    # -- links
    def link(self, ref: str | int) -> LinkView | None:
        """The link of that name or index, or None."""
        message, what = get_link(ref)
        try:
            replies = self._sock.request(message, what)
        except LinkNotFound:
            return None
        return LinkView(replies[0]) if replies else None

    def default_route_ifname(self, place: str, code: int = INVALID_CONFIG) -> str:
        """The link of the first default route of the main table (any family)."""
        for route in self.routes(0):
            if route.dst.prefixlen == 0 and route.oif and route.type == RTN_UNICAST:
                link = self.link(route.oif)
                if link is not None:
                    return link.name
        raise CniError(
            f"master is not set and there is no default route interface in {place}", code=code
        )

    def create_macvlan(
        self, name: str, parent: LinkView, conf: NetConf, netns: int | None, up: bool
    ) -> None:
        """Create the macvlan; :class:`LinkExists` if the name is taken, other
        refusals as :class:`~macvlan.CniError`."""
        message, what = new_macvlan(name, parent, conf, netns, up)
        try:
            self._sock.request(message, what)
        except LinkExists:
            raise
        except OSError as exc:
            raise CniError(f"failed to {what}: {reason(exc)}") from None

    def rename_and_up(self, old: str, new: str, up: bool) -> None:
        """Give the link ``old`` its name ``new`` and, if ``up``, bring it up."""
        link = self.link(old)
        if link is None:
            raise CniError(f"the new macvlan {old!r} vanished from the container")
        message, what = rename_link(link.index, old, new, up)
        try:
            self._sock.request(message, what)
        except OSError as exc:
            raise CniError(f"failed to rename macvlan to {new!r}: {reason(exc)}") from None

    def delete_link(self, name: str) -> None:
        """Delete the link ``name``; a missing one is fine."""
        message, what = del_link(name)
        try:
            self._sock.request(message, what)
        except LinkNotFound:
            return

    # -- addresses and routes
    def addresses(self, index: int) -> list[Cidr]:
        """The IPv4 and IPv6 addresses on link ``index``."""
        return [Cidr(f, packed, plen) for f, plen, packed, _ in self._address_dump(index)]

    def _address_dump(self, index: int) -> list[tuple[int, int, bytes, int]]:
        """(family, prefix length, packed address, IFA flags) of the link's addresses."""
        out = []
        for message in self._sock.dump(dump_addresses(index), "list addresses"):
            body = message.body
            if not isinstance(body, IfAddrMsg) or body.index != index:
                continue
            if body.family not in (AF_INET, AF_INET6):
                continue
            size = 4 if body.family == AF_INET else 16
            address = _packed(message.attrs, ifa.LOCAL.number, size) or _packed(
                message.attrs, ifa.ADDRESS.number, size
            )
            extended = _u32(message.attrs, ifa.FLAGS.number)
            flags = body.flags if extended is None else extended
            if address is not None:
                out.append((body.family, body.prefixlen, address, flags))
        return out

    def settle(self, index: int, ifname: str, timeout: float = 10.0) -> None:
        """Wait until no address of the link is tentative (IPv6 DAD), as the reference."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            flags = [f for _, _, _, f in self._address_dump(index)]
            if any(f & IFA_F_DADFAILED for f in flags):
                raise CniError(f"duplicate address detection failed on {ifname!r}")
            if not any(f & IFA_F_TENTATIVE for f in flags):
                return
            if time.monotonic() > deadline:
                raise CniError(f"{ifname!r} still has tentative addresses after {timeout:g} s")
            time.sleep(0.05)

    def routes(self, family: int = 0, table: int = RT_TABLE_MAIN) -> list[RouteView]:
        """The IPv4 and IPv6 routes of ``table``."""
        try:
            replies = self._sock.dump(dump_routes(family, table), "list routes")
        except OSError as exc:  # DumpInterrupted once the socket's retries ran out
            if exc.errno != errno.EINTR:
                raise
            raise CniError("the route dump kept racing changes", code=TRY_AGAIN_LATER) from None
        routes = []
        for message in replies:
            if isinstance(message.body, RtMsg) and message.body.family in (AF_INET, AF_INET6):
                route = RouteView(message)
                if route.table == table:
                    routes.append(route)
        return routes
