"""Replay protection for signed HTTP requests: each (party, nonce) is accepted once.

A signed request carries a nonce and an expiry (``api.httpsig``). The server
*claims* the pair before answering; a second claim of the same pair before it
expires is refused, so a captured request cannot be replayed. Once the expiry
has passed the signature itself is refused, so the pair need not be remembered
any longer and is purged.

`SqliteNonceStore` keeps the pairs in a small SQLite file of their own (not the
ledger: it is neither append-only nor evidence), shared by every server process
using the same database directory. `PostgresNonceStore` keeps them in a table of a
PostgreSQL database, shared by every API node using it. `MemoryNonceStore` is the
same contract in one process, for tests.

Time is passed in (``now``); both stores purge deterministically from it.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from chainledger.store.postgres_connection import Conn, PooledConnection

__all__ = ["MemoryNonceStore", "NonceStore", "PostgresNonceStore", "SqliteNonceStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

#: Purge expired pairs after this many claims ...
PURGE_EVERY = 1000
#: ... or when this much time (by ``now``) has passed since the last purge.
PURGE_INTERVAL = timedelta(seconds=60)

# The statements both SQL stores run (``?`` placeholders; the PostgreSQL store's
# connection spells them ``%s``). A claim is one statement: insert the pair, or take over
# its row only if the earlier claim has expired; the row count says which.
_CLAIM = (
    "INSERT INTO nonces (party, nonce, expires) VALUES (?, ?, ?)"
    " ON CONFLICT (party, nonce) DO UPDATE SET expires = excluded.expires"
    " WHERE nonces.expires < ?"
)
_PURGE = "DELETE FROM nonces WHERE expires < ?"
_COUNT = "SELECT count(*) FROM nonces"


def _micros(when: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact, no float)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    return (when - _EPOCH) // _MICROSECOND


class NonceStore(Protocol):
    """The replay guard's contract.

    ``claim(party, nonce, expires, now)`` returns True if the pair is claimed
    now, until ``expires``: it was never claimed, or the earlier claim's expiry
    lies before ``now``. It returns False, changing nothing, if the pair was
    claimed before and that claim's expiry is at or after ``now``.
    A claim is atomic: of several concurrent claims of one pair (threads or
    processes sharing the store), exactly one returns True. Datetimes must be
    timezone-aware (`ValueError` otherwise).

    ``close()`` releases resources; the store must not be used afterwards.
    """

    def claim(self, party: str, nonce: str, expires: datetime, now: datetime) -> bool: ...

    def close(self) -> None: ...


class _PurgeSchedule:
    """When to purge: every ``every`` claims or after ``interval`` of ``now`` time."""

    def __init__(self, every: int, interval: timedelta) -> None:
        if every < 1:
            raise ValueError("purge_every must be at least 1")
        self.every = every
        self.interval = interval
        self.claims = 0
        self.last: int | None = None  # micros of the last purge

    def due(self, now_us: int) -> bool:
        self.claims += 1
        return (
            self.last is None
            or self.claims >= self.every
            or now_us - self.last >= self.interval // _MICROSECOND
            or now_us < self.last  # the clock went back: start afresh
        )

    def done(self, now_us: int) -> None:
        self.claims = 0
        self.last = now_us


class SqliteNonceStore:
    """Claimed nonces in a SQLite file of their own (e.g. ``<ledger db>.nonces``).

    Several instances, in one process or many, may open the same file: a claim is
    one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`` statement, atomic in
    SQLite, and writers wait for each other (``busy_timeout`` 5 s). One instance is
    safe to share between threads (one connection behind a lock).

    Durability: WAL with ``synchronous=NORMAL``: a claim survives a crash of the
    process but may be lost with the last transactions on power loss, reopening a
    replay window of at most the signatures' lifetime.

    Expired pairs are deleted on a claim after every ``purge_every`` claims or
    ``purge_interval`` of ``now`` time (and on the first claim of an instance);
    `purge` does it on demand.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        purge_every: int = PURGE_EVERY,
        purge_interval: timedelta = PURGE_INTERVAL,
    ) -> None:
        self.path = Path(path)
        self._schedule = _PurgeSchedule(purge_every, purge_interval)
        self._lock = threading.Lock()
        # isolation_level=None: every statement is its own transaction.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS nonces ("
                " party TEXT NOT NULL,"
                " nonce TEXT NOT NULL,"
                " expires INTEGER NOT NULL,"  # microseconds since the Unix epoch
                " PRIMARY KEY (party, nonce)"
                ") WITHOUT ROWID"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS nonces_expires ON nonces (expires)")
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    def _c(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("nonce store is closed")
        return self._conn

    def claim(self, party: str, nonce: str, expires: datetime, now: datetime) -> bool:
        """See `NonceStore.claim`."""
        expires_us, now_us = _micros(expires), _micros(now)
        with self._lock:
            conn = self._c()
            if self._schedule.due(now_us):
                self._purge(conn, now_us)
            cur = conn.execute(_CLAIM, (party, nonce, expires_us, now_us))
            return cur.rowcount == 1

    def purge(self, now: datetime) -> int:
        """Delete every pair whose claim expired before ``now``; return how many."""
        now_us = _micros(now)
        with self._lock:
            return self._purge(self._c(), now_us)

    def _purge(self, conn: sqlite3.Connection, now_us: int) -> int:
        deleted = conn.execute(_PURGE, (now_us,)).rowcount
        self._schedule.done(now_us)
        return deleted

    def __len__(self) -> int:
        """How many pairs are stored, expired or not (for tests and metrics)."""
        with self._lock:
            row = self._c().execute(_COUNT).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the connection; idempotent."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class PostgresNonceStore:
    """Claimed nonces in the table ``chainledger.nonces`` of a PostgreSQL database (the
    ledger's own, or any other), shared by every API node and process using it.

    A claim is the same single ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired``
    statement as SQLite's, atomic in PostgreSQL too: of concurrent claims of one pair, one
    inserts and the others wait for it, then find a live claim and change nothing.
    Thread-safe, through a small connection pool (at most ``pool_size`` connections).

    Durability: ``synchronous_commit`` off, the counterpart of SQLite's
    ``synchronous=NORMAL``: a claim is not waited on to reach the disk, so a crash of the
    server may lose the last fraction of a second of claims, reopening a replay window of
    at most the signatures' lifetime; never an inconsistent table.

    Purging as `SqliteNonceStore`. The table is created on first use (under an advisory
    lock, so concurrent first users are safe); ``url`` as `PostgresStore`'s.
    """

    def __init__(
        self,
        url: str,
        *,
        purge_every: int = PURGE_EVERY,
        purge_interval: timedelta = PURGE_INTERVAL,
        pool_size: int = 4,
    ) -> None:
        from chainledger.store.postgres_connection import PooledConnection, connect, make_pool
        from chainledger.store.postgres_schema import schema_lock, table_exists

        self._schedule = _PurgeSchedule(purge_every, purge_interval)
        self._lock = threading.Lock()
        with connect(url, durable=False) as conn:
            if not table_exists(conn, "nonces"):
                with schema_lock(conn):
                    if not table_exists(conn, "nonces"):  # nobody made it while we waited
                        conn.execute(
                            'CREATE TABLE nonces (party text COLLATE "C" NOT NULL, '
                            'nonce text COLLATE "C" NOT NULL, '
                            "expires bigint NOT NULL, "  # microseconds since the Unix epoch
                            "PRIMARY KEY (party, nonce))"
                        )
                        conn.execute("CREATE INDEX nonces_expires ON nonces (expires)")
        self._pool: ConnectionPool[Conn] | None = make_pool(url, pool_size, durable=False)
        self._conn = PooledConnection(self._pool)

    def _c(self) -> PooledConnection:
        if self._pool is None:
            raise RuntimeError("nonce store is closed")
        return self._conn

    def claim(self, party: str, nonce: str, expires: datetime, now: datetime) -> bool:
        """See `NonceStore.claim`."""
        expires_us, now_us = _micros(expires), _micros(now)
        conn = self._c()
        with self._lock:
            due = self._schedule.due(now_us)
        if due:
            self._purge(now_us)
        return conn.execute(_CLAIM, (party, nonce, expires_us, now_us)).rowcount == 1

    def purge(self, now: datetime) -> int:
        """Delete every pair whose claim expired before ``now``; return how many."""
        return self._purge(_micros(now))

    def _purge(self, now_us: int) -> int:
        deleted = self._c().execute(_PURGE, (now_us,)).rowcount
        with self._lock:
            self._schedule.done(now_us)
        return deleted

    def __len__(self) -> int:
        """How many pairs are stored, expired or not (for tests and metrics)."""
        row = self._c().execute(_COUNT).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the pool; idempotent."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


class MemoryNonceStore:
    """`NonceStore` in a dict, for tests and single-process use; thread-safe."""

    def __init__(
        self, *, purge_every: int = PURGE_EVERY, purge_interval: timedelta = PURGE_INTERVAL
    ) -> None:
        self._schedule = _PurgeSchedule(purge_every, purge_interval)
        self._lock = threading.Lock()
        self._claims: dict[tuple[str, str], int] = {}
        self._closed = False

    def claim(self, party: str, nonce: str, expires: datetime, now: datetime) -> bool:
        """See `NonceStore.claim`."""
        expires_us, now_us = _micros(expires), _micros(now)
        with self._lock:
            if self._closed:
                raise RuntimeError("nonce store is closed")
            if self._schedule.due(now_us):
                self._purge(now_us)
            key = (party, nonce)
            held = self._claims.get(key)
            if held is not None and held >= now_us:
                return False
            self._claims[key] = expires_us
            return True

    def purge(self, now: datetime) -> int:
        """Delete every pair whose claim expired before ``now``; return how many."""
        now_us = _micros(now)
        with self._lock:
            return self._purge(now_us)

    def _purge(self, now_us: int) -> int:
        expired = [key for key, exp in self._claims.items() if exp < now_us]
        for key in expired:
            del self._claims[key]
        self._schedule.done(now_us)
        return len(expired)

    def __len__(self) -> int:
        """How many pairs are stored, expired or not."""
        with self._lock:
            return len(self._claims)

    def close(self) -> None:
        """Mark the store closed; idempotent."""
        with self._lock:
            self._closed = True
