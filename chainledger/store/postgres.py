"""The PostgreSQL backend of the storage contract (`chainledger.store.base`).

For several API nodes on one ledger: every process (on any machine) opens the same
database, and the database serializes their writes. Same behaviour as
`chainledger.store.sqlite.SqliteStore`, down to the rows (the contract test suite runs
against both, and `verify` compares a PostgreSQL ledger's projections with a rebuild
in SQLite); the SQL is the SQLite store's own (`SqlReads`, `SqlWriter`), run through
`postgres_connection.PgConnection`.

Writes: one transaction per batch whose first statement takes a transaction-scoped
advisory lock (``pg_advisory_xact_lock``), held until COMMIT or ROLLBACK: the writers
of every process take turns, as SQLite's ``BEGIN IMMEDIATE`` makes them. The commit
is acknowledged once its WAL is flushed (``synchronous_commit`` at least ``on``).

Append-only: triggers refuse UPDATE, DELETE and TRUNCATE on entries, nodes and
checkpoints (`chainledger.store.postgres_schema`, named migrations applied under an
advisory lock when a store is opened).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from chainledger.store.base import CheckpointRow
from chainledger.store.entry_codec import decode_stored
from chainledger.store.postgres_backup import copy_from_sqlite, copy_to_sqlite, holds_ledger_rows
from chainledger.store.postgres_connection import (
    Cursor,
    PgConnection,
    PooledConnection,
    advisory_key,
    borrow,
    connect,
    describe,
    end_transaction,
    make_pool,
)
from chainledger.store.postgres_schema import ledger_exists, migrate
from chainledger.store.sqlite import SqlReads, SqlWriter
from chainledger.store.sqlite_projections import SqlConnection, WriteCache

__all__ = ["PostgresStore", "postgres_exists", "postgres_holds_ledger"]

#: The write lock's key (advisory locks are per database: one ledger per database).
WRITE_LOCK = advisory_key("write")
#: Rows per query when a read streams a range (entries, checkpoints).
CHUNK = 2048

_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

# One round trip: BEGIN, the lock (the transaction's first statement), then the commit
# counter (see `PostgresStore.write`). A literal constant, not a parameter, so that the
# three statements go as one simple query.
#
# READ COMMITTED, whatever the server's default: each statement reads a snapshot taken
# when *it* starts, so every statement after the lock sees every transaction committed
# before the lock was granted, in particular the writer we waited for (its COMMIT is
# what released the lock). Under REPEATABLE READ or SERIALIZABLE the snapshot would be
# the one of the lock statement, taken before the wait: the batch would read a stale tip
# and fail on a duplicate seq. With every writer serialized by the lock, READ COMMITTED
# gives each batch the serial view it needs with no serialization failures to retry.
_BEGIN_WRITE = (
    "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; "
    f"SELECT pg_advisory_xact_lock({WRITE_LOCK}); "
    "UPDATE commit_counter SET n = n + 1 RETURNING n"
)


def postgres_exists(url: str) -> bool:
    """Whether the database of ``url`` holds a ledger (`NotFound` if it cannot be reached)."""
    with connect(url) as conn:
        return ledger_exists(conn)


def postgres_holds_ledger(url: str) -> bool:
    """Whether the database of ``url`` holds ledger rows (`NotFound` if it cannot be
    reached): false without the chainledger schema, or with its tables all empty."""
    with connect(url) as conn:
        return holds_ledger_rows(conn)


class _PgReads(SqlReads):
    """The shared reads, with ranges streamed in chunks.

    psycopg fetches a whole result into memory, so a range (all of a large ledger, for
    verify or a backup) is read as a series of key-ordered queries of `CHUNK` rows, each
    starting after the last row of the previous one. Outside `reading()`, each chunk is
    its own snapshot: entries and checkpoints are only ever appended, whole batches at a
    time, so the rows still form one gapless run, as of some time during the iteration.
    """

    def stored_entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        while start < end:
            rows = (
                self._c()
                .execute(
                    "SELECT seq, data FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?",
                    (start, end, CHUNK),
                )
                .fetchall()
            )
            for seq, data in rows:
                yield seq, bytes(data)
            if len(rows) < CHUNK:
                return
            start = rows[-1][0] + 1

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        for seq, data in self.stored_entries(start, end):
            yield seq, decode_stored(data)

    def checkpoints(self, start: int = 0) -> Iterator[CheckpointRow]:
        while True:
            rows = (
                self._c()
                .execute(
                    "SELECT size, root, note, ts FROM checkpoints WHERE size >= ? "
                    "ORDER BY size LIMIT ?",
                    (start, CHUNK),
                )
                .fetchall()
            )
            for row in rows:
                yield CheckpointRow(*row)
            if len(rows) < CHUNK:
                return
            start = rows[-1][0] + 1


class _PgWriter(_PgReads, SqlWriter):
    """`SqlWriter` on a psycopg connection inside `PostgresStore.write`'s transaction.

    A duplicate key aborts a PostgreSQL transaction: after `Conflict` the batch can only
    be rolled back (every caller lets it propagate out of `write`, which does that).
    """

    INTEGRITY_ERRORS = (psycopg.IntegrityError,)


class PostgresStore(_PgReads):
    """A ledger in the ``chainledger`` schema of one PostgreSQL database.

    ``url``: a libpq URL ``postgresql://user@host:port/dbname`` (a password may be in it
    or, better, in ``~/.pgpass`` or ``PGPASSWORD``; no message ever shows it). Without
    ``create``, a database with no ledger schema is `NotFound`; with it, the schema is
    created. Pending migrations are applied either way, as `SqliteStore` does.

    Thread-safe, through a `psycopg_pool.ConnectionPool` of at most ``pool_size``
    connections rather than SQLite's one connection per thread: the API server calls the
    store from a thread pool of tens of threads, in each of several worker processes, on
    each of several nodes, and a PostgreSQL connection is a server process; the pool keeps
    a process's share bounded (a thread waits for a free connection), reopens connections
    the server dropped, and closes idle ones. A plain method runs each statement on a
    connection borrowed for that statement (autocommit, like SQLite's plain reads);
    `reading` and `write` hold one connection, for this thread, until they end (and the
    store's own methods called from that thread meanwhile run in that transaction).
    """

    def __init__(self, url: str, *, create: bool = False, pool_size: int = 16) -> None:
        self._where = describe(url)
        with connect(url) as conn:
            migrate(conn, create=create, where=self._where)
        self._pool = make_pool(url, pool_size)
        self._auto = PooledConnection(self._pool)
        self._local = threading.local()
        self._closed = False
        # Serializes this store's own writers before they take a connection (the advisory
        # lock then serializes them with every other process), and guards the cache.
        self._write_lock = threading.Lock()
        self._cache: WriteCache | None = None
        self._version: int | None = None  # the commit counter after our last commit

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r})"

    @property
    def where(self) -> str:
        """The database, for messages: ``postgresql://user@host:port/dbname``."""
        return self._where

    def _c(self) -> SqlConnection:
        conn: PgConnection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise RuntimeError("store is closed")
        return self._auto

    def _no_transaction(self) -> None:
        if getattr(self._local, "conn", None) is not None:
            # As SQLite refuses BEGIN inside a transaction (and a second connection of this
            # thread would wait forever for the write lock the first one holds).
            raise RuntimeError("a transaction of this store is already open on this thread")
        if self._closed:
            raise RuntimeError("store is closed")

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[tuple[PgConnection, Cursor]]:
        """A pooled connection that ``begin`` put in a transaction, current for this thread
        until the block ends: committed on normal exit, else rolled back. Yields it and the
        cursor of ``begin`` (its last statement's rows).

        A connection lost at any point (``begin``, the block, COMMIT) is `StoreUnavailable`
        (`borrow`): the server rolled the transaction back, or, if only COMMIT's answer was
        lost, committed all of it; never part of it."""
        self._no_transaction()
        with borrow(self._pool) as raw:
            try:
                cur = raw.execute(begin)
                while cur.nextset():
                    pass
                conn = self._local.conn = PgConnection(raw)
                yield conn, cur
                end_transaction(raw, commit=True)
            except BaseException:
                end_transaction(raw)
                raise
            finally:
                self._local.conn = None

    @contextmanager
    def reading(self) -> Iterator[PostgresStore]:
        """A consistent read view for several queries (one REPEATABLE READ, READ ONLY
        transaction: one snapshot, taken at its first query). Inside `reading` or `write`
        on this thread, the view that is already open."""
        if getattr(self._local, "conn", None) is not None:
            yield self
            return
        with self._transaction(_BEGIN_READ):
            yield self

    @contextmanager
    def write(self) -> Iterator[_PgWriter]:
        """One write transaction, serialized with every writer of the database (see the
        module docstring and `_BEGIN_WRITE`), committed durably on normal exit and rolled
        back on any exception.

        The `WriteCache` (projection rows kept across batches) is exact only while this
        store is the database's only writer. SQLite's ``PRAGMA data_version`` tells its
        store when another connection committed; here ``commit_counter`` does: every
        write increments it right after taking the lock, so it reads exactly our last
        value + 1 unless another writer committed in between, and then the cache is
        dropped.
        """
        self._no_transaction()  # before the lock, which this thread may hold
        with self._write_lock:
            try:
                with self._transaction(_BEGIN_WRITE) as (conn, cur):
                    counter = cur.fetchone()
                    assert counter is not None  # the table has its one row from the start
                    version = int(counter[0])
                    last, self._version = self._version, None  # until this commit succeeds
                    if self._cache is None or last is None or version != last + 1:
                        self._cache = WriteCache()
                    writer = _PgWriter(conn, self._cache)
                    yield writer
                    writer.flush()
            except BaseException:
                if self._cache is not None:
                    self._cache.clear()
                raise
            self._version = version

    def backup(self, dest: Path) -> None:
        """A consistent copy of the whole ledger at ``dest``, as a SQLite ledger file (which
        ``chainledger verify`` and ``restore`` take as they take any SQLite backup).

        Read in one REPEATABLE READ transaction, so appends committed meanwhile are simply
        not in it; written beside ``dest`` first (``.partial``) and renamed: never a half
        backup. `Conflict` if ``dest`` exists.
        """
        with self._transaction(_BEGIN_READ) as (conn, _):
            copy_to_sqlite(conn.raw, Path(dest))

    def restore(self, src: Path) -> None:
        """Copy the SQLite ledger file ``src`` (a backup, of either backend) into this
        database, which must hold no ledger rows yet (`Conflict` otherwise).

        One write transaction, under the write lock (nobody appends meanwhile; any store
        open on the database drops its cache): the database ends with all of the backup
        or, on any failure, none of it (`copy_from_sqlite`). ``src`` is only read. The
        caller verifies ``src`` before and the restored ledger after.
        """
        self._no_transaction()
        with self._write_lock:
            try:
                with self._transaction(_BEGIN_WRITE) as (conn, _):
                    copy_from_sqlite(Path(src), conn.raw)
            finally:
                self._cache = None
                self._version = None

    def close(self) -> None:
        """Close the pool (idempotent); the store must not be used afterwards."""
        self._closed = True
        self._pool.close()
