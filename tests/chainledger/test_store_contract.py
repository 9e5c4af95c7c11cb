"""The storage contract, one suite for every backend (cf. tessera's driver tests).

Add a backend by adding a factory to BACKENDS; every test here must pass for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chainledger.errors import Conflict, NotFound
from chainledger.store.base import CheckpointRow, EntryRow, PartyRow, Store
from chainledger.store.sqlite import SqliteStore, nonces_query

BACKENDS: dict[str, Callable[[Path], Store]] = {
    "sqlite": lambda d: SqliteStore(d / "s.db", create=True),
}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = BACKENDS[request.param](tmp_path)
    yield s
    s.close()


def row(seq: int, actor: str = "p_aaaaaaaaaaaaaaaa") -> EntryRow:
    return EntryRow(seq, f'{{"seq":{seq}}}'.encode(), "note", actor, f"nonce{seq}")


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


def test_concurrent_writers_are_serialized(store: Store) -> None:
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for _ in range(50):
                with store.write() as w:
                    size = (w.latest_checkpoint() or cp(0)).size
                    w.add_entries([row(size, actor=f"p_{k:a>16}")])
                    w.add_checkpoint(cp(size + 1))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [seq for seq, _ in store.entries(0, 1000)] == list(range(200))


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
