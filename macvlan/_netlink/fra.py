"""Policy-rule attributes: ``FRA_*`` (include/uapi/linux/fib_rules.h)."""

from __future__ import annotations

from macvlan._netlink.attr import Schema
from macvlan._netlink.codecs import Bytes, IpAddress, String, UInt

FRA = Schema("FRA")
U8, U32 = UInt(8), UInt(32)

DST = FRA.attr(1, "DST", IpAddress())
SRC = FRA.attr(2, "SRC", IpAddress())
IIFNAME = FRA.attr(3, "IIFNAME", String())
GOTO = FRA.attr(4, "GOTO", U32)
PRIORITY = FRA.attr(6, "PRIORITY", U32)
FWMARK = FRA.attr(10, "FWMARK", U32)
FLOW = FRA.attr(11, "FLOW", U32)
TUN_ID = FRA.attr(12, "TUN_ID", Bytes(8))  # a be64
SUPPRESS_IFGROUP = FRA.attr(13, "SUPPRESS_IFGROUP", U32)
SUPPRESS_PREFIXLEN = FRA.attr(14, "SUPPRESS_PREFIXLEN", U32)
TABLE = FRA.attr(15, "TABLE", U32)
FWMASK = FRA.attr(16, "FWMASK", U32)
OIFNAME = FRA.attr(17, "OIFNAME", String())
PAD = FRA.attr(18, "PAD", Bytes())
L3MDEV = FRA.attr(19, "L3MDEV", U8)
UID_RANGE = FRA.attr(20, "UID_RANGE", Bytes(8))
PROTOCOL = FRA.attr(21, "PROTOCOL", U8)
IP_PROTO = FRA.attr(22, "IP_PROTO", U8)
SPORT_RANGE = FRA.attr(23, "SPORT_RANGE", Bytes(4))
DPORT_RANGE = FRA.attr(24, "DPORT_RANGE", Bytes(4))
