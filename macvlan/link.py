"""Links: the frozen :class:`Link` snapshot, macvlan settings, and the requests
that create, change and delete links.

The request builders here are sans-IO (they return messages); the synchronous
:class:`~macvlan.connection.Connection` and the asyncio front send them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from macvlan._names import check_ifname
from macvlan._netlink import ifla
from macvlan._netlink.attr import Attr, AttrList, RawAttr, s32_of, u32_of
from macvlan._netlink.constants import (
    RTEXT_FILTER_SKIP_STATS,
    Iff,
    MacaddrMode,
    MacvlanFlags,
    MacvlanMode,
    NlmF,
    OperState,
    RtmType,
)
from macvlan._netlink.message import Message
from macvlan._netlink.structs import IfInfoMsg
from macvlan.linkprops import flag_changes
from macvlan.mac import MacAddress

if TYPE_CHECKING:
    from macvlan.namespace import Namespace

__all__ = [
    "Iff",
    "Link",
    "MacaddrMode",
    "MacvlanFlags",
    "MacvlanInfo",
    "MacvlanMode",
    "MacvlanSpec",
    "OperState",
    "check_ifname",
]

MACVLAN_KINDS = ("macvlan", "macvtap")

# Decoding helpers for the dump fast path: payload bytes straight to values (the
# same rules as the codecs: wrong sizes and unknown enum values read as absent).
_ORDER = sys.byteorder
_OPERSTATES = {int(s): s for s in OperState}
_MODES = {int(m): m for m in MacvlanMode}


# attribute numbers read on the fast path
_ADDRESS, _IFNAME, _MTU, _LINK, _MASTER, _TXQLEN, _OPERSTATE = (
    spec.number
    for spec in (
        ifla.ADDRESS,
        ifla.IFNAME,
        ifla.MTU,
        ifla.LINK,
        ifla.MASTER,
        ifla.TXQLEN,
        ifla.OPERSTATE,
    )
)
_LINKINFO, _IFALIAS, _GROUP, _LINK_NETNSID, _MIN_MTU, _MAX_MTU = (
    spec.number
    for spec in (
        ifla.LINKINFO,
        ifla.IFALIAS,
        ifla.GROUP,
        ifla.LINK_NETNSID,
        ifla.MIN_MTU,
        ifla.MAX_MTU,
    )
)
_INFO_KIND = ifla.INFO_KIND.number
_PROMISCUITY, _ALLMULTI, _PROP_LIST = (
    spec.number for spec in (ifla.PROMISCUITY, ifla.ALLMULTI, ifla.PROP_LIST_)
)
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
_CACHE_SIZE = 512
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
    flags: Iff = Iff(0)  # noqa: RUF009 - an immutable IntFlag value
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
        raw = attrs.raw
        kind = None
        macvlan = None
        linkinfo = raw(_LINKINFO)
        if linkinfo is not None:
            known = _LINKINFO_CACHE.get(linkinfo)
            if known is None:
                info = attrs.get(ifla.LINKINFO)
                known = _remember(_LINKINFO_CACHE, linkinfo, _decode_linkinfo(info))
            kind, macvlan = known
        address = raw(_ADDRESS)
        operstate = raw(_OPERSTATE)  # u8
        flags = body.flags
        iff = _IFF_CACHE.get(flags)
        if iff is None:
            iff = _remember(_IFF_CACHE, flags, Iff(flags))
        altnames: tuple[str, ...] = ()
        if raw(_PROP_LIST) is not None:
            props = attrs.get(ifla.PROP_LIST_)
            if isinstance(props, AttrList):
                altnames = tuple(props.get_all(ifla.PROP_ALT_IFNAME))
        return cls(
            index=body.index,
            name=_text(raw(_IFNAME)) or "",
            kind=kind,
            mac=MacAddress(address) if address is not None and len(address) == 6 else None,
            mtu=u32_of(raw(_MTU)) or 0,
            up=bool(flags & 1),  # IFF_UP
            operstate=_OPERSTATES.get(operstate[0], OperState.UNKNOWN)
            if operstate is not None and len(operstate) == 1
            else OperState.UNKNOWN,
            parent_index=u32_of(raw(_LINK)) or None,
            group=u32_of(raw(_GROUP)) or 0,
            netnsid=s32_of(raw(_LINK_NETNSID)),
            txqueuelen=u32_of(raw(_TXQLEN)) or 0,
            flags=iff,
            master_index=u32_of(raw(_MASTER)) or None,
            min_mtu=u32_of(raw(_MIN_MTU)),
            max_mtu=u32_of(raw(_MAX_MTU)),
            alias=_text(raw(_IFALIAS)),
            macvlan=macvlan,
            altnames=altnames,
            promiscuity=u32_of(raw(_PROMISCUITY)) or 0,
            allmulti=u32_of(raw(_ALLMULTI)) or 0,
            attrs=attrs,
        )


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


MacLike = MacAddress | str | bytes | int


def to_mac(value: MacLike | None, what: str = "mac") -> MacAddress | None:
    """A link's own MAC: any MacAddress form, but unicast and not all zeros.

    The kernel refuses the others with EADDRNOTAVAIL; refusing them here gives a
    ValueError that quotes the input instead, before anything is sent.
    """
    if value is None:
        return None
    mac = value if isinstance(value, MacAddress) else MacAddress(value)
    if mac.is_multicast or not int(mac):
        kind = "broadcast" if mac.is_broadcast else "multicast" if mac.is_multicast else "all zeros"
        raise ValueError(f"{what} {value!r} is {kind}; a link needs a unicast MAC address")
    return mac


def to_macs(values: Iterable[MacLike], what: str = "source_macs") -> list[MacAddress]:
    """A list of unicast MACs (source-mode lists take only those too)."""
    if isinstance(values, str | bytes):
        raise TypeError(f"{what} is a sequence of MAC addresses, not {values!r}")
    out = []
    for value in values:
        mac = to_mac(value, what)
        if mac is None:
            raise TypeError(f"{what} holds None, not a MAC address")
        out.append(mac)
    return out


def check_up(up: object, *, optional: bool = False) -> bool | None:
    """``up`` must be a bool (or None where "leave it" is allowed)."""
    if up is None and optional:
        return None
    if not isinstance(up, bool):
        raise TypeError(f"up must be True or False, not {up!r}")
    return up


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


# -- validation helpers ----------------------------------------------------------------
def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name}={value!r} is outside {low}..{high}")
    return value


def check_mode(mode: object) -> MacvlanMode:
    if isinstance(mode, MacvlanMode):
        return mode
    if isinstance(mode, str):
        try:
            return MacvlanMode[mode.upper()]
        except KeyError:
            names = ", ".join(m.name.lower() for m in MacvlanMode)
            raise ValueError(f"unknown macvlan mode {mode!r}; expected one of {names}") from None
    if isinstance(mode, int) and not isinstance(mode, bool):
        try:
            return MacvlanMode(mode)
        except ValueError:
            raise ValueError(f"unknown macvlan mode {mode!r}") from None
    raise TypeError(f"mode must be a MacvlanMode, not {mode!r}")


def check_flags(flags: object) -> MacvlanFlags:
    if isinstance(flags, MacvlanFlags):
        return flags
    if isinstance(flags, int) and not isinstance(flags, bool):
        if flags & ~0x3:
            raise ValueError(f"unknown macvlan flags {flags:#x}")
        return MacvlanFlags(flags)
    raise TypeError(f"flags must be MacvlanFlags, not {flags!r}")


# -- request builders (sans-IO) --------------------------------------------------------
def get_link(ref: int | str, *, netnsid: int | None = None) -> Message:
    """``RTM_GETLINK`` for one link by index or name (no dump)."""
    attrs: list[Attr[Any]] = [ifla.EXT_MASK(RTEXT_FILTER_SKIP_STATS)]
    index = 0
    if isinstance(ref, int):
        index = ref
    else:
        attrs.append(ifla.IFNAME(ref))
    if netnsid is not None:
        attrs.append(ifla.TARGET_NETNSID(netnsid))
    return Message(RtmType.GETLINK, 0, body=IfInfoMsg(index=index), attrs=attrs)


def dump_links(kind: str | None = None, master: int | None = None) -> Message:
    """``RTM_GETLINK`` dump; the kernel filters by kind and master (strict mode)."""
    attrs: list[Attr[Any]] = [ifla.EXT_MASK(RTEXT_FILTER_SKIP_STATS)]
    if kind is not None:
        attrs.append(ifla.LINKINFO([ifla.INFO_KIND(kind)]))
    if master is not None:
        attrs.append(ifla.MASTER(master))
    return Message(RtmType.GETLINK, 0, body=IfInfoMsg(), attrs=attrs)


def macvlan_data(
    mode: MacvlanMode | None,
    flags: MacvlanFlags | None,
    bcqueuelen: int | None,
    bc_cutoff: int | None,
    source_macs: Iterable[MacAddress] | None,
    source_op: MacaddrMode = MacaddrMode.SET,
) -> list[Attr[Any]]:
    data: list[Attr[Any]] = []
    if mode is not None:
        data.append(ifla.MACVLAN_MODE(mode))
    if flags is not None:
        data.append(ifla.MACVLAN_FLAGS(flags))
    if bcqueuelen is not None:
        data.append(ifla.MACVLAN_BC_QUEUE_LEN(_check_int("bcqueuelen", bcqueuelen, 0, 2**32 - 1)))
    if bc_cutoff is not None:
        data.append(ifla.MACVLAN_BC_CUTOFF(_check_int("bc_cutoff", bc_cutoff, -(2**31), 2**31 - 1)))
    if source_macs is not None:
        data.extend(source_mac_attrs(source_op, list(source_macs)))
    return data


def source_mac_attrs(op: MacaddrMode, macs: Sequence[MacAddress]) -> list[Attr[Any]]:
    """The ``IFLA_MACVLAN_MACADDR*`` attributes that apply ``op`` to a source list.

    The kernel reads one ``MACADDR`` per message for ADD and DEL (so those take
    exactly one address; send one message each), flushes and adds
    ``MACADDR_DATA`` for SET, and takes no address for FLUSH.
    """
    attrs: list[Attr[Any]] = [ifla.MACVLAN_MACADDR_MODE(op)]
    if op in (MacaddrMode.ADD, MacaddrMode.DEL):
        if len(macs) != 1:
            raise ValueError(
                f"source_op={op.name} takes one MAC per message, not {len(macs)}; "
                "send one message each"
            )
        attrs.append(ifla.MACVLAN_MACADDR(macs[0].packed))
    elif op == MacaddrMode.SET:
        attrs.append(ifla.MACVLAN_MACADDR_DATA([ifla.MACADDRS_MACADDR(m.packed) for m in macs]))
    elif macs:
        raise ValueError(f"source_op={op.name} takes no MACs; use SET to replace the list")
    return attrs


def common_attrs(
    *,
    name: str | None = None,
    mac: MacAddress | None = None,
    mtu: int | None = None,
    txqueuelen: int | None = None,
    group: int | None = None,
    netns_fd: int | None = None,
) -> list[Attr[Any]]:
    attrs: list[Attr[Any]] = []
    if name is not None:
        attrs.append(ifla.IFNAME(check_ifname(name)))
    if mac is not None:
        attrs.append(ifla.ADDRESS(mac.packed))
    if mtu is not None:
        attrs.append(ifla.MTU(_check_int("mtu", mtu, 68, 2**31 - 1)))
    if txqueuelen is not None:
        attrs.append(ifla.TXQLEN(_check_int("txqueuelen", txqueuelen, 0, 2**32 - 1)))
    if group is not None:
        attrs.append(ifla.GROUP(_check_int("group", group, 0, 2**32 - 1)))
    if netns_fd is not None:
        attrs.append(ifla.NET_NS_FD(netns_fd))
    return attrs


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
) -> Message:
    """``RTM_NEWLINK`` creating a macvlan or macvtap, MAC included."""
    if kind not in MACVLAN_KINDS:
        raise ValueError(f"kind must be 'macvlan' or 'macvtap', not {kind!r}")
    if source_macs and mode != MacvlanMode.SOURCE:
        raise ValueError("source_macs only applies to MacvlanMode.SOURCE")
    if mac is not None and mode == MacvlanMode.PASSTHRU:
        raise ValueError(
            f"a passthru {kind} takes its parent's MAC; mac={str(mac)!r} cannot be given "
            "(set the parent's MAC instead)"
        )
    attrs = common_attrs(
        name=name, mac=mac, mtu=mtu, txqueuelen=txqueuelen, group=group, netns_fd=netns_fd
    )
    attrs.append(ifla.LINK(parent_index))
    plain = bcqueuelen is None and bc_cutoff is None and not source_macs
    key = (kind, mode, flags)
    linkinfo = _PLAIN_LINKINFO.get(key) if plain else None
    if linkinfo is None:
        data = macvlan_data(
            mode, flags or None, bcqueuelen, bc_cutoff, source_macs if source_macs else None
        )
        info: list[Attr[Any]] = [ifla.INFO_KIND(kind)]
        if data:
            info.append(ifla.INFO_DATA(data))
        linkinfo = ifla.LINKINFO(info)
        if plain:  # an immutable value: built once per kind, mode and flags
            _PLAIN_LINKINFO[key] = linkinfo
    attrs.append(linkinfo)
    up_flag = Iff.UP if up else 0
    return Message(
        RtmType.NEWLINK,
        _CREATE_EXCL,
        body=IfInfoMsg(flags=up_flag, change=up_flag),
        attrs=attrs,
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
    peer_attrs = common_attrs(name=peer, mac=peer_mac, mtu=mtu, netns_fd=peer_netns_fd)
    attrs = common_attrs(name=name, mac=mac, mtu=mtu)
    peer_info = ifla.PeerInfo(IfInfoMsg(), tuple(peer_attrs))
    attrs.append(
        ifla.LINKINFO([ifla.INFO_KIND("veth"), ifla.INFO_DATA([ifla.VETH_PEER(peer_info)])])
    )
    up_flag = Iff.UP if up else 0
    return Message(
        RtmType.NEWLINK,
        _CREATE_EXCL,
        body=IfInfoMsg(flags=up_flag, change=up_flag),
        attrs=attrs,
    )


def set_link(
    index: int,
    *,
    up: bool | None = None,
    attrs: Sequence[Attr[Any] | RawAttr] = (),
    promisc: bool | None = None,
    allmulti: bool | None = None,
) -> Message:
    """``RTM_NEWLINK`` without CREATE: change an existing link (and its UP,
    PROMISC and ALLMULTI flags where given)."""
    flags, change = flag_changes(up=up, promisc=promisc, allmulti=allmulti)
    return Message(
        RtmType.NEWLINK, 0, body=IfInfoMsg(index=index, flags=flags, change=change), attrs=attrs
    )


def del_link(ref: int | str) -> Message:
    if isinstance(ref, int):
        return Message(RtmType.DELLINK, 0, body=IfInfoMsg(index=ref))
    return Message(RtmType.DELLINK, 0, body=IfInfoMsg(), attrs=[ifla.IFNAME(ref)])


def del_group(group: int) -> Message:
    """``RTM_DELLINK`` with ifindex 0 and ``IFLA_GROUP``: delete a whole group at once."""
    return Message(RtmType.DELLINK, 0, body=IfInfoMsg(), attrs=[ifla.GROUP(group)])
