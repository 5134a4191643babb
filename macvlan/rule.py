"""Policy-routing rules (``ip rule``): the :class:`Rule` snapshot and its requests
(sans-IO)."""

from __future__ import annotations

import ipaddress
import sys
from typing import Any

from macvlan import _argcheck
from macvlan._argcheck import IPNetwork
from macvlan._dataclass import dataclass
from macvlan._intcheck import check_int, member
from macvlan._names import check_ifname
from macvlan._netlink import fra, requests
from macvlan._netlink.constants import AddrFamily, FrAct, NlmF, RtmType
from macvlan._netlink.message import Message
from macvlan._netlink.structs import FibRuleHdr
from macvlan.errors import ProtocolError

__all__ = ["FrAct", "Rule", "RuleAction"]

#: What a rule does: ``RuleAction.TO_TBL`` (look up ``table``), ``BLACKHOLE``, ...
RuleAction = FrAct

_ORDER = sys.byteorder
_ACTIONS = {int(a): a for a in FrAct}
FIB_RULE_INVERT = 0x2


def to_action(value: object) -> FrAct:
    """A :class:`RuleAction` from the enum or its name (``"blackhole"``, ``"lookup"``)."""
    names = "lookup, " + ", ".join(a.name.lower() for a in FrAct if a > 1)
    aliases = {"lookup": "TO_TBL", "table": "TO_TBL"}
    return member(FrAct, value, "rule action", aliases=aliases, choices=names)


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy-routing rule, as the kernel reported it.

    ``iif`` and ``oif`` are link names (rules match names, and the link need
    not exist yet).  ``fwmask`` is None when the kernel reports no mask.
    """

    family: AddrFamily | int
    priority: int
    table: int
    action: FrAct | int
    src: IPNetwork | None = None
    dst: IPNetwork | None = None
    iif: str | None = None
    oif: str | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    invert: bool = False
    tos: int = 0

    @classmethod
    def from_message(cls, message: Message) -> Rule:
        """Build a snapshot from an ``RTM_NEWRULE`` message."""
        body, attrs = message.decoded(FibRuleHdr, "rule")
        table = attrs.get(fra.TABLE)
        return cls(
            family=AddrFamily(body.family) if body.family in (2, 10) else body.family,
            priority=attrs.get(fra.PRIORITY) or 0,  # the kernel leaves out a 0
            table=body.table if table is None else table,
            action=_ACTIONS.get(body.action, body.action),
            src=_prefix(attrs.get(fra.SRC), body.src_len),
            dst=_prefix(attrs.get(fra.DST), body.dst_len),
            iif=attrs.get(fra.IIFNAME),
            oif=attrs.get(fra.OIFNAME),
            fwmark=attrs.get(fra.FWMARK),
            fwmask=attrs.get(fra.FWMASK),
            invert=bool(body.flags & FIB_RULE_INVERT),
            tos=body.tos,
        )


def _prefix(addr: Any, length: int) -> IPNetwork | None:
    if addr is None:
        return None
    try:
        return ipaddress.ip_network((addr, length), strict=False)
    except ValueError:
        raise ProtocolError(f"rule prefix {addr}/{length} is impossible") from None


def to_prefix(value: object, what: str) -> IPNetwork:
    """A prefix from ``"10.0.0.0/24"``, a bare address (a host) or an ip_network."""
    return _argcheck.network(value, what, host_ok=True)


def _u32(name: str, value: object) -> int:
    return check_int(name, value, 0, 2**32 - 1)


def rule_message(
    mtype: RtmType,
    *,
    priority: int | None = None,
    table: int | None = None,
    src: IPNetwork | None = None,
    dst: IPNetwork | None = None,
    iif: str | None = None,
    oif: str | None = None,
    fwmark: int | None = None,
    fwmask: int | None = None,
    action: FrAct | None = None,
    family: int | None = None,
    invert: bool = False,
    flags: int = 0,
) -> Message:
    """``RTM_NEWRULE`` / ``RTM_DELRULE`` laid out as iproute2 lays them out.

    Without ``action`` a rule with a table looks it up (``FR_ACT_TO_TBL``).
    The family comes from ``src``/``dst``, else ``family``, else IPv4.
    """
    versions = {p.version for p in (src, dst) if p is not None}
    if len(versions) > 1:
        raise ValueError(f"src {src} and dst {dst} are of different IP versions")
    fam = (
        _family(versions.pop())
        if versions
        else AddrFamily(family)
        if family is not None
        else AddrFamily.INET
    )
    if family is not None and fam != family:
        raise ValueError(f"family {family} does not match the prefixes given")
    if fam not in (AddrFamily.INET, AddrFamily.INET6):
        raise ValueError(f"a rule's family is INET or INET6, not {family!r}")
    adding = mtype == RtmType.NEWRULE
    if table is not None:
        _u32("table", table)
    if action is None:  # a deletion without one matches any action, as ip sends it
        action = FrAct.TO_TBL if table is not None and adding else FrAct.UNSPEC
    if adding and action == FrAct.UNSPEC:
        raise ValueError("a rule needs a table to look up or an action (blackhole, ...)")
    if adding and action == FrAct.TO_TBL and not table:
        raise ValueError("a lookup rule needs table=")
    if fwmask is not None and fwmark is None:
        raise ValueError("fwmask needs fwmark")
    if priority is not None:
        _u32("priority", priority)
    if fwmark is not None:
        _u32("fwmark", fwmark)
    if fwmask is not None:
        _u32("fwmask", fwmask)
    if iif is not None:
        check_ifname(iif)
    if oif is not None:
        check_ifname(oif)
    return requests.rule(
        mtype,
        fam,
        action=action,
        priority=priority,
        src=None if src is None else src.network_address.packed,
        src_len=0 if src is None else src.prefixlen,
        dst=None if dst is None else dst.network_address.packed,
        dst_len=0 if dst is None else dst.prefixlen,
        fwmark=fwmark,
        fwmask=fwmask,
        iifname=iif,
        oifname=oif,
        table=table or 0,
        rule_flags=FIB_RULE_INVERT if invert else 0,
        flags=flags,
    )


def new_rule(**kw: Any) -> Message:
    """``RTM_NEWRULE`` (``NLM_F_CREATE|NLM_F_EXCL``, as ``ip rule add``)."""
    return rule_message(RtmType.NEWRULE, flags=NlmF.CREATE | NlmF.EXCL, **kw)


def del_rule(**kw: Any) -> Message:
    """``RTM_DELRULE``: the kernel deletes the first rule matching every field given."""
    return rule_message(RtmType.DELRULE, **kw)


dump_rules = requests.dump_rules


def _family(version: int) -> AddrFamily:
    return AddrFamily.INET if version == 4 else AddrFamily.INET6
