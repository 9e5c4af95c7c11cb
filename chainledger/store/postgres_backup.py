"""A PostgreSQL ledger's backup: a SQLite ledger file holding the same rows; and its
restore, the same copy the other way.

One format for every backup, whatever the live backend: ``chainledger verify`` and
``restore`` take it as they take a SQLite backup, and it needs no PostgreSQL to be
checked. The stored forms are the same in both backends (entries as
`chainledger.store.entry_codec` stores them, node ids, interned names), so the rows are
copied as they are, table by table, in primary-key order: `copy_to_sqlite` for a backup,
`copy_from_sqlite` to restore any backup (of either backend) into PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import psycopg

from chainledger.errors import Conflict
from chainledger.store.postgres_connection import SCHEMA, Conn, connection_lost
from chainledger.store.postgres_schema import TABLES, table_exists
from chainledger.store.sqlite import SqliteStore

__all__ = ["copy_from_sqlite", "copy_to_sqlite", "holds_ledger_rows"]

#: Rows per round trip from the server-side cursor, and per executemany into SQLite.
BATCH = 5000


def copy_to_sqlite(raw: Conn, dest: Path) -> None:
    """Copy every table, as ``raw``'s open transaction sees it, into a new SQLite ledger at
    ``dest`` (`Conflict` if it exists). Written as ``dest.partial``, then renamed."""
    if dest.exists():
        raise Conflict(f"{dest} exists")
    tmp = dest.with_name(dest.name + ".partial")
    tmp.unlink(missing_ok=True)
    try:
        SqliteStore(tmp, create=True).close()  # the SQLite schema, fully migrated
        target = sqlite3.connect(tmp, isolation_level=None)
        try:
            _copy(raw, target)
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            target.close()
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _schema_difference(sqlite: sqlite3.Connection) -> set[str]:
    """The ledger tables only one of the SQLite file and the PostgreSQL schema has: a table
    only one backend has would be silently missing from a copy."""
    tables = {
        name
        for (name,) in sqlite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != '_sqlite_migrations'"
        )
    }
    return tables ^ set(TABLES)


def _copy(raw: Conn, target: sqlite3.Connection) -> None:
    if differ := _schema_difference(target):
        raise RuntimeError(f"the SQLite and PostgreSQL schemas differ: {differ}")
    target.execute("PRAGMA synchronous = FULL")
    target.execute("BEGIN IMMEDIATE")
    try:
        for table, key in TABLES.items():
            columns = ", ".join(r[1] for r in target.execute(f"PRAGMA table_info({table})"))
            marks = ", ".join("?" * len(columns.split(", ")))
            insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
            # A server-side cursor: the table streams in batches instead of being held whole.
            with raw.cursor(name=f"backup_{table}", binary=True) as cur:
                cur.execute(f"SELECT {columns} FROM {table} ORDER BY {key}")
                while rows := cur.fetchmany(BATCH):
                    target.executemany(insert, rows)
        target.execute("COMMIT")
    except BaseException:
        target.execute("ROLLBACK")
        raise


def holds_ledger_rows(raw: Conn) -> bool:
    """Whether the database of ``raw`` holds a ledger: a row in any table of `TABLES`. A
    database without the chainledger schema, or with its tables all empty (as after an
    ``init`` or ``restore`` that failed), holds none."""
    for table in TABLES:
        if table_exists(raw, table):
            row = raw.execute(f"SELECT EXISTS (SELECT 1 FROM {SCHEMA}.{table})").fetchone()
            if row is not None and row[0]:
                return True
    return False


def copy_from_sqlite(src: Path, raw: Conn) -> None:
    """Copy every table of the SQLite ledger file ``src`` (a backup) into the chainledger
    schema of ``raw``'s database, inside ``raw``'s open transaction (which the caller
    commits, or rolls back on any exception: then nothing of the copy remains).

    ``src`` is opened read-only and read in one transaction (one snapshot). The target
    schema must be fully migrated and must hold no ledger rows (`Conflict` otherwise, and
    nothing is copied); the caller holds the write lock, so nobody appends meanwhile.
    Both files' tables and columns must be the same (`Conflict`: a table or column only
    one side has would be silently lost). Tables go in `TABLES` order, each in key order,
    by binary ``COPY``, `BATCH` rows read at a time. The tables have no sequences or
    identity columns (every key is a value of the ledger), so nothing else needs moving;
    the append-only triggers guard UPDATE, DELETE and TRUNCATE, not the inserts of COPY.

    A row PostgreSQL refuses (a constraint or type SQLite let through, or a value psycopg
    cannot send as the column's type) is `Conflict`, naming the table and the SQLSTATE,
    never a value; a lost connection passes through as psycopg raised it (for
    `postgres_connection.borrow` to report).
    """
    if holds_ledger_rows(raw):
        raise Conflict("the PostgreSQL database already holds a ledger: nothing restored")
    source = sqlite3.connect(Path(src).resolve().as_uri() + "?mode=ro", uri=True)
    source.isolation_level = None
    try:
        source.execute("BEGIN")  # one read snapshot for every table
        if differ := _schema_difference(source):
            raise Conflict(
                f"the backup's tables differ from the PostgreSQL schema's: "
                f"{', '.join(sorted(differ))}"
            )
        for table, key in TABLES.items():
            _copy_table(source, raw, table, key)
        source.execute("COMMIT")
    finally:
        source.close()


def _pg_columns(raw: Conn, table: str) -> dict[str, str]:
    """``table``'s columns, in order, with their types (``bigint``, ``bytea``, ``text``)."""
    rows = raw.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (SCHEMA, table),
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _copy_table(source: sqlite3.Connection, raw: Conn, table: str, key: str) -> None:
    columns = [str(r[1]) for r in source.execute(f"PRAGMA table_info({table})")]
    types = _pg_columns(raw, table)
    if set(columns) != set(types):
        raise Conflict(
            f"the backup's {table} columns differ from the PostgreSQL schema's: "
            f"{', '.join(sorted(set(columns) ^ set(types)))}"
        )
    names = ", ".join(columns)
    rows = source.execute(f"SELECT {names} FROM {table} ORDER BY {key}")
    try:
        copy_in = f"COPY {SCHEMA}.{table} ({names}) FROM STDIN (FORMAT BINARY)"
        with raw.cursor() as cur, cur.copy(copy_in) as copy:
            copy.set_types([types[c] for c in columns])
            while batch := rows.fetchmany(BATCH):
                for row in batch:
                    copy.write_row(row)
    except (psycopg.Error, TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, psycopg.Error) and connection_lost(exc, raw):
            raise
        # The messages may quote the row (a personal value): only the SQLSTATE, if any.
        if isinstance(exc, psycopg.Error) and exc.sqlstate:
            why = f"SQLSTATE {exc.sqlstate}"
        else:  # refused before it was sent: a value SQLite stored with another type
            why = "a value of another type"
        raise Conflict(
            f"the backup's {table} rows do not fit the PostgreSQL schema ({why}): nothing restored"
        ) from None
