"""802.1Q sub-interfaces (``eth0.50``) as Docker's macvlan driver makes them.

A network whose parent is named ``BASE.ID`` (ID 1..4094) and does not exist yet gets
that VLAN link created on ``BASE``, and removed again with the last network using
it.  Sans-IO: :func:`new_vlan` builds the ``RTM_NEWLINK`` request.

Attribute numbers (include/uapi/linux/if_link.h): ``IFLA_VLAN_ID`` 1 (u16),
``IFLA_VLAN_FLAGS`` 2, ``IFLA_VLAN_EGRESS_QOS`` 3, ``IFLA_VLAN_INGRESS_QOS`` 4,
``IFLA_VLAN_PROTOCOL`` 5 (__be16).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from macvlan._netlink import ifla
from macvlan._netlink.attr import Attr, RawAttr
from macvlan._netlink.constants import NlmF, RtmType
from macvlan._netlink.message import Message
from macvlan._netlink.structs import IfInfoMsg
from macvlan.link import check_ifname

__all__ = ["VlanParent", "new_vlan", "parse_vlan_parent"]

VLAN_ID = ifla.VLAN_ID
VLAN_PROTOCOL = ifla.VLAN_PROTOCOL

ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8

_DOTTED = re.compile(r"^(?P<base>.+)\.(?P<id>[0-9]{1,4})$")


@dataclass(frozen=True, slots=True)
class VlanParent:
    """A parent name of the form ``BASE.ID``."""

    name: str
    base: str
    vlan_id: int


def parse_vlan_parent(name: str) -> VlanParent | None:
    """``"eth0.50"`` -> VlanParent("eth0.50", "eth0", 50); None if not of that form.

    Raises ValueError for a dotted name whose number is not a VLAN ID (1..4094).
    """
    match = _DOTTED.match(name)
    if match is None:
        return None
    vlan_id = int(match["id"])
    if not 1 <= vlan_id <= 4094:
        raise ValueError(f"parent {name!r}: VLAN ID {vlan_id} is outside 1..4094")
    return VlanParent(check_ifname(name), check_ifname(match["base"]), vlan_id)


def new_vlan(name: str, parent_index: int, vlan_id: int, *, protocol: int | None = None) -> Message:
    """``RTM_NEWLINK`` creating VLAN ``vlan_id`` on link ``parent_index`` as ``name``.

    The attributes come in the order iproute2 sends them (``IFLA_LINK``,
    ``IFLA_IFNAME``, ``IFLA_LINKINFO``), and the kind without its NUL as iproute2
    sends it, so the bytes equal those of ``ip link add link P name N type vlan id I``.
    """
    check_ifname(name)
    if isinstance(vlan_id, bool) or not isinstance(vlan_id, int) or not 1 <= vlan_id <= 4094:
        raise ValueError(f"VLAN ID {vlan_id!r} is outside 1..4094")
    data = [VLAN_ID(vlan_id)]
    if protocol is not None:
        if protocol not in (ETH_P_8021Q, ETH_P_8021AD):
            raise ValueError(f"VLAN protocol {protocol:#x} is neither 802.1Q nor 802.1ad")
        data.append(VLAN_PROTOCOL(protocol))
    info: list[Attr[Any] | RawAttr] = [
        RawAttr(ifla.INFO_KIND.number, b"vlan"),
        ifla.INFO_DATA(data),
    ]
    return Message(
        RtmType.NEWLINK,
        NlmF.CREATE | NlmF.EXCL,
        body=IfInfoMsg(),
        attrs=[ifla.LINK(parent_index), ifla.IFNAME(name), ifla.LINKINFO(info)],
    )
