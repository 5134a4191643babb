"""Adding, deleting and listing IP addresses (macvlan.address, and ipaddress with it,
load on first use: opening a connection does not import them)."""

from __future__ import annotations

from macvlan._netlink.constants import RtmType
from macvlan._netlink.message import Message
from macvlan._operations.effects import (
    Dump,
    LinkRef,
    Op,
    Request,
)
from macvlan._operations.lookup import index
from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from macvlan.address import Address


def add_address(link: LinkRef, address: object, *, nodad: bool = False) -> Op[None]:
    """Add ``"10.0.0.2/24"`` or ``"fd00::2/64"`` to a link (IPv6: ``nodad`` skips DAD)."""
    from macvlan import address as _address

    interface = _address.to_interface(address)
    _address.new_address(0, interface, nodad=nodad)  # validate before the lookup
    ix = yield from index(link)
    message = _address.new_address(ix, interface, nodad=nodad)
    yield Request(message, f"add address {interface} to link {ix}")


def delete_address(link: LinkRef, address: object) -> Op[None]:
    """Remove ``"10.0.0.2/24"`` or ``"fd00::2/64"`` from a link."""
    from macvlan import address as _address

    interface = _address.to_interface(address)
    ix = yield from index(link)
    yield Request(_address.del_address(ix, interface), f"delete address {interface} from link {ix}")


def addresses(link: LinkRef | None = None, *, family: int | None = None) -> Op[list[Address]]:
    """Addresses of one link or of all (the kernel filters by link)."""
    from macvlan import address as _address
    from macvlan.address import Address

    ix = 0 if link is None else (yield from index(link))
    replies: list[Message] = yield Dump(_address.dump_addresses(ix, family or 0), "list addresses")
    out = [Address.from_message(r) for r in replies if r.type == RtmType.NEWADDR]
    return [a for a in out if not ix or a.index == ix]
