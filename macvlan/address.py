"""IP addresses on links: the :class:`Address` snapshot and its requests (sans-IO)."""

from __future__ import annotations

import ipaddress

from macvlan import _argcheck
from macvlan._dataclass import dataclass
from macvlan._netlink import ifa, requests
from macvlan._netlink.constants import AddrFamily, IfaFlags, RtScope
from macvlan._netlink.message import Message
from macvlan._netlink.structs import IfAddrMsg
from macvlan.errors import ProtocolError

Interface = _argcheck.IPInterface


def to_interface(value: object) -> Interface:
    """Parse ``"10.0.0.2/24"`` (or an ``ip_interface``); a bare address is a host route."""
    return _argcheck.interface(value, "address")


@dataclass(frozen=True, slots=True)
class Address:
    """One address on one link, as the kernel reported it."""

    index: int
    interface: Interface
    scope: RtScope | int
    flags: IfaFlags
    label: str | None = None
    broadcast: ipaddress.IPv4Address | None = None

    @property
    def family(self) -> AddrFamily:
        """``AddrFamily.INET`` or ``AddrFamily.INET6``, by the address's version."""
        return AddrFamily.INET if self.interface.version == 4 else AddrFamily.INET6

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        """The address without its prefix length."""
        return self.interface.ip

    @property
    def address(self) -> Interface:
        """:attr:`interface` under the name ``add_address(link, address)`` gives it."""
        return self.interface

    @property
    def link(self) -> int:
        """:attr:`index` under the name ``add_address(link, address)`` gives it."""
        return self.index

    @classmethod
    def from_message(cls, message: Message) -> Address:
        """Build a snapshot from an ``RTM_NEWADDR`` message."""
        body, attrs = message.decoded(IfAddrMsg, "address")
        ip = attrs.get(ifa.LOCAL) or attrs.get(ifa.ADDRESS)
        if ip is None:
            raise ValueError("address message without IFA_LOCAL or IFA_ADDRESS")
        flags = attrs.get(ifa.FLAGS)
        try:
            scope: RtScope | int = RtScope(body.scope)
        except ValueError:
            scope = body.scope
        broadcast = attrs.get(ifa.BROADCAST)
        return cls(
            index=body.index,
            interface=_interface(ip, body.prefixlen),
            scope=scope,
            flags=IfaFlags(body.flags) if flags is None else flags,
            label=attrs.get(ifa.LABEL),
            broadcast=broadcast if isinstance(broadcast, ipaddress.IPv4Address) else None,
        )


def _interface(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, prefixlen: int) -> Interface:
    try:
        return ipaddress.ip_interface((ip, prefixlen))
    except ValueError:
        raise ProtocolError(f"address {ip} with impossible prefix length {prefixlen}") from None


def _family(interface: Interface) -> int:
    return AddrFamily.INET if interface.version == 4 else AddrFamily.INET6


def new_address(index: int, interface: Interface, *, nodad: bool = False) -> Message:
    """``RTM_NEWADDR``: the address, its prefix, and the IPv4 broadcast address."""
    if nodad and interface.version == 4:
        raise ValueError("nodad applies to IPv6 addresses only")
    network = interface.network
    broadcast = None
    if interface.version == 4 and network.prefixlen < 31:
        broadcast = network.broadcast_address.packed
    return requests.new_address(
        index,
        _family(interface),
        network.prefixlen,
        interface.ip.packed,
        broadcast=broadcast,
        flags=int(IfaFlags.NODAD) if nodad else 0,
    )


def del_address(index: int, interface: Interface) -> Message:
    """``RTM_DELADDR`` for that address on that link."""
    return requests.del_address(
        index, _family(interface), interface.network.prefixlen, interface.ip.packed
    )


dump_addresses = requests.dump_addresses
