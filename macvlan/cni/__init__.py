"""The CNI plugin: a drop-in for the reference ``macvlan`` plugin (CNI 0.1.0-1.1.0).

Run as ``macvlan-cni``, ``python -m macvlan.cni`` or the launcher ``macvlan cni
install`` writes, with the ``CNI_*`` environment variables and the network
configuration on stdin (SPEC.md, section 2).  ADD creates a macvlan on ``master``
(default: the interface of the default route) inside ``CNI_NETNS``, runs the IPAM
plugin named by ``ipam.type`` from ``CNI_PATH`` and applies its addresses and
routes; DEL removes both and succeeds when they are already gone; CHECK compares
the container with ``prevResult``; STATUS and GC (1.1.0) are passed on to the IPAM
plugin.

A plugin process is started for every container, so start-up is part of its
speed: commands import only what they use (VERSION loads no netlink at all, and
through the launcher not even this package).  One module per idea:

- :mod:`~macvlan.cni.env` the ``CNI_*`` variables, :mod:`~macvlan.cni.cniargs`
  ``CNI_ARGS``, :mod:`~macvlan.cni.netconf` the configuration,
  :mod:`~macvlan.cni.result` results, :mod:`~macvlan.cni.version` the spec
  versions and VERSION, :mod:`~macvlan.cni.errors` the error codes,
  :mod:`~macvlan.cni.jsonio` JSON, :mod:`~macvlan.cni.ip` and
  :mod:`~macvlan.cni.mac` addresses;
- the commands: :mod:`~macvlan.cni.add`, :mod:`~macvlan.cni.delete`,
  :mod:`~macvlan.cni.check`, :mod:`~macvlan.cni.status` (STATUS and GC);
- what they work with: :mod:`~macvlan.cni.rtnl` (rtnetlink through the library's
  request builders and socket), :mod:`~macvlan.cni.netns` (the container's
  namespace) and :mod:`~macvlan.cni.ipam` (the IPAM plugin);
- :mod:`~macvlan.cni.install` the launcher.
"""

from __future__ import annotations

import os
import sys

from macvlan.cni.env import Args
from macvlan.cni.errors import IO_FAILURE, CniEnvError, CniError
from macvlan.cni.version import LATEST_VERSION, SUPPORTED_VERSIONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

    #: A command: (the CNI_* variables, the configuration object, its bytes) -> output
    Command = Callable[[Args, dict[str, object], bytes], dict[str, object] | None]

__all__ = ["main", "run"]

_ABOUT = "CNI macvlan plugin (the macvlan Python library) v{version}"

_MIN_VERSION = {"CHECK": "0.4.0", "GC": "1.1.0", "STATUS": "1.1.0"}


def main(environ: dict[str, str] | None = None) -> int:
    """Run one CNI command; the exit status (0 on success, 1 after an error object)."""
    env = os.environ if environ is None else environ
    args = Args(env)
    version = LATEST_VERSION
    try:
        if args.command == "VERSION":
            from macvlan.cni.version import answer, read_stdin

            status, text = answer(read_stdin())
            _write(text)
            return status
        if not args.command:
            from macvlan import __version__

            sys.stderr.write(_ABOUT.format(version=__version__) + "\n")
            sys.stderr.write(f"CNI protocol versions supported: {', '.join(SUPPORTED_VERSIONS)}\n")
            return 0
        handler = _handler(args.command)
        args.validate(env)
        data = _read_stdin()
        from macvlan.cni.netconf import decode_config
        from macvlan.cni.version import check_version, config_version

        conf = decode_config(data)
        version = config_version(conf)
        check_version(version, _MIN_VERSION.get(args.command, "0.1.0"), args.command)
        output = handler(args, conf, data)
    except CniError as exc:
        _write(_dumps(exc.to_json(version)))
        return 1
    except OSError as exc:  # kernel or file errors not given a context by a command
        text = exc.strerror or str(exc)
        if exc.filename:
            text = f"{text}: {exc.filename!r}"
        _write(_dumps(CniError(text).to_json(version)))
        return 1
    except Exception as exc:
        import traceback

        traceback.print_exc()
        _write(_dumps(CniError(f"internal error: {exc!r}").to_json(version)))
        return 1
    if output is not None:
        _write(_dumps(output))
    return 0


def run() -> NoReturn:
    """Run the plugin as its own process (console script, launcher, ``python -m``).

    After :func:`main`, the output is flushed and the process exits at once with
    :func:`os._exit`: the interpreter's teardown (some 3 ms of freeing modules) would
    only slow down every command, as nothing is left to clean up -- sockets and
    files close with the process, and any IPAM plugin started has been waited for.
    """
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # the runtime closed our output: the result is lost
        status = status or 1
    os._exit(status)


def _handler(command: str) -> Command:
    """The function running ``command`` (its module imported only now)."""
    if command == "ADD":
        from macvlan.cni.add import cmd_add

        return cmd_add
    if command == "DEL":
        from macvlan.cni.delete import cmd_del

        return cmd_del
    if command == "CHECK":
        from macvlan.cni.check import cmd_check

        return cmd_check
    if command == "STATUS":
        from macvlan.cni.status import cmd_status

        return cmd_status
    if command == "GC":
        from macvlan.cni.status import cmd_gc

        return cmd_gc
    raise CniEnvError(f"unknown CNI_COMMAND {command!r}", command)


def _dumps(value: object) -> str:
    from macvlan.cni.jsonio import dumps

    return dumps(value)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _read_stdin() -> bytes:
    chunks = []
    try:
        while True:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as exc:
        raise CniError(f"error reading from stdin: {exc}", code=IO_FAILURE) from None
    return b"".join(chunks)
