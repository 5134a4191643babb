#!/usr/bin/env python3
"""Regenerate the golden rtnetlink captures in this directory.

Runs iproute2's ``ip`` under ``strace`` inside throw-away network namespaces and
records the raw netlink bytes it sends and receives.  Needs root, ``strace`` and
``iproute2``.  Nothing here decodes netlink attributes: only the 16-byte message
headers are read, to check that the captured buffers are whole.

    python tests/golden/capture.py            # rewrite cases.json, dumps.json, *.bin.gz
    python tests/golden/capture.py --keep-traces DIR   # also keep the raw strace logs

This is a test-data tool, not library code.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HERE = Path(__file__).resolve().parent
TRACED_SYSCALLS = ("sendmsg", "recvmsg", "sendto", "recvfrom")
SEND_SYSCALLS = ("sendmsg", "sendto")
RTM_NEWLINK = 16

# Names for the message types we expect to see, used only in the human-readable
# header summaries ("request_messages"/"reply_messages").
MSG_TYPE_NAMES = {
    1: "NLMSG_NOOP",
    2: "NLMSG_ERROR",
    3: "NLMSG_DONE",
    16: "RTM_NEWLINK",
    17: "RTM_DELLINK",
    18: "RTM_GETLINK",
    19: "RTM_SETLINK",
    20: "RTM_NEWADDR",
    21: "RTM_DELADDR",
    22: "RTM_GETADDR",
    24: "RTM_NEWROUTE",
    25: "RTM_DELROUTE",
    26: "RTM_GETROUTE",
    80: "RTM_NEWNETCONF",
    82: "RTM_GETNETCONF",
    88: "RTM_NEWNSID",
    90: "RTM_GETNSID",
}

Expect = Literal["ok", "error", "refused"]


class CaptureError(RuntimeError):
    """The strace output or a command's result was not what the capture expects."""


# --------------------------------------------------------------------------- strace


@dataclass
class Syscall:
    """One traced syscall with the bytes strace hex-dumped for it."""

    name: str
    fd: int
    ret: int
    line: str
    data: bytearray = field(default_factory=bytearray)
    declared_buffers: list[int] = field(default_factory=list)
    buffer_offset: int = 0

    @property
    def label(self) -> str:
        return f"{self.name}({self.fd})"

    @property
    def is_peek(self) -> bool:
        flags = re.search(r", ([A-Z_|0-9x]+)\) = -?\d+", self.line)
        return flags is not None and "MSG_PEEK" in flags.group(1)


SYSCALL_RE = re.compile(
    r"^(?P<pid>\d+)\s+(?P<name>" + "|".join(TRACED_SYSCALLS) + r")\((?P<fd>\d+), "
    r"(?P<args>.*)\) = (?P<ret>-?\d+)(?: .*)?$"
)
BUFFER_RE = re.compile(r"^ \* (\d+) bytes in buffer (\d+)$")
HEXLINE_RE = re.compile(r"^ \| ([0-9a-f]{5,})  (.*)$")


def parse_strace(text: str) -> list[Syscall]:
    """Parse `strace -xx -e read=all -e write=all` output into syscalls with data.

    strace decodes netlink messages symbolically in the syscall line, so the raw
    bytes are taken from the hex dump strace prints after the line (one
    `* N bytes in buffer K` header per iovec for sendmsg/recvmsg, a bare dump for
    sendto/recvfrom).
    """
    calls: list[Syscall] = []
    current: Syscall | None = None
    for line in text.splitlines():
        if not line:
            continue
        if "unfinished ..." in line or "resumed>" in line:
            raise CaptureError(f"interleaved syscall in strace output: {line[:200]}")
        m = SYSCALL_RE.match(line)
        if m:
            current = Syscall(m["name"], int(m["fd"]), int(m["ret"]), line)
            calls.append(current)
            continue
        m = BUFFER_RE.match(line)
        if m:
            if current is None:
                raise CaptureError(f"buffer header before any syscall: {line}")
            current.declared_buffers.append(int(m[1]))
            current.buffer_offset = 0
            continue
        m = HEXLINE_RE.match(line)
        if m:
            if current is None:
                raise CaptureError(f"hex dump before any syscall: {line}")
            offset = int(m[1], 16)
            if offset != current.buffer_offset:
                raise CaptureError(
                    f"hex dump offset {offset:#x} != expected {current.buffer_offset:#x} "
                    f"in {current.label}"
                )
            hex_area = m[2][:49]  # 16 x "xx " with one extra space after the 8th
            chunk = bytes(int(tok, 16) for tok in hex_area.split())
            if not 0 < len(chunk) <= 16:
                raise CaptureError(f"bad hex dump line: {line}")
            current.data += chunk
            current.buffer_offset += len(chunk)
            continue
        if line.split(None, 1)[-1].startswith(("+++", "---")):
            current = None
            continue
        if re.match(r"^\d+\s+\w+\(", line):
            raise CaptureError(f"unexpected syscall line (not traced?): {line[:200]}")
        raise CaptureError(f"unrecognised strace line: {line[:200]}")
    for call in calls:
        check_syscall(call)
    return calls


def check_syscall(call: Syscall) -> None:
    """The dumped bytes must match what the syscall reports and strace decoded."""
    n = len(call.data)
    if call.ret < 0:
        if n:
            raise CaptureError(f"{call.label} failed but has data: {call.line[:200]}")
        return
    if call.declared_buffers and sum(call.declared_buffers) != n:
        raise CaptureError(f"{call.label}: buffers declare {call.declared_buffers}, got {n}")
    if call.name in SEND_SYSCALLS:
        if n != call.ret:
            raise CaptureError(f"{call.label} returned {call.ret} but {n} bytes dumped")
        if call.name == "sendmsg":
            iov_lens = [int(x) for x in re.findall(r"iov_len=(\d+)", call.line)]
            if sum(iov_lens) != n:
                raise CaptureError(f"sendmsg iov_len {iov_lens} != {n} dumped bytes")
        else:
            m = re.search(r", (\d+), [^,]+, [^,]+, \d+\) = ", call.line)
            if m is None or int(m[1]) != n:
                raise CaptureError(f"sendto length argument != {n}: {call.line[-120:]}")
    elif call.is_peek:
        return  # a MSG_PEEK|MSG_TRUNC size probe with an empty iovec
    else:
        if n != call.ret:
            raise CaptureError(f"{call.label} returned {call.ret} but {n} bytes dumped")
        capacity = [int(x) for x in re.findall(r"iov_len=(\d+)", call.line)]
        if capacity and n > sum(capacity):
            raise CaptureError(f"{call.label}: {n} bytes exceed iov_len {capacity}")
    if n:
        first_len = re.search(r"nlmsg_len=(\d+)", call.line)
        if first_len and int(first_len[1]) != struct.unpack_from("<I", call.data)[0]:
            raise CaptureError(f"{call.label}: strace's nlmsg_len differs from the bytes")


# ------------------------------------------------------------------ message headers


def split_headers(buf: bytes, *, zero_tail: bool = False) -> list[tuple[int, int, int, int]]:
    """(length, type, flags, seq) of each message; checks the lengths tile `buf`.

    With `zero_tail`, all-zero bytes after the last message are allowed: ip's dump
    requests are sent with sendto(sizeof(struct)), a short message followed by unused
    zeroed attribute space, which the kernel ignores (nlmsg_len 0 < NLMSG_HDRLEN).
    """
    out = []
    off = 0
    while off < len(buf):
        if zero_tail and out and not any(buf[off:]):
            return out
        if len(buf) - off < 16:
            raise CaptureError(f"{len(buf) - off} trailing bytes after messages at {off}")
        length, mtype, flags, seq = struct.unpack_from("<IHHI", buf, off)
        if length < 16 or off + length > len(buf):
            raise CaptureError(f"nlmsg_len {length} at offset {off} of {len(buf)}-byte buffer")
        out.append((length, mtype, flags, seq))
        off += (length + 3) & ~3
    if off != len(buf) and off != (len(buf) + 3) & ~3:
        raise CaptureError(f"messages end at {off}, buffer has {len(buf)} bytes")
    return out


def describe(buf: bytes, *, zero_tail: bool = False) -> list[str]:
    """One short line per message: type name, length, flags, error code if any."""
    lines = []
    off = 0
    for length, mtype, flags, _seq in split_headers(buf, zero_tail=zero_tail):
        text = f"{MSG_TYPE_NAMES.get(mtype, str(mtype))} len={length} flags={flags:#06x}"
        if mtype in (2, 3) and length >= 20:
            (code,) = struct.unpack_from("<i", buf, off + 16)
            text += f" error={code}" if mtype == 2 else f" status={code}"
        lines.append(text)
        off += (length + 3) & ~3
    if off < len(buf):
        lines.append(f"+{len(buf) - off} zero bytes after the last message (ignored)")
    return lines


# ------------------------------------------------------------------------- running


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run an untraced helper command."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    if check and proc.returncode != 0:
        raise CaptureError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


@dataclass
class Trace:
    """Everything one traced `ip` run sent and received."""

    argv: list[str]
    returncode: int
    stderr: str
    requests: list[Syscall]
    replies: list[Syscall]

    @property
    def newlink_index(self) -> int | None:
        """Index of the last RTM_NEWLINK sent with sendmsg (the sendto one is ip's probe)."""
        found = None
        for i, call in enumerate(self.requests):
            (mtype,) = struct.unpack_from("<H", call.data, 4)
            if call.name == "sendmsg" and mtype == RTM_NEWLINK:
                found = i
        return found


class Capturer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.counter = 0
        self.aliases: dict[str, str] = {}  # real namespace name -> placeholder
        self.cases: list[dict[str, object]] = []
        self.refused: list[str] = []

    def trace(self, ns: str, args: list[str]) -> Trace:
        self.counter += 1
        log = self.workdir / f"{self.counter:03d}.strace"
        argv = ["ip", "-n", ns, *args]
        cmd = [
            "strace", "-f",
            "-e", "trace=" + ",".join(TRACED_SYSCALLS),
            "-e", "read=all", "-e", "write=all",
            "-xx", "-s", "1000000",
            "-o", str(log),
            *argv,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        calls = parse_strace(log.read_text())
        failed_sends = [c for c in calls if c.name in SEND_SYSCALLS and c.ret < 0]
        if failed_sends:
            raise CaptureError(f"a send failed: {failed_sends[0].line[:200]}")
        requests = [c for c in calls if c.name in SEND_SYSCALLS]
        replies = [c for c in calls if c.name not in SEND_SYSCALLS and not c.is_peek and c.ret > 0]
        for call in requests:
            split_headers(bytes(call.data), zero_tail=True)
        for call in replies:
            split_headers(bytes(call.data))
        return Trace(argv, proc.returncode, proc.stderr, requests, replies)

    def public(self, text: str) -> str:
        for real, alias in self.aliases.items():
            text = text.replace(real, alias)
        return text

    def case(
        self,
        name: str,
        ns: str,
        args: str,
        notes: str,
        *,
        expect: Expect = "ok",
        errno: int | None = None,
    ) -> Trace:
        t = self.trace(ns, args.split())
        if expect == "ok" and t.returncode != 0:
            raise CaptureError(f"{name}: ip failed: {t.stderr.strip()}")
        if expect == "error":
            if t.returncode == 0:
                raise CaptureError(f"{name}: expected a kernel error, ip succeeded")
            errors = [
                line
                for r in t.replies
                for line in describe(bytes(r.data))
                if line.startswith("NLMSG_ERROR") and "error=0" not in line
            ]
            if not errors:
                raise CaptureError(f"{name}: no NLMSG_ERROR with an error code in the replies")
            if errno is not None and f"error=-{errno}" not in errors[-1]:
                raise CaptureError(f"{name}: expected errno {errno}, last error is {errors[-1]}")
        if expect == "refused":
            if t.returncode == 0:
                raise CaptureError(f"{name}: expected ip to refuse the command, it succeeded")
            self.refused.append(f"ip {args}: {t.stderr.strip().splitlines()[0]}")
        self.cases.append(
            {
                "name": name,
                "command": "ip " + self.public(args),
                "netns": self.public(ns),
                "exit_status": t.returncode,
                "stderr": self.public(t.stderr.strip()),
                "requests": [bytes(c.data).hex() for c in t.requests],
                "newlink_request_index": t.newlink_index,
                "replies": [bytes(c.data).hex() for c in t.replies],
                "request_syscalls": [c.label for c in t.requests],
                "reply_syscalls": [c.label for c in t.replies],
                "request_messages": [describe(bytes(c.data), zero_tail=True) for c in t.requests],
                "reply_messages": [describe(bytes(c.data)) for c in t.replies],
                "notes": notes,
            }
        )
        return t


# --------------------------------------------------------------------------- cases

PROBE_NOTE = (
    "ip first probes with an empty RTM_NEWLINK via sendto (NLM_F_REQUEST|NLM_F_ACK, "
    "ifindex 0; the kernel answers ENODEV), then resolves the parent name with an "
    "RTM_GETLINK on a second socket, then sends the real RTM_NEWLINK "
    "(flags REQUEST|ACK|EXCL|CREATE) whose answer is a capped ACK (NLMSG_ERROR, error 0)."
)
SHOW_NOTE = (
    "ip -d link show dev X: after its probe, ip resolves the name on its second socket, "
    "then sends RTM_GETLINK on the main socket (fd 3) with the ifindex, IFLA_IFNAME and "
    "IFLA_EXT_MASK=1 (RTEXT_FILTER_VF). The reply of interest is the RTM_NEWLINK on fd 3 "
    "with the full attribute set (IFLA_LINKINFO with IFLA_INFO_KIND/IFLA_INFO_DATA for "
    "macvlan); a later RTM_GETLINK on the second socket looks up the parent's name for "
    "'mv0@p0'. ifindex, MACs, seq and port ids vary by run."
)

# name, extra `ip link add` arguments, notes (each is followed by `ip -d link show`)
CREATE_VARIANTS: list[tuple[str, str, str]] = [
    (
        "macvlan_default",
        "type macvlan",
        "No mode given: no IFLA_INFO_DATA is sent; the "
        "kernel default is vepa (MACVLAN_MODE_VEPA=2), visible in the show reply.",
    ),
    ("macvlan_bridge", "type macvlan mode bridge", "IFLA_MACVLAN_MODE=4 (bridge)."),
    ("macvlan_private", "type macvlan mode private", "IFLA_MACVLAN_MODE=1 (private)."),
    ("macvlan_vepa", "type macvlan mode vepa", "IFLA_MACVLAN_MODE=2 (vepa)."),
    (
        "macvlan_passthru",
        "type macvlan mode passthru",
        "IFLA_MACVLAN_MODE=8 (passthru); "
        "the macvlan takes the parent's MAC (p0 = 02:00:00:00:aa:00).",
    ),
    (
        "macvlan_source",
        "type macvlan mode source",
        "IFLA_MACVLAN_MODE=16 (source), no allowed source MACs yet.",
    ),
    (
        "macvlan_source_macaddr_add",
        "type macvlan mode source macaddr add 02:00:00:00:00:01",
        "Source mode at create time with one source MAC: IFLA_MACVLAN_MACADDR_MODE=0 (ADD) "
        "and IFLA_MACVLAN_MACADDR. Show reply carries IFLA_MACVLAN_MACADDR_COUNT and "
        "IFLA_MACVLAN_MACADDR_DATA.",
    ),
    (
        "macvlan_source_macaddr_set",
        "type macvlan mode source macaddr set 02:00:00:00:00:01 02:00:00:00:00:02",
        "Source mode with MACADDR_MODE=3 (SET) and a nested IFLA_MACVLAN_MACADDR_DATA list "
        "of two IFLA_MACVLAN_MACADDR.",
    ),
    (
        "macvlan_source_nodst",
        "type macvlan mode source nodst",
        "Source mode with IFLA_MACVLAN_FLAGS=2 (MACVLAN_FLAG_NODST).",
    ),
    (
        "macvlan_passthru_nopromisc",
        "type macvlan mode passthru nopromisc",
        "Passthru with IFLA_MACVLAN_FLAGS=1 (MACVLAN_FLAG_NOPROMISC).",
    ),
    (
        "macvlan_bridge_address",
        "address 02:11:22:33:44:55 type macvlan mode bridge",
        "IFLA_ADDRESS 02:11:22:33:44:55 set in the creating RTM_NEWLINK.",
    ),
    ("macvlan_bridge_mtu", "mtu 1400 type macvlan mode bridge", "IFLA_MTU=1400."),
    ("macvlan_bridge_txqueuelen", "txqueuelen 500 type macvlan mode bridge", "IFLA_TXQLEN=500."),
    (
        "macvlan_bridge_bcqueuelen",
        "type macvlan mode bridge bcqueuelen 2000",
        "IFLA_MACVLAN_BC_QUEUE_LEN=2000 (Linux 5.11+); the show reply also has "
        "IFLA_MACVLAN_BC_QUEUE_LEN_USED.",
    ),
    (
        "macvlan_bridge_up",
        "up type macvlan mode bridge",
        "Created up: IFF_UP in ifi_flags and ifi_change of the ifinfomsg.",
    ),
    (
        "macvtap_bridge",
        "type macvtap mode bridge",
        "IFLA_INFO_KIND 'macvtap'; same IFLA_MACVLAN_* numbers inside IFLA_INFO_DATA.",
    ),
    (
        "macvtap_vepa_address",
        "address 02:11:22:33:44:66 type macvtap mode vepa",
        "macvtap, mode vepa, IFLA_ADDRESS 02:11:22:33:44:66.",
    ),
]


def build_cases(cap: Capturer, ns: str, other: str) -> None:
    def add(name: str, extra: str, notes: str, *, show: bool = True) -> None:
        cap.case(name, ns, f"link add mv0 link p0 {extra}", f"{notes} {PROBE_NOTE}")
        if show:
            cap.case(f"show_{name}", ns, "-d link show dev mv0", SHOW_NOTE)

    def delete(name: str = "mv0", where: str = ns) -> None:
        run("ip", "-n", where, "link", "del", name)

    for name, extra, notes in CREATE_VARIANTS:
        add(name, extra, notes)
        delete()

    cap.case(
        "macvlan_bridge_nopromisc",
        ns,
        "link add mv0 link p0 type macvlan mode bridge nopromisc",
        "REFUSED by ip 6.1 itself ('nopromisc flag only valid in passthru mode'): nothing "
        "but ip's RTM_NEWLINK probe reaches the kernel, so there is no kernel answer for "
        "bridge+NOPROMISC here.",
        expect="refused",
    )
    cap.case(
        "macvlan_bridge_bccutoff",
        ns,
        "link add mv0 link p0 type macvlan mode bridge bccutoff 10",
        "REFUSED by ip 6.1: it has no 'bccutoff' keyword (IFLA_MACVLAN_BC_CUTOFF, Linux 6.4, "
        "is newer than iproute2 6.1).",
        expect="refused",
    )

    # Source-mode MAC list changes on an existing link.
    run("ip", "-n", ns, "link", "add", "mv0", "link", "p0", "type", "macvlan", "mode", "source")
    for op, macs, desc in [
        ("add", "02:00:00:00:00:03", "MACADDR_MODE=0 (ADD) + IFLA_MACVLAN_MACADDR"),
        ("del", "02:00:00:00:00:03", "MACADDR_MODE=1 (DEL) + IFLA_MACVLAN_MACADDR"),
        (
            "set",
            "02:00:00:00:00:0a 02:00:00:00:00:0b",
            "MACADDR_MODE=3 (SET) + nested IFLA_MACVLAN_MACADDR_DATA",
        ),
        ("flush", "", "MACADDR_MODE=2 (FLUSH), no address"),
    ]:
        cmd = f"link set mv0 type macvlan macaddr {op} {macs}".strip()
        cap.case(
            f"set_source_macaddr_{op}",
            ns,
            cmd,
            f"Changelink on a source-mode macvlan: RTM_NEWLINK without CREATE/EXCL, ifindex "
            f"set, IFLA_LINKINFO kind macvlan with {desc}. ip resolves mv0 by RTM_GETLINK first.",
        )
        cap.case(f"show_after_source_macaddr_{op}", ns, "-d link show dev mv0", SHOW_NOTE)
    delete()

    # Mode changes on an existing link.
    run("ip", "-n", ns, "link", "add", "mv0", "link", "p0", "type", "macvlan", "mode", "bridge")
    cap.case(
        "set_mode_private",
        ns,
        "link set mv0 type macvlan mode private",
        "Changelink bridge -> private: RTM_NEWLINK with IFLA_MACVLAN_MODE=1.",
    )
    cap.case("show_after_set_mode_private", ns, "-d link show dev mv0", SHOW_NOTE)
    cap.case(
        "err_set_mode_passthru",
        ns,
        "link set mv0 type macvlan mode passthru",
        "Error: a macvlan cannot be changed into passthru mode (EINVAL).",
        expect="error",
        errno=22,
    )
    cap.case(
        "err_link_exists",
        ns,
        "link add mv0 link p0 type macvlan mode bridge",
        "Error: mv0 already exists (EEXIST) on the CREATE|EXCL RTM_NEWLINK.",
        expect="error",
        errno=17,
    )
    delete()

    # Error replies.
    run("ip", "-n", ns, "link", "add", "mv0", "link", "p0", "type", "macvlan", "mode", "passthru")
    cap.case(
        "err_second_passthru",
        ns,
        "link add mv1 link p0 type macvlan mode passthru",
        "Error: only one passthru macvlan per lower device (EINVAL); mv0 is already a "
        "passthru on p0. No extended ack text; the whole request is echoed.",
        expect="error",
        errno=22,
    )
    delete()
    cap.case(
        "err_mtu_99999",
        ns,
        "link add mv0 link p0 mtu 99999 type macvlan mode bridge",
        "Error with extended ack: IFLA_MTU above the device maximum (EINVAL). The "
        "NLMSG_ERROR has NLM_F_ACK_TLVS (0x200), not NLM_F_CAPPED (ip does not set "
        "NETLINK_CAP_ACK, so the whole request is echoed), then NLMSGERR_ATTR_MSG "
        "'mtu greater than device maximum'.",
        expect="error",
        errno=22,
    )
    cap.case(
        "err_mtu_above_parent",
        ns,
        "link add mv0 link p0 mtu 1600 type macvlan mode bridge",
        "Error: macvlan MTU 1600 above the parent's 1500 (EINVAL, no extended ack text; "
        "the whole request is echoed).",
        expect="error",
        errno=22,
    )
    mv0 = "link add mv0 link p0 up address 02:00:00:00:00:77 type macvlan mode bridge"
    run("ip", "-n", ns, *mv0.split())
    cap.case(
        "err_duplicate_mac",
        ns,
        "link add mv1 link p0 up address 02:00:00:00:00:77 type macvlan mode bridge",
        "Error: a second macvlan on p0, created up, with the MAC of the up mv0 (EADDRINUSE). "
        "The kernel checks MAC clashes only when a macvlan opens: the same request without "
        "'up' succeeds, and bringing that link up later fails with EADDRINUSE.",
        expect="error",
        errno=98,
    )
    delete()
    cap.case(
        "err_del_missing",
        ns,
        "link del nonexist",
        "ip 6.1 resolves the name with RTM_GETLINK first; the kernel answers ENODEV and ip "
        "prints 'Cannot find device' without sending RTM_DELLINK. The error echoes the "
        "whole RTM_GETLINK.",
        expect="error",
        errno=19,
    )

    # Creation directly into another namespace, and moving one there.
    cap.case(
        "macvlan_bridge_netns",
        ns,
        f"link add mv0 link p0 netns {other} type macvlan mode bridge",
        f"Create directly in OTHERNS: ip opens /run/netns/OTHERNS and sends IFLA_NET_NS_FD "
        f"(the fd number is ip's). {PROBE_NOTE}",
    )
    cap.case(
        "show_macvlan_bridge_netns",
        other,
        "-d link show dev mv0",
        f"{SHOW_NOTE} Shown from OTHERNS: the reply carries IFLA_LINK_NETNSID (the parent "
        "lives in NS) and IFLA_LINK is an ifindex of NS. ip may also ask RTM_GETNSID.",
    )
    delete("mv0", other)
    run("ip", "-n", ns, "link", "add", "mv0", "link", "p0", "type", "macvlan", "mode", "bridge")
    cap.case(
        "set_netns",
        ns,
        f"link set mv0 netns {other}",
        "Move an existing macvlan to OTHERNS: RTM_NEWLINK with IFLA_NET_NS_FD.",
    )
    delete("mv0", other)

    # veth with peer info.
    cap.case(
        "veth_peer",
        ns,
        "link add va type veth peer name vb",
        "veth: IFLA_INFO_DATA holds VETH_INFO_PEER (1) whose payload is a struct ifinfomsg "
        "followed by the peer's attributes (IFLA_IFNAME vb).",
    )
    cap.case("show_veth_peer", ns, "-d link show dev va", SHOW_NOTE)
    delete("va")

    # Changes on a live macvlan, then addresses and routes.
    run("ip", "-n", ns, "link", "add", "mv0", "link", "p0", "type", "macvlan", "mode", "bridge")
    cap.case("set_mtu", ns, "link set mv0 mtu 1300", "RTM_NEWLINK with IFLA_MTU=1300.")
    cap.case(
        "set_address",
        ns,
        "link set mv0 address 02:00:00:00:00:42",
        "RTM_NEWLINK with IFLA_ADDRESS 02:00:00:00:00:42. ip first fetches the link by "
        "ifindex on the main socket (to learn the address length), so the RTM_NEWLINK is "
        "the fourth request.",
    )
    cap.case(
        "set_name",
        ns,
        "link set mv0 name mvx",
        "Rename: RTM_NEWLINK with ifindex and IFLA_IFNAME mvx.",
    )
    run("ip", "-n", ns, "link", "set", "mvx", "name", "mv0")
    cap.case(
        "set_up",
        ns,
        "link set mv0 up",
        "RTM_NEWLINK with IFF_UP in ifi_flags and ifi_change, no attributes.",
    )
    cap.case("show_macvlan_up", ns, "-d link show dev mv0", SHOW_NOTE)
    cap.case(
        "addr_add_ipv4",
        ns,
        "addr add 10.9.0.2/24 dev mv0",
        "RTM_NEWADDR AF_INET prefixlen 24 with IFA_LOCAL and IFA_ADDRESS 10.9.0.2.",
    )
    cap.case(
        "addr_add_ipv6",
        ns,
        "addr add fd00::2/64 dev mv0 nodad",
        "RTM_NEWADDR AF_INET6 prefixlen 64, IFA_F_NODAD (0x02) in ifa_flags (no IFA_FLAGS "
        "attribute), IFA_ADDRESS and IFA_LOCAL fd00::2.",
    )
    cap.case(
        "route_add_default",
        ns,
        "route add default via 10.9.0.1 dev mv0",
        "RTM_NEWROUTE AF_INET dst_len 0, rtm_table 254 (main, no RTA_TABLE), protocol 3 "
        "(boot), scope universe, type unicast, RTA_GATEWAY 10.9.0.1, RTA_OIF.",
    )
    cap.case(
        "show_addr_mv0",
        ns,
        "-d addr show dev mv0",
        "ip addr show dev X: RTM_GETLINK for the name, then an RTM_GETADDR dump; ends "
        "with NLMSG_DONE.",
    )
    cap.case("show_route", ns, "route show", "RTM_GETROUTE dump (AF_INET), ends with NLMSG_DONE.")
    cap.case(
        "show_route_ipv6",
        ns,
        "-6 route show",
        "RTM_GETROUTE dump (AF_INET6), ends with NLMSG_DONE.",
    )
    cap.case(
        "link_del",
        ns,
        "link del mv0",
        "RTM_DELLINK with only the ifindex (ip resolved mv0 first) for an up macvlan with "
        "addresses and a default route.",
    )


# --------------------------------------------------------------------------- dumps


def veth_namespace(ns: str) -> None:
    run("ip", "netns", "add", ns)
    veth = "link add p0 address 02:00:00:00:aa:00 type veth peer name p1 address 02:00:00:00:aa:01"
    run("ip", "-n", ns, *veth.split())
    for dev in ("lo", "p0", "p1"):
        run("ip", "-n", ns, "link", "set", dev, "up")


def save_dump(cap: Capturer, ns: str, args: str, filename: str, setup: str) -> dict[str, object]:
    t = cap.trace(ns, args.split())
    if t.returncode != 0:
        raise CaptureError(f"{args}: {t.stderr.strip()}")
    # Keep only the replies to the dump requests (NLM_F_DUMP = 0x300), matched by socket
    # and sequence number: ip's probe and its name lookups are answered too.
    dump_indexes = []
    dump_keys = set()
    for i, call in enumerate(t.requests):
        _l, _t, flags, seq = split_headers(bytes(call.data), zero_tail=True)[0]
        if flags & 0x300 == 0x300:
            dump_indexes.append(i)
            dump_keys.add((call.fd, seq))
    kept = []
    for call in t.replies:
        seqs = {h[3] for h in split_headers(bytes(call.data))}
        if any((call.fd, seq) in dump_keys for seq in seqs):
            if len(seqs) != 1:
                raise CaptureError(f"{filename}: a dump buffer mixes sequence numbers {seqs}")
            kept.append(call)
    payload = b"".join(bytes(c.data) for c in kept)
    headers = split_headers(payload)  # also checks the concatenation tiles exactly
    done = [h for h in headers if h[1] == 3]
    if headers[-1][1] != 3 or len(done) != len(dump_keys):
        raise CaptureError(f"{filename}: expected one NLMSG_DONE per dump, ending the file")
    if any(h[1] == 2 for h in headers):
        raise CaptureError(f"{filename}: a dump answered with NLMSG_ERROR")
    if any(flags & 0x10 for _l, _t, flags, _s in headers):
        raise CaptureError(f"{filename}: a dump was interrupted (NLM_F_DUMP_INTR)")
    with (
        (HERE / filename).open("wb") as raw,
        gzip.GzipFile(filename=filename.removesuffix(".gz"), mode="wb", fileobj=raw, mtime=0) as gz,
    ):
        gz.write(payload)
    types = Counter(MSG_TYPE_NAMES.get(h[1], str(h[1])) for h in headers)
    return {
        "file": filename,
        "command": "ip " + cap.public(args),
        "setup": setup,
        "requests": [bytes(c.data).hex() for c in t.requests],
        "request_syscalls": [c.label for c in t.requests],
        "request_messages": [describe(bytes(c.data), zero_tail=True) for c in t.requests],
        "dump_request_indexes": dump_indexes,
        "reply_syscalls": [c.label for c in kept],
        "reply_buffer_lengths": [len(c.data) for c in kept],
        "other_replies_left_out": [
            describe(bytes(c.data)) for c in t.replies if all(c is not k for k in kept)
        ],
        "bytes": len(payload),
        "messages": len(headers),
        "message_types": dict(sorted(types.items())),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }


def build_dumps(cap: Capturer, dump_ns: str, addr_ns: str) -> list[dict[str, object]]:
    veth_namespace(dump_ns)
    batch = cap.workdir / "links.batch"
    batch.write_text(
        "".join(f"link add mv{i} link p0 type macvlan mode bridge\n" for i in range(1000))
    )
    run("ip", "-n", dump_ns, "-batch", str(batch))
    dumps = [
        save_dump(
            cap,
            dump_ns,
            "-d link show",
            "dump_1000_links.bin.gz",
            "Namespace with lo, veth p0/p1 (up) and 1,000 bridge macvlans mv0..mv999 on p0 "
            "(created with ip -batch, down, random MACs).",
        )
    ]

    veth_namespace(addr_ns)
    commands = [
        "link add mv0 link p0 address 02:00:00:00:00:10 type macvlan mode bridge",
        "link add mv1 link p0 address 02:00:00:00:00:11 type macvlan mode private",
        "link set mv0 up",
        "link set mv1 up",
        "addr add 10.9.0.2/24 dev mv0",
        "addr add 10.9.1.2/24 brd + dev mv0 label mv0:1",
        "addr add fd00::2/64 dev mv0 nodad",
        "addr add fd00:1::2/64 dev mv0 nodad",
        "addr add 10.9.0.3/24 dev mv1",
        "addr add fd00::3/64 dev mv1 nodad",
        "route add default via 10.9.0.1 dev mv0",
        "route add 10.20.0.0/16 via 10.9.0.254 dev mv0 metric 100",
        "route add 192.0.2.0/24 dev mv1 scope link",
        "route add blackhole 198.51.100.0/24",
        "route add fd00:2::/64 via fd00::1 dev mv0",
        "route add default via fd00::1 dev mv0",
    ]
    for command in commands:
        run("ip", "-n", addr_ns, *command.split())
    setup = (
        "Namespace with lo, veth p0/p1 (up, 02:00:00:00:aa:00/01) and two macvlans on p0, "
        "set up with: " + "; ".join(f"ip {c}" for c in commands)
    )
    dumps.append(
        save_dump(
            cap,
            addr_ns,
            "-d addr show",
            "dump_addrs.bin.gz",
            setup
            + (
                ". ip addr show dumps links (RTM_GETLINK) and then addresses (RTM_GETADDR): the "
                "file holds both dumps in order, each ending with NLMSG_DONE."
            ),
        )
    )
    dumps.append(save_dump(cap, addr_ns, "route show", "dump_routes.bin.gz", setup))
    dumps.append(save_dump(cap, addr_ns, "-6 route show", "dump_routes_ipv6.bin.gz", setup))
    return dumps


# ---------------------------------------------------------------------------- main


def can_capture(script: str) -> bool:
    """Whether this process can capture (root, ip and strace); if not, says why."""
    if os.geteuid() != 0:
        print(f"{script} needs root (it creates network namespaces)", file=sys.stderr)
        return False
    for tool in ("ip", "strace"):
        if shutil.which(tool) is None:
            print(f"{script} needs {tool!r} on PATH", file=sys.stderr)
            return False
    return True


def tool_versions() -> dict[str, str]:
    """The versions of ip, strace and the kernel the captures are made with."""
    return {
        "ip": run("ip", "-V").stdout.strip(),
        "strace": run("strace", "-V").stdout.splitlines()[0].strip(),
        "kernel": platform.release(),
    }


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-traces", type=Path, help="copy the raw strace logs here")
    opts = parser.parse_args(argv)
    if not can_capture("capture.py"):
        return 2

    pid = os.getpid()
    ns, other = f"mvg-{pid}", f"mvg-{pid}-other"
    dump_ns, addr_ns = f"mvg-{pid}-dump", f"mvg-{pid}-addr"
    ours = [ns, other, dump_ns, addr_ns]
    workdir = Path(tempfile.mkdtemp(prefix="mvg-capture-"))
    cap = Capturer(workdir)
    # Longest names first so "mvg-1-other" is not half-replaced by "mvg-1".
    cap.aliases = {other: "OTHERNS", dump_ns: "NS", addr_ns: "NS", ns: "NS"}
    try:
        veth_namespace(ns)
        run("ip", "netns", "add", other)
        build_cases(cap, ns, other)
        dumps = build_dumps(cap, dump_ns, addr_ns)
        versions = tool_versions()
        write_json(HERE / "cases.json", cap.cases)
        write_json(HERE / "dumps.json", {"versions": versions, "dumps": dumps})
        write_json(HERE / "versions.json", {**versions, "refused_by_ip": cap.refused})
        print(f"{len(cap.cases)} cases, {len(dumps)} dumps written to {HERE}")
        for line in cap.refused:
            print(f"refused by ip: {line}")
    finally:
        for name in ours:
            if (Path("/run/netns") / name).exists():
                run("ip", "netns", "del", name, check=False)
        if opts.keep_traces:
            shutil.copytree(workdir, opts.keep_traces, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
