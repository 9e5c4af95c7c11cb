"""The replay guard: (party, nonce) claimed once until it expires, across processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_support import release_together, run_together

from chainledger.store.nonces import (
    MemoryNonceStore,
    NonceStore,
    PostgresNonceStore,
    SqliteNonceStore,
)

T0 = datetime(2026, 11, 26, 13, 45, tzinfo=UTC)
S = timedelta(seconds=1)

AnyStore = MemoryNonceStore | SqliteNonceStore | PostgresNonceStore
StoreFactory = Callable[..., AnyStore]


def open_shared(location: str, **kw: Any) -> SqliteNonceStore | PostgresNonceStore:
    """A nonce store every process can share: a SQLite file, or a PostgreSQL database."""
    if location.startswith("postgresql://"):
        return PostgresNonceStore(location, **kw)
    return SqliteNonceStore(location, **kw)


def _sqlite(_request: pytest.FixtureRequest, tmp: Path) -> StoreFactory:
    return lambda **kw: SqliteNonceStore(tmp / "ledger.db.nonces", **kw)


def _postgres(request: pytest.FixtureRequest, _tmp: Path) -> StoreFactory:
    url = request.getfixturevalue("pg_url")
    return lambda **kw: PostgresNonceStore(url, **kw)


def _memory(_request: pytest.FixtureRequest, _tmp: Path) -> StoreFactory:
    return lambda **kw: MemoryNonceStore(**kw)


FACTORIES = {"memory": _memory, "sqlite": _sqlite, "postgres": _postgres}


@pytest.fixture(params=sorted(FACTORIES))
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    opened: list[AnyStore] = []
    factory = FACTORIES[request.param](request, tmp_path)

    def make(**kw: object) -> AnyStore:
        s = factory(**kw)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


def test_first_claim_wins_second_is_refused(make_store: StoreFactory) -> None:
    s: NonceStore = make_store()
    assert s.claim("p_a", "n1", T0 + 60 * S, T0)
    assert not s.claim("p_a", "n1", T0 + 60 * S, T0)
    assert not s.claim("p_a", "n1", T0 + 999 * S, T0 + 30 * S)
    # the pair is (party, nonce): another party may use the same nonce, and vice versa
    assert s.claim("p_b", "n1", T0 + 60 * S, T0)
    assert s.claim("p_a", "n2", T0 + 60 * S, T0)


def test_refused_until_expiry_inclusive_then_claimable_again(make_store: StoreFactory) -> None:
    s = make_store()
    assert s.claim("p_a", "n", T0 + 60 * S, T0)
    assert not s.claim("p_a", "n", T0 + 60 * S, T0 + 60 * S)  # expires == now: still live
    assert s.claim("p_a", "n", T0 + 200 * S, T0 + 61 * S)
    # the new claim holds until its own expiry
    assert not s.claim("p_a", "n", T0 + 300 * S, T0 + 150 * S)


def test_purge_deletes_expired_pairs_only(make_store: StoreFactory) -> None:
    s = make_store(purge_every=10**9, purge_interval=timedelta(days=365))
    for i in range(5):
        assert s.claim("p_a", f"old{i}", T0 + 10 * S, T0)
    assert s.claim("p_a", "live", T0 + 100 * S, T0)
    assert len(s) == 6
    assert s.purge(T0 + 50 * S) == 5
    assert len(s) == 1
    assert s.claim("p_a", "old0", T0 + 200 * S, T0 + 50 * S)
    assert not s.claim("p_a", "live", T0 + 200 * S, T0 + 50 * S)


def test_purged_every_n_claims(make_store: StoreFactory) -> None:
    s = make_store(purge_every=3, purge_interval=timedelta(days=365))
    assert s.claim("p_a", "a", T0 + 1 * S, T0)  # the first claim of an instance purges
    later = T0 + 5 * S  # "a" has expired by now
    assert s.claim("p_a", "b", later + 60 * S, later)  # 1st claim since that purge
    assert s.claim("p_a", "c", later + 60 * S, later)  # 2nd
    assert len(s) == 3  # "a" is still stored
    assert s.claim("p_a", "d", later + 60 * S, later)  # 3rd: purges first
    assert len(s) == 3  # b, c, d


def test_purged_after_interval_of_now(make_store: StoreFactory) -> None:
    s = make_store(purge_every=10**9, purge_interval=timedelta(seconds=60))
    assert s.claim("p_a", "a", T0 + 1 * S, T0)  # first claim: purge (nothing there)
    assert s.claim("p_a", "b", T0 + 1 * S, T0 + 30 * S)
    assert len(s) == 2
    assert s.claim("p_a", "c", T0 + 200 * S, T0 + 60 * S)  # 60 s since the last purge
    assert len(s) == 1


def test_naive_datetimes_are_refused(make_store: StoreFactory) -> None:
    s = make_store()
    with pytest.raises(ValueError, match="naive"):
        s.claim("p_a", "n", datetime(2026, 1, 1), T0)
    with pytest.raises(ValueError, match="naive"):
        s.claim("p_a", "n", T0, datetime(2026, 1, 1))


def test_closed_store_refuses_and_close_is_idempotent(make_store: StoreFactory) -> None:
    s = make_store()
    s.close()
    s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.claim("p_a", "n", T0 + S, T0)


def test_concurrent_threads_exactly_one_wins(make_store: StoreFactory) -> None:
    s = make_store()
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def run() -> None:
        barrier.wait()
        results.append(s.claim("p_a", "race", T0 + 60 * S, T0))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


# --- SQLite and PostgreSQL: one store shared by several processes ------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a shared nonce store lives: a SQLite file's path, or a PostgreSQL URL."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "ledger.db.nonces")


def test_two_instances_on_one_file_refuse_a_replay(shared: str) -> None:
    a, b = open_shared(shared), open_shared(shared)
    try:
        assert a.claim("p_a", "n", T0 + 60 * S, T0)
        assert not b.claim("p_a", "n", T0 + 60 * S, T0 + 1 * S)
        assert b.claim("p_a", "m", T0 + 60 * S, T0)
        assert not a.claim("p_a", "m", T0 + 60 * S, T0 + 1 * S)
        # an expired claim made by one instance is claimable through the other
        assert b.claim("p_a", "n", T0 + 500 * S, T0 + 61 * S)
        assert not a.claim("p_a", "n", T0 + 500 * S, T0 + 62 * S)
    finally:
        a.close()
        b.close()


def test_claims_survive_reopening(shared: str) -> None:
    s = open_shared(shared)
    assert s.claim("p_a", "n", T0 + 60 * S, T0)
    s.close()
    s = open_shared(shared)
    try:
        assert not s.claim("p_a", "n", T0 + 60 * S, T0)
    finally:
        s.close()


def test_file_is_wal_with_the_documented_table(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    SqliteNonceStore(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        cols = [r[1] for r in conn.execute("PRAGMA table_info(nonces)")]
        assert cols == ["party", "nonce", "expires"]
        pk = [r[1] for r in conn.execute("PRAGMA table_info(nonces)") if r[5]]
        assert pk == ["party", "nonce"]
    finally:
        conn.close()


_CLAIM_SCRIPT = """
import sys
from datetime import UTC, datetime, timedelta
from chainledger.store.nonces import PostgresNonceStore, SqliteNonceStore
t0 = datetime(2026, 11, 26, 13, 45, tzinfo=UTC)
where = sys.argv[1]
s = PostgresNonceStore(where) if where.startswith("postgresql://") else SqliteNonceStore(where)
sys.stdin.readline()  # start together
print(s.claim("p_a", "race", t0 + timedelta(seconds=60), t0))
s.close()
"""


def test_separate_processes_exactly_one_wins(shared: str) -> None:
    open_shared(shared).close()  # create the schema first
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIM_SCRIPT, shared],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outs = [out.strip() for out, _ in release_together(procs, timeout=60)]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(outs) == ["False", "False", "False", "True"]


def test_postgres_table_is_the_documented_one(pg_url: str) -> None:
    PostgresNonceStore(pg_url).close()
    PostgresNonceStore(pg_url).close()  # a second opener finds the table
    with psycopg.connect(pg_url, autocommit=True) as conn:
        cols = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'chainledger' AND table_name = 'nonces' ORDER BY ordinal_position"
        ).fetchall()
        assert cols == [("party", "text"), ("nonce", "text"), ("expires", "bigint")]
        pk = conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'chainledger.nonces'::regclass "
            "AND i.indisprimary ORDER BY a.attnum"
        ).fetchall()
        assert pk == [("party",), ("nonce",)]


def test_concurrent_first_users_of_postgres_create_the_table_once(pg_url: str) -> None:
    assert run_together([lambda: PostgresNonceStore(pg_url).close()] * 4) == []


# --- the backends agree ---------------------------------------------------------------------

ops = st.lists(
    st.tuples(
        st.sampled_from(["p_a", "p_b"]),
        st.sampled_from(["n1", "n2", "n3"]),
        st.integers(-5, 30),  # expiry, seconds after now
        st.integers(0, 20),  # how far now advances first
    ),
    max_size=40,
)


def agree_with_a_model(stores: list[NonceStore], ops: list[tuple[str, str, int, int]]) -> None:
    """Run ``ops`` on every store: each claim answers as a dict of expiries would."""
    model: dict[tuple[str, str], datetime] = {}
    now = T0
    for party, nonce, exp, step in ops:
        now += step * S
        expires = now + exp * S
        held = model.get((party, nonce))
        want = held is None or held < now
        if want:
            model[(party, nonce)] = expires
        for s in stores:
            assert s.claim(party, nonce, expires, now) is want


@settings(max_examples=60, deadline=None)
@given(ops=ops, purge_every=st.integers(1, 5))
def test_sqlite_and_memory_agree_with_a_model(
    ops: list[tuple[str, str, int, int]], purge_every: int
) -> None:
    with tempfile.TemporaryDirectory() as d:
        sq = SqliteNonceStore(Path(d) / "n.db", purge_every=purge_every)
        mem = MemoryNonceStore(purge_every=purge_every)
        try:
            agree_with_a_model([sq, mem], ops)
        finally:
            sq.close()
            mem.close()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops, purge_every=st.integers(1, 5))
def test_postgres_agrees_with_a_model(
    pg_url: str, ops: list[tuple[str, str, int, int]], purge_every: int
) -> None:
    pg = PostgresNonceStore(pg_url, purge_every=purge_every, pool_size=1)
    try:
        pg.purge(T0 + timedelta(days=3650))  # forget the previous example's claims
        agree_with_a_model([pg], ops)
    finally:
        pg.close()
