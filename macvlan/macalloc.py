"""Hand out unique MAC addresses while avoiding the ones already in use.

The kernel refuses a duplicate MAC only among macvlans of one lower device; links on
different parents (or different hosts) on one LAN can still collide.  A
:class:`MacAllocator` keeps the set of addresses in use and draws new ones from a
generator until it finds a free one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from macvlan._macparts import _parse_cid, _parse_octets, _randbits
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import MacSpaceExhausted
from macvlan.mac import (
    MacAddress,
    MacAddressValueError,
    SlapQuadrant,
)

if TYPE_CHECKING:
    from typing import Final

    from macvlan.mac import RandomSource

__all__ = ["MacAllocator", "MacSpaceExhausted"]

DEFAULT_MAX_ATTEMPTS: Final = 64


class MacAllocator:
    """Allocates addresses unique among those it was told are in use.

    Where addresses come from, pick one:

    - ``generator``: a :class:`SlapQuadrant` (random unicast addresses in it, as
      :meth:`MacAddress.random`; ``ELI`` needs ``cid``) or a callable returning a
      :class:`MacAddress`.  The default is ``SlapQuadrant.AAI``.
    - ``prefix``: 1 to 5 leading octets (``"52:54:00"``, ``"02:00:00:00:01"``, or
      bytes); the rest are random.  Its first octet must not have the multicast bit.

    ``rng`` (anything with ``getrandbits``, e.g. a seeded :class:`random.Random`)
    feeds the built-in generators; without it they use :mod:`secrets`.

    A prefix (and an ELI CID, a 24-bit prefix) gives a space of known size: the
    allocator counts what is in use there, raises :class:`MacSpaceExhausted` exactly
    when every address is taken, and when ``max_attempts`` random draws all collide
    it scans for a free address instead.  For a quadrant or a callable it gives up
    with :class:`MacSpaceExhausted` after ``max_attempts`` draws in a row that were all
    in use.  The all-zero address is never handed out.  Methods are thread-safe.
    """

    def __init__(
        self,
        in_use: Iterable[MacAddress | str | bytes | int] = (),
        generator: SlapQuadrant | Callable[[], MacAddress] | None = None,
        *,
        rng: RandomSource | None = None,
        prefix: str | bytes | None = None,
        cid: str | bytes | int | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int):
            raise TypeError(f"max_attempts must be an int, not {type(max_attempts).__name__}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self._rng = rng
        self._max_attempts = max_attempts
        self._lock = threading.Lock()
        self._callable: Callable[[], MacAddress] | None = None
        # a prefix space: addresses base .. base + 2**bits - 1
        self._base = 0
        self._bits = 0
        self._exact = False
        # a quadrant space: the first octet's low nibble is fixed, the rest random
        self._quadrant: SlapQuadrant | None = None

        if prefix is not None and generator is not None:
            raise ValueError("give either generator or prefix, not both")
        if cid is not None and generator is not SlapQuadrant.ELI:
            raise ValueError(f"cid={cid!r} is only meaningful with generator=SlapQuadrant.ELI")
        if prefix is not None:
            value, octets = _parse_octets(prefix, "a MAC prefix", (1, 2, 3, 4, 5))
            if value >> (8 * octets - 8) & 0x01:
                raise MacAddressValueError(
                    prefix, "its first octet has the multicast (I/G) bit set", "a unicast prefix"
                )
            self._bits = 48 - 8 * octets
            self._base = value << self._bits
            self._exact = True
            self._space = f"{MacAddress._from_int(self._base)}/{8 * octets}"
        elif generator is None or isinstance(generator, SlapQuadrant):
            quadrant = SlapQuadrant.AAI if generator is None else generator
            if quadrant is SlapQuadrant.RESERVED:
                raise ValueError("the RESERVED SLAP quadrant is reserved by IEEE 802c")
            if quadrant is SlapQuadrant.ELI:
                if cid is None:
                    raise ValueError("an ELI space needs a CID: MacAllocator(..., cid=...)")
                self._bits = 24
                self._base = _parse_cid(cid) << 24
                self._exact = True
                self._space = f"ELI {MacAddress._from_int(self._base)}/24"
            else:
                self._quadrant = quadrant
                self._space = f"SLAP quadrant {quadrant.name}"
        elif callable(generator):
            self._callable = generator
            self._space = f"the addresses of {generator!r}"
        else:
            raise TypeError(
                "generator must be a SlapQuadrant or a callable returning MacAddress, "
                f"not {type(generator).__name__}: {generator!r}"
            )

        self._used: set[int] = set()
        self._used_in_space = 0
        for mac in in_use:
            self._take(MacAddress(mac)._mac)

    # -- space ---------------------------------------------------------------------

    def _in_space(self, n: int) -> bool:
        if self._exact:
            return n >> self._bits == self._base >> self._bits and n != 0
        if self._quadrant is not None:
            return n >> 40 & 0x0F == self._quadrant.value
        return False

    @property
    def size(self) -> int | None:
        """How many addresses the space holds (``None`` for a callable generator)."""
        if self._exact:
            return (1 << self._bits) - (1 if self._base == 0 else 0)
        if self._quadrant is not None:
            return 1 << 44
        return None

    @property
    def available(self) -> int | None:
        """How many addresses of the space are still free (``None`` if unknown)."""
        size = self.size
        with self._lock:
            return None if size is None else size - self._used_in_space

    @property
    def in_use(self) -> frozenset[MacAddress]:
        """A snapshot of every address held, inside the space or not."""
        with self._lock:
            return frozenset(MacAddress._from_int(n) for n in self._used)

    def __len__(self) -> int:
        with self._lock:
            return len(self._used)

    def __contains__(self, mac: object) -> bool:
        try:
            n = MacAddress(mac)._mac  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        with self._lock:
            return n in self._used

    def __repr__(self) -> str:
        return f"<MacAllocator {self._space}: {len(self)} in use>"

    # -- operations ----------------------------------------------------------------

    def _take(self, n: int) -> bool:
        if n in self._used:
            return False
        self._used.add(n)
        if self._in_space(n):
            self._used_in_space += 1
        return True

    def _draw(self) -> int:
        if self._exact:
            return self._base | _randbits(self._rng, self._bits) & ((1 << self._bits) - 1)
        if self._quadrant is not None:
            return MacAddress.random(self._quadrant, self._rng)._mac
        assert self._callable is not None
        mac = self._callable()
        if not isinstance(mac, MacAddress):
            raise TypeError(
                f"generator {self._callable!r} returned {type(mac).__name__}, not MacAddress"
            )
        return mac._mac

    def _scan(self) -> int | None:
        """The first free address of a prefix space at or after a random point."""
        count = 1 << self._bits
        start = _randbits(self._rng, self._bits) & (count - 1)
        base = self._base
        used = self._used
        for offset in range(count):
            n = base | (start + offset) & (count - 1)
            if n not in used and n != 0:
                return n
        return None

    def allocate(self) -> MacAddress:
        """A free address, now marked in use; :class:`MacSpaceExhausted` if none is left."""
        with self._lock:
            size = self.size
            if size is not None and self._used_in_space >= size:
                raise MacSpaceExhausted(self._space, size, self._used_in_space, 0)
            for _ in range(self._max_attempts):
                n = self._draw()
                if n and n not in self._used:
                    self._take(n)
                    return MacAddress._from_int(n)
            if self._exact:
                found = self._scan()
                if found is not None:
                    self._take(found)
                    return MacAddress._from_int(found)
            raise MacSpaceExhausted(self._space, size, self._used_in_space, self._max_attempts)

    def reserve(self, mac: MacAddress | str | bytes | int) -> bool:
        """Mark ``mac`` in use; ``True`` if it was free, ``False`` if already held."""
        n = MacAddress(mac)._mac
        with self._lock:
            return self._take(n)

    def release(self, mac: MacAddress | str | bytes | int) -> bool:
        """Free ``mac`` again; ``True`` if it was held, ``False`` if it was not."""
        n = MacAddress(mac)._mac
        with self._lock:
            if n not in self._used:
                return False
            self._used.remove(n)
            if self._in_space(n):
                self._used_in_space -= 1
            return True
