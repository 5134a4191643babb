"""MacAllocator: unique addresses, avoidance of the ones in use, exact exhaustion."""

from __future__ import annotations

import pickle
import random
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import macvlan
from macvlan.mac import MacAddress, MacAddressValueError, SlapQuadrant
from macvlan.macalloc import MacAllocator, MacSpaceExhausted

M = MacAddress
PREFIX40 = "52:54:00:12:34"  # 256 addresses


def test_public_names_are_exported_by_the_package() -> None:
    assert macvlan.MacAllocator is MacAllocator
    assert macvlan.MacSpaceExhausted is MacSpaceExhausted
    assert issubclass(MacSpaceExhausted, RuntimeError)


def test_default_is_aai() -> None:
    alloc = MacAllocator(rng=random.Random(1))
    macs = [alloc.allocate() for _ in range(200)]
    assert len(set(macs)) == 200
    assert all(m.slap_quadrant is SlapQuadrant.AAI and m.is_unicast for m in macs)
    assert len(alloc) == 200
    assert alloc.size == 2**44
    assert alloc.available == 2**44 - 200


@given(st.sampled_from([SlapQuadrant.AAI, SlapQuadrant.SAI]), st.integers(0, 2**32))
@settings(max_examples=30)
def test_quadrant_generator_satisfies_the_quadrant(q: SlapQuadrant, seed: int) -> None:
    alloc = MacAllocator(generator=q, rng=random.Random(seed))
    for _ in range(20):
        m = alloc.allocate()
        assert m.slap_quadrant is q
        assert m.is_unicast and m.is_local


@given(
    st.sets(st.integers(0, 255), max_size=256),
    st.integers(0, 2**32),
)
@settings(max_examples=60)
def test_prefix_space_is_exhausted_exactly(taken: set[int], seed: int) -> None:
    base = int(M(PREFIX40 + ":00"))
    in_use = [M(base | t) for t in taken]
    outside = [M("02:00:00:00:00:01"), M("52:54:00:12:35:00")]
    alloc = MacAllocator(in_use + outside, prefix=PREFIX40, rng=random.Random(seed))
    assert alloc.size == 256
    assert alloc.available == 256 - len(taken)
    got = []
    for _ in range(256 - len(taken)):
        m = alloc.allocate()
        assert m not in in_use
        assert int(m) >> 8 == base >> 8
        got.append(m)
    assert len(set(got)) == len(got)
    assert set(got) | set(in_use) == {M(base | i) for i in range(256)}
    assert alloc.available == 0
    with pytest.raises(MacSpaceExhausted) as info:
        alloc.allocate()
    assert info.value.size == 256
    assert info.value.in_use == 256
    assert info.value.attempts == 0
    assert "52:54:00:12:34:00/40" in str(info.value)
    assert "256 of 256 in use" in str(info.value)


def test_release_makes_room_again() -> None:
    alloc = MacAllocator(prefix=PREFIX40, rng=random.Random(5))
    for _ in range(256):
        alloc.allocate()
    with pytest.raises(MacSpaceExhausted):
        alloc.allocate()
    assert alloc.release("52:54:00:12:34:07") is True
    assert alloc.release("52:54:00:12:34:07") is False
    assert alloc.available == 1
    assert alloc.allocate() == M("52:54:00:12:34:07")
    assert alloc.available == 0


def test_degenerate_rng_still_finds_every_free_address() -> None:
    class Stuck:
        def getrandbits(self, k: int) -> int:
            return 3

    alloc = MacAllocator(prefix=PREFIX40, rng=Stuck(), max_attempts=2)
    got = {alloc.allocate() for _ in range(256)}
    assert len(got) == 256
    with pytest.raises(MacSpaceExhausted):
        alloc.allocate()


def test_zero_address_is_never_handed_out() -> None:
    alloc = MacAllocator(prefix="00:00:00:00:00", rng=random.Random(2))
    assert alloc.size == 255
    got = {alloc.allocate() for _ in range(255)}
    assert M(0) not in got
    assert len(got) == 255
    with pytest.raises(MacSpaceExhausted, match="255 of 255"):
        alloc.allocate()


def test_eli_space_is_a_prefix() -> None:
    alloc = MacAllocator(generator=SlapQuadrant.ELI, cid="0a:1b:2c", rng=random.Random(4))
    assert alloc.size == 2**24
    m = alloc.allocate()
    assert m.oui == "0a:1b:2c"
    assert m.slap_quadrant is SlapQuadrant.ELI
    assert "ELI 0a:1b:2c:00:00:00/24" in repr(alloc)


def test_callable_generator_gives_up_after_max_attempts() -> None:
    fixed = M("02:00:00:00:00:01")
    alloc = MacAllocator(generator=lambda: fixed, max_attempts=5)
    assert alloc.allocate() == fixed
    with pytest.raises(MacSpaceExhausted) as info:
        alloc.allocate()
    assert info.value.attempts == 5
    assert info.value.size is None
    assert "after 5 attempts" in str(info.value)
    assert alloc.size is None and alloc.available is None


def test_callable_generator_is_used() -> None:
    rng = random.Random(9)
    alloc = MacAllocator(
        in_use=["52:54:00:00:00:01"], generator=lambda: M.from_oui("52:54:00", rng)
    )
    for _ in range(50):
        m = alloc.allocate()
        assert m.oui == "52:54:00"
        assert m != M("52:54:00:00:00:01")


def test_callable_returning_wrong_type() -> None:
    alloc = MacAllocator(generator=lambda: "02:00:00:00:00:01")  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="returned str, not MacAddress"):
        alloc.allocate()


def test_quadrant_space_with_a_stuck_rng_is_reported() -> None:
    class Stuck:
        def getrandbits(self, k: int) -> int:
            return 0

    alloc = MacAllocator(rng=Stuck(), max_attempts=3)
    assert alloc.allocate() == M("02:00:00:00:00:00")
    with pytest.raises(MacSpaceExhausted, match="SLAP quadrant AAI after 3 attempts"):
        alloc.allocate()


def test_reserve_release_contains() -> None:
    alloc = MacAllocator(["02:00:00:00:00:01"], prefix=PREFIX40)
    assert "02:00:00:00:00:01" in alloc
    assert M("02:00:00:00:00:01") in alloc
    assert 0x020000000001 in alloc
    assert "not a mac" not in alloc
    assert 1.5 not in alloc
    assert alloc.reserve("52:54:00:12:34:01") is True
    assert alloc.reserve("52-54-00-12-34-01") is False
    assert alloc.available == 255
    assert alloc.reserve(b"\x02\x00\x00\x00\x00\x02") is True
    assert alloc.available == 255, "outside the prefix: not counted in its space"
    assert len(alloc) == 3
    assert alloc.in_use == frozenset(
        M(x) for x in ("02:00:00:00:00:01", "02:00:00:00:00:02", "52:54:00:12:34:01")
    )
    assert alloc.release("02:00:00:00:00:01") is True
    assert "02:00:00:00:00:01" not in alloc
    assert len(alloc) == 2
    with pytest.raises(MacAddressValueError):
        alloc.reserve("nope")


def test_reproducible_with_seeded_rng() -> None:
    a = MacAllocator(rng=random.Random(11))
    b = MacAllocator(rng=random.Random(11))
    assert [a.allocate() for _ in range(20)] == [b.allocate() for _ in range(20)]


def test_threads_share_one_space_safely() -> None:
    alloc = MacAllocator(prefix=PREFIX40, rng=random.Random(8))
    results: list[MacAddress] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(64):
            try:
                m = alloc.allocate()
            except MacSpaceExhausted as exc:
                with lock:
                    failures.append(exc)
                continue
            with lock:
                results.append(m)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 256
    assert len(set(results)) == 256
    assert len(failures) == 5 * 64 - 256


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"prefix": "01:00:5e"}, MacAddressValueError, "multicast"),
        ({"prefix": "52:54:00:00:00:00"}, MacAddressValueError, "has 6 octets; expected 1 to 5"),
        ({"prefix": ""}, MacAddressValueError, "empty string"),
        ({"prefix": "52:5"}, MacAddressValueError, "'5' is not an octet"),
        ({"prefix": 5}, TypeError, "must be str or bytes, not int"),
        ({"prefix": "52:54", "generator": SlapQuadrant.AAI}, ValueError, "not both"),
        ({"cid": "0a:1b:2c"}, ValueError, "only meaningful with generator=SlapQuadrant.ELI"),
        ({"generator": SlapQuadrant.ELI}, ValueError, "needs a CID"),
        ({"generator": SlapQuadrant.ELI, "cid": "02:00:00"}, MacAddressValueError, "a CID"),
        ({"generator": SlapQuadrant.RESERVED}, ValueError, "RESERVED"),
        ({"generator": "AAI"}, TypeError, "generator must be a SlapQuadrant or a callable"),
        ({"max_attempts": 0}, ValueError, "at least 1"),
        ({"max_attempts": 2.0}, TypeError, "max_attempts must be an int"),
        ({"in_use": ["00:1b:77:49:54"]}, MacAddressValueError, "has 5 groups"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        MacAllocator(**kwargs)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_exhausted_error_pickles() -> None:
    exc = MacSpaceExhausted("52:54:00:12:34:00/40", 256, 256, 0)
    again = pickle.loads(pickle.dumps(exc))
    assert str(again) == str(exc)
    assert (again.space, again.size, again.in_use, again.attempts) == (
        "52:54:00:12:34:00/40",
        256,
        256,
        0,
    )
