"""What only the PostgreSQL store has to show (the contract suite runs on it too): opening
and migrating a database, its messages (never a password), append-only triggers, the
durability and isolation it insists on, the write lock and the write cache, a hot standby."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg_support import PgCluster, run_together

from chainledger.errors import MalformedInput, NotFound
from chainledger.store.base import CheckpointRow, EntryRow, PartyRow
from chainledger.store.postgres import WRITE_LOCK, PostgresStore, postgres_exists
from chainledger.store.postgres_schema import MIGRATIONS

PASSWORD = "s3cr3t-pw"


def with_password(url: str) -> str:
    """``url`` with a password in it (trust authentication ignores it)."""
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


def row(seq: int) -> EntryRow:
    return EntryRow(seq, f'{{"seq":{seq}}}'.encode(), "note", "p_aaaaaaaaaaaaaaaa", f"n{seq}")


def cp(size: int) -> CheckpointRow:
    return CheckpointRow(
        size, bytes([size % 256]) * 32, f"note {size}\n", "2026-11-26T00:00:00.000Z"
    )


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_url, create=True)
    yield s
    s.close()


def sql(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


# --- opening -----------------------------------------------------------------------------------


def test_an_empty_database_is_not_found_and_left_untouched(pg_url: str) -> None:
    url = with_password(pg_url)
    with pytest.raises(NotFound) as info:
        PostgresStore(url)
    message = str(info.value)
    assert PASSWORD not in message
    assert "\n" not in message
    assert pg_url.rsplit("/", 1)[1] in message  # names the database
    assert not postgres_exists(url)
    assert sql(pg_url, "SELECT 1 FROM pg_namespace WHERE nspname = 'chainledger'") == []


def test_an_unreachable_server_is_not_found_without_the_password(pg_cluster: PgCluster) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/nowhere"
    with pytest.raises(NotFound) as info:
        PostgresStore(url, create=True)
    assert PASSWORD not in str(info.value)
    assert "\n" not in str(info.value)
    assert "127.0.0.1:1/nowhere" in str(info.value)
    missing_db = pg_cluster.url("no_such_database")
    with pytest.raises(NotFound, match="no_such_database"):
        PostgresStore(missing_db, create=True)


def test_a_malformed_url_is_malformed_input_without_its_text() -> None:
    with pytest.raises(MalformedInput) as info:
        PostgresStore(f"password={PASSWORD} nonsense")
    assert PASSWORD not in str(info.value)


def test_repr_names_the_database_without_the_password(pg_url: str) -> None:
    s = PostgresStore(with_password(pg_url), create=True)
    try:
        assert PASSWORD not in repr(s)
        assert PASSWORD not in s.where
        assert s.where.startswith("postgresql://postgres@127.0.0.1:")
    finally:
        s.close()


def test_create_migrates_once_in_the_chainledger_schema(pg_url: str) -> None:
    PostgresStore(pg_url, create=True).close()
    assert postgres_exists(pg_url)
    names = [r[0] for r in sql(pg_url, "SELECT name FROM chainledger.migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    tables = {
        r[0]
        for r in sql(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'chainledger'")
    }
    assert {"entries", "nodes", "checkpoints", "parties", "access", "commit_counter"} <= tables
    assert sql(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []
    # Opening again, with or without create, finds nothing to do.
    PostgresStore(pg_url).close()
    PostgresStore(pg_url, create=True).close()
    assert len(sql(pg_url, "SELECT name FROM chainledger.migrations")) == len(MIGRATIONS)


def test_concurrent_openers_migrate_exactly_once(pg_url: str) -> None:
    assert run_together([lambda: PostgresStore(pg_url, create=True).close()] * 6) == []
    assert len(sql(pg_url, "SELECT name FROM chainledger.migrations")) == len(MIGRATIONS)


# --- append-only ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE entries SET data = data || '\\x20'::bytea WHERE seq = 1",
        "UPDATE entries SET nonce_key = 0 WHERE seq = 1",
        "DELETE FROM entries WHERE seq = 1",
        "DELETE FROM entries",
        "TRUNCATE entries",
        "UPDATE nodes SET hash = '\\x00'::bytea",
        "DELETE FROM nodes",
        "TRUNCATE nodes CASCADE",
        "UPDATE checkpoints SET note = note || 'x'",
        "DELETE FROM checkpoints WHERE size = 2",
        "TRUNCATE checkpoints",
    ],
)
def test_triggers_refuse_update_delete_and_truncate(
    store: PostgresStore, pg_url: str, statement: str
) -> None:
    with store.write() as w:
        w.add_entries([row(0), row(1)])
        w.add_nodes([((0, 0), b"a" * 32)])
        w.add_checkpoint(cp(2))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET search_path TO chainledger")
        with pytest.raises(psycopg.IntegrityError, match="append-only"):
            conn.execute(statement)
    assert list(store.entries(0, 5)) == [(0, row(0).data), (1, row(1).data)]
    assert store.nodes([(0, 0)]) == {(0, 0): b"a" * 32}
    assert store.latest_checkpoint() == cp(2)


# --- durability, isolation, the write lock -----------------------------------------------------


def test_commits_are_synchronous_even_if_the_database_says_otherwise(pg_url: str) -> None:
    dbname = pg_url.rsplit("/", 1)[1]
    sql(pg_url, f"ALTER DATABASE {dbname} SET synchronous_commit = off")
    s = PostgresStore(pg_url, create=True)
    try:
        with s.write() as w:
            assert w._c().execute("SHOW synchronous_commit").fetchone() == ("on",)
        assert s._c().execute("SHOW synchronous_commit").fetchone() == ("on",)
    finally:
        s.close()


def test_writers_stay_read_committed_under_a_serializable_default(pg_url: str) -> None:
    """With the server's default isolation SERIALIZABLE, writers that waited for the lock
    would see a stale tip and fail; the store asks for READ COMMITTED explicitly."""
    dbname = pg_url.rsplit("/", 1)[1]
    sql(pg_url, f"ALTER DATABASE {dbname} SET default_transaction_isolation = 'serializable'")
    stores = [PostgresStore(pg_url, create=True) for _ in range(2)]

    def writer(s: PostgresStore) -> None:
        for _ in range(40):
            with s.write() as w:
                level = w._c().execute("SHOW transaction_isolation").fetchone()
                assert level == ("read committed",)
                size = (w.latest_checkpoint() or cp(0)).size
                w.add_entries([row(size)])
                w.add_checkpoint(cp(size + 1))

    try:
        assert run_together([functools.partial(writer, s) for s in stores * 2]) == []
        assert [seq for seq, _ in stores[0].entries(0, 500)] == list(range(160))
        with stores[0].reading() as r:
            level = r._c().execute("SHOW transaction_isolation").fetchone()
            assert level == ("repeatable read",)
    finally:
        for s in stores:
            s.close()


def test_a_write_holds_the_advisory_lock_until_it_commits(
    store: PostgresStore, pg_url: str
) -> None:
    def holders() -> list[tuple[Any, ...]]:
        return sql(
            pg_url,
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            (WRITE_LOCK & 0xFFFFFFFFFFFFFFFF,),
        )

    assert holders() == []
    with store.write() as w:
        pid = w._c().execute("SELECT pg_backend_pid()").fetchone()
        assert holders() == [pid]
    assert holders() == []


def test_the_write_cache_survives_this_stores_own_writes(store: PostgresStore) -> None:
    a = PartyRow("p_aaaaaaaaaaaaaaaa", "issuer", "a", b"1" * 32, "active", 0)
    with store.write() as w:
        w.put_party(a)
    cache = store._cache
    assert cache is not None
    for _ in range(3):
        with store.write() as w:
            assert w.party(a.id) == a
    assert store._cache is cache
    assert cache.rows["party"] == {a.id: a}


def test_nested_transactions_on_one_thread_are_refused(store: PostgresStore) -> None:
    with store.write(), pytest.raises(RuntimeError, match="already open"), store.write():
        pass
    with store.reading(), pytest.raises(RuntimeError, match="already open"), store.write():
        pass
    with store.write() as w:  # the store is still usable
        w.add_entries([row(0)])
    assert store.entry(0) == row(0).data


def test_a_small_pool_serves_many_threads(pg_url: str) -> None:
    s = PostgresStore(pg_url, create=True, pool_size=2)

    def work(k: int) -> None:
        for i in range(20):
            with s.reading() as r:
                r.latest_checkpoint()
            s.party(f"p_{k}_{i}")
        with s.write() as w:
            w.put_party(PartyRow(f"p_{k}", "issuer", "x", b"k" * 32, "active", k))

    try:
        assert run_together([functools.partial(work, k) for k in range(8)]) == []
        assert len(s.parties()) == 8
        dbname = pg_url.rsplit("/", 1)[1]
        connections = sql(
            pg_url, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (dbname,)
        )
        assert connections[0][0] <= 2 + 1  # the pool's, and this query's own
    finally:
        s.close()


# --- a hot standby ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standby(pg_cluster: PgCluster) -> Iterator[PgCluster]:
    s = pg_cluster.start_standby()
    yield s
    s.stop()


def test_a_hot_standby_opens_read_only(
    store: PostgresStore, pg_url: str, pg_cluster: PgCluster, standby: PgCluster
) -> None:
    """A read replica (PostgreSQL streaming replication) opens as a store without writing
    anything (no migration lock), and reads what the primary committed."""
    with store.write() as w:
        w.add_entries([row(0), row(1)])
        w.add_checkpoint(cp(2))
    pg_cluster.wait_for_standby(standby)
    replica = PostgresStore(standby.url(pg_url.rsplit("/", 1)[1]))
    try:
        assert replica.latest_checkpoint() == cp(2)
        with replica.reading() as r:
            assert list(r.entries(0, 5)) == list(store.entries(0, 5))
        with pytest.raises(psycopg.Error, match=r"recovery|read-only"), replica.write() as w:
            w.add_entries([row(2)])
    finally:
        replica.close()


def test_backup_path_must_not_exist(store: PostgresStore, tmp_path: Path) -> None:
    dest = tmp_path / "b.db"
    dest.write_bytes(b"")
    with pytest.raises(Exception, match="exists"):
        store.backup(dest)
    assert dest.read_bytes() == b""


def test_missing_server_binaries_are_an_error_that_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pg_support

    monkeypatch.setattr(pg_support, "BIN_GLOB", "/nonexistent/postgresql/*/bin/initdb")
    with pytest.raises(pg_support.PostgresMissing, match="apt-get install postgresql"):
        pg_support.find_bindir()
