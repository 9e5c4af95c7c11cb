"""The storage contract, one suite for every backend (cf. tessera's driver tests).

Add a backend by adding a factory to BACKENDS; every test here must pass for it.
"""

from __future__ import annotations

import functools
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pg_support import release_together, run_together

from chainledger.errors import Conflict, NotFound
from chainledger.store.base import CheckpointRow, EntryRow, PartyRow, StateWriter, Store
from chainledger.store.entry_codec import decode_stored
from chainledger.store.postgres import PostgresStore
from chainledger.store.projections import AccessFilter, AccessRow, AssetRow, GrantRow, VaultRecord
from chainledger.store.sqlite import SqliteStore, nonces_query

#: name -> factory(request, tmp_path) -> the location of a new empty database (a path, or
#: a URL): a factory may ask the request for a fixture, as PostgreSQL asks for a database.
BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": lambda _, d: str(d / "s.db"),
    "postgres": lambda r, _: str(r.getfixturevalue("pg_url")),
}


def open_at(location: str, *, create: bool = True) -> Store:
    """A store on the database at ``location`` (each call: another store object)."""
    if location.startswith("postgresql://"):
        return PostgresStore(location, create=create)
    return SqliteStore(location, create=create)


@pytest.fixture(params=sorted(BACKENDS))
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def store(location: str) -> Iterator[Store]:
    s = open_at(location)
    yield s
    s.close()


@pytest.fixture
def other(store: Store, location: str) -> Iterator[Store]:
    """A second store object on the same database (as another process would open it)."""
    s = open_at(location)
    yield s
    s.close()


def row(seq: int, actor: str = "p_aaaaaaaaaaaaaaaa") -> EntryRow:
    return EntryRow(seq, f'{{"seq":{seq}}}'.encode(), "note", actor, f"nonce{seq}")


def grant(uses: int) -> GrantRow:
    return GrantRow(
        "g_1", "p_a", "p_c", "s", "p", {"c": ["x"]}, None, "2026-01-01T00:00:00.000Z",
        "2027-01-01T00:00:00.000Z", 5, uses, None, "active", 1,
    )  # fmt: skip


def cp(size: int) -> CheckpointRow:
    ts = "2026-11-26T00:00:00.000Z"
    return CheckpointRow(size, bytes([size % 256]) * 32, f"note {size}\n", ts)


def test_empty_store(store: Store) -> None:
    assert store.latest_checkpoint() is None
    assert store.checkpoint(1) is None
    assert list(store.checkpoints()) == []
    assert store.entry(0) is None
    assert list(store.entries(0, 10)) == []
    assert store.nodes([(0, 0), (3, 1)]) == {}
    assert not store.nonce_used("p_aaaaaaaaaaaaaaaa", "nonce0")
    assert store.party("p_aaaaaaaaaaaaaaaa") is None


def test_a_write_is_visible_after_commit(store: Store) -> None:
    with store.write() as w:
        w.add_entries([row(0), row(1)])
        w.add_nodes([((0, 0), b"a" * 32), ((0, 1), b"b" * 32), ((1, 0), b"c" * 32)])
        w.add_checkpoint(cp(2))
        # a transaction reads its own writes
        assert w.entry(1) == row(1).data
        assert w.latest_checkpoint() == cp(2)
    assert store.entry(0) == row(0).data
    assert list(store.entries(0, 2)) == [(0, row(0).data), (1, row(1).data)]
    assert list(store.entries(1, 5)) == [(1, row(1).data)]
    assert store.nodes([(0, 0), (1, 0), (2, 0)]) == {(0, 0): b"a" * 32, (1, 0): b"c" * 32}
    assert store.latest_checkpoint() == cp(2)
    assert store.nonce_used("p_aaaaaaaaaaaaaaaa", "nonce1")
    assert not store.nonce_used("p_bbbbbbbbbbbbbbbb", "nonce1")


def test_an_exception_rolls_everything_back(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as w:
        w.add_entries([row(0)])
        w.add_nodes([((0, 0), b"a" * 32)])
        w.add_checkpoint(cp(1))
        w.put_party(PartyRow("p_aaaaaaaaaaaaaaaa", "platform", "p", b"k" * 32, "active", 0))
        raise RuntimeError("abort")
    assert store.entry(0) is None
    assert store.nodes([(0, 0)]) == {}
    assert store.latest_checkpoint() is None
    assert store.party("p_aaaaaaaaaaaaaaaa") is None


def test_duplicate_seq_or_nonce_is_refused(store: Store) -> None:
    with store.write() as w:
        w.add_entries([row(0)])
    with pytest.raises(Conflict), store.write() as w:
        w.add_entries([row(0, actor="p_bbbbbbbbbbbbbbbb")])
    with pytest.raises(Conflict), store.write() as w:
        w.add_entries([EntryRow(1, b"{}", "note", "p_aaaaaaaaaaaaaaaa", "nonce0")])
    assert list(store.entries(0, 10)) == [(0, row(0).data)]


def test_checkpoints_in_size_order(store: Store) -> None:
    for size in (1, 5, 3):
        with store.write() as w:
            w.add_checkpoint(cp(size))
    assert [c.size for c in store.checkpoints()] == [1, 3, 5]
    assert [c.size for c in store.checkpoints(3)] == [3, 5]
    assert store.latest_checkpoint() == cp(5)
    assert store.checkpoint(3) == cp(3)
    assert store.checkpoint(4) is None


def test_many_nodes_in_one_lookup(store: Store) -> None:
    nodes = [((0, i), i.to_bytes(32, "big")) for i in range(40_000)]
    with store.write() as w:
        w.add_nodes(nodes)
    got = store.nodes(k for k, _ in nodes)
    assert got == dict(nodes)


def test_high_levels_do_not_collide(store: Store) -> None:
    keys = [(0, 2**40), (40, 0), (40, 1), (1, 2**39)]
    with store.write() as w:
        w.add_nodes([(k, bytes([i]) * 32) for i, k in enumerate(keys)])
    assert store.nodes(keys) == {k: bytes([i]) * 32 for i, k in enumerate(keys)}


def test_parties_upsert_and_snapshot(store: Store) -> None:
    a = PartyRow("p_aaaaaaaaaaaaaaaa", "platform", "p", b"k" * 32, "active", 0)
    with store.write() as w:
        w.put_party(a)
        w.put_party(PartyRow(a.id, a.role, a.name, b"n" * 32, "active", 7))
    got = store.party(a.id)
    assert got is not None
    assert got.public_key == b"n" * 32
    assert got.since_seq == 7
    snap = store.projection_snapshot()
    assert {"parties", "assets", "grants", "access"} <= set(snap)
    assert len(snap["parties"]) == 1


def append_next(s: Store, n: int = 1) -> None:
    """``n`` write transactions, each appending the entry after the tip and its checkpoint:
    the sequencer's read-the-tip-then-append, correct only if writers are serialized."""
    for _ in range(n):
        with s.write() as w:
            size = (w.latest_checkpoint() or cp(0)).size
            w.add_entries([row(size)])
            w.add_checkpoint(cp(size + 1))


def test_concurrent_writers_are_serialized(store: Store) -> None:
    assert run_together([functools.partial(append_next, store, 50) for _ in range(4)]) == []
    assert [seq for seq, _ in store.entries(0, 1000)] == list(range(200))


def test_two_store_objects_writing_at_once_are_serialized(store: Store, other: Store) -> None:
    """Two store objects on one database (as two processes, or two API nodes, have):
    the database serializes their transactions; each sees the other's commits."""
    writers = [functools.partial(append_next, s, 40) for s in (store, other, store, other)]
    assert run_together(writers) == []
    assert [seq for seq, _ in other.entries(0, 1000)] == list(range(160))
    assert [c.size for c in store.checkpoints()] == list(range(1, 161))


_WRITER_SCRIPT = """
import os, sys
sys.path[:0] = [sys.argv[3], os.path.dirname(sys.argv[3])]  # tests/chainledger, tests
from test_store_contract import append_next, open_at
s = open_at(sys.argv[1])
sys.stdin.readline()  # start together
append_next(s, int(sys.argv[2]))
s.close()
"""


def test_writers_in_separate_processes_are_serialized(store: Store, location: str) -> None:
    here = str(Path(__file__).parent)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER_SCRIPT, location, "50", here],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    errs = release_together(procs)
    assert [p.returncode for p in procs] == [0, 0, 0], errs
    assert [seq for seq, _ in store.entries(0, 1000)] == list(range(150))
    latest = store.latest_checkpoint()
    assert latest is not None
    assert latest.size == 150


def test_write_cache_sees_another_stores_commit(store: Store, other: Store) -> None:
    """A writer's cache of projection rows is dropped when another store object (another
    process) committed since this store's last write."""
    a = PartyRow("p_aaaaaaaaaaaaaaaa", "issuer", "a", b"1" * 32, "active", 0)
    with store.write() as w:
        w.put_party(a)
        w.put_grant(grant(uses=0))
    with store.write() as w:  # the rows are now in this store's writer cache
        assert w.party(a.id) == a
        assert w.grant("g_1") == grant(uses=0)
    with other.write() as w:
        w.put_party(PartyRow(a.id, a.role, a.name, b"2" * 32, "suspended", 9))
        w.grant_used("g_1", 3)
    with store.write() as w:
        got = w.party(a.id)
        assert got is not None
        assert (got.public_key, got.status, got.since_seq) == (b"2" * 32, "suspended", 9)
        g = w.grant("g_1")
        assert g is not None
        assert g.uses == 3
        w.grant_used("g_1", 4)
    g = other.grant("g_1")
    assert g is not None
    assert g.uses == 4


def test_a_rolled_back_write_leaves_no_stale_cache(store: Store) -> None:
    a = PartyRow("p_aaaaaaaaaaaaaaaa", "issuer", "a", b"1" * 32, "active", 0)
    with store.write() as w:
        w.put_party(a)
    with pytest.raises(RuntimeError), store.write() as w:
        w.put_party(PartyRow(a.id, a.role, "changed", a.public_key, a.status, 1))
        raise RuntimeError("abort")
    with store.write() as w:
        assert w.party(a.id) == a
    assert store.party(a.id) == a


def test_reading_is_one_snapshot(store: Store, other: Store) -> None:
    with store.write() as w:
        w.add_entries([row(0)])
        w.add_checkpoint(cp(1))
    with store.reading() as r:
        assert r.latest_checkpoint() == cp(1)
        with other.write() as w:
            w.add_entries([row(1)])
            w.add_checkpoint(cp(2))
        assert other.latest_checkpoint() == cp(2)
        assert r.latest_checkpoint() == cp(1)
        assert list(r.entries(0, 10)) == [(0, row(0).data)]
        with store.reading() as inner:  # nested: the same view
            assert inner.latest_checkpoint() == cp(1)
    assert store.latest_checkpoint() == cp(2)


def test_long_ranges_stream_in_order(store: Store) -> None:
    """Ranges longer than any backend's read chunk: every row once, in order."""
    n = 5000
    with store.write() as w:
        w.add_entries([row(i) for i in range(n)])
        for size in range(1, n + 1):
            w.add_checkpoint(cp(size))
        w.add_nodes([((0, i), i.to_bytes(32, "big")) for i in range(n)])
    assert [seq for seq, _ in store.entries(0, n + 10)] == list(range(n))
    assert list(store.entries(4095, 4098)) == [(i, row(i).data) for i in range(4095, 4098)]
    assert [c.size for c in store.checkpoints()] == list(range(1, n + 1))
    assert [c.size for c in store.checkpoints(n - 2)] == [n - 2, n - 1, n]
    # What verify reads (both backends have them): entries as stored, nodes by range.
    stored = dict(store.stored_entries(0, n))  # type: ignore[attr-defined]
    assert sorted(stored) == list(range(n))
    assert decode_stored(stored[7]) == row(7).data
    nodes = store.node_range(0, 10, 4100)  # type: ignore[attr-defined]
    assert nodes == {(0, i): i.to_bytes(32, "big") for i in range(10, 4100)}
    assert store.node_range(1, 0, 10) == {}  # type: ignore[attr-defined]
    # node_run: the same range as one bytes value, in index order, a missing node no gap.
    run = store.node_run(0, 10, 4100)
    assert run == b"".join(i.to_bytes(32, "big") for i in range(10, 4100))
    assert store.node_run(1, 0, 10) == b""
    with store.write() as w:  # level 2, inserted out of order, index 2 missing
        w.add_nodes([((2, i), bytes([i]) * 32) for i in (3, 0, 1)])
    assert store.node_run(2, 0, 4) == bytes([0]) * 32 + bytes([1]) * 32 + bytes([3]) * 32
    assert store.node_run(2, 1, 3) == bytes([1]) * 32


def test_text_keys_sort_by_code_point(store: Store) -> None:
    """``ORDER BY`` a text key lists rows as SQLite's BINARY collation does (code point
    order), whatever the database's default collation (a locale would put "_" or "a"
    first, or ignore case)."""
    ids = ["p_b", "p_B", "p__", "p_a_b", "p_ab", "p_A", "p_é", "p_z"]
    with store.write() as w:
        for i, pid in enumerate(ids):
            w.put_party(PartyRow(pid, "issuer", pid, bytes([i]) * 32, "active", i))
            w.put_class(pid, {"class": pid}, i)
            w.add_cosignature(1, pid, f"— {pid} sig", 100)
    assert [p.id for p in store.parties()] == sorted(ids)
    assert [p.id for p in store.parties("issuer")] == sorted(ids)
    snap = store.projection_snapshot()
    assert [r[0] for r in snap["parties"]] == sorted(ids)
    assert [r[0] for r in snap["classes"]] == sorted(ids)
    assert [c["class"] for c in store.catalog_classes()] == sorted(ids)
    assert store.cosignatures(1) == [f"— {pid} sig" for pid in sorted(ids)]


def test_cosignatures_keep_the_newest_per_witness(store: Store) -> None:
    with store.write() as w:
        assert w.add_cosignature(5, "w1", "line a", 100)
        assert not w.add_cosignature(5, "w1", "line b", 100)  # not newer
        assert not w.add_cosignature(5, "w1", "line c", 99)
        assert w.add_cosignature(5, "w1", "line d", 101)
        assert w.add_cosignature(5, "w0", "line e", 1)
        assert w.add_cosignature(6, "w1", "line f", 1)
    assert store.cosignatures(5) == ["line e", "line d"]
    assert store.cosignatures(6) == ["line f"]
    assert store.cosignatures(7) == []


READ = AccessRow(
    9, "2026-11-26T13:45:00.123Z", "p_c", "p_a", "a_1", "c", "p_i", "g_1", "p", "read", None
)


def put_state(w: StateWriter) -> None:
    """A row in every projection table, the vault and the bindings."""
    w.put_party(PartyRow("p_a", "holder", "", b"k" * 32, "active", 3, {"subject": "person"}))
    w.add_party_key("p_a", 3, b"k" * 32)
    w.put_class("c", {"class": "c", "fields": ["x"]}, 1)
    w.put_scenario("s", {"scenario": "s"}, None)  # type: ignore[arg-type]
    w.put_asset(AssetRow("a_1", "c", "p_a", "p_i", "active", "2026-01-01", None, 4, None))
    w.put_grant(grant(uses=1))
    w.add_access(READ)
    w.add_access(
        AccessRow(10, "2026-11-26T13:45:01.000Z", "p_c", None, None, None, None, None,
                  None, "denied", "no_grant")
    )  # fmt: skip
    w.vault_put(VaultRecord("a_1", b"w" * 40, b"n" * 12, b"c" * 50))
    w.bind(b"h" * 32, "p_a")


def test_projection_rows_have_plain_python_types(store: Store) -> None:
    """``projection_snapshot`` rows compare equal across backends: bytes (not memoryview),
    int, str, None, in the SQLite column order."""
    with store.write() as w:
        put_state(w)
    snap = store.projection_snapshot()
    assert snap["parties"] == [
        ("p_a", "holder", "", b"k" * 32, "active", 3, '{"subject":"person"}')
    ]
    assert snap["party_keys"] == [("p_a", 3, b"k" * 32)]
    assert snap["classes"] == [("c", '{"class":"c","fields":["x"]}', 1)]
    assert snap["scenarios"] == [("s", '{"scenario":"s"}', None)]
    assert snap["assets"] == [("a_1", "c", "p_a", "p_i", "active", "2026-01-01", None, 4, None)]
    assert snap["grants"][0][:8] == (
        "g_1",
        "p_a",
        "p_c",
        "s",
        "p",
        '{"c":["x"]}',
        None,
        "2026-01-01T00:00:00.000Z",
    )
    # Names are interned 1, 2, 3, ... in first-use order; outcomes are 1 (read), 0 (denied).
    assert snap["names"] == [
        (1, "p_c"), (2, "p_a"), (3, "a_1"), (4, "c"), (5, "p_i"), (6, "g_1"), (7, "p"),
        (8, "no_grant"),
    ]  # fmt: skip
    assert snap["access"] == [
        (9, 1795700700123, 1, 2, 3, 4, 5, 6, 7, 1, None),
        (10, 1795700701000, 1, None, None, None, None, None, None, 0, 8),
    ]
    for rows in snap.values():
        for r in rows:
            assert all(isinstance(v, int | str | bytes | type(None)) for v in r), r
    assert store.vault_get("a_1") == VaultRecord("a_1", b"w" * 40, b"n" * 12, b"c" * 50)
    assert store.binding(b"h" * 32) == "p_a"
    assert store.access(AccessFilter(holder="p_a")) == [READ]


def test_asset_with_vault_is_asset_and_vault_get_in_one(store: Store) -> None:
    with store.write() as w:
        put_state(w)
        w.put_asset(AssetRow("a_2", "c", "p_a", "p_i", "active", "2026-01-01", None, 5, None))
    for asset_id in ("a_1", "a_2", "a_3"):
        asset = store.asset(asset_id)
        expected = None if asset is None else (asset, store.vault_get(asset_id))
        assert store.asset_with_vault(asset_id) == expected
    assert store.asset_with_vault("a_2") == (store.asset("a_2"), None)  # no record
    found = store.asset_with_vault("a_1")
    assert found is not None
    assert found[1] == VaultRecord("a_1", b"w" * 40, b"n" * 12, b"c" * 50)
    assert isinstance(found[1].ciphertext, bytes)  # not a memoryview
    with store.write() as w:
        w.vault_destroy("a_1")
    assert store.asset_with_vault("a_1") == (store.asset("a_1"), None)


def test_backup_is_a_sqlite_ledger_with_the_same_rows(
    store: Store, location: str, tmp_path: Path
) -> None:
    with store.write() as w:
        w.add_entries([row(i) for i in range(3)])
        w.add_nodes([((0, 0), b"a" * 32), ((1, 0), b"b" * 32)])
        w.add_checkpoint(cp(3))
        put_state(w)
        w.add_cosignature(3, "w", "line", 7)
    dest = tmp_path / "copy.db"
    store.backup(dest)
    assert not dest.with_name("copy.db.partial").exists()
    with pytest.raises(Conflict):
        store.backup(dest)
    conn = sqlite3.connect(dest)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM entries")
    finally:
        conn.close()
    copy = SqliteStore(dest)
    try:
        assert list(copy.entries(0, 10)) == list(store.entries(0, 10))
        assert list(copy.checkpoints()) == list(store.checkpoints())
        assert copy.nodes([(0, 0), (1, 0)]) == store.nodes([(0, 0), (1, 0)])
        assert copy.projection_snapshot() == store.projection_snapshot()
        assert copy.vault_get("a_1") == store.vault_get("a_1")
        assert copy.binding(b"h" * 32) == "p_a"
        assert copy.cosignatures(3) == ["line"]
        assert copy.nonce_used("p_aaaaaaaaaaaaaaaa", "nonce2")
        with copy.write() as w:  # a ledger that goes on
            w.add_entries([row(3)])
    finally:
        copy.close()


def test_backup_while_writing_is_one_committed_state(store: Store, tmp_path: Path) -> None:
    stop = threading.Event()

    def append() -> None:
        while not stop.is_set():
            append_next(store)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        while store.latest_checkpoint() is None:
            time.sleep(0.01)
        store.backup(tmp_path / "copy.db")
    finally:
        stop.set()
        writer.join()
    copy = SqliteStore(tmp_path / "copy.db")
    try:
        latest = copy.latest_checkpoint()
        assert latest is not None
        assert [seq for seq, _ in copy.entries(0, 10**6)] == list(range(latest.size))
    finally:
        copy.close()


def test_closed_store_refuses(location: str) -> None:
    s = open_at(location)
    s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.latest_checkpoint()


def test_sqlite_opening_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        SqliteStore(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_sqlite_is_durable_wal(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "d.db", create=True)
    try:
        conn = s._c()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        s.close()


def test_sqlite_replay_check_searches_the_index(tmp_path: Path) -> None:
    """The batch replay check runs for every batch: it must search the index, not scan."""
    s = SqliteStore(tmp_path / "q.db", create=True)
    try:
        with s.write() as w:
            w.add_entries([row(i) for i in range(2000)])
        assert s.nonces_used([("p_aaaaaaaaaaaaaaaa", "nonce7"), ("p_x", "y")]) == {
            ("p_aaaaaaaaaaaaaaaa", "nonce7")
        }
        plan = [r[3] for r in s._c().execute("EXPLAIN QUERY PLAN " + nonces_query(2), [1, 2])]
        assert any("USING COVERING INDEX entries_nonce_key" in p for p in plan), plan
        assert not any(p.startswith("SCAN") for p in plan), plan
    finally:
        s.close()
