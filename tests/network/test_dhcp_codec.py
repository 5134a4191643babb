"""The DHCPv4 codec, framing and client state machine on bytes captured from real
dnsmasq and busybox udhcpd exchanges (tests/golden/dhcp; no root needed)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import random
from pathlib import Path

import pytest

from macvlan import DhcpProtocolError, MacAddress
from macvlan.network.dhcp.client import Bound, Client, Ignored, Refused, Send, State
from macvlan.network.dhcp.lease import Lease
from macvlan.network.dhcp.message import Message, MessageType, Opt
from macvlan.network.dhcp.packet import Arp, checksum, parse_udp, udp_packet

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "dhcp"
META = json.loads((GOLDEN / "captures.json").read_text())
IP = ipaddress.IPv4Address


def load(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def message(name: str) -> Message:
    return Message.decode(load(name))


@pytest.mark.parametrize("capture", META["files"], ids=lambda c: c["file"])
def test_every_capture_decodes_to_its_type_and_round_trips(capture: dict) -> None:
    data = load(capture["file"])
    msg = Message.decode(data)
    assert msg.message_type is MessageType[capture["type"].upper()]
    assert msg.chaddr == MacAddress(capture["chaddr"])
    assert msg.xid == int(capture["xid"], 16)
    again = Message.decode(msg.encode())
    assert again == msg
    assert again.options == msg.options
    if capture.get("byte_identical"):
        assert msg.encode() == data


def test_dnsmasq_offer_fields() -> None:
    capture = next(c for c in META["files"] if c["server"] == "dnsmasq" and c["type"] == "offer")
    offer = message(capture["file"])
    assert offer.op == 2
    assert offer.yiaddr == IP(capture["yiaddr"])
    assert offer.server_id == IP("10.77.0.1")
    assert offer.lease_time == 120
    assert offer.renewal_time == 60 and offer.rebinding_time == 105
    assert offer.subnet_mask == IP("255.255.255.0")
    assert offer.routers == (IP("10.77.0.1"),)
    assert offer.dns == (IP("10.77.0.1"),)
    assert offer.interface == ipaddress.IPv4Interface(f"{capture['yiaddr']}/24")
    assert offer.option(Opt.BROADCAST) == IP("10.77.0.255").packed


def test_udhcpd_ack_has_no_t1_t2_so_the_rfc_defaults_apply() -> None:
    capture = next(c for c in META["files"] if c["server"] == "udhcpd" and c["type"] == "ack")
    ack = message(capture["file"])
    assert ack.renewal_time is None and ack.rebinding_time is None
    assert ack.lease_time == 120
    client = Client(ack.chaddr, b"\x01" + ack.chaddr.packed, xid=ack.xid)
    client.state = State.REQUESTING
    client.offer = ack  # the offer it answers carried the same address
    event = client.handle(ack, 1000.0)
    assert isinstance(event, Bound)
    lease = event.lease
    assert lease.renew_at == pytest.approx(client._sent_at + 60)
    assert lease.rebind_at == pytest.approx(client._sent_at + 105)
    assert lease.expires == pytest.approx(client._sent_at + 120)


@pytest.mark.parametrize("server", ["dnsmasq", "udhcpd"])
def test_client_walks_a_captured_exchange(server: str) -> None:
    files = [c for c in META["files"] if c["server"] == server and c.get("exchange") == 1]
    discover = message(next(c["file"] for c in files if c["type"] == "discover"))
    offer = message(next(c["file"] for c in files if c["type"] == "offer"))
    ack = message(next(c["file"] for c in files if c["type"] == "ack"))
    cid = discover.client_id
    assert cid is not None
    client = Client(discover.chaddr, cid, "ep1", rng=random.Random(1))
    sent = client.discover(100.0)
    client.xid = discover.xid  # as if ours had drawn the captured xid
    assert sent.message.message_type is MessageType.DISCOVER and sent.to is None
    assert sent.message.client_id == cid and sent.message.hostname == "ep1"
    event = client.handle(offer, 100.1)
    assert isinstance(event, Send)
    request = event.message
    assert request.message_type is MessageType.REQUEST
    assert request.requested_ip == offer.yiaddr
    assert request.server_id == offer.server_id
    assert request.ciaddr == IP(0)
    assert client.state is State.REQUESTING
    assert isinstance(client.handle(offer, 100.2), Ignored)  # a late duplicate offer
    bound = client.handle(ack, 100.3)
    assert isinstance(bound, Bound)
    assert bound.lease.address.ip == offer.yiaddr
    assert bound.lease.server == IP("10.77.0.1")
    assert bound.lease.router == IP("10.77.0.1")
    assert bound.lease.expires == pytest.approx(100.1 + 120)
    assert client.state is State.BOUND


def test_replies_for_others_are_ignored() -> None:
    offer = message(next(c["file"] for c in META["files"] if c["type"] == "offer"))
    client = Client(offer.chaddr, b"\x01" + offer.chaddr.packed)
    client.discover(1.0)
    assert isinstance(client.handle(offer, 1.0), Ignored)  # another xid
    client.xid = offer.xid
    other = Client(MacAddress("02:00:00:00:00:99"), b"\x00xy", xid=offer.xid)
    other.discover(1.0)
    other.xid = offer.xid
    assert isinstance(other.handle(offer, 1.0), Ignored)  # another MAC
    echoed = offer.with_options((Opt.CLIENT_ID, b"\x00someone-else"))
    assert isinstance(client.handle(echoed, 1.0), Ignored)


def test_nak_sends_the_client_back_to_init() -> None:
    capture = next(c for c in META["files"] if c["type"] == "nak")
    nak = message(capture["file"])
    assert nak.yiaddr == IP(0)
    client = Client(nak.chaddr, b"\x01" + nak.chaddr.packed, xid=nak.xid)
    lease = Lease(ipaddress.IPv4Interface("10.77.0.99/24"), IP("10.77.0.1"), None, (), 120, 0, 0, 1)
    client.renew(lease, 5.0)
    client.xid = nak.xid
    event = client.handle(nak, 5.1)
    assert isinstance(event, Refused)
    assert event.server == IP("10.77.0.1")
    assert client.state is State.INIT


def test_renew_rebind_release_decline_shapes() -> None:
    mac = MacAddress("02:00:00:aa:bb:02")
    client = Client(mac, b"\xff" + bytes(20), "h")
    lease = Lease(
        ipaddress.IPv4Interface("10.1.2.3/24"), IP("10.1.2.1"), IP("10.1.2.1"), (), 100, 50, 87, 100
    )
    renew = client.renew(lease, 60.0)
    assert renew.to == IP("10.1.2.1")
    assert renew.message.ciaddr == IP("10.1.2.3")
    assert renew.message.requested_ip is None and renew.message.server_id is None
    rebind = client.rebind(lease, 90.0)
    assert rebind.to is None and rebind.message.ciaddr == IP("10.1.2.3")
    release = client.release(lease, 91.0)
    assert release.message.message_type is MessageType.RELEASE
    assert release.to == IP("10.1.2.1") and release.message.server_id == IP("10.1.2.1")
    assert release.message.option(Opt.PARAMETERS) is None
    decline = client.decline(lease, 92.0)
    assert decline.message.message_type is MessageType.DECLINE and decline.to is None
    assert decline.message.requested_ip == IP("10.1.2.3")
    assert decline.message.ciaddr == IP(0)
    assert decline.message.hostname is None  # RFC 2131 table 5: MUST NOT


def test_discover_asks_for_the_previous_address() -> None:
    client = Client(MacAddress("02:00:00:aa:bb:03"), b"\x00id", requested=IP("10.0.0.7"))
    msg = client.discover(0.0).message
    assert msg.requested_ip == IP("10.0.0.7")
    assert len(msg.encode()) >= 300


def test_long_options_split_and_join() -> None:
    value = bytes(range(256)) * 2  # 512 bytes: three pieces on the wire
    msg = Message(op=1, xid=7, chaddr=MacAddress("02:00:00:00:00:01"), options=((77, value),))
    data = msg.encode()
    assert data.count(bytes((77, 255))) == 2
    assert Message.decode(data).option(77) == value


def test_option_overload_reads_file_and_sname() -> None:
    base = Message(op=2, xid=1, chaddr=MacAddress("02:00:00:00:00:01"))
    data = bytearray(base.encode())
    # file field (offset 108) holds option 51, sname (44) option 54; overload = 3
    data[108:114] = bytes((51, 4, 0, 0, 0, 60))
    data[108 + 6] = 255
    data[44:50] = bytes((54, 4, 10, 0, 0, 1))
    data[50] = 255
    data[240:244] = bytes((52, 1, 3, 255))
    msg = Message.decode(bytes(data))
    assert msg.lease_time == 60 and msg.server_id == IP("10.0.0.1")
    assert msg.file == b"" and msg.sname == b""


@pytest.mark.parametrize(
    ("mutate", "text"),
    [
        (lambda d: d[:200], "too short"),
        (lambda d: d[:236] + b"\0\0\0\0" + d[240:], "magic"),
        (lambda d: b"\x03" + d[1:], "op 3"),
        (lambda d: d[:240] + bytes((53, 9, 1)), "claims 9"),
        (lambda d: d[:240] + bytes((53,)), "no length"),
        (lambda d: d[:240] + bytes((53, 1, 9, 255)), "not a DHCP type"),
        (lambda d: d[:240] + bytes((54, 3, 1, 2, 3, 255)), "not an address"),
        (lambda d: d[:240] + bytes((3, 5, 1, 2, 3, 4, 5, 255)), "list of addresses"),
        (lambda d: d[:240] + bytes((1, 4, 255, 0, 255, 0, 255)), "not contiguous"),
        (lambda d: d[:240] + bytes((52, 1, 7, 255)), "overload"),
        (lambda d: d[:1] + b"\x06\x08" + d[3:], "not Ethernet"),
    ],
)
def test_malformed_messages_raise_protocol_error(mutate, text) -> None:  # type: ignore[no-untyped-def]
    data = load(META["files"][1]["file"])
    with pytest.raises(DhcpProtocolError, match=text):
        Message.decode(mutate(data))


def test_random_corruption_raises_only_protocol_errors() -> None:
    rng = random.Random(17)
    seeds = [load(c["file"]) for c in META["files"]]
    for _ in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(236, len(data))] = rng.randrange(256)
        cut = rng.randint(230, len(data))
        with contextlib.suppress(DhcpProtocolError):
            Message.decode(bytes(data[:cut]))


def test_decode_refuses_non_bytes() -> None:
    with pytest.raises(TypeError):
        Message.decode("not bytes")  # type: ignore[arg-type]


def test_udp_framing_round_trip_and_checksums() -> None:
    payload = load(META["files"][0]["file"])
    packet = udp_packet(IP(0), IP("255.255.255.255"), 68, 67, payload)
    assert checksum(packet[:20]) == 0
    datagram = parse_udp(packet)
    assert datagram is not None
    assert (datagram.sport, datagram.dport, datagram.payload) == (68, 67, payload)
    # the UDP checksum verifies over the pseudo header
    pseudo = IP(0).packed + IP("255.255.255.255").packed + bytes((0, 17)) + packet[24:26]
    assert checksum(pseudo + packet[20:]) == 0
    broken = bytearray(packet)
    broken[8] ^= 0xFF  # TTL: header checksum no longer holds
    assert parse_udp(bytes(broken)) is None
    assert parse_udp(packet[:25]) is None
    assert parse_udp(b"\x60" + packet[1:]) is None  # IPv6 version nibble


def test_arp_probe_and_conflicts() -> None:
    mine = MacAddress("02:00:00:00:00:01")
    theirs = MacAddress("02:00:00:00:00:02")
    addr = IP("10.0.0.5")
    probe = Arp.probe(mine, addr)
    decoded = Arp.decode(probe.encode())
    assert decoded == probe and decoded.sender_ip == IP(0)
    reply = Arp(2, theirs, addr, mine, IP(0))
    assert reply.conflicts(addr, mine)
    assert Arp.probe(theirs, addr).conflicts(addr, mine)  # someone else probing it
    assert not probe.conflicts(addr, mine)  # our own probe looped back
    assert not Arp(1, theirs, IP("10.0.0.9"), MacAddress(0), IP("10.0.0.1")).conflicts(addr, mine)
    assert Arp.decode(b"\0" * 10) is None


def test_lease_round_trips_through_json() -> None:
    lease = Lease(
        ipaddress.IPv4Interface("10.1.2.3/24"),
        IP("10.1.2.1"),
        None,
        (IP("10.1.2.1"), IP("9.9.9.9")),
        120,
        1060.0,
        1105.0,
        1120.0,
    )
    assert Lease.from_dict(json.loads(json.dumps(lease.to_dict()))) == lease
    assert lease.expired
    forever = Lease(lease.address, lease.server, None, (), 0xFFFFFFFF, math.inf, math.inf, math.inf)
    data = forever.to_dict()
    assert data["expires"] is None
    assert Lease.from_dict(data) == forever and not forever.expired
