"""Coverage-guided fuzzing of the CNI plugin's input decoding with atheris.

    python tests/fuzz/fuzz_cni.py tests/fuzz/cni_corpus -runs=200000

The input is ``CNI_ARGS`` (up to the first newline) and the network configuration
(the rest), as the plugin reads them.  The oracle, :func:`check`: decoding and
validating either succeeds or raises a ``CniError`` (the spec's error object), and
whatever error object comes out can be written as UTF-8 JSON.  Bugs already known
and pinned by strict xfails in tests/ are set aside (``KNOWN``) so that the fuzzer
keeps looking for new ones; ``--strict`` counts them too.  As in fuzz_decode.py,
new inputs go to ``tests/fuzz/.work-cni/`` and crashes to ``tests/fuzz/.crashes/``.
"""

from __future__ import annotations

import sys

from fuzzing import fuzz, imports

_FUZZING = __name__ == "__main__"
with imports(_FUZZING):
    from macvlan.cni import netconf
    from macvlan.cni.errors import CniError
    from macvlan.cni.jsonio import dumps
    from macvlan.cni.result import Result
    from macvlan.cni.version import LATEST_VERSION, check_version, config_version

STRICT = "--strict" in sys.argv
# (exception type, text in its message): bugs reported and pinned in tests/
# None open now: deep nesting, over-long numbers and lone surrogates in the output
# were fixed in a4a8bae, 7a9f3c3 and f67abd7.
KNOWN: list[tuple[type[BaseException], str]] = []


def _known(exc: BaseException) -> bool:
    return not STRICT and any(isinstance(exc, k) and text in str(exc) for k, text in KNOWN)


def _write(value: object) -> None:
    """What the plugin does with an answer: JSON text, then UTF-8 on stdout."""
    dumps(value).encode("utf-8")


def check(data: bytes) -> None:
    args_bytes, _, conf_bytes = data.partition(b"\n")
    cni_args = args_bytes.decode("utf-8", "replace")
    version = LATEST_VERSION
    try:
        try:
            raw = netconf.decode_config(conf_bytes)
            version = config_version(raw)
            check_version(version)
            conf = netconf.NetConf(raw, cni_args)
            if conf.prev_result is not None:
                result = Result.from_json(conf.prev_result, version)
                _write(result.to_json(version))
        except CniError as exc:
            _write(exc.to_json(version))
    except BaseException as exc:
        if not _known(exc):
            raise


if _FUZZING:
    fuzz(check, ".work-cni", "cni-")
