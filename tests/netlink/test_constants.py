"""The plain kernel numbers (numbers.py) agree with the enums (constants.py)."""

from __future__ import annotations

import enum

import pytest

from macvlan._netlink import constants, numbers

# C prefix -> the enum naming the same numbers (longest prefixes first)
ENUMS: list[tuple[str, type[enum.IntEnum] | type[enum.IntFlag]]] = [
    ("RT_TABLE_", constants.RtTable),
    ("RTPROT_", constants.RtProto),
    ("NLMSG_", constants.NlmsgType),
    ("IFA_F_", constants.IfaFlags),
    ("NLM_F_", constants.NlmF),
    ("RTM_", constants.RtmType),
    ("RTN_", constants.RtType),
    ("IFF_", constants.Iff),
    ("NETLINK_", constants.SockOpt),
]
NUMBERS = {name: value for name, value in vars(numbers).items() if name.isupper()}
# numbers without an enum: constants.py re-exports them as they are
PLAIN = {name for name in NUMBERS if name in vars(constants)}


def enum_of(name: str) -> tuple[type[enum.IntEnum] | type[enum.IntFlag], str] | None:
    for prefix, enum_type in ENUMS:
        if name.startswith(prefix):
            return enum_type, name[len(prefix) :]
    return None


@pytest.mark.parametrize("name", sorted(set(NUMBERS) - PLAIN))
def test_number_equals_its_enum_member(name: str) -> None:
    found = enum_of(name)
    assert found is not None, f"{name} has neither an enum nor a re-export in constants.py"
    enum_type, member = found
    assert enum_type[member] == NUMBERS[name]


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_numbers_are_the_same_objects_in_constants(name: str) -> None:
    assert getattr(constants, name) == NUMBERS[name]
    assert enum_of(name) is None or name == "NETLINK_ROUTE"  # a protocol, not a sockopt
