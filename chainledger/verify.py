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

How the work is split: this thread decodes and replays the entries in order (the
chain, the rules, the tree), which is inherently sequential; the signature checks,
most of the work, go to worker processes (`chainledger.sigcheck.SignaturePool`) a
chunk at a time, to each worker in turn, and stay in flight while the next chunks
are replayed. Their verdicts are examined chunk by chunk in seq order, so the first
bad seq found is the same as in a purely sequential check. (Decoding in the workers
was tried: it moved CPU time instead of saving it, and cost a round trip of every
entry's bytes; on two cores the total is what counts, docs/profile.md section 1.)
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from chainledger.checkpoint import parse_checkpoint_body
from chainledger.crypto import load_private_key, public_key_bytes
from chainledger.entry import decode_entry, parts_statement
from chainledger.errors import ChainledgerError, LedgerCorrupt
from chainledger.frontier import Frontier
from chainledger.ledger import Genesis, read_genesis
from chainledger.merkle import (
    NodeKey,
    consistency_ranges,
    range_hash,
    range_node_keys,
    verify_consistency,
)
from chainledger.note import ALG_ED25519, Verifier, key_id, parse_note
from chainledger.rules import Context, Rules, core_rules
from chainledger.sigcheck import OP_CHECK, Job, SignaturePool, Ticket, frame_jobs
from chainledger.statement import SignedStatement
from chainledger.store.base import CheckpointRow, StateWriter, Store
from chainledger.store.entry_codec import rebuild, unpack_stored
from chainledger.store.sqlite import SqliteStore

__all__ = ["Progress", "VerifyReport", "verify_ledger"]

#: ``progress(done, total)`` is called as entries are checked.
Progress = Callable[[int, int], None]

CHUNK = 2048  # entries per request to a worker
#: Below this many entries the workers' start-up costs more than they save.
INLINE_BELOW = 4096
_GENESIS_PREV = bytes(32)  # entry 0's prev: 64 hex zeros


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    checkpoints: int
    root: bytes


#: (seq, key, signature, message, what is signed)
SigJob = tuple[int, bytes, bytes, bytes, str]
#: A decoded entry: the seq it says, its raw prev, ts, statement and leaf hash.
_Decoded = tuple[int, bytes, str, SignedStatement, bytes]


class _SigBatch:
    """The signature checks of one chunk, in the order the replay asked for them."""

    def __init__(self, jobs: list[SigJob], ticket: Ticket | None, sent: list[int]) -> None:
        self.jobs = jobs
        self.ticket = ticket
        self.sent = sent  # indexes of the jobs sent (the others are malformed: they fail)

    def first_failure(self) -> LedgerCorrupt | None:
        if self.ticket is not None and len(self.sent) == len(self.jobs):
            answer = self.ticket.result()
            if len(answer) == len(self.jobs) == answer.count(1):  # all verified, in one step
                return None
        verdicts = [False] * len(self.jobs)
        if self.ticket is not None:
            for i, ok in zip(self.sent, self.ticket.result(), strict=True):
                verdicts[i] = ok == 1
        for (seq, _, _, _, what), verified in zip(self.jobs, verdicts, strict=True):
            if not verified:
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
        self.prev = _GENESIS_PREV  # the previous entry's leaf hash
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

    def entry(
        self, w: StateWriter, seq: int, said: int, prev: bytes, ts: str, stmt: SignedStatement
    ) -> bytes:
        """Check one decoded entry in sequence and apply it; return the key that signed it.

        ``said`` is the seq the entry says, ``prev`` its prev as raw bytes.
        """
        if said != seq:
            raise LedgerCorrupt(seq, f"entry says seq {said}")
        if prev != self.prev:
            raise LedgerCorrupt(
                seq, "prev is not the leaf hash of the previous entry (chain broken)"
            )
        if ts < self.last_ts:
            raise LedgerCorrupt(seq, "timestamp goes backwards")
        if (seq == 0) != (stmt.kind == "genesis"):
            raise LedgerCorrupt(seq, "genesis must be entry 0 and only entry 0")
        pair = (stmt.actor, stmt.nonce)
        if pair in self.nonces:
            raise LedgerCorrupt(seq, "replayed (actor, nonce)")
        self.nonces.add(pair)
        try:
            # the key as of before this entry's own changes (a rotation is signed by the old key)
            key = self.rules.signing_key(w, stmt)
        except ChainledgerError as exc:
            raise LedgerCorrupt(seq, f"no key to check the signature: {exc}") from None
        ctx = Context(seq, ts, None, self.suite, self.store)
        try:
            kind = self.rules.admit(w, stmt, ctx)
        except ChainledgerError as exc:
            raise LedgerCorrupt(seq, f"statement would not have been admitted: {exc}") from None
        kind.apply(w, stmt, ctx)
        return key

    def leaf(self, leaf: bytes, created: list[tuple[NodeKey, bytes]]) -> None:
        created.extend(self.frontier.append(leaf))
        self.prev = leaf

    def check_nodes(self, created: list[tuple[NodeKey, bytes]]) -> None:
        """Compare the nodes recomputed in a chunk with the stored ones.

        A chunk completes one run of consecutive indexes per level, in order, so each
        level is one range read and one comparison of the concatenated hashes; only when
        a level differs are its nodes compared one by one, to name the first bad one.
        """
        runs: dict[int, tuple[int, list[bytes]]] = {}
        for (level, index), h in created:
            run = runs.get(level)
            if run is None:
                runs[level] = (index, [h])
            elif index == run[0] + len(run[1]):
                run[1].append(h)
            else:  # not one run (never so from a Frontier): node by node
                self._name_bad_node(created)
                return
        for level, (first, hashes) in runs.items():
            if self.store.node_run(level, first, first + len(hashes)) != b"".join(hashes):
                self._name_bad_node([c for c in created if c[0][0] == level])

    def _name_bad_node(self, created: list[tuple[NodeKey, bytes]]) -> None:
        stored = self._stored_nodes(created)
        for (level, index), h in created:
            if stored.get((level, index)) != h:
                what = "missing" if (level, index) not in stored else "wrong"
                seq = ((index + 1) << level) - 1  # the entry that completed this node
                raise LedgerCorrupt(seq, f"stored Merkle node ({level}, {index}) is {what}")

    def _stored_nodes(self, created: list[tuple[NodeKey, bytes]]) -> dict[NodeKey, bytes]:
        """The stored counterparts of ``created``: a chunk's new nodes make one run of
        indexes per level, read by range."""
        spans: dict[int, tuple[int, int]] = {}
        for (level, index), _ in created:
            lo, hi = spans.get(level, (index, index))
            spans[level] = (min(lo, index), max(hi, index))
        stored: dict[NodeKey, bytes] = {}
        for level, (lo, hi) in spans.items():
            stored.update(self.store.node_range(level, lo, hi + 1))
        return stored

    def checkpoints_at(self, size: int) -> None:
        """Check every stored checkpoint of this size (called after the entry that reaches it)."""
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
        for sig in ours:  # checked on the workers, like the entries' signatures
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
    key_file: Path | None = None,
    rules: Rules | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> VerifyReport:
    """Verify everything stored; return a summary or raise `LedgerCorrupt`.

    ``key_file``: the platform's key file (`chainledger.location.Location.key_path`),
    checked against the genesis key if it exists.
    ``workers``: worker processes (default: one per core, none for a small ledger;
    below 2, everything runs in this process). Verifies one consistent snapshot: appends
    committed while it runs are not part of what it checks.
    """
    rules = rules or core_rules()
    # One snapshot for the whole run: a ledger that keeps serving goes on appending, and an
    # entry committed meanwhile must not look like one beyond the last checkpoint.
    with store.reading():
        return _verify_snapshot(store, key_file, rules, progress, workers)


def _verify_snapshot(
    store: Store,
    key_file: Path | None,
    rules: Rules,
    progress: Progress | None,
    workers: int | None,
) -> VerifyReport:
    genesis = read_genesis(store)
    if key_file is not None and key_file.exists():
        try:
            key = load_private_key(key_file)
        except ChainledgerError as exc:
            raise LedgerCorrupt(None, f"platform key file is unreadable: {exc}") from None
        if public_key_bytes(key) != genesis.platform_key:
            raise LedgerCorrupt(None, "the platform key file does not match the genesis key")
    latest = store.latest_checkpoint()
    if latest is None:
        raise LedgerCorrupt(0, "no signed checkpoint")
    if workers is None:
        workers = (os.cpu_count() or 1) if latest.size >= INLINE_BELOW else 1
    with tempfile.TemporaryDirectory(prefix="chainledger-verify-") as tmp:
        # Rebuilt projections are thrown away after the comparison: no durability needed.
        scratch = SqliteStore(Path(tmp) / "replay.db", create=True, throwaway=True)
        try:
            return _verify(store, genesis, rules, scratch, latest.size, progress, workers)
        finally:
            scratch.close()


def _decode(seq: int, stored: bytes, leaf_of: Callable[[bytes], bytes]) -> _Decoded:
    """One stored row, decoded strictly: (the seq it says, raw prev, ts, statement, leaf)."""
    try:
        parts = unpack_stored(stored)
        if parts is None:  # not the compact form (raw JSON, as an attacker might write it)
            entry = decode_entry(stored)
            prev = bytes.fromhex(entry.prev)
            return entry.seq, prev, entry.ts, entry.statement, leaf_of(entry.data)
        ts, stmt = parts_statement(parts)
    except ChainledgerError as exc:
        raise LedgerCorrupt(seq, f"entry does not decode: {exc}") from None
    return parts.seq, parts.prev, ts, stmt, leaf_of(rebuild(parts))


def _verify(
    store: Store,
    genesis: Genesis,
    rules: Rules,
    scratch: SqliteStore,
    size: int,
    progress: Progress | None,
    workers: int,
) -> VerifyReport:
    replay = _Replay(store, genesis, rules, scratch)
    rows = store.stored_entries(0, size + 1)  # one past the tip: an extra entry is tampering
    leaf_of = genesis.suite.leaf
    pool = SignaturePool(workers)
    in_flight = 2 * len(pool)  # signature batches sent and not yet examined, at most
    sigs: deque[_SigBatch] = deque()  # in seq order

    def send_signatures(worker: int) -> None:
        jobs, replay.jobs = replay.jobs, []
        if not jobs:
            return
        sent = [
            i for i, (_, key, sig, _, _) in enumerate(jobs) if len(key) == 32 and len(sig) == 64
        ]
        refs: list[Job] = [(jobs[i][1], jobs[i][2], jobs[i][3]) for i in sent]
        ticket = pool.send(worker, OP_CHECK, frame_jobs(refs)) if refs else None
        sigs.append(_SigBatch(jobs, ticket, sent))

    def collect(wait: bool) -> None:
        """Raise the first failed signature among the batches answered (all, if ``wait``);
        wait for the oldest batches while more than ``in_flight`` are out."""
        while sigs and (
            wait or len(sigs) > in_flight or sigs[0].ticket is None or sigs[0].ticket.done
        ):
            failure = sigs.popleft().first_failure()
            if failure is not None:
                raise failure

    with closing(pool):
        worker = 0
        try:
            for start in range(0, size, CHUNK):
                worker = (start // CHUNK) % len(pool)
                created: list[tuple[NodeKey, bytes]] = []
                replay.created = created
                with scratch.write() as w:
                    for seq in range(start, min(start + CHUNK, size)):
                        row = next(rows, None)
                        if row is None or row[0] != seq:
                            raise LedgerCorrupt(seq, "entry is missing")
                        said, prev, ts, stmt, leaf = _decode(seq, row[1], leaf_of)
                        key = replay.entry(w, seq, said, prev, ts, stmt)
                        replay.jobs.append((seq, key, stmt.sig, stmt.body, "signature"))
                        replay.leaf(leaf, created)
                        replay.last_ts = ts
                        if replay.next_cp is not None and replay.next_cp.size <= seq + 1:
                            replay.checkpoints_at(seq + 1)
                replay.check_nodes(created)
                send_signatures(worker)
                collect(wait=False)
                if progress is not None:
                    progress(min(start + CHUNK, size), size)
        except LedgerCorrupt as found:
            # A lower seq may still fail its signature check: those come first.
            send_signatures(worker)
            try:
                collect(wait=True)
            except LedgerCorrupt as earlier:
                if earlier.seq is not None and found.seq is not None and earlier.seq < found.seq:
                    raise earlier from None
            raise
        collect(wait=True)
    # Any row at or past the tip, even after a gap, is an entry no checkpoint covers.
    extra = next(rows, None) or next(store.entries(size, 2**63 - 1), None)
    if extra is not None:
        raise LedgerCorrupt(extra[0], "entry is not covered by any signed checkpoint")
    if replay.next_cp is not None:
        raise LedgerCorrupt(size, f"checkpoint of size {replay.next_cp.size} beyond the last entry")
    live, rebuilt = store.projection_snapshot(), scratch.projection_snapshot()
    for table, rows_ in rebuilt.items():
        if live.get(table) != rows_:
            raise LedgerCorrupt(None, f"projection {table!r} differs from its rebuild")
    return VerifyReport(size, replay.checkpoint_count, replay.frontier.root())
