"""Route attributes: ``RTA_*`` and ``RTAX_*`` (include/uapi/linux/rtnetlink.h)."""

from __future__ import annotations

from macvlan._netlink.attr import Bytes, IpAddress, Nested, Schema, UInt

RTA = Schema("RTA")
RTAX = Schema("RTAX")
U8, U16, U32 = UInt(8), UInt(16), UInt(32)

DST = RTA.attr(1, "DST", IpAddress())
SRC = RTA.attr(2, "SRC", IpAddress())
IIF = RTA.attr(3, "IIF", U32)
OIF = RTA.attr(4, "OIF", U32)
GATEWAY = RTA.attr(5, "GATEWAY", IpAddress())
PRIORITY = RTA.attr(6, "PRIORITY", U32)
PREFSRC = RTA.attr(7, "PREFSRC", IpAddress())
METRICS = RTA.attr(8, "METRICS", Nested(RTAX))
MULTIPATH = RTA.attr(9, "MULTIPATH", Bytes())
FLOW = RTA.attr(11, "FLOW", U32)
CACHEINFO = RTA.attr(12, "CACHEINFO", Bytes())
TABLE = RTA.attr(15, "TABLE", U32)
MARK = RTA.attr(16, "MARK", U32)
VIA = RTA.attr(18, "VIA", Bytes())
PREF = RTA.attr(20, "PREF", U8)
ENCAP_TYPE = RTA.attr(21, "ENCAP_TYPE", U16)
EXPIRES = RTA.attr(23, "EXPIRES", U32)
PAD = RTA.attr(24, "PAD", Bytes())
UID = RTA.attr(25, "UID", U32)
TTL_PROPAGATE = RTA.attr(26, "TTL_PROPAGATE", U8)
NH_ID = RTA.attr(30, "NH_ID", U32)

RTAX_LOCK = RTAX.attr(1, "LOCK", U32)
RTAX_MTU = RTAX.attr(2, "MTU", U32)
RTAX_WINDOW = RTAX.attr(3, "WINDOW", U32)
RTAX_RTT = RTAX.attr(4, "RTT", U32)
RTAX_ADVMSS = RTAX.attr(8, "ADVMSS", U32)
RTAX_HOPLIMIT = RTAX.attr(10, "HOPLIMIT", U32)
