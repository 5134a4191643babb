"""The DHCPv4 client as a sans-IO state machine (RFC 2131 section 4.4).

:class:`Client` builds the messages to send and judges the replies; it never
touches a socket or a clock (times are passed in).  The driver in
:mod:`macvlan.network.dhcp.transport` moves the bytes.

States: ``INIT`` --discover--> ``SELECTING`` --offer--> ``REQUESTING`` --ack-->
``BOUND`` --T1--> ``RENEWING`` --T2--> ``REBINDING`` --expiry--> ``INIT``.
A NAK sends the client back to ``INIT``.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import random

from macvlan._dataclass import dataclass
from macvlan.mac import MacAddress
from macvlan.network.dhcp.lease import Lease
from macvlan.network.dhcp.message import BOOTREPLY, BOOTREQUEST, Message, MessageType, Opt

__all__ = [
    "PARAMETERS",
    "Backoff",
    "Bound",
    "Client",
    "Event",
    "Ignored",
    "Refused",
    "Send",
    "State",
]

#: What the client asks servers for (option 55).
PARAMETERS = bytes(
    (
        Opt.SUBNET_MASK,
        Opt.ROUTER,
        Opt.DNS,
        Opt.DOMAIN_NAME,
        Opt.BROADCAST,
        Opt.LEASE_TIME,
        Opt.SERVER_ID,
        Opt.RENEWAL_TIME,
        Opt.REBINDING_TIME,
    )
)
_MAX_SIZE = (1500).to_bytes(2, "big")
_ZERO = ipaddress.IPv4Address(0)


class State(enum.Enum):
    """Where the client is in RFC 2131's state diagram."""

    INIT = "init"
    SELECTING = "selecting"
    REQUESTING = "requesting"
    BOUND = "bound"
    RENEWING = "renewing"
    REBINDING = "rebinding"


@dataclass(frozen=True, slots=True)
class Send:
    """A message to send: broadcast (``to`` None) or unicast to a server."""

    message: Message
    to: ipaddress.IPv4Address | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """The reply was not for this exchange (other xid, other client, wrong type)."""

    why: str


@dataclass(frozen=True, slots=True)
class Bound:
    """The server acknowledged: the lease."""

    lease: Lease


@dataclass(frozen=True, slots=True)
class Refused:
    """The server sent a NAK."""

    server: ipaddress.IPv4Address | None
    text: str


Event = Ignored | Bound | Refused | Send


class Backoff:
    """Retransmission delays: ``first`` seconds, doubling up to ``cap``, each with
    up to 10 % jitter, never past ``deadline`` (RFC 2131 4.1 doubles from 4 s; an
    attach cannot wait that long, so the start is shorter)."""

    def __init__(
        self,
        deadline: float,
        *,
        first: float = 0.5,
        cap: float = 4.0,
        rng: random.Random | None = None,
    ) -> None:
        self.deadline = deadline
        self._next = first
        self._cap = cap
        self._rng = rng or random.Random()

    def next_time(self, now: float) -> float | None:
        """When to send again, or None when the deadline is reached."""
        if now >= self.deadline:
            return None
        delay = self._next * (1 + self._rng.uniform(-0.1, 0.1))
        self._next = min(self._next * 2, self._cap)
        return min(now + delay, self.deadline)


class Client:
    """One client identity (MAC, client id, hostname) and its exchange in progress."""

    def __init__(
        self,
        mac: MacAddress,
        client_id: bytes,
        hostname: str | None = None,
        *,
        requested: ipaddress.IPv4Address | None = None,
        xid: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not 2 <= len(client_id) <= 255:
            raise ValueError(f"a client id holds 2 to 255 bytes, not {len(client_id)}")
        self.mac = mac
        self.client_id = client_id
        self.hostname = hostname
        self.requested = requested
        self._rng = rng or random.SystemRandom()
        self.xid = xid if xid is not None else self._rng.getrandbits(32)
        self.state = State.INIT
        self.offer: Message | None = None
        self._started = 0.0
        self._sent_at = 0.0
        self._lease: Lease | None = None

    # -- building messages ---------------------------------------------------------
    def _message(
        self,
        kind: MessageType,
        now: float,
        *,
        ciaddr: ipaddress.IPv4Address = _ZERO,
        extra: tuple[tuple[int, bytes], ...] = (),
        full: bool = True,
    ) -> Message:
        options: list[tuple[int, bytes]] = [(Opt.MESSAGE_TYPE, bytes((kind,)))]
        options += extra
        options.append((Opt.CLIENT_ID, self.client_id))
        if full:
            options.append((Opt.MAX_SIZE, _MAX_SIZE))
            if self.hostname:
                options.append((Opt.HOSTNAME, self.hostname.encode("ascii")))
            options.append((Opt.PARAMETERS, PARAMETERS))
        secs = min(int(now - self._started), 0xFFFF) if self._started else 0
        return Message(
            op=BOOTREQUEST,
            xid=self.xid,
            chaddr=self.mac,
            options=tuple(options),
            secs=max(secs, 0),
            ciaddr=ciaddr,
        )

    def discover(self, now: float) -> Send:
        """Start (or restart) from INIT: a broadcast DISCOVER, asking for the
        previous address (option 50) if one is known."""
        self.xid = self._rng.getrandbits(32) if self.state is not State.INIT else self.xid
        self.state = State.SELECTING
        self.offer = None
        self._started = now
        extra: tuple[tuple[int, bytes], ...] = ()
        if self.requested is not None:
            extra = ((Opt.REQUESTED_IP, self.requested.packed),)
        return Send(self._message(MessageType.DISCOVER, now, extra=extra))

    def _request_selecting(self, offer: Message, now: float) -> Send:
        assert offer.server_id is not None
        self.state = State.REQUESTING
        self.offer = offer
        self._sent_at = now
        extra = (
            (Opt.REQUESTED_IP, offer.yiaddr.packed),
            (Opt.SERVER_ID, offer.server_id.packed),
        )
        return Send(self._message(MessageType.REQUEST, now, extra=extra))

    def renew(self, lease: Lease, now: float) -> Send:
        """T1 passed: a REQUEST unicast to the lease's server (RENEWING)."""
        return self._extend(lease, now, State.RENEWING, lease.server)

    def rebind(self, lease: Lease, now: float) -> Send:
        """T2 passed: a REQUEST broadcast to any server (REBINDING)."""
        return self._extend(lease, now, State.REBINDING, None)

    def _extend(
        self, lease: Lease, now: float, state: State, to: ipaddress.IPv4Address | None
    ) -> Send:
        self.xid = self._rng.getrandbits(32)
        self.state = state
        self._lease = lease
        self._started = self._sent_at = now
        return Send(self._message(MessageType.REQUEST, now, ciaddr=lease.address.ip), to)

    def retransmit(self, send: Send, now: float) -> Send:
        """The same message again, with ``secs`` brought up to date (the send time
        of a REQUEST counts from its first copy, as RFC 2131 4.4.1 says)."""
        secs = max(0, min(int(now - self._started), 0xFFFF))
        msg = send.message
        return Send(
            Message(
                op=msg.op,
                xid=msg.xid,
                chaddr=msg.chaddr,
                options=msg.options,
                secs=secs,
                ciaddr=msg.ciaddr,
            ),
            send.to,
        )

    def decline(self, lease: Lease, now: float) -> Send:
        """The address answered ARP: a broadcast DECLINE; back to INIT."""
        self.state = State.INIT
        extra = (
            (Opt.REQUESTED_IP, lease.address.ip.packed),
            (Opt.SERVER_ID, lease.server.packed),
        )
        return Send(self._message(MessageType.DECLINE, now, extra=extra, full=False))

    def release(self, lease: Lease, now: float) -> Send:
        """Give the lease back: a RELEASE unicast to its server; back to INIT."""
        self.state = State.INIT
        self.xid = self._rng.getrandbits(32)
        extra = ((Opt.SERVER_ID, lease.server.packed),)
        msg = self._message(
            MessageType.RELEASE, now, ciaddr=lease.address.ip, extra=extra, full=False
        )
        return Send(msg, lease.server)

    # -- judging replies -----------------------------------------------------------
    def handle(self, msg: Message, now: float) -> Event:
        """What a received message means: a REQUEST to send, a lease, a refusal,
        or nothing for this client."""
        if msg.op != BOOTREPLY or msg.xid != self.xid or msg.chaddr != self.mac:
            return Ignored("not a reply to this client's exchange")
        echoed = msg.client_id
        if echoed is not None and echoed != self.client_id:
            return Ignored("another client's id")
        kind = msg.message_type
        if self.state is State.SELECTING:
            if kind is not MessageType.OFFER:
                return Ignored(f"{kind!r} while selecting")
            if msg.server_id is None or msg.yiaddr == _ZERO:
                return Ignored("an offer without server id or address")
            return self._request_selecting(msg, now)
        if self.state not in (State.REQUESTING, State.RENEWING, State.REBINDING):
            return Ignored(f"a reply in state {self.state.value}")
        if kind is MessageType.NAK:
            if self.state is State.REQUESTING:
                assert self.offer is not None
                if msg.server_id is not None and msg.server_id != self.offer.server_id:
                    return Ignored("a NAK from a server not chosen")
            self.state = State.INIT
            return Refused(msg.server_id, msg.text or "")
        if kind is not MessageType.ACK:
            return Ignored(f"{kind!r} while waiting for an ACK")
        if self.state is State.REQUESTING:
            assert self.offer is not None
            if msg.yiaddr != self.offer.yiaddr:
                return Ignored("an ACK for another address than the one requested")
            server = msg.server_id or self.offer.server_id
        else:
            assert self._lease is not None
            server = msg.server_id or self._lease.server
        assert server is not None
        lease = lease_from_ack(msg, server, self._sent_at)
        self.state = State.BOUND
        self.requested = lease.address.ip
        self._lease = lease
        return Bound(lease)


def lease_from_ack(ack: Message, server: ipaddress.IPv4Address, sent_at: float) -> Lease:
    """The lease an ACK grants, its times counted from when the REQUEST was sent."""
    iface = ack.interface
    if iface is None:
        raise ValueError("an ACK without an address (yiaddr 0.0.0.0)")
    total = ack.lease_time
    if total is None:
        total = 3600  # RFC 2131 makes it mandatory; a missing one gets an hour
    if total == 0xFFFFFFFF:
        expires = renew_at = rebind_at = math.inf
    else:
        t1 = ack.renewal_time if ack.renewal_time is not None else total * 0.5
        t2 = ack.rebinding_time if ack.rebinding_time is not None else total * 0.875
        t2 = min(t2, total)
        t1 = min(t1, t2)
        expires = sent_at + total
        renew_at = sent_at + t1
        rebind_at = sent_at + t2
    routers = ack.routers
    return Lease(
        address=iface,
        server=server,
        router=routers[0] if routers else None,
        dns=ack.dns,
        lease_time=total,
        renew_at=renew_at,
        rebind_at=rebind_at,
        expires=expires,
    )
