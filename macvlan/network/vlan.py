"""802.1Q sub-interfaces (``eth0.50``) as Docker's macvlan driver makes them.

A network whose parent is named ``BASE.ID`` (ID 1..4094) and does not exist yet gets
that VLAN link created on ``BASE``, and removed again with the last network using
it.  The request is :func:`macvlan.link.new_vlan` (sent by ``Connection.create_vlan``).

Attribute numbers (include/uapi/linux/if_link.h): ``IFLA_VLAN_ID`` 1 (u16),
``IFLA_VLAN_FLAGS`` 2, ``IFLA_VLAN_EGRESS_QOS`` 3, ``IFLA_VLAN_INGRESS_QOS`` 4,
``IFLA_VLAN_PROTOCOL`` 5 (__be16).
"""

from __future__ import annotations

import re

from macvlan._dataclass import dataclass
from macvlan._netlink import ifla
from macvlan.link import ETH_P_8021AD, ETH_P_8021Q, check_ifname, new_vlan

__all__ = ["ETH_P_8021AD", "ETH_P_8021Q", "VlanParent", "new_vlan", "parse_vlan_parent"]

VLAN_ID = ifla.VLAN_ID
VLAN_PROTOCOL = ifla.VLAN_PROTOCOL


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
