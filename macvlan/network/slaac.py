"""IPv6 from router advertisements: the sysctls an endpoint needs, and the bounded
wait for its SLAAC address and default route after the interface comes up."""

from __future__ import annotations

import enum
import ipaddress
import time

from macvlan._dataclass import dataclass
from macvlan.connection import Connection
from macvlan.errors import SlaacTimeout
from macvlan.network.sysctl import SysctlKey

__all__ = ["AddrGenMode", "Slaac", "presets", "static_presets", "wait"]

_POLL = 0.05


class AddrGenMode(enum.Enum):
    """How the endpoint forms its SLAAC interface identifier."""

    EUI64 = "eui64"  # from the MAC (RFC 4291 appendix A)
    STABLE_PRIVACY = "stable-privacy"  # RFC 7217, secret derived from the endpoint's name

    @classmethod
    def parse(cls, value: object) -> AddrGenMode:
        """``"eui64"``/``"stable-privacy"`` (or a member) to a member."""
        if isinstance(value, cls):
            return value
        for member in cls:
            if value in (member.value, member.name):
                return member
        raise ValueError(f"slaac must be 'eui64' or 'stable-privacy', not {value!r}")


@dataclass(frozen=True, slots=True)
class Slaac:
    """What the router advertisements gave: the address and the default router."""

    address: ipaddress.IPv6Interface
    router: ipaddress.IPv6Address | None


def _key(leaf: str) -> SysctlKey:
    return SysctlKey(("ipv6", "conf", leaf))


def stable_secret(seed: str) -> str:
    """A per-endpoint RFC 7217 secret, the same for the same seed (so the address
    comes back after a detach and attach)."""
    import hashlib  # here: some 2 ms, for stable-privacy endpoints only

    digest = hashlib.sha256(b"macvlan stable-privacy\0" + seed.encode()).digest()
    return str(ipaddress.IPv6Address(digest[:16]))


def presets(mode: AddrGenMode, seed: str) -> dict[SysctlKey, str]:
    """Sysctls for an endpoint that takes its IPv6 address from RAs (accept_ra 2:
    also when the namespace forwards)."""
    out = {
        _key("disable_ipv6"): "0",
        _key("accept_ra"): "2",
        _key("autoconf"): "1",
        _key("accept_ra_defrtr"): "1",
    }
    if mode is AddrGenMode.STABLE_PRIVACY:
        out[_key("stable_secret")] = stable_secret(seed)
        out[_key("addr_gen_mode")] = "2"
    else:
        out[_key("addr_gen_mode")] = "0"
    return out


def static_presets() -> dict[SysctlKey, str]:
    """Sysctls for an endpoint of a network with static IPv6: no RAs, so it does not
    silently pick up a second address and router."""
    return {_key("accept_ra"): "0"}


def wait(there: Connection, index: int, timeout: float, *, route: bool = True) -> Slaac:
    """Wait (polling, at most ``timeout`` s) until link ``index`` holds a global
    IPv6 address past DAD and, if ``route``, a default route from an RA."""
    from macvlan._netlink.constants import IfaFlags, RtProto  # built when first named

    deadline = time.monotonic() + timeout
    address: ipaddress.IPv6Interface | None = None
    router: ipaddress.IPv6Address | None = None
    seen: list[str] = []
    while True:
        if address is None:
            found = there.addresses(index, family=10)
            seen = [f"{a.interface} ({a.flags!r})" for a in found]
            for a in found:
                ip = a.interface.ip
                if ip.is_link_local or a.flags & (IfaFlags.TENTATIVE | IfaFlags.DADFAILED):
                    continue
                if isinstance(a.interface, ipaddress.IPv6Interface):
                    address = a.interface
                    break
        if router is None and route:
            for r in there.routes(family=10, link=index):
                if r.is_default and r.protocol == RtProto.RA and r.gateway is not None:
                    gw = r.gateway
                    assert isinstance(gw, ipaddress.IPv6Address)
                    router = gw
                    break
        if address is not None and (router is not None or not route):
            return Slaac(address, router)
        if time.monotonic() >= deadline:
            missing = "a SLAAC address" if address is None else "a default route"
            raise SlaacTimeout(
                f"no router advertisement gave {missing} within {timeout:g} s "
                "(is a router advertising a prefix with the autonomous flag on this LAN?); "
                f"IPv6 addresses seen: {', '.join(seen) or 'none'}"
            )
        time.sleep(_POLL)
