"""The read path's cache of committed entries and range hashes, against a naive oracle."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainledger import merkle
from chainledger.crypto import SUITES
from chainledger.errors import LedgerCorrupt
from chainledger.immutable_cache import ImmutableCache
from chainledger.ledger import Ledger
from chainledger.merkle import NodeKey
from chainledger.proofs import InclusionProof
from chainledger.receipt import Receipt

SHA256 = SUITES["sha256"]


class Nodes:
    """Stored complete-subtree hashes of ``leaves``, counting what is asked for."""

    def __init__(self, leaves: list[bytes], drop: NodeKey | None = None) -> None:
        levels = merkle.subtree_levels(leaves)
        self.nodes = {(lv, i): h for lv, row in enumerate(levels) for i, h in enumerate(row)}
        if drop is not None:
            del self.nodes[drop]
        self.asked: list[set[NodeKey]] = []

    def fetch(self, keys: Iterable[NodeKey]) -> Mapping[NodeKey, bytes]:
        wanted = set(keys)
        self.asked.append(wanted)
        return {k: self.nodes[k] for k in wanted if k in self.nodes}


def leaves(n: int) -> list[bytes]:
    return [SHA256.leaf(hashlib.sha256(str(i).encode()).digest()) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 70),
    queries=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=25),
    capacity=st.integers(1, 40),
)
def test_inclusion_hashes_match_the_oracle_whatever_was_evicted(
    n: int, queries: list[tuple[int, int]], capacity: int
) -> None:
    hashes = leaves(n)
    nodes = Nodes(hashes)
    cache = ImmutableCache(SHA256, ranges=capacity)
    for a, b in queries:
        size = 1 + b % n
        index = a % size
        got = cache.range_hashes(merkle.inclusion_ranges(index, size), nodes.fetch)
        assert list(got) == merkle.inclusion_proof(index, hashes[:size])
        assert len(cache._ranges) <= capacity


def test_threads_sharing_a_small_cache_all_get_the_oracles_hashes() -> None:
    """The claim of thread safety: four threads evicting each other's ranges (and entries)
    all the time still get exactly the oracle's answers."""
    hashes = leaves(300)
    nodes = Nodes(hashes)
    cache = ImmutableCache(SHA256, entries=8, ranges=24)
    failures: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(400):
                size = rng.randrange(1, 301)
                index = rng.randrange(size)
                got = cache.range_hashes(merkle.inclusion_ranges(index, size), nodes.fetch)
                assert list(got) == merkle.inclusion_proof(index, hashes[:size])
                assert cache.entry(index, lambda s: b"%d" % s) == b"%d" % index
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(cache._ranges) <= 24
    assert len(cache._entries) <= 8


def test_a_repeated_proof_reads_nothing_and_a_nearby_one_only_its_new_ranges() -> None:
    hashes = leaves(1000)
    nodes = Nodes(hashes)
    cache = ImmutableCache(SHA256)
    first = cache.range_hashes(merkle.inclusion_ranges(3, 990), nodes.fetch)
    assert len(nodes.asked) == 1
    assert cache.range_hashes(merkle.inclusion_ranges(3, 990), nodes.fetch) == first
    assert len(nodes.asked) == 1  # all remembered
    later = cache.range_hashes(merkle.inclusion_ranges(3, 997), nodes.fetch)
    assert list(later) == merkle.inclusion_proof(3, hashes[:997])
    shared = set(merkle.inclusion_ranges(3, 990)) & set(merkle.inclusion_ranges(3, 997))
    assert shared  # the left part of the path is the same ...
    asked = nodes.asked[1]
    assert asked == merkle.range_node_keys(
        [r for r in merkle.inclusion_ranges(3, 997) if r not in shared]
    )  # ... and only the rest was read


def test_a_missing_node_is_named_and_nothing_is_remembered() -> None:
    hashes = leaves(16)
    nodes = Nodes(hashes, drop=(3, 1))  # leaves 8..15, the proof's last range
    cache = ImmutableCache(SHA256)
    with pytest.raises(LedgerCorrupt) as err:
        cache.range_hashes(merkle.inclusion_ranges(0, 16), nodes.fetch)
    assert err.value.seq == 8
    assert cache._ranges == {}


def test_entries_are_fetched_once_and_absent_ones_every_time() -> None:
    calls: list[int] = []

    def fetch(seq: int) -> bytes | None:
        calls.append(seq)
        return None if seq >= 10 else b"entry %d" % seq

    cache = ImmutableCache(SHA256, entries=4)
    assert cache.entry(1, fetch) == b"entry 1"
    assert cache.entry(1, fetch) == b"entry 1"
    assert calls == [1]
    assert cache.entry(11, fetch) is None
    assert cache.entry(11, fetch) is None
    assert calls == [1, 11, 11]
    for seq in range(10):
        assert cache.entry(seq, fetch) == b"entry %d" % seq
        assert len(cache._entries) <= 4
    assert cache.entry(9, fetch) == b"entry 9"  # the newest stay
    assert calls.count(9) == 1


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        ImmutableCache(SHA256, entries=0)
    with pytest.raises(ValueError, match="capacity"):
        ImmutableCache(SHA256, ranges=0)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger.init(tmp_path / "l.db")
    try:
        yield led
    finally:
        led.close()


def test_the_ledgers_committed_proofs_and_entries_are_its_stored_ones(ledger: Ledger) -> None:
    for i in range(20):
        ledger.append(ledger.platform_statement("note", text=str(i)))
    size = ledger.size()
    for n in range(1, size + 1):
        for index in range(n):
            # twice: the second time from memory
            for _ in range(2):
                assert ledger.committed_inclusion_proof(index, n) == ledger.inclusion_proof(
                    index, n
                )
    for seq in range(size):
        assert ledger.committed_entry(seq) == ledger.store.entry(seq)
    assert ledger.committed_entry(size) is None


def test_a_receipt_in_the_same_tree_gives_the_right_edge(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Older leaves' proofs in each new tree, as counter reads answer with their assets'
    # issue entries: the read's own receipt proves the tree's new right edge, and each
    # complete subtree on those paths was remembered when it was that edge, so nothing
    # is read. (A complete subtree no proof needed while it was the edge is read once.)
    fetched: list[int] = []
    reader = ledger.reader

    def counting_reader(size: int | None = None, wait: float = 0.0) -> object:
        fetched.append(size or 0)
        return reader(size, wait)

    def committed(index: int, size: int, along: Receipt | None) -> InclusionProof:
        monkeypatch.setattr(ledger, "reader", counting_reader)
        try:
            return ledger.committed_inclusion_proof(index, size, along=along)
        finally:
            monkeypatch.setattr(ledger, "reader", reader)

    for i in range(70):
        receipt = ledger.append(ledger.platform_statement("note", text=str(i)))
        size = receipt.inclusion.tree_size
        for index in (0, 5, size - 1) if size > 5 else (0, size - 1):
            assert committed(index, size, receipt) == ledger.inclusion_proof(index, size)
    # Once: the genesis leaf (the tree of size 1 had no receipt), for leaf 1's proof.
    assert fetched == [2]
    fetched.clear()
    # without it, each new tree's right edge is read from the store
    receipt = ledger.append(ledger.platform_statement("note", text="last"))
    size = receipt.inclusion.tree_size
    assert committed(0, size, None) == ledger.inclusion_proof(0, size)
    assert fetched == [size]


def test_a_receipt_of_another_tree_teaches_nothing(ledger: Ledger) -> None:
    first = ledger.append(ledger.platform_statement("note", text="a"))
    ledger.append(ledger.platform_statement("note", text="b"))
    size = ledger.size()
    assert first.inclusion.tree_size != size
    proof = ledger.committed_inclusion_proof(0, size, along=first)
    assert proof == ledger.inclusion_proof(0, size)
