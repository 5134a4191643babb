"""MAC addresses: the :class:`MacAddress` value type, IEEE 802c SLAP quadrants, generators.

No I/O here except :meth:`MacAddress.stable`, which reads ``/etc/machine-id`` when it is
not given a key.  ``ipaddress`` and ``secrets`` are imported only by the methods that
need them, so importing this module stays cheap.
"""

from __future__ import annotations

import enum

from macvlan._macparts import (
    FORMATTERS,
    _machine_id_bytes,
    _parse_cid,
    _parse_oui,
    _randbits,
)
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import MacAddressValueError

if TYPE_CHECKING:
    import ipaddress
    from typing import Final, Protocol, Self

    class RandomSource(Protocol):
        """Anything with ``getrandbits``, e.g. a seeded :class:`random.Random`."""

        def getrandbits(self, k: int, /) -> int: ...


__all__ = ["MacAddress", "MacAddressValueError", "MacFormat", "SlapQuadrant"]
# (_parse_cid, _parse_octets and _randbits are macvlan.macalloc's too: see _macparts)

_MAX: Final = 0xFFFFFFFFFFFF
_BROADCAST: Final = _MAX
_HEXDIGITS: Final = frozenset("0123456789abcdefABCDEF")
_SEPARATORS: Final = ":-."

# systemd's fixed key for MACAddressPolicy=persistent (HASH_KEY in src/shared/netif-util.c)
SYSTEMD_HASH_KEY: Final = bytes.fromhex("d31e48fa90fe4b4c9dafd5d7a1b12e8a")
MACHINE_ID_PATH: Final = "/etc/machine-id"

# bound C methods used by the parse fast path (module globals are cheaper than lookups)
_fromhex = bytes.fromhex
_from_bytes = int.from_bytes


class SlapQuadrant(enum.Enum):
    """The IEEE 802c SLAP quadrant of a locally administered address.

    The value is the low nibble of the first octet of a unicast address in that
    quadrant: bit 0x02 (U/L) is set, bits 0x08 (Z) and 0x04 (Y) pick the quadrant.
    """

    AAI = 0x2
    """Administratively Assigned Identifier: what people and tools hand out."""
    ELI = 0xA
    """Extended Local Identifier: a 24-bit IEEE CID followed by 24 bits of your own."""
    SAI = 0xE
    """Standard Assigned Identifier: assigned by a protocol (e.g. IEEE 1722 MAAP)."""
    RESERVED = 0x6
    """Reserved by IEEE 802c for future use."""

    @classmethod
    def of(cls, first_octet: int) -> SlapQuadrant | None:
        """The quadrant named by a first octet, or ``None`` when its U/L bit is clear."""
        if not first_octet & 0x02:
            return None
        return _QUADRANT_BY_NIBBLE[(first_octet & 0x0C) | 0x02]


_QUADRANT_BY_NIBBLE: Final = {q.value: q for q in SlapQuadrant}


class MacFormat(enum.StrEnum):
    """Output styles for :meth:`MacAddress.format` (plain strings work too).

    A style written in lower case gives lower-case digits; the same name in upper
    case gives upper-case digits (``"cisco"`` -> ``001b.7749.54fd``,
    ``"CISCO"`` -> ``001B.7749.54FD``).
    """

    COLON = "colon"
    """``00:1b:77:49:54:fd`` (Linux, ``ip link``; the ``str()`` form)."""
    HYPHEN = "hyphen"
    """``00-1b-77-49-54-fd`` (IEEE, Windows)."""
    CISCO = "cisco"
    """``001b.7749.54fd``."""
    BARE = "bare"
    """``001b774954fd``."""
    PGSQL = "pgsql"
    """``001b77:4954fd`` (PostgreSQL ``macaddr`` text form)."""
    BSD = "bsd"
    """``0:1b:77:49:54:fd``: colons, no leading zeros (macOS/BSD ``ifconfig``, ``arp``)."""
    COLON_UPPER = "COLON"
    HYPHEN_UPPER = "HYPHEN"
    CISCO_UPPER = "CISCO"
    BARE_UPPER = "BARE"
    PGSQL_UPPER = "PGSQL"
    BSD_UPPER = "BSD"


def _unknown_style(style: object) -> ValueError:
    names = ", ".join(m.value for m in MacFormat if m.value.islower())
    return ValueError(
        f"unknown MAC address format {style!r}: use one of {names} "
        "(in capitals for upper-case digits, e.g. 'COLON')"
    )


def _quick(s: str) -> int | None:
    """The well-formed fixed-width forms, or None to take the careful path.

    Each check pins the separators' positions; fromhex() then yields 6 bytes only
    when the remaining 12 characters are ASCII hex digits.
    """
    n = len(s)
    if n == 17:
        seps = s[2::3]
        if seps == "-----":
            text = s.replace("-", " ")
        elif seps == ":::::":  # a str subclass, which skipped the fast path
            text = s.replace(":", " ")
        else:
            return None
    elif n == 14:
        if s[4::5] == "..":
            text = s.replace(".", " ")
        else:
            return None
    elif n == 12:
        text = s
    elif n == 13:
        if s[6] == ":":
            text = s.replace(":", " ")
        else:
            return None
    else:
        return None
    try:
        raw = _fromhex(text)
    except ValueError:
        return None
    return _from_bytes(raw) if len(raw) == 6 else None


def _parse_str(s: str) -> int:
    """Parse every accepted text form; raise MacAddressValueError saying what is wrong."""
    quick = _quick(s)
    if quick is not None:
        return quick
    if not s:
        raise _bad(s, "empty string")
    for c in s:
        if c.isspace():
            raise _bad(s, "contains whitespace")
    if not s.isascii():
        bad = next(c for c in s if not c.isascii())
        raise _bad(s, f"contains the non-ASCII character {bad!r}")
    if s[:2] in ("0x", "0X"):
        raise _bad(s, "has a '0x' prefix; write the hex digits alone")
    seps = []
    for c in s:
        if c in _HEXDIGITS:
            continue
        if c in _SEPARATORS:
            if c not in seps:
                seps.append(c)
            continue
        if c.isalnum():
            raise _bad(s, f"{c!r} is not a hexadecimal digit")
        raise _bad(s, f"unexpected character {c!r}")
    if len(seps) > 1:
        raise _bad(s, f"mixes separators {seps[0]!r} and {seps[1]!r}")
    if not seps:
        if len(s) != 12:
            raise _bad(s, f"has {_digits(len(s))}; expected 12 hex digits")
        return int(s, 16)
    sep = seps[0]
    if s[0] == sep:
        raise _bad(s, "starts with a separator")
    if s[-1] == sep:
        raise _bad(s, "ends with a separator")
    groups = s.split(sep)
    if "" in groups:
        raise _bad(s, f"has an empty group ({sep + sep!r})")
    count = len(groups)
    if sep == ":":
        if count == 6:
            for g in groups:
                if len(g) > 2:
                    raise _bad(s, f"group {g!r} has {_digits(len(g))}; expected 1 or 2")
            return int("".join(g.zfill(2) for g in groups), 16)
        if count == 2:
            for g in groups:
                if len(g) != 6:
                    raise _bad(s, f"group {g!r} has {_digits(len(g))}; expected 6")
            return int(groups[0] + groups[1], 16)
        raise _bad(s, f"has {count} groups separated by ':'; expected 6 (or 2: 'xxxxxx:xxxxxx')")
    if sep == "-":
        if count != 6:
            raise _bad(s, f"has {count} groups separated by '-'; expected 6")
        for g in groups:
            if len(g) != 2:
                raise _bad(s, f"group {g!r} has {_digits(len(g))}; expected 2")
        return int("".join(groups), 16)
    # sep == "."
    if count != 3:
        raise _bad(s, f"has {count} groups separated by '.'; expected 3")
    for g in groups:
        if len(g) != 4:
            raise _bad(s, f"group {g!r} has {_digits(len(g))}; expected 4")
    return int("".join(groups), 16)


def _digits(n: int) -> str:
    return "1 digit" if n == 1 else f"{n} digits"


def _bad(value: object, reason: str) -> MacAddressValueError:
    return MacAddressValueError(value, reason)


def _parse_other(address: object) -> int:
    """Everything but the fast path: other text forms, bytes, int, MacAddress."""
    if address.__class__ is int and 0 <= address <= _MAX:
        return address
    if isinstance(address, MacAddress):
        return address._mac
    if isinstance(address, str):
        return _parse_str(address)
    if isinstance(address, bytes | bytearray | memoryview):
        raw = bytes(address)
        if len(raw) != 6:
            raise _bad(address, f"expected 6 bytes, got {len(raw)}")
        return _from_bytes(raw)
    if isinstance(address, int) and not isinstance(address, bool):
        if not 0 <= address <= _MAX:
            raise _bad(address, "out of range (0 <= n < 2**48)")
        return int(address)
    raise TypeError(
        f"MacAddress() takes str, bytes, int or MacAddress, not {type(address).__name__}: "
        f"{address!r}"
    )


def _machine_id(path: str | None = None) -> bytes:
    """The 16 bytes of this machine's ID, as systemd reads it from ``/etc/machine-id``."""
    if path is None:
        path = MACHINE_ID_PATH
    with open(path, encoding="ascii", errors="replace") as f:
        text = f.read(64)
    return _machine_id_bytes(text.strip(), source=path)


class MacAddress:
    """A 48-bit IEEE 802 MAC address (EUI-48): immutable, hashable, ordered, one int inside.

    Accepts, in any letter case, ``00:1b:77:49:54:fd``, ``00-1b-77-49-54-fd``,
    ``001b.7749.54fd``, ``001b774954fd``, ``001b77:4954fd`` and the unpadded
    ``0:1b:77:49:54:fd`` that macOS and BSD print; also 6 ``bytes``, an ``int`` in
    ``0 <= n < 2**48`` and another ``MacAddress``.  Anything else raises
    :class:`MacAddressValueError` (a ``ValueError``) naming the problem, or
    ``TypeError`` for a wrong type (``bool`` included).

    >>> m = MacAddress("00-1B-77-49-54-FD")
    >>> m
    MacAddress('00:1b:77:49:54:fd')
    >>> f"{m:cisco} {m:HYPHEN}"
    '001b.7749.54fd 00-1B-77-49-54-FD'
    >>> m.is_universal, m.with_local(True).slap_quadrant
    (True, <SlapQuadrant.AAI: 2>)
    >>> m.ipv6_link_local()
    IPv6Address('fe80::21b:77ff:fe49:54fd')
    >>> MacAddress.from_ipv4("172.17.0.2")
    MacAddress('02:42:ac:11:00:02')
    """

    __slots__ = ("_mac",)
    _mac: int

    def __init__(self, address: str | bytes | bytearray | memoryview | int | MacAddress) -> None:
        # Fast path: the 17-character colon form.  With colons at 2, 5, 8, 11 and 14,
        # fromhex() of the string with spaces for colons gives 6 bytes exactly when the
        # other 12 characters are ASCII hex digits (it skips whitespace only between
        # pairs, so any stray character makes it fail or come up short).
        if address.__class__ is str and address[2::3] == ":::::":
            try:
                raw = _fromhex(address.replace(":", " "))
            except ValueError:
                pass
            else:
                if len(raw) == 6:
                    self._mac = _from_bytes(raw)
                    return
        self._mac = _parse_other(address)

    @classmethod
    def _from_int(cls, n: int) -> Self:
        self = object.__new__(cls)
        self._mac = n
        return self

    # -- conversions ---------------------------------------------------------------

    def __int__(self) -> int:
        return self._mac

    def __bytes__(self) -> bytes:
        return self._mac.to_bytes(6)

    @property
    def packed(self) -> bytes:
        """The six octets in transmission order."""
        return self._mac.to_bytes(6)

    def __str__(self) -> str:
        return self._mac.to_bytes(6).hex(":")

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self._mac.to_bytes(6).hex(':')}')"

    def format(self, style: str = "colon") -> str:
        """Text in one of the :class:`MacFormat` styles.

        ``colon``, ``hyphen``, ``cisco``, ``bare``, ``pgsql`` or ``bsd``; the name in
        capitals (``COLON``) gives upper-case digits.
        """
        if not isinstance(style, str):
            raise TypeError(f"format style must be str, not {type(style).__name__}: {style!r}")
        try:
            formatter = FORMATTERS[style]
        except KeyError:
            raise _unknown_style(style) from None
        return formatter(self._mac)

    def __format__(self, spec: str) -> str:
        if not spec:
            return self._mac.to_bytes(6).hex(":")
        return self.format(spec)

    # -- value semantics -------------------------------------------------------------

    def __hash__(self) -> int:
        return hash(self._mac)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MacAddress):
            return self._mac == other._mac
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, MacAddress):
            return self._mac != other._mac
        return NotImplemented

    def __lt__(self, other: MacAddress) -> bool:
        if isinstance(other, MacAddress):
            return self._mac < other._mac
        return NotImplemented

    def __le__(self, other: MacAddress) -> bool:
        if isinstance(other, MacAddress):
            return self._mac <= other._mac
        return NotImplemented

    def __gt__(self, other: MacAddress) -> bool:
        if isinstance(other, MacAddress):
            return self._mac > other._mac
        return NotImplemented

    def __ge__(self, other: MacAddress) -> bool:
        if isinstance(other, MacAddress):
            return self._mac >= other._mac
        return NotImplemented

    def __reduce__(self) -> tuple[type[MacAddress], tuple[int]]:
        return (type(self), (self._mac,))

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: object) -> Self:
        return self

    # -- bits ------------------------------------------------------------------------

    @property
    def is_multicast(self) -> bool:
        """The I/G bit (0x01 of the first octet) is set: a group address."""
        return bool(self._mac >> 40 & 0x01)

    @property
    def is_unicast(self) -> bool:
        """The I/G bit is clear: an individual address."""
        return not self._mac >> 40 & 0x01

    @property
    def is_broadcast(self) -> bool:
        """``ff:ff:ff:ff:ff:ff``."""
        return self._mac == _BROADCAST

    @property
    def is_local(self) -> bool:
        """The U/L bit (0x02 of the first octet) is set: locally administered (LAA)."""
        return bool(self._mac >> 40 & 0x02)

    @property
    def is_universal(self) -> bool:
        """The U/L bit is clear: universally administered (UAA, from an IEEE block)."""
        return not self._mac >> 40 & 0x02

    @property
    def slap_quadrant(self) -> SlapQuadrant | None:
        """The IEEE 802c SLAP quadrant, or ``None`` for a universally administered address."""
        return SlapQuadrant.of(self._mac >> 40)

    @property
    def kind(self) -> str:
        """``"UAA"``, ``"LAA"`` with its SLAP quadrant (``"LAA AAI"``), or ``"group"``."""
        if self.is_multicast:
            return "group"
        quadrant = self.slap_quadrant
        if self.is_universal:
            return "UAA"
        return "LAA" if quadrant is None else f"LAA {quadrant.name}"

    @property
    def oui(self) -> str:
        """The first three octets, e.g. ``"00:1b:77"``."""
        return (self._mac >> 24).to_bytes(3).hex(":")

    def with_local(self, local: bool = True) -> Self:
        """A copy with the U/L bit set (``True``) or cleared (``False``)."""
        bit = 0x02 << 40
        return self._from_int(self._mac | bit if local else self._mac & ~bit)

    def with_multicast(self, multicast: bool = True) -> Self:
        """A copy with the I/G bit set (``True``) or cleared (``False``)."""
        bit = 0x01 << 40
        return self._from_int(self._mac | bit if multicast else self._mac & ~bit)

    # -- IPv6 ------------------------------------------------------------------------

    def _eui64_int(self) -> int:
        n = self._mac
        return ((n >> 24) << 40 | 0xFFFE << 24 | n & 0xFFFFFF) ^ (0x02 << 56)

    def modified_eui64(self) -> bytes:
        """The modified EUI-64 interface identifier (RFC 4291 appendix A), 8 bytes.

        ``ff:fe`` goes between the third and fourth octets and the U/L bit is inverted.
        """
        return self._eui64_int().to_bytes(8)

    def ipv6_link_local(self) -> ipaddress.IPv6Address:
        """The ``fe80::/64`` address SLAAC derives from this MAC."""
        import ipaddress

        return ipaddress.IPv6Address(0xFE80 << 112 | self._eui64_int())

    def ipv6_slaac(
        self, prefix: str | ipaddress.IPv6Network | ipaddress.IPv6Interface
    ) -> ipaddress.IPv6Address:
        """The address SLAAC (EUI-64) forms in the /64 ``prefix``, e.g. ``"2001:db8::/64"``."""
        import ipaddress

        if isinstance(prefix, ipaddress.IPv6Interface):
            network = prefix.network
        elif isinstance(prefix, ipaddress.IPv6Network):
            network = prefix
        elif isinstance(prefix, str):
            network = ipaddress.IPv6Network(prefix)
        else:
            raise TypeError(
                f"prefix must be str or IPv6Network, not {type(prefix).__name__}: {prefix!r}"
            )
        if network.prefixlen != 64:
            raise ValueError(
                f"{str(prefix)!r} is not a /64: SLAAC forms addresses only in a /64 prefix"
            )
        return ipaddress.IPv6Address(int(network.network_address) | self._eui64_int())

    # -- generation ------------------------------------------------------------------

    @classmethod
    def random(
        cls,
        quadrant: SlapQuadrant | None = SlapQuadrant.AAI,
        rng: RandomSource | None = None,
        *,
        cid: str | bytes | int | None = None,
    ) -> Self:
        """A random unicast locally administered address in a SLAP quadrant.

        ``AAI`` (the default) and ``SAI`` leave 44 random bits; ``ELI`` needs ``cid``,
        a 24-bit IEEE Company ID (``"xa:xx:xx"``), and appends 24 random bits;
        ``None`` ignores SLAP and leaves 46 random bits, as the kernel's
        ``eth_random_addr`` does.  ``RESERVED`` is refused.  ``rng`` is anything with
        ``getrandbits`` (a seeded :class:`random.Random` gives reproducible
        addresses); without it the bits come from :mod:`secrets`.
        """
        if quadrant is not None and not isinstance(quadrant, SlapQuadrant):
            raise TypeError(
                f"quadrant must be a SlapQuadrant or None, not {type(quadrant).__name__}: "
                f"{quadrant!r}"
            )
        if quadrant is SlapQuadrant.ELI:
            if cid is None:
                raise ValueError("an ELI address needs a CID: MacAddress.random(ELI, cid=...)")
            prefix = _parse_cid(cid)
            return cls._from_int(prefix << 24 | _randbits(rng, 24) & 0xFFFFFF)
        if cid is not None:
            raise ValueError(f"cid={cid!r} is only meaningful with quadrant=SlapQuadrant.ELI")
        if quadrant is SlapQuadrant.RESERVED:
            raise ValueError(
                "the RESERVED SLAP quadrant is reserved by IEEE 802c; "
                "use AAI (or None for any locally administered address)"
            )
        bits = _randbits(rng, 48) & _MAX
        if quadrant is None:
            # clear I/G, set U/L; the other 46 bits stay random
            return cls._from_int(bits & ~(0x01 << 40) | 0x02 << 40)
        return cls._from_int(bits & ~(0x0F << 40) | quadrant.value << 40)

    @classmethod
    def stable(cls, name: str | bytes, key: str | bytes | None = None) -> Self:
        """A unicast locally administered address that depends only on ``name`` and ``key``.

        It is computed as systemd-udev's ``MACAddressPolicy=persistent`` does: the first
        six bytes (little-endian) of SipHash-2-4, under systemd's fixed key, of the
        16-byte machine ID followed by ``name``, with bit 0x01 cleared and 0x02 set.
        ``key`` stands in for the machine ID (16 bytes, or 32 hex digits as in
        ``/etc/machine-id``); without it this machine's ``/etc/machine-id`` is read, so
        a link whose udev identifying name is ``name`` (for a macvlan, normally its
        interface name) gets the very address udev would give it.  The SLAP quadrant
        is whatever the hash gives.
        """
        if isinstance(name, str):
            data = name.encode()
        elif isinstance(name, bytes):
            data = name
        else:
            raise TypeError(f"name must be str or bytes, not {type(name).__name__}: {name!r}")
        if not data:
            raise ValueError("name must not be empty")
        if b"\0" in data:
            raise ValueError(f"name {name!r} contains a NUL byte")
        if key is None:
            machine = _machine_id()
        elif isinstance(key, str):
            machine = _machine_id_bytes(key)
        elif isinstance(key, bytes | bytearray):
            if len(key) != 16:
                raise ValueError(f"key must be 16 bytes (a machine ID), got {len(key)}")
            machine = bytes(key)
        else:
            raise TypeError(f"key must be str, bytes or None, not {type(key).__name__}")
        from macvlan._siphash import siphash24

        digest = siphash24(SYSTEMD_HASH_KEY, machine + data).to_bytes(8, "little")
        n = _from_bytes(digest[:6])
        return cls._from_int(n & ~(0x01 << 40) | 0x02 << 40)

    @classmethod
    def from_oui(cls, oui: str | bytes | int, rng: RandomSource | None = None) -> Self:
        """``oui`` (``"52:54:00"``, bytes(3) or a 24-bit int) followed by 24 random bits.

        The OUI must not have the multicast bit; the all-zero address is never returned.
        """
        prefix = _parse_oui(oui)
        if prefix >> 16 & 0x01:
            raise MacAddressValueError(
                oui, "its first octet has the multicast (I/G) bit set", "a unicast OUI"
            )
        while True:
            n = prefix << 24 | _randbits(rng, 24) & 0xFFFFFF
            if n:
                return cls._from_int(n)

    @classmethod
    def from_ipv4(cls, ip: str | ipaddress.IPv4Address) -> Self:
        """``02:42`` followed by the four octets of ``ip`` (Docker's scheme before 28)."""
        import ipaddress

        if isinstance(ip, ipaddress.IPv4Address):
            addr = ip
        elif isinstance(ip, str):
            try:
                addr = ipaddress.IPv4Address(ip)
            except ValueError as exc:
                raise MacAddressValueError(ip, str(exc), "an IPv4 address") from None
        else:
            raise TypeError(f"ip must be str or IPv4Address, not {type(ip).__name__}: {ip!r}")
        return cls._from_int(0x0242 << 32 | int(addr))
