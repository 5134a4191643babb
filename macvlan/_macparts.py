"""Helpers of :mod:`macvlan.mac` that need no :class:`~macvlan.mac.MacAddress`: the
text formats, prefixes (OUI, CID) of whole octets, random bits, machine IDs."""

from __future__ import annotations

from macvlan._typing import TYPE_CHECKING
from macvlan.errors import MacAddressValueError

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final

    from macvlan.mac import RandomSource

HEXDIGITS: Final = frozenset("0123456789abcdefABCDEF")
_from_bytes = int.from_bytes


def _format_bsd(n: int) -> str:
    return ":".join(f"{b:x}" for b in n.to_bytes(6))


def _format_bsd_upper(n: int) -> str:
    return ":".join(f"{b:X}" for b in n.to_bytes(6))


# style -> function of the int.  Keys are plain str: a MacFormat member hashes and
# compares equal to its value, so both look up the same entry.
FORMATTERS: Final[dict[str, Callable[[int], str]]] = {
    "colon": lambda n: n.to_bytes(6).hex(":"),
    "hyphen": lambda n: n.to_bytes(6).hex("-"),
    "cisco": lambda n: n.to_bytes(6).hex(".", 2),
    "bare": lambda n: n.to_bytes(6).hex(),
    "pgsql": lambda n: n.to_bytes(6).hex(":", 3),
    "bsd": _format_bsd,
    "COLON": lambda n: n.to_bytes(6).hex(":").upper(),
    "HYPHEN": lambda n: n.to_bytes(6).hex("-").upper(),
    "CISCO": lambda n: n.to_bytes(6).hex(".", 2).upper(),
    "BARE": lambda n: n.to_bytes(6).hex().upper(),
    "PGSQL": lambda n: n.to_bytes(6).hex(":", 3).upper(),
    "BSD": _format_bsd_upper,
}


def _parse_octets(value: object, what: str, lengths: tuple[int, ...]) -> tuple[int, int]:
    """Parse a MAC prefix of whole octets: "52:54:00", "52-54-00", "525400" or bytes.

    Returns (value, number of octets); the count must be one of ``lengths``.
    """
    if len(lengths) > 2 and lengths == tuple(range(lengths[0], lengths[-1] + 1)):
        expected = f"{lengths[0]} to {lengths[-1]}"
    else:
        expected = " or ".join(str(n) for n in lengths)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if len(raw) not in lengths:
            raise MacAddressValueError(value, f"expected {expected} bytes, got {len(raw)}", what)
        return _from_bytes(raw), len(raw)
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}: {value!r}")
    s = value
    if not s:
        raise MacAddressValueError(value, "empty string", what)
    seps = {c for c in s if c in ":-"}
    if len(seps) > 1:
        raise MacAddressValueError(value, "mixes separators ':' and '-'", what)
    groups = s.split(seps.pop()) if seps else [s[i : i + 2] for i in range(0, len(s), 2)]
    for g in groups:
        if len(g) != 2 or not HEXDIGITS.issuperset(g):
            raise MacAddressValueError(
                value, f"{g!r} is not an octet (two hexadecimal digits)", what
            )
    if len(groups) not in lengths:
        raise MacAddressValueError(value, f"has {len(groups)} octets; expected {expected}", what)
    return int("".join(groups), 16), len(groups)


def _parse_oui(value: object, what: str = "an OUI") -> int:
    """A 24-bit OUI or CID as str ("52:54:00", "52-54-00", "525400"), bytes(3) or int."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 0xFFFFFF:
            raise MacAddressValueError(value, "out of range (0 <= n < 2**24)", what)
        return int(value)
    return _parse_octets(value, what, (3,))[0]


def _randbits(rng: RandomSource | None, k: int) -> int:
    if rng is None:
        import secrets

        return secrets.randbits(k)
    return rng.getrandbits(k)


def _machine_id_bytes(text: str, source: str = "key") -> bytes:
    """Parse a machine ID: 32 hex digits, or the same with hyphens in UUID form."""
    compact = text.replace("-", "") if len(text) == 36 else text
    if len(compact) != 32 or not HEXDIGITS.issuperset(compact):
        raise ValueError(f"{source}: {text!r} is not a machine ID (32 hexadecimal digits)")
    raw = bytes.fromhex(compact)
    if raw == bytes(16):
        raise ValueError(f"{source}: the machine ID is all zeros (not initialised)")
    return raw


def _parse_cid(cid: object) -> int:
    value = _parse_oui(cid, "a CID")
    if value >> 16 & 0x0F != 0x0A:
        raise MacAddressValueError(
            cid,
            "a CID's first octet has the low nibble 0xa (U/L set, Y clear, Z set, I/G clear)",
            "a CID",
        )
    return value
