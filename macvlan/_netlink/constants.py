"""Numbers from the kernel's netlink and rtnetlink headers, as enums.

The address, route, rule and neighbour enums live in
:mod:`macvlan._netlink.rtconstants` and are built when first named here.

Code that must not import :mod:`enum` uses the plain numbers of
:mod:`macvlan._netlink.numbers`; the ones without an enum are re-exported here.
"""

from __future__ import annotations

import enum

from macvlan._netlink.numbers import (
    ETH_MAX_MTU,
    ETH_MIN_MTU,
    FIB_RULE_HDR_LEN,
    IFADDRMSG_LEN,
    IFINFOMSG_LEN,
    NDMSG_LEN,
    NETLINK_ROUTE,
    NLA_F_NESTED,
    NLA_F_NET_BYTEORDER,
    NLA_TYPE_MASK,
    NLMSGHDR_LEN,
    RTEXT_FILTER_SKIP_STATS,
    RTEXT_FILTER_VF,
    RTGENMSG_LEN,
    RTMSG_LEN,
    SOL_NETLINK,
)

__all__ = [
    "ETH_MAX_MTU",
    "ETH_MIN_MTU",
    "FIB_RULE_HDR_LEN",
    "IFADDRMSG_LEN",
    "IFINFOMSG_LEN",
    "NDMSG_LEN",
    "NETLINK_ROUTE",
    "NLA_F_NESTED",
    "NLA_F_NET_BYTEORDER",
    "NLA_TYPE_MASK",
    "NLMSGHDR_LEN",
    "RTEXT_FILTER_SKIP_STATS",
    "RTEXT_FILTER_VF",
    "RTGENMSG_LEN",
    "RTMSG_LEN",
    "SOL_NETLINK",
    "AddrFamily",
    "FrAct",
    "IfaFlags",
    "Iff",
    "MacaddrMode",
    "MacvlanFlags",
    "MacvlanMode",
    "NlmF",
    "NlmsgType",
    "NtfFlags",
    "NudState",
    "OperState",
    "RtProto",
    "RtScope",
    "RtTable",
    "RtType",
    "RtmFlags",
    "RtmType",
    "RtnhFlags",
    "RtnlGroup",
    "SockOpt",
]


class NlmsgType(enum.IntEnum):
    NOOP = 1
    ERROR = 2
    DONE = 3
    OVERRUN = 4


class RtmType(enum.IntEnum):
    NEWLINK = 16
    DELLINK = 17
    GETLINK = 18
    SETLINK = 19
    NEWADDR = 20
    DELADDR = 21
    GETADDR = 22
    NEWROUTE = 24
    DELROUTE = 25
    GETROUTE = 26
    NEWNEIGH = 28
    DELNEIGH = 29
    GETNEIGH = 30
    NEWRULE = 32
    DELRULE = 33
    GETRULE = 34
    NEWNSID = 88
    DELNSID = 89
    GETNSID = 90
    NEWLINKPROP = 108
    DELLINKPROP = 109
    GETLINKPROP = 110


class NlmF(enum.IntFlag):
    """``nlmsg_flags`` bits (request flags and the error/dump ones)."""

    REQUEST = 0x01
    MULTI = 0x02
    ACK = 0x04
    ECHO = 0x08
    DUMP_INTR = 0x10
    DUMP_FILTERED = 0x20
    # GET requests
    ROOT = 0x100
    MATCH = 0x200
    ATOMIC = 0x400
    DUMP = ROOT | MATCH
    # NEW requests
    REPLACE = 0x100
    EXCL = 0x200
    CREATE = 0x400
    APPEND = 0x800
    # DELETE requests
    NONREC = 0x100
    BULK = 0x200
    # ERROR replies
    CAPPED = 0x100
    ACK_TLVS = 0x200


class SockOpt(enum.IntEnum):
    """``SOL_NETLINK`` socket options."""

    ADD_MEMBERSHIP = 1
    DROP_MEMBERSHIP = 2
    NO_ENOBUFS = 5
    CAP_ACK = 10
    EXT_ACK = 11
    GET_STRICT_CHK = 12


class RtnlGroup(enum.IntEnum):
    """Multicast groups (the ``RTNLGRP_*`` numbers, for ADD_MEMBERSHIP)."""

    LINK = 1
    NEIGH = 3
    IPV4_IFADDR = 5
    IPV4_ROUTE = 7
    IPV4_RULE = 8
    IPV6_IFADDR = 9
    IPV6_ROUTE = 11
    IPV6_RULE = 19
    NSID = 28


class Iff(enum.IntFlag):
    """``ifi_flags`` bits."""

    UP = 0x1
    BROADCAST = 0x2
    DEBUG = 0x4
    LOOPBACK = 0x8
    POINTOPOINT = 0x10
    NOTRAILERS = 0x20
    RUNNING = 0x40
    NOARP = 0x80
    PROMISC = 0x100
    ALLMULTI = 0x200
    MASTER = 0x400
    SLAVE = 0x800
    MULTICAST = 0x1000
    PORTSEL = 0x2000
    AUTOMEDIA = 0x4000
    DYNAMIC = 0x8000
    LOWER_UP = 0x10000
    DORMANT = 0x20000
    ECHO = 0x40000


class OperState(enum.IntEnum):
    """RFC 2863 operational state (``IFLA_OPERSTATE``)."""

    UNKNOWN = 0
    NOTPRESENT = 1
    DOWN = 2
    LOWERLAYERDOWN = 3
    TESTING = 4
    DORMANT = 5
    UP = 6


class MacvlanMode(enum.IntEnum):
    """How a macvlan forwards between siblings (``MACVLAN_MODE_*``, one bit each)."""

    PRIVATE = 1
    VEPA = 2
    BRIDGE = 4
    PASSTHRU = 8
    SOURCE = 16


class MacvlanFlags(enum.IntFlag):
    """``MACVLAN_FLAG_*``."""

    NONE = 0
    NOPROMISC = 1
    NODST = 2


class MacaddrMode(enum.IntEnum):
    """``MACVLAN_MACADDR_*``: what to do with the source-mode MAC list."""

    ADD = 0
    DEL = 1
    FLUSH = 2
    SET = 3


#: enums defined in :mod:`macvlan._netlink.rtconstants`, loaded when first named here
_ROUTING = frozenset(
    {
        "AddrFamily",
        "FrAct",
        "IfaFlags",
        "NtfFlags",
        "NudState",
        "RtProto",
        "RtScope",
        "RtTable",
        "RtType",
        "RtmFlags",
        "RtnhFlags",
    }
)


def __getattr__(name: str) -> object:
    if name in _ROUTING:
        from macvlan._netlink import rtconstants

        value = getattr(rtconstants, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


TYPE_CHECKING = False
if TYPE_CHECKING:
    from macvlan._netlink.rtconstants import (
        AddrFamily,
        FrAct,
        IfaFlags,
        NtfFlags,
        NudState,
        RtmFlags,
        RtnhFlags,
        RtProto,
        RtScope,
        RtTable,
        RtType,
    )
