"""Link attributes: ``IFLA_*``, ``IFLA_INFO_*``, ``IFLA_MACVLAN_*``, veth, AF_SPEC."""

from __future__ import annotations

from macvlan._netlink._bytecode import OP_END, OP_NEST, OP_RAW
from macvlan._netlink.attr import (
    Attr,
    AttrList,
    Blob,
    Nested,
    NestedByKind,
    Ops,
    RawAttr,
    Record,
    Schema,
    flatten_attrs,
)
from macvlan._netlink.codecs import Bytes, Codec, IntEnumCodec, IntFlagCodec, SInt32, String, UInt
from macvlan._netlink.numbers import NLA_F_NESTED
from macvlan._netlink.structs import IfInfoMsg
from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from macvlan._netlink.constants import MacaddrMode, MacvlanFlags, MacvlanMode, OperState


# The enums of enum-valued attributes, imported when first used (see numbers.py).
def _operstate() -> type[OperState]:
    from macvlan._netlink.constants import OperState

    return OperState


def _macvlan_mode() -> type[MacvlanMode]:
    from macvlan._netlink.constants import MacvlanMode

    return MacvlanMode


def _macvlan_flags() -> type[MacvlanFlags]:
    from macvlan._netlink.constants import MacvlanFlags

    return MacvlanFlags


def _macaddr_mode() -> type[MacaddrMode]:
    from macvlan._netlink.constants import MacaddrMode

    return MacaddrMode


U8, U16, U32, U64 = UInt(8), UInt(16), UInt(32), UInt(64)
MAC = Bytes(6)

IFLA = Schema("IFLA")
INFO = Schema("IFLA_INFO")
MACVLAN = Schema("IFLA_MACVLAN")
MACVLAN_MACADDRS = Schema("IFLA_MACVLAN_MACADDR_DATA")
VETH = Schema("VETH_INFO")
PROP_LIST = Schema("IFLA_PROP")
AF_SPEC = Schema("IFLA_AF_SPEC")
INET = Schema("IFLA_INET")
INET6 = Schema("IFLA_INET6")
XDP = Schema("IFLA_XDP")
VLAN = Schema("IFLA_VLAN")

# --- IFLA_* (include/uapi/linux/if_link.h) -------------------------------------
ADDRESS = IFLA.attr(1, "ADDRESS", Bytes())
BROADCAST = IFLA.attr(2, "BROADCAST", Bytes())
IFNAME = IFLA.attr(3, "IFNAME", String())
MTU = IFLA.attr(4, "MTU", U32)
LINK = IFLA.attr(5, "LINK", U32)
QDISC = IFLA.attr(6, "QDISC", String())
STATS = IFLA.attr(7, "STATS", Bytes(), writable=False)
MASTER = IFLA.attr(10, "MASTER", U32)
TXQLEN = IFLA.attr(13, "TXQLEN", U32)
MAP = IFLA.attr(14, "MAP", Bytes())
WEIGHT = IFLA.attr(15, "WEIGHT", U32)
OPERSTATE = IFLA.attr(16, "OPERSTATE", IntEnumCodec(_operstate, 8))
LINKMODE = IFLA.attr(17, "LINKMODE", U8)
LINKINFO = IFLA.attr(18, "LINKINFO", Nested(INFO))
NET_NS_PID = IFLA.attr(19, "NET_NS_PID", U32)
IFALIAS = IFLA.attr(20, "IFALIAS", String())
NUM_VF = IFLA.attr(21, "NUM_VF", U32)
STATS64 = IFLA.attr(23, "STATS64", Bytes(), writable=False)
AF_SPEC_ = IFLA.attr(26, "AF_SPEC", Nested(AF_SPEC))
GROUP = IFLA.attr(27, "GROUP", U32)
NET_NS_FD = IFLA.attr(28, "NET_NS_FD", U32)
EXT_MASK = IFLA.attr(29, "EXT_MASK", U32)
PROMISCUITY = IFLA.attr(30, "PROMISCUITY", U32)
NUM_TX_QUEUES = IFLA.attr(31, "NUM_TX_QUEUES", U32)
NUM_RX_QUEUES = IFLA.attr(32, "NUM_RX_QUEUES", U32)
CARRIER = IFLA.attr(33, "CARRIER", U8)
PHYS_PORT_ID = IFLA.attr(34, "PHYS_PORT_ID", Bytes())
CARRIER_CHANGES = IFLA.attr(35, "CARRIER_CHANGES", U32)
PHYS_SWITCH_ID = IFLA.attr(36, "PHYS_SWITCH_ID", Bytes())
LINK_NETNSID = IFLA.attr(37, "LINK_NETNSID", SInt32())
PHYS_PORT_NAME = IFLA.attr(38, "PHYS_PORT_NAME", String())
PROTO_DOWN = IFLA.attr(39, "PROTO_DOWN", U8)
GSO_MAX_SEGS = IFLA.attr(40, "GSO_MAX_SEGS", U32)
GSO_MAX_SIZE = IFLA.attr(41, "GSO_MAX_SIZE", U32)
PAD = IFLA.attr(42, "PAD", Bytes())
XDP_ = IFLA.attr(43, "XDP", Nested(XDP))
EVENT = IFLA.attr(44, "EVENT", U32)
NEW_NETNSID = IFLA.attr(45, "NEW_NETNSID", SInt32())
TARGET_NETNSID = IFLA.attr(46, "TARGET_NETNSID", SInt32())
CARRIER_UP_COUNT = IFLA.attr(47, "CARRIER_UP_COUNT", U32)
CARRIER_DOWN_COUNT = IFLA.attr(48, "CARRIER_DOWN_COUNT", U32)
NEW_IFINDEX = IFLA.attr(49, "NEW_IFINDEX", SInt32())
MIN_MTU = IFLA.attr(50, "MIN_MTU", U32)
MAX_MTU = IFLA.attr(51, "MAX_MTU", U32)
PROP_LIST_ = IFLA.attr(52, "PROP_LIST", Nested(PROP_LIST), flags=NLA_F_NESTED)
ALT_IFNAME = IFLA.attr(53, "ALT_IFNAME", String())
PERM_ADDRESS = IFLA.attr(54, "PERM_ADDRESS", Bytes())
PROTO_DOWN_REASON = IFLA.attr(55, "PROTO_DOWN_REASON", Bytes())
PARENT_DEV_NAME = IFLA.attr(56, "PARENT_DEV_NAME", String())
PARENT_DEV_BUS_NAME = IFLA.attr(57, "PARENT_DEV_BUS_NAME", String())
GRO_MAX_SIZE = IFLA.attr(58, "GRO_MAX_SIZE", U32)
TSO_MAX_SIZE = IFLA.attr(59, "TSO_MAX_SIZE", U32)
TSO_MAX_SEGS = IFLA.attr(60, "TSO_MAX_SEGS", U32)
ALLMULTI = IFLA.attr(61, "ALLMULTI", U32)
DEVLINK_PORT = IFLA.attr(62, "DEVLINK_PORT", Bytes())
GSO_IPV4_MAX_SIZE = IFLA.attr(63, "GSO_IPV4_MAX_SIZE", U32)
GRO_IPV4_MAX_SIZE = IFLA.attr(64, "GRO_IPV4_MAX_SIZE", U32)

# --- IFLA_PROP_LIST -------------------------------------------------------------
PROP_ALT_IFNAME = PROP_LIST.attr(53, "ALT_IFNAME", String())

# --- IFLA_XDP ------------------------------------------------------------------------
XDP_FD = XDP.attr(1, "FD", SInt32())
XDP_ATTACHED = XDP.attr(2, "ATTACHED", U8)
XDP_FLAGS = XDP.attr(3, "FLAGS", U32)
XDP_PROG_ID = XDP.attr(4, "PROG_ID", U32)

# --- IFLA_AF_SPEC: nested by address family -------------------------------------------
AF_INET = AF_SPEC.attr(2, "AF_INET", Nested(INET))
AF_INET6 = AF_SPEC.attr(10, "AF_INET6", Nested(INET6))
INET_CONF = INET.attr(1, "CONF", Bytes())
INET6_FLAGS = INET6.attr(1, "FLAGS", U32)
INET6_CONF = INET6.attr(2, "CONF", Bytes())
INET6_STATS = INET6.attr(3, "STATS", Bytes())
INET6_MCAST = INET6.attr(4, "MCAST", Bytes())
INET6_CACHEINFO = INET6.attr(5, "CACHEINFO", Bytes())
INET6_ICMP6STATS = INET6.attr(6, "ICMP6STATS", Bytes())
INET6_TOKEN = INET6.attr(7, "TOKEN", Bytes(16))
INET6_ADDR_GEN_MODE = INET6.attr(8, "ADDR_GEN_MODE", U8)
INET6_RA_MTU = INET6.attr(9, "RA_MTU", U32)

# --- IFLA_MACVLAN_* (also macvtap) ----------------------------------------------------
MACVLAN_MODE = MACVLAN.attr(1, "MODE", IntEnumCodec(_macvlan_mode))
MACVLAN_FLAGS = MACVLAN.attr(2, "FLAGS", IntFlagCodec(_macvlan_flags, 16))
MACVLAN_MACADDR_MODE = MACVLAN.attr(3, "MACADDR_MODE", IntEnumCodec(_macaddr_mode))
MACVLAN_MACADDR = MACVLAN.attr(4, "MACADDR", MAC)
MACVLAN_MACADDR_DATA = MACVLAN.attr(5, "MACADDR_DATA", Nested(MACVLAN_MACADDRS))
MACVLAN_MACADDR_COUNT = MACVLAN.attr(6, "MACADDR_COUNT", U32, writable=False)
MACVLAN_BC_QUEUE_LEN = MACVLAN.attr(7, "BC_QUEUE_LEN", U32)
MACVLAN_BC_QUEUE_LEN_USED = MACVLAN.attr(8, "BC_QUEUE_LEN_USED", U32, writable=False)
MACVLAN_BC_CUTOFF = MACVLAN.attr(9, "BC_CUTOFF", SInt32())
MACADDRS_MACADDR = MACVLAN_MACADDRS.attr(4, "MACADDR", MAC)


# --- veth: VETH_INFO_PEER carries an ifinfomsg and IFLA attributes ------------------------
class PeerInfo(Record):
    """The peer half of a veth pair: ``(ifinfo, attrs)``, its ``ifinfomsg`` and
    link attributes."""

    __slots__ = ()
    _fields = ("ifinfo", "attrs")

    def __new__(cls, ifinfo: IfInfoMsg, attrs: Sequence[Attr[Any] | RawAttr]) -> PeerInfo:
        return tuple.__new__(cls, (ifinfo, attrs))

    @property
    def ifinfo(self) -> IfInfoMsg:
        """The peer's ``ifinfomsg``."""
        ifinfo: IfInfoMsg = self[0]
        return ifinfo


class PeerCodec(Codec[PeerInfo]):
    __slots__ = ()

    def decode(self, data: bytes, siblings: AttrList) -> PeerInfo | None:
        if len(data) < IfInfoMsg.SIZE:
            return None
        ifinfo = IfInfoMsg.unpack(data, 0)
        attrs = AttrList(data, IfInfoMsg.SIZE, len(data), IFLA, siblings.depth + 1)
        return PeerInfo(ifinfo, attrs)

    def validate(self, value: Any) -> PeerInfo:
        if not isinstance(value, PeerInfo):
            raise TypeError(f"expected PeerInfo, got {value!r}")
        return value

    def flatten(self, value: PeerInfo, nla_type: int, ops: Ops, blob: Blob) -> None:
        ops += (OP_NEST, nla_type, 0)
        blob.append(value.ifinfo.pack())
        ops += (OP_RAW, 0, IfInfoMsg.SIZE)
        flatten_attrs(value.attrs, ops, blob)
        ops += (OP_END, 0, 0)


VETH_PEER = VETH.attr(1, "PEER", PeerCodec())

# --- IFLA_VLAN_* (802.1Q sub-interfaces) --------------------------------------------------
VLAN_ID = VLAN.attr(1, "ID", U16)
VLAN_FLAGS = VLAN.attr(2, "FLAGS", Bytes(8))
VLAN_EGRESS_QOS = VLAN.attr(3, "EGRESS_QOS", Bytes())
VLAN_INGRESS_QOS = VLAN.attr(4, "INGRESS_QOS", Bytes())
VLAN_PROTOCOL = VLAN.attr(5, "PROTOCOL", UInt(16, big=True))

# --- IFLA_INFO_*: IFLA_INFO_DATA decoded by IFLA_INFO_KIND ------------------------------
INFO_KIND = INFO.attr(1, "KIND", String())
INFO_DATA = INFO.attr(
    2,
    "DATA",
    NestedByKind(INFO_KIND, {"macvlan": MACVLAN, "macvtap": MACVLAN, "veth": VETH, "vlan": VLAN}),
)
INFO_XSTATS = INFO.attr(3, "XSTATS", Bytes(), writable=False)
INFO_SLAVE_KIND = INFO.attr(4, "SLAVE_KIND", String())
INFO_SLAVE_DATA = INFO.attr(5, "SLAVE_DATA", Bytes())


def kind_of(attrs: AttrList) -> str | None:
    """The ``IFLA_INFO_KIND`` of a link's attributes, if any."""
    info = attrs.get(LINKINFO)
    if info is None or not isinstance(info, AttrList):
        return None
    return info.get(INFO_KIND)
