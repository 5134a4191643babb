"""The exceptions the library raises.

Every kernel refusal is a :class:`NetlinkError` (an :class:`OSError`) carrying the
errno and the kernel's extended-ack text.  Bad arguments are :class:`ValueError` or
:class:`TypeError` subclasses raised before anything is sent.
"""

from __future__ import annotations

import errno as _errno
import os


class ProtocolError(ValueError):
    """Bytes that are not well-formed netlink (truncated, lying lengths, ...)."""


class NetlinkError(OSError):
    """The kernel refused a request.

    ``errno`` is the kernel's error number, ``ext_ack`` its extended-ack message
    (empty when the kernel sent none) and ``request`` a short description of what
    was asked.
    """

    def __init__(self, errno: int, ext_ack: str = "", request: str = "") -> None:
        text = os.strerror(errno)
        if ext_ack:
            text = f"{text}: {ext_ack}"
        if request:
            text = f"{request}: {text}"
        super().__init__(errno, text)
        self.ext_ack = ext_ack
        self.request = request

    def __reduce__(self) -> tuple[type[NetlinkError], tuple[int, str, str]]:
        return (type(self), (self.errno or 0, self.ext_ack, self.request))


class NetlinkPermissionError(NetlinkError, PermissionError):
    """EPERM/EACCES from the kernel: the caller lacks ``CAP_NET_ADMIN``."""

    def __init__(self, errno: int, ext_ack: str = "", request: str = "") -> None:
        super().__init__(errno, ext_ack, request)
        self.strerror = (
            f"{self.strerror} (hint: changing links, addresses and routes needs root or "
            "CAP_NET_ADMIN in the namespace's owning user namespace)"
        )


class LinkNotFound(NetlinkError):
    """No link with that name or index (ENODEV)."""


class LinkExists(NetlinkError, FileExistsError):
    """A link with that name already exists (EEXIST)."""


class AddressInUse(NetlinkError):
    """The MAC or IP address is already used where it must be unique (EADDRINUSE)."""


class AddressNotFound(NetlinkError):
    """No such address or route (EADDRNOTAVAIL / ESRCH)."""


class DeviceBusy(NetlinkError):
    """The parent cannot take this link (EBUSY), e.g. macvlan beside ipvlan."""


class NamespaceNotFound(FileNotFoundError):
    """No network namespace by that name, path or pid."""


class DumpInterrupted(NetlinkError):
    """A dump kept racing concurrent changes (``NLM_F_DUMP_INTR``) after retries."""

    def __init__(self, errno: int = _errno.EINTR, ext_ack: str = "", request: str = "") -> None:
        super().__init__(errno, ext_ack or "dump interrupted by concurrent changes", request)


class MonitorOverflow(OSError):
    """The kernel dropped events (ENOBUFS): resynchronise with a fresh dump."""

    def __init__(self) -> None:
        super().__init__(_errno.ENOBUFS, "event socket overflowed; events were lost, resync")


_BY_ERRNO: dict[int, type[NetlinkError]] = {
    _errno.EPERM: NetlinkPermissionError,
    _errno.EACCES: NetlinkPermissionError,
    _errno.ENODEV: LinkNotFound,
    _errno.EEXIST: LinkExists,
    _errno.EADDRINUSE: AddressInUse,
    _errno.EADDRNOTAVAIL: AddressNotFound,
    _errno.ESRCH: AddressNotFound,
    _errno.EBUSY: DeviceBusy,
}


def error_for(errno: int, ext_ack: str = "", request: str = "") -> NetlinkError:
    """The most specific :class:`NetlinkError` for a kernel errno."""
    cls = _BY_ERRNO.get(errno, NetlinkError)
    return cls(errno, ext_ack, request)


# -- the CNI plugin's errors (macvlan.cni; its spec codes are in macvlan.cni.errors) ------
class CniError(Exception):
    """A CNI command failed; reported to the runtime as the spec's error object.

    ``code`` is the CNI error code (SPEC.md section 5; 999 unless a subclass or the
    caller says otherwise), ``msg`` the message and ``details`` more text.
    """

    code = 999

    def __init__(self, msg: str, details: str = "", *, code: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details
        if code is not None:
            self.code = code

    def to_json(self, cni_version: str) -> dict[str, object]:
        """The spec's error object, written for ``cni_version``."""
        out: dict[str, object] = {"cniVersion": cni_version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out


class CniVersionError(CniError, ValueError):
    """The configuration's cniVersion is one the plugin does not speak (code 1)."""

    code = 1


class CniEnvError(CniError, ValueError):
    """A missing or invalid ``CNI_*`` environment variable or ``CNI_ARGS`` (code 4)."""

    code = 4


class CniDecodeError(CniError, ValueError):
    """Bytes that are not the JSON expected (code 6)."""

    code = 6


class CniConfigError(CniError, ValueError):
    """A network configuration value the plugin cannot use (code 7)."""

    code = 7


# -- the network layer's errors (macvlan.network) -------------------------------------------
class NetworkConfigError(ValueError):
    """Settings for a network or an attach that cannot work."""


class NetworkExists(NetworkConfigError):
    """A network of that name is already in the store."""


class ParentInUse(NetworkConfigError):
    """The parent is taken: passthru wants it for one network and one endpoint."""


class NetworkNotFound(LookupError):
    """No network of that name in the store (or it is being created or removed)."""


class NetworkInUse(RuntimeError):
    """The network still has endpoints (``remove(force=True)`` detaches them)."""


class EndpointNotFound(LookupError):
    """No such endpoint in this network."""


class MacInUse(ValueError):
    """A given MAC is already used by another link or endpoint."""


class IpamError(ValueError):
    """A subnet, gateway, range, auxiliary or requested address that cannot be used."""


class AddressTaken(IpamError):
    """A requested address is already allocated to another endpoint."""


class PoolExhausted(RuntimeError):
    """No free address is left in a subnet's pool."""

    def __init__(self, pool: object, subnet: object) -> None:
        where = f"{pool}" if pool == subnet else f"{pool} (in {subnet})"
        super().__init__(f"no free address left in {where}")
        self.pool = pool
        self.subnet = subnet


class UnsafeStore(PermissionError):
    """The store file or its directory could be written by another user, or is no file."""


class StoreError(RuntimeError):
    """The network store cannot be used: corrupted, or of a newer schema."""
