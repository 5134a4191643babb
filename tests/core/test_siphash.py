"""SipHash-2-4 against the published reference vectors and two independent implementations."""

from __future__ import annotations

import ctypes
import doctest
import os
import shutil
import subprocess
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import macvlan._siphash
from macvlan._siphash import siphash24

# vectors_sip64 of the SipHash reference implementation (and appendix of the paper):
# key 00 01 .. 0f, message 00 01 .. (i-1) for i = 0..63, output bytes least significant first.
REFERENCE_VECTORS = [
    "310e0edd47db6f72",
    "fd67dc93c539f874",
    "5a4fa9d909806c0d",
    "2d7efbd796666785",
    "b7877127e09427cf",
    "8da699cd64557618",
    "cee3fe586e46c9cb",
    "37d1018bf50002ab",
    "6224939a79f5f593",
    "b0e4a90bdf82009e",
    "f3b9dd94c5bb5d7a",
    "a7ad6b22462fb3f4",
    "fbe50e86bc8f1e75",
    "903d84c02756ea14",
    "eef27a8e90ca23f7",
    "e545be4961ca29a1",
    "db9bc2577fcc2a3f",
    "9447be2cf5e99a69",
    "9cd38d96f0b3c14b",
    "bd6179a71dc96dbb",
    "98eea21af25cd6be",
    "c7673b2eb0cbf2d0",
    "883ea3e395675393",
    "c8ce5ccd8c030ca8",
    "94af49f6c650adb8",
    "eab8858ade92e1bc",
    "f315bb5bb835d817",
    "adcf6b0763612e2f",
    "a5c91da7acaa4dde",
    "716595876650a2a6",
    "28ef495c53a387ad",
    "42c341d8fa92d832",
    "ce7cf2722f512771",
    "e37859f94623f3a7",
    "381205bb1ab0e012",
    "ae97a10fd434e015",
    "b4a31508beff4d31",
    "81396229f0907902",
    "4d0cf49ee5d4dcca",
    "5c73336a76d8bf9a",
    "d0a704536ba93e0e",
    "925958fcd6420cad",
    "a915c29bc8067318",
    "952b79f3bc0aa6d4",
    "f21df2e41d4535f9",
    "87577519048f53a9",
    "10a56cf5dfcd9adb",
    "eb75095ccd986cd0",
    "51a9cb9ecba312e6",
    "96afadfc2ce666c7",
    "72fe52975a4364ee",
    "5a1645b276d592a1",
    "b274cb8ebf87870a",
    "6f9bb4203de7b381",
    "eaecb2a30b22a87f",
    "9924a43cc1315724",
    "bd838d3aafbf8db7",
    "0b1a2a3265d51aea",
    "135079a3231ce660",
    "932b2846e4d70666",
    "e1915f5cb1eca46c",
    "f325965ca16d629f",
    "575ff28e60381be5",
    "724506eb4c328a95",
]

KEY = bytes(range(16))


def test_docstring_example() -> None:
    result = doctest.testmod(macvlan._siphash)
    assert result.attempted == 1
    assert result.failed == 0


def test_the_table_has_64_vectors() -> None:
    assert len(REFERENCE_VECTORS) == 64
    assert len(set(REFERENCE_VECTORS)) == 64


@pytest.mark.parametrize("length", range(64))
def test_reference_vector(length: int) -> None:
    digest = siphash24(KEY, bytes(range(length)))
    assert 0 <= digest < 2**64
    assert digest.to_bytes(8, "little").hex() == REFERENCE_VECTORS[length]


def test_accepts_bytearray_and_memoryview() -> None:
    data = bytes(range(20))
    expected = siphash24(KEY, data)
    assert siphash24(bytearray(KEY), bytearray(data)) == expected
    assert siphash24(memoryview(KEY), memoryview(data)) == expected


def test_key_and_message_both_matter() -> None:
    other_key = bytes(range(1, 17))
    assert siphash24(KEY, b"eth0") != siphash24(other_key, b"eth0")
    assert siphash24(KEY, b"eth0") != siphash24(KEY, b"eth1")
    # the length byte separates a message from the same message with a trailing NUL
    assert siphash24(KEY, b"abc") != siphash24(KEY, b"abc\0")


@pytest.mark.parametrize("key", [b"", bytes(15), bytes(17), bytes(32)])
def test_key_must_be_16_bytes(key: bytes) -> None:
    with pytest.raises(ValueError, match=f"16 bytes, got {len(key)}"):
        siphash24(key, b"x")


def test_wrong_types() -> None:
    with pytest.raises(TypeError, match="key must be bytes, not str"):
        siphash24("0123456789abcdef", b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="input must be bytes, not str"):
        siphash24(KEY, "eth0")  # type: ignore[arg-type]


# -- independent implementations ----------------------------------------------------


def _openssl_command(exe: str, key: bytes, path: str) -> list[str]:
    """``openssl mac`` computing the 8-byte SipHash-2-4 of the file at ``path``."""
    return [
        exe,
        "mac",
        "-macopt",
        f"hexkey:{key.hex()}",
        "-macopt",
        "size:8",
        "-in",
        path,
        "SIPHASH",
    ]


def _openssl_siphash() -> str | None:
    """The openssl binary if it offers SipHash as a MAC, else None."""
    exe = shutil.which("openssl")
    if exe is None:
        return None
    probe = subprocess.run(
        _openssl_command(exe, KEY, os.devnull),
        capture_output=True,
        text=True,
        check=False,
    )
    return exe if probe.returncode == 0 else None


OPENSSL = _openssl_siphash()


@pytest.mark.skipif(OPENSSL is None, reason="no openssl binary with the SIPHASH MAC (OpenSSL 3)")
@settings(max_examples=25, deadline=None)
@given(key=st.binary(min_size=16, max_size=16), data=st.binary(max_size=80))
def test_agrees_with_openssl(key: bytes, data: bytes) -> None:
    assert OPENSSL is not None
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        out = subprocess.run(
            _openssl_command(OPENSSL, key, f.name),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    # openssl prints the eight output bytes in order, i.e. least significant first
    assert siphash24(key, data).to_bytes(8, "little").hex() == out.lower()


def _libsystemd_shared() -> ctypes.CDLL | None:
    """systemd's private shared library, which exports its siphash24()."""
    candidates = []
    for d in ("/usr/lib/x86_64-linux-gnu/systemd", "/usr/lib/systemd", "/lib/systemd"):
        if os.path.isdir(d):
            candidates += [
                os.path.join(d, n) for n in os.listdir(d) if n.startswith("libsystemd-shared")
            ]
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if hasattr(lib, "siphash24"):
            return lib
    return None


SYSTEMD = _libsystemd_shared()


@pytest.mark.skipif(SYSTEMD is None, reason="systemd's libsystemd-shared is not installed")
@settings(max_examples=300)
@given(key=st.binary(min_size=16, max_size=16), data=st.binary(max_size=200))
def test_agrees_with_systemd(key: bytes, data: bytes) -> None:
    assert SYSTEMD is not None
    fn = SYSTEMD.siphash24
    fn.restype = ctypes.c_uint64
    fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
    assert siphash24(key, data) == fn(data, len(data), key)
