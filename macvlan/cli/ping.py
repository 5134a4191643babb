"""``macvlan ping HOST``: ICMP echo from here or from inside ``-n NS``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from macvlan.cli.output import Output, complain
from macvlan.cli.status import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    import argparse


def cmd_ping(args: argparse.Namespace, out: Output) -> int:
    """``macvlan ping``: ICMP echo to HOST from here (or from ``-n NS``)."""
    from macvlan.icmp import ping

    kwargs = {
        "count": args.count,
        "timeout": args.timeout,
        "interval": args.interval,
        "interface": args.interface,
    }
    try:
        if args.netns is None:
            result = ping(args.host, **kwargs)
        else:
            from macvlan.namespace import Namespace

            with Namespace.open(args.netns) as ns:
                result = ns.run(ping, args.host, **kwargs)
    except OSError as exc:
        if exc.filename or not exc.strerror or isinstance(exc, PermissionError):
            raise
        raise OSError(exc.errno, f"ping {args.host}: {exc.strerror}") from exc
    rtt_ms = [None if r is None else round(r * 1000, 3) for r in result.rtts]
    data = {
        "host": result.host,
        "sent": result.sent,
        "received": result.received,
        "loss": result.loss,
        "rtt_ms": rtt_ms,
        "min_ms": result.min_ms,
        "avg_ms": result.avg_ms,
        "max_ms": result.max_ms,
    }

    def text() -> Iterable[str]:
        for seq, rtt in enumerate(rtt_ms, 1):
            yield f"seq={seq} " + ("no reply" if rtt is None else f"time={rtt:.3f} ms")
        line = f"{result.host}: {result.received}/{result.sent} replies"
        if result.received:
            line += (
                f", rtt min/avg/max {result.min_ms:.3f}/{result.avg_ms:.3f}/{result.max_ms:.3f} ms"
            )
        yield line

    out.emit(data, text)
    if not result.received:
        complain(f"{result.host}: no reply")
        return EXIT_FAILED
    return EXIT_OK
