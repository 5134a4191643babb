"""IPv4/UDP framing and ARP packets for the DHCP client: sans-IO, no sockets.

Before a client has an address it sends and receives whole IPv4 datagrams through a
packet socket (the kernel's UDP stack would drop replies to an address the
interface does not hold yet); these functions build and parse them.
"""

from __future__ import annotations

import ipaddress
import struct

from macvlan._dataclass import dataclass
from macvlan.mac import MacAddress

__all__ = [
    "ARP_REPLY",
    "ARP_REQUEST",
    "ETH_P_ARP",
    "ETH_P_IP",
    "Arp",
    "UdpDatagram",
    "checksum",
    "parse_udp",
    "udp_packet",
]

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ARP_REQUEST = 1
ARP_REPLY = 2
_IP = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")
_PROTO_UDP = 17


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = int(sum(struct.unpack(f"!{len(data) // 2}H", data)))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    """A UDP datagram parsed out of an IPv4 packet."""

    src: ipaddress.IPv4Address
    dst: ipaddress.IPv4Address
    sport: int
    dport: int
    payload: bytes


def udp_packet(
    src: ipaddress.IPv4Address,
    dst: ipaddress.IPv4Address,
    sport: int,
    dport: int,
    payload: bytes,
    *,
    ttl: int = 64,
) -> bytes:
    """An IPv4 packet holding one UDP datagram, both checksums filled in."""
    length = _UDP.size + len(payload)
    pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, _PROTO_UDP, length)
    udp_sum = checksum(pseudo + _UDP.pack(sport, dport, length, 0) + payload) or 0xFFFF
    udp = _UDP.pack(sport, dport, length, udp_sum) + payload
    head = _IP.pack(
        0x45, 0x10, _IP.size + len(udp), 0, 0, ttl, _PROTO_UDP, 0, src.packed, dst.packed
    )
    head = head[:10] + struct.pack("!H", checksum(head)) + head[12:]
    return head + udp


def parse_udp(packet: bytes) -> UdpDatagram | None:
    """The UDP datagram in an IPv4 packet, or None for anything else (other
    protocols, fragments, bad header checksums, truncated packets)."""
    if len(packet) < _IP.size:
        return None
    vihl, _, total, _, frag, _, proto, _, src, dst = _IP.unpack_from(packet)
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < _IP.size or proto != _PROTO_UDP or frag & 0x3FFF:
        return None
    if total > len(packet) or total < ihl + _UDP.size or checksum(packet[:ihl]) != 0:
        return None
    sport, dport, length, _ = _UDP.unpack_from(packet, ihl)
    if length < _UDP.size or ihl + length > total:
        return None
    return UdpDatagram(
        ipaddress.IPv4Address(src),
        ipaddress.IPv4Address(dst),
        sport,
        dport,
        bytes(packet[ihl + _UDP.size : ihl + length]),
    )


@dataclass(frozen=True, slots=True)
class Arp:
    """An Ethernet/IPv4 ARP packet (RFC 826), as used by RFC 5227 probes."""

    op: int
    sender_mac: MacAddress
    sender_ip: ipaddress.IPv4Address
    target_mac: MacAddress
    target_ip: ipaddress.IPv4Address

    @classmethod
    def probe(cls, mac: MacAddress, address: ipaddress.IPv4Address) -> Arp:
        """An RFC 5227 probe: who has ``address``?, sent from 0.0.0.0."""
        return cls(ARP_REQUEST, mac, ipaddress.IPv4Address(0), MacAddress(0), address)

    @classmethod
    def announcement(cls, mac: MacAddress, address: ipaddress.IPv4Address) -> Arp:
        """An RFC 5227 announcement (a gratuitous ARP request) for ``address``."""
        return cls(ARP_REQUEST, mac, address, MacAddress(0), address)

    def encode(self) -> bytes:
        """The ARP payload (without the Ethernet header)."""
        return _ARP.pack(
            1,
            ETH_P_IP,
            6,
            4,
            self.op,
            self.sender_mac.packed,
            self.sender_ip.packed,
            self.target_mac.packed,
            self.target_ip.packed,
        )

    @classmethod
    def decode(cls, data: bytes) -> Arp | None:
        """The ARP packet in ``data``, or None if it is not Ethernet/IPv4 ARP."""
        if len(data) < _ARP.size:
            return None
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(data)
        if (htype, ptype, hlen, plen) != (1, ETH_P_IP, 6, 4) or op not in (1, 2):
            return None
        return cls(
            op,
            MacAddress(sha),
            ipaddress.IPv4Address(spa),
            MacAddress(tha),
            ipaddress.IPv4Address(tpa),
        )

    def conflicts(self, address: ipaddress.IPv4Address, own: MacAddress) -> bool:
        """Whether this packet shows another host using ``address`` (RFC 5227 2.1.1):
        it comes from ``address``, or is another host's probe for it."""
        if self.sender_mac == own:
            return False
        if self.sender_ip == address:
            return True
        return self.op == ARP_REQUEST and int(self.sender_ip) == 0 and self.target_ip == address
