"""Regular expressions compiled when first matched.

:mod:`re` costs some 1.5 ms to import (its parser and compiler are Python) and each
pattern a fraction of a millisecond to compile; the network layer's name checks
need neither until a network is made or opened, so ``macvlan.Network`` does not
pay for them.
"""

from __future__ import annotations

from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    import re


class LazyPattern:
    """``re.compile(pattern)``, compiled on the first :meth:`match`."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def match(self, text: str) -> re.Match[str] | None:
        """``re.match(pattern, text)``."""
        compiled = self._compiled
        if compiled is None:
            import re

            compiled = self._compiled = re.compile(self.pattern)
        return compiled.match(text)
