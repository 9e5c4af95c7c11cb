"""The embedded SQLite backend of the storage contract (`chainledger.store.base`).

Durability: WAL journal with ``synchronous=FULL``, so a commit is on disk (the
WAL fsynced) before `write` returns and the ledger acknowledges an append.
Each write transaction starts with ``BEGIN IMMEDIATE``, taking SQLite's write
lock up front: several processes may share one ledger file, and they are
serialized by the database rather than by a home-made lock.

Append-only: triggers refuse UPDATE and DELETE on entries, nodes and
checkpoints. (An attacker with the file can drop them; that is what `verify`
is for.) Witness cosignatures are outside the log and not append-only: a
witness's newer cosignature of a size replaces its older one.

Schema changes are named migrations (`chainledger.store.sqlite_schema`), applied
under the write lock when a store is opened.

The queries (`SqlReads`, `SqlWriter`, and the projections they mix in) are written in
the SQL SQLite and PostgreSQL share: `chainledger.store.postgres` runs the same ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from chainledger.errors import Conflict, NotFound
from chainledger.merkle import NodeKey
from chainledger.store.base import CheckpointRow, EntryRow, PartyRow
from chainledger.store.entry_codec import decode_stored, encode_stored
from chainledger.store.sqlite_projections import (
    ProjectionReads,
    ProjectionWrites,
    SqlConnection,
    WriteCache,
    canonical_text,
    upsert,
)
from chainledger.store.sqlite_schema import migrate

__all__ = [
    "PROJECTIONS",
    "SqlReads",
    "SqlWriter",
    "SqliteStore",
    "node_id",
    "nonce_key",
    "nonces_query",
]

#: Projection tables, compared by `verify` against a rebuild from the entries.
PROJECTIONS: dict[str, str] = {
    "parties": "id",
    "party_keys": "party, seq",
    "classes": "id",
    "scenarios": "id",
    "assets": "id",
    "grants": "id",
    "names": "id",
    "access": "seq",
}

_LEVEL_SHIFT = 48  # node row id = level * 2**48 + index: one integer key, no extra index


def node_id(key: NodeKey) -> int:
    level, index = key
    return (level << _LEVEL_SHIFT) | index


def nonce_key(actor: str, nonce: str) -> int:
    """The replay guard's 8-byte key of an (actor, nonce) pair (see the schema)."""
    digest = hashlib.sha256(f"{actor}\n{nonce}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def nonces_query(n: int) -> str:
    """Which of n nonce keys exist: one unique-index search per key."""
    return f"SELECT nonce_key FROM entries WHERE nonce_key IN ({','.join('?' * n)})"


class SqlReads(ProjectionReads):
    """Read queries, shared by the store (autocommit reads) and the writer (in-transaction),
    and by the PostgreSQL store (the same SQL: see `chainledger.store.sqlite_projections`)."""

    def _c(self) -> SqlConnection:
        raise NotImplementedError

    def latest_checkpoint(self) -> CheckpointRow | None:
        row = (
            self._c()
            .execute("SELECT size, root, note, ts FROM checkpoints ORDER BY size DESC LIMIT 1")
            .fetchone()
        )
        return CheckpointRow(*row) if row else None

    def checkpoint(self, size: int) -> CheckpointRow | None:
        row = (
            self._c()
            .execute("SELECT size, root, note, ts FROM checkpoints WHERE size = ?", (size,))
            .fetchone()
        )
        return CheckpointRow(*row) if row else None

    def checkpoints(self, start: int = 0) -> Iterator[CheckpointRow]:
        cur = self._c().execute(
            "SELECT size, root, note, ts FROM checkpoints WHERE size >= ? ORDER BY size", (start,)
        )
        for row in cur:
            yield CheckpointRow(*row)

    def entry(self, seq: int) -> bytes | None:
        row = self._c().execute("SELECT data FROM entries WHERE seq = ?", (seq,)).fetchone()
        return decode_stored(bytes(row[0])) if row else None

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        cur = self._c().execute(
            "SELECT seq, data FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq", (start, end)
        )
        cur.arraysize = 1024
        while rows := cur.fetchmany():
            for seq, data in rows:
                yield seq, decode_stored(bytes(data))

    def stored_entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """`entries` as stored (`entry_codec` unpacks and rebuilds them): for
        `chainledger.verify`, which decodes each row once, from its stored parts."""
        cur = self._c().execute(
            "SELECT seq, data FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq", (start, end)
        )
        cur.arraysize = 1024
        while rows := cur.fetchmany():
            yield from rows  # BLOBs (bytea) come back as bytes from both drivers

    def nodes(self, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
        wanted = {node_id(k): k for k in keys}
        if not wanted:
            return {}
        ids = list(wanted)
        out: dict[NodeKey, bytes] = {}
        # Stay under SQLite's default limit of 32766 bound parameters.
        for i in range(0, len(ids), 30000):
            chunk = ids[i : i + 30000]
            marks = ",".join("?" * len(chunk))
            for nid, h in self._c().execute(
                f"SELECT id, hash FROM nodes WHERE id IN ({marks})",
                chunk,
            ):
                out[wanted[nid]] = bytes(h)
        return out

    def node_range(self, level: int, start: int, end: int) -> dict[NodeKey, bytes]:
        """The stored nodes (level, i) for start <= i < end: one range scan of the primary
        key, much cheaper than `nodes` with thousands of ids (verify reads every node)."""
        rows = self._c().execute(
            "SELECT id, hash FROM nodes WHERE id >= ? AND id < ?",
            (node_id((level, start)), node_id((level, end))),
        )
        mask = (1 << _LEVEL_SHIFT) - 1
        return {(level, nid & mask): bytes(h) for nid, h in rows}

    def node_run(self, level: int, start: int, end: int) -> bytes:
        rows = self._c().execute(
            "SELECT hash FROM nodes WHERE id >= ? AND id < ? ORDER BY id",
            (node_id((level, start)), node_id((level, end))),
        )
        return b"".join(map(itemgetter(0), rows))  # BLOBs come back as bytes

    def nonces_used(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        keyed = {nonce_key(a, n): (a, n) for a, n in pairs}
        keys = list(keyed)
        used: set[tuple[str, str]] = set()
        for i in range(0, len(keys), 30000):
            chunk = keys[i : i + 30000]
            used.update(keyed[k] for (k,) in self._c().execute(nonces_query(len(chunk)), chunk))
        return used

    def nonce_used(self, actor: str, nonce: str) -> bool:
        return bool(self.nonces_used([(actor, nonce)]))

    def nonce_seq(self, actor: str, nonce: str) -> int | None:
        row = (
            self._c()
            .execute("SELECT seq FROM entries WHERE nonce_key = ?", (nonce_key(actor, nonce),))
            .fetchone()
        )
        return int(row[0]) if row else None

    def party(self, party_id: str) -> PartyRow | None:
        row = (
            self._c()
            .execute(f"SELECT {_PARTY_COLUMNS} FROM parties WHERE id = ?", (party_id,))
            .fetchone()
        )
        return _party(row) if row else None

    def parties(self, role: str | None = None) -> list[PartyRow]:
        sql = f"SELECT {_PARTY_COLUMNS} FROM parties"
        rows = (
            self._c().execute(sql + " WHERE role = ? ORDER BY id", (role,))
            if role
            else self._c().execute(sql + " ORDER BY id")
        )
        return [_party(r) for r in rows]

    def party_keys(self, party_id: str) -> list[tuple[int, bytes]]:
        rows = self._c().execute(
            "SELECT seq, key FROM party_keys WHERE party = ? ORDER BY seq", (party_id,)
        )
        return [(seq, bytes(key)) for seq, key in rows]

    def cosignatures(self, size: int) -> list[str]:
        rows = self._c().execute(
            "SELECT line FROM cosignatures WHERE size = ? ORDER BY witness", (size,)
        )
        return [line for (line,) in rows]

    def projection_snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        return {
            table: [tuple(r) for r in self._c().execute(f"SELECT * FROM {table} ORDER BY {pk}")]
            for table, pk in PROJECTIONS.items()
        }


_PARTY_COLUMNS = "id, role, name, public_key, status, since_seq, attrs"
_PUT_PARTY = upsert("parties", _PARTY_COLUMNS, "id")


def _party(row: Any) -> PartyRow:
    return PartyRow(row[0], row[1], row[2], bytes(row[3]), row[4], row[5], json.loads(row[6]))


class SqlWriter(SqlReads, ProjectionWrites):
    """The `LogWriter` of one open write transaction (``BEGIN IMMEDIATE`` in SQLite).

    Deferred writes (`_defer`: a read's access-log row and its grant's use count) are
    queued and run with ``executemany`` just before the next statement of any kind on
    this connection, or before COMMIT: every statement still runs in the order it was
    made, so every query sees exactly what it would have seen, but a batch of reads
    costs two ``executemany`` calls instead of two statements per read.
    """

    #: What the driver raises for a duplicate key (reported as `Conflict`).
    INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, conn: SqlConnection, cache: WriteCache) -> None:
        self._conn = conn
        self._cache = cache
        self._deferred: list[tuple[str, list[tuple[Any, ...]]]] = []

    def _c(self) -> SqlConnection:
        if self._deferred:
            self.flush()
        return self._conn

    def _defer(self, sql: str, params: tuple[Any, ...]) -> None:
        deferred = self._deferred
        if deferred and deferred[-1][0] is sql:
            deferred[-1][1].append(params)
        else:
            deferred.append((sql, [params]))

    def flush(self) -> None:
        """Run the deferred writes, in order."""
        deferred, self._deferred = self._deferred, []
        for sql, rows in deferred:
            self._conn.executemany(sql, rows)

    def party(self, party_id: str) -> PartyRow | None:
        # A cached row straight from the cache's dict: every admitted statement asks for
        # its actor twice (the signing key, the role), verify for every entry it replays.
        row: PartyRow | None = self._cache.rows["party"].get(party_id)
        if row is None:
            row = self._cache.get("party", party_id, super().party)
        return row

    def add_entries(self, rows: Sequence[EntryRow]) -> None:
        try:
            self._c().executemany(
                "INSERT INTO entries (seq, data, nonce_key) VALUES (?, ?, ?)",
                [
                    (r.seq, encode_stored(r.data, r.packed), nonce_key(r.actor, r.nonce))
                    for r in rows
                ],
            )
        except self.INTEGRITY_ERRORS:
            raise Conflict("an entry with this seq, or this (actor, nonce), exists") from None

    def add_nodes(self, nodes: Sequence[tuple[NodeKey, bytes]]) -> None:
        self._c().executemany(
            "INSERT INTO nodes (id, hash) VALUES (?, ?)", [(node_id(k), h) for k, h in nodes]
        )

    def add_checkpoint(self, row: CheckpointRow) -> None:
        self._c().execute(
            "INSERT INTO checkpoints (size, root, note, ts) VALUES (?, ?, ?, ?)",
            (row.size, row.root, row.note, row.ts),
        )

    def add_cosignature(self, size: int, witness: str, line: str, timestamp: int) -> bool:
        cur = self._c().execute(
            "INSERT INTO cosignatures (size, witness, line, timestamp) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line, "
            "timestamp = excluded.timestamp WHERE excluded.timestamp > cosignatures.timestamp",
            (size, witness, line, timestamp),
        )
        return cur.rowcount > 0

    def add_party_key(self, party_id: str, seq: int, key: bytes) -> None:
        self._c().execute(
            "INSERT INTO party_keys (party, seq, key) VALUES (?, ?, ?)", (party_id, seq, key)
        )

    def put_party(self, row: PartyRow) -> None:
        self._cache.put("party", row.id, row)
        self._c().execute(
            _PUT_PARTY,
            (
                row.id, row.role, row.name, row.public_key, row.status, row.since_seq,
                canonical_text(row.attrs),
            ),
        )  # fmt: skip


class SqliteStore(SqlReads):
    """A ledger database file. Safe to share between threads: each gets its own connection."""

    def __init__(self, path: Path | str, *, create: bool = False, throwaway: bool = False) -> None:
        """``throwaway``: a scratch database nobody keeps (verify's rebuilt projections):
        no fsync, the rollback journal in memory, and no secondary indexes on the access
        log, since a crash loses nothing of value and only the rules read it.
        """
        self.path = Path(path)
        self._throwaway = throwaway
        if not create and not self.path.exists():
            raise NotFound(f"no ledger database at {self.path}")
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        conn = self._c()
        migrate(conn)
        if throwaway:
            # The access log's secondary indexes serve audit queries, never the rules: a
            # rebuild without them writes each access row once instead of seven times.
            # (Every query still answers the same, only slower; verify runs none.)
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'access' "
                "AND sql IS NOT NULL"
            ).fetchall():
                conn.execute(f"DROP INDEX {name}")

    def _c(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("store is closed")
            # isolation_level=None: no implicit transactions; we BEGIN explicitly.
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, cached_statements=512
            )
            conn.execute("PRAGMA busy_timeout = 60000")
            if self._throwaway:
                conn.execute("PRAGMA journal_mode = MEMORY")
                conn.execute("PRAGMA synchronous = OFF")
            else:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def reading(self) -> Iterator[SqliteStore]:
        """A consistent read view for several queries (one read transaction)."""
        conn = self._c()
        if conn.in_transaction:  # already inside one: nothing to add
            yield self
            return
        conn.execute("BEGIN")
        try:
            yield self
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[SqlWriter]:
        conn = self._c()
        conn.execute("BEGIN IMMEDIATE")
        local = self._local
        cache: WriteCache | None = getattr(local, "cache", None)
        # PRAGMA data_version changes when another connection committed (sqlite.org/pragma
        # .html#pragma_data_version): then what this connection cached may be stale.
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if cache is None or version != getattr(local, "version", None):
            cache = local.cache = WriteCache()
            local.version = version
        try:
            writer = SqlWriter(conn, cache)
            yield writer
            writer.flush()
            conn.execute("COMMIT")
        except BaseException:
            cache.clear()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def backup(self, dest: Path) -> None:
        # SQLite's online backup API, all pages in one step: the copy is read inside one
        # read transaction (a WAL snapshot), so appends committed meanwhile are simply not
        # in it. Written beside ``dest`` first, then renamed: never a half backup.
        dest = Path(dest)
        if dest.exists():
            raise Conflict(f"{dest} exists")
        tmp = dest.with_name(dest.name + ".partial")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(tmp)
        try:
            self._c().backup(target)
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            target.close()
        os.replace(tmp, dest)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
