"""Tests of chainledger.frontier: the right edge of a growing RFC 9162 Merkle tree."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chainledger import merkle
from chainledger.crypto import SUITES, HashSuite
from chainledger.frontier import Frontier
from chainledger.merkle import NodeKey

SHA256 = SUITES["sha256"]
SM3 = SUITES["sm3"]

MAX_EXHAUSTIVE = 300
MAX_BIG = 3000
LEAVES: list[bytes] = [merkle.leaf_hash(b"entry %d" % i) for i in range(MAX_BIG)]
LEVELS: list[list[bytes]] = merkle.subtree_levels(LEAVES)


def _perfect_subtrees(size: int, offset: int = 0) -> list[NodeKey]:
    """The perfect subtrees of [offset, offset + size) by RFC 9162's recursive split.

    A perfect tree is one subtree; otherwise the left part (the largest power of two
    smaller than size) is perfect and the right part is split the same way.
    """
    if size == 0:
        return []
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return [(level, offset >> level)]
    k = 1 << ((size - 1).bit_length() - 1)
    level = k.bit_length() - 1
    return [(level, offset >> level), *_perfect_subtrees(size - k, offset + k)]


def _all_complete_nodes(size: int) -> set[NodeKey]:
    """Every (level, index) whose subtree lies wholly in [0, size)."""
    return {(level, i) for level in range(size.bit_length()) for i in range(size >> level)}


def _store_lookup(
    store: Mapping[NodeKey, bytes], asked: list[list[NodeKey]]
) -> Callable[[list[NodeKey]], Mapping[NodeKey, bytes]]:
    def nodes(keys: list[NodeKey]) -> Mapping[NodeKey, bytes]:
        asked.append(list(keys))
        return {k: store[k] for k in keys if k in store}

    return nodes


def test_perfect_subtrees_helper_by_hand() -> None:
    assert _perfect_subtrees(0) == []
    assert _perfect_subtrees(1) == [(0, 0)]
    assert _perfect_subtrees(6) == [(2, 0), (1, 2)]
    assert _perfect_subtrees(13) == [(3, 0), (2, 2), (0, 12)]
    assert _perfect_subtrees(16) == [(4, 0)]


def test_keys_are_the_perfect_subtrees_of_the_size() -> None:
    assert Frontier.keys(0) == []
    for size in range(1, 1100):
        keys = Frontier.keys(size)
        assert keys == _perfect_subtrees(size), size
        assert len(keys) == bin(size).count("1")
        # Contiguous, largest first, covering exactly [0, size).
        offset = 0
        for level, index in keys:
            assert index << level == offset
            offset += 1 << level
        assert offset == size


def test_append_root_matches_merkle_root_for_every_size() -> None:
    f = Frontier(SHA256)
    assert f.size == 0
    assert f.root() == merkle.root([]) == SHA256.empty()
    for n in range(1, MAX_EXHAUSTIVE + 1):
        f.append(LEAVES[n - 1])
        assert f.size == n
        assert f.root() == merkle.root(LEAVES[:n]), n


def test_frontier_hashes_are_the_subtree_levels_of_its_keys() -> None:
    f = Frontier(SHA256)
    for n in range(1, MAX_EXHAUSTIVE + 1):
        f.append(LEAVES[n - 1])
        keys = Frontier.keys(n)
        assert f.hashes == [LEVELS[level][index] for level, index in keys], n
        assert f.nodes() == dict(zip(keys, f.hashes, strict=True))


def test_append_returns_exactly_the_nodes_it_completes() -> None:
    f = Frontier(SHA256)
    created_by_all: dict[NodeKey, bytes] = {}
    for n in range(1, MAX_EXHAUSTIVE + 1):
        created = f.append(LEAVES[n - 1])
        keys = [key for key, _ in created]
        # The leaf first, then its parents level by level: one per trailing 1 bit of n - 1.
        assert keys[0] == (0, n - 1)
        assert [level for level, _ in keys] == list(range(len(keys)))
        trailing_zeros = (n & -n).bit_length() - 1
        assert len(created) == trailing_zeros + 1, n
        for (level, index), h in created:
            assert (index + 1) << level == n  # completed by this very leaf
            assert h == LEVELS[level][index], (level, index)
            assert (level, index) not in created_by_all  # each node is created once
            created_by_all[(level, index)] = h
        # Together, the appends so far created every complete subtree of the tree, no more.
        assert set(created_by_all) == _all_complete_nodes(n)


@pytest.mark.parametrize("suite", [SHA256, SM3], ids=lambda s: s.name)
def test_load_from_appended_nodes_rebuilds_the_same_frontier(suite: HashSuite) -> None:
    leaves = [merkle.leaf_hash(b"entry %d" % i, suite=suite) for i in range(MAX_EXHAUSTIVE)]
    f = Frontier(suite)
    store: dict[NodeKey, bytes] = {}
    for n in range(MAX_EXHAUSTIVE + 1):
        asked: list[list[NodeKey]] = []
        loaded = Frontier.load(suite, n, _store_lookup(store, asked))
        # One batched read of exactly the frontier's keys: O(log n) rows.
        assert [set(a) for a in asked] == [set(Frontier.keys(n))]
        assert loaded.suite == suite
        assert loaded.size == f.size == n
        assert loaded.hashes == f.hashes, n
        assert loaded.root() == f.root() == merkle.root(leaves[:n], suite=suite), n
        if n < MAX_EXHAUSTIVE:
            store.update(f.append(leaves[n]))


def test_loaded_frontier_keeps_growing_like_the_original() -> None:
    f = Frontier(SHA256)
    store: dict[NodeKey, bytes] = {}
    for leaf in LEAVES[:77]:
        store.update(f.append(leaf))
    g = Frontier.load(SHA256, 77, _store_lookup(store, []))
    for n in range(77, 200):
        assert g.append(LEAVES[n]) == f.append(LEAVES[n])
        assert g.root() == f.root() == merkle.root(LEAVES[: n + 1])


def test_load_with_a_missing_node_raises_key_error() -> None:
    f = Frontier(SHA256)
    store: dict[NodeKey, bytes] = {}
    for leaf in LEAVES[:13]:
        store.update(f.append(leaf))
    for key in Frontier.keys(13):
        partial = {k: v for k, v in store.items() if k != key}
        with pytest.raises(KeyError):
            Frontier.load(SHA256, 13, _store_lookup(partial, []))


def test_sm3_frontier_root_matches_merkle_root_and_differs_from_sha256() -> None:
    f, g = Frontier(SM3), Frontier(SHA256)
    for n in range(1, 70):
        data = b"entry %d" % (n - 1)
        f.append(merkle.leaf_hash(data, suite=SM3))
        g.append(merkle.leaf_hash(data))
        sm3_leaves = [merkle.leaf_hash(b"entry %d" % i, suite=SM3) for i in range(n)]
        assert f.root() == merkle.root(sm3_leaves, suite=SM3), n
        assert f.root() != g.root()
    assert Frontier(SM3).root() == SM3.empty() != SHA256.empty()


def test_copy_is_independent() -> None:
    f = Frontier(SHA256)
    for leaf in LEAVES[:5]:
        f.append(leaf)
    g = f.copy()
    g.append(LEAVES[5])
    assert (f.size, g.size) == (5, 6)
    assert f.root() == merkle.root(LEAVES[:5])
    assert g.root() == merkle.root(LEAVES[:6])
    assert f.hashes == [LEVELS[2][0], LEVELS[0][4]]


def test_constructor_checks_one_hash_per_set_bit() -> None:
    assert Frontier(SHA256, 5, [LEVELS[2][0], LEVELS[0][4]]).root() == merkle.root(LEAVES[:5])
    with pytest.raises(ValueError, match="one hash per set bit"):
        Frontier(SHA256, 5, [LEVELS[2][0]])
    with pytest.raises(ValueError, match="one hash per set bit"):
        Frontier(SHA256, 4, [LEVELS[1][0], LEVELS[1][1]])
    with pytest.raises(ValueError, match="one hash per set bit"):
        Frontier(SHA256, 0, [LEAVES[0]])


def test_constructor_copies_its_hash_list() -> None:
    hashes = [LEVELS[2][0], LEVELS[0][4]]
    f = Frontier(SHA256, 5, hashes)
    f.append(LEAVES[5])
    assert hashes == [LEVELS[2][0], LEVELS[0][4]]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, MAX_BIG))
@example(MAX_BIG)
@example(2047)
@example(2048)
def test_random_sizes_append_and_load(size: int) -> None:
    f = Frontier(SHA256)
    store: dict[NodeKey, bytes] = {}
    for leaf in LEAVES[:size]:
        store.update(f.append(leaf))
    assert f.size == size
    assert f.root() == merkle.root(LEAVES[:size])
    assert set(store) == _all_complete_nodes(size)
    for (level, index), h in store.items():
        assert h == LEVELS[level][index]
    assert Frontier.keys(size) == _perfect_subtrees(size)
    loaded = Frontier.load(SHA256, size, _store_lookup(store, []))
    assert loaded.hashes == f.hashes
    assert loaded.root() == f.root()
