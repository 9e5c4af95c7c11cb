"""A read replica (a real PostgreSQL hot standby, streaming replication) serving proofs,
entries and holder/audit queries, with its lag handled: what the replica does not have yet
is answered by the primary, never from a smaller tree and never as "not found".

Lag is made deterministic by pausing the standby's WAL replay (``pg_wal_replay_pause``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from api_support import serve
from pg_support import PgCluster

from chainledger.domain import Domain
from chainledger.errors import Conflict, MalformedInput
from chainledger.ledger import Ledger
from chainledger.location import Location
from chainledger.proofs import InclusionProof


@pytest.fixture(scope="module")
def standby(pg_cluster: PgCluster) -> Iterator[PgCluster]:
    s = pg_cluster.start_standby()
    yield s
    s.stop()


def on_standby(standby: PgCluster, url: str) -> str:
    """The standby's URL of the primary's database ``url``."""
    return standby.url(url.rsplit("/", 1)[1])


def replay(standby: PgCluster, action: str) -> None:
    with psycopg.connect(standby.url(), autocommit=True) as conn:
        conn.execute(f"SELECT pg_wal_replay_{action}()")


def notes(ledger: Ledger, n: int) -> None:
    for i in range(n):
        ledger.append(ledger.platform_statement("note", text=f"note {i}"))


@pytest.fixture
def ledger_on_primary(pg_url: str, tmp_path: Path) -> Location:
    where = Location.of(pg_url, tmp_path / "keys")
    with Domain.init(where) as domain:
        notes(domain.ledger, 20)
    return where


def test_the_replica_serves_what_it_has_and_the_primary_the_rest(
    ledger_on_primary: Location, pg_cluster: PgCluster, standby: PgCluster
) -> None:
    where = ledger_on_primary
    assert where.url is not None
    pg_cluster.wait_for_standby(standby)
    with Domain.open(where, replica=on_standby(standby, where.url)) as domain:
        ledger = domain.ledger
        assert ledger.replica is not None
        old = ledger.size()
        assert ledger.reader(old) is ledger.replica  # caught up: the replica answers
        replay(standby, "pause")
        try:
            notes(ledger, 10)
            size = ledger.size()
            assert size == old + 10
            # The replica stops at `old`: anything needing more goes to the primary ...
            assert ledger.reader(size) is ledger.store
            assert ledger.reader(size, wait=0.2) is ledger.store  # waited, then gave up
            assert ledger.reader(old) is ledger.replica  # ... what it has, it still serves
            # ... and the answers are the whole tree's, never a smaller one's or "not found".
            root = ledger.root(size)
            for index in (0, old - 1, old, size - 1):
                proof = ledger.inclusion_proof(index, size)
                assert proof.tree_size == size
                proof.verify(ledger.suite.leaf(ledger.entry(index)), root)
            assert len(list(ledger.entries(0, size))) == size
            old_proof = ledger.inclusion_proof(3, old)  # from the replica
            assert old_proof == InclusionProof(3, old, old_proof.hashes)
            old_proof.verify(ledger.suite.leaf(ledger.entry(3)), ledger.root(old))
            assert ledger.consistency_proof(old, size).verify(ledger.root(old), root) is None
        finally:
            replay(standby, "resume")
        # Once replay resumes, the replica catches up and serves the new tree too.
        assert ledger.reader(size, wait=30) is ledger.replica
        assert ledger.inclusion_proof(size - 1, size).tree_size == size


def test_a_replica_must_hold_the_same_ledger(
    ledger_on_primary: Location, pg_cluster: PgCluster, standby: PgCluster, tmp_path: Path
) -> None:
    other_url = pg_cluster.create_database()
    try:
        Domain.init(Location.of(other_url, tmp_path / "other")).close()
        pg_cluster.wait_for_standby(standby)
        with pytest.raises(Conflict, match="another ledger"):
            Ledger.open(ledger_on_primary, replica=on_standby(standby, other_url))
    finally:
        pg_cluster.drop_database(other_url)


def test_a_replica_is_for_postgresql_ledgers_only(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    Domain.init(db).close()
    with pytest.raises(MalformedInput, match="PostgreSQL ledgers only"):
        Ledger.open(db, replica="postgresql://u@127.0.0.1:1/x")


def test_serve_with_a_replica_answers_proofs_while_it_lags(
    ledger_on_primary: Location, pg_cluster: PgCluster, standby: PgCluster
) -> None:
    """``chainledger serve --replica`` (here through ``CHAINLEDGER_REPLICA``): proofs of the
    latest tree are right even while the replica is paused behind it."""
    where = ledger_on_primary
    assert where.url is not None
    pg_cluster.wait_for_standby(standby)
    env = {"CHAINLEDGER_REPLICA": on_standby(standby, where.url)}
    with serve(where, env=env) as server, httpx.Client(base_url=server.url) as http:
        replay(standby, "pause")
        try:
            with Ledger.open(where) as ledger:
                notes(ledger, 5)
                size = ledger.size()
                root = ledger.root(size)
                leaf = ledger.suite.leaf(ledger.entry(size - 1))
            r = http.get("/v1/proofs/inclusion", params={"index": size - 1, "size": size})
            assert r.status_code == 200, r.text
            InclusionProof.from_json(r.json()).verify(leaf, root)
        finally:
            replay(standby, "resume")
