"""DHCP leases per second: our client against busybox ``udhcpc``, same LAN, same server.

A throw-away "router" namespace runs dnsmasq (``--no-ping``, so the server adds no
wait of its own) on one end of a veth pair; the other end is the macvlan parent in a
"host" namespace; one "container" namespace holds a macvlan ``eth0`` on it.

- ours: :func:`macvlan.network.dhcp.transport.acquire` in this process, DISCOVER to
  ACK over a packet socket opened inside the container namespace, no ARP probe;
- theirs: ``ip netns exec C busybox udhcpc -i eth0 -n -q -s /bin/true`` (a process
  per lease, as a runtime's hook would start one; it does no ARP probe either);
- also shown: a whole ``Network.attach`` with DHCP (link, lease, the 0.3 s ARP probe,
  address, route, store) and ``detach`` (with its DHCPRELEASE).

Rounds alternate so drift hits both alike.  Usage: python benchmarks/bench_dhcp.py
[rounds] (default 5; needs root, dnsmasq and busybox).  Last line:
RATIOS lease_vs_udhcpc=X (leases per second, ours divided by udhcpc's).
"""

from __future__ import annotations

import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from macvlan import MacAddress, Namespace, connect  # noqa: E402
from macvlan.network import Network  # noqa: E402
from macvlan.network.dhcp.client import Client  # noqa: E402
from macvlan.network.dhcp.transport import acquire  # noqa: E402

PER_ROUND = 20


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for program in ("dnsmasq", "busybox"):
        if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
            sys.exit(f"{program} is not installed")
    tag = f"{int(time.time()) % 100000}"
    names = [f"mvbd-{tag}-{x}" for x in ("h", "r", "c", "a")]
    made = [Namespace.create(n) for n in names]
    host, router, box, spare = made
    tmp = Path(tempfile.mkdtemp(prefix="bench-dhcp-"))
    server = None
    try:
        with connect(host) as rt:
            rt.create_veth("p0", "lan0", peer_netns=router, up=True)
            rt.create_macvlan("eth0", "p0", mac="02:77:00:00:00:01", netns=box, up=False)
        with connect(router) as rt:
            rt.set_link("lo", up=True)
            rt.add_address("lan0", "10.77.0.1/24")
            rt.set_link("lan0", up=True)
        with connect(box) as rt:
            rt.set_link("eth0", up=True)
        dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        server = subprocess.Popen(
            ["ip", "netns", "exec", names[1], dnsmasq, "--keep-in-foreground",
             "--conf-file=/dev/null", "--port=0", "--interface=lan0", "--bind-interfaces",
             "--dhcp-range=10.77.0.50,10.77.0.250,255.255.255.0,1h", "--dhcp-authoritative",
             "--no-ping", "--user=root", f"--dhcp-leasefile={tmp}/leases",
             f"--pid-file={tmp}/pid", "--log-facility=/dev/null"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        mac = MacAddress("02:77:00:00:00:01")
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(PER_ROUND):
                acquire(box, "eth0", Client(mac, b"\x01" + mac.packed), timeout=5, probe_time=0)
            ours.append(PER_ROUND / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for _ in range(PER_ROUND):
                subprocess.run(
                    ["ip", "netns", "exec", names[2], "busybox", "udhcpc", "-i", "eth0", "-n",
                     "-q", "-s", "/bin/true", "-t", "5", "-T", "1"],
                    check=True, capture_output=True,
                )  # fmt: skip
            theirs.append(PER_ROUND / (time.perf_counter() - t0))
        net = Network.create("bench", parent="p0", ipam="dhcp", netns=host, store=tmp / "s.db")
        attach_ms: list[float] = []
        detach_ms: list[float] = []
        with net:
            for _ in range(rounds * 2):
                t0 = time.perf_counter()
                ep = net.attach(spare)
                attach_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                net.detach(ep)
                detach_ms.append((time.perf_counter() - t0) * 1000)
            net.remove()
        med_ours, med_theirs = statistics.median(ours), statistics.median(theirs)
        print(f"leases/s, ours (in-process, DISCOVER..ACK): median {med_ours:.0f} "
              f"(runs: {', '.join(f'{x:.0f}' for x in ours)})")  # fmt: skip
        print(f"leases/s, busybox udhcpc (a process each):  median {med_theirs:.0f} "
              f"(runs: {', '.join(f'{x:.0f}' for x in theirs)})")  # fmt: skip
        print(f"Network.attach with DHCP (link, lease, 0.3 s ARP probe, address, route, "
              f"store): median {statistics.median(attach_ms):.0f} ms "
              f"(min {min(attach_ms):.0f}, max {max(attach_ms):.0f})")  # fmt: skip
        print(f"Network.detach with DHCPRELEASE: median {statistics.median(detach_ms):.0f} ms")
        print(f"RATIOS lease_vs_udhcpc={med_ours / med_theirs:.2f}")
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(5)
        for ns in made:
            ns.delete(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
