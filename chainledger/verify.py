"""Full verification of a ledger, from its stored bytes alone.

`verify_ledger` recomputes, in sequence order:

* every entry: exactly canonical, ``seq`` in place, ``prev`` equal to the
  previous entry's leaf hash, timestamps never going backwards, a fresh
  (actor, nonce), and admissible under the same rules that admitted it,
  replayed against projections rebuilt from scratch in a scratch database;
* every signature, checked against the key the actor held at that seq (in
  worker processes, `chainledger.sigcheck`, while this thread replays);
* every stored Merkle node, the root and the signature of every stored
  checkpoint, and a consistency proof between each pair of consecutive
  checkpoints, built from the stored nodes as a client would receive it;
* that no entry lies beyond the last signed checkpoint and no checkpoint
  beyond the last entry;
* the live projections against the rebuilt ones, and the key file (if
  present) against the genesis key.

It returns None or raises `LedgerCorrupt` naming the first bad seq and why.
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from chainledger.checkpoint import parse_checkpoint_body
from chainledger.crypto import load_private_key, public_key_bytes
from chainledger.entry import GENESIS_PREV, Entry, decode_entry
from chainledger.errors import ChainledgerError, LedgerCorrupt
from chainledger.frontier import Frontier
from chainledger.ledger import Genesis, key_path, read_genesis
from chainledger.merkle import (
    NodeKey,
    consistency_ranges,
    range_hash,
    range_node_keys,
    verify_consistency,
)
from chainledger.note import ALG_ED25519, Verifier, key_id, parse_note
from chainledger.rules import Context, Rules, core_rules
from chainledger.sigcheck import SignatureChecker
from chainledger.store.base import CheckpointRow, StateWriter, Store
from chainledger.store.sqlite import SqliteStore

__all__ = ["Progress", "VerifyReport", "verify_ledger"]

#: ``progress(done, total)`` is called as entries are checked.
Progress = Callable[[int, int], None]

CHUNK = 4096
BATCH = 2048  # signatures per round trip to the checking processes


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    checkpoints: int
    root: bytes


#: (seq, public key, signature, message, what is signed): one Ed25519 check for the pool.
SigJob = tuple[int, bytes, bytes, bytes, str]


def _first_failure(checker: SignatureChecker, jobs: list[SigJob]) -> LedgerCorrupt | None:
    """Check ``jobs`` (in seq order); the first that fails, or None."""
    verdicts = checker.check([(key, sig, msg) for _, key, sig, msg, _ in jobs])
    for (seq, _, _, _, what), ok in zip(jobs, verdicts, strict=True):
        if not ok:
            return LedgerCorrupt(seq, f"{what} does not verify")
    return None


class _Replay:
    """Sequential checks of one ledger, chunk by chunk."""

    def __init__(self, store: Store, genesis: Genesis, rules: Rules, scratch: SqliteStore) -> None:
        self.store = store
        self.genesis = genesis
        self.rules = rules
        self.scratch = scratch
        self.suite = genesis.suite
        self.frontier = Frontier(self.suite)
        self.prev = GENESIS_PREV
        self.last_ts = ""
        self.nonces: set[tuple[str, str]] = set()
        key = genesis.platform_key
        self.verifier = Verifier(
            genesis.origin, key_id(genesis.origin, ALG_ED25519, key), ALG_ED25519, key
        )
        self.checkpoints: Iterator[CheckpointRow] = store.checkpoints()
        self.next_cp: CheckpointRow | None = next(self.checkpoints, None)
        self.prev_cp: CheckpointRow | None = None
        self.checkpoint_count = 0
        self.jobs: list[SigJob] = []
        #: Nodes recomputed in the current chunk, compared with the stored ones at its end.
        self.created: list[tuple[NodeKey, bytes]] = []

    def entry(self, w: StateWriter, seq: int, data: bytes) -> tuple[Entry, bytes]:
        """Check one entry in sequence and apply it; return it and the key that signed it."""
        try:
            entry = decode_entry(data)
        except ChainledgerError as exc:
            raise LedgerCorrupt(seq, f"entry does not decode: {exc}") from None
        if entry.seq != seq:
            raise LedgerCorrupt(seq, f"entry says seq {entry.seq}")
        if entry.prev != self.prev:
            raise LedgerCorrupt(
                seq, "prev is not the leaf hash of the previous entry (chain broken)"
            )
        if entry.ts < self.last_ts:
            raise LedgerCorrupt(seq, "timestamp goes backwards")
        stmt = entry.statement
        if (seq == 0) != (stmt.kind == "genesis"):
            raise LedgerCorrupt(seq, "genesis must be entry 0 and only entry 0")
        if (stmt.actor, stmt.nonce) in self.nonces:
            raise LedgerCorrupt(seq, "replayed (actor, nonce)")
        self.nonces.add((stmt.actor, stmt.nonce))
        try:
            # the key as of before this entry's own changes (a rotation is signed by the old key)
            key = self.rules.signing_key(w, stmt)
        except ChainledgerError as exc:
            raise LedgerCorrupt(seq, f"no key to check the signature: {exc}") from None
        ctx = Context(seq, entry.ts, None, self.suite, self.store)
        try:
            self.rules.admit(w, stmt, ctx)
        except ChainledgerError as exc:
            raise LedgerCorrupt(seq, f"statement would not have been admitted: {exc}") from None
        self.rules.kind(stmt.kind).apply(w, stmt, ctx)
        return entry, key

    def leaf(self, seq: int, data: bytes, created: list[tuple[NodeKey, bytes]]) -> None:
        leaf = self.suite.leaf(data)
        created.extend(self.frontier.append(leaf))
        self.prev = leaf.hex()

    def check_nodes(self, created: list[tuple[NodeKey, bytes]]) -> None:
        stored = self.store.nodes(k for k, _ in created)
        for (level, index), h in created:
            if stored.get((level, index)) != h:
                what = "missing" if (level, index) not in stored else "wrong"
                seq = ((index + 1) << level) - 1  # the entry that completed this node
                raise LedgerCorrupt(seq, f"stored Merkle node ({level}, {index}) is {what}")

    def checkpoints_at(self, size: int) -> None:
        """Check every stored checkpoint of this size (called after each entry)."""
        while self.next_cp is not None and self.next_cp.size <= size:
            cp = self.next_cp
            if cp.size < size:  # a size passed without being checked: only possible for size 0
                raise LedgerCorrupt(None, f"checkpoint of size {cp.size} is out of order")
            self._checkpoint(cp)
            self.prev_cp = cp
            self.checkpoint_count += 1
            self.next_cp = next(self.checkpoints, None)

    def _checkpoint(self, cp: CheckpointRow) -> None:
        last = cp.size - 1
        root = self.frontier.root()
        if cp.root != root:
            raise LedgerCorrupt(last, f"stored root of checkpoint {cp.size} is not the tree's root")
        try:
            note = parse_note(cp.note)
            body = parse_checkpoint_body(note.text)
        except ChainledgerError as exc:
            raise LedgerCorrupt(last, f"checkpoint {cp.size} does not parse: {exc}") from None
        if (body.origin, body.size, body.root) != (self.genesis.origin, cp.size, root):
            raise LedgerCorrupt(last, f"signed checkpoint {cp.size} disagrees with the tree")
        v = self.verifier
        ours = [sig for sig in note.signatures if (sig.name, sig.key_id) == (v.name, v.key_id)]
        if not ours:
            raise LedgerCorrupt(last, f"checkpoint {cp.size} is not signed by the platform key")
        for sig in ours:  # checked on the pool, like the entries' signatures
            self.jobs.append(
                (last, v.public_key, sig.signature, note.text.encode(), f"checkpoint {cp.size}")
            )
        prev = self.prev_cp
        if prev is not None:
            self._consistency(prev, cp)

    def _consistency(self, first: CheckpointRow, second: CheckpointRow) -> None:
        """Check a consistency proof built from the stored nodes, as a client would get it.

        If it fails, the stored nodes completed so far in this chunk are compared first,
        so a bad node is named at the seq that completed it.
        """
        ranges = consistency_ranges(first.size, second.size)
        nodes = self.store.nodes(range_node_keys(ranges))
        try:
            proof = [
                range_hash(lo, hi, lambda lv, i: nodes[(lv, i)], suite=self.suite)
                for lo, hi in ranges
            ]
            verify_consistency(
                first.size, second.size, proof, first.root, second.root, suite=self.suite
            )
        except (KeyError, ChainledgerError) as exc:
            self.check_nodes(self.created)
            raise LedgerCorrupt(
                second.size - 1,
                f"checkpoints {first.size} and {second.size} are not consistent: {exc}",
            ) from None


def verify_ledger(
    store: Store,
    *,
    db_path: Path | None = None,
    rules: Rules | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> VerifyReport:
    """Verify everything stored; return a summary or raise `LedgerCorrupt`.

    ``db_path`` (for a SQLite ledger) also checks the key file beside it.
    """
    rules = rules or core_rules()
    genesis = read_genesis(store)
    if db_path is not None and key_path(db_path).exists():
        try:
            key = load_private_key(key_path(db_path))
        except ChainledgerError as exc:
            raise LedgerCorrupt(None, f"platform key file is unreadable: {exc}") from None
        if public_key_bytes(key) != genesis.platform_key:
            raise LedgerCorrupt(None, "the platform key file does not match the genesis key")
    latest = store.latest_checkpoint()
    if latest is None:
        raise LedgerCorrupt(0, "no signed checkpoint")
    with tempfile.TemporaryDirectory(prefix="chainledger-verify-") as tmp:
        scratch = SqliteStore(Path(tmp) / "replay.db", create=True)
        try:
            return _verify(store, genesis, rules, scratch, latest.size, progress, workers)
        finally:
            scratch.close()


def _verify(
    store: Store,
    genesis: Genesis,
    rules: Rules,
    scratch: SqliteStore,
    size: int,
    progress: Progress | None,
    workers: int | None,
) -> VerifyReport:
    replay = _Replay(store, genesis, rules, scratch)
    entries = store.entries(0, size + 1)  # one past the tip: an extra entry is tampering
    # Signature jobs in seq order. The main thread runs ahead by at most a few chunks,
    # then collects the oldest results first, so the first failure found is the lowest seq.
    pending: deque[Future[LedgerCorrupt | None]] = deque()
    checker = SignatureChecker(workers)

    def collect(keep: int) -> None:
        while len(pending) > keep:
            failure = pending.popleft().result()
            if failure is not None:
                raise failure

    # One thread hands batches to the worker processes and waits for their verdicts, so
    # the checks run while this thread replays the next entries.
    with closing(checker), ThreadPoolExecutor(max_workers=1) as pool:

        def flush() -> None:
            while replay.jobs:
                pending.append(pool.submit(_first_failure, checker, replay.jobs[:BATCH]))
                del replay.jobs[:BATCH]

        seq = 0
        try:
            while seq < size:
                end = min(seq + CHUNK, size)
                created: list[tuple[NodeKey, bytes]] = []
                replay.created = created
                with scratch.write() as w:
                    for expected in range(seq, end):
                        got = next(entries, None)
                        if got is None or got[0] != expected:
                            raise LedgerCorrupt(expected, "entry is missing")
                        entry, key = replay.entry(w, expected, got[1])
                        st = entry.statement
                        replay.jobs.append((expected, key, st.sig, st.body, "signature"))
                        if len(replay.jobs) >= BATCH:
                            flush()
                        replay.leaf(expected, got[1], created)
                        replay.last_ts = entry.ts
                        replay.checkpoints_at(expected + 1)
                replay.check_nodes(created)
                flush()
                collect(keep=2)
                seq = end
                if progress is not None:
                    progress(seq, size)
        except LedgerCorrupt as found:
            # A lower seq may still fail its signature check: those come first.
            flush()
            try:
                collect(keep=0)
            except LedgerCorrupt as earlier:
                if earlier.seq is not None and found.seq is not None and earlier.seq < found.seq:
                    raise earlier from None
            raise
        flush()
        collect(keep=0)
    # Any row at or past the tip, even after a gap, is an entry no checkpoint covers.
    extra = next(entries, None) or next(store.entries(size, 2**63 - 1), None)
    if extra is not None:
        raise LedgerCorrupt(extra[0], "entry is not covered by any signed checkpoint")
    if replay.next_cp is not None:
        raise LedgerCorrupt(size, f"checkpoint of size {replay.next_cp.size} beyond the last entry")
    live, rebuilt = store.projection_snapshot(), scratch.projection_snapshot()
    for table, rows in rebuilt.items():
        if live.get(table) != rows:
            raise LedgerCorrupt(None, f"projection {table!r} differs from its rebuild")
    return VerifyReport(size, replay.checkpoint_count, replay.frontier.root())
