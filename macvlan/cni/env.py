"""The ``CNI_*`` environment variables of one invocation, and the spec's rule for
container IDs and network names."""

from __future__ import annotations

from macvlan._names import check_ifname
from macvlan.cni.errors import CniEnvError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os

    Environ = dict[str, str] | os._Environ[str]

# the CNI_* variables in the order the reference reports them, and which commands
# need them (SPEC.md section 2 and libcni's skel)
_ENV = (
    ("CNI_COMMAND", ("ADD", "CHECK", "DEL", "GC", "STATUS")),
    ("CNI_CONTAINERID", ("ADD", "CHECK", "DEL")),
    ("CNI_NETNS", ("ADD", "CHECK")),
    ("CNI_IFNAME", ("ADD", "CHECK", "DEL")),
    ("CNI_ARGS", ()),
    ("CNI_PATH", ("ADD", "CHECK", "DEL", "GC", "STATUS")),
)

_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_REST = _NAME_FIRST | frozenset("_.-")


def is_cni_name(text: str) -> bool:
    """A container ID or network name: ``[a-zA-Z0-9][a-zA-Z0-9_.-]*`` (SPEC.md)."""
    return bool(text) and text[0] in _NAME_FIRST and all(c in _NAME_REST for c in text)


class Args:
    """The ``CNI_*`` parameters of one invocation."""

    __slots__ = ("cni_args", "command", "container_id", "ifname", "netns", "path")

    def __init__(self, environ: Environ) -> None:
        self.command = environ.get("CNI_COMMAND", "")
        self.container_id = environ.get("CNI_CONTAINERID", "")
        self.netns = environ.get("CNI_NETNS", "")
        self.ifname = environ.get("CNI_IFNAME", "")
        self.cni_args = environ.get("CNI_ARGS", "")
        self.path = environ.get("CNI_PATH", "")

    def validate(self, environ: Environ) -> None:
        """Raise :class:`~macvlan.CniEnvError` (code 4) for missing or bad values."""
        missing = []
        for name, needed_by in _ENV:
            value = environ.get(name, "")
            required = name == "CNI_COMMAND" or self.command in needed_by
            if not value:
                if required:
                    missing.append(name)
            elif required and name == "CNI_CONTAINERID" and not is_cni_name(value):
                raise CniEnvError(
                    f"invalid characters in CNI_CONTAINERID {value!r}: it must match "
                    "[a-zA-Z0-9][a-zA-Z0-9_.-]*",
                    value,
                )
            elif required and name == "CNI_IFNAME":
                if "%" in value:  # the kernel would make a name from it as a pattern
                    raise CniEnvError(
                        f"invalid CNI_IFNAME {value!r}: it contains '%', which the kernel "
                        "takes as a name pattern",
                        value,
                    )
                try:
                    check_ifname(value)
                except ValueError as exc:
                    raise CniEnvError(f"invalid CNI_IFNAME: {exc}", value) from None
        if missing:
            raise CniEnvError(f"required env variables [{','.join(missing)}] missing")
