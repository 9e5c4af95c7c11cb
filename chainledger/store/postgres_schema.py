"""The PostgreSQL schema, as named migrations (the same names as `sqlite_schema`'s).

The tables mirror the SQLite ones column for column and in the same order (so
``SELECT *`` rows compare across backends): ``INTEGER`` is ``bigint``, ``BLOB`` is
``bytea``, and every ``TEXT`` is ``text COLLATE "C"``, byte order, as SQLite's
``BINARY`` collation: ``ORDER BY id`` must list rows exactly as SQLite does, whatever
the database's default collation.

Everything lives in the PostgreSQL schema ``chainledger`` (`postgres_connection.SCHEMA`).
Each migration runs once, in order, and is recorded in ``chainledger.migrations``; the
whole check-and-apply runs in one transaction under ``pg_advisory_xact_lock``
(`schema_lock`), so several processes opening one database at once apply each migration
exactly once (the others wait, then find nothing to do). The nonce store's table
(`chainledger.store.nonces.PostgresNonceStore`) is created under the same lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from psycopg import IsolationLevel

from chainledger.errors import NotFound
from chainledger.store.postgres_connection import SCHEMA, Conn, advisory_key
from chainledger.store.sqlite import PROJECTIONS

__all__ = ["MIGRATIONS", "TABLES", "ledger_exists", "migrate", "schema_lock", "table_exists"]

MIGRATE_LOCK = advisory_key("migrate")
TEXT = 'text COLLATE "C"'

#: Every table of the ledger with its primary key, in the order a copy writes them
#: (what `backup` copies; the SQLite schema has the same tables).
TABLES: dict[str, str] = {
    "entries": "seq",
    "nodes": "id",
    "checkpoints": "size",
    **PROJECTIONS,
    "vault": "asset",
    "bindings": "keyed_hash",
    "cosignatures": "size, witness",
}


def _append_only(c: Conn, table: str) -> None:
    # TRUNCATE skips row triggers: refuse it with a statement trigger.
    for op, scope in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
        c.execute(
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"FOR EACH {scope} EXECUTE FUNCTION append_only()"
        )


def _m0001_log(c: Conn) -> None:
    # nonce_key: as in SQLite (`chainledger.store.sqlite.nonce_key`), the replay guard.
    c.execute(
        "CREATE TABLE entries (seq bigint PRIMARY KEY, data bytea NOT NULL, "
        "nonce_key bigint NOT NULL)"
    )
    c.execute("CREATE UNIQUE INDEX entries_nonce_key ON entries (nonce_key)")
    c.execute("CREATE TABLE nodes (id bigint PRIMARY KEY, hash bytea NOT NULL)")
    c.execute(
        f"CREATE TABLE checkpoints (size bigint PRIMARY KEY, root bytea NOT NULL, "
        f"note {TEXT} NOT NULL, ts {TEXT} NOT NULL)"
    )
    # SQLSTATE 23000 (integrity_constraint_violation): psycopg raises IntegrityError, as
    # sqlite3 does for its RAISE(ABORT) triggers.
    c.execute(
        "CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION '% are append-only', TG_TABLE_NAME "
        "USING ERRCODE = 'integrity_constraint_violation'; END $$"
    )
    for table in ("entries", "nodes", "checkpoints"):
        _append_only(c, table)
    c.execute(
        f"CREATE TABLE parties (id {TEXT} PRIMARY KEY, role {TEXT} NOT NULL, "
        f"name {TEXT} NOT NULL, public_key bytea NOT NULL, status {TEXT} NOT NULL, "
        f"since_seq bigint NOT NULL, attrs {TEXT} NOT NULL)"
    )
    # Not in SQLite (whose PRAGMA data_version does the job): one row counting the
    # committed write transactions. Each writer increments it right after taking the
    # write lock, which tells it whether anyone else committed since its own last
    # commit (`PostgresStore.write`: its cache is then stale).
    c.execute(
        "CREATE TABLE commit_counter (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
        "n bigint NOT NULL)"
    )
    c.execute("INSERT INTO commit_counter (n) VALUES (0)")


def _m0002_domain(c: Conn) -> None:
    c.execute(f"CREATE TABLE classes (id {TEXT} PRIMARY KEY, def {TEXT} NOT NULL, seq bigint)")
    c.execute(f"CREATE TABLE scenarios (id {TEXT} PRIMARY KEY, def {TEXT} NOT NULL, seq bigint)")
    c.execute(
        f"CREATE TABLE assets (id {TEXT} PRIMARY KEY, class {TEXT} NOT NULL, "
        f"holder {TEXT} NOT NULL, issuer {TEXT} NOT NULL, status {TEXT} NOT NULL, "
        f"valid_from {TEXT} NOT NULL, valid_until {TEXT}, seq bigint NOT NULL, "
        "authorized_seq bigint)"
    )
    # SQLite's indexes carry the rowid (here: the seq order the queries ask for) implicitly;
    # PostgreSQL's need it spelled out.
    c.execute("CREATE INDEX assets_holder ON assets (holder, seq)")
    c.execute(
        f"CREATE TABLE grants (id {TEXT} PRIMARY KEY, holder {TEXT} NOT NULL, grantee {TEXT}, "
        f"scenario {TEXT} NOT NULL, purpose {TEXT} NOT NULL, scope {TEXT} NOT NULL, "
        f"assets {TEXT}, not_before {TEXT} NOT NULL, expires {TEXT} NOT NULL, "
        f"max_uses bigint NOT NULL, uses bigint NOT NULL, secret_hash {TEXT}, "
        f"status {TEXT} NOT NULL, seq bigint NOT NULL)"
    )
    c.execute("CREATE INDEX grants_holder ON grants (holder, seq)")
    c.execute(f"CREATE TABLE names (id bigint PRIMARY KEY, name {TEXT} NOT NULL UNIQUE)")
    c.execute(
        "CREATE TABLE access (seq bigint PRIMARY KEY, ts bigint NOT NULL, "
        "counter bigint NOT NULL, holder bigint, asset bigint, class bigint, "
        "issuer bigint, grant_id bigint, purpose bigint, outcome bigint NOT NULL, "
        "reason bigint)"
    )
    for column in ("ts", "counter", "holder", "asset", "issuer", "purpose"):
        c.execute(f"CREATE INDEX access_{column} ON access ({column}, seq)")
    c.execute(
        f"CREATE TABLE vault (asset {TEXT} PRIMARY KEY, wrapped_key bytea NOT NULL, "
        "nonce bytea NOT NULL, ciphertext bytea NOT NULL)"
    )
    c.execute(f"CREATE TABLE bindings (keyed_hash bytea PRIMARY KEY, party {TEXT} NOT NULL)")


def _m0003_cosignatures(c: Conn) -> None:
    c.execute(
        f"CREATE TABLE cosignatures (size bigint NOT NULL, witness {TEXT} NOT NULL, "
        f"line {TEXT} NOT NULL, timestamp bigint NOT NULL, PRIMARY KEY (size, witness))"
    )


def _m0004_party_keys(c: Conn) -> None:
    # No backfill, unlike SQLite's: every PostgreSQL ledger was created with this table.
    c.execute(
        f"CREATE TABLE party_keys (party {TEXT} NOT NULL, seq bigint NOT NULL, "
        "key bytea NOT NULL, PRIMARY KEY (party, seq))"
    )


#: In order; never edit one that has shipped: add another (with the SQLite one's name).
MIGRATIONS: list[tuple[str, Callable[[Conn], None]]] = [
    ("0001_log", _m0001_log),
    ("0002_domain", _m0002_domain),
    ("0003_cosignatures", _m0003_cosignatures),
    ("0004_party_keys", _m0004_party_keys),
]


def table_exists(conn: Conn, table: str) -> bool:
    """Whether the chainledger schema has ``table``.

    The catalog is read as a table, with the statement's snapshot: a name lookup such as
    ``to_regclass()`` or ``IF NOT EXISTS`` goes through the backend's catalog cache, which
    may not have heard yet of DDL committed while this transaction waited for a lock.
    """
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s "
        "AND tablename = %s)",
        (SCHEMA, table),
    ).fetchone()
    return bool(row and row[0])


def ledger_exists(conn: Conn) -> bool:
    """Whether this database holds a chainledger schema (its migrations table)."""
    return table_exists(conn, "migrations")


@contextmanager
def schema_lock(conn: Conn) -> Iterator[None]:
    """A transaction on ``conn`` (autocommit) holding the schema's advisory lock, in which
    the ``chainledger`` schema exists: every change to the schema is made under it."""
    # READ COMMITTED, whatever the server's default: what is looked up after the lock must
    # include what a process we waited for committed (`chainledger.store.postgres`).
    conn.isolation_level = IsolationLevel.READ_COMMITTED
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s)",
            (SCHEMA,),
        ).fetchone()
        if not (row and row[0]):
            conn.execute(f"CREATE SCHEMA {SCHEMA}")
        yield


def _pending(conn: Conn) -> list[str]:
    applied = {name for (name,) in conn.execute(f"SELECT name FROM {SCHEMA}.migrations")}
    return [name for name, _ in MIGRATIONS if name not in applied]


def migrate(conn: Conn, *, create: bool, where: str) -> None:
    """Apply the pending migrations.

    ``conn`` is an autocommit connection. Without ``create``, a database with no
    chainledger schema is `NotFound` (``where`` names it in the message). An up-to-date
    schema is only read, without the lock: a read-only hot standby opens too.
    """
    if ledger_exists(conn):
        if not _pending(conn):
            return
    elif not create:
        raise NotFound(f"no ledger in {where} (no {SCHEMA} schema)")
    with schema_lock(conn):
        # Under the lock, look again: another process may have migrated meanwhile.
        if not ledger_exists(conn):
            conn.execute(
                f"CREATE TABLE {SCHEMA}.migrations (name {TEXT} PRIMARY KEY, "
                "applied timestamptz NOT NULL DEFAULT now())"
            )
        pending = set(_pending(conn))
        for name, step in MIGRATIONS:
            if name in pending:
                step(conn)
                conn.execute(f"INSERT INTO {SCHEMA}.migrations (name) VALUES (%s)", (name,))
