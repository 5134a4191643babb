"""``macvlan netns ...``: create, list and delete named network namespaces."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from macvlan.cli.output import Output
from macvlan.cli.status import EXIT_OK

if TYPE_CHECKING:
    import argparse


def cmd_netns_add(args: argparse.Namespace, out: Output) -> int:
    """``macvlan netns add``: create named namespaces, all or none."""
    from macvlan.namespace import Namespace

    made: list[str] = []
    try:
        for name in args.names:
            Namespace.create(name).close()
            made.append(name)
    except BaseException:
        for name in made:  # all or nothing
            Namespace.open(name).delete(missing_ok=True)
        raise
    out.emit([{"name": n} for n in made])
    return EXIT_OK


def cmd_netns_del(args: argparse.Namespace, out: Output) -> int:
    """``macvlan netns del``: delete named namespaces.

    Without ``--missing-ok`` a missing name fails before any namespace is deleted.
    """
    from macvlan.errors import NamespaceNotFound
    from macvlan.namespace import Namespace

    opened = []
    with contextlib.ExitStack() as stack:
        for name in args.names:  # check them all before deleting any
            try:
                opened.append(stack.enter_context(Namespace.open(name)))
            except NamespaceNotFound:
                if not args.missing_ok:
                    raise
        for ns in opened:
            ns.delete(missing_ok=args.missing_ok)
    out.emit({"deleted": [ns.name for ns in opened]})
    return EXIT_OK


def cmd_netns_list(args: argparse.Namespace, out: Output) -> int:
    """``macvlan netns list``: list the named namespaces."""
    from macvlan.namespace import Namespace

    names = Namespace.list()
    out.emit([{"name": n} for n in names], lambda: names)
    return EXIT_OK
