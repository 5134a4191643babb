"""Every rtnetlink request the library sends, built from plain arguments (sans-IO).

This is the one place where ``RTM_*`` requests are laid out.  Each builder takes
plain values -- ints, ``str`` names, addresses as packed ``bytes`` with their family
and prefix length, MACs as 6 ``bytes`` -- and returns a
:class:`~macvlan._netlink.message.Message` ready for
:meth:`~macvlan._netlink.socket.NetlinkSocket.request` (or ``dump`` for the
``dump_*`` ones); the socket adds the sequence number, ``NLM_F_REQUEST`` and
``NLM_F_ACK``/``NLM_F_DUMP``.

The builders lay out; they do not judge.  Checking arguments (names, ranges,
families that agree) is the job of the typed layers that call them:
:mod:`macvlan.link`, :mod:`macvlan.address`, :mod:`macvlan.route` and the
operations for the library, :mod:`macvlan.cni` for the plugin.

The module imports only the codec's light parts (no ``enum``, ``ipaddress``,
``dataclasses`` or ``typing``), so the CNI plugin, a process per container, can use
it.  Enum-valued attributes are written in wire form.

========================  ======================================================
links                     :func:`get_link`, :func:`dump_links`, :func:`new_macvlan`,
                          :func:`new_veth`, :func:`new_vlan`, :func:`with_parent`,
                          :func:`set_link`, :func:`del_link`, :func:`del_group`,
                          :func:`macvlan_data`, :func:`source_macs`
addresses                 :func:`new_address`, :func:`del_address`,
                          :func:`dump_addresses`
routes                    :func:`route`, :func:`dump_routes`
neighbours                :func:`new_neighbour`, :func:`del_neighbour`,
                          :func:`dump_neighbours`
rules                     :func:`rule`, :func:`dump_rules`
link properties           :func:`link_props` (alternative names)
========================  ======================================================

>>> from macvlan._netlink import requests
>>> message = requests.new_address(7, 2, 24, bytes([10, 0, 0, 2]), broadcast=bytes([10, 0, 0, 255]))
>>> message.type, message.body.index, message.body.prefixlen
(20, 7, 24)
"""

from __future__ import annotations

import struct

from macvlan._names import is_short_name
from macvlan._netlink import fra, ifa, ifla, nda, rta
from macvlan._netlink.message import Message
from macvlan._netlink.numbers import (
    IFF_UP,
    NLM_F_APPEND,
    NLM_F_CREATE,
    NLM_F_ECHO,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    RTEXT_FILTER_SKIP_STATS,
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_DELNEIGH,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETNEIGH,
    RTM_GETROUTE,
    RTM_GETRULE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWLINKPROP,
    RTM_NEWNEIGH,
)
from macvlan._netlink.structs import FibRuleHdr, IfAddrMsg, IfInfoMsg, NdMsg, RtMsg
from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from macvlan._netlink.attr import Attr, AttrSpec, RawAttr

    AnyAttr = Attr[Any] | RawAttr

__all__ = [
    "del_address",
    "del_group",
    "del_link",
    "del_neighbour",
    "dump_addresses",
    "dump_links",
    "dump_neighbours",
    "dump_routes",
    "dump_rules",
    "get_link",
    "link_props",
    "linkinfo",
    "macvlan_data",
    "new_address",
    "new_macvlan",
    "new_neighbour",
    "new_veth",
    "new_vlan",
    "route",
    "rule",
    "set_link",
    "source_macs",
    "with_parent",
]

CREATE_EXCL = NLM_F_CREATE | NLM_F_EXCL
#: ``IFLA_MACVLAN_MACADDR_MODE`` values (``enum macvlan_macaddr_mode``)
MACADDR_ADD, MACADDR_DEL, MACADDR_FLUSH, MACADDR_SET = 0, 1, 2, 3

_U16 = struct.Struct("=H")
_U32 = struct.Struct("=I")
_SKIP_STATS = ifla.EXT_MASK(RTEXT_FILTER_SKIP_STATS)
_LINK = ifla.LINK  # (a spec: with_parent compares Attr specs by identity)
# the ifinfomsg of a creation, as it is brought up or not (immutable values)
_PLAIN_BODY, _UP_BODY = IfInfoMsg(), IfInfoMsg(flags=IFF_UP, change=IFF_UP)
_PLAIN_LINKINFO: dict[tuple[str, int | None, int], Attr[Any]] = {}


# -- links -------------------------------------------------------------------------------
def get_link(ref: int | str, *, netnsid: int | None = None, stats: bool = False) -> Message:
    """``RTM_GETLINK`` for one link by index or name (statistics only if ``stats``)."""
    attrs: list[AnyAttr] = [] if stats else [_SKIP_STATS]
    index = 0
    if isinstance(ref, int):
        index = ref
    else:
        attrs.append(_name_attr(ref))
    if netnsid is not None:
        attrs.append(ifla.TARGET_NETNSID(netnsid))
    return Message(RTM_GETLINK, 0, body=IfInfoMsg(index=index), attrs=attrs)


def dump_links(kind: str | None = None, master: int | None = None) -> Message:
    """``RTM_GETLINK`` dump; the kernel filters by kind and master (strict mode)."""
    attrs: list[AnyAttr] = [_SKIP_STATS]
    if kind is not None:
        attrs.append(ifla.LINKINFO([ifla.INFO_KIND(kind)]))
    if master is not None:
        attrs.append(ifla.MASTER(master))
    return Message(RTM_GETLINK, 0, body=IfInfoMsg(), attrs=attrs)


def _common(
    name: str | None,
    mac: bytes | None,
    mtu: int | None,
    txqueuelen: int | None,
    group: int | None,
    netns_fd: int | None,
) -> list[AnyAttr]:
    """The attributes every link request may carry, in iproute2's order."""
    return _given(
        (ifla.IFNAME, name),
        (ifla.ADDRESS, mac),
        (ifla.MTU, mtu),
        (ifla.TXQLEN, txqueuelen),
        (ifla.GROUP, group),
        (ifla.NET_NS_FD, netns_fd),
    )


def _given(*pairs: tuple[Callable[[Any], AnyAttr], Any]) -> list[AnyAttr]:
    """The attributes ``make(value)`` of the ``(make, value)`` pairs whose value is
    given (not None), in order."""
    return [make(value) for make, value in pairs if value is not None]


def _enum_valued(spec: AttrSpec[Any], value: int, layout: struct.Struct) -> AnyAttr:
    """An enum-valued attribute: typed when given the enum member (the typed layers
    have loaded the enums), in wire form when given a plain int (no ``enum`` import)."""
    if type(value) is int:
        return spec.raw(layout.pack(value))
    return spec(value)


def source_macs(op: int, macs: Sequence[bytes]) -> list[AnyAttr]:
    """The ``IFLA_MACVLAN_MACADDR*`` attributes applying ``op`` (``MACADDR_*``) to ``macs``.

    The kernel reads one ``MACADDR`` per message for ADD and DEL, flushes and adds
    ``MACADDR_DATA`` for SET, and takes no address for FLUSH.
    """
    attrs: list[AnyAttr] = [_enum_valued(ifla.MACVLAN_MACADDR_MODE, op, _U32)]
    if op in (MACADDR_ADD, MACADDR_DEL):
        attrs.extend(ifla.MACVLAN_MACADDR(mac) for mac in macs)
    elif op == MACADDR_SET:
        attrs.append(ifla.MACVLAN_MACADDR_DATA([ifla.MACADDRS_MACADDR(mac) for mac in macs]))
    return attrs


def macvlan_data(
    mode: int | None = None,
    flags: int | None = None,
    bcqueuelen: int | None = None,
    bc_cutoff: int | None = None,
    source_op: int | None = None,
    macs: Sequence[bytes] = (),
) -> list[AnyAttr]:
    """A macvlan's (or macvtap's) ``IFLA_INFO_DATA`` content; None leaves a field out."""
    data = _given(
        (lambda m: _enum_valued(ifla.MACVLAN_MODE, m, _U32), mode),
        (lambda f: _enum_valued(ifla.MACVLAN_FLAGS, f, _U16), flags),
        (ifla.MACVLAN_BC_QUEUE_LEN, bcqueuelen),
        (ifla.MACVLAN_BC_CUTOFF, bc_cutoff),
    )
    if source_op is not None:
        data.extend(source_macs(source_op, macs))
    return data


def linkinfo(kind: str, data: Sequence[AnyAttr] = ()) -> Attr[Any]:
    """``IFLA_LINKINFO`` with the kind and, if any, its ``IFLA_INFO_DATA``."""
    info: list[AnyAttr] = [ifla.INFO_KIND(kind)]
    if data:
        info.append(ifla.INFO_DATA(list(data)))
    return ifla.LINKINFO(info)


def new_macvlan(
    name: str,
    parent_index: int,
    *,
    kind: str = "macvlan",
    mode: int | None = None,
    flags: int = 0,
    mac: bytes | None = None,
    mtu: int | None = None,
    up: bool = False,
    bcqueuelen: int | None = None,
    bc_cutoff: int | None = None,
    macs: Sequence[bytes] = (),
    txqueuelen: int | None = None,
    group: int | None = None,
    netns_fd: int | None = None,
    echo: bool = False,
) -> Message:
    """``RTM_NEWLINK`` (create, exclusive) of a macvlan or macvtap on ``parent_index``.

    ``mode`` and ``flags`` are the kernel's ``MACVLAN_MODE_*`` and ``MACVLAN_FLAG_*``
    numbers; ``macs`` is the source list of a source-mode link.  ``echo`` sets
    ``NLM_F_ECHO``: the kernel then answers with the new link itself (Linux 6.3+;
    older kernels answer with a bare ACK and the caller reads the link back).
    """
    attrs = _common(name, mac, mtu, txqueuelen, group, netns_fd)
    attrs.append(ifla.LINK(parent_index))
    plain = bcqueuelen is None and bc_cutoff is None and not macs
    key = (kind, mode, flags)
    info = _PLAIN_LINKINFO.get(key) if plain else None
    if info is None:
        data = macvlan_data(
            mode, flags or None, bcqueuelen, bc_cutoff, MACADDR_SET if macs else None, macs
        )
        info = linkinfo(kind, data)
        if plain:  # an immutable value: built once per kind, mode and flags
            _PLAIN_LINKINFO[key] = info
    attrs.append(info)
    return Message(
        RTM_NEWLINK,
        CREATE_EXCL | NLM_F_ECHO if echo else CREATE_EXCL,
        0,
        0,
        _UP_BODY if up else _PLAIN_BODY,
        attrs,
    )


def with_parent(message: Message, parent_index: int) -> Message:
    """A link-creating ``message`` (as the builders here make it) with ``parent_index``
    in its ``IFLA_LINK`` (that attribute made anew, the others kept as they are)."""
    mtype, flags, seq, pid, body, attrs = message
    link = ifla.LINK(parent_index)
    return Message(mtype, flags, seq, pid, body, [link if a[0] is _LINK else a for a in attrs])


def new_veth(
    name: str,
    peer: str,
    *,
    mtu: int | None = None,
    mac: bytes | None = None,
    peer_mac: bytes | None = None,
    peer_netns_fd: int | None = None,
    up: bool = False,
) -> Message:
    """``RTM_NEWLINK`` (create, exclusive) of a veth pair ``name``/``peer``."""
    peer_attrs = _common(peer, peer_mac, mtu, None, None, peer_netns_fd)
    attrs = _common(name, mac, mtu, None, None, None)
    peer_info = ifla.PeerInfo(IfInfoMsg(), tuple(peer_attrs))
    attrs.append(linkinfo("veth", [ifla.VETH_PEER(peer_info)]))
    up_flag = IFF_UP if up else 0
    return Message(
        RTM_NEWLINK, CREATE_EXCL, body=IfInfoMsg(flags=up_flag, change=up_flag), attrs=attrs
    )


def new_vlan(name: str, parent_index: int, vlan_id: int, protocol: int | None = None) -> Message:
    """``RTM_NEWLINK`` (create, exclusive) of 802.1Q VLAN ``vlan_id`` on ``parent_index``.

    The attributes come in the order iproute2 sends them (``IFLA_LINK``,
    ``IFLA_IFNAME``, ``IFLA_LINKINFO``), and the kind without its NUL, so the bytes
    equal those of ``ip link add link P name N type vlan id I``.  ``protocol`` is
    the EtherType (0x8100 or 0x88a8), host order.
    """
    data: list[AnyAttr] = [ifla.VLAN_ID(vlan_id)]
    if protocol is not None:
        data.append(ifla.VLAN_PROTOCOL(protocol))
    info: list[AnyAttr] = [ifla.INFO_KIND.raw(b"vlan"), ifla.INFO_DATA(data)]
    attrs: list[AnyAttr] = [ifla.LINK(parent_index), ifla.IFNAME(name), ifla.LINKINFO(info)]
    return Message(RTM_NEWLINK, CREATE_EXCL, body=IfInfoMsg(), attrs=attrs)


def set_link(
    index: int,
    *,
    up: bool | None = None,
    name: str | None = None,
    mac: bytes | None = None,
    mtu: int | None = None,
    txqueuelen: int | None = None,
    group: int | None = None,
    netns_fd: int | None = None,
    alias: str | None = None,
    flags: int = 0,
    change: int = 0,
    attrs: Sequence[AnyAttr] = (),
) -> Message:
    """``RTM_NEWLINK`` without ``NLM_F_CREATE``: change link ``index``.

    ``up`` sets or clears ``IFF_UP``; ``flags``/``change`` set other ``IFF_*`` bits
    (``change`` says which); ``alias`` goes without a NUL, as ``ip`` sends it (``""``
    then removes it); ``attrs`` are appended as given (an ``IFLA_LINKINFO`` from
    :func:`linkinfo`, ...).
    """
    if up is not None:
        change |= IFF_UP
        flags = flags | IFF_UP if up else flags & ~IFF_UP
    out = _common(name, mac, mtu, txqueuelen, group, netns_fd)
    if alias is not None:
        out.append(ifla.IFALIAS.raw(alias.encode("utf-8", "surrogateescape")))
    out.extend(attrs)
    return Message(
        RTM_NEWLINK, 0, body=IfInfoMsg(index=index, flags=flags, change=change), attrs=out
    )


def link_props(message_type: int, index: int, altnames: Sequence[str]) -> Message:
    """``RTM_NEWLINKPROP`` / ``RTM_DELLINKPROP`` adding or removing alternative names."""
    props: list[AnyAttr] = [ifla.PROP_ALT_IFNAME(name) for name in altnames]
    flags = CREATE_EXCL | NLM_F_APPEND if message_type == RTM_NEWLINKPROP else 0
    return Message(message_type, flags, body=IfInfoMsg(index=index), attrs=[ifla.PROP_LIST_(props)])


def del_link(ref: int | str) -> Message:
    """``RTM_DELLINK`` by index or name."""
    if isinstance(ref, int):
        return Message(RTM_DELLINK, 0, body=IfInfoMsg(index=ref))
    return Message(RTM_DELLINK, 0, body=IfInfoMsg(), attrs=[_name_attr(ref)])


def _name_attr(name: str) -> AnyAttr:
    """The attribute naming a link to look up: ``IFLA_IFNAME``, or for a name too
    long for one, ``IFLA_ALT_IFNAME`` (the kernel looks both up among names and
    alternative names alike)."""
    return ifla.IFNAME(name) if is_short_name(name) else ifla.ALT_IFNAME(name)


def del_group(group: int) -> Message:
    """``RTM_DELLINK`` with ifindex 0 and ``IFLA_GROUP``: delete a whole group at once."""
    return Message(RTM_DELLINK, 0, body=IfInfoMsg(), attrs=[ifla.GROUP(group)])


# -- addresses ---------------------------------------------------------------------------
def new_address(
    index: int,
    family: int,
    prefixlen: int,
    local: bytes,
    *,
    broadcast: bytes | None = None,
    flags: int = 0,
    exclusive: bool = True,
) -> Message:
    """``RTM_NEWADDR``: ``local`` (packed, of ``family``) with its prefix on link ``index``.

    ``broadcast`` is the IPv4 broadcast address to set; ``flags`` the ``IFA_F_*``
    bits (the low 8 go in the header, all in ``IFA_FLAGS``).
    """
    attrs: list[AnyAttr] = [ifa.LOCAL.raw(local), ifa.ADDRESS.raw(local)]
    if broadcast is not None:
        attrs.append(ifa.BROADCAST.raw(broadcast))
    if flags:
        attrs.append(ifa.FLAGS.raw(_U32.pack(flags)))
    body = IfAddrMsg(family, prefixlen, flags & 0xFF, 0, index)
    return Message(RTM_NEWADDR, CREATE_EXCL if exclusive else NLM_F_CREATE, body=body, attrs=attrs)


def del_address(index: int, family: int, prefixlen: int, local: bytes) -> Message:
    """``RTM_DELADDR`` of ``local`` (packed) with its prefix from link ``index``."""
    body = IfAddrMsg(family, prefixlen, 0, 0, index)
    return Message(RTM_DELADDR, 0, body=body, attrs=[ifa.LOCAL.raw(local), ifa.ADDRESS.raw(local)])


def dump_addresses(index: int = 0, family: int = 0) -> Message:
    """``RTM_GETADDR`` dump; with strict checking the kernel filters by link and family."""
    return Message(RTM_GETADDR, 0, body=IfAddrMsg(family, 0, 0, 0, index))


# -- routes ------------------------------------------------------------------------------
def route(
    message_type: int,
    family: int,
    dst_len: int,
    *,
    dst: bytes | None = None,
    gateway: bytes | None = None,
    oif: int | None = None,
    metric: int | None = None,
    prefsrc: bytes | None = None,
    table: int = 254,
    protocol: int = 0,
    scope: int = 0,
    type: int = 0,
    rtm_flags: int = 0,
    flags: int = 0,
    attrs: Sequence[AnyAttr] = (),
) -> Message:
    """``RTM_NEWROUTE``/``RTM_DELROUTE`` laid out as iproute2 lays them out.

    Addresses are packed ``bytes`` of ``family``; a table above 255 goes in
    ``RTA_TABLE`` (the header says ``RT_TABLE_UNSPEC``); ``flags`` are the netlink
    flags (``NLM_F_CREATE | NLM_F_EXCL`` to add), ``rtm_flags`` the header's
    (``RTNH_F_ONLINK``); ``attrs`` (``RTA_METRICS``, ``RTA_MULTIPATH``) come last.
    """
    out = _given(
        (rta.DST.raw, dst if dst_len else None),
        (rta.GATEWAY.raw, gateway),
        (rta.OIF, oif),
        (rta.PRIORITY, metric),
        (rta.PREFSRC.raw, prefsrc),
        (rta.TABLE, _big_table(table)),
    )
    out.extend(attrs)
    header = table if table <= 255 else 0
    body = RtMsg(family, dst_len, 0, 0, header, protocol, scope, type, rtm_flags)
    return Message(message_type, flags, body=body, attrs=out)


def _big_table(table: int) -> int | None:
    """A table number that needs its attribute (above 255: not in the header's u8)."""
    return table if table > 255 else None


def dump_routes(family: int = 0, table: int = 254) -> Message:
    """``RTM_GETROUTE`` dump asking for one table (0: all) and family (0: both)."""
    attrs = [rta.TABLE(table)] if table else []
    return Message(RTM_GETROUTE, 0, body=RtMsg(family=family, table=min(table, 255)), attrs=attrs)


# -- neighbours --------------------------------------------------------------------------
NUD_PERMANENT = 0x80


def new_neighbour(
    index: int, family: int, dst: bytes, lladdr: bytes, *, replace: bool = False
) -> Message:
    """``RTM_NEWNEIGH`` for a permanent entry (``ip neigh add|replace ... nud permanent``)."""
    flags = NLM_F_CREATE | (NLM_F_REPLACE if replace else NLM_F_EXCL)
    body = NdMsg(family=family, index=index, state=NUD_PERMANENT)
    return Message(RTM_NEWNEIGH, flags, body=body, attrs=[nda.DST.raw(dst), nda.LLADDR(lladdr)])


def del_neighbour(index: int, family: int, dst: bytes) -> Message:
    """``RTM_DELNEIGH`` for the entry of ``dst`` on link ``index``."""
    # ip sends NUD_PERMANENT here too; the kernel does not look at the state
    body = NdMsg(family=family, index=index, state=NUD_PERMANENT)
    return Message(RTM_DELNEIGH, 0, body=body, attrs=[nda.DST.raw(dst)])


def dump_neighbours(index: int = 0, family: int = 0) -> Message:
    """``RTM_GETNEIGH`` dump; the kernel filters by link (``NDA_IFINDEX``)."""
    attrs = [nda.IFINDEX(index)] if index else []
    return Message(RTM_GETNEIGH, 0, body=NdMsg(family=family), attrs=attrs)


# -- policy rules ------------------------------------------------------------------------
def rule(
    message_type: int,
    family: int,
    *,
    action: int,
    priority: int | None = None,
    src: bytes | None = None,
    src_len: int = 0,
    dst: bytes | None = None,
    dst_len: int = 0,
    fwmark: int | None = None,
    fwmask: int | None = None,
    iifname: str | None = None,
    oifname: str | None = None,
    table: int = 0,
    rule_flags: int = 0,
    flags: int = 0,
) -> Message:
    """``RTM_NEWRULE`` / ``RTM_DELRULE`` laid out as iproute2 lays them out.

    ``action`` is the ``FR_ACT_*`` number, ``rule_flags`` the header's
    (``FIB_RULE_INVERT``); a table above 255 goes in ``FRA_TABLE``.
    """
    attrs = _given(
        (fra.PRIORITY, priority),
        (fra.SRC.raw, src),
        (fra.DST.raw, dst),
        (fra.FWMARK, fwmark),
        (fra.FWMASK, fwmask),
        (fra.IIFNAME, iifname),
        (fra.OIFNAME, oifname),
        (fra.TABLE, _big_table(table)),
    )
    header = table if table <= 255 else 0
    body = FibRuleHdr(family, dst_len, src_len, 0, header, 0, 0, action, rule_flags)
    return Message(message_type, flags, body=body, attrs=attrs)


def dump_rules(family: int = 0) -> Message:
    """``RTM_GETRULE`` dump (0: IPv4 and IPv6)."""
    return Message(RTM_GETRULE, 0, body=FibRuleHdr(family=family))
