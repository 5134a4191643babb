"""The SQLite store: file safety, schema, transactions and concurrent allocation."""

from __future__ import annotations

import ipaddress
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from macvlan.mac import MacAddress
from macvlan.network.ipam import parse_subnets
from macvlan.network.store import (
    EndpointKind,
    EndpointState,
    NetworkRow,
    NsRef,
    Store,
    UnsafeStore,
    owner_alive,
    owner_token,
)

ROOT = Path(__file__).resolve().parents[2]
REF = NsRef("blue", "/run/netns/blue", 4, 4026532000)


def network_row(name: str = "lan", subnet: str = "10.20.0.0/24") -> NetworkRow:
    return NetworkRow(
        name=name,
        parent="p0",
        parent_key="4:1:p0",
        netns=None,
        mode=4,
        mtu=None,
        internal=False,
        subnets=parse_subnets(subnet, subnet.replace("0/24", "1")),
        link_group=1 << 30 | 5,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "state" / "networks.db")
    s.add_network(network_row())
    return s


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0)  # even a permissive umask must not widen them
    try:
        s = Store(tmp_path / "fresh" / "networks.db")
        s.add_network(network_row())
    finally:
        os.umask(old)
    assert mode(tmp_path / "fresh") == 0o700
    assert mode(s.path) == 0o600
    for suffix in ("-wal", "-shm"):
        if os.path.exists(s.path + suffix):
            assert mode(s.path + suffix) & 0o077 == 0
    s.close()


def test_wal_mode_and_schema(store: Store) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"networks", "endpoints", "allocations", "cursors", "vlans"} <= tables
    db.close()


def test_refuses_a_store_other_users_can_write(tmp_path: Path) -> None:
    path = tmp_path / "db"
    Store(path).close()
    os.chmod(path, 0o666)
    with pytest.raises(UnsafeStore, match="writable by other users"):
        Store(path)
    os.chmod(path, 0o600)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(UnsafeStore, match=r"directory .* is writable by other users"):
        Store(shared / "db")
    os.chmod(shared, 0o1777)  # sticky, like /tmp: others can still create <store>-wal first
    with pytest.raises(UnsafeStore, match=r"directory .* is writable by other users"):
        Store(shared / "db")


@pytest.mark.live  # needs root to give a file to another user
def test_refuses_a_store_owned_by_another_user(tmp_path: Path) -> None:
    path = tmp_path / "db"
    Store(path).close()
    os.chown(path, 65534, 65534)
    with pytest.raises(UnsafeStore, match="belongs to uid 65534"):
        Store(path)


def test_refuses_a_symbolic_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    Store(real).close()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UnsafeStore, match="symbolic link"):
        Store(tmp_path / "link")


def test_env_variable_names_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MACVLAN_STORE", str(tmp_path / "env.db"))
    with Store() as s:
        assert s.path == str(tmp_path / "env.db")
    assert (tmp_path / "env.db").exists()


def test_bad_path_is_refused_before_any_file_exists(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        Store("")


def test_network_round_trip(store: Store) -> None:
    row = store.network("lan")
    assert row == network_row()
    assert store.network("nope") is None
    store.add_network(network_row("wan", "10.21.0.0/24"))
    assert [n.name for n in store.networks()] == ["lan", "wan"]
    with pytest.raises(sqlite3.IntegrityError):
        store.add_network(network_row())


def test_endpoint_allocations_are_unique(store: Store) -> None:
    a = ipaddress.ip_address("10.20.0.2")
    mac = MacAddress("02:00:00:00:00:01")
    ep = store.add_endpoint("lan", EndpointKind.CONTAINER, REF, "eth0", mac, [(0, a)], "1:1")
    row = store.endpoint(ep)
    assert row is not None
    assert row.state is EndpointState.PENDING
    assert row.addresses == ((0, a),)
    assert row.netns == REF
    assert store.used_addresses("lan") == {0: {int(a)}}
    assert store.cursors("lan") == {0: int(a)}
    assert store.macs() == {int(mac)}
    with pytest.raises(sqlite3.IntegrityError):  # same address
        store.add_endpoint(
            "lan",
            EndpointKind.CONTAINER,
            REF,
            "eth1",
            MacAddress("02:00:00:00:00:02"),
            [(0, a)],
            None,
        )
    with pytest.raises(sqlite3.IntegrityError):  # same MAC
        store.add_endpoint(
            "lan",
            EndpointKind.CONTAINER,
            REF,
            "eth1",
            mac,
            [(0, ipaddress.ip_address("10.20.0.3"))],
            None,
        )
    # the failed inserts left nothing behind
    assert len(store.endpoints("lan")) == 1
    assert store.used_addresses("lan") == {0: {int(a)}}
    assert store.set_endpoint(ep, EndpointState.ACTIVE, None, ifindex=7)
    assert store.endpoint(ep).ifindex == 7  # type: ignore[union-attr]
    store.delete_endpoint(ep)
    assert store.used_addresses("lan") == {}
    assert store.macs() == set()
    assert not store.set_endpoint(ep, EndpointState.ACTIVE, None)


def test_removing_a_network_removes_its_rows(store: Store) -> None:
    a = ipaddress.ip_address("10.20.0.2")
    store.add_endpoint(
        "lan",
        EndpointKind.CONTAINER,
        REF,
        "eth0",
        MacAddress("02:00:00:00:00:01"),
        [(0, a)],
        None,
    )
    store.delete_network("lan")
    db = sqlite3.connect(store.path)
    for table in ("endpoints", "allocations", "cursors"):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    db.close()


def test_transactions_roll_back_and_nest(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.add_network(network_row("wan", "10.21.0.0/24"))
        with store.transaction():
            store.add_network(network_row("dmz", "10.22.0.0/24"))
        raise RuntimeError("boom")
    assert [n.name for n in store.networks()] == ["lan"]


def test_owner_tokens() -> None:
    token = owner_token()
    assert token.startswith(f"{os.getpid()}:")
    assert owner_alive(token)
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert not owner_alive(f"{child.stdout.strip()}:1")
    assert not owner_alive(f"{os.getpid()}:1")  # same pid, another start time
    assert not owner_alive(None)
    assert not owner_alive("garbage")


_ALLOCATE = """
import ipaddress, json, sys
sys.path.insert(0, {root!r})
from macvlan.network.store import Store, EndpointKind
from macvlan.network.ipam import plan
from macvlan.macalloc import MacAllocator
s = Store({path!r})
net = s.network("lan")
out = []
for i in range(10):
    with s.transaction():
        addrs = plan(net.subnets, {{}}, s.used_addresses("lan"), s.cursors("lan"))
        mac = MacAllocator(s.macs()).allocate()
        s.add_endpoint("lan", EndpointKind.CONTAINER, None, "eth0", mac,
                       sorted(addrs.items()), None)
    out.append([str(a) for a in addrs.values()] + [str(mac)])
print(json.dumps(out))
"""


def test_concurrent_processes_never_share_an_address(store: Store) -> None:
    script = _ALLOCATE.format(root=str(ROOT), path=store.path)
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        results += json.loads(out)
    addresses = [r[0] for r in results]
    macs = [r[1] for r in results]
    assert len(addresses) == 60
    assert len(set(addresses)) == 60
    assert len(set(macs)) == 60
    # and a new process sees all of it
    assert len(Store(store.path).endpoints("lan")) == 60
