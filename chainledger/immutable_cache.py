"""What an append-only ledger never changes, kept in memory for the read path.

Once committed, entry ``seq`` is the same bytes forever, and so is the Merkle hash of
any range of leaves ``MTH(D[lo:hi])`` (RFC 9162 section 2.1.1: it depends on those
leaves only). A counter read answers with its asset's issue entry and that entry's
inclusion proof in the read's own tree; reads of the same assets share the issue
entries, and proofs in trees a few entries apart share all their ranges but the few
on the right edge, which the read's own receipt proves (`Ledger.committed_inclusion_proof`).
So this process keeps both, bounded, and asks the store only for what it has not seen.

Only for data the caller knows is committed (a receipt's tree size, an entry the
sequencer has appended): nothing here checks that. `chainledger.verify`, the audit
and the public proof endpoints read the store itself, so a damaged store is still
found by them and named.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

from chainledger.crypto import HashSuite
from chainledger.merkle import NodeKey, Range, range_node_keys
from chainledger.proofs import range_hashes

__all__ = ["ImmutableCache"]

K = TypeVar("K", bound=Hashable)

#: Fetches stored complete-subtree hashes (`Store.nodes`).
NodeFetch = Callable[[Iterable[NodeKey]], Mapping[NodeKey, bytes]]


class ImmutableCache:
    """Bounded maps of committed entries (by seq) and range hashes (by leaf range).

    Each map holds at most its capacity of items; the oldest go first when it is full.
    Thread-safe: lookups are single dict reads, and every insertion (with its eviction)
    holds one lock.
    """

    def __init__(self, suite: HashSuite, *, entries: int = 16_384, ranges: int = 65_536) -> None:
        if entries < 1 or ranges < 1:
            raise ValueError("each capacity must be at least 1")
        self.suite = suite
        self.entries_capacity = entries  # entries of ~1 KB: some 16 MB at most
        self.ranges_capacity = ranges  # a 32-byte hash and its key: some 10 MB at most
        self._entries: dict[int, bytes] = {}
        self._ranges: dict[Range, bytes] = {}
        self._lock = threading.Lock()

    def entry(self, seq: int, fetch: Callable[[int], bytes | None]) -> bytes | None:
        """Committed entry ``seq``: remembered, or ``fetch(seq)`` (None: not stored; not
        remembered, so a later call asks again)."""
        data = self._entries.get(seq)
        if data is None:
            data = fetch(seq)
            if data is not None:
                with self._lock:
                    self._entries[seq] = data
                    _trim(self._entries, self.entries_capacity)
        return data

    def range_hashes(
        self,
        ranges: list[Range],
        fetch: NodeFetch,
        learn: Callable[[], Iterable[tuple[Range, bytes]]] | None = None,
    ) -> tuple[bytes, ...]:
        """``MTH(D[lo:hi])`` of each committed range: the ones not remembered are hashed
        from the stored nodes ``fetch`` returns for them, in one call (`LedgerCorrupt`
        if one is missing, as `chainledger.proofs.range_hashes`).

        ``learn``, if given, is asked first when some are not remembered: the committed
        ranges and hashes it knows without the store (say, what a receipt in the same
        tree proves, `chainledger.merkle.proven_ranges`) are remembered, and only what
        it did not know is fetched."""
        got: dict[Range, bytes] = {}
        missing = _take(ranges, self._ranges, got)
        if missing and learn is not None:
            taught = dict(learn())
            self._remember(taught)
            missing = _take(missing, taught, got)
        if missing:
            hashes = range_hashes(fetch(range_node_keys(missing)), missing, self.suite)
            fresh = dict(zip(missing, hashes, strict=True))
            got.update(fresh)
            self._remember(fresh)
        return tuple([got[r] for r in ranges])

    def _remember(self, hashes: Mapping[Range, bytes]) -> None:
        with self._lock:
            self._ranges.update(hashes)
            _trim(self._ranges, self.ranges_capacity)


def _take(
    ranges: Iterable[Range], source: Mapping[Range, bytes], got: dict[Range, bytes]
) -> list[Range]:
    """Put into ``got`` each of ``ranges`` that ``source`` has; return the others."""
    missing = []
    for r in ranges:
        h = source.get(r)
        if h is None:
            missing.append(r)
        else:
            got[r] = h
    return missing


def _trim(items: dict[K, bytes], capacity: int) -> None:
    """Drop the oldest items beyond ``capacity``, and a quarter more, so that a full map
    is trimmed once per many insertions, not on each one."""
    excess = len(items) - capacity
    if excess > 0:
        for key in list(itertools.islice(items, excess + capacity // 4)):
            del items[key]
