"""DHCPv4 messages (RFC 2131, options from RFC 2132): a sans-IO codec.

:meth:`Message.decode` takes the UDP payload a server sent and returns an immutable
:class:`Message`; :meth:`Message.encode` returns the bytes to send.  Options keep
their order and any code this module does not know, so a decoded message
re-encodes to the same options.  Malformed input raises :class:`DhcpProtocolError`
(a :class:`ValueError`) and nothing else.
"""

from __future__ import annotations

import enum
import ipaddress
import struct

from macvlan._dataclass import dataclass, field, replace
from macvlan.errors import DhcpProtocolError
from macvlan.mac import MacAddress

__all__ = [
    "BOOTREPLY",
    "BOOTREQUEST",
    "CLIENT_PORT",
    "FLAG_BROADCAST",
    "MAGIC",
    "SERVER_PORT",
    "Message",
    "MessageType",
    "Opt",
]

CLIENT_PORT = 68
SERVER_PORT = 67
BOOTREQUEST = 1
BOOTREPLY = 2
MAGIC = b"\x63\x82\x53\x63"
FLAG_BROADCAST = 0x8000
_MIN_SIZE = 300  # BOOTP's minimum; some servers drop anything shorter
_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # 236 bytes, then the cookie
_ZERO = ipaddress.IPv4Address(0)


class MessageType(enum.IntEnum):
    """Option 53, the DHCP message type."""

    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NAK = 6
    RELEASE = 7
    INFORM = 8


class Opt(enum.IntEnum):
    """The option codes this library reads or writes (RFC 2132 numbering)."""

    PAD = 0
    SUBNET_MASK = 1
    ROUTER = 3
    DNS = 6
    HOSTNAME = 12
    DOMAIN_NAME = 15
    BROADCAST = 28
    REQUESTED_IP = 50
    LEASE_TIME = 51
    OVERLOAD = 52
    MESSAGE_TYPE = 53
    SERVER_ID = 54
    PARAMETERS = 55
    MESSAGE = 56
    MAX_SIZE = 57
    RENEWAL_TIME = 58
    REBINDING_TIME = 59
    VENDOR_CLASS = 60
    CLIENT_ID = 61
    END = 255


def _addr(raw: bytes) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(raw)


def _addrs(raw: bytes, code: int) -> tuple[ipaddress.IPv4Address, ...]:
    if len(raw) % 4:
        raise DhcpProtocolError(f"option {code} holds {len(raw)} bytes, not a list of addresses")
    return tuple(_addr(raw[i : i + 4]) for i in range(0, len(raw), 4))


def _parse_options(data: bytes, where: str, out: list[tuple[int, bytes]]) -> None:
    """Append the (code, value) pairs in ``data`` to ``out``; stop at END."""
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == Opt.PAD:
            i += 1
            continue
        if code == Opt.END:
            return
        if i + 1 >= n:
            raise DhcpProtocolError(f"option {code} in the {where} has no length byte")
        size = data[i + 1]
        if i + 2 + size > n:
            raise DhcpProtocolError(
                f"option {code} in the {where} claims {size} bytes, {n - i - 2} are left"
            )
        out.append((code, data[i + 2 : i + 2 + size]))
        i += 2 + size


def _join(pairs: list[tuple[int, bytes]]) -> tuple[tuple[int, bytes], ...]:
    """One entry per code, in first-seen order; repeats are concatenated (RFC 3396)."""
    merged: dict[int, bytes] = {}
    for code, value in pairs:
        merged[code] = merged.get(code, b"") + value
    return tuple(merged.items())


def _encode_options(options: tuple[tuple[int, bytes], ...]) -> bytes:
    out = bytearray()
    for code, value in options:
        if code in (Opt.PAD, Opt.END):
            raise ValueError(f"option {code} cannot carry a value")
        if not value:
            out += bytes((code, 0))
        for i in range(0, len(value), 255):  # long options split (RFC 3396)
            chunk = value[i : i + 255]
            out += bytes((code, len(chunk))) + chunk
    out.append(Opt.END)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Message:
    """One DHCP message: the BOOTP fixed fields and the options, in order.

    ``options`` holds ``(code, value)`` pairs with one entry per code.  The typed
    properties (:attr:`message_type`, :attr:`server_id`, :attr:`lease_time`, ...) read them.
    """

    op: int
    xid: int
    chaddr: MacAddress
    options: tuple[tuple[int, bytes], ...] = ()
    secs: int = 0
    flags: int = 0
    ciaddr: ipaddress.IPv4Address = _ZERO
    yiaddr: ipaddress.IPv4Address = _ZERO
    siaddr: ipaddress.IPv4Address = _ZERO
    giaddr: ipaddress.IPv4Address = _ZERO
    hops: int = 0
    sname: bytes = b""
    file: bytes = b""
    htype: int = 1
    hlen: int = 6
    _index: dict[int, bytes] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", dict(self.options))

    # -- bytes ---------------------------------------------------------------------
    @classmethod
    def decode(cls, data: bytes) -> Message:
        """The message in a UDP payload; :class:`DhcpProtocolError` if malformed."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"Message.decode takes bytes, not {type(data).__name__}")
        data = bytes(data)
        if len(data) < _HEADER.size + 4:
            raise DhcpProtocolError(f"{len(data)} bytes is too short for a DHCP message")
        (op, htype, hlen, hops, xid, secs, flags, ci, yi, si, gi, ch, sname, file) = (
            _HEADER.unpack_from(data)
        )
        if op not in (BOOTREQUEST, BOOTREPLY):
            raise DhcpProtocolError(f"op {op} is neither BOOTREQUEST nor BOOTREPLY")
        if data[_HEADER.size : _HEADER.size + 4] != MAGIC:
            raise DhcpProtocolError("no DHCP magic cookie (a plain BOOTP message?)")
        if htype != 1 or hlen != 6:
            raise DhcpProtocolError(f"hardware type {htype} length {hlen}: not Ethernet")
        pairs: list[tuple[int, bytes]] = []
        _parse_options(data[_HEADER.size + 4 :], "options field", pairs)
        overload = dict(pairs).get(Opt.OVERLOAD)
        if overload is not None:
            if len(overload) != 1 or overload[0] not in (1, 2, 3):
                raise DhcpProtocolError(f"option overload value {overload.hex()} is not 1, 2 or 3")
            if overload[0] & 1:
                _parse_options(file, "file field", pairs)
                file = b""
            if overload[0] & 2:
                _parse_options(sname, "sname field", pairs)
                sname = b""
        options = _join(pairs)
        msg = cls(
            op=op,
            xid=xid,
            chaddr=MacAddress(ch[:6]),
            options=options,
            secs=secs,
            flags=flags,
            ciaddr=_addr(ci),
            yiaddr=_addr(yi),
            siaddr=_addr(si),
            giaddr=_addr(gi),
            hops=hops,
            sname=sname.rstrip(b"\0"),
            file=file.rstrip(b"\0"),
            htype=htype,
            hlen=hlen,
        )
        msg._check()
        return msg

    def _check(self) -> None:
        """Typed options that are present must decode."""
        raw = self._index.get(Opt.MESSAGE_TYPE)
        if raw is not None and (len(raw) != 1 or raw[0] not in MessageType._value2member_map_):
            raise DhcpProtocolError(f"message type option {raw.hex()} is not a DHCP type")
        for code in (Opt.SERVER_ID, Opt.SUBNET_MASK, Opt.REQUESTED_IP):
            value = self._index.get(code)
            if value is not None and len(value) != 4:
                raise DhcpProtocolError(f"option {code} holds {len(value)} bytes, not an address")
        for code in (Opt.LEASE_TIME, Opt.RENEWAL_TIME, Opt.REBINDING_TIME):
            value = self._index.get(code)
            if value is not None and len(value) != 4:
                raise DhcpProtocolError(f"option {code} holds {len(value)} bytes, not 32 bits")
        for code in (Opt.ROUTER, Opt.DNS):
            value = self._index.get(code)
            if value is not None:
                _addrs(value, code)
        mask = self.subnet_mask
        if mask is not None:
            try:
                ipaddress.IPv4Network(f"0.0.0.0/{mask}")
            except ValueError:
                raise DhcpProtocolError(f"subnet mask {mask} is not contiguous") from None

    def encode(self) -> bytes:
        """The UDP payload for this message (padded to BOOTP's 300 bytes)."""
        if len(self.sname) > 64 or len(self.file) > 128:
            raise ValueError("sname holds at most 64 bytes and file at most 128")
        head = _HEADER.pack(
            self.op,
            self.htype,
            self.hlen,
            self.hops,
            self.xid,
            self.secs,
            self.flags,
            self.ciaddr.packed,
            self.yiaddr.packed,
            self.siaddr.packed,
            self.giaddr.packed,
            self.chaddr.packed,
            self.sname,
            self.file,
        )
        data = head + MAGIC + _encode_options(self.options)
        return data + bytes(max(0, _MIN_SIZE - len(data)))

    # -- options -------------------------------------------------------------------
    def option(self, code: int) -> bytes | None:
        """The raw value of option ``code``, or None."""
        return self._index.get(code)

    def with_options(self, *pairs: tuple[int, bytes]) -> Message:
        """A copy with these options set (replacing any of the same code)."""
        codes = {c for c, _ in pairs}
        kept = tuple((c, v) for c, v in self.options if c not in codes)
        return replace(self, options=kept + tuple(pairs))

    @property
    def message_type(self) -> MessageType | None:
        """The DHCP message type (option 53), or None for plain BOOTP."""
        raw = self._index.get(Opt.MESSAGE_TYPE)
        return None if raw is None else MessageType(raw[0])

    def _address(self, code: int) -> ipaddress.IPv4Address | None:
        raw = self._index.get(code)
        return None if raw is None else _addr(raw)

    def _seconds(self, code: int) -> int | None:
        raw = self._index.get(code)
        return None if raw is None else int.from_bytes(raw, "big")

    @property
    def server_id(self) -> ipaddress.IPv4Address | None:
        """Option 54: the server that sent (or is chosen by) the message."""
        return self._address(Opt.SERVER_ID)

    @property
    def requested_ip(self) -> ipaddress.IPv4Address | None:
        """Option 50: the address a client asks for."""
        return self._address(Opt.REQUESTED_IP)

    @property
    def subnet_mask(self) -> ipaddress.IPv4Address | None:
        """Option 1."""
        return self._address(Opt.SUBNET_MASK)

    @property
    def routers(self) -> tuple[ipaddress.IPv4Address, ...]:
        """Option 3, in the server's order of preference."""
        raw = self._index.get(Opt.ROUTER)
        return () if raw is None else _addrs(raw, Opt.ROUTER)

    @property
    def dns(self) -> tuple[ipaddress.IPv4Address, ...]:
        """Option 6."""
        raw = self._index.get(Opt.DNS)
        return () if raw is None else _addrs(raw, Opt.DNS)

    @property
    def lease_time(self) -> int | None:
        """Option 51, seconds (0xffffffff: infinite)."""
        return self._seconds(Opt.LEASE_TIME)

    @property
    def renewal_time(self) -> int | None:
        """Option 58 (T1), seconds."""
        return self._seconds(Opt.RENEWAL_TIME)

    @property
    def rebinding_time(self) -> int | None:
        """Option 59 (T2), seconds."""
        return self._seconds(Opt.REBINDING_TIME)

    @property
    def client_id(self) -> bytes | None:
        """Option 61, raw (first byte the type: 1 Ethernet, 0 opaque, 255 RFC 4361)."""
        return self._index.get(Opt.CLIENT_ID)

    @property
    def hostname(self) -> str | None:
        """Option 12, decoded leniently."""
        raw = self._index.get(Opt.HOSTNAME)
        return None if raw is None else raw.decode("ascii", "replace").rstrip("\0")

    @property
    def text(self) -> str | None:
        """Option 56: the server's message (with a NAK, why)."""
        raw = self._index.get(Opt.MESSAGE)
        return None if raw is None else raw.decode("utf-8", "replace").rstrip("\0")

    @property
    def parameters(self) -> tuple[int, ...]:
        """Option 55, the option codes a client asks for."""
        return tuple(self._index.get(Opt.PARAMETERS, b""))

    @property
    def interface(self) -> ipaddress.IPv4Interface | None:
        """``yiaddr`` with the subnet mask as an interface (mask /32 if none given)."""
        if self.yiaddr == _ZERO:
            return None
        mask = self.subnet_mask
        return ipaddress.IPv4Interface(f"{self.yiaddr}/{mask if mask is not None else 32}")
