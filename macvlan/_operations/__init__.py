"""The operations: sans-IO generators shared by the sync and asyncio fronts.

Each operation is a generator that checks its input first, then *yields* the I/O it
needs as small effect values and *receives* their results:

========================  ==================================================
effect                    the driver sends back
========================  ==================================================
``Request(message)``      the answers (``list[Message]``)
``ParsedRequest(...)``    the values parsed from the answers' bytes
``Dump(message)``         the dumped messages (``list[Message]``)
``ParsedDump(...)``       the values parsed from the dumped bytes
``Batch(messages)``       per message ``(answers, NetlinkError | None)``
``ParsedBatch(...)``      per message ``(values, NetlinkError | None)``
``IfIndex(name)``         the index of the link ``name`` (or LinkNotFound)
``InNamespace(ns, op)``   what ``op`` returns, run on a connection inside ``ns``
========================  ==================================================

When the kernel refuses a request, the driver throws the error into the generator
at the ``yield``, so each operation's ``try``/``except`` rollback reads exactly as
straight-line code.  :class:`macvlan.connection.Connection` drives operations over
a blocking socket, :class:`macvlan.aio.AsyncConnection` over the event loop; the
messages and the orchestration exist once, here.

The operations are grouped by what they act on: :mod:`.lookup`, :mod:`.create`,
:mod:`.change` (links), :mod:`.addresses`, :mod:`.routing` (routes, rules,
neighbours, statistics, alternative names); :mod:`.effects` holds the effects.
("Operations" is this package; the packer's byte-code in :mod:`macvlan._netlink.attr`
are its "ops".)
"""

from macvlan._operations.addresses import add_address, addresses, delete_address
from macvlan._operations.change import delete_link, delete_links, set_link
from macvlan._operations.create import (
    create,
    create_macvlan,
    create_macvlans,
    create_macvtap,
    create_there,
    create_veth,
    create_vlan,
    explain,
)
from macvlan._operations.effects import (
    Batch,
    Dump,
    Effect,
    IfIndex,
    InNamespace,
    LinkRef,
    NetnsRef,
    Op,
    ParsedBatch,
    ParsedDump,
    ParsedRequest,
    Request,
    open_namespace,
)
from macvlan._operations.lookup import index, link, links

__all__ = [
    "Batch",
    "Dump",
    "Effect",
    "IfIndex",
    "InNamespace",
    "LinkRef",
    "NetnsRef",
    "Op",
    "ParsedBatch",
    "ParsedDump",
    "ParsedRequest",
    "Request",
    "add_address",
    "addresses",
    "create",
    "create_macvlan",
    "create_macvlans",
    "create_macvtap",
    "create_there",
    "create_veth",
    "create_vlan",
    "delete_address",
    "delete_link",
    "delete_links",
    "explain",
    "index",
    "link",
    "links",
    "open_namespace",
    "set_link",
]
