"""MacAddress: parsing, formatting, value semantics, bits, IPv6 and generation."""

from __future__ import annotations

import copy
import ctypes
import doctest
import ipaddress
import os
import pickle
import random
import re
import sys
from pathlib import Path

import netaddr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import python_output

import macvlan
import macvlan.mac
from macvlan._siphash import siphash24
from macvlan.mac import MacAddress, MacAddressValueError, MacFormat, SlapQuadrant

M = MacAddress
REF = M("00:1b:77:49:54:fd")
REF_INT = 0x001B774954FD

macs = st.integers(min_value=0, max_value=2**48 - 1)
ALL_STYLES = [m.value for m in MacFormat]


# -- the public names ---------------------------------------------------------------


def test_public_names_are_exported_by_the_package() -> None:
    assert macvlan.MacAddress is MacAddress
    assert macvlan.MacAddressValueError is MacAddressValueError
    assert macvlan.SlapQuadrant is SlapQuadrant
    assert issubclass(MacAddressValueError, ValueError)


def test_docstring_examples() -> None:
    result = doctest.testmod(macvlan.mac, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5
    assert result.failed == 0


def test_import_is_light() -> None:
    code = (
        "import sys; before = set(sys.modules); import macvlan.mac; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    out = python_output(code).split()
    assert "macvlan.mac" in out
    for heavy in ("ipaddress", "secrets", "random", "re", "hashlib", "socket"):
        assert heavy not in out


# -- parsing ------------------------------------------------------------------------

GOOD_FORMS = [
    "00:1b:77:49:54:fd",
    "00:1B:77:49:54:FD",
    "00:1b:77:49:54:Fd",
    "00-1b-77-49-54-fd",
    "00-1B-77-49-54-FD",
    "001b.7749.54fd",
    "001B.7749.54FD",
    "001b774954fd",
    "001B774954FD",
    "001b77:4954fd",
    "001B77:4954FD",
    "0:1b:77:49:54:fd",
    "0:1B:77:49:54:FD",
]


@pytest.mark.parametrize("text", GOOD_FORMS)
def test_parses_every_documented_form(text: str) -> None:
    assert int(M(text)) == REF_INT
    assert M(text) == REF


def test_unpadded_groups_anywhere() -> None:
    assert M("0:1:2:a:b:c") == M("00:01:02:0a:0b:0c")
    assert M("2:42:ac:11:0:2") == M("02:42:ac:11:00:02")


def test_non_text_inputs() -> None:
    assert M(b"\x00\x1b\x77\x49\x54\xfd") == REF
    assert M(bytearray(b"\x00\x1b\x77\x49\x54\xfd")) == REF
    assert M(memoryview(b"\x00\x1b\x77\x49\x54\xfd")) == REF
    assert M(REF_INT) == REF
    assert M(REF) == REF
    assert M(0) == M("00:00:00:00:00:00")
    assert M(2**48 - 1) == M("ff:ff:ff:ff:ff:ff")


def test_str_subclass_is_accepted() -> None:
    class Text(str):
        pass

    assert M(Text("00:1b:77:49:54:fd")) == REF
    assert M(Text("001b.7749.54fd")) == REF


# (input, fragment the error message must contain)
BAD_INPUTS: list[tuple[object, str]] = [
    ("", "empty string"),
    ("00:1b:77:49:54", "has 5 groups separated by ':'; expected 6"),
    ("00:1b:77:49:54:fd:00", "has 7 groups separated by ':'"),
    ("00:1b:77:49:54:fd:", "ends with a separator"),
    ("00-1b-77-49-54-fd-", "ends with a separator"),
    ("001b.7749.54fd.", "ends with a separator"),
    (":00:1b:77:49:54:fd", "starts with a separator"),
    ("00:1b-77:49:54:fd", "mixes separators ':' and '-'"),
    ("00-1b-77.4954.fd", "mixes separators '-' and '.'"),
    ("001b.7749:54fd", "mixes separators '.' and ':'"),
    ("00:1b:77:49:54:fg", "'g' is not a hexadecimal digit"),
    ("zz:1b:77:49:54:fd", "'z' is not a hexadecimal digit"),
    ("00:1b:77:49: 54:fd", "contains whitespace"),
    (" 00:1b:77:49:54:fd", "contains whitespace"),
    ("00:1b:77:49:54:fd\n", "contains whitespace"),
    ("00 1b 77 49 54 fd", "contains whitespace"),
    ("001b 7749 54fd", "contains whitespace"),
    ("00:1b:77:49:54:f\t", "contains whitespace"),
    ("00-1b-77-49-54-f\n", "contains whitespace"),
    ("001b.7749.54f\t", "contains whitespace"),
    ("001b774954f ", "contains whitespace"),
    ("001b77:4954f ", "contains whitespace"),
    ("  :1b:77:49:54:fd", "contains whitespace"),
    ("0 :1b:77:49:54:fd", "contains whitespace"),
    ("0x001b774954fd", "has a '0x' prefix"),
    ("0X001B774954FD", "has a '0x' prefix"),
    ("0x:1b:77:49:54:fd", "has a '0x' prefix"),
    ("00:1b:77:49:54:0x", "'x' is not a hexadecimal digit"),
    ("00::1b:77:49:54", "has an empty group ('::')"),
    ("00:1b::77:49:54:fd", "has an empty group"),
    ("00:1b:77:49:54:fdd", "group 'fdd' has 3 digits; expected 1 or 2"),
    ("001:b7:74:95:4f:d", "group '001' has 3 digits"),
    ("0-1b-77-49-54-fd", "group '0' has 1 digit; expected 2"),
    ("00-1b-77-49-54", "has 5 groups separated by '-'; expected 6"),
    ("001b.7749.54f", "group '54f' has 3 digits; expected 4"),
    ("001b.7749", "has 2 groups separated by '.'; expected 3"),
    ("001b77:4954fd0", "group '4954fd0' has 7 digits; expected 6"),
    ("001b:7749:54fd", "has 3 groups separated by ':'"),
    ("001b774954f", "has 11 digits; expected 12 hex digits"),
    ("001b774954fd0", "has 13 digits; expected 12 hex digits"),
    ("a", "has 1 digit; expected 12"),
    ("00_1b_77_49_54_fd", "unexpected character '_'"),
    ("00/1b/77/49/54/fd", "unexpected character '/'"),
    ("+01b774954fd", "unexpected character '+'"),
    ("-01b774954fd", "starts with a separator"),
    ("\u0660\u0660:1b:77:49:54:fd", "non-ASCII character"),
    ("\uff10\uff10:1b:77:49:54:fd", "non-ASCII character"),
    ("00:1b:77:49:54:fd\u00a0", "contains whitespace"),
    (b"\x00\x1b\x77\x49\x54", "expected 6 bytes, got 5"),
    (b"\x00\x1b\x77\x49\x54\xfd\x00", "expected 6 bytes, got 7"),
    (b"", "expected 6 bytes, got 0"),
    (-1, "out of range"),
    (2**48, "out of range"),
]


_H = "[0-9a-fA-F]"
REFERENCE_GRAMMAR = [
    re.compile(f"{_H}{{1,2}}(?::{_H}{{1,2}}){{5}}"),
    re.compile(f"{_H}{{2}}(?:-{_H}{{2}}){{5}}"),
    re.compile(f"{_H}{{4}}(?:\\.{_H}{{4}}){{2}}"),
    re.compile(f"{_H}{{12}}"),
    re.compile(f"{_H}{{6}}:{_H}{{6}}"),
]


def _reference_parse(text: str) -> int | None:
    """An independent statement of the accepted grammar."""
    if any(g.fullmatch(text) for g in REFERENCE_GRAMMAR):
        groups = re.split("[:.-]", text)
        width = 12 // len(groups)
        return int("".join(g.zfill(width) for g in groups), 16)
    return None


def _check_against_reference(text: str) -> None:
    expected = _reference_parse(text)
    if expected is None:
        with pytest.raises(MacAddressValueError):
            M(text)
    else:
        assert int(M(text)) == expected


@given(macs, st.sampled_from(ALL_STYLES), st.data())
def test_one_character_mutations_agree_with_the_grammar(
    n: int, style: str, data: st.DataObject
) -> None:
    text = M(n).format(style)
    i = data.draw(st.integers(0, len(text) - 1))
    c = data.draw(st.sampled_from("0aF:-. \t\nxg_+\u0660\uff10\u00a0"))
    kind = data.draw(st.sampled_from(["replace", "insert", "delete"]))
    if kind == "replace":
        mutated = text[:i] + c + text[i + 1 :]
    elif kind == "insert":
        mutated = text[:i] + c + text[i:]
    else:
        mutated = text[:i] + text[i + 1 :]
    _check_against_reference(mutated)


@settings(max_examples=300)
@given(st.text(alphabet="0123456789abcdefABCDEF:-. \tx", min_size=10, max_size=19))
def test_random_strings_agree_with_the_grammar(text: str) -> None:
    _check_against_reference(text)


@pytest.mark.parametrize(("value", "fragment"), BAD_INPUTS)
def test_bad_input_table(value: object, fragment: str) -> None:
    with pytest.raises(MacAddressValueError) as info:
        M(value)  # type: ignore[arg-type]
    message = str(info.value)
    assert fragment in message
    assert message.startswith(repr(value)), "the message quotes the input first"
    assert info.value.value == value
    assert isinstance(info.value, ValueError)


def test_long_input_is_quoted_shortened() -> None:
    text = "0" * 500
    with pytest.raises(MacAddressValueError) as info:
        M(text)
    assert len(str(info.value)) < 200
    assert "has 500 digits" in str(info.value)
    assert info.value.value == text


@pytest.mark.parametrize("value", [True, False, 1.0, None, [0, 1], ("00",), object()])
def test_wrong_types_raise_type_error(value: object) -> None:
    with pytest.raises(TypeError, match=f"not {type(value).__name__}"):
        M(value)  # type: ignore[arg-type]


def test_value_error_pickles_and_keeps_its_fields() -> None:
    with pytest.raises(MacAddressValueError) as info:
        M("00:1b:77:49:54")
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is MacAddressValueError
    assert str(again) == str(info.value)
    assert again.reason == info.value.reason


# -- formatting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "text"),
    [
        ("colon", "00:1b:77:49:54:fd"),
        ("hyphen", "00-1b-77-49-54-fd"),
        ("cisco", "001b.7749.54fd"),
        ("bare", "001b774954fd"),
        ("pgsql", "001b77:4954fd"),
        ("bsd", "0:1b:77:49:54:fd"),
        ("COLON", "00:1B:77:49:54:FD"),
        ("HYPHEN", "00-1B-77-49-54-FD"),
        ("CISCO", "001B.7749.54FD"),
        ("BARE", "001B774954FD"),
        ("PGSQL", "001B77:4954FD"),
        ("BSD", "0:1B:77:49:54:FD"),
    ],
)
def test_format_styles(style: str, text: str) -> None:
    assert REF.format(style) == text
    assert REF.format(MacFormat(style)) == text
    assert format(REF, style) == text
    assert f"{REF:{style}}" == text


def test_str_repr_and_default_format() -> None:
    assert str(REF) == "00:1b:77:49:54:fd"
    assert REF.format() == str(REF)
    assert f"{REF}" == str(REF)
    assert repr(REF) == "MacAddress('00:1b:77:49:54:fd')"
    assert eval(repr(REF), {"MacAddress": MacAddress}) == REF


def test_unknown_style() -> None:
    with pytest.raises(ValueError, match="unknown MAC address format 'Colon'") as info:
        REF.format("Colon")
    assert "colon, hyphen, cisco, bare, pgsql, bsd" in str(info.value)
    with pytest.raises(ValueError, match="unknown MAC address format 'x'"):
        f"{REF:x}"
    with pytest.raises(TypeError, match="must be str, not int"):
        REF.format(3)  # type: ignore[arg-type]


@given(macs, st.sampled_from(ALL_STYLES))
def test_every_format_round_trips(n: int, style: str) -> None:
    m = M(n)
    text = m.format(style)
    assert M(text) == m
    assert M(text.lower()) == m
    assert M(text.upper()) == m


@given(macs)
def test_text_forms_agree_with_netaddr(n: int) -> None:
    m = M(n)
    e = netaddr.EUI(n)
    assert m.format("colon") == e.format(netaddr.mac_unix_expanded)
    assert m.format("bsd") == e.format(netaddr.mac_unix)
    assert m.format("cisco") == e.format(netaddr.mac_cisco)
    assert m.format("BARE") == e.format(netaddr.mac_bare)
    assert m.format("pgsql") == e.format(netaddr.mac_pgsql)
    assert m.format("HYPHEN") == e.format(netaddr.mac_eui48)
    # and parsing netaddr's renderings gives the same address back
    for dialect in (netaddr.mac_unix, netaddr.mac_cisco, netaddr.mac_pgsql, netaddr.mac_eui48):
        assert int(M(e.format(dialect))) == n


# -- value semantics ----------------------------------------------------------------


@given(macs, macs)
def test_ordering_and_equality_agree_with_int(a: int, b: int) -> None:
    x, y = M(a), M(b)
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)
    assert (x > y) == (a > b)
    assert (x >= y) == (a >= b)
    assert (x == y) == (a == b)
    assert (x != y) == (a != b)
    if a == b:
        assert hash(x) == hash(y)


@given(st.lists(macs, max_size=30))
def test_sorting_agrees_with_int(values: list[int]) -> None:
    assert [int(m) for m in sorted(M(v) for v in values)] == sorted(values)


def test_not_equal_to_other_types() -> None:
    text, raw = str(REF), bytes(REF)
    assert REF != REF_INT
    assert text != REF
    assert raw != REF
    assert REF.__eq__(text) is NotImplemented
    with pytest.raises(TypeError):
        _ = REF < REF_INT  # type: ignore[operator]


def test_conversions() -> None:
    assert int(REF) == REF_INT
    assert bytes(REF) == b"\x00\x1b\x77\x49\x54\xfd"
    assert REF.packed == bytes(REF)
    assert REF.oui == "00:1b:77"
    assert M("52:54:00:aa:bb:cc").oui == "52:54:00"


@given(macs)
def test_int_bytes_round_trip(n: int) -> None:
    m = M(n)
    assert int(m) == n
    assert M(bytes(m)) == m
    assert M(m.packed) == m
    assert len(m.packed) == 6


def test_immutable_with_slots() -> None:
    assert MacAddress.__slots__ == ("_mac",)
    assert not hasattr(REF, "__dict__")
    with pytest.raises(AttributeError):
        REF.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        REF.packed = b"x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        REF.is_local = True  # type: ignore[misc]


def test_hashable_in_sets_and_dicts() -> None:
    a = M("00:1b:77:49:54:fd")
    b = M("00-1B-77-49-54-FD")
    assert a is not b
    assert len({a, b}) == 1
    assert {a: 1}[b] == 1


@given(macs)
def test_pickle_and_copy(n: int) -> None:
    m = M(n)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(m, protocol))
        assert again == m
        assert type(again) is MacAddress
    assert copy.copy(m) == m
    assert copy.deepcopy(m) == m


class Mine(MacAddress):
    __slots__ = ()


def test_subclass_keeps_its_type() -> None:
    m = Mine("00:1b:77:49:54:fd")
    assert repr(m) == "Mine('00:1b:77:49:54:fd')"
    assert type(pickle.loads(pickle.dumps(m))) is Mine
    assert type(m.with_local(True)) is Mine
    assert m == REF


# -- bits ---------------------------------------------------------------------------


@given(macs)
def test_bit_predicates_agree_with_integer_bits(n: int) -> None:
    m = M(n)
    first = n >> 40
    assert m.is_multicast == bool(first & 0x01)
    assert m.is_unicast == (not first & 0x01)
    assert m.is_local == bool(first & 0x02)
    assert m.is_universal == (not first & 0x02)
    assert m.is_broadcast == (n == 2**48 - 1)
    assert m.is_unicast != m.is_multicast
    assert m.is_local != m.is_universal
    q = m.slap_quadrant
    if first & 0x02:
        assert q is not None
        assert q.value == first & 0x0E
    else:
        assert q is None


@given(macs)
def test_bit_helpers(n: int) -> None:
    m = M(n)
    assert int(m.with_local(True)) == n | 0x02 << 40
    assert int(m.with_local(False)) == n & ~(0x02 << 40)
    assert int(m.with_multicast(True)) == n | 0x01 << 40
    assert int(m.with_multicast(False)) == n & ~(0x01 << 40)
    assert m.with_local(True).is_local
    assert m.with_local(False).is_universal
    assert m.with_multicast(True).is_multicast
    assert m.with_multicast(False).is_unicast
    assert int(m) == n, "the original is untouched"


@pytest.mark.parametrize(
    ("text", "quadrant"),
    [
        ("02:00:00:00:00:01", SlapQuadrant.AAI),
        ("f2:00:00:00:00:01", SlapQuadrant.AAI),
        ("0a:00:00:00:00:01", SlapQuadrant.ELI),
        ("fa:00:00:00:00:01", SlapQuadrant.ELI),
        ("0e:00:00:00:00:01", SlapQuadrant.SAI),
        ("06:00:00:00:00:01", SlapQuadrant.RESERVED),
        ("03:00:00:00:00:01", SlapQuadrant.AAI),
        ("0b:00:00:00:00:01", SlapQuadrant.ELI),
        ("0f:00:00:00:00:01", SlapQuadrant.SAI),
        ("07:00:00:00:00:01", SlapQuadrant.RESERVED),
        ("00:1b:77:49:54:fd", None),
        ("01:00:5e:00:00:01", None),
        ("0c:00:00:00:00:01", None),
    ],
)
def test_slap_quadrants(text: str, quadrant: SlapQuadrant | None) -> None:
    assert M(text).slap_quadrant is quadrant


def test_broadcast_and_well_known() -> None:
    b = M("ff:ff:ff:ff:ff:ff")
    assert b.is_broadcast and b.is_multicast and b.is_local
    assert not M("ff:ff:ff:ff:ff:fe").is_broadcast
    assert M("01:00:5e:00:00:fb").is_multicast
    assert M("33:33:00:00:00:01").is_multicast
    assert REF.is_unicast and REF.is_universal and not REF.is_broadcast


# -- IPv6 ---------------------------------------------------------------------------


def test_eui64_and_link_local_example() -> None:
    assert REF.modified_eui64() == bytes.fromhex("021b77fffe4954fd")
    assert REF.ipv6_link_local() == ipaddress.IPv6Address("fe80::21b:77ff:fe49:54fd")
    assert REF.ipv6_slaac("2001:db8::/64") == ipaddress.IPv6Address("2001:db8::21b:77ff:fe49:54fd")


@given(macs)
def test_eui64_and_link_local_agree_with_netaddr(n: int) -> None:
    m = M(n)
    e = netaddr.EUI(n)
    assert m.modified_eui64() == bytes(e.modified_eui64().packed)
    assert len(m.modified_eui64()) == 8
    assert m.ipv6_link_local() == ipaddress.IPv6Address(str(e.ipv6_link_local()))


@given(macs, st.integers(min_value=0, max_value=2**64 - 1))
def test_slaac_agrees_with_netaddr(n: int, prefix: int) -> None:
    network = ipaddress.IPv6Network((prefix << 64, 64))
    m = M(n)
    expected = ipaddress.IPv6Address(str(netaddr.EUI(n).ipv6(prefix << 64)))
    assert m.ipv6_slaac(str(network)) == expected
    assert m.ipv6_slaac(network) == expected
    assert m.ipv6_slaac(ipaddress.IPv6Interface((prefix << 64, 64))) == expected
    assert expected in network


def test_slaac_needs_a_64() -> None:
    with pytest.raises(ValueError, match="'2001:db8::/48' is not a /64"):
        REF.ipv6_slaac("2001:db8::/48")
    with pytest.raises(ValueError, match="has host bits set"):
        REF.ipv6_slaac("2001:db8::1/64")
    with pytest.raises(TypeError, match="not int"):
        REF.ipv6_slaac(5)  # type: ignore[arg-type]


# -- random -------------------------------------------------------------------------

quadrants = st.sampled_from([SlapQuadrant.AAI, SlapQuadrant.SAI, None])


@given(quadrants, st.integers(min_value=0, max_value=2**32))
def test_random_satisfies_the_quadrant(quadrant: SlapQuadrant | None, seed: int) -> None:
    m = M.random(quadrant, random.Random(seed))
    assert m.is_unicast and m.is_local
    assert not m.is_broadcast
    if quadrant is None:
        assert m.slap_quadrant is not None
    else:
        assert m.slap_quadrant is quadrant
        assert int(m) >> 40 & 0x0F == quadrant.value


@given(st.integers(min_value=0, max_value=2**32), st.integers(0, 0xFFFF))
def test_random_eli_keeps_the_cid(seed: int, low: int) -> None:
    cid = 0x0A << 16 | low
    m = M.random(SlapQuadrant.ELI, random.Random(seed), cid=cid)
    assert int(m) >> 24 == cid
    assert m.slap_quadrant is SlapQuadrant.ELI
    assert m.is_unicast


def test_random_eli_cid_forms() -> None:
    for cid in ("0a:1b:2c", "0A-1B-2C", "0a1b2c", b"\x0a\x1b\x2c", 0x0A1B2C):
        assert M.random(SlapQuadrant.ELI, random.Random(1), cid=cid).oui == "0a:1b:2c"


def test_random_is_reproducible_with_a_seeded_rng() -> None:
    for q in (SlapQuadrant.AAI, SlapQuadrant.SAI, None):
        a = [M.random(q, random.Random(7)) for _ in range(3)]
        assert a[0] == a[1] == a[2]
    r1, r2 = random.Random(42), random.Random(42)
    seq1 = [M.random(rng=r1) for _ in range(50)]
    seq2 = [M.random(rng=r2) for _ in range(50)]
    assert seq1 == seq2
    assert len(set(seq1)) == 50


def test_random_uses_all_free_bits() -> None:
    rng = random.Random(3)
    seen_or = 0
    seen_and = 2**48 - 1
    for _ in range(400):
        n = int(M.random(SlapQuadrant.AAI, rng))
        seen_or |= n
        seen_and &= n
    # 44 random bits, the low nibble of the first octet fixed at 0x2
    assert seen_or == (2**48 - 1) & ~(0x0D << 40)
    assert seen_and == 0x02 << 40


def test_random_without_rng_uses_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    import secrets

    calls: list[int] = []

    def fake(k: int) -> int:
        calls.append(k)
        return 2**k - 1

    monkeypatch.setattr(secrets, "randbits", fake)
    assert M.random() == M("f2:ff:ff:ff:ff:ff")
    assert M.random(None) == M("fe:ff:ff:ff:ff:ff")
    assert M.random(SlapQuadrant.SAI) == M("fe:ff:ff:ff:ff:ff")
    assert M.from_oui("52:54:00") == M("52:54:00:ff:ff:ff")
    assert calls == [48, 48, 48, 24]


def test_random_without_rng_differs() -> None:
    assert len({M.random() for _ in range(20)}) == 20


def test_random_errors() -> None:
    with pytest.raises(ValueError, match="ELI address needs a CID"):
        M.random(SlapQuadrant.ELI)
    with pytest.raises(
        ValueError, match=re.escape("only meaningful with quadrant=SlapQuadrant.ELI")
    ):
        M.random(SlapQuadrant.AAI, cid="0a:1b:2c")
    with pytest.raises(ValueError, match="RESERVED"):
        M.random(SlapQuadrant.RESERVED)
    with pytest.raises(TypeError, match="SlapQuadrant or None, not str"):
        M.random("AAI")  # type: ignore[arg-type]
    with pytest.raises(MacAddressValueError, match="is not a CID: a CID's first octet"):
        M.random(SlapQuadrant.ELI, cid="02:1b:2c")
    with pytest.raises(MacAddressValueError, match="has 4 octets; expected 3"):
        M.random(SlapQuadrant.ELI, cid="0a:1b:2c:3d")
    with pytest.raises(MacAddressValueError, match="out of range"):
        M.random(SlapQuadrant.ELI, cid=2**24)


# -- stable (systemd MACAddressPolicy=persistent) -----------------------------------

SYSTEMD_KEY = bytes.fromhex("d31e48fa90fe4b4c9dafd5d7a1b12e8a")
MACHINE_ID_HEX = "3d1219c7c4c5404aaa1f6d2a48adfda4"


def _expected_stable(machine: bytes, name: bytes) -> int:
    digest = siphash24(SYSTEMD_KEY, machine + name).to_bytes(8, "little")
    raw = bytearray(digest[:6])
    raw[0] = (raw[0] & 0xFE) | 0x02
    return int.from_bytes(raw, "big")


@given(st.text(min_size=1, max_size=15).filter(lambda s: "\0" not in s))
def test_stable_is_the_systemd_derivation(name: str) -> None:
    key = bytes.fromhex(MACHINE_ID_HEX)
    m = M.stable(name, key=key)
    assert int(m) == _expected_stable(key, name.encode())
    assert m.is_unicast and m.is_local
    assert M.stable(name, key=key) == m, "deterministic"
    assert M.stable(name.encode(), key=key) == m
    assert M.stable(name, key=MACHINE_ID_HEX) == m
    assert M.stable(name, key=MACHINE_ID_HEX.upper()) == m


def test_stable_key_forms_and_sensitivity() -> None:
    uuid_form = "3d1219c7-c4c5-404a-aa1f-6d2a48adfda4"
    a = M.stable("mv0", key=MACHINE_ID_HEX)
    assert M.stable("mv0", key=uuid_form) == a
    assert M.stable("mv1", key=MACHINE_ID_HEX) != a
    assert M.stable("mv0", key="3d1219c7c4c5404aaa1f6d2a48adfda5") != a


def test_stable_reads_etc_machine_id_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "machine-id"
    path.write_text("0123456789abcdef0123456789abcdef\n")
    monkeypatch.setattr(macvlan.mac, "MACHINE_ID_PATH", str(path))
    assert M.stable("eth0") == M.stable("eth0", key="0123456789abcdef0123456789abcdef")


def test_machine_id_reader(tmp_path: Path) -> None:
    path = tmp_path / "machine-id"
    path.write_text("0123456789abcdef0123456789abcdef\n")
    assert macvlan.mac._machine_id(str(path)) == bytes.fromhex("0123456789abcdef" * 2)
    path.write_text("uninitialized\n")
    with pytest.raises(ValueError, match="is not a machine ID"):
        macvlan.mac._machine_id(str(path))
    path.write_text("0" * 32 + "\n")
    with pytest.raises(ValueError, match="all zeros"):
        macvlan.mac._machine_id(str(path))
    with pytest.raises(FileNotFoundError):
        macvlan.mac._machine_id(str(tmp_path / "missing"))


@pytest.mark.skipif(
    not os.path.exists("/etc/machine-id"), reason="this system has no /etc/machine-id"
)
def test_stable_default_uses_this_machine() -> None:
    text = Path("/etc/machine-id").read_text().strip()
    assert M.stable("eth0") == M.stable("eth0", key=text)


def _systemd_predictable() -> object | None:
    """systemd's own net_get_unique_predictable_data_from_name(), if the library has it."""
    for d in ("/usr/lib/x86_64-linux-gnu/systemd", "/usr/lib/systemd", "/lib/systemd"):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if not name.startswith("libsystemd-shared"):
                continue
            try:
                lib = ctypes.CDLL(os.path.join(d, name))
            except OSError:
                continue
            fn = getattr(lib, "net_get_unique_predictable_data_from_name", None)
            if fn is not None:
                fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64)]
                fn.restype = ctypes.c_int
                return fn
    return None


SYSTEMD_FN = _systemd_predictable()


@pytest.mark.skipif(
    SYSTEMD_FN is None or not os.path.exists("/etc/machine-id"),
    reason="needs systemd's libsystemd-shared (>= 251) and /etc/machine-id",
)
@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b))
def test_stable_matches_systemd_itself(name: bytes) -> None:
    """udev: net_get_unique_predictable_data() -> first 6 bytes, &= ~0x01, |= 0x02."""
    out = ctypes.c_uint64()
    assert SYSTEMD_FN is not None
    rc = SYSTEMD_FN(name, SYSTEMD_KEY, ctypes.byref(out))  # type: ignore[operator]
    assert rc == 0
    raw = bytearray(out.value.to_bytes(8, sys.byteorder)[:6])  # memcpy of the htole64 value
    raw[0] = (raw[0] & 0xFE) | 0x02
    assert M.stable(name) == M(bytes(raw))


def test_stable_errors() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        M.stable("", key=MACHINE_ID_HEX)
    with pytest.raises(ValueError, match="NUL"):
        M.stable("eth\0", key=MACHINE_ID_HEX)
    with pytest.raises(TypeError, match="name must be str or bytes, not int"):
        M.stable(5, key=MACHINE_ID_HEX)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="16 bytes"):
        M.stable("eth0", key=b"short")
    with pytest.raises(ValueError, match="is not a machine ID"):
        M.stable("eth0", key="xyz")
    with pytest.raises(ValueError, match="all zeros"):
        M.stable("eth0", key="0" * 32)
    with pytest.raises(TypeError, match="key must be str, bytes or None"):
        M.stable("eth0", key=5)  # type: ignore[arg-type]


# -- from_oui / from_ipv4 ------------------------------------------------------------


@given(st.integers(0, 0xFFFFFF).filter(lambda o: not o >> 16 & 1), st.integers(0, 2**32))
def test_from_oui_keeps_the_prefix(oui: int, seed: int) -> None:
    m = M.from_oui(oui, random.Random(seed))
    assert int(m) >> 24 == oui
    assert m.is_unicast
    assert int(m) != 0
    assert M.from_oui(oui, random.Random(seed)) == m


def test_from_oui_forms_and_errors() -> None:
    for oui in ("52:54:00", "52-54-00", "525400", "52:54:00".upper(), b"RT\x00", 0x525400):
        assert M.from_oui(oui, random.Random(1)).oui == "52:54:00"
    with pytest.raises(MacAddressValueError, match="multicast"):
        M.from_oui("01:00:5e")
    with pytest.raises(MacAddressValueError, match="has 4 octets; expected 3"):
        M.from_oui("52:54:00:01")
    with pytest.raises(MacAddressValueError, match="'5g' is not an octet"):
        M.from_oui("52:5g:00")
    with pytest.raises(MacAddressValueError, match="mixes separators"):
        M.from_oui("52:54-00")
    with pytest.raises(MacAddressValueError, match="expected 3 bytes, got 2"):
        M.from_oui(b"RT")
    with pytest.raises(TypeError, match="not float"):
        M.from_oui(1.5)  # type: ignore[arg-type]


def test_from_oui_never_returns_zero() -> None:
    class Zero:
        def __init__(self) -> None:
            self.calls = 0

        def getrandbits(self, k: int) -> int:
            self.calls += 1
            return 0 if self.calls == 1 else 5

    rng = Zero()
    assert M.from_oui("00:00:00", rng) == M("00:00:00:00:00:05")
    assert rng.calls == 2


def test_from_ipv4() -> None:
    assert M.from_ipv4("172.17.0.2") == M("02:42:ac:11:00:02")
    assert M.from_ipv4(ipaddress.IPv4Address("10.0.0.1")) == M("02:42:0a:00:00:01")
    assert M.from_ipv4("255.255.255.255") == M("02:42:ff:ff:ff:ff")
    with pytest.raises(
        MacAddressValueError, match=re.escape("'172.17.0.256' is not an IPv4 address")
    ):
        M.from_ipv4("172.17.0.256")
    with pytest.raises(TypeError, match="not int"):
        M.from_ipv4(5)  # type: ignore[arg-type]


@given(st.integers(0, 2**32 - 1))
def test_from_ipv4_property(ip: int) -> None:
    m = M.from_ipv4(str(ipaddress.IPv4Address(ip)))
    assert int(m) == 0x0242 << 32 | ip
    assert m.is_unicast and m.is_local and m.slap_quadrant is SlapQuadrant.AAI


def test_slap_quadrant_of() -> None:
    assert SlapQuadrant.of(0x00) is None
    assert SlapQuadrant.of(0x52) is SlapQuadrant.AAI
    assert SlapQuadrant.of(0x0A) is SlapQuadrant.ELI
    assert SlapQuadrant.of(0xFE) is SlapQuadrant.SAI
    assert SlapQuadrant.of(0x06) is SlapQuadrant.RESERVED
