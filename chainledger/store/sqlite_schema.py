"""The SQLite schema, as named migrations (sqlite-utils ``Migrations``).

Each migration runs once, in order, inside the write lock, and is recorded in
sqlite-utils' ``_sqlite_migrations`` table. Opening an up-to-date database only
reads that table: sqlite-utils (a slow import) is loaded when there is work to do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = ["MIGRATIONS", "migrate"]

SET = "chainledger"


def _append_only(db: Database, table: str) -> None:
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
        )


def _m0001_log(db: Database) -> None:
    db.execute(
        "CREATE TABLE entries (seq INTEGER PRIMARY KEY, data BLOB NOT NULL, "
        "kind TEXT NOT NULL, actor TEXT NOT NULL, nonce TEXT NOT NULL)"
    )
    # (actor, nonce) is unique for the ledger's whole life: the replay guard.
    db.execute("CREATE UNIQUE INDEX entries_actor_nonce ON entries (actor, nonce)")
    db.execute("CREATE TABLE nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL)")
    db.execute(
        "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, "
        "note TEXT NOT NULL, ts TEXT NOT NULL)"
    )
    for table in ("entries", "nodes", "checkpoints"):
        _append_only(db, table)
    db.execute(
        "CREATE TABLE parties (id TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, "
        "public_key BLOB NOT NULL, status TEXT NOT NULL, since_seq INTEGER NOT NULL)"
    )


#: In order; never edit one that has shipped: add another.
MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = [
    ("0001_log", _m0001_log),
]


def _applied(conn: sqlite3.Connection) -> set[str]:
    try:
        rows = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (SET,)
        ).fetchall()
    except sqlite3.OperationalError:  # no migrations table yet: a new database
        return set()
    return {name for (name,) in rows}


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the pending migrations under ``BEGIN IMMEDIATE`` (a no-op when up to date)."""
    if _applied(conn) >= {name for name, _ in MIGRATIONS}:
        return
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(SET)
    for name, step in MIGRATIONS:
        migrations(name=name)(step)
    conn.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(Database(conn))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
