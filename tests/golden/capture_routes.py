#!/usr/bin/env python3
"""Capture iproute2's route, rule, neighbour and link-property requests (issue 18).

The same machinery as ``capture.py`` (strace around ``ip -n NS ...`` inside a
throw-away namespace), for the request kinds added after the first capture:
``ip route replace``, ``ip route add ... onlink``, multipath and typed routes,
metric-aware deletes, ``ip rule add/del``, ``ip neigh add/replace/del``,
``ip link set ... alias/promisc/allmulti/txqueuelen``, ``ip link property add/del
altname``, ``ip -s link show`` (statistics) and some kernel refusals.  Writes
``cases_routes.json`` and ``dumps_routes.json`` plus the dump files beside it; the
first capture's files are not touched.  Needs root, strace and iproute2.

    python tests/golden/capture_routes.py
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture import (
    HERE,
    Capturer,
    Trace,
    can_capture,
    run,
    save_dump,
    tool_versions,
    veth_namespace,
    write_json,
)

EMPTY = "''"  # stands for an empty argument (`alias ""`) in a case's command string


class RouteCapturer(Capturer):
    """A Capturer whose commands may hold an empty argument."""

    def trace(self, ns: str, args: list[str]) -> Trace:
        return super().trace(ns, ["" if a == EMPTY else a for a in args])


# name, ip arguments, notes; all run in NS on mv0 (bridge macvlan on p0, 10.9.0.2/24, up)
CASES: list[tuple[str, str, str]] = [
    ("route_replace", "route replace default via 10.9.0.1 dev mv0",
     "RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE (no EXCL)."),
    ("route_add_metric", "route add default via 10.9.0.3 dev mv0 metric 100",
     "A second default route with RTA_PRIORITY 100."),
    ("route_add_onlink", "route add 10.70.0.0/16 via 192.168.77.1 dev mv0 onlink",
     "RTNH_F_ONLINK (4) in rtm_flags; the gateway is outside every connected prefix."),
    ("route_add_multipath",
     "route add 10.50.0.0/16 nexthop via 10.9.0.1 dev mv0 weight 2 nexthop via 10.9.0.5 dev mv0",
     "RTA_MULTIPATH: two rtnexthop records (rtnh_hops = weight - 1) with RTA_GATEWAY inside."),
    ("route_add_multipath_ipv6",
     "-6 route add fd00:50::/64 nexthop via fd00::1 dev mv0 nexthop via fd00::5 dev mv0 weight 3",
     "IPv6 multipath, also as RTA_MULTIPATH."),
    ("route_add_blackhole", "route add blackhole 198.51.100.0/24", "rtm_type 6, no next hop."),
    ("route_add_unreachable", "route add unreachable 198.51.101.0/24", "rtm_type 7."),
    ("route_add_prohibit", "route add prohibit 198.51.102.0/24 table 1000",
     "rtm_type 8, in table 1000 (rtm_table 0 and RTA_TABLE)."),
    ("route_del_metric", "route del default via 10.9.0.3 dev mv0 metric 100",
     "RTM_DELROUTE of the metric-100 default route only (scope NOWHERE, protocol 0)."),
    ("route_del_blackhole", "route del blackhole 198.51.100.0/24", "RTM_DELROUTE with rtm_type 6."),
    ("rule_add_from", "rule add from 10.9.0.0/24 table 100 priority 1000",
     "RTM_NEWRULE: fib_rule_hdr src_len 24, table 100, action FR_ACT_TO_TBL; FRA_SRC, "
     "FRA_PRIORITY."),
    ("rule_add_fwmark_iif", "rule add fwmark 5 iif mv0 table 1000 priority 1001",
     "FRA_FWMARK, FRA_IIFNAME, table 1000 as FRA_TABLE."),
    ("rule_add_to_oif", "rule add to 10.8.0.0/16 oif mv0 lookup 200 priority 1002",
     "FRA_DST with dst_len 16, FRA_OIFNAME."),
    ("rule_add_blackhole", "rule add from 10.10.0.0/16 blackhole priority 1003",
     "action FR_ACT_BLACKHOLE (6), no table."),
    ("rule_add_ipv6", "-6 rule add from fd00::/64 table 100 priority 1004", "AF_INET6 rule."),
    ("rule_del_from", "rule del from 10.9.0.0/24 table 100 priority 1000", "RTM_DELRULE."),
    ("neigh_add", "neigh add 10.9.0.7 lladdr 02:00:00:00:00:07 dev mv0 nud permanent",
     "RTM_NEWNEIGH CREATE|EXCL, ndm_state NUD_PERMANENT, NDA_DST and NDA_LLADDR."),
    ("neigh_replace", "neigh replace 10.9.0.7 lladdr 02:00:00:00:00:08 dev mv0 nud permanent",
     "RTM_NEWNEIGH CREATE|REPLACE."),
    ("neigh_add_ipv6", "neigh add fd00::7 lladdr 02:00:00:00:00:09 dev mv0 nud permanent",
     "An NDP entry (AF_INET6)."),
    ("neigh_del", "neigh del 10.9.0.7 dev mv0", "RTM_DELNEIGH with NDA_DST."),
    ("link_set_alias", "link set mv0 alias hello-mv0", "IFLA_IFALIAS (ip sends it without NUL)."),
    ("link_set_alias_empty", f"link set mv0 alias {EMPTY}",
     "IFLA_IFALIAS with an empty payload: removes the alias."),
    ("link_set_promisc_on", "link set mv0 promisc on", "IFF_PROMISC in ifi_flags and ifi_change."),
    ("link_set_promisc_off", "link set mv0 promisc off", "IFF_PROMISC in ifi_change only."),
    ("link_set_allmulti_on", "link set mv0 allmulticast on", "IFF_ALLMULTI set."),
    ("link_set_allmulti_off", "link set mv0 allmulticast off", "IFF_ALLMULTI cleared."),
    ("link_set_txqueuelen", "link set mv0 txqueuelen 800", "IFLA_TXQLEN after creation."),
    ("link_set_bcqueuelen", "link set mv0 type macvlan bcqueuelen 300",
     "IFLA_LINKINFO > IFLA_INFO_DATA > IFLA_MACVLAN_BC_QUEUE_LEN on an existing macvlan."),
    ("link_altname_add", "link property add dev mv0 altname mv0-a-much-longer-alternative-name",
     "RTM_NEWLINKPROP (108) with IFLA_PROP_LIST > IFLA_ALT_IFNAME."),
    ("show_altname", "-d link show dev mv0", "The link with IFLA_PROP_LIST in the reply."),
    ("link_altname_del", "link property del dev mv0 altname mv0-a-much-longer-alternative-name",
     "RTM_DELLINKPROP (109)."),
    ("show_stats", "-s link show dev mv0",
     "ip -s asks without RTEXT_FILTER_SKIP_STATS: the reply has IFLA_STATS64, IFLA_STATS "
     "and IFLA_CARRIER_CHANGES."),
]  # fmt: skip

ERRORS: list[tuple[str, str, str, int]] = [
    ("err_route_exists", "route add default via 10.9.0.1 dev mv0",
     "EEXIST: the replaced default route is there.", errno.EEXIST),
    ("err_route_invalid_gateway", "route add 10.71.0.0/16 via 192.168.77.1 dev mv0",
     "ENETUNREACH (no onlink, no route to the gateway), with extended-ack text.",
     errno.ENETUNREACH),
    ("err_neigh_del_missing", "neigh del 10.9.0.99 dev mv0", "ENOENT.", errno.ENOENT),
    ("err_rule_del_missing", "rule del priority 4242", "ENOENT.", errno.ENOENT),
]  # fmt: skip

SETUP = [
    "link add mv0 link p0 address 02:00:00:00:00:10 type macvlan mode bridge",
    "link set mv0 up",
    "addr add 10.9.0.2/24 dev mv0",
    "addr add fd00::2/64 dev mv0 nodad",
]


def main() -> int:
    if not can_capture("capture_routes.py"):
        return 2
    ns = f"mvg-{os.getpid()}-routes"
    workdir = Path(tempfile.mkdtemp(prefix="mvg-capture-"))
    cap = RouteCapturer(workdir)
    cap.aliases = {ns: "NS"}
    try:
        veth_namespace(ns)
        for command in SETUP:
            run("ip", "-n", ns, *command.split())
        for name, args, notes in CASES:
            cap.case(name, ns, args, notes)
        for name, args, notes, code in ERRORS:
            cap.case(name, ns, args, notes, expect="error", errno=code)
        run("ip", "-n", ns, "neigh", "add", "10.9.0.8", "lladdr", "02:00:00:00:00:0a",
            "dev", "mv0", "nud", "permanent")  # fmt: skip
        setup = "The namespace after every case in cases_routes.json, on " + "; ".join(
            f"ip {c}" for c in SETUP
        )
        dumps = [
            save_dump(cap, ns, "route show table all", "dump_routes_all.bin.gz", setup),
            save_dump(cap, ns, "neigh show", "dump_neighbours.bin.gz", setup),
            save_dump(cap, ns, "rule show", "dump_rules.bin.gz", setup),
            save_dump(cap, ns, "-6 rule show", "dump_rules_ipv6.bin.gz", setup),
        ]
        versions = tool_versions()
        write_json(HERE / "cases_routes.json", cap.cases)
        write_json(HERE / "dumps_routes.json", {"versions": versions, "dumps": dumps})
        print(f"{len(cap.cases)} cases, {len(dumps)} dumps written to {HERE}")
    finally:
        if (Path("/run/netns") / ns).exists():
            run("ip", "netns", "del", ns, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
