"""``macvlan cni install``: put the CNI plugin where a runtime runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from macvlan.cli.output import Output
from macvlan.cli.status import EXIT_OK

if TYPE_CHECKING:
    import argparse


def cmd_cni_install(args: argparse.Namespace, out: Output) -> int:
    """``macvlan cni install``: write the plugin's fast launcher into a CNI bin directory."""
    from macvlan.cni import install as _cni_install

    path = _cni_install.install(args.directory, args.name, args.python)
    with open(path) as script:
        python = script.readline()[2:].split()[0]
    out.emit(
        {"path": path, "python": python, "sys_path": _cni_install.search_path()},
        lambda: [f"installed {path} (run by {python})"],
    )
    return EXIT_OK
