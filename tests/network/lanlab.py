"""A throw-away LAN for the DHCP/RA/sysctl tests: a "host" namespace holding the
macvlan parent ``p0``, a "router" namespace holding its veth peer ``lan0`` with
10.77.0.1/24 and fd77::1/64, and real servers from Debian (dnsmasq, busybox
udhcpd, radvd) started there and stopped by their pid."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support import ip_json

ROUTER_IP = "10.77.0.1"
PREFIX6 = "fd77::"


def need(program: str) -> str:
    path = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/sbin/{program}") if os.path.exists(p)), None
    )
    if path is None:
        pytest.skip(f"{program} is not installed (.ci/run installs it)")
    return path


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    leases: Path | None
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def lease_lines(self) -> list[list[str]]:
        """dnsmasq's lease file: expiry, MAC, IP, hostname, client id."""
        assert self.leases is not None
        if not self.leases.exists():
            return []
        return [line.split() for line in self.leases.read_text().splitlines() if line.strip()]

    def lease_for(self, mac: object) -> list[str] | None:
        for line in self.lease_lines():
            if line[1] == str(mac):
                return line
        return None

    def wait_for(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:
        end = time.monotonic() + timeout
        while True:
            value = check()
            if value or time.monotonic() > end:
                return value
            time.sleep(0.05)


@dataclass
class Lan:
    host: Any  # Namespace holding the parent p0
    router: Any  # Namespace holding lan0
    tmp: Path
    servers: list[Server] = field(default_factory=list)

    @property
    def router_name(self) -> str:
        return str(self.router.name)

    def exec(self, *cmd: str, **kw: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["ip", "netns", "exec", self.router_name, *cmd], **kw)

    def dnsmasq(
        self,
        *extra: str,
        lease: str = "2m",
        range_: str = "10.77.0.50,10.77.0.150",
        ra: bool = False,
    ) -> Server:
        exe = need("dnsmasq")
        leases = self.tmp / f"dnsmasq-{len(self.servers)}.leases"
        log = self.tmp / f"dnsmasq-{len(self.servers)}.log"
        args = [
            exe,
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--port=0",
            "--interface=lan0",
            "--bind-interfaces",
            f"--dhcp-range={range_},255.255.255.0,{lease}",
            f"--dhcp-leasefile={leases}",
            "--dhcp-authoritative",
            "--no-ping",
            "--user=root",
            f"--pid-file={self.tmp}/dnsmasq.pid",
            f"--log-facility={log}",
            "--log-dhcp",
            *extra,
        ]
        if ra:
            args += ["--enable-ra", f"--dhcp-range={PREFIX6},ra-only,64", "--ra-param=lan0,4,600"]
        server = Server(
            self.exec(*args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), leases, log
        )
        self.servers.append(server)
        self._wait_listening(server, 67)
        return server

    def udhcpd(self, *, lease: int = 120, min_lease: int = 60, extra: str = "") -> Server:
        busybox = need("busybox")
        conf = self.tmp / f"udhcpd-{len(self.servers)}.conf"
        leases = self.tmp / f"udhcpd-{len(self.servers)}.leases"
        leases.touch()
        conf.write_text(
            "start 10.77.0.160\nend 10.77.0.200\ninterface lan0\n"
            f"lease_file {leases}\npidfile {self.tmp}/udhcpd.pid\nmin_lease {min_lease}\n"
            f"opt router {ROUTER_IP}\nopt dns {ROUTER_IP}\nopt subnet 255.255.255.0\n"
            f"opt lease {lease}\n{extra}"
        )
        log = self.tmp / "udhcpd.log"
        with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
            proc = self.exec(
                busybox, "udhcpd", "-f", str(conf), stdout=out, stderr=subprocess.STDOUT
            )
        server = Server(proc, None, log)
        self.servers.append(server)
        self._wait_listening(server, 67)
        return server

    def radvd(self) -> Server:
        exe = need("radvd")
        conf = self.tmp / "radvd.conf"
        conf.write_text(
            "interface lan0 {\n AdvSendAdvert on;\n MinRtrAdvInterval 3;\n MaxRtrAdvInterval 4;\n"
            " AdvDefaultLifetime 600;\n prefix fd77::/64 { AdvOnLink on; AdvAutonomous on; };\n};\n"
        )
        log = self.tmp / "radvd.log"
        proc = self.exec(
            exe,
            "-n",
            "-C",
            str(conf),
            "-p",
            str(self.tmp / "radvd.pid"),
            "-m",
            "logfile",
            "-l",
            str(log),
            "-u",
            "root",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        server = Server(proc, None, log)
        self.servers.append(server)
        time.sleep(0.3)
        return server

    def _wait_listening(self, server: Server, port: int) -> None:
        end = time.monotonic() + 5
        while time.monotonic() < end:
            if server.proc.poll() is not None:
                err = server.proc.stderr.read().decode() if server.proc.stderr else ""
                raise RuntimeError(
                    f"server exited: {err} {server.log.read_text() if server.log.exists() else ''}"
                )
            out = subprocess.run(
                ["ip", "netns", "exec", self.router_name, "ss", "-Hulpn", f"sport = :{port}"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            if out.strip():
                return
            time.sleep(0.05)
        raise RuntimeError(f"server not listening on {port}")

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


def make_lan(netns_factory: Callable[..., Any], tmp: Path) -> Lan:
    import macvlan

    host = netns_factory("mvlh")
    router = netns_factory("mvlr")
    with macvlan.connect(host) as rt:
        rt.create_veth("p0", "lan0", peer_netns=router, up=True)
    with macvlan.connect(router) as rt:
        rt.set_link("lo", up=True)
        rt.add_address("lan0", f"{ROUTER_IP}/24")
        rt.add_address("lan0", "fd77::1/64", nodad=True)
        rt.set_link("lan0", up=True)
    return Lan(host, router, tmp)


def v6_globals(ns: str, ifname: str) -> list[str]:
    out = ip_json("-6", "addr", "show", "dev", ifname, netns=ns)
    return [
        f"{a['local']}/{a['prefixlen']}"
        for a in out[0]["addr_info"]
        if a["scope"] == "global" and not a.get("tentative")
    ]
