"""CNI plugin data: spec versions, error codes, JSON, the network configuration and
the result types (1.x, 0.3/0.4 and 0.1/0.2 shapes).

Pure data, no I/O.  The plugin is a process started for every container, so this
module keeps to built-in modules: no ``typing``, ``enum``, ``dataclasses``,
``ipaddress``, ``re`` or ``json`` at import (each costs milliseconds of start-up).
Values are small ``__slots__`` classes instead of frozen dataclasses for that reason.
"""

from __future__ import annotations

import _socket
import sys

from macvlan._names import check_ifname

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: The CNI specification versions this plugin speaks (SPEC.md "Version").
SUPPORTED_VERSIONS = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
LATEST_VERSION = "1.1.0"

# Error codes (SPEC.md section 5, "Error").
INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODING_FAILURE = 6
INVALID_CONFIG = 7
INVALID_NETNS = 8
TRY_AGAIN_LATER = 11
NOT_AVAILABLE = 50
LIMITED_CONNECTIVITY = 51
INTERNAL = 999

# MACVLAN_MODE_* from include/uapi/linux/if_link.h; the names the reference accepts.
MODES = {"": 4, "bridge": 4, "private": 1, "vepa": 2, "passthru": 8}
MODE_NAMES = {4: "bridge", 1: "private", 2: "vepa", 8: "passthru", 16: "source"}

AF_INET = _socket.AF_INET
AF_INET6 = _socket.AF_INET6


# -- errors --------------------------------------------------------------------------
class CniError(Exception):
    """A failure reported to the runtime as the spec's error object."""

    code = INTERNAL

    def __init__(self, msg: str, details: str = "", *, code: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details
        if code is not None:
            self.code = code

    def to_json(self, cni_version: str) -> dict[str, object]:
        out: dict[str, object] = {"cniVersion": cni_version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out


class VersionError(CniError, ValueError):
    """The configuration's cniVersion is one this plugin does not speak (code 1)."""

    code = INCOMPATIBLE_VERSION


class EnvError(CniError, ValueError):
    """A missing or invalid CNI_* environment variable (code 4)."""

    code = INVALID_ENVIRONMENT


class DecodeError(CniError, ValueError):
    """Bytes that are not the JSON expected (code 6)."""

    code = DECODING_FAILURE


class ConfigError(CniError, ValueError):
    """A network configuration value this plugin cannot use (code 7)."""

    code = INVALID_CONFIG


# -- JSON (the C scanner without importing json, re and enum) --------------------------
class _ScanContext:
    """What ``_json.make_scanner`` reads from the context it is built with."""

    __slots__ = (
        "object_hook",
        "object_pairs_hook",
        "parse_constant",
        "parse_float",
        "parse_int",
        "strict",
    )

    def __init__(self) -> None:
        self.strict = True
        self.object_hook = None
        self.object_pairs_hook = None
        self.parse_float = float
        self.parse_int = int
        self.parse_constant = _no_constant


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


# made on first use: [scanner] and [string encoder]
_scanner: list[Callable[[str, int], tuple[object, int]]] = []
_encoder: list[Callable[[str], str]] = []
_WHITESPACE = " \t\n\r"


def loads(text: str) -> object:
    """Parse one JSON document; ``ValueError`` (with the position) if it is not one.

    Nesting deeper than the interpreter's recursion limit is a ``ValueError`` too.
    """
    try:
        return _loads(text)
    except RecursionError:
        raise ValueError(
            f"JSON nested too deeply to parse (more than about {sys.getrecursionlimit()} "
            f"levels), starting {safe_repr(text, 40)}"
        ) from None


def _loads(text: str) -> object:
    if not _scanner:
        try:
            from _json import make_scanner
        except ImportError:  # another Python: the json module does the same
            import json

            return json.loads(text, parse_constant=_no_constant)
        _scanner.append(make_scanner(_ScanContext()))  # type: ignore[arg-type]
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scanner[0](text, start)
    except StopIteration as stop:
        where = stop.value
        what = "unexpected end of JSON input" if where >= len(text) else "expected a value"
        raise ValueError(f"{what} at offset {where}") from None
    except SystemError:
        # The C scanner reports errors inside a value through json.decoder, which it
        # finds only once imported: let the json module describe the error.
        import json

        json.loads(text, parse_constant=_no_constant)
        raise  # not reached: json refuses what the scanner refused
    rest = text[end:].lstrip(_WHITESPACE)
    if rest:
        raise ValueError(f"extra data after the JSON value at offset {len(text) - len(rest)}")
    return value


def safe_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a message: ASCII-safe, at most about ``limit`` characters."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"... ({len(value)} characters)"
    try:
        text = repr(value)
    except RecursionError:
        text = f"<{type(value).__name__} nested too deeply to show>"
    return text if len(text) <= limit else text[:limit] + "..."


def _quote(text: str) -> str:
    """``text`` as a JSON string; lone surrogates become ``\\udXXX`` escapes, so the
    document can always be written as UTF-8."""
    if not _encoder:
        try:
            from _json import encode_basestring
        except ImportError:
            from json.encoder import py_encode_basestring as encode_basestring
        _encoder.append(encode_basestring)
    quoted = _encoder[0](text)
    if quoted.isascii() or not _has_surrogate(quoted):
        return quoted
    return "".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in quoted)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def dumps(value: object, indent: str = "    ", _level: str = "") -> str:
    """JSON text of dicts, lists, strings, ints, bools and None, indented like Go's
    ``json.MarshalIndent`` (the reference plugin's output)."""
    if isinstance(value, str):
        return _quote(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    inner = _level + indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{_quote(str(k))}: {dumps(v, indent, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + _level + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = [inner + dumps(v, indent, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + _level + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON: {value!r}")


def field(obj: dict[str, object], key: str) -> object:
    """``obj[key]`` matched as Go's encoding/json does: exactly, else ignoring case.

    JSON ``null`` counts as absent (None), as it does for Go struct fields.
    """
    if key in obj:
        return obj[key]
    folded = key.casefold()
    for name, value in obj.items():
        if name.casefold() == folded:
            return value
    return None


# -- versions --------------------------------------------------------------------------
def version_tuple(version: str) -> tuple[int, int, int]:
    """``"0.4.0"`` -> ``(0, 4, 0)``; :class:`DecodeError` for anything else."""
    parts = version.split(".")
    # int() refuses strings of more than 4,300 digits: no part of a version is that long
    if len(parts) > 3 or not all(p.isascii() and p.isdigit() and len(p) <= 9 for p in parts):
        raise DecodeError(f"cniVersion {safe_repr(version)} is not a version like '1.0.0'")
    numbers = [int(p) for p in parts] + [0, 0]
    return numbers[0], numbers[1], numbers[2]


def config_version(conf: dict[str, object]) -> str:
    """The configuration's cniVersion ("0.1.0" when absent, as libcni assumes)."""
    version = conf.get("cniVersion")
    if version is None or version == "":
        return "0.1.0"
    if not isinstance(version, str):
        raise DecodeError(f"cniVersion must be a string, not {safe_repr(version)}")
    if _has_surrogate(version):  # echoed in every answer, which must be UTF-8
        raise DecodeError(
            f"cniVersion {safe_repr(version)} is not valid Unicode: it holds a lone surrogate"
        )
    return version


def check_version(version: str, minimum: str = "0.1.0", command: str = "") -> None:
    """Raise :class:`VersionError` unless ``version`` is spoken here and >= ``minimum``."""
    if version not in SUPPORTED_VERSIONS:
        version_tuple(version)  # a malformed version is a decoding failure (code 6)
        raise VersionError(
            "incompatible CNI versions",
            f"config is {safe_repr(version)}, plugin supports {', '.join(SUPPORTED_VERSIONS)}",
        )
    if version_tuple(version) < version_tuple(minimum):
        raise VersionError(f"config version {version} does not allow {command or 'this command'}")


# -- names -----------------------------------------------------------------------------
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_REST = _NAME_FIRST | frozenset("_.-")


def is_cni_name(text: str) -> bool:
    """A container ID or network name: ``[a-zA-Z0-9][a-zA-Z0-9_.-]*`` (SPEC.md)."""
    return bool(text) and text[0] in _NAME_FIRST and all(c in _NAME_REST for c in text)


# -- IP addresses ----------------------------------------------------------------------
class IP:
    """An IPv4 or IPv6 address (family and packed bytes)."""

    __slots__ = ("family", "packed")

    family: int
    packed: bytes

    def __init__(self, family: int, packed: bytes) -> None:
        object.__setattr__(self, "family", family)
        object.__setattr__(self, "packed", packed)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @classmethod
    def parse(cls, text: object, what: str = "IP address") -> IP:
        if not isinstance(text, str):
            raise ConfigError(f"{what} must be a string, not {text!r}")
        family = AF_INET6 if ":" in text else AF_INET
        try:
            return cls(family, _socket.inet_pton(family, text))
        except (OSError, ValueError):
            raise ConfigError(f"{what} {text!r} is not an IP address") from None

    @property
    def version(self) -> int:
        return 4 if self.family == AF_INET else 6

    @property
    def bits(self) -> int:
        return 32 if self.family == AF_INET else 128

    def __str__(self) -> str:
        return _socket.inet_ntop(self.family, self.packed)

    def __repr__(self) -> str:
        return f"IP({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IP) or isinstance(other, Cidr):
            return NotImplemented
        return (self.family, self.packed) == (other.family, other.packed)

    def __hash__(self) -> int:
        return hash((self.family, self.packed))


class Cidr(IP):
    """An address with a prefix length, host bits kept: ``10.1.0.5/16``."""

    __slots__ = ("prefixlen",)

    prefixlen: int

    def __init__(self, family: int, packed: bytes, prefixlen: int) -> None:
        super().__init__(family, packed)
        object.__setattr__(self, "prefixlen", prefixlen)

    @classmethod
    def parse(cls, text: object, what: str = "address") -> Cidr:
        if not isinstance(text, str):
            raise ConfigError(f"{what} must be a string like '10.1.0.5/16', not {text!r}")
        addr, slash, plen = text.partition("/")
        try:
            ip = IP.parse(addr, what) if slash else None
        except ConfigError:
            ip = None
        # at most 3 digits: int() refuses strings of more than 4,300 with a ValueError
        if (
            ip is None
            or not (plen.isascii() and plen.isdigit() and len(plen) <= 3)
            or int(plen) > ip.bits
        ):
            raise ConfigError(f"{what} {safe_repr(text)} is not an address with a prefix length")
        return cls(ip.family, ip.packed, int(plen))

    @property
    def ip(self) -> IP:
        return IP(self.family, self.packed)

    def network(self) -> Cidr:
        """The prefix with the host bits cleared (``10.1.0.0/16``)."""
        value = int.from_bytes(self.packed, "big")
        mask = ((1 << self.prefixlen) - 1) << (self.bits - self.prefixlen)
        size = len(self.packed)
        return Cidr(self.family, (value & mask).to_bytes(size, "big"), self.prefixlen)

    def broadcast(self) -> IP:
        value = int.from_bytes(self.packed, "big") | ((1 << (self.bits - self.prefixlen)) - 1)
        return IP(self.family, value.to_bytes(len(self.packed), "big"))

    def __str__(self) -> str:
        return f"{_socket.inet_ntop(self.family, self.packed)}/{self.prefixlen}"

    def __repr__(self) -> str:
        return f"Cidr({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cidr):
            return NotImplemented
        return (self.family, self.packed, self.prefixlen) == (
            other.family,
            other.packed,
            other.prefixlen,
        )

    def __hash__(self) -> int:
        return hash((self.family, self.packed, self.prefixlen))


# -- MAC addresses ---------------------------------------------------------------------
def parse_mac(text: object, what: str = "MAC address") -> bytes:
    """Six octets from ``aa:bb:cc:dd:ee:ff``, ``aa-bb-...`` or ``aabb.ccdd.eeff``.

    Only unicast addresses are accepted: the kernel refuses the others.
    """
    if not isinstance(text, str):
        raise ConfigError(f"{what} must be a string, not {text!r}")
    if len(text) == 14 and text[4] == "." and text[9] == ".":
        groups = text.split(".")
        digits = "".join(groups) if all(len(g) == 4 for g in groups) else ""
    elif len(text) == 17 and (text[2] in ":-"):
        groups = text.split(text[2])
        digits = "".join(groups) if all(len(g) == 2 for g in groups) else ""
    else:
        digits = ""
    try:
        if len(digits) != 12 or not digits.isascii():
            raise ValueError
        packed = bytes.fromhex(digits)
    except ValueError:
        raise ConfigError(f"invalid {what} {text!r}: not like 'aa:bb:cc:dd:ee:ff'") from None
    if packed[0] & 1:
        raise ConfigError(f"invalid {what} {text!r}: a multicast address")
    if packed == bytes(6):
        raise ConfigError(f"invalid {what} {text!r}: the all-zero address")
    return packed


def format_mac(packed: bytes) -> str:
    return ":".join(f"{b:02x}" for b in packed)


# -- CNI_ARGS ---------------------------------------------------------------------------
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
            raise EnvError(f"CNI_ARGS: invalid pair {pair!r} (expected KEY=VALUE)")
        key, value = parts
        if key == "MAC":
            mac = value
        elif key == "IgnoreUnknown":
            lowered = value.lower()
            if lowered not in ("1", "true", "0", "false"):
                raise EnvError(f"CNI_ARGS: IgnoreUnknown={value!r} is not a boolean")
            ignore_unknown = lowered in ("1", "true")
        else:
            unknown.append(pair)
    if unknown and not ignore_unknown:
        raise EnvError(f"CNI_ARGS: unknown args {unknown!r} (set IgnoreUnknown=1 to allow)")
    return mac


# -- the network configuration ---------------------------------------------------------
def decode_config(data: bytes) -> dict[str, object]:
    """The configuration object from stdin bytes; :class:`DecodeError` if not one."""
    try:
        conf = loads(data.decode("utf-8", "replace"))
    except ValueError as exc:
        raise DecodeError(f"error decoding the network configuration: {exc}") from None
    if not isinstance(conf, dict):
        raise DecodeError(
            f"the network configuration must be a JSON object, not {type(conf).__name__}"
        )
    name = conf.get("name")
    if name is None or name == "":
        raise ConfigError("missing network name")
    if not isinstance(name, str):
        raise DecodeError(f"network name must be a string, not {name!r}")
    if not is_cni_name(name):
        raise ConfigError(f"invalid characters found in network name {name!r}")
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
        raise ConfigError(f"{key} must be {what}, not {value!r}")
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
                raise ConfigError(f"invalid master: {exc}") from None
        mode = _typed(conf, "mode", str, "a string") or ""
        if mode not in MODES:
            names = ", ".join(n for n in MODES if n)
            raise ConfigError(f"unknown macvlan mode {mode!r}; expected one of {names}")
        self.mode = MODES[str(mode)]
        mtu = _typed(conf, "mtu", int, "an integer")
        self.mtu = mtu if isinstance(mtu, int) else 0
        if self.mtu < 0 or 0 < self.mtu < 68 or self.mtu >= 2**31:
            raise ConfigError(f"invalid MTU {self.mtu}: must be 0 (the master's) or 68 or more")
        self.link_in_container = _typed(conf, "linkInContainer", bool, "true or false") is True
        bcqueuelen = _typed(conf, "bcqueuelen", int, "an integer")
        self.bcqueuelen = bcqueuelen if isinstance(bcqueuelen, int) else 0
        if not 0 <= self.bcqueuelen < 2**32:
            raise ConfigError(f"invalid bcqueuelen {self.bcqueuelen}: must be 0..{2**32 - 1}")
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
        raise ConfigError(f"invalid ipam type {kind!r}: a plugin name, not a path")
    data_dir = ipam.get("dataDir")
    if data_dir is not None:
        if not isinstance(data_dir, str) or not data_dir.startswith("/") or "\0" in data_dir:
            raise ConfigError(f"invalid ipam dataDir {data_dir!r}: must be an absolute path")
        if ".." in data_dir.split("/"):
            raise ConfigError(f"invalid ipam dataDir {data_dir!r}: '..' is not allowed")
    return kind


_DNS_LISTS = ("nameservers", "search", "options")


def parse_dns(value: object) -> dict[str, object]:
    """The ``dns`` object with the spec's keys, empty ones left out (as Go does)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"dns must be an object, not {value!r}")
    out: dict[str, object] = {}
    for key in ("nameservers", "domain", "search", "options"):
        item = field(value, key)
        if item is None or item in ("", []):
            continue
        if key in _DNS_LISTS:
            if not isinstance(item, list) or not all(isinstance(s, str) for s in item):
                raise ConfigError(f"dns.{key} must be a list of strings, not {item!r}")
            out[key] = list(item)
        elif isinstance(item, str):
            out[key] = item
        else:
            raise ConfigError(f"dns.{key} must be a string, not {item!r}")
    return out


# -- results --------------------------------------------------------------------------
def _opt_uint(obj: dict[str, object], key: str, what: str) -> int | None:
    value = field(obj, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{what} {key} must be a non-negative integer, not {value!r}")
    return value


class Interface:
    """One entry of a result's ``interfaces``."""

    __slots__ = ("mac", "name", "sandbox")

    def __init__(self, name: str, mac: str = "", sandbox: str = "") -> None:
        self.name = name
        self.mac = mac
        self.sandbox = sandbox

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name}
        if self.mac:
            out["mac"] = self.mac
        if self.sandbox:
            out["sandbox"] = self.sandbox
        return out


class IPConfig:
    """One entry of a result's ``ips``."""

    __slots__ = ("address", "gateway", "interface")

    def __init__(self, address: Cidr, gateway: IP | None, interface: int | None) -> None:
        self.address = address
        self.gateway = gateway
        self.interface = interface

    @classmethod
    def from_json(cls, obj: object, address_key: str = "address") -> IPConfig:
        if not isinstance(obj, dict):
            raise ConfigError(f"an ips entry must be an object, not {obj!r}")
        address = Cidr.parse(field(obj, address_key), f"ips {address_key}")
        gateway = field(obj, "gateway")
        return cls(
            address,
            None if gateway is None or gateway == "" else IP.parse(gateway, "gateway"),
            _opt_uint(obj, "interface", "ips"),
        )

    def to_json(self, with_version: bool) -> dict[str, object]:
        out: dict[str, object] = {}
        if with_version:
            out["version"] = str(self.address.version)
        if self.interface is not None:
            out["interface"] = self.interface
        out["address"] = str(self.address)
        if self.gateway is not None:
            out["gateway"] = str(self.gateway)
        return out


class Route:
    """One entry of a result's ``routes`` (1.1.0 adds mtu, advmss, priority, table, scope)."""

    __slots__ = ("advmss", "dst", "gw", "mtu", "priority", "scope", "table")

    def __init__(
        self,
        dst: Cidr,
        gw: IP | None = None,
        *,
        mtu: int | None = None,
        advmss: int | None = None,
        priority: int | None = None,
        table: int | None = None,
        scope: int | None = None,
    ) -> None:
        self.dst = dst
        self.gw = gw
        self.mtu = mtu
        self.advmss = advmss
        self.priority = priority
        self.table = table
        self.scope = scope

    @classmethod
    def from_json(cls, obj: object) -> Route:
        if not isinstance(obj, dict):
            raise ConfigError(f"a routes entry must be an object, not {obj!r}")
        dst = Cidr.parse(field(obj, "dst"), "route dst")
        gw = field(obj, "gw")
        return cls(
            dst,
            None if gw is None or gw == "" else IP.parse(gw, "route gw"),
            mtu=_opt_uint(obj, "mtu", "route"),
            advmss=_opt_uint(obj, "advmss", "route"),
            priority=_opt_uint(obj, "priority", "route"),
            table=_opt_uint(obj, "table", "route"),
            scope=_opt_uint(obj, "scope", "route"),
        )

    def to_json(self, extended: bool) -> dict[str, object]:
        out: dict[str, object] = {"dst": str(self.dst)}
        if self.gw is not None:
            out["gw"] = str(self.gw)
        if extended:
            for key in ("mtu", "advmss", "priority"):
                value = getattr(self, key)
                if value:
                    out[key] = value
            if self.table is not None:
                out["table"] = self.table
            if self.scope is not None:
                out["scope"] = self.scope
        return out


class Result:
    """An ADD result (or an IPAM plugin's), whatever version it was written in."""

    __slots__ = ("dns", "interfaces", "ips", "routes")

    def __init__(
        self,
        interfaces: list[Interface] | None = None,
        ips: list[IPConfig] | None = None,
        routes: list[Route] | None = None,
        dns: dict[str, object] | None = None,
    ) -> None:
        self.interfaces = interfaces or []
        self.ips = ips or []
        self.routes = routes or []
        self.dns = dns or {}

    @classmethod
    def from_json(cls, obj: object, version: str) -> Result:
        """Read a result written for ``version`` (0.1/0.2: ``ip4``/``ip6``; else ``ips``)."""
        if not isinstance(obj, dict):
            raise ConfigError(f"a result must be a JSON object, not {obj!r}")
        dns = parse_dns(field(obj, "dns"))
        if version_tuple(version) < (0, 3, 0):
            ips, routes = [], []
            for key in ("ip4", "ip6"):
                entry = field(obj, key)
                if entry is None:
                    continue
                ips.append(IPConfig.from_json(entry, "ip"))
                assert isinstance(entry, dict)
                for route in _list(field(entry, "routes"), f"{key}.routes"):
                    routes.append(Route.from_json(route))
            return cls([], ips, routes, dns)
        interfaces = []
        for entry in _list(field(obj, "interfaces"), "interfaces"):
            if not isinstance(entry, dict) or not isinstance(field(entry, "name") or "", str):
                raise ConfigError(f"an interfaces entry must be an object, not {entry!r}")
            texts = [field(entry, k) for k in ("name", "mac", "sandbox")]
            name, mac, sandbox = (t if isinstance(t, str) else "" for t in texts)
            interfaces.append(Interface(name, mac, sandbox))
        ips = [IPConfig.from_json(e) for e in _list(field(obj, "ips"), "ips")]
        routes = [Route.from_json(e) for e in _list(field(obj, "routes"), "routes")]
        return cls(interfaces, ips, routes, dns)

    def to_json(self, version: str) -> dict[str, object]:
        """The result as the spec version ``version`` writes it."""
        out: dict[str, object] = {"cniVersion": version}
        number = version_tuple(version)
        if number < (0, 3, 0):
            # 0.1/0.2: the first address of each family, with that family's routes
            for family, key in ((AF_INET, "ip4"), (AF_INET6, "ip6")):
                ipc = next((i for i in self.ips if i.address.family == family), None)
                if ipc is None:
                    continue
                entry: dict[str, object] = {"ip": str(ipc.address)}
                if ipc.gateway is not None:
                    entry["gateway"] = str(ipc.gateway)
                routes = [r.to_json(False) for r in self.routes if r.dst.family == family]
                if routes:
                    entry["routes"] = routes
                out[key] = entry
            out["dns"] = dict(self.dns)
            return out
        if self.interfaces:
            out["interfaces"] = [i.to_json() for i in self.interfaces]
        if self.ips:
            out["ips"] = [i.to_json(number < (1, 0, 0)) for i in self.ips]
        if self.routes:
            out["routes"] = [r.to_json(number >= (1, 1, 0)) for r in self.routes]
        out["dns"] = dict(self.dns)
        return out


def _list(value: object, what: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{what} must be a list, not {value!r}")
    return value
