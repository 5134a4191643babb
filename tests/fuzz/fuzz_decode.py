"""Coverage-guided fuzzing of the rtnetlink codec with atheris (libFuzzer).

    python tests/fuzz/fuzz_decode.py tests/fuzz/corpus -runs=200000
    python tests/fuzz/fuzz_decode.py tests/fuzz/corpus -max_total_time=120

The seed corpus given on the command line is only read: new interesting inputs go
to ``tests/fuzz/.work/`` (put first among the corpus directories, as libFuzzer
writes to the first) and crash files to ``tests/fuzz/.crashes/`` unless
``-artifact_prefix=`` says otherwise.  Crashers worth keeping are copied to
``tests/fuzz/regressions/``; ``tests/test_fuzz_typed.py`` replays them and the seed
corpus through :func:`check` on every test run.

:func:`check` is the oracle.  For any bytes:

- ``decode`` returns messages or raises ``ProtocolError`` -- nothing else;
- the compiled and the pure-Python attribute scanners agree (result or error);
- whatever decodes encodes again, and that encoding decodes to as many messages
  of the same types;
- ``Link``/``Address``/``Route.from_message`` on the decoded messages, and on the
  lazily decoded ones the socket hands out, raise nothing but ``ValueError``
  (``ProtocolError`` is one).
"""

from __future__ import annotations

from fuzzing import fuzz, imports

_FUZZING = __name__ == "__main__"
with imports(_FUZZING):
    import macvlan._netlink as nl
    from macvlan import ProtocolError
    from macvlan._netlink import _backend, _pypack
    from macvlan._netlink.message import Message
    from macvlan._netlink.structs import IfAddrMsg, IfInfoMsg, RtMsg
    from macvlan.address import Address
    from macvlan.link import Link
    from macvlan.route import Route

_functions = _backend.cffi_functions()
cffi_scan = None if _functions is None else _functions[1]


def _scan_result(scan: object, data: bytes, start: int) -> object:
    try:
        return scan(data, start, len(data))  # type: ignore[operator]
    except ProtocolError as exc:
        return type(exc)


def _typed(messages: list[object]) -> None:
    """Build the typed snapshots the connection builds from replies."""
    for message in messages:
        if not isinstance(message, Message):
            continue
        body = message.body
        try:
            if isinstance(body, IfInfoMsg):
                link = Link.from_message(message)
                link.extra  # noqa: B018 - re-encodes every unmodelled attribute
                repr(link)
            elif isinstance(body, IfAddrMsg):
                repr(Address.from_message(message))
            elif isinstance(body, RtMsg):
                repr(Route.from_message(message))
        except ValueError:  # ProtocolError included: refused with a reason
            pass


def check(data: bytes) -> None:
    """Raise (an AssertionError or the escaping exception) if the codec misbehaves."""
    if cffi_scan is not None:
        for start in (0, 16, 20):
            if start <= len(data):
                py = _scan_result(_pypack.scan, data, start)
                c = _scan_result(cffi_scan, data, start)
                assert py == c, f"backends disagree at {start}: {py!r} != {c!r}"
    try:
        messages = nl.decode(data)
    except ProtocolError:
        messages = None
    if messages is not None:
        out = nl.encode(messages)
        again = nl.decode(out)
        assert [(m.type, m.seq) for m in again] == [(m.type, m.seq) for m in messages]
        _typed(messages)
    # the lazy path the socket uses: framing checked now, values decoded on demand
    try:
        lazy = list(nl.iter_messages(data))
    except ProtocolError:
        assert messages is None, "iter_messages refused what decode accepted"
        return
    _typed(lazy)


if _FUZZING:
    fuzz(check, ".work")
