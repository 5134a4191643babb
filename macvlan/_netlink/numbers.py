"""Kernel numbers as plain ints, under their C names, for code that must stay light.

The enums in :mod:`macvlan._netlink.constants` give these numbers types and
names, but creating them imports :mod:`enum` (with :mod:`functools` and
:mod:`collections`, some 7 ms).  The codec core (framing, messages, the socket)
and the CNI plugin, a process started per container, use the plain numbers
here instead.  ``tests/test_constants.py`` checks that both agree.
"""

from __future__ import annotations

# include/uapi/linux/if_ether.h: the MTUs an Ethernet link (macvlan, macvtap, veth) can
# have, IPv4's least and the most: the library's one MTU rule (links, networks, CLI, CNI)
ETH_MIN_MTU = 68
ETH_MAX_MTU = 0xFFFF

# include/uapi/linux/netlink.h
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12

NLMSG_ERROR = 2
NLMSG_DONE = 3

NLM_F_REQUEST = 0x01
NLM_F_ACK = 0x04
NLM_F_ECHO = 0x08
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300  # NLM_F_ROOT | NLM_F_MATCH
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_APPEND = 0x800
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200

NLA_F_NESTED = 0x8000
NLA_F_NET_BYTEORDER = 0x4000
NLA_TYPE_MASK = 0x3FFF

# struct sizes
NLMSGHDR_LEN = 16
IFINFOMSG_LEN = 16
IFADDRMSG_LEN = 8
RTMSG_LEN = 12
RTGENMSG_LEN = 4
NDMSG_LEN = 12
FIB_RULE_HDR_LEN = 12

# include/uapi/linux/rtnetlink.h: message types
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_SETLINK = 19
RTM_NEWADDR = 20
RTM_DELADDR = 21
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_DELROUTE = 25
RTM_GETROUTE = 26
RTM_NEWNEIGH = 28
RTM_DELNEIGH = 29
RTM_GETNEIGH = 30
RTM_NEWRULE = 32
RTM_DELRULE = 33
RTM_GETRULE = 34
RTM_NEWNSID = 88
RTM_DELNSID = 89
RTM_GETNSID = 90
RTM_NEWLINKPROP = 108
RTM_DELLINKPROP = 109
RTM_GETLINKPROP = 110

# routes
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RTN_UNICAST = 1

# IFLA_EXT_MASK bits
RTEXT_FILTER_VF = 1 << 0
RTEXT_FILTER_SKIP_STATS = 1 << 3

# include/uapi/linux/if.h, if_addr.h
IFF_UP = 0x1
IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40
