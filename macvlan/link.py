"""Links: the frozen :class:`Link` snapshot, macvlan settings, and the checks on
the arguments of the requests that create, change and delete links.

The requests themselves are laid out by :mod:`macvlan._netlink.requests`; the
functions here take the typed values (:class:`MacAddress`, :class:`MacvlanMode`,
...), check them and hand plain ones on.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterable, Sequence

from macvlan._dataclass import dataclass, field
from macvlan._linkargs import (
    MTU_MAX,
    MTU_MIN,
    MacLike,
    _check_int,
    check_flags,
    check_mode,
    check_mtu,
    check_up,
    to_mac,
    to_macs,
)
from macvlan._names import check_ifname
from macvlan._netlink import ifla, requests
from macvlan._netlink.attr import Attr, AttrList, RawAttr
from macvlan._netlink.codecs import s32_of, u32_of
from macvlan._netlink.constants import (
    Iff,
    MacaddrMode,
    MacvlanFlags,
    MacvlanMode,
    NlmF,
    OperState,
)
from macvlan._netlink.message import Message
from macvlan._netlink.structs import IfInfoMsg
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import ProtocolError
from macvlan.linkprops import flag_changes
from macvlan.mac import MacAddress

if TYPE_CHECKING:
    from typing import Any

    from macvlan.namespace import Namespace

__all__ = [
    "MTU_MAX",
    "MTU_MIN",
    "Iff",
    "Link",
    "MacLike",
    "MacaddrMode",
    "MacvlanFlags",
    "MacvlanInfo",
    "MacvlanMode",
    "MacvlanSpec",
    "OperState",
    "check_flags",
    "check_ifname",
    "check_mode",
    "check_mtu",
    "check_up",
    "to_mac",
    "to_macs",
]

MACVLAN_KINDS = ("macvlan", "macvtap")

# Decoding helpers for the dump fast path: payload bytes straight to values (the
# same rules as the codecs: wrong sizes and unknown enum values read as absent).
_ORDER = sys.byteorder
_OPERSTATES = {int(s): s for s in OperState}
_MODES = {int(m): m for m in MacvlanMode}
_INFO_KIND = ifla.INFO_KIND.number
_MV_MODE, _MV_FLAGS, _MV_BCQ, _MV_BCQ_USED, _MV_CUTOFF = (
    spec.number
    for spec in (
        ifla.MACVLAN_MODE,
        ifla.MACVLAN_FLAGS,
        ifla.MACVLAN_BC_QUEUE_LEN,
        ifla.MACVLAN_BC_QUEUE_LEN_USED,
        ifla.MACVLAN_BC_CUTOFF,
    )
)
# what Link.from_message reads, in the order it unpacks them: payloads (one
# AttrList.raws call), then the u32 values (one AttrList.u32s call)
_READ = tuple(
    spec.number
    for spec in (
        ifla.LINKINFO,
        ifla.ADDRESS,
        ifla.IFNAME,
        ifla.LINK_NETNSID,
        ifla.IFALIAS,
        ifla.OPERSTATE,
        ifla.PROP_LIST_,
    )
)
_READ_U32 = tuple(
    spec.number
    for spec in (
        ifla.MTU,
        ifla.LINK,
        ifla.GROUP,
        ifla.TXQLEN,
        ifla.MASTER,
        ifla.MIN_MTU,
        ifla.MAX_MTU,
        ifla.PROMISCUITY,
        ifla.ALLMULTI,
    )
)
_CACHE_SIZE = 512
_RTM_NEWLINK = 16
_LEN_TYPE = struct.Struct("=IH")  # nlmsghdr's first fields (16 bytes, then ifinfomsg's 16)
_INDEX_FLAGS = struct.Struct("=iI")  # ifi_index, ifi_flags: 4 bytes into the ifinfomsg
_IFLA = ifla.IFLA
_CREATE_EXCL = int(NlmF.CREATE | NlmF.EXCL)  # a plain int: IntFlag arithmetic is slow


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    """Store ``value`` for ``key`` in a bounded cache of immutable decoded values.

    A dump of many alike links decodes each distinct ``IFLA_LINKINFO`` and flag
    word once; the cache simply starts over when full.
    """
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


_LINKINFO_CACHE: dict[bytes, tuple[str | None, MacvlanInfo | None]] = {}
# IFLA_LINKINFO of a creating message without per-link data, by (kind, mode, flags)
_PLAIN_LINKINFO: dict[tuple[str, MacvlanMode | None, MacvlanFlags], Attr[Any]] = {}
_IFF_CACHE: dict[int, Iff] = {}


def _text(raw: bytes | None) -> str | None:
    """A NUL-terminated string attribute (undecodable bytes kept as surrogates)."""
    if raw is None or not raw.endswith(b"\0") or b"\0" in raw[:-1]:
        return None
    return raw[:-1].decode("utf-8", "surrogateescape")


# the top-level IFLA numbers a Link models; the others show up in Link.extra
_MODELLED = frozenset(
    spec.number
    for spec in (
        ifla.ADDRESS,
        ifla.BROADCAST,
        ifla.IFNAME,
        ifla.MTU,
        ifla.LINK,
        ifla.MASTER,
        ifla.TXQLEN,
        ifla.OPERSTATE,
        ifla.LINKINFO,
        ifla.GROUP,
        ifla.LINK_NETNSID,
        ifla.MIN_MTU,
        ifla.MAX_MTU,
        ifla.IFALIAS,
        ifla.CARRIER,
        ifla.PERM_ADDRESS,
        ifla.PROMISCUITY,
        ifla.ALLMULTI,
        ifla.PROP_LIST_,
    )
)


@dataclass(frozen=True, slots=True)
class MacvlanInfo:
    """The macvlan/macvtap settings of a link (``IFLA_INFO_DATA``)."""

    mode: MacvlanMode
    flags: MacvlanFlags = MacvlanFlags.NONE
    bcqueuelen: int | None = None
    bcqueuelen_used: int | None = None
    bc_cutoff: int | None = None
    source_macs: tuple[MacAddress, ...] = ()

    @classmethod
    def from_attrs(cls, data: Sequence[Attr[Any] | RawAttr]) -> MacvlanInfo:
        """The settings in the attributes of ``IFLA_INFO_DATA``."""
        if isinstance(data, AttrList):
            raw = data.raw
            mode = _MODES.get(u32_of(raw(_MV_MODE)) or 0, MacvlanMode.VEPA)
            flags = raw(_MV_FLAGS)  # u16
            sources: tuple[MacAddress, ...] = ()
            if data.has(ifla.MACVLAN_MACADDR_DATA.number):
                macs = data.get(ifla.MACVLAN_MACADDR_DATA) or ()
                # sorted: the kernel lists them in its hash-table order
                sources = tuple(
                    sorted(
                        MacAddress(a.value)
                        for a in macs
                        if isinstance(a, Attr) and a.spec is ifla.MACADDRS_MACADDR
                    )
                )
            return cls(
                mode=mode,
                flags=MacvlanFlags(int.from_bytes(flags, _ORDER))
                if flags is not None and len(flags) == 2
                else MacvlanFlags.NONE,
                bcqueuelen=u32_of(raw(_MV_BCQ)),
                bcqueuelen_used=u32_of(raw(_MV_BCQ_USED)),
                bc_cutoff=s32_of(raw(_MV_CUTOFF)),
                source_macs=sources,
            )
        values: dict[int, Any] = {}
        sources = ()
        for attr in data:
            if isinstance(attr, Attr):
                if attr.spec is ifla.MACVLAN_MACADDR_DATA:
                    # sorted: the kernel lists them in its hash-table order
                    sources = tuple(
                        sorted(
                            MacAddress(a.value)
                            for a in attr.value
                            if isinstance(a, Attr) and a.spec is ifla.MACADDRS_MACADDR
                        )
                    )
                else:
                    values.setdefault(attr.spec.number, attr.value)
        return cls(
            mode=values.get(ifla.MACVLAN_MODE.number, MacvlanMode.VEPA),
            flags=values.get(ifla.MACVLAN_FLAGS.number, MacvlanFlags.NONE),
            bcqueuelen=values.get(ifla.MACVLAN_BC_QUEUE_LEN.number),
            bcqueuelen_used=values.get(ifla.MACVLAN_BC_QUEUE_LEN_USED.number),
            bc_cutoff=values.get(ifla.MACVLAN_BC_CUTOFF.number),
            source_macs=sources,
        )


@dataclass(frozen=True, slots=True)
class Link:
    """A snapshot of one network interface as the kernel reported it.

    ``promiscuity`` and ``allmulti`` are the kernel's counters (how many users
    asked for promiscuous / all-multicast mode; ``flags`` has ``Iff.PROMISC``
    when the link itself was set so); ``altnames`` its alternative names.
    """

    index: int
    name: str
    kind: str | None
    mac: MacAddress | None
    mtu: int
    up: bool
    operstate: OperState
    parent_index: int | None
    group: int
    netnsid: int | None
    txqueuelen: int = 0
    flags: Iff = Iff(0)
    master_index: int | None = None
    min_mtu: int | None = None
    max_mtu: int | None = None
    alias: str | None = None
    macvlan: MacvlanInfo | None = None
    altnames: tuple[str, ...] = ()
    promiscuity: int = 0
    allmulti: int = 0
    attrs: Sequence[Attr[Any] | RawAttr] = field(default=(), repr=False, compare=False)

    @property
    def extra(self) -> tuple[RawAttr, ...]:
        """Attributes this snapshot does not model, as (number, bytes, flags)."""
        out = []
        attrs = self.attrs
        for i in range(len(attrs)):
            attr = attrs[i]
            if attr.type in _MODELLED:
                continue
            if isinstance(attr, RawAttr):
                out.append(attr)
            else:
                ops: list[int] = []
                blob: list[bytes] = []
                attr.flatten(ops, blob)
                out.append(_raw_of(attr, ops, blob))
        return tuple(out)

    @classmethod
    def from_message(cls, message: Message) -> Link:
        """Build a snapshot from an ``RTM_NEWLINK`` message."""
        body = message.body
        attrs = message.attrs
        if not isinstance(body, IfInfoMsg) or not isinstance(attrs, AttrList):
            raise ValueError(f"not a decoded link message: {message!r}")
        return cls._from_parts(body.index, body.flags, attrs)

    @classmethod
    def _from_parts(cls, index: int, flags: int, attrs: AttrList) -> Link:
        """A snapshot from the ``ifinfomsg`` index and flags and the IFLA attributes."""
        linkinfo, address, name, netnsid, alias, operstate, prop_list = attrs.raws(_READ)
        mtu, link, group, txqlen, master, min_mtu, max_mtu, promiscuity, allmulti = attrs.u32s(
            _READ_U32
        )
        kind = None
        macvlan = None
        if linkinfo is not None:
            known = _LINKINFO_CACHE.get(linkinfo)
            if known is None:
                info = attrs.get(ifla.LINKINFO)
                known = _remember(_LINKINFO_CACHE, linkinfo, _decode_linkinfo(info))
            kind, macvlan = known
        iff = _IFF_CACHE.get(flags)
        if iff is None:
            iff = _remember(_IFF_CACHE, flags, Iff(flags))
        altnames: tuple[str, ...] = ()
        if prop_list is not None:
            props = attrs.get(ifla.PROP_LIST_)
            if isinstance(props, AttrList):
                altnames = tuple(props.get_all(ifla.PROP_ALT_IFNAME))
        # positional, in the order of the fields (keywords cost ~1 us a link in a dump)
        return cls(
            index,
            _text(name) or "",  # name
            kind,
            MacAddress._from_int(int.from_bytes(address))  # mac
            if address is not None and len(address) == 6
            else None,
            mtu or 0,
            bool(flags & 1),  # up: IFF_UP
            _OPERSTATES.get(operstate[0], OperState.UNKNOWN)  # operstate
            if operstate is not None and len(operstate) == 1
            else OperState.UNKNOWN,
            link or None,  # parent_index
            group or 0,
            s32_of(netnsid),  # netnsid
            txqlen or 0,  # txqueuelen
            iff,  # flags
            master or None,  # master_index
            min_mtu,
            max_mtu,
            _text(alias),  # alias
            macvlan,
            altnames,
            promiscuity or 0,
            allmulti or 0,
            attrs,
        )


def parse_links(data: bytes, start: int, end: int, out: list[Link]) -> None:
    """Append the links of the ``RTM_NEWLINK`` answers in ``data[start:end]`` to ``out``,
    straight from the bytes (no Message or IfInfoMsg for them); framing checked already."""
    pos = start
    while pos < end:
        length, mtype = _LEN_TYPE.unpack_from(data, pos)
        if mtype == _RTM_NEWLINK:
            if length < 32:
                raise ProtocolError(f"RTM_NEWLINK of {length} bytes lacks its ifinfomsg")
            index, flags = _INDEX_FLAGS.unpack_from(data, pos + 20)
            attrs = AttrList(data, pos + 32, pos + length, _IFLA)
            out.append(Link._from_parts(index, flags, attrs))
        pos += (length + 3) & ~3


def links_of(replies: Sequence[Message]) -> list[Link]:
    """The links of the ``RTM_NEWLINK`` messages among ``replies``."""
    return [Link.from_message(r) for r in replies if r.type == _RTM_NEWLINK]


def _decode_linkinfo(info: object) -> tuple[str | None, MacvlanInfo | None]:
    """(kind, macvlan settings) from a decoded ``IFLA_LINKINFO``."""
    if not isinstance(info, AttrList):
        return None, None
    kind_raw = info.raw(_INFO_KIND)  # iproute2 may leave out the NUL
    kind = kind_raw.rstrip(b"\0").decode("utf-8", "replace") if kind_raw else None
    if kind not in MACVLAN_KINDS:
        return kind, None
    return kind, MacvlanInfo.from_attrs(info.get(ifla.INFO_DATA) or ())


def _raw_of(attr: Attr[Any], ops: list[int], blob: list[bytes]) -> RawAttr:
    from macvlan._netlink import _backend

    packed = _backend.pack(ops, b"".join(blob))
    return RawAttr(attr.type, packed[4 : int.from_bytes(packed[:2], "little")], attr.flags)


@dataclass(frozen=True, slots=True)
class MacvlanSpec:
    """Everything needed to create one macvlan (for :meth:`create_macvlans`)."""

    name: str
    parent: Any
    mode: MacvlanMode = MacvlanMode.BRIDGE
    mac: MacLike | None = None
    mtu: int | None = None
    up: bool = False
    flags: MacvlanFlags = MacvlanFlags.NONE
    bcqueuelen: int | None = None
    bc_cutoff: int | None = None
    source_macs: Sequence[MacLike] = ()
    txqueuelen: int | None = None
    group: int | None = None
    kind: str = "macvlan"
    netns: Namespace | str | None = None


# -- requests: typed arguments checked, then laid out by macvlan._netlink.requests ----
get_link = requests.get_link
dump_links = requests.dump_links
del_link = requests.del_link
del_group = requests.del_group


def source_mac_attrs(op: MacaddrMode, macs: Sequence[MacAddress]) -> list[Attr[Any] | RawAttr]:
    """The ``IFLA_MACVLAN_MACADDR*`` attributes that apply ``op`` to a source list.

    ADD and DEL take exactly one address (the kernel reads one per message: send
    one message each), SET replaces the list, FLUSH takes no address.
    """
    if op in (MacaddrMode.ADD, MacaddrMode.DEL) and len(macs) != 1:
        raise ValueError(
            f"source_op={op.name} takes one MAC per message, not {len(macs)}; send one message each"
        )
    if op == MacaddrMode.FLUSH and macs:
        raise ValueError(f"source_op={op.name} takes no MACs; use SET to replace the list")
    return requests.source_macs(op, [m.packed for m in macs])


def macvlan_data(
    mode: MacvlanMode | None,
    flags: MacvlanFlags | None,
    bcqueuelen: int | None,
    bc_cutoff: int | None,
    source_macs: Iterable[MacAddress] | None,
    source_op: MacaddrMode = MacaddrMode.SET,
) -> list[Attr[Any] | RawAttr]:
    """A macvlan's ``IFLA_INFO_DATA`` content, its values checked; None leaves one out."""
    if bcqueuelen is not None:
        _check_int("bcqueuelen", bcqueuelen, 0, 2**32 - 1)
    if bc_cutoff is not None:
        _check_int("bc_cutoff", bc_cutoff, -(2**31), 2**31 - 1)
    data = requests.macvlan_data(mode, flags, bcqueuelen, bc_cutoff)
    if source_macs is not None:
        data.extend(source_mac_attrs(source_op, list(source_macs)))
    return data


def check_link_args(
    name: str | None, mtu: int | None, txqueuelen: int | None, group: int | None
) -> None:
    """Raise before any I/O if a name, MTU, queue length or group cannot be sent."""
    if name is not None:
        check_ifname(name)
    if mtu is not None:
        check_mtu(mtu)
    if txqueuelen is not None:
        _check_int("txqueuelen", txqueuelen, 0, 2**32 - 1)
    if group is not None:
        _check_int("group", group, 0, 2**32 - 1)


def new_macvlan(
    name: str,
    parent_index: int,
    kind: str,
    *,
    mode: MacvlanMode | None,
    flags: MacvlanFlags,
    mac: MacAddress | None,
    mtu: int | None,
    up: bool,
    bcqueuelen: int | None,
    bc_cutoff: int | None,
    source_macs: Sequence[MacAddress],
    txqueuelen: int | None,
    group: int | None,
    netns_fd: int | None,
    echo: bool = False,
) -> Message:
    """``RTM_NEWLINK`` creating a macvlan or macvtap, MAC included (``echo``: the
    kernel answers with the new link)."""
    if kind not in MACVLAN_KINDS:
        raise ValueError(f"kind must be 'macvlan' or 'macvtap', not {kind!r}")
    if source_macs and mode != MacvlanMode.SOURCE:
        raise ValueError("source_macs only applies to MacvlanMode.SOURCE")
    if mac is not None and mode == MacvlanMode.PASSTHRU:
        raise ValueError(
            f"a passthru {kind} takes its parent's MAC; mac={str(mac)!r} cannot be given "
            "(set the parent's MAC instead)"
        )
    check_link_args(name, mtu, txqueuelen, group)
    if bcqueuelen is not None:
        _check_int("bcqueuelen", bcqueuelen, 0, 2**32 - 1)
    if bc_cutoff is not None:
        _check_int("bc_cutoff", bc_cutoff, -(2**31), 2**31 - 1)
    return requests.new_macvlan(
        name,
        parent_index,
        kind=kind,
        mode=mode,
        flags=flags,
        mac=None if mac is None else mac.packed,
        mtu=mtu,
        up=up,
        bcqueuelen=bcqueuelen,
        bc_cutoff=bc_cutoff,
        macs=[m.packed for m in source_macs],
        txqueuelen=txqueuelen,
        group=group,
        netns_fd=netns_fd,
        echo=echo,
    )


def new_veth(
    name: str,
    peer: str,
    *,
    mtu: int | None,
    mac: MacAddress | None,
    peer_mac: MacAddress | None,
    peer_netns_fd: int | None,
    up: bool,
) -> Message:
    """``RTM_NEWLINK`` creating the veth pair ``name``/``peer``."""
    check_link_args(name, mtu, None, None)
    check_ifname(peer)
    return requests.new_veth(
        name,
        peer,
        mtu=mtu,
        mac=None if mac is None else mac.packed,
        peer_mac=None if peer_mac is None else peer_mac.packed,
        peer_netns_fd=peer_netns_fd,
        up=up,
    )


ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8


def new_vlan(name: str, parent_index: int, vlan_id: int, *, protocol: int | None = None) -> Message:
    """``RTM_NEWLINK`` creating 802.1Q VLAN ``vlan_id`` (1..4094) on ``parent_index``."""
    check_ifname(name)
    if isinstance(vlan_id, bool) or not isinstance(vlan_id, int) or not 1 <= vlan_id <= 4094:
        raise ValueError(f"VLAN ID {vlan_id!r} is outside 1..4094")
    if protocol is not None and protocol not in (ETH_P_8021Q, ETH_P_8021AD):
        raise ValueError(f"VLAN protocol {protocol:#x} is neither 802.1Q nor 802.1ad")
    return requests.new_vlan(name, parent_index, vlan_id, protocol)


def set_link(
    index: int,
    *,
    up: bool | None = None,
    name: str | None = None,
    mac: MacAddress | None = None,
    mtu: int | None = None,
    txqueuelen: int | None = None,
    group: int | None = None,
    netns_fd: int | None = None,
    alias: str | None = None,
    attrs: Sequence[Attr[Any] | RawAttr] = (),
    promisc: bool | None = None,
    allmulti: bool | None = None,
) -> Message:
    """``RTM_NEWLINK`` without CREATE: change an existing link (and its UP,
    PROMISC and ALLMULTI flags where given); ``alias`` ``""`` removes the alias."""
    check_link_args(name, mtu, txqueuelen, group)
    flags, change = flag_changes(up=up, promisc=promisc, allmulti=allmulti)
    return requests.set_link(
        index,
        name=name,
        mac=None if mac is None else mac.packed,
        mtu=mtu,
        txqueuelen=txqueuelen,
        group=group,
        netns_fd=netns_fd,
        alias=alias,
        flags=flags,
        change=change,
        attrs=attrs,
    )
