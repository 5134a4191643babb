"""Neighbour attributes: ``NDA_*`` (include/uapi/linux/neighbour.h)."""

from __future__ import annotations

from macvlan._netlink.attr import Schema
from macvlan._netlink.codecs import Bytes, IpAddress, SInt32, UInt

NDA = Schema("NDA")
U8, U16, U32 = UInt(8), UInt(16), UInt(32)

DST = NDA.attr(1, "DST", IpAddress())
LLADDR = NDA.attr(2, "LLADDR", Bytes())
CACHEINFO = NDA.attr(3, "CACHEINFO", Bytes(16), writable=False)
PROBES = NDA.attr(4, "PROBES", U32, writable=False)
VLAN = NDA.attr(5, "VLAN", U16)
PORT = NDA.attr(6, "PORT", UInt(16, big=True))
VNI = NDA.attr(7, "VNI", U32)
IFINDEX = NDA.attr(8, "IFINDEX", U32)
MASTER = NDA.attr(9, "MASTER", U32)
LINK_NETNSID = NDA.attr(10, "LINK_NETNSID", SInt32())
SRC_VNI = NDA.attr(11, "SRC_VNI", U32)
PROTOCOL = NDA.attr(12, "PROTOCOL", U8)
NH_ID = NDA.attr(13, "NH_ID", U32)
FDB_EXT_ATTRS = NDA.attr(14, "FDB_EXT_ATTRS", Bytes())
FLAGS_EXT = NDA.attr(15, "FLAGS_EXT", U32)
NDM_STATE_MASK = NDA.attr(16, "NDM_STATE_MASK", U16)
NDM_FLAGS_MASK = NDA.attr(17, "NDM_FLAGS_MASK", U8)
