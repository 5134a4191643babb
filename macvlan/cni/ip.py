"""IPv4 and IPv6 addresses and prefixes as the plugin reads them from configurations
and IPAM results: family and packed bytes, no :mod:`ipaddress` (slow to import)."""

from __future__ import annotations

import _socket

from macvlan.cni.errors import CniConfigError
from macvlan.cni.jsonio import safe_repr

AF_INET = _socket.AF_INET
AF_INET6 = _socket.AF_INET6


class IP:
    """An IPv4 or IPv6 address (family and packed bytes)."""

    __slots__ = ("family", "packed")

    family: int
    packed: bytes

    def __init__(self, family: int, packed: bytes) -> None:
        object.__setattr__(self, "family", family)
        object.__setattr__(self, "packed", packed)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @classmethod
    def parse(cls, text: object, what: str = "IP address") -> IP:
        """The address in ``text``; :class:`~macvlan.CniConfigError` naming ``what``
        if it is not one."""
        if not isinstance(text, str):
            raise CniConfigError(f"{what} must be a string, not {text!r}")
        family = AF_INET6 if ":" in text else AF_INET
        try:
            return cls(family, _socket.inet_pton(family, text))
        except (OSError, ValueError):
            raise CniConfigError(f"{what} {text!r} is not an IP address") from None

    @property
    def version(self) -> int:
        """4 or 6."""
        return 4 if self.family == AF_INET else 6

    @property
    def bits(self) -> int:
        """The address's length in bits: 32 or 128."""
        return 32 if self.family == AF_INET else 128

    def __str__(self) -> str:
        return _socket.inet_ntop(self.family, self.packed)

    def __repr__(self) -> str:
        return f"IP({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IP) or isinstance(other, Cidr):
            return NotImplemented
        return (self.family, self.packed) == (other.family, other.packed)

    def __hash__(self) -> int:
        return hash((self.family, self.packed))


class Cidr(IP):
    """An address with a prefix length, host bits kept: ``10.1.0.5/16``."""

    __slots__ = ("prefixlen",)

    prefixlen: int

    def __init__(self, family: int, packed: bytes, prefixlen: int) -> None:
        super().__init__(family, packed)
        object.__setattr__(self, "prefixlen", prefixlen)

    @classmethod
    def parse(cls, text: object, what: str = "address") -> Cidr:
        """The address and prefix length in ``text`` (``10.1.0.5/16``);
        :class:`~macvlan.CniConfigError` naming ``what`` otherwise."""
        if not isinstance(text, str):
            raise CniConfigError(f"{what} must be a string like '10.1.0.5/16', not {text!r}")
        addr, slash, plen = text.partition("/")
        try:
            ip = IP.parse(addr, what) if slash else None
        except CniConfigError:
            ip = None
        # at most 3 digits: int() refuses strings of more than 4,300 with a ValueError
        if (
            ip is None
            or not (plen.isascii() and plen.isdigit() and len(plen) <= 3)
            or int(plen) > ip.bits
        ):
            raise CniConfigError(f"{what} {safe_repr(text)} is not an address with a prefix length")
        return cls(ip.family, ip.packed, int(plen))

    @property
    def ip(self) -> IP:
        """The address without its prefix length."""
        return IP(self.family, self.packed)

    def network(self) -> Cidr:
        """The prefix with the host bits cleared (``10.1.0.0/16``)."""
        value = int.from_bytes(self.packed, "big")
        mask = ((1 << self.prefixlen) - 1) << (self.bits - self.prefixlen)
        size = len(self.packed)
        return Cidr(self.family, (value & mask).to_bytes(size, "big"), self.prefixlen)

    def broadcast(self) -> IP:
        """The last address of the prefix (IPv4's broadcast address)."""
        value = int.from_bytes(self.packed, "big") | ((1 << (self.bits - self.prefixlen)) - 1)
        return IP(self.family, value.to_bytes(len(self.packed), "big"))

    def __str__(self) -> str:
        return f"{_socket.inet_ntop(self.family, self.packed)}/{self.prefixlen}"

    def __repr__(self) -> str:
        return f"Cidr({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cidr):
            return NotImplemented
        return (self.family, self.packed, self.prefixlen) == (
            other.family,
            other.packed,
            other.prefixlen,
        )

    def __hash__(self) -> int:
        return hash((self.family, self.packed, self.prefixlen))
