"""The command line for LAN-host endpoints, live: ``network create --ipam dhcp``,
``attach --client-id/--hostname/--sysctl``, leases in ``endpoints --json`` and
``network keep`` stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lanlab import Lan

pytestmark = [
    pytest.mark.live,
]
ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> Any:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "macvlan", "--json", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_dhcp_network_from_the_command_line(lan: Lan, netns_factory: Any) -> None:
    server = lan.dnsmasq()
    blue = netns_factory("mvle").name
    store = str(lan.tmp / "store.db")
    net = cli("-n", lan.host.name, "network", "create", "lan", "--parent", "p0",
              "--ipam", "dhcp", "--dhcp-timeout", "5", "--store", store)  # fmt: skip
    assert net["ipam"] == "dhcp" and net["subnets"] == []
    ep = cli("network", "attach", "lan", blue, "--store", store, "--client-id", "01:aa:bb:cc:dd:ee",
             "--hostname", "blue-cli", "--sysctl", "net.ipv4.conf.IFNAME.arp_ignore=1")  # fmt: skip
    lease = ep["lease"]
    assert lease["server"] == "10.77.0.1" and lease["lease_time"] == 120
    assert ep["addresses"] == [lease["address"]]
    line = server.wait_for(lambda: server.lease_for(ep["mac"]))
    assert line[3] == "blue-cli" and line[4] == "01:aa:bb:cc:dd:ee"
    with open(f"/run/netns/{blue}") as _:  # the namespace is there
        pass
    arp_ignore = subprocess.run(
        ["ip", "netns", "exec", blue, "cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert arp_ignore == "1"
    (listed,) = cli("network", "endpoints", "lan", "--store", store)
    assert listed["lease"] == lease
    text = subprocess.run(
        [sys.executable, "-m", "macvlan", "network", "endpoints", "lan", "--store", store],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"{lease['address']} leased from 10.77.0.1 until " in text
    keep = subprocess.Popen(
        [sys.executable, "-m", "macvlan", "network", "keep", "lan", "--store", store],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(1.5)
        assert keep.poll() is None  # it keeps running
        keep.send_signal(signal.SIGTERM)
        _, err = keep.communicate(timeout=10)
    finally:
        if keep.poll() is None:
            keep.kill()
            keep.wait()
    assert keep.returncode == 0, err
    cli("network", "detach", "lan", blue, "--store", store)
    assert server.wait_for(lambda: server.lease_for(ep["mac"]) is None)
