"""The network configuration: what the plugin reads of it, checked before anything
is done (the reference's keys, matched as Go's encoding/json matches them)."""

from __future__ import annotations

from macvlan._names import check_ifname
from macvlan._netlink.numbers import ETH_MAX_MTU, ETH_MIN_MTU
from macvlan.cni.cniargs import parse_cni_args
from macvlan.cni.env import is_cni_name
from macvlan.cni.errors import CniConfigError, CniDecodeError
from macvlan.cni.jsonio import field, loads
from macvlan.cni.mac import parse_mac
from macvlan.cni.version import config_version

# MACVLAN_MODE_* from include/uapi/linux/if_link.h; the names the reference accepts.
MODES = {"": 4, "bridge": 4, "private": 1, "vepa": 2, "passthru": 8}
MODE_NAMES = {4: "bridge", 1: "private", 2: "vepa", 8: "passthru", 16: "source"}


def decode_config(data: bytes) -> dict[str, object]:
    """The configuration object from stdin bytes; :class:`CniDecodeError` if not one."""
    try:
        conf = loads(data.decode("utf-8", "replace"))
    except ValueError as exc:
        raise CniDecodeError(f"error decoding the network configuration: {exc}") from None
    if not isinstance(conf, dict):
        raise CniDecodeError(
            f"the network configuration must be a JSON object, not {type(conf).__name__}"
        )
    name = conf.get("name")
    if name is None or name == "":
        raise CniConfigError("missing network name")
    if not isinstance(name, str):
        raise CniDecodeError(f"network name must be a string, not {name!r}")
    if not is_cni_name(name):
        raise CniConfigError(f"invalid characters found in network name {name!r}")
    return conf


def _typed(conf: dict[str, object], key: str, kind: type, what: str) -> object:
    """``field(conf, key)`` if it is None or a ``kind`` (bools are not ints here)."""
    value = field(conf, key)
    if value is None:
        return None
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise CniConfigError(f"{key} must be {what}, not {value!r}")
    return value


class NetConf:
    """What the plugin reads from a network configuration (the reference's keys).

    ``mode`` is the kernel's ``MACVLAN_MODE_*`` number; ``mac`` the packed address
    chosen by ``runtimeConfig.mac``, else ``CNI_ARGS`` ``MAC=``, else ``mac``.
    """

    __slots__ = (
        "bcqueuelen",
        "cni_version",
        "dns",
        "ipam_type",
        "link_in_container",
        "mac",
        "master",
        "mode",
        "mtu",
        "name",
        "prev_result",
    )

    def __init__(self, conf: dict[str, object], cni_args: str = "") -> None:
        self.name = str(conf["name"])
        self.cni_version = config_version(conf)
        master = _typed(conf, "master", str, "an interface name")
        self.master = master if isinstance(master, str) else ""
        if self.master:
            try:
                check_ifname(self.master)
            except ValueError as exc:
                raise CniConfigError(f"invalid master: {exc}") from None
        mode = _typed(conf, "mode", str, "a string") or ""
        if mode not in MODES:
            names = ", ".join(n for n in MODES if n)
            raise CniConfigError(f"unknown macvlan mode {mode!r}; expected one of {names}")
        self.mode = MODES[str(mode)]
        mtu = _typed(conf, "mtu", int, "an integer")
        self.mtu = mtu if isinstance(mtu, int) else 0
        if self.mtu and not ETH_MIN_MTU <= self.mtu <= ETH_MAX_MTU:
            raise CniConfigError(
                f"invalid MTU {self.mtu}: must be 0 (the master's) or {ETH_MIN_MTU}..{ETH_MAX_MTU}"
            )
        self.link_in_container = _typed(conf, "linkInContainer", bool, "true or false") is True
        bcqueuelen = _typed(conf, "bcqueuelen", int, "an integer")
        self.bcqueuelen = bcqueuelen if isinstance(bcqueuelen, int) else 0
        if not 0 <= self.bcqueuelen < 2**32:
            raise CniConfigError(f"invalid bcqueuelen {self.bcqueuelen}: must be 0..{2**32 - 1}")
        mac_text = _typed(conf, "mac", str, "a MAC address string") or ""
        what = "mac"
        args_mac = parse_cni_args(cni_args)
        if args_mac:
            mac_text, what = args_mac, "CNI_ARGS MAC"
        runtime = _typed(conf, "runtimeConfig", dict, "an object")
        if isinstance(runtime, dict):
            runtime_mac = _typed(runtime, "mac", str, "a MAC address string")
            if runtime_mac:
                mac_text, what = runtime_mac, "runtimeConfig.mac"
        self.mac = parse_mac(mac_text, what) if mac_text else None
        self.ipam_type = ipam_type(conf)
        self.dns = parse_dns(field(conf, "dns"))
        prev = _typed(conf, "prevResult", dict, "an object")
        self.prev_result = prev if isinstance(prev, dict) else None

    @property
    def mode_name(self) -> str:
        """The configured macvlan mode's name (``bridge``, ...)."""
        return MODE_NAMES[self.mode]


def ipam_type(conf: dict[str, object]) -> str:
    """``ipam.type`` ("" for none), refused if it could be a path; checks ``dataDir``."""
    ipam = _typed(conf, "ipam", dict, "an object")
    if not isinstance(ipam, dict):
        return ""
    kind = _typed(ipam, "type", str, "a plugin name")
    if not kind:
        return ""
    assert isinstance(kind, str)
    if "/" in kind or "\0" in kind or kind in (".", ".."):
        raise CniConfigError(f"invalid ipam type {kind!r}: a plugin name, not a path")
    data_dir = ipam.get("dataDir")
    if data_dir is not None:
        if not isinstance(data_dir, str) or not data_dir.startswith("/") or "\0" in data_dir:
            raise CniConfigError(f"invalid ipam dataDir {data_dir!r}: must be an absolute path")
        if ".." in data_dir.split("/"):
            raise CniConfigError(f"invalid ipam dataDir {data_dir!r}: '..' is not allowed")
    return kind


_DNS_LISTS = ("nameservers", "search", "options")


def parse_dns(value: object) -> dict[str, object]:
    """The ``dns`` object with the spec's keys, empty ones left out (as Go does)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CniConfigError(f"dns must be an object, not {value!r}")
    out: dict[str, object] = {}
    for key in ("nameservers", "domain", "search", "options"):
        item = field(value, key)
        if item is None or item in ("", []):
            continue
        if key in _DNS_LISTS:
            if not isinstance(item, list) or not all(isinstance(s, str) for s in item):
                raise CniConfigError(f"dns.{key} must be a list of strings, not {item!r}")
            out[key] = list(item)
        elif isinstance(item, str):
            out[key] = item
        else:
            raise CniConfigError(f"dns.{key} must be a string, not {item!r}")
    return out
