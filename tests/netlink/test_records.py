"""The codec's record types (attributes, messages, veth peers) are immutable tuples
built without typing or collections: fields, equality, hashing, copies, pickling, repr.
Enum-valued attributes load their enum on first use; ``spec.raw`` builds wire-form
attributes; the syscalls take the backend the test run names."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from macvlan._netlink import encode, ifa, ifla, iter_messages
from macvlan._netlink.attr import RawAttr
from macvlan._netlink.constants import MacvlanMode, RtmType
from macvlan._netlink.message import DoneMessage, ErrorMessage, Message
from macvlan._netlink.structs import IfInfoMsg

REPO = Path(__file__).resolve().parents[2]

MESSAGE = Message(
    RtmType.NEWLINK,
    0x600,
    7,
    0,
    IfInfoMsg(index=3),
    [ifla.IFNAME("mv0"), ifla.MTU(1400), RawAttr(999, b"\x01\x02")],
)
RECORDS = [
    ifla.IFNAME("mv0"),
    RawAttr(999, b"xy", 0x8000),
    MESSAGE,
    ErrorMessage(0x100, 7, 42, -17, b"\x00" * 16),
    DoneMessage(0, 7, 42),
    ifla.PeerInfo(IfInfoMsg(index=5), [ifla.IFNAME("p1")]),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_records_are_immutable_hashable_tuples(record: tuple[object, ...]) -> None:
    assert isinstance(record, tuple)
    twin = type(record)(*record)
    assert twin == record
    with pytest.raises(AttributeError):
        record.anything = 1  # type: ignore[attr-defined]
    if all(not isinstance(field, list) for field in record):
        assert hash(twin) == hash(record)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_records_copy(record: tuple[object, ...]) -> None:
    # attribute specs are declarations: copies share them, so copies stay equal
    for copied in (copy.copy(record), copy.deepcopy(record)):
        assert copied == record
        assert type(copied) is type(record)


@pytest.mark.parametrize(
    "record",
    [r for r in RECORDS if isinstance(r, RawAttr | ErrorMessage | DoneMessage)],
    ids=lambda r: type(r).__name__,
)
def test_plain_data_records_pickle(record: tuple[object, ...]) -> None:
    assert pickle.loads(pickle.dumps(record)) == record


def test_fields_by_name_and_position() -> None:
    assert (MESSAGE.type, MESSAGE.flags, MESSAGE.seq, MESSAGE.pid) == (16, 0x600, 7, 0)
    assert MESSAGE.body == IfInfoMsg(index=3) == MESSAGE[4]
    kind, value, flags = ifla.MTU(1400)
    assert (kind, value, flags) == (ifla.MTU, 1400, 0)
    raw = RawAttr(999, b"xy", 0x8000)
    assert (raw.type, raw.data, raw.flags) == (999, b"xy", 0x8000)
    error = ErrorMessage(0x100, 7, 42, -17)
    assert (error.type, error.seq, error.error, error.echo, error.is_ack) == (2, 7, -17, b"", False)
    assert DoneMessage(0, 7, 42).type == 3


def test_message_replace_changes_only_the_named_fields() -> None:
    changed = MESSAGE._replace(seq=9, flags=1)
    assert (changed.seq, changed.flags, changed.attrs) == (9, 1, MESSAGE.attrs)
    assert MESSAGE.seq == 7
    with pytest.raises(ValueError, match="no field 'sequence'"):
        MESSAGE._replace(sequence=1)


def test_reprs_name_the_fields() -> None:
    assert repr(RawAttr(999, b"xy")) == "RawAttr(type=999, data=b'xy', flags=0)"
    assert repr(ifla.MTU(1400)) == "IFLA_MTU(1400)"
    assert repr(DoneMessage(0, 7, 42)) == "DoneMessage(flags=0, seq=7, pid=42, error=0, ext_ack=())"
    assert repr(MESSAGE).startswith("Message(type=<RtmType.NEWLINK: 16>, flags=1536, seq=7,")


def test_decoded_messages_reencode_byte_for_byte() -> None:
    data = encode([MESSAGE])
    (decoded,) = iter_messages(data)
    assert isinstance(decoded, Message)
    assert encode([decoded]) == data
    assert decoded.get(ifla.IFNAME) == "mv0"


# -- spec.raw: an attribute already in wire form -------------------------------------------
def test_raw_spec_encodes_as_the_typed_attribute() -> None:
    typed = Message(RtmType.NEWADDR, attrs=[ifa.LOCAL("10.0.0.1"), ifla.MACVLAN_MODE(4)])
    raw = Message(
        RtmType.NEWADDR,
        attrs=[
            ifa.LOCAL.raw(bytes([10, 0, 0, 1])),
            ifla.MACVLAN_MODE.raw(
                (4).to_bytes(4, "little" if sys.byteorder == "little" else "big")
            ),
        ],
    )
    assert encode([raw]) == encode([typed])
    assert ifa.LOCAL.raw(b"\x0a\x00\x00\x01") == RawAttr(ifa.LOCAL.number, b"\x0a\x00\x00\x01")


def test_raw_spec_refuses_read_only_and_oversized_payloads() -> None:
    with pytest.raises(ValueError, match="read-only"):
        ifla.STATS64.raw(b"")
    with pytest.raises(ValueError, match="do not fit"):
        ifla.IFALIAS.raw(bytes(0x10000))


# -- enum-valued attributes load their enum on first use ------------------------------------
def test_enum_codecs_give_enum_members_and_refuse_unknown_values() -> None:
    assert ifla.MACVLAN_MODE(4).value is MacvlanMode.BRIDGE
    with pytest.raises(ValueError, match="3 is not a valid MacvlanMode"):
        ifla.MACVLAN_MODE(3)
    with pytest.raises(TypeError, match="expected MacvlanMode, got the string 'bridge'"):
        ifla.MACVLAN_MODE("bridge")


def test_declaring_the_schemas_imports_no_enum() -> None:
    code = (
        "import sys\n"
        "from macvlan._netlink import ifa, ifla, rta, message, socket\n"
        "print(sorted({'enum', 'typing', 'collections', 'macvlan._netlink.constants'}"
        " & set(sys.modules)))\n"
        "ifla.MACVLAN_MODE(4)\n"
        "print('macvlan._netlink.constants' in sys.modules)\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-S",
            "-E",
            "-c",
            f"import sys; sys.path.insert(0, {str(REPO)!r})\n{code}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["[]", "True"]


# -- the syscalls' backend ---------------------------------------------------------------
def test_syscalls_use_the_backend_of_this_run() -> None:
    from macvlan import _syscalls

    expected = os.environ.get("MACVLAN_EXPECT_BACKEND")
    if expected is None:
        pytest.skip("MACVLAN_EXPECT_BACKEND not set (nox sets it for each backend)")
    assert _syscalls.backend() == {"cffi": "cffi", "python": "ctypes"}[expected]


def test_ns_type_agrees_with_the_kernel_through_fcntl(tmp_path: Path) -> None:
    """Whichever backend makes the NS_GET_NSTYPE ioctl, it answers as fcntl.ioctl."""
    import fcntl

    from macvlan import _syscalls

    seen = set()
    for entry in sorted(os.listdir("/proc/self/ns")):
        fd = os.open(f"/proc/self/ns/{entry}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            seen.add(_syscalls.ns_type(fd))
            assert _syscalls.ns_type(fd) == fcntl.ioctl(fd, _syscalls.NS_GET_NSTYPE), entry
        finally:
            os.close(fd)
    assert _syscalls.CLONE_NEWNET in seen
    plain = tmp_path / "file"
    plain.write_text("")
    fd = os.open(plain, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with pytest.raises(OSError) as ours:
            _syscalls.ns_type(fd)
        with pytest.raises(OSError) as oracle:
            fcntl.ioctl(fd, _syscalls.NS_GET_NSTYPE)
        assert (ours.value.errno, ours.value.strerror) == (
            oracle.value.errno,
            oracle.value.strerror,
        )
    finally:
        os.close(fd)


def test_syscall_errors_carry_errno_and_path() -> None:
    from macvlan import _syscalls

    with pytest.raises(OSError) as caught:
        _syscalls.setns(-1, _syscalls.CLONE_NEWNET)
    assert caught.value.errno == 9  # EBADF
    assert "setns" in str(caught.value)
    missing = f"/nonexistent-{os.getpid()}"
    with pytest.raises(FileNotFoundError) as gone:
        _syscalls.umount2(missing, 0)
    assert gone.value.filename == missing
