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
    # nonce_key: the first 8 bytes of SHA-256(actor || 0x0A || nonce) as a signed integer,
    # unique for the ledger's whole life (the replay guard). An 8-byte key instead of the
    # two strings keeps the index small; a collision (p ~ n^2 / 2^65) only refuses a
    # statement as a replay, which its actor can resend with a fresh nonce.
    db.execute(
        "CREATE TABLE entries (seq INTEGER PRIMARY KEY, data BLOB NOT NULL, "
        "nonce_key INTEGER NOT NULL)"
    )
    db.execute("CREATE UNIQUE INDEX entries_nonce_key ON entries (nonce_key)")
    db.execute("CREATE TABLE nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL)")
    db.execute(
        "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, "
        "note TEXT NOT NULL, ts TEXT NOT NULL)"
    )
    for table in ("entries", "nodes", "checkpoints"):
        _append_only(db, table)
    db.execute(
        "CREATE TABLE parties (id TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, "
        "public_key BLOB NOT NULL, status TEXT NOT NULL, since_seq INTEGER NOT NULL, "
        "attrs TEXT NOT NULL)"
    )


def _m0002_domain(db: Database) -> None:
    # Projections (rebuilt by verify). Definitions are canonical JSON text.
    db.execute("CREATE TABLE classes (id TEXT PRIMARY KEY, def TEXT NOT NULL, seq INTEGER)")
    db.execute("CREATE TABLE scenarios (id TEXT PRIMARY KEY, def TEXT NOT NULL, seq INTEGER)")
    db.execute(
        "CREATE TABLE assets (id TEXT PRIMARY KEY, class TEXT NOT NULL, holder TEXT NOT NULL, "
        "issuer TEXT NOT NULL, status TEXT NOT NULL, valid_from TEXT NOT NULL, "
        "valid_until TEXT, seq INTEGER NOT NULL, authorized_seq INTEGER)"
    )
    db.execute("CREATE INDEX assets_holder ON assets (holder)")
    db.execute(
        "CREATE TABLE grants (id TEXT PRIMARY KEY, holder TEXT NOT NULL, grantee TEXT, "
        "scenario TEXT NOT NULL, purpose TEXT NOT NULL, scope TEXT NOT NULL, assets TEXT, "
        "not_before TEXT NOT NULL, expires TEXT NOT NULL, max_uses INTEGER NOT NULL, "
        "uses INTEGER NOT NULL, secret_hash TEXT, status TEXT NOT NULL, seq INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX grants_holder ON grants (holder)")
    # The access log: one row per counter request (read or refusal). Ids are interned
    # as small integers (table names) so that the log and its indexes stay compact:
    # SQLite stores each index entry as (key, seq), so one-column indexes serve
    # "this holder's reads in seq (= time) order".
    db.execute("CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    db.execute(
        "CREATE TABLE access (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, "
        "counter INTEGER NOT NULL, holder INTEGER, asset INTEGER, class INTEGER, "
        "issuer INTEGER, grant_id INTEGER, purpose INTEGER, outcome INTEGER NOT NULL, "
        "reason INTEGER)"
    )
    for column in ("ts", "counter", "holder", "asset", "issuer", "purpose"):
        db.execute(f"CREATE INDEX access_{column} ON access ({column})")
    # Not projections, never on the ledger: the vault (erasable) and identity bindings.
    db.execute(
        "CREATE TABLE vault (asset TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL, "
        "nonce BLOB NOT NULL, ciphertext BLOB NOT NULL)"
    )
    db.execute("CREATE TABLE bindings (keyed_hash BLOB PRIMARY KEY, party TEXT NOT NULL)")


def _m0003_cosignatures(db: Database) -> None:
    # Witness cosignatures of checkpoints (chainledger.witness): not ledger entries and not
    # projections (nothing derives them from the log), so not append-only either: a witness's
    # newer cosignature of the same size replaces its older one. ``line`` is the C2SP
    # signature line, ``timestamp`` its cosignature time (Unix seconds).
    db.execute(
        "CREATE TABLE cosignatures (size INTEGER NOT NULL, witness TEXT NOT NULL, "
        "line TEXT NOT NULL, timestamp INTEGER NOT NULL, PRIMARY KEY (size, witness))"
    )


def _m0004_party_keys(db: Database) -> None:
    # Every key a party has had, by the seq of the entry that gave it (register, rotate,
    # reinstate): so a signature made before a rotation is checked against the key of its
    # time. A projection, rebuilt by verify. Ledgers made before this migration are
    # backfilled from their own entries (a one-time scan of the party kinds).
    import base64
    import json

    from chainledger.store.entry_codec import decode_stored

    db.execute(
        "CREATE TABLE party_keys (party TEXT NOT NULL, seq INTEGER NOT NULL, "
        "key BLOB NOT NULL, PRIMARY KEY (party, seq))"
    )
    rows = []
    for (stored,) in db.execute("SELECT data FROM entries ORDER BY seq").fetchall():
        entry = json.loads(decode_stored(bytes(stored)))
        stmt = entry["stmt"]
        if stmt["kind"] in ("party.register", "party.reinstate"):
            party = stmt["party"]
        elif stmt["kind"] in ("party.rotate", "genesis"):
            party = stmt["actor"]
        else:
            continue
        rows.append((party, entry["seq"], base64.b64decode(stmt["key"])))
    db.conn.executemany("INSERT INTO party_keys (party, seq, key) VALUES (?, ?, ?)", rows)


#: In order; never edit one that has shipped: add another.
MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = [
    ("0001_log", _m0001_log),
    ("0002_domain", _m0002_domain),
    ("0003_cosignatures", _m0003_cosignatures),
    ("0004_party_keys", _m0004_party_keys),
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
