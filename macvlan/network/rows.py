"""The records the store holds (networks, endpoints, namespace references) and the
owner tokens that tell an operation in progress from one whose process died."""

from __future__ import annotations

import enum
import os

from macvlan._dataclass import dataclass
from macvlan.mac import MacAddress
from macvlan.network.ipam import IPAddress, Subnet

__all__ = [
    "EndpointKind",
    "EndpointRow",
    "EndpointState",
    "NetworkRow",
    "NetworkState",
    "NsRef",
    "owner_alive",
    "owner_token",
]


class NetworkState(enum.Enum):
    """Where a network's record is in its life: being created, ready, being removed."""

    CREATING = "creating"
    READY = "ready"
    REMOVING = "removing"


class EndpointState(enum.Enum):
    """Where an endpoint is in its life: its link being made, in use, its link being deleted."""

    PENDING = "pending"  # row written, link maybe being created
    ACTIVE = "active"
    DETACHING = "detaching"  # link maybe being deleted


class EndpointKind(enum.Enum):
    """An interface attached to the network, or the network's host shim."""

    CONTAINER = "container"
    SHIM = "shim"


@dataclass(frozen=True, slots=True)
class NsRef:
    """How to find a namespace again: its name under /run/netns or a path, and its
    identity (device, inode) to tell it from a namespace later opened there."""

    name: str | None
    path: str
    dev: int
    ino: int

    def to_json(self) -> str:
        """The reference as JSON text, which :meth:`from_json` reads back."""
        import json  # here: some 1.5 ms (with re), for programs that use a store

        return json.dumps([self.name, self.path, self.dev, self.ino])

    @classmethod
    def from_json(cls, text: str | None) -> NsRef | None:
        """The reference from :meth:`to_json` text, or None for None."""
        if text is None:
            return None
        import json

        name, path, dev, ino = json.loads(text)
        return cls(name, path, int(dev), int(ino))

    @property
    def label(self) -> str:
        """The namespace's name, else its path."""
        return self.name or self.path


@dataclass(frozen=True, slots=True)
class NetworkRow:
    """A network's record in the store."""

    name: str
    parent: str
    parent_key: str
    netns: NsRef | None  # the namespace the parent lives in; None: the caller's
    mode: int
    mtu: int | None
    internal: bool
    subnets: tuple[Subnet, ...]
    link_group: int
    state: NetworkState = NetworkState.READY
    owner: str | None = None

    @property
    def parent_identity(self) -> tuple[int, int]:
        """(device, inode) of the namespace the network was created in: where
        :attr:`parent` is a name (see :func:`parent_key`)."""
        dev, ino, _ = self.parent_key.split(":", 2)
        return int(dev), int(ino)


def parent_key(dev: int, ino: int, parent: str) -> str:
    """The store's key of a parent: its namespace's identity and its name there."""
    return f"{dev}:{ino}:{parent}"


@dataclass(frozen=True, slots=True)
class EndpointRow:
    """An endpoint's record in the store, with its allocated addresses."""

    id: int
    network: str
    kind: EndpointKind
    state: EndpointState
    netns: NsRef | None  # None: the network's parent namespace (shims)
    ifname: str
    ifindex: int | None
    mac: MacAddress
    owner: str | None
    addresses: tuple[tuple[int, IPAddress], ...]  # (subnet index, address)


# -- owners: which process is changing a row --------------------------------------
def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces; fields follow ')'
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[19])  # field 22 overall: starttime


_OWN: dict[int, str] = {}


def owner_token() -> str:
    """``pid:starttime`` of this process (a pid alone can be reused)."""
    pid = os.getpid()
    token = _OWN.get(pid)
    if token is None:
        token = _OWN[pid] = f"{pid}:{_start_time(pid)}"
    return token


def owner_alive(token: str | None) -> bool:
    """Whether the process named by an owner token still runs."""
    if not token:
        return False
    pid_text, _, start = token.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return str(_start_time(pid)) == start
