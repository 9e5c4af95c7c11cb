"""How the PostgreSQL store and nonce store talk to the server (psycopg 3, psycopg_pool).

* A ledger lives in the PostgreSQL schema ``chainledger`` of one database (one ledger per
  database); every connection sets ``search_path`` to it, so the SQL shared with the
  SQLite backend names its tables unqualified.
* `PgConnection` gives a psycopg connection the `SqlConnection` shape of the shared
  queries: ``?`` placeholders become ``%s``, results come in binary (``bytea`` as
  ``bytes``, ``bigint`` as ``int``, exactly the Python types sqlite3 returns).
* `PooledConnection` runs each statement on a connection borrowed from the pool for that
  statement alone (autocommit): what a store method outside `reading`/`write` uses.
* `describe` names a database without its password, for every message.
* `borrow` lends a pool's connection and turns a lost connection (the server restarted,
  our backend was terminated, the network cut, no connection in time) into
  `StoreUnavailable`, after which every pool of this process drops its dead connections:
  the next request gets a live one. No psycopg type leaves the store package.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.numeric import Int8BinaryDumper, Int8Dumper
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from chainledger.errors import MalformedInput, NotFound, StoreUnavailable
from chainledger.store.sqlite_projections import SqlCursor

__all__ = [
    "SCHEMA",
    "PgConnection",
    "PooledConnection",
    "advisory_key",
    "borrow",
    "connect",
    "connection_lost",
    "describe",
    "end_transaction",
    "make_pool",
    "pg_sql",
    "recover_pools",
]

#: The PostgreSQL schema (namespace) holding a ledger's tables.
SCHEMA = "chainledger"
#: Seconds to wait for the server when connecting (unless the URL says otherwise):
#: libpq's default is to wait forever.
CONNECT_TIMEOUT = 10

Conn = psycopg.Connection[tuple[Any, ...]]
Cursor = psycopg.Cursor[tuple[Any, ...]]

#: Seconds a client is told to wait before retrying after a lost connection.
RETRY_AFTER = 1.0
#: Seconds a request waits for a pooled connection before `StoreUnavailable` (503): a
#: query holds one for milliseconds, so a longer wait means the server is gone, and a
#: client (or load balancer) is better told so than kept waiting.
POOL_WAIT = 10.0
#: SQLSTATEs of a session the server ended: admin_shutdown (``pg_terminate_backend``, a
#: fast shutdown), crash_shutdown, cannot_connect_now (starting up or shutting down),
#: idle_session_timeout. Class 08 (connection exception) counts whole.
_SESSION_ENDED = frozenset({"57P01", "57P02", "57P03", "57P05"})

log = logging.getLogger("chainledger.store")

#: Every pool `make_pool` opened in this process, with its database's `describe` (weakly:
#: a closed store's pool goes).
_pools: weakref.WeakKeyDictionary[ConnectionPool[Conn], str] = weakref.WeakKeyDictionary()
_pools_lock = threading.Lock()


def advisory_key(name: str) -> int:
    """A fixed 64-bit key for ``pg_advisory_xact_lock``, derived from ``name`` (advisory
    locks are per database, so every process using the database agrees on it)."""
    return int.from_bytes(hashlib.sha256(f"chainledger {name}".encode()).digest()[:8], "big") - (
        1 << 63
    )


def pg_sql(sql: str) -> str:
    """A statement of the shared SQL (``?`` placeholders) in psycopg's spelling (``%s``)."""
    return sql.replace("%", "%%").replace("?", "%s")


def describe(url: str) -> str:
    """``postgresql://user@host:port/dbname`` of a libpq URL or DSN: never its password.

    `MalformedInput` if libpq cannot parse it (its message might quote the text)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise MalformedInput("db", "not a valid PostgreSQL connection URL") from None
    user = str(info.get("user") or "")
    host = str(info.get("host") or "localhost")
    port = str(info.get("port") or "")
    dbname = str(info.get("dbname") or user)
    return f"postgresql://{user + '@' if user else ''}{host}{':' + port if port else ''}/{dbname}"


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _connect_kwargs(url: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in conninfo_to_dict(url):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT
    return kwargs


def _configure(conn: Conn, *, durable: bool) -> None:
    # Every int is a bigint (the type of every integer column): one parameter type per
    # statement, so a prepared statement is reused whatever the values' magnitudes.
    conn.adapters.register_dumper(int, Int8Dumper)
    conn.adapters.register_dumper(int, Int8BinaryDumper)
    conn.execute(f"SET search_path TO {SCHEMA}")
    if durable:
        # A commit is acknowledged only once its WAL is flushed (DESIGN: durability). A
        # server or role default of ``off`` would acknowledge before that; anything
        # stronger (``remote_write``, ``remote_apply``) is left as the operator set it.
        row = conn.execute("SHOW synchronous_commit").fetchone()
        if row is None or row[0] == "off":
            conn.execute("SET synchronous_commit TO on")
    else:
        conn.execute("SET synchronous_commit TO off")


def connect(url: str, *, durable: bool = True) -> Conn:
    """One autocommit connection, configured like the pool's.

    `NotFound` (one line, no password) if the server cannot be reached or refuses it.
    """
    where = describe(url)
    try:
        conn = psycopg.connect(url, **_connect_kwargs(url))
    except psycopg.OperationalError as exc:
        raise NotFound(f"cannot connect to {where}: {_one_line(exc)}") from None
    try:
        _configure(conn, durable=durable)
    except BaseException:
        conn.close()
        raise
    return conn


def make_pool(url: str, size: int, *, durable: bool = True) -> ConnectionPool[Conn]:
    """A pool of at most ``size`` autocommit connections, opened with one.

    Connections are not tested when lent (that would cost a round trip per statement):
    `borrow` notices a dead one by its failure and then has every pool sweep its idle
    connections (`recover_pools`).
    """
    if size < 1:
        raise ValueError("pool size must be at least 1")
    pool: ConnectionPool[Conn] = ConnectionPool(
        url,
        kwargs=_connect_kwargs(url),
        min_size=1,
        max_size=size,
        open=True,
        configure=lambda conn: _configure(conn, durable=durable),
        name="chainledger",
        timeout=POOL_WAIT,
    )
    with _pools_lock:
        _pools[pool] = describe(url)
    return pool


def connection_lost(exc: BaseException, conn: Conn | None = None) -> bool:
    """Whether ``exc`` (raised on ``conn``, if it was had) means the connection to the
    server is gone, or none could be had in time: a reason to answer "unavailable, retry".

    Not a failed statement on a live connection, though psycopg files some of those as
    `OperationalError` too: a serialization failure or deadlock (SQLSTATE class 40, which
    the write lock prevents and nothing retries), a cancelled or timed-out query, or an
    aborted pipeline; those stay what they are.
    """
    if isinstance(exc, PoolTimeout | PoolClosed):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    if state is not None:
        return state.startswith("08") or state in _SESSION_ENDED
    if isinstance(exc, psycopg.errors.PipelineAborted):
        return False
    # No SQLSTATE: libpq's own report (EOF from the server, a closed socket).
    return conn is None or conn.broken or conn.closed


def recover_pools() -> None:
    """Have every open pool of this process test its idle connections now, discarding
    the dead ones (replacements are opened in the background): after a server restart
    or a mass ``pg_terminate_backend``, the next request gets a live connection instead
    of the next dead one. Connections lent out meanwhile are judged when they fail."""
    with _pools_lock:
        pools = [p for p in _pools if not p.closed]
    for pool in pools:
        try:
            pool.check()
        except Exception:  # a pool closing meanwhile: nothing to recover there
            log.debug("pool check failed", exc_info=True)


@contextlib.contextmanager
def borrow(pool: ConnectionPool[Conn]) -> Iterator[Conn]:
    """A connection of ``pool`` for the block, given back after it (the pool discards a
    broken one).

    A lost connection, during the block or while waiting for one, raises
    `StoreUnavailable` (psycopg's error is logged, with the database but no password,
    never passed on) after `recover_pools`. Any other error passes unchanged.
    """
    raw: Conn | None = None
    try:
        with pool.connection() as raw:
            yield raw
    except psycopg.OperationalError as exc:
        if not connection_lost(exc, raw):
            raise
        with _pools_lock:
            where = _pools.get(pool, "PostgreSQL")
        log.error("lost the connection to %s: %s", where, _one_line(exc))
        if not isinstance(exc, PoolClosed):
            recover_pools()
        raise StoreUnavailable(RETRY_AFTER) from None


def end_transaction(conn: Conn, *, commit: bool = False) -> None:
    """COMMIT (``commit``) or ROLLBACK the open transaction, if there is one.

    A failed rollback (the connection is broken) is not raised: whatever broke it is the
    error worth reporting, and the pool discards a broken connection when it comes back.
    """
    status = conn.info.transaction_status
    if status == pq.TransactionStatus.IDLE:
        return
    if commit:
        conn.execute("COMMIT")
        return
    with contextlib.suppress(psycopg.Error):
        conn.execute("ROLLBACK")


class PgConnection:
    """A psycopg connection with the shared SQL's ``?`` placeholders (`SqlConnection`)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Conn) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> Cursor:
        if parameters is None:
            return self.raw.execute(sql, binary=True)
        return self.raw.execute(pg_sql(sql), parameters, binary=True)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        cur = self.raw.cursor(binary=True)
        # psycopg pipelines the statements: one round trip for the whole batch.
        cur.executemany(pg_sql(sql), parameters)
        return cur


class _Rows:
    """A finished statement's rows, held after its connection went back to the pool."""

    __slots__ = ("_next", "_rowcount", "_rows", "arraysize")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self._rowcount = rowcount
        self.arraysize = 1

    @property
    def rowcount(self) -> int:
        return self._rowcount

    def fetchmany(self, size: int | None = None, /) -> list[Any]:
        start = self._next
        self._next = min(len(self._rows), start + (self.arraysize if size is None else size))
        return self._rows[start : self._next]

    def fetchone(self) -> Any:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchall(self) -> list[Any]:
        return self.fetchmany(len(self._rows))

    def __iter__(self) -> Iterator[Any]:
        while self._next < len(self._rows):
            self._next += 1
            yield self._rows[self._next - 1]


class PooledConnection:
    """`SqlConnection` whose every statement is one autocommit statement on a connection
    borrowed from the pool for just that statement (its rows fetched before returning it).
    A lost connection is `StoreUnavailable` (see `borrow`)."""

    __slots__ = ("pool",)

    def __init__(self, pool: ConnectionPool[Conn]) -> None:
        self.pool = pool

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> SqlCursor:
        with borrow(self.pool) as raw:
            cur = PgConnection(raw).execute(sql, parameters)
            rows = cur.fetchall() if cur.description is not None else []
            return _Rows(rows, cur.rowcount)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> SqlCursor:
        with borrow(self.pool) as raw:
            cur = PgConnection(raw).executemany(sql, parameters)
            return _Rows([], cur.rowcount)
