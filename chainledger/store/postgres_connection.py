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
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.numeric import Int8BinaryDumper, Int8Dumper
from psycopg_pool import ConnectionPool

from chainledger.errors import MalformedInput, NotFound
from chainledger.store.sqlite_projections import SqlCursor

__all__ = [
    "SCHEMA",
    "PgConnection",
    "PooledConnection",
    "advisory_key",
    "connect",
    "describe",
    "end_transaction",
    "make_pool",
    "pg_sql",
]

#: The PostgreSQL schema (namespace) holding a ledger's tables.
SCHEMA = "chainledger"
#: Seconds to wait for the server when connecting (unless the URL says otherwise):
#: libpq's default is to wait forever.
CONNECT_TIMEOUT = 10

Conn = psycopg.Connection[tuple[Any, ...]]
Cursor = psycopg.Cursor[tuple[Any, ...]]


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
    """A pool of at most ``size`` autocommit connections, opened with one."""
    if size < 1:
        raise ValueError("pool size must be at least 1")
    return ConnectionPool(
        url,
        kwargs=_connect_kwargs(url),
        min_size=1,
        max_size=size,
        open=True,
        configure=lambda conn: _configure(conn, durable=durable),
        name="chainledger",
        timeout=60.0,
    )


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
    borrowed from the pool for just that statement (its rows fetched before returning it)."""

    __slots__ = ("pool",)

    def __init__(self, pool: ConnectionPool[Conn]) -> None:
        self.pool = pool

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> SqlCursor:
        with self.pool.connection() as raw:
            cur = PgConnection(raw).execute(sql, parameters)
            rows = cur.fetchall() if cur.description is not None else []
            return _Rows(rows, cur.rowcount)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> SqlCursor:
        with self.pool.connection() as raw:
            cur = PgConnection(raw).executemany(sql, parameters)
            return _Rows([], cur.rowcount)
