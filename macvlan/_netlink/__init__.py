"""Our own rtnetlink: a sans-IO codec (bytes in, typed messages out) and a socket.

``backend`` names the packer in use: ``"cffi"`` (compiled) or ``"python"``;
``MACVLAN_PUREPYTHON=1`` forces the latter.  Importing this package loads
nothing: the submodules (and the names below) load on first use.
"""

from __future__ import annotations

from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
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


def __getattr__(name: str) -> object:
    if name == "backend":
        from macvlan._netlink import _backend

        return _backend.name
    if name in __all__:
        from macvlan._netlink import message

        return getattr(message, name)
    raise AttributeError(f"module 'macvlan._netlink' has no attribute {name!r}")
