"""Network state in one SQLite file: networks, endpoints and address allocations.

The file lives under ``/var/lib/macvlan/`` unless a path is given (or
``MACVLAN_STORE`` names one).  It is created ``0600`` in a ``0700`` directory, and a
file or directory another user could write is refused.  WAL mode lets readers run
beside one writer; allocations run in ``BEGIN IMMEDIATE`` transactions so several
processes never hand out one address or MAC twice (the schema also makes both
unique).  Rows carry the process that is changing them (``owner``) so that a later
process can tell an operation in progress from one whose process died.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
import time
from collections.abc import Iterator, Sequence

from macvlan._lazyre import LazyPattern
from macvlan._typing import TYPE_CHECKING
from macvlan.errors import StoreError, UnsafeStore
from macvlan.mac import MacAddress
from macvlan.network.ipam import IPAddress, Subnet
from macvlan.network.rows import (
    EndpointKind,
    EndpointRow,
    EndpointState,
    NetworkRow,
    NetworkState,
    NsRef,
    owner_alive,
    owner_token,
)

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DEFAULT_PATH",
    "EndpointKind",
    "EndpointRow",
    "EndpointState",
    "NetworkRow",
    "NetworkState",
    "NsRef",
    "Store",
    "StoreError",
    "UnsafeStore",
    "owner_alive",
    "owner_token",
]

DEFAULT_DIR = "/var/lib/macvlan"
DEFAULT_PATH = os.path.join(DEFAULT_DIR, "networks.db")
ENV_PATH = "MACVLAN_STORE"
_SCHEMA_VERSION = 2  # 2: the meta table with the store's random id
_BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS networks (
    name TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    parent_key TEXT NOT NULL,
    netns TEXT,
    mode INTEGER NOT NULL,
    mtu INTEGER,
    internal INTEGER NOT NULL,
    subnets TEXT NOT NULL,
    link_group INTEGER NOT NULL,
    state TEXT NOT NULL,
    owner TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS vlans (
    parent_key TEXT PRIMARY KEY,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    netns TEXT,
    ifname TEXT NOT NULL,
    ifindex INTEGER,
    mac TEXT NOT NULL UNIQUE,
    owner TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS endpoints_by_network ON endpoints(network);
CREATE TABLE IF NOT EXISTS allocations (
    network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,
    subnet INTEGER NOT NULL,
    address TEXT NOT NULL,
    endpoint INTEGER NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    PRIMARY KEY (network, address)
);
CREATE INDEX IF NOT EXISTS allocations_by_endpoint ON allocations(endpoint);
CREATE TABLE IF NOT EXISTS cursors (
    network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,
    subnet INTEGER NOT NULL,
    last TEXT NOT NULL,
    PRIMARY KEY (network, subnet)
);
"""


# -- address keys: fixed-width hex sorts like the numbers ------------------------------
def address_key(addr: IPAddress) -> str:
    return f"{int(addr):08x}" if addr.version == 4 else f"{int(addr):032x}"


def address_of(key: str) -> IPAddress:
    import ipaddress

    n = int(key, 16)
    return ipaddress.IPv4Address(n) if len(key) == 8 else ipaddress.IPv6Address(n)


# -- file safety ---------------------------------------------------------------------
def _check_dir(path: str) -> None:
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"store directory {path!r} is not a directory")
    if st.st_uid not in (os.geteuid(), 0):
        raise UnsafeStore(f"store directory {path!r} belongs to uid {st.st_uid}, not us or root")
    if st.st_mode & 0o022:
        # sticky or not: another user could create ``<store>-wal`` there first
        raise UnsafeStore(
            f"store directory {path!r} is writable by other users "
            f"(mode {stat.S_IMODE(st.st_mode):o}); use a private directory"
        )


def _check_file(path: str, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeStore(f"store {path!r} is a symbolic link; give the real path")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeStore(f"store {path!r} is not a regular file")
    if st.st_uid != os.geteuid():
        raise UnsafeStore(f"store {path!r} belongs to uid {st.st_uid}, not to us")
    if st.st_mode & 0o022:
        raise UnsafeStore(
            f"store {path!r} is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
        )


def _prepare(path: str) -> None:
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        with contextlib.suppress(FileExistsError):
            os.makedirs(directory, mode=0o700)
    _check_dir(directory)
    try:
        _check_file(path, os.lstat(path))  # before anything opens it read-write
        flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    except FileNotFoundError:
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeStore(f"store {path!r} is a symbolic link; give the real path") from None
        raise
    try:
        _check_file(path, os.fstat(fd))
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            _check_file(path + suffix, os.lstat(path + suffix))


@contextlib.contextmanager
def _corruption(path: str) -> Iterator[None]:
    """Turn SQLite's "not a database" / "malformed" errors into :class:`StoreError`."""
    import sqlite3  # loaded by Store() already

    try:
        yield
    except sqlite3.DatabaseError as exc:
        if type(exc) is not sqlite3.DatabaseError:  # IntegrityError, OperationalError, ...
            raise
        raise StoreError(f"store {path!r} is corrupted or not a store: {exc}") from exc


_ID = LazyPattern(r"^[0-9a-f]{16}$")


def store_path(path: str | os.PathLike[str] | None) -> str:
    """The store file to use: ``path``, else ``$MACVLAN_STORE``, else the default."""
    if path is None:
        return os.path.abspath(os.environ.get(ENV_PATH) or DEFAULT_PATH)
    text = os.fspath(path)
    if not isinstance(text, str) or not text or "\0" in text:
        raise ValueError(f"store path must be a non-empty str path, not {path!r}")
    return os.path.abspath(text)


class Store:
    """One SQLite file holding every network's state; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = store_path(path)
        _prepare(self.path)
        self._lock = threading.RLock()
        self._depth = 0
        self._users = 1
        import sqlite3  # here: some 4 ms, for programs that open a store

        db = sqlite3.connect(
            self.path,
            timeout=_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            with _corruption(self.path):
                db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                db.execute("PRAGMA foreign_keys = ON")
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > _SCHEMA_VERSION:
                    raise StoreError(
                        f"store {self.path!r} has schema {version}; this library knows "
                        f"{_SCHEMA_VERSION}"
                    )
                if version < _SCHEMA_VERSION:
                    made = os.urandom(8).hex()  # (as secrets.token_hex: secrets loads hashlib)
                    db.executescript(
                        f"BEGIN IMMEDIATE;{_SCHEMA}"
                        f"INSERT OR IGNORE INTO meta (key, value) VALUES ('id', '{made}');"
                        f"PRAGMA user_version = {_SCHEMA_VERSION};COMMIT;"
                    )
                row = db.execute("SELECT value FROM meta WHERE key = 'id'").fetchone()
                if row is None or not _ID.match(row[0]):
                    raise StoreError(f"store {self.path!r} has no valid id (meta table)")
        except BaseException:
            db.close()
            raise
        self.id: str = row[0]
        self._db = db

    def share(self) -> Store:
        """Count one more user of this store; each user calls :meth:`close` once."""
        with self._lock:
            self._users += 1
        return self

    def close(self) -> None:
        """Close the database connection once its last user has closed it."""
        with self._lock:
            self._users -= 1
            if self._users <= 0:
                self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<macvlan.Store {self.path!r}>"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error); nests."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with _corruption(self.path):
                self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self._db.execute("ROLLBACK")
                raise
            self._depth = 0
            self._db.execute("COMMIT")

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock, _corruption(self.path):
            return self._db.execute(sql, args).fetchall()

    def _run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        with self._lock, _corruption(self.path):
            return self._db.execute(sql, args).rowcount

    def _insert(self, sql: str, args: Sequence[Any]) -> int:
        """Run an INSERT; the new row's id."""
        with self._lock, _corruption(self.path):
            rowid = self._db.execute(sql, args).lastrowid
        assert rowid is not None
        return rowid

    # -- networks ----------------------------------------------------------------------
    def add_network(self, row: NetworkRow) -> None:
        """Insert a network's record (:class:`sqlite3.IntegrityError` if the name is taken)."""
        import json  # here: some 1.5 ms (with re), for programs that use a store

        self._run(
            "INSERT INTO networks (name, parent, parent_key, netns, mode, mtu, internal,"
            " subnets, link_group, state, owner, created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                row.name,
                row.parent,
                row.parent_key,
                None if row.netns is None else row.netns.to_json(),
                int(row.mode),
                row.mtu,
                int(row.internal),
                json.dumps([s.to_dict() for s in row.subnets]),
                row.link_group,
                row.state.value,
                row.owner,
                time.time(),
            ),
        )

    _NETWORK_COLUMNS = (
        "name, parent, parent_key, netns, mode, mtu, internal, subnets, link_group, state, owner"
    )

    @staticmethod
    def _network(r: Sequence[Any]) -> NetworkRow:
        import json  # loaded by the store already

        return NetworkRow(
            name=r[0],
            parent=r[1],
            parent_key=r[2],
            netns=NsRef.from_json(r[3]),
            mode=r[4],
            mtu=r[5],
            internal=bool(r[6]),
            subnets=tuple(Subnet.from_dict(s) for s in json.loads(r[7])),
            link_group=r[8],
            state=NetworkState(r[9]),
            owner=r[10],
        )

    def network(self, name: str) -> NetworkRow | None:
        """The record of that network, or None."""
        rows = self._all(f"SELECT {self._NETWORK_COLUMNS} FROM networks WHERE name = ?", (name,))
        return self._network(rows[0]) if rows else None

    def networks(self) -> list[NetworkRow]:
        """Every network's record, in name order."""
        rows = self._all(f"SELECT {self._NETWORK_COLUMNS} FROM networks ORDER BY name")
        return [self._network(r) for r in rows]

    def set_network_state(self, name: str, state: NetworkState, owner: str | None) -> None:
        """Set a network's state and the process changing it (None: nobody)."""
        self._run(
            "UPDATE networks SET state = ?, owner = ? WHERE name = ?", (state.value, owner, name)
        )

    def delete_network(self, name: str) -> None:
        """Remove a network's record; its endpoints and allocations go with it."""
        self._run("DELETE FROM networks WHERE name = ?", (name,))

    # -- VLAN sub-interfaces this library created -----------------------------------------
    def add_vlan(self, parent_key: str, owner: str | None) -> None:
        """Record a VLAN sub-interface the library created, with the process changing it."""
        self._run(
            "INSERT OR REPLACE INTO vlans (parent_key, owner) VALUES (?, ?)", (parent_key, owner)
        )

    def vlan_owned(self, parent_key: str) -> bool:
        """Whether the VLAN sub-interface with that key is recorded as the library's."""
        return bool(self._all("SELECT 1 FROM vlans WHERE parent_key = ?", (parent_key,)))

    def vlans(self) -> list[tuple[str, str | None]]:
        """The recorded VLAN sub-interfaces as (key, owner token or None)."""
        return [(r[0], r[1]) for r in self._all("SELECT parent_key, owner FROM vlans")]

    def set_vlan_owner(self, parent_key: str, owner: str | None) -> None:
        """Set the process changing a recorded VLAN sub-interface (None: nobody)."""
        self._run("UPDATE vlans SET owner = ? WHERE parent_key = ?", (owner, parent_key))

    def delete_vlan(self, parent_key: str) -> None:
        """Remove a VLAN sub-interface's record."""
        self._run("DELETE FROM vlans WHERE parent_key = ?", (parent_key,))

    # -- endpoints ----------------------------------------------------------------------
    def add_endpoint(
        self,
        network: str,
        kind: EndpointKind,
        netns: NsRef | None,
        ifname: str,
        mac: MacAddress,
        addresses: Sequence[tuple[int, IPAddress]],
        owner: str | None,
    ) -> int:
        """Insert a PENDING endpoint with its addresses; returns its id.

        Raises :class:`sqlite3.IntegrityError` if the MAC or an address is taken.
        """
        with self.transaction():
            ep = self._insert(
                "INSERT INTO endpoints (network, kind, state, netns, ifname, mac, owner, created)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (
                    network,
                    kind.value,
                    EndpointState.PENDING.value,
                    None if netns is None else netns.to_json(),
                    ifname,
                    str(mac),
                    owner,
                    time.time(),
                ),
            )
            for subnet, addr in addresses:
                self._run(
                    "INSERT INTO allocations (network, subnet, address, endpoint) VALUES (?,?,?,?)",
                    (network, subnet, address_key(addr), ep),
                )
                self._run(
                    "INSERT OR REPLACE INTO cursors (network, subnet, last) VALUES (?,?,?)",
                    (network, subnet, address_key(addr)),
                )
        return ep

    _ENDPOINT_COLUMNS = "id, network, kind, state, netns, ifname, ifindex, mac, owner"

    def _endpoints(self, where: str, args: Sequence[Any]) -> list[EndpointRow]:
        with self._lock:
            rows = self._all(f"SELECT {self._ENDPOINT_COLUMNS} FROM endpoints {where}", args)
            ids = [r[0] for r in rows]
            addrs: dict[int, list[tuple[int, IPAddress]]] = {i: [] for i in ids}
            if ids:
                marks = ",".join("?" * len(ids))
                for ep, subnet, key in self._all(
                    "SELECT endpoint, subnet, address FROM allocations"
                    f" WHERE endpoint IN ({marks}) ORDER BY subnet",
                    ids,
                ):
                    addrs[ep].append((subnet, address_of(key)))
        return [
            EndpointRow(
                id=r[0],
                network=r[1],
                kind=EndpointKind(r[2]),
                state=EndpointState(r[3]),
                netns=NsRef.from_json(r[4]),
                ifname=r[5],
                ifindex=r[6],
                mac=MacAddress(r[7]),
                owner=r[8],
                addresses=tuple(addrs[r[0]]),
            )
            for r in rows
        ]

    def endpoint_ids(self, network: str) -> set[int]:
        """The ids of a network's endpoint records."""
        return {r[0] for r in self._all("SELECT id FROM endpoints WHERE network = ?", (network,))}

    def endpoint(self, ep: int) -> EndpointRow | None:
        """The record of that endpoint, or None."""
        rows = self._endpoints("WHERE id = ?", (ep,))
        return rows[0] if rows else None

    def endpoints(self, network: str, kind: EndpointKind | None = None) -> list[EndpointRow]:
        """A network's endpoint records (only of ``kind`` if given), in id order."""
        if kind is None:
            return self._endpoints("WHERE network = ? ORDER BY id", (network,))
        return self._endpoints("WHERE network = ? AND kind = ? ORDER BY id", (network, kind.value))

    def set_endpoint(
        self,
        ep: int,
        state: EndpointState,
        owner: str | None,
        *,
        ifindex: int | None = None,
        mac: MacAddress | None = None,
    ) -> bool:
        """Change an endpoint's state (and index or MAC); False if the row is gone."""
        sets = ["state = ?", "owner = ?"]
        args: list[Any] = [state.value, owner]
        if ifindex is not None:
            sets.append("ifindex = ?")
            args.append(ifindex)
        if mac is not None:
            sets.append("mac = ?")
            args.append(str(mac))
        return self._run(f"UPDATE endpoints SET {', '.join(sets)} WHERE id = ?", [*args, ep]) > 0

    def delete_endpoint(self, ep: int) -> None:
        """Remove an endpoint and free its addresses and MAC."""
        self._run("DELETE FROM endpoints WHERE id = ?", (ep,))

    def claim_endpoint(
        self,
        ep: int,
        was: EndpointState,
        was_owner: str | None,
        state: EndpointState,
        owner: str | None,
    ) -> bool:
        """Move an endpoint from (``was``, ``was_owner``) to (``state``, ``owner``) in one
        statement; False if someone changed it first."""
        return (
            self._run(
                "UPDATE endpoints SET state = ?, owner = ? WHERE id = ? AND state = ?"
                " AND owner IS ?",
                (state.value, owner, ep, was.value, was_owner),
            )
            > 0
        )

    def drop_endpoint(self, ep: int, state: EndpointState, owner: str | None) -> bool:
        """Remove an endpoint only if it is still in ``state`` with ``owner``."""
        return (
            self._run(
                "DELETE FROM endpoints WHERE id = ? AND state = ? AND owner IS ?",
                (ep, state.value, owner),
            )
            > 0
        )

    def namespace_users(self, dev: int, ino: int) -> int:
        """How many network and endpoint records name the namespace (dev, ino)."""
        texts = [t for (t,) in self._all("SELECT netns FROM endpoints WHERE netns IS NOT NULL")]
        texts += [t for (t,) in self._all("SELECT netns FROM networks WHERE netns IS NOT NULL")]
        count = 0
        for text in texts:
            ref = NsRef.from_json(text)
            if ref is not None and (ref.dev, ref.ino) == (dev, ino):
                count += 1
        return count

    # -- what is in use -------------------------------------------------------------------
    def used_addresses(self, network: str) -> dict[int, set[int]]:
        """Allocated addresses by subnet index, as ints."""
        out: dict[int, set[int]] = {}
        for subnet, key in self._all(
            "SELECT subnet, address FROM allocations WHERE network = ?", (network,)
        ):
            out.setdefault(subnet, set()).add(int(key, 16))
        return out

    def cursors(self, network: str) -> dict[int, int]:
        """The last address handed out, by subnet index, as ints."""
        rows = self._all("SELECT subnet, last FROM cursors WHERE network = ?", (network,))
        return {subnet: int(key, 16) for subnet, key in rows}

    def macs(self) -> set[int]:
        """Every endpoint MAC of every network, as ints."""
        return {int(MacAddress(m)) for (m,) in self._all("SELECT mac FROM endpoints")}
