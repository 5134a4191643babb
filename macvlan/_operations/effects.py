"""The effects operations yield, and the helpers without I/O they share."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Generator, Sequence

from macvlan import link as _link
from macvlan._dataclass import dataclass
from macvlan._names import check_link_name
from macvlan._netlink.constants import NlmF
from macvlan._netlink.message import Message
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import NetlinkError
from macvlan.link import (
    Link,
    MacvlanSpec,
    check_ifname,
    check_up,
    to_mac,
    to_macs,
)
from macvlan.namespace import Namespace

if TYPE_CHECKING:
    from typing import Any, Concatenate, ParamSpec, TypeAlias, TypeVar, cast
else:
    from macvlan._typing import ParamSpec, TypeVar, cast

T = TypeVar("T")
A = TypeVar("A")
P = ParamSpec("P")
_ECHO = int(NlmF.ECHO)  # a plain int: IntFlag arithmetic is slow

LinkRef: TypeAlias = int | str | Link
NetnsRef: TypeAlias = Namespace | str


# -- effects ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    """Send ``message`` (an ACK is asked for); answered with the reply messages."""

    message: Message
    what: str = ""


@dataclass(frozen=True, slots=True)
class Dump:
    """Run a dump request; answered with the dumped messages."""

    message: Message
    what: str = ""


@dataclass(frozen=True, slots=True)
class ParsedDump:
    """Run a dump whose answers become values without a :class:`Message` each
    (``parse(data, start, end, out)``, see ``NetlinkSocket.dump_parsed``); a driver
    without that path dumps messages and hands them to ``build``.  Answered with
    the values."""

    message: Message
    parse: Callable[[bytes, int, int, list[Any]], None]
    build: Callable[[list[Message]], list[Any]]
    what: str = ""


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """Send ``message`` (an ACK is asked for) and make values of its answers as a
    :class:`ParsedDump` does (``parse``; ``build`` for a driver that has messages).
    Answered with the values, e.g. the link a creation asked the kernel to echo."""

    message: Message
    parse: Callable[[bytes, int, int, list[Any]], None]
    build: Callable[[list[Message]], list[Any]]
    what: str = ""


@dataclass(frozen=True, slots=True)
class Batch:
    """Pipeline many requests; answered with ``(replies, error or None)`` for each."""

    messages: Sequence[Message]
    whats: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """A :class:`Batch` whose answers become values as a :class:`ParsedDump`'s do;
    answered with ``(values, error or None)`` for each request."""

    messages: Sequence[Message]
    parse: Callable[[bytes, int, int, list[Any]], None]
    build: Callable[[list[Message]], list[Any]]
    whats: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class IfIndex:
    """Resolve a link name to its index in the connection's namespace.

    Answered by the kernel itself, without a netlink round trip (the driver asks
    with ``SIOCGIFINDEX`` on the connection's own socket, as ``ip`` does); no cache.
    """

    name: str


@dataclass(frozen=True, slots=True)
class InNamespace:
    """Run the operation ``op`` on a connection inside ``ns``; answered with its result.

    A driver keeps one connection per namespace for the whole top-level operation.
    """

    ns: Namespace
    op: Op[Any]


Effect: TypeAlias = (
    Request | ParsedRequest | Dump | ParsedDump | Batch | ParsedBatch | IfIndex | InNamespace
)
if TYPE_CHECKING:
    Op: TypeAlias = Generator[Effect, Any, T]
else:  # at run time ``Op[T]`` is a plain subscription of Generator (T is only a name)
    Op = Generator


# -- helpers without I/O ---------------------------------------------------------------
def with_first(make: Callable[Concatenate[A, P], Op[T]], first: A, doc: str) -> Callable[P, Op[T]]:
    """The operation ``make`` with its first argument given: the parameters after it
    and the docstring ``doc`` (how two operations share one list of keywords).

    A :func:`functools.partial`, which adds no Python frame to a call.
    """
    made = functools.partial(make, first)
    made.__doc__ = doc
    return cast("Callable[P, Op[T]]", made)


def open_namespace(netns: object) -> tuple[Namespace, bool]:
    """The Namespace for ``netns`` and whether we opened it (and must close it)."""
    if isinstance(netns, Namespace):
        netns.fd  # noqa: B018 - raises ValueError now if it is closed, before any request
        return netns, False
    if isinstance(netns, str):
        return Namespace.open(netns), True
    raise TypeError(f"netns must be a Namespace or a namespace name, not {netns!r}")


def temp_name() -> str:
    """A throw-away interface name (15 bytes at most)."""
    return "mvtmp" + os.urandom(5).hex()


def random_group() -> int:
    """A link group number well above the ones people pick by hand."""
    return int.from_bytes(os.urandom(4), "little") % (2**31 - 2**20) + 2**20


def echoed_link(echoed: Sequence[Link], name: str) -> Link | None:
    """The link ``name`` among those a creation's answer echoed (None on a kernel
    that echoes none: the caller reads it back)."""
    for link in echoed:
        if link.name == name:
            return link
    return None


def with_reason(err: NetlinkError, why: str) -> NetlinkError:
    """A copy of ``err`` whose message ends with ``why`` (same type, errno, ext_ack)."""
    out = type(err)(err.errno or 0, err.ext_ack, err.request)
    out.strerror = f"{out.strerror} ({why})"
    return out


def parent_key(parent: object) -> object:
    if isinstance(parent, Link):
        return parent.index
    if isinstance(parent, bool) or not isinstance(parent, int | str):
        raise TypeError(f"a parent is a link name, an index or a Link, not {parent!r}")
    return parent


def known_index(ref: object) -> int | None:
    """The index of a Link or a valid index, known without a lookup; else None."""
    if isinstance(ref, Link):
        return ref.index
    if type(ref) is int and ref > 0:
        return ref
    return None


def check_index(ref: object) -> int:
    """A positive link index (a name or Link is not accepted here)."""
    if isinstance(ref, bool) or not isinstance(ref, int):
        raise TypeError(f"a link is a name, an index or a Link, not {ref!r}")
    if not 0 < ref < 2**31:
        raise ValueError(f"link index must be in 1..{2**31 - 1} (a kernel int), not {ref}")
    return ref


def lookup_key(ref: LinkRef) -> int | str:
    """An index or a validated name, without a round trip."""
    if isinstance(ref, Link):
        return ref.index
    if isinstance(ref, str):
        return check_link_name(ref)  # a name or an alternative name
    return check_index(ref)


def macvlan_message(
    spec: MacvlanSpec,
    parent_index: int,
    name: str,
    netns_fd: int | None,
    up: bool,
    echo: bool = False,
) -> Message:
    return _link.new_macvlan(
        name,
        parent_index,
        spec.kind,
        mode=_link.check_mode(spec.mode),
        flags=_link.check_flags(spec.flags),
        mac=to_mac(spec.mac),
        mtu=spec.mtu,
        up=bool(check_up(up)),
        bcqueuelen=spec.bcqueuelen,
        bc_cutoff=spec.bc_cutoff,
        source_macs=to_macs(spec.source_macs),
        txqueuelen=spec.txqueuelen,
        group=spec.group,
        netns_fd=netns_fd,
        echo=echo,
    )


def check_spec(spec: MacvlanSpec, parent_ix: int = 0) -> Message:
    """Refuse a bad spec (ValueError/TypeError) before anything is sent.

    Returns the creating message for this namespace with ``parent_ix`` as its
    parent, ``NLM_F_ECHO`` set (built with 0 it only checks the spec).
    """
    if not isinstance(spec, MacvlanSpec):
        raise TypeError(f"expected a MacvlanSpec, not {spec!r}")
    check_ifname(spec.name)  # (new_macvlan leaves the name out if it is None)
    message = macvlan_message(spec, parent_ix, spec.name, None, spec.up, echo=True)
    if spec.netns is not None and not isinstance(spec.netns, Namespace | str):
        raise TypeError(f"netns must be a Namespace or a namespace name, not {spec.netns!r}")
    return message


def _nothing() -> Op[None]:
    """An operation without I/O: ``InNamespace(ns, _nothing())`` opens the connection."""
    return None
    yield  # pragma: no cover - makes this a generator
