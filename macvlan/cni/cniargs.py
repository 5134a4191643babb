"""``CNI_ARGS``: the ``KEY=VALUE;...`` pairs a runtime passes, read as the reference reads them."""

from __future__ import annotations

from macvlan.cni.errors import CniEnvError


def parse_cni_args(text: str) -> str:
    """The ``MAC`` of ``CNI_ARGS`` ("" if none), with the reference's rules.

    ``K=V`` pairs separated by ``;``; a pair without exactly one ``=`` is refused,
    and so are unknown keys unless ``IgnoreUnknown`` is ``1``/``true``.
    """
    if not text:
        return ""
    mac = ""
    ignore_unknown = False
    unknown = []
    for pair in text.split(";"):
        parts = pair.split("=")
        if len(parts) != 2:
            raise CniEnvError(f"CNI_ARGS: invalid pair {pair!r} (expected KEY=VALUE)")
        key, value = parts
        if key == "MAC":
            mac = value
        elif key == "IgnoreUnknown":
            lowered = value.lower()
            if lowered not in ("1", "true", "0", "false"):
                raise CniEnvError(f"CNI_ARGS: IgnoreUnknown={value!r} is not a boolean")
            ignore_unknown = lowered in ("1", "true")
        else:
            unknown.append(pair)
    if unknown and not ignore_unknown:
        raise CniEnvError(f"CNI_ARGS: unknown args {unknown!r} (set IgnoreUnknown=1 to allow)")
    return mac
