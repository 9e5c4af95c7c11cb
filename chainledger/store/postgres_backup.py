"""A PostgreSQL ledger's backup: a SQLite ledger file holding the same rows.

One format for every backup, whatever the live backend: ``chainledger verify`` and
``restore`` take it as they take a SQLite backup, and it needs no PostgreSQL to be
checked. The stored forms are the same in both backends (entries as
`chainledger.store.entry_codec` stores them, node ids, interned names), so the rows are
copied as they are, table by table, in primary-key order.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from chainledger.errors import Conflict
from chainledger.store.postgres_connection import Conn
from chainledger.store.postgres_schema import TABLES
from chainledger.store.sqlite import SqliteStore

__all__ = ["copy_to_sqlite"]

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


def _copy(raw: Conn, target: sqlite3.Connection) -> None:
    tables = {
        name
        for (name,) in target.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != '_sqlite_migrations'"
        )
    }
    if tables != set(TABLES):
        # A table only one backend has would be silently missing from the copy.
        raise RuntimeError(f"the SQLite and PostgreSQL schemas differ: {tables ^ set(TABLES)}")
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
