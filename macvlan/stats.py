"""Link statistics: the :class:`LinkStats` snapshot of ``IFLA_STATS64`` and the
carrier counters, and the request that reads them (sans-IO)."""

from __future__ import annotations

import struct

from macvlan._dataclass import dataclass
from macvlan._netlink import ifla, requests
from macvlan._netlink.codecs import u32_of
from macvlan._netlink.message import Message
from macvlan._netlink.structs import IfInfoMsg
from macvlan.errors import ProtocolError

__all__ = ["LinkStats"]

_U64 = struct.Struct("=Q")


@dataclass(frozen=True, slots=True)
class LinkStats:
    """A link's counters (``struct rtnl_link_stats64``) and carrier changes.

    Counters the running kernel does not report (newer than it) read as 0.
    """

    index: int
    name: str
    rx_packets: int = 0
    tx_packets: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_errors: int = 0
    tx_errors: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0
    multicast: int = 0
    collisions: int = 0
    rx_length_errors: int = 0
    rx_over_errors: int = 0
    rx_crc_errors: int = 0
    rx_frame_errors: int = 0
    rx_fifo_errors: int = 0
    rx_missed_errors: int = 0
    tx_aborted_errors: int = 0
    tx_carrier_errors: int = 0
    tx_fifo_errors: int = 0
    tx_heartbeat_errors: int = 0
    tx_window_errors: int = 0
    rx_compressed: int = 0
    tx_compressed: int = 0
    rx_nohandler: int = 0
    rx_otherhost_dropped: int = 0
    carrier_changes: int | None = None
    carrier_up_count: int | None = None
    carrier_down_count: int | None = None

    @classmethod
    def from_message(cls, message: Message) -> LinkStats:
        """The counters of an ``RTM_NEWLINK`` message asked for with statistics."""
        body, attrs = message.decoded(IfInfoMsg, "link")
        raw = attrs.raw(ifla.STATS64.number)
        if raw is None:
            raise ProtocolError(f"link {body.index} was reported without IFLA_STATS64")
        if len(raw) % 8:
            raise ProtocolError(f"IFLA_STATS64 of {len(raw)} bytes is not a list of u64")
        counters = [_U64.unpack_from(raw, i)[0] for i in range(0, len(raw), 8)]
        name = attrs.raw(ifla.IFNAME.number) or b"\0"
        values = dict(zip(_COUNTERS, counters, strict=False))
        return cls(
            index=body.index,
            name=name.rstrip(b"\0").decode("utf-8", "surrogateescape"),
            carrier_changes=u32_of(attrs.raw(ifla.CARRIER_CHANGES.number)),
            carrier_up_count=u32_of(attrs.raw(ifla.CARRIER_UP_COUNT.number)),
            carrier_down_count=u32_of(attrs.raw(ifla.CARRIER_DOWN_COUNT.number)),
            **values,
        )


_COUNTERS = LinkStats.__match_args__[2:-3]


def get_stats(ref: int | str) -> Message:
    """``RTM_GETLINK`` for one link, statistics included (no ``IFLA_EXT_MASK``)."""
    return requests.get_link(ref, stats=True)
