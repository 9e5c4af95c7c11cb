"""The right edge of a growing Merkle tree: enough to append leaves and compute the root.

A tree of size n is, by RFC 9162's recursive split, a sequence of perfect
subtrees whose sizes are the binary digits of n, largest first (a "compact
range" [0, n)). Appending a leaf merges equal-sized neighbours like a binary
counter; each merge completes an interior node, which the sequencer stores so
that later proofs read O(log n) rows. The root is those subtrees folded from
the right: O(log n) hashes per checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chainledger.crypto import HashSuite
from chainledger.merkle import NodeKey

__all__ = ["Frontier"]


class Frontier:
    """The perfect-subtree roots covering [0, size), largest (leftmost) first."""

    def __init__(self, suite: HashSuite, size: int = 0, hashes: list[bytes] | None = None) -> None:
        self.suite = suite
        self.size = size
        self.hashes = list(hashes or [])
        if size < 0 or len(self.hashes) != bin(size).count("1"):
            raise ValueError("a frontier has one hash per set bit of its size")

    @staticmethod
    def keys(size: int) -> list[NodeKey]:
        """The (level, index) of each perfect subtree in the frontier of ``size``."""
        out: list[NodeKey] = []
        offset = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                out.append((level, offset >> level))
                offset += 1 << level
        return out

    @classmethod
    def load(
        cls, suite: HashSuite, size: int, nodes: Callable[[list[NodeKey]], Mapping[NodeKey, bytes]]
    ) -> Frontier:
        """Rebuild the frontier of ``size`` from stored nodes (KeyError if one is missing)."""
        keys = cls.keys(size)
        found = nodes(keys)
        return cls(suite, size, [found[k] for k in keys])

    def copy(self) -> Frontier:
        return Frontier(self.suite, self.size, self.hashes)

    def nodes(self) -> dict[NodeKey, bytes]:
        """The frontier's subtrees as a node map."""
        return dict(zip(self.keys(self.size), self.hashes, strict=True))

    def append(self, leaf_hash: bytes) -> list[tuple[NodeKey, bytes]]:
        """Add a leaf; return every node it completes: the leaf itself (level 0) and parents."""
        index = self.size
        created = [((0, index), leaf_hash)]
        acc, level = leaf_hash, 0
        # While the new subtree is a right child, its left sibling is the last frontier hash.
        while index & 1:
            acc = self.suite.node(self.hashes.pop(), acc)
            level += 1
            index >>= 1
            created.append(((level, index), acc))
        self.hashes.append(acc)
        self.size += 1
        return created

    def root(self) -> bytes:
        """MTH of the whole tree (RFC 9162 section 2.1.1)."""
        if not self.hashes:
            return self.suite.empty()
        acc = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            acc = self.suite.node(h, acc)
        return acc
