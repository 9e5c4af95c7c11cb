"""The store failing under the API: a corrupt stored row, a lost PostgreSQL connection,
and the throwaway clusters of killed test runs.

* A stored row that does not read back as an entry's text (a compact row that no longer
  unpacks, bytes that are not UTF-8), or a missing Merkle node, is the server's fault:
  the problem ``ledger_corrupt`` (500) naming the seq and `chainledger verify`, logged at
  ERROR, never quoting the entry; the rows around it are still served. An edit that
  still reads as text is served as stored, for the client's checks to catch.
* A PostgreSQL connection lost mid-request (``pg_terminate_backend``) is the problem
  ``store_unavailable`` (503, Retry-After), never a 500; the pools recover, the next
  request succeeds, and a write caught in it is all or nothing (`verify` passes).
* `pg_support.sweep_orphans` stops and removes a cluster whose owner process is gone.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from api_support import grant_statement, serve, signer
from domain_support import Cast, make_cast
from evidence_support import verify_cli
from fastapi.testclient import TestClient
from support import attacker, read_stored

from api.app import create_app
from api.errors import PROBLEM
from api.routes.writes import read_text
from api.settings import Settings
from chainledger.domain import ReadResult
from chainledger.errors import LedgerCorrupt, StoreUnavailable
from chainledger.ledger import Ledger
from chainledger.location import Location
from chainledger.proofs import InclusionProof
from chainledger.receipt import Receipt
from chainledger.store.entry_codec import decode_stored
from chainledger.store.postgres_connection import connection_lost
from chainledger.store.projections import AssetRow
from chainledger.store.sqlite import node_id
from chainledger.verify import verify_ledger

# --- a corrupt stored row (SQLite, in process) ------------------------------------------------


def values_of(entry: bytes) -> set[str]:
    """Every string and number in an entry (its field values, ids, signature), long enough
    that finding one in a response is not chance."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) >= 6:
            found.add(str(v))

    walk(json.loads(entry))
    return found


def corrupt(db: Path, seq: int, how: str) -> bytes:
    """Corrupt entry ``seq`` of the closed ledger ``db`` ``how``; its canonical bytes before."""
    stored = read_stored(db, seq)
    before = decode_stored(stored)
    if how == "truncated":  # the compact row no longer unpacks (and is not UTF-8)
        assert stored[:1] == b"\x02"
        data = stored[: len(stored) // 2]
    elif how == "sig_bit":  # still unpacks, to an entry whose signature changed
        data = bytearray(stored)
        data[40] ^= 0x01
        data = bytes(data)
    elif how == "not_text":  # raw bytes that are not UTF-8 (as an attacker might write)
        data = b'{"prev":"\xff\xfe"}'
    else:  # raw JSON written back with one value changed
        assert how == "raw_json"
        text = json.loads(before)
        text["ts"] = "2000-01-01T00:00:00.000Z"
        data = json.dumps(text).encode()
    with attacker(db, "entries_no_update") as conn:
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (data, seq))
    return before


@pytest.fixture
def cast_path(cast_db: tuple[Cast, Path]) -> tuple[Cast, Path]:
    return cast_db


def app(db: Path) -> TestClient:
    return TestClient(create_app(Settings(db=db)), raise_server_exceptions=False)


def corrupt_problem(r: httpx.Response, seq: int, leaked: set[str]) -> dict[str, Any]:
    """``r`` is the ``ledger_corrupt`` problem naming ``seq``, quoting none of ``leaked``."""
    assert r.status_code == 500, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["code"] == "ledger_corrupt", body
    assert body["status"] == 500
    assert body["title"] == "Stored ledger data fails its check"
    assert body["seq"] == seq
    assert f"seq {seq}:" in body["detail"]
    assert "chainledger verify" in body["detail"]
    assert not [v for v in leaked if v in r.text], "a stored value leaked"
    return body


def party_seq(cast: Cast, db: Path, party: str) -> int:
    with closing(sqlite3.connect(db)) as conn:
        (seq,) = conn.execute("SELECT since_seq FROM parties WHERE id = ?", (party,)).fetchone()
    return int(seq)


@pytest.mark.parametrize("how", ["truncated", "not_text"])
def test_a_row_that_does_not_decode_is_a_ledger_corrupt_problem_and_the_others_are_served(
    cast_path: tuple[Cast, Path], how: str, caplog: pytest.LogCaptureFixture
) -> None:
    cast, db = cast_path
    seq = party_seq(cast, db, cast.bus.id)  # the bus counter's party.register
    before = corrupt(db, seq, how)
    leaked = values_of(before) | {cast.citizen_name, cast.citizen_id_number}
    with app(db) as c, caplog.at_level(logging.ERROR, logger="chainledger.api"):
        auth = signer(cast.citizen)
        corrupt_problem(c.get("/v1/entries", params={"start": 0}, auth=auth), seq, leaked)
        # The same on the public party route, which serves the key's entry.
        corrupt_problem(c.get(f"/v1/parties/{cast.bus.id}"), seq, leaked)
        # Everything else is still served: the entries before and after, the other
        # parties, the holder's history (projections), proofs.
        r = c.get("/v1/entries", params={"start": 0, "limit": seq}, auth=auth)
        assert r.status_code == 200, r.text
        assert len(r.json()["entries"]) == seq
        r = c.get("/v1/entries", params={"start": seq + 1}, auth=auth)
        assert r.status_code == 200, r.text
        assert json.loads(r.json()["entries"][0])["seq"] == seq + 1
        assert c.get(f"/v1/parties/{cast.hotel.id}").status_code == 200
        assert c.get(f"/v1/holders/{cast.citizen.id}/history", auth=auth).status_code == 200
        assert c.get("/v1/proofs/inclusion", params={"index": seq}).status_code == 200
    logged = [rec for rec in caplog.records if rec.name == "chainledger.api"]
    assert logged
    assert all(rec.levelno == logging.ERROR for rec in logged)
    text = "\n".join(rec.getMessage() for rec in logged)
    assert f"seq {seq}:" in text
    assert "chainledger verify" in text
    assert not [v for v in leaked if v in text], "a stored value was logged"
    assert "internal" not in text  # not the unexpected-error path


@pytest.mark.parametrize("how", ["sig_bit", "raw_json"])
def test_an_edited_row_that_still_decodes_is_served_as_stored_for_clients_to_catch(
    cast_path: tuple[Cast, Path], how: str
) -> None:
    """The server does not vouch for entries (clients check signatures, links and
    proofs): an edit that reads back as text is served as it is, the evidence intact."""
    cast, db = cast_path
    seq = party_seq(cast, db, cast.bus.id)
    before = corrupt(db, seq, how)
    with app(db) as c:
        r = c.get("/v1/entries", params={"start": seq, "limit": 1}, auth=signer(cast.citizen))
        assert r.status_code == 200, r.text
        (served,) = r.json()["entries"]
        assert served.encode() != before
        assert served.encode() == decode_stored(read_stored(db, seq))
        r = c.get(f"/v1/parties/{cast.bus.id}")
        assert r.status_code == 200, r.text
        assert r.json()["keys"][0]["entry"] == served


@pytest.mark.parametrize("how", ["truncated", "not_text"])
def test_writes_after_an_unreadable_tip_are_ledger_corrupt_and_write_nothing(
    cast_path: tuple[Cast, Path], how: str
) -> None:
    cast, db = cast_path
    with app(db) as c:
        size = int(c.get("/healthz").json()["size"])
    corrupt(db, size - 1, how)  # the last entry: the sequencer reads its ts to go on
    with app(db) as c:
        for _ in range(2):  # the next batch meets it again: no guess, no partial write
            r = c.post("/v1/statements", json=grant_statement(cast))
            corrupt_problem(r, size - 1, set())
        assert int(c.get("/healthz").json()["size"]) == size


def test_a_missing_merkle_node_is_ledger_corrupt_not_a_failed_signature(
    cast_path: tuple[Cast, Path],
) -> None:
    _, db = cast_path
    with app(db) as c:
        size = int(c.get("/healthz").json()["size"])
    # Leaf 1 is on the path of leaf 0's inclusion proof in every larger tree.
    with attacker(db, "nodes_no_delete") as conn:
        conn.execute("DELETE FROM nodes WHERE id = ?", (node_id((0, 1)),))
    with app(db) as c:
        r = c.get("/v1/proofs/inclusion", params={"index": 0, "size": size})
        body = corrupt_problem(r, 1, set())
        assert "Merkle node" in body["detail"]
        assert c.get("/v1/proofs/inclusion", params={"index": 3, "size": 4}).status_code == 200


def test_a_read_whose_issue_entry_does_not_decode_is_ledger_corrupt() -> None:
    proof = InclusionProof(1, 4, (b"\x02" * 32,))
    receipt = Receipt(3, b"\x01" * 32, b'{"seq":3}', "cp\n", proof)
    asset = AssetRow("a_x", "resident_id_card", "p_h", "p_i", "active", "2020-01-01",
                     "2040-01-01", 1, None)  # fmt: skip
    result = ReadResult(receipt, asset, b"\x02\x9f\x00 not text", proof, {})
    with pytest.raises(LedgerCorrupt) as caught:
        read_text(result)
    assert caught.value.seq == 1


# --- a lost PostgreSQL connection ------------------------------------------------------------


def terminate_backends(url: str, wait: float = 10.0) -> int:
    """``pg_terminate_backend`` every other session of ``url``'s database (the store's and
    the nonce store's pools), from a connection of our own; wait until those sessions are
    gone (the pools may already be opening new ones: those are not waited for)."""
    with psycopg.connect(url, autocommit=True) as conn:
        others = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database()"
        ).fetchall()
        killed = [
            pid
            for (pid,) in others
            if (row := conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone())
            and row[0]
        ]
        deadline = time.monotonic() + wait
        while True:
            left = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (killed,)
            ).fetchone()
            if left is not None and left[0] == 0:
                break
            assert time.monotonic() < deadline, "the backends did not go"
            time.sleep(0.02)
    return len(killed)


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (psycopg.errors.AdminShutdown(), True),  # pg_terminate_backend, a fast shutdown
        (psycopg.errors.CannotConnectNow(), True),
        (psycopg.errors.ConnectionFailure(), True),  # class 08
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.SerializationFailure(), False),
        (psycopg.errors.DeadlockDetected(), False),
        (psycopg.errors.QueryCanceled(), False),
        (psycopg.errors.PipelineAborted(), False),
        (psycopg.errors.UniqueViolation(), False),
    ],
)
def test_only_connection_failures_count_as_lost(error: Exception, lost: bool) -> None:
    assert connection_lost(error) is lost


class KillingClock:
    """The wall clock, which, armed, terminates every backend of the database when the
    sequencer reads it: inside its write transaction, after it has read the tip."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.owner = threading.current_thread()
        self.armed = False
        self.killed = 0

    def __call__(self) -> datetime:
        if self.armed and threading.current_thread() is not self.owner:
            self.armed = False
            self.killed = terminate_backends(self.url)
        return datetime.now(UTC)


def test_a_write_whose_connection_is_lost_is_rolled_back_whole(pg_url: str, tmp_path: Path) -> None:
    where = Location.of(pg_url, tmp_path / "keys")
    clock = KillingClock(pg_url)
    ledger = Ledger.init(where, clock=clock)
    try:
        ledger.append(ledger.platform_statement("note", text="before"))
        size = ledger.size()
        clock.armed = True
        with pytest.raises(StoreUnavailable) as caught:
            ledger.append(ledger.platform_statement("note", text="lost"))
        assert clock.killed >= 1
        assert caught.value.retry_after > 0
        assert "psycopg" not in repr(caught.value)
        # Nothing of the batch was written; the next write gets a live connection.
        assert ledger.size() == size
        receipt = ledger.append(ledger.platform_statement("note", text="after"))
        assert receipt.seq == size
        verify_ledger(ledger.store, key_file=where.key_path)
    finally:
        ledger.close()


@pytest.fixture
def pg_cast(pg_url: str, tmp_path: Path) -> tuple[Cast, Location]:
    where = Location.of(pg_url, tmp_path / "keys")
    cast = make_cast(where)
    cast.domain.close()
    return cast, where


def unavailable_or_ok(r: httpx.Response) -> bool:
    """True for a 2xx; for anything else, asserts the ``store_unavailable`` problem."""
    if r.status_code < 300:
        return True
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["code"] == "store_unavailable", body
    assert body["title"] == "Store unavailable"
    assert "postgresql://" not in r.text  # the database is not named to a client
    assert float(r.headers["Retry-After"]) >= 1
    return False


@pytest.fixture
def pg_server(pg_cast: tuple[Cast, Location]) -> Iterator[tuple[Cast, Location, str]]:
    """``chainledger serve`` on a PostgreSQL ledger; after the test, its log shows no 500."""
    cast, where = pg_cast
    with serve(where) as server:
        yield cast, where, server.url
    log = server.log_text()
    assert '"status":500' not in log, log
    assert "lost the connection to postgresql://" in log  # logged, by name, server side


def test_reads_after_lost_connections_are_503_or_200_and_then_succeed(
    pg_server: tuple[Cast, Location, str],
) -> None:
    cast, where, url = pg_server
    routes: list[tuple[str, dict[str, Any], Any]] = [
        ("/v1/entries", {"start": 0, "limit": 5}, signer(cast.citizen)),
        (f"/v1/holders/{cast.citizen.id}/history", {}, signer(cast.citizen)),
        (f"/v1/parties/{cast.bus.id}", {}, None),
        ("/v1/proofs/inclusion", {"index": 0}, None),
        ("/healthz", {}, None),
    ]
    with httpx.Client(base_url=url, timeout=60) as http:
        for path, params, auth in routes:
            assert http.get(path, params=params, auth=auth).status_code == 200
            assert terminate_backends(where.url or "") >= 1
            unavailable_or_ok(http.get(path, params=params, auth=auth))
            # The pools dropped their dead connections: the next request succeeds.
            r = http.get(path, params=params, auth=auth)
            assert r.status_code == 200, r.text


def test_a_write_during_the_outage_is_never_partial(
    pg_server: tuple[Cast, Location, str],
) -> None:
    cast, where, url = pg_server
    with httpx.Client(base_url=url, timeout=60) as http:
        size = int(http.get("/healthz").json()["size"])
        statement = grant_statement(cast)
        assert terminate_backends(where.url or "") >= 1
        first = http.post("/v1/statements", json=statement)
        committed = unavailable_or_ok(first)
        # After the outage the same statement goes through, or is a replay of the write
        # that did commit (its COMMIT's answer lost): once, either way.
        again = http.post("/v1/statements", json=statement)
        if committed:
            assert again.status_code == 409, again.text
        else:
            assert again.status_code in (200, 409), again.text
        # The reads' connections are not the writer's (the sequencer has a process of its
        # own): the first read may still meet a pooled connection that the outage cut.
        entries = ("/v1/entries", {"start": size})
        unavailable_or_ok(http.get(entries[0], params=entries[1], auth=signer(cast.citizen)))
        r = http.get(entries[0], params=entries[1], auth=signer(cast.citizen))
        assert r.status_code == 200, r.text
        texts = r.json()["entries"]
    # (A replay's refusal is recorded as an entry of its own: count the statement itself.)
    assert [json.loads(t)["stmt"] for t in texts].count(statement["stmt"]) == 1
    ok, output, entries = verify_cli(where)
    assert ok, output
    assert entries == size + len(texts)


# --- throwaway clusters of killed runs ---------------------------------------------------------


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def test_start_cluster_sweeps_the_clusters_of_dead_runs() -> None:
    from pg_support import OWNER_FILE, PREFIX, start_cluster

    first = start_cluster()
    second = None
    # Our prefix but no owner file: not ours to remove, whoever made it.
    stranger = Path(tempfile.mkdtemp(prefix=f"{PREFIX}not-ours-"))
    try:
        owner = json.loads((first.root / OWNER_FILE).read_text())
        assert owner["pid"] == os.getpid()
        owner["pid"] = dead_pid()
        (first.root / OWNER_FILE).write_text(json.dumps(owner))
        second = start_cluster()
        assert not first.root.exists()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(first.url(), connect_timeout=2).close()
        assert stranger.exists()
        psycopg.connect(second.url()).close()
    finally:
        stranger.rmdir()
        if first.root.exists():
            first.stop()
        if second is not None:
            second.stop()


def test_a_stopped_database_is_503_within_the_pool_wait_and_served_again_once_back(
    tmp_path: Path,
) -> None:
    """PostgreSQL itself stopped (not one backend): requests answer 503, none waits longer
    than the pool's wait (the client gives up at twice it), and the server recovers by
    itself once the database is back. Its own cluster: the shared one keeps running."""
    from pg_support import start_cluster

    from chainledger.store.postgres_connection import POOL_WAIT

    cluster = start_cluster()
    try:
        where = Location.of(cluster.create_database(), tmp_path / "keys")
        Ledger.init(where).close()
        with (
            serve(where) as server,
            httpx.Client(base_url=server.url, timeout=2 * POOL_WAIT) as http,
        ):
            assert http.get("/v1/checkpoint").status_code == 200
            cluster.pg_ctl("stop", "-m", "fast", "-w")
            for _ in range(2):  # the dead pooled connection, then the wait for a new one
                assert not unavailable_or_ok(http.get("/v1/checkpoint"))
            cluster.start()
            deadline = time.monotonic() + 60
            while not unavailable_or_ok(http.get("/v1/checkpoint")):
                assert time.monotonic() < deadline, "the server did not recover"
                time.sleep(0.5)
        assert '"status":500' not in server.log_text()
    finally:
        cluster.stop()
