"""The exceptions the library raises.

Every kernel refusal is a :class:`NetlinkError` (an :class:`OSError`) carrying the
errno and the kernel's extended-ack text.  Bad arguments are :class:`ValueError` or
:class:`TypeError` subclasses raised before anything is sent.
"""

from __future__ import annotations

import errno as _errno
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import argparse
    import ipaddress


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
    """A link with that name already exists (EEXIST on a link request)."""


class AddressExists(NetlinkError, FileExistsError):
    """The link already has that IP address (EEXIST on an address request)."""


class AddressNotFound(NetlinkError):
    """The link has no such IP address (EADDRNOTAVAIL on an address request)."""


class AddressInUse(NetlinkError):
    """The MAC or IP address is already used where it must be unique (EADDRINUSE)."""


class RouteExists(NetlinkError, FileExistsError):
    """That route is already in the table (EEXIST on a route request)."""


class RouteNotFound(NetlinkError):
    """No such route (ESRCH or ENOENT on a route request)."""


class NeighbourExists(NetlinkError, FileExistsError):
    """That neighbour entry already exists (EEXIST on a neighbour request)."""


class NeighbourNotFound(NetlinkError):
    """No such neighbour entry (ENOENT on a neighbour request)."""


class RuleExists(NetlinkError, FileExistsError):
    """That routing rule already exists (EEXIST on a rule request)."""


class RuleNotFound(NetlinkError):
    """No such routing rule (ENOENT on a rule request)."""


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


# the object a request is about, from its message type: RTM_NEWLINK (16) .. RTM_GETRULE (34)
_LINK, _ADDRESS, _ROUTE, _NEIGHBOUR, _RULE = 0, 1, 2, 3, 4

_BY_ERRNO: dict[int, type[NetlinkError]] = {
    _errno.EPERM: NetlinkPermissionError,
    _errno.EACCES: NetlinkPermissionError,
    _errno.ENODEV: LinkNotFound,
    _errno.EADDRINUSE: AddressInUse,
    _errno.EBUSY: DeviceBusy,
}

_BY_OBJECT: dict[tuple[int, int], type[NetlinkError]] = {
    (_LINK, _errno.EEXIST): LinkExists,
    (_ADDRESS, _errno.EEXIST): AddressExists,
    (_ADDRESS, _errno.EADDRNOTAVAIL): AddressNotFound,
    (_ROUTE, _errno.EEXIST): RouteExists,
    (_ROUTE, _errno.ESRCH): RouteNotFound,
    (_ROUTE, _errno.ENOENT): RouteNotFound,
    (_NEIGHBOUR, _errno.EEXIST): NeighbourExists,
    (_NEIGHBOUR, _errno.ENOENT): NeighbourNotFound,
    (_RULE, _errno.EEXIST): RuleExists,
    (_RULE, _errno.ENOENT): RuleNotFound,
}


def error_for(
    errno: int, ext_ack: str = "", request: str = "", message_type: int | None = None
) -> NetlinkError:
    """The most specific :class:`NetlinkError` for a kernel errno.

    ``message_type`` is the ``RTM_*`` type of the refused request: EEXIST is a
    :class:`LinkExists` on a link, an :class:`AddressExists` on an address, a
    :class:`RouteExists` on a route, and so on.  Without it only errnos that mean
    one thing whatever was asked (ENODEV, EPERM, EADDRINUSE, ...) get a subclass.
    """
    cls: type[NetlinkError] | None = None
    if message_type is not None and 16 <= message_type < 36:
        cls = _BY_OBJECT.get(((message_type - 16) // 4, errno))
    if cls is None:
        cls = _BY_ERRNO.get(errno, NetlinkError)
    return cls(errno, ext_ack, request)


# -- values checked before any I/O (macvlan.mac, macvlan.macalloc, macvlan.namespace) --
class MacAddressValueError(ValueError):
    """A value that is not a MAC address (or an OUI, CID or prefix where one was asked for).

    ``value`` is the offending input and ``reason`` says what is wrong with it.
    """

    def __init__(self, value: object, reason: str, what: str = "a MAC address") -> None:
        shown = repr(value)
        if len(shown) > 72:
            shown = shown[:64] + "..." + shown[-5:]
        super().__init__(f"{shown} is not {what}: {reason}")
        self.value = value
        self.reason = reason
        self.what = what

    def __reduce__(self) -> tuple[type[MacAddressValueError], tuple[object, str, str]]:
        return (type(self), (self.value, self.reason, self.what))


class MacSpaceExhausted(RuntimeError):
    """No free address is left in an allocator's space.

    A ``RuntimeError``, not a ``ValueError``: the arguments were fine, the space is
    full.  ``space`` describes the space, ``size`` is its number of addresses (``None``
    when the generator is an arbitrary callable), ``in_use`` how many of them are taken
    and ``attempts`` how many draws were made (0 when the space was known to be full).
    """

    def __init__(self, space: str, size: int | None, in_use: int, attempts: int) -> None:
        if attempts:
            text = f"no free MAC address in {space} after {attempts} attempts"
        else:
            text = f"no free MAC address in {space}"
        if size is not None:
            text += f" ({in_use} of {size} in use)"
        super().__init__(text)
        self.space = space
        self.size = size
        self.in_use = in_use
        self.attempts = attempts

    def __reduce__(self) -> tuple[type[MacSpaceExhausted], tuple[str, int | None, int, int]]:
        return (type(self), (self.space, self.size, self.in_use, self.attempts))


class NamespaceNameError(ValueError):
    """A namespace name that cannot be a file name under ``/run/netns``."""


class NamespaceNameTypeError(NamespaceNameError, TypeError):
    """A namespace name that is not a ``str``."""


class NotANamespaceError(OSError):
    """A path that should hold a network namespace holds something else.

    Raised for symbolic links and ordinary files planted under :data:`macvlan.namespace.RUN_DIR`,
    and for namespaces of another kind (``mnt``, ``uts``, ...).
    """

    def __init__(self, path: str, why: str) -> None:
        super().__init__(_errno.EINVAL, f"not a network namespace: {why}", path)


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


# -- networks (macvlan.network) ---------------------------------------------------------
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


class NetworkElsewhere(RuntimeError):
    """The network was created without ``netns=`` in another namespace than the caller's.

    Its parent is a name in the namespace it was created in; using it from elsewhere
    would act on whatever link has that name here.
    """


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

    def __init__(
        self,
        pool: ipaddress.IPv4Network | ipaddress.IPv6Network,
        subnet: ipaddress.IPv4Network | ipaddress.IPv6Network,
    ) -> None:
        where = f"{pool}" if pool == subnet else f"{pool} (in {subnet})"
        super().__init__(f"no free address left in {where}")
        self.pool = pool
        self.subnet = subnet


class UnsafeStore(PermissionError):
    """The store file or its directory could be written by another user, or is no file."""


class StoreError(RuntimeError):
    """The network store cannot be used: corrupted, or of a newer schema."""


# -- the command line and the demo (macvlan.cli, macvlan.demo) -------------------------
class UsageError(Exception):
    """Bad command-line usage; ``parser`` is the (sub)command whose usage to show."""

    def __init__(self, message: str, parser: argparse.ArgumentParser | None = None) -> None:
        super().__init__(message)
        self.parser = parser


class CommandFailed(Exception):
    """A command failed (exit status 1) though its arguments were fine."""


class Terminated(BaseException):
    """SIGTERM arrived (raised from the signal handler, like KeyboardInterrupt)."""


class DemoFailure(RuntimeError):
    """A demo step failed on purpose (``MACVLAN_DEMO_FAIL``)."""


# -- LAN-host endpoints: DHCP leases, router advertisements, sysctls (issue 17) --------


class DhcpProtocolError(ValueError):
    """Bytes that are not a well-formed DHCP message (truncated, lying lengths, ...)."""


class LeaseError(OSError):
    """A DHCP lease could not be had or kept."""


class LeaseTimeout(LeaseError, TimeoutError):
    """No DHCP server answered within the time allowed."""


class LeaseRefused(LeaseError):
    """The DHCP server refused the request (DHCPNAK)."""


class LeaseDeclined(LeaseError):
    """The offered address answered an ARP probe (RFC 5227) and was declined."""


class SlaacTimeout(TimeoutError):
    """No router advertisement gave the endpoint an address and route in time."""


class SysctlError(ValueError):
    """A per-endpoint sysctl that is not allowed or malformed."""


class SysctlNotFound(SysctlError):
    """A per-endpoint sysctl that does not exist in this kernel."""


class SysctlValueRejected(SysctlError):
    """A value the kernel rejects for that sysctl."""


# -- routes, rules, neighbours (issue 18) ------------------------------------------------
class GatewayUnreachable(NetlinkError):
    """The gateway is not reachable through a connected route (ENETUNREACH on a route,
    ext-ack "Nexthop has invalid gateway"): ``onlink=True`` says it is on the link."""
