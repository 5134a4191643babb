"""Numbers from the kernel's address, route, rule and neighbour headers, as enums.

Apart from :mod:`macvlan._netlink.constants` because building an enum class costs
some 0.15 ms: a program that only makes links never builds these.  They are named
from ``constants`` too (loaded on first use there).
"""

from __future__ import annotations

import enum

__all__ = [
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
]


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
