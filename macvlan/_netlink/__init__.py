"""Our own rtnetlink: a sans-IO codec (bytes in, typed messages out) and a socket.

``backend`` names the packer in use: ``"cffi"`` (compiled) or ``"python"``;
``MACVLAN_PUREPYTHON=1`` forces the latter.
"""

from __future__ import annotations

from typing import Any

from macvlan._netlink import _backend
from macvlan._netlink.message import (
    DoneMessage,
    ErrorMessage,
    Message,
    decode,
    encode,
    iter_messages,
)

__all__ = [
    "DoneMessage",
    "ErrorMessage",
    "Message",
    "backend",
    "decode",
    "encode",
    "iter_messages",
]


def __getattr__(name: str) -> Any:
    if name == "backend":
        return _backend.name
    raise AttributeError(f"module 'macvlan._netlink' has no attribute {name!r}")
