"""Numbers from the kernel's netlink and rtnetlink headers, as enums.

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


class AddrFamily(enum.IntEnum):
    UNSPEC = 0
    INET = 2
    BRIDGE = 7
    INET6 = 10


class RtScope(enum.IntEnum):
    UNIVERSE = 0
    SITE = 200
    LINK = 253
    HOST = 254
    NOWHERE = 255


class RtProto(enum.IntEnum):
    UNSPEC = 0
    REDIRECT = 1
    KERNEL = 2
    BOOT = 3
    STATIC = 4
    RA = 9
    DHCP = 16


class RtType(enum.IntEnum):
    UNSPEC = 0
    UNICAST = 1
    LOCAL = 2
    BROADCAST = 3
    ANYCAST = 4
    MULTICAST = 5
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8
    THROW = 9
    NAT = 10


class RtTable(enum.IntEnum):
    UNSPEC = 0
    DEFAULT = 253
    MAIN = 254
    LOCAL = 255


class IfaFlags(enum.IntFlag):
    SECONDARY = 0x01
    NODAD = 0x02
    OPTIMISTIC = 0x04
    DADFAILED = 0x08
    HOMEADDRESS = 0x10
    DEPRECATED = 0x20
    TENTATIVE = 0x40
    PERMANENT = 0x80
    MANAGETEMPADDR = 0x100
    NOPREFIXROUTE = 0x200
    MCAUTOJOIN = 0x400
    STABLE_PRIVACY = 0x800


# -- routes, rules and neighbours (issue 18) ------------------------------------------
class RtnhFlags(enum.IntFlag):
    """``RTNH_F_*``: next-hop flags (``rtnh_flags``; also ``rtm_flags`` of one-hop routes)."""

    NONE = 0
    DEAD = 1
    PERVASIVE = 2
    ONLINK = 4
    OFFLOAD = 8
    LINKDOWN = 16
    UNRESOLVED = 32
    TRAP = 64


class RtmFlags(enum.IntFlag):
    """``RTM_F_*``: the upper bits of ``rtm_flags``."""

    NONE = 0
    NOTIFY = 0x100
    CLONED = 0x200
    EQUALIZE = 0x400
    PREFIX = 0x800
    LOOKUP_TABLE = 0x1000
    FIB_MATCH = 0x2000
    OFFLOAD = 0x4000
    TRAP = 0x8000


class FrAct(enum.IntEnum):
    """``FR_ACT_*``: what a policy rule does (``fib_rule_hdr.action``)."""

    UNSPEC = 0
    TO_TBL = 1
    GOTO = 2
    NOP = 3
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8


class NudState(enum.IntFlag):
    """``NUD_*``: a neighbour entry's state (``ndm_state``, one bit each)."""

    NONE = 0x00
    INCOMPLETE = 0x01
    REACHABLE = 0x02
    STALE = 0x04
    DELAY = 0x08
    PROBE = 0x10
    FAILED = 0x20
    NOARP = 0x40
    PERMANENT = 0x80


class NtfFlags(enum.IntFlag):
    """``NTF_*``: neighbour entry flags (``ndm_flags``)."""

    NONE = 0
    USE = 0x01
    SELF = 0x02
    MASTER = 0x04
    PROXY = 0x08
    EXT_LEARNED = 0x10
    OFFLOADED = 0x20
    STICKY = 0x40
    ROUTER = 0x80
