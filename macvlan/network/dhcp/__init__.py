"""A DHCPv4 client of our own (RFC 2131/2132): the sans-IO codec and state machine,
the sockets that carry it inside an endpoint's namespace, and the :class:`Lease`."""

from __future__ import annotations

from macvlan.network.dhcp.lease import Lease

__all__ = ["Lease"]
