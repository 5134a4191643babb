"""Address attributes: ``IFA_*`` (include/uapi/linux/if_addr.h)."""

from __future__ import annotations

from macvlan._netlink.attr import Schema
from macvlan._netlink.codecs import Bytes, IntFlagCodec, IpAddress, SInt32, String, UInt
from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from macvlan._netlink.constants import IfaFlags


def _ifa_flags() -> type[IfaFlags]:
    """The flag enum, imported when first used (see numbers.py)."""
    from macvlan._netlink.constants import IfaFlags

    return IfaFlags


IFA = Schema("IFA")

ADDRESS = IFA.attr(1, "ADDRESS", IpAddress())
LOCAL = IFA.attr(2, "LOCAL", IpAddress())
LABEL = IFA.attr(3, "LABEL", String())
BROADCAST = IFA.attr(4, "BROADCAST", IpAddress())
ANYCAST = IFA.attr(5, "ANYCAST", IpAddress())
CACHEINFO = IFA.attr(6, "CACHEINFO", Bytes(16))
MULTICAST = IFA.attr(7, "MULTICAST", IpAddress())
FLAGS = IFA.attr(8, "FLAGS", IntFlagCodec(_ifa_flags))
RT_PRIORITY = IFA.attr(9, "RT_PRIORITY", UInt(32))
TARGET_NETNSID = IFA.attr(10, "TARGET_NETNSID", SInt32())
PROTO = IFA.attr(11, "PROTO", UInt(8))
