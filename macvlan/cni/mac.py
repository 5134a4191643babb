"""MAC addresses in CNI configurations: parsing (unicast only) and formatting."""

from __future__ import annotations

from macvlan.cni.errors import CniConfigError


def parse_mac(text: object, what: str = "MAC address") -> bytes:
    """Six octets from ``aa:bb:cc:dd:ee:ff``, ``aa-bb-...`` or ``aabb.ccdd.eeff``.

    Only unicast addresses are accepted: the kernel refuses the others.
    """
    if not isinstance(text, str):
        raise CniConfigError(f"{what} must be a string, not {text!r}")
    if len(text) == 14 and text[4] == "." and text[9] == ".":
        groups = text.split(".")
        digits = "".join(groups) if all(len(g) == 4 for g in groups) else ""
    elif len(text) == 17 and (text[2] in ":-"):
        groups = text.split(text[2])
        digits = "".join(groups) if all(len(g) == 2 for g in groups) else ""
    else:
        digits = ""
    try:
        if len(digits) != 12 or not digits.isascii():
            raise ValueError
        packed = bytes.fromhex(digits)
    except ValueError:
        raise CniConfigError(f"invalid {what} {text!r}: not like 'aa:bb:cc:dd:ee:ff'") from None
    if packed[0] & 1:
        raise CniConfigError(f"invalid {what} {text!r}: a multicast address")
    if packed == bytes(6):
        raise CniConfigError(f"invalid {what} {text!r}: the all-zero address")
    return packed


def format_mac(packed: bytes) -> str:
    """The 6 bytes as ``aa:bb:cc:dd:ee:ff`` (lower case, as the reference plugin writes)."""
    return ":".join(f"{b:02x}" for b in packed)
