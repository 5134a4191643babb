"""``macvlan route|rule|neigh`` and ``link stats``/``link set`` extras, run as
``python -m macvlan`` in throw-away namespaces, with ``ip -j`` as the oracle."""

from __future__ import annotations

from typing import Any

from support import live
from test_cli import failed, ok, run


@live
def test_route_commands(sandbox: Any) -> None:
    ns = sandbox.name
    ok("-n", ns, "link", "add", "mv0", "--parent", "p0", "--up")
    sandbox.rt.add_address("mv0", "10.90.0.2/24")
    ok("-n", ns, "route", "add", "default", "--via", "10.90.0.1", "--dev", "mv0")
    assert "File exists" in failed(
        "-n", ns, "route", "add", "default", "--via", "10.90.0.9", status=1
    )
    ok("-n", ns, "route", "add", "default", "--via", "10.90.0.9", "--replace")
    ok("-n", ns, "route", "add", "default", "--via", "10.90.0.3", "--metric", "100")
    hop1, hop2 = "via=10.90.0.1,dev=mv0,weight=2", "via=10.90.0.5,dev=mv0"
    ok("-n", ns, "route", "add", "10.91.0.0/16", "--nexthop", hop1, "--nexthop", hop2)
    ok("-n", ns, "route", "add", "198.51.100.0/24", "--type", "blackhole")
    ok("-n", ns, "route", "add", "10.92.0.0/16", "--via", "192.168.92.1", "--dev", "mv0",
       "--onlink")  # fmt: skip
    ok("-n", ns, "route", "del", "default", "--metric", "100")
    ours = {r["dst"]: r for r in ok("-n", ns, "route", "list", "-4")}
    theirs = {r["dst"]: r for r in sandbox.ip("route", "show")}
    assert set(ours) == set(theirs)
    assert ours["default"]["gateway"] == theirs["default"]["gateway"] == "10.90.0.9"
    assert ours["198.51.100.0/24"]["type"] == theirs["198.51.100.0/24"]["type"] == "blackhole"
    assert ours["10.92.0.0/16"]["flags"] == theirs["10.92.0.0/16"]["flags"] == ["onlink"]
    hops = [(h["gateway"], h["dev"], h["weight"]) for h in ours["10.91.0.0/16"]["nexthops"]]
    assert hops == [
        (h["gateway"], h["dev"], h["weight"]) for h in theirs["10.91.0.0/16"]["nexthops"]
    ]
    text = run("-n", ns, "route", "list").stdout
    assert "10.91.0.0/16 nexthop via 10.90.0.1 dev mv0 weight 2" in text
    assert failed("-n", ns, "route", "add", "default", "--type", "nonsense", status=2)


@live
def test_rule_and_neigh_commands(sandbox: Any) -> None:
    ns = sandbox.name
    ok("-n", ns, "link", "add", "mv0", "--parent", "p0", "--up")
    ok("-n", ns, "rule", "add", "--priority", "100", "--table", "10", "--from", "10.90.0.0/24")
    ok("-n", ns, "rule", "add", "--priority", "101", "--fwmark", "0x5", "--iif", "mv0",
       "--table", "1000")  # fmt: skip
    ours = {r["priority"]: r for r in ok("-n", ns, "rule", "list", "-4")}
    theirs = {r["priority"]: r for r in sandbox.ip("rule", "show")}
    assert set(ours) == set(theirs)
    assert ours[100]["src"] == "10.90.0.0/24" and ours[101]["fwmark"] == theirs[101]["fwmark"]
    ok("-n", ns, "rule", "del", "--priority", "100")
    assert 100 not in {r["priority"] for r in sandbox.ip("rule", "show")}

    ok("-n", ns, "neigh", "add", "10.90.0.7", "--lladdr", "02:00:00:00:00:07", "--dev", "mv0")
    ok("-n", ns, "neigh", "add", "10.90.0.7", "--lladdr", "02:00:00:00:00:08", "--dev", "mv0",
       "--replace")  # fmt: skip
    (entry,) = [n for n in ok("-n", ns, "neigh", "list", "--dev", "mv0") if n["dst"] == "10.90.0.7"]
    (theirs_n,) = sandbox.ip("neigh", "show", "dev", "mv0")
    assert entry["lladdr"] == theirs_n["lladdr"] == "02:00:00:00:00:08"
    assert entry["state"] == theirs_n["state"] == ["PERMANENT"]
    assert ok("-n", ns, "neigh", "flush", "--dev", "mv0") == {"deleted": 0}
    assert ok("-n", ns, "neigh", "flush", "--dev", "mv0", "--permanent") == {"deleted": 1}
    assert sandbox.ip("neigh", "show", "dev", "mv0") == []


@live
def test_link_extras(sandbox: Any) -> None:
    ns = sandbox.name
    made = ok("-n", ns, "link", "add", "mv0", "--parent", "p0", "--mode", "source",
              "--source-mac", "02:00:00:00:00:01", "--source-mac", "02:00:00:00:00:02",
              "--bcqueuelen", "400", "--bc-cutoff", "3")  # fmt: skip
    assert made["macvlan"]["source_macs"] == ["02:00:00:00:00:01", "02:00:00:00:00:02"]
    assert made["macvlan"]["bc_cutoff"] == 3 and made["macvlan"]["bcqueuelen"] == 400
    (theirs,) = sandbox.ip("-d", "link", "show", "dev", "mv0")
    assert sorted(theirs["linkinfo"]["info_data"]["macaddr_data"]) == [
        "02:00:00:00:00:01",
        "02:00:00:00:00:02",
    ]
    data = ok("-n", ns, "link", "set", "mv0", "--alias", "lab uplink", "--promisc", "on",
              "--allmulti", "on", "--bcqueuelen", "600",
              "--add-altname", "mv0-lab-uplink-alt")  # fmt: skip
    (theirs,) = sandbox.ip("-d", "link", "show", "dev", "mv0")
    assert data["ifalias"] == theirs["ifalias"] == "lab uplink"
    assert data["promiscuity"] == theirs["promiscuity"] == 1
    assert data["allmulti"] == theirs["allmulti"] == 1
    assert data["altnames"] == theirs["altnames"] == ["mv0-lab-uplink-alt"]
    assert theirs["linkinfo"]["info_data"]["bcqueuelen"] == 600
    data = ok("-n", ns, "link", "set", "mv0", "--del-altname", "mv0-lab-uplink-alt")
    assert data["altnames"] == []
    stats = ok("-n", ns, "link", "stats", "p0")
    (theirs,) = sandbox.ip("-s", "link", "show", "dev", "p0")
    assert stats["name"] == "p0"
    assert stats["rx_packets"] <= theirs["stats64"]["rx"]["packets"]  # read just before
    assert stats["tx_bytes"] <= theirs["stats64"]["tx"]["bytes"]
    mac = sandbox.rt.link("mv0").mac
    (found,) = ok("-n", ns, "link", "list", "--mac", str(mac))
    assert found["ifname"] == "mv0"
