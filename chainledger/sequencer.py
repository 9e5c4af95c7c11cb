"""Group commit: statements in, durable signed batches out, in two pipelined stages.

Callers (threads or asyncio tasks) `submit` a signed statement and get a
future. A *checker* thread takes what has been submitted and has the
signatures verified (`chainledger.sigcheck`: inline for a few, in worker
processes for many, so that they cost this interpreter almost nothing), then
moves the statements, in submission order, to the ready list.
The *writer* thread takes everything ready (up to ``max_batch``) and, in one
exclusive transaction, admits each statement in sequence order against the
projections as earlier statements left them, appends the admitted ones to the
hash chain and the Merkle tree, applies their projection changes, and signs a
single checkpoint for the batch. Only after COMMIT has returned (WAL fsynced,
``synchronous=FULL``) does any caller get its receipt; a statement that fails
its checks gets its own error and takes no seq; an unexpected failure rolls
the whole batch back and fails every caller in it (never a partial write).

While the writer commits one batch, the checker verifies what arrives for the
next: that overlap, and one fsync and one checkpoint signature per batch, are
where the throughput comes from. Several processes may run sequencers on one
database: the store's write lock serializes their batches, and each writer
reloads the tree's right edge when it sees that the tip moved.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chainledger.checkpoint import Checkpoint, sign_checkpoint
from chainledger.clock import Clock, check_ts, format_ts, parse_ts
from chainledger.crypto import HashSuite
from chainledger.denials import refusal_nonce
from chainledger.entry import GENESIS_PREV, encode_entry
from chainledger.errors import (
    ChainledgerError,
    ClockSkew,
    LedgerCorrupt,
    NotAllowed,
    Overloaded,
    Replay,
)
from chainledger.frontier import Frontier
from chainledger.merkle import NodeKey, inclusion_ranges, range_hash
from chainledger.note import Signer
from chainledger.proofs import InclusionProof
from chainledger.receipt import Receipt, stored_receipt
from chainledger.rules import Context, Refused, Rules, refusal_reason
from chainledger.sigcheck import SignatureChecker
from chainledger.statement import SignedStatement
from chainledger.store.base import CheckpointRow, EntryRow, StateWriter, Store
from chainledger.store.entry_codec import pack_statement

__all__ = ["Sequencer", "Sequencing"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    statement: SignedStatement
    #: The key the signature verified with before sequencing (None: not checked, the
    #: actor was unknown then, or the check failed: the writer then checks it itself).
    checked: bytes | None = None
    #: Side data for the rules (never on the ledger), see `rules.Context`.
    attachment: Any = None
    #: The statement packed for storage by the checker (so the writer need not).
    packed: bytes | None = None
    future: Future[Receipt] = field(default_factory=Future)


@dataclass(slots=True)
class _Tip:
    """The writer's cached view of the tree's right edge, trusted only while unchanged."""

    frontier: Frontier
    last_leaf: bytes | None
    last_ts: str
    root: bytes


@dataclass(slots=True)
class _Appended:
    pending: _Pending
    seq: int
    data: bytes
    leaf: bytes


class Sequencing(ABC):
    """What a sequencer offers its callers, in this process (`Sequencer`) or in a child
    process of its own (`chainledger.sequencer_process.SequencerProcess`): `submit` and
    `submit_async`, and waiting for them."""

    @abstractmethod
    def submit(
        self,
        statement: SignedStatement,
        verified_key: bytes | None = None,
        attachment: Any = None,
    ) -> Future[Receipt]:
        """A future of ``statement``'s receipt, resolved after its durable commit."""

    @abstractmethod
    def submit_async(
        self,
        statement: SignedStatement,
        verified_key: bytes | None = None,
        attachment: Any = None,
    ) -> asyncio.Future[Receipt]:
        """`submit` for a caller on the running event loop (in its thread)."""

    def append(self, statement: SignedStatement, verified_key: bytes | None = None) -> Receipt:
        """Submit and wait for the receipt (or the statement's error)."""
        return self.submit(statement, verified_key).result()

    async def append_async(
        self, statement: SignedStatement, verified_key: bytes | None = None
    ) -> Receipt:
        return await self.submit_async(statement, verified_key)


class Sequencer(Sequencing):
    """The single writer of one ledger in this process. Start it, submit, close it."""

    def __init__(
        self,
        store: Store,
        rules: Rules,
        signer: Signer,
        suite: HashSuite,
        origin: str,
        clock: Clock,
        *,
        skew: timedelta = timedelta(minutes=5),
        max_batch: int = 1024,
        max_queue: int = 100_000,
        verify_processes: int | None = None,
        platform_statement: Callable[..., SignedStatement] | None = None,
    ) -> None:
        self.store = store
        self.rules = rules
        self.signer = signer
        self.suite = suite
        self.origin = origin
        self.clock = clock
        self.skew = skew
        self.max_batch = max_batch
        #: Makes platform-signed statements (refusal records), called as
        #: ``platform_statement(kind, nonce=..., **fields)``; None: refusals not recorded.
        self.platform_statement = platform_statement
        self._inbox: queue.Queue[_Pending | None] = queue.Queue(maxsize=max_queue)
        # Checked statements in submission order, for the writer; None marks the end.
        self._ready: deque[_Pending | None] = deque()
        self._ready_cond = threading.Condition()
        self._max_ready = max_queue
        self._tip: _Tip | None = None
        self._closing = False
        self._keys: dict[str, bytes] = {}
        self._submitted = 0  # statements accepted by submit
        self._moved = 0  # statements the checker has moved to the ready list
        self._count_lock = threading.Lock()
        self._sigs = SignatureChecker(verify_processes)
        #: Counters for metrics: batches committed, entries appended, statements refused.
        self.batches = 0
        self.appended = 0
        self.refused = 0
        #: Called from the writer thread with each committed batch's entry count (metrics).
        self.on_commit: Callable[[int], None] | None = None
        self._checker = threading.Thread(
            target=self._run_checker, name="chainledger-checker", daemon=True
        )
        self._thread = threading.Thread(target=self._run, name="chainledger-sequencer", daemon=True)
        self._checker.start()
        self._thread.start()

    # --- callers ------------------------------------------------------------------------------

    def submit(
        self,
        statement: SignedStatement,
        verified_key: bytes | None = None,
        attachment: Any = None,
    ) -> Future[Receipt]:
        """Queue ``statement``; the future resolves to its receipt after the durable commit.

        The signature is checked by the checker stage while the statement waits
        (Ed25519 verification releases the GIL, so every core helps); the writer
        admits statements in submission order and verifies again itself only if
        that check failed or used a key that is no longer the actor's. Callers
        that already checked the signature pass the key as ``verified_key``.
        Raises `Overloaded` when the queue is full.
        """
        pending = _Pending(statement, verified_key, attachment)
        with self._count_lock:  # held while queueing, so nothing slips in behind close()
            if self._closing:
                raise Overloaded(retry_after=1.0)
            try:
                self._inbox.put_nowait(pending)
            except queue.Full:
                raise Overloaded(retry_after=1.0) from None
            self._submitted += 1
        return pending.future

    def _key(self, statement: SignedStatement) -> bytes | None:
        """The actor's current key, cached (a stale one only means the writer checks again)."""
        key = self._keys.get(statement.actor)
        if key is None:
            try:
                key = self.rules.signing_key(self.store, statement)
            except ChainledgerError:
                return None  # unknown now; the writer decides in sequence order
            if len(self._keys) >= 10_000:
                self._keys.clear()
            self._keys[statement.actor] = key
        return key

    def _check_signatures(self, batch: list[_Pending]) -> None:
        """Set each unchecked statement's ``checked`` key if its signature verifies with it,
        and pack every statement for storage (the workers pack those they check)."""
        try:
            todo = [p for p in batch if p.checked is None]
            keyed = [(p, self._key(p.statement)) for p in todo]
            sent = [(p, k) for p, k in keyed if k is not None]
            jobs = [(k, p.statement.sig, p.statement.body) for p, k in sent]
            verdicts, packed = self._sigs.check_and_pack(jobs)
            for (p, key), ok, pk in zip(sent, verdicts, packed, strict=True):
                p.packed = pk
                if ok:
                    p.checked = key
            for p in batch:  # the rest: checked by the caller, or actor unknown for now
                if p.packed is None:
                    p.packed = pack_statement(p.statement.body)
        except Exception:  # e.g. a database error: the writer will check them itself
            log.exception("signature pre-check failed; deferring to the writer")

    def submit_async(
        self,
        statement: SignedStatement,
        verified_key: bytes | None = None,
        attachment: Any = None,
    ) -> asyncio.Future[Receipt]:
        """`submit` for a caller on the running event loop (in its thread): a future of
        that loop."""
        return asyncio.wrap_future(self.submit(statement, verified_key, attachment))

    def queue_depth(self) -> int:
        """Statements submitted and not yet taken into a batch."""
        return self._inbox.qsize() + len(self._ready)

    def unchecked(self) -> int:
        """Statements submitted that the checker has not yet moved to the ready list."""
        with self._count_lock:
            return self._submitted - self._moved

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting, drain what is queued, and stop the threads."""
        with self._count_lock:
            first_call = not self._closing
            self._closing = True
        if first_call:
            self._inbox.put(None)  # after every statement already queued
        self._checker.join(timeout)
        self._thread.join(timeout)
        self._sigs.close()

    # --- the checker thread -------------------------------------------------------------------

    def _run_checker(self) -> None:
        while True:
            first = self._inbox.get()
            batch = [first]
            while first is not None and len(batch) < self.max_batch:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
                if batch[-1] is None:
                    break
            self._check_signatures([p for p in batch if p is not None])
            with self._ready_cond:
                while len(self._ready) >= self._max_ready:
                    self._ready_cond.wait()
                self._ready.extend(batch)
                self._ready_cond.notify_all()
            with self._count_lock:
                self._moved += sum(1 for p in batch if p is not None)
            if batch[-1] is None:
                return

    # --- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._ready_cond:
                while not self._ready:
                    self._ready_cond.wait()
                batch: list[_Pending] = []
                stop = False
                while self._ready and len(batch) < self.max_batch:
                    item = self._ready.popleft()
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                self._ready_cond.notify_all()
            if batch:
                self._commit(batch)
            if stop:
                return

    def _load_tip(self, w: StateWriter) -> _Tip:
        latest = w.latest_checkpoint()
        if latest is None:
            return _Tip(Frontier(self.suite), None, "", self.suite.empty())
        cached = self._tip
        if (
            cached is not None
            and cached.frontier.size == latest.size
            and cached.root == latest.root
        ):
            return cached
        size = latest.size
        try:
            frontier = Frontier.load(self.suite, size, w.nodes)
            last_leaf = w.nodes([(0, size - 1)])[(0, size - 1)]
            last = w.entry(size - 1)
            last_ts = check_ts(json.loads(last)["ts"]) if last is not None else None
        except (KeyError, TypeError, ValueError) as exc:  # ValueError: JSON and UTF-8 too
            # Appending after a tip that cannot be read would build on a guess: refuse
            # every write until `verify` (and a restore) has dealt with it.
            raise LedgerCorrupt(size - 1, "the ledger's tip cannot be read back") from exc
        if last_ts is None:
            raise LedgerCorrupt(size - 1, "the stored entry is missing")
        return _Tip(frontier, last_leaf, last_ts, latest.root)

    def _authenticate(self, w: StateWriter, p: _Pending, seq: int) -> None:
        """Raise unless ``p``'s signature is its actor's (refusals here are not recorded:
        nobody is known to have asked)."""
        stmt = p.statement
        if (seq == 0) != (stmt.kind == "genesis"):
            raise NotAllowed("genesis is entry 0 and only entry 0")
        key = self.rules.signing_key(w, stmt)
        if p.checked != key:  # not checked, failed, or checked with a key since replaced
            stmt.verify(key)

    def _check(
        self,
        w: StateWriter,
        p: _Pending,
        ctx: Context,
        now: datetime,
        window: tuple[str, str],
        used: set[tuple[str, str]],
    ) -> None:
        """Raise why the authenticated ``p`` may not be appended where ``ctx`` says.

        ``used`` holds the (actor, nonce) pairs already on the ledger or earlier in the batch.
        """
        stmt = p.statement
        # Timestamps have one fixed form, so they compare as strings (cheap on the hot path).
        if not window[0] <= stmt.ts <= window[1] and not self._late_ok(stmt, now, window):
            drift = abs(parse_ts(stmt.ts) - now)
            raise ClockSkew(
                f"statement ts is {drift.total_seconds():.0f} s from the ledger clock "
                f"(window {self.skew.total_seconds():.0f} s)"
            )
        if (stmt.actor, stmt.nonce) in used:
            raise Replay(f"nonce already used by {stmt.actor}")
        self.rules.admit(w, stmt, ctx)

    def _late_ok(self, stmt: SignedStatement, now: datetime, window: tuple[str, str]) -> bool:
        """Whether ``stmt`` is of a kind that may arrive late (`Kind.max_age`) and is
        old by no more than that (never ahead of the window)."""
        kind = self.rules.kinds.get(stmt.kind)
        if kind is None or kind.max_age is None or stmt.ts > window[1]:
            return False
        return stmt.ts >= format_ts(now - kind.max_age)

    def _refusal_entry(
        self, p: _Pending, exc: ChainledgerError
    ) -> tuple[SignedStatement, str] | None:
        """The platform's record of a refused request, for refusals the rules record.

        Its nonce is derived from its fields (`chainledger.denials.refusal_nonce`), so the
        record of one request refused for one reason always has the same (actor, nonce):
        `_commit` appends it once.
        """
        if self.platform_statement is None:
            return None
        reason = refusal_reason(exc)
        made = self.rules.refusal(p.statement, reason)
        if made is None:
            return None
        kind, fields = made
        return self.platform_statement(kind, nonce=refusal_nonce(kind, fields), **fields), reason

    def _earlier_receipt(
        self, w: StateWriter, seq: int, checkpoint: CheckpointRow | None
    ) -> Receipt | None:
        """The receipt of refusal record ``seq`` made by an earlier batch, against the
        latest checkpoint; None if it cannot be read back (a corrupt row: the refusal is
        still answered, and `verify` names the row)."""
        if checkpoint is None:
            return None
        try:
            return stored_receipt(w, self.suite, seq, checkpoint)
        except ChainledgerError:
            log.error("refusal record %d could not be read back for its receipt", seq)
            return None

    def _commit(self, batch: list[_Pending]) -> None:
        appended: list[_Appended] = []
        errors: list[tuple[_Pending, ChainledgerError]] = []
        recorded: list[tuple[_Pending, ChainledgerError, str, _Appended]] = []
        # Refusals already recorded: earlier in this batch (its record) or by an earlier
        # batch (the record's seq; its receipt is read back before the batch commits).
        again: list[tuple[_Pending, ChainledgerError, str, _Appended | int]] = []
        earlier: dict[int, Receipt | None] = {}
        records: dict[tuple[str, str], _Appended] = {}  # refusal records of this batch
        try:
            with self.store.write() as w:
                tip = self._load_tip(w)
                before = tip.frontier.nodes()
                frontier = tip.frontier.copy()
                clock_now = self.clock()
                now = format_ts(clock_now)
                window = (format_ts(clock_now - self.skew), format_ts(clock_now + self.skew))
                ts = max(now, tip.last_ts)  # entry times never go backwards
                prev = tip.last_leaf.hex() if tip.last_leaf is not None else GENESIS_PREV
                created: list[tuple[NodeKey, bytes]] = []
                rows: list[EntryRow] = []
                used = w.nonces_used((p.statement.actor, p.statement.nonce) for p in batch)

                def append(stmt: SignedStatement, ctx: Context, p: _Pending) -> _Appended:
                    nonlocal prev
                    used.add((stmt.actor, stmt.nonce))
                    data = encode_entry(ctx.seq, ts, prev, stmt)
                    leaf = self.suite.leaf(data)
                    created.extend(frontier.append(leaf))
                    packed = p.packed if stmt is p.statement else None
                    rows.append(EntryRow(ctx.seq, data, stmt.kind, stmt.actor, stmt.nonce, packed))
                    self.rules.kind(stmt.kind).apply(w, stmt, ctx)
                    prev = leaf.hex()
                    return _Appended(p, ctx.seq, data, leaf)

                for p in batch:
                    ctx = Context(frontier.size, ts, p.attachment, self.suite, w)
                    try:
                        self._authenticate(w, p, ctx.seq)
                    except ChainledgerError as exc:
                        errors.append((p, exc))
                        continue
                    try:
                        self._check(w, p, ctx, clock_now, window, used)
                    except ChainledgerError as exc:
                        record = self._refusal_entry(p, exc)
                        if record is None:
                            errors.append((p, exc))
                            continue
                        denial, reason = record
                        pair = (denial.actor, denial.nonce)
                        first: _Appended | int | None = records.get(pair) or w.nonce_seq(*pair)
                        if first is not None:
                            # This request was refused for this reason before and that is
                            # on the ledger: the caller gets the same refusal with that
                            # record's receipt, the ledger nothing (a replayed capture
                            # must not grow it).
                            again.append((p, exc, reason, first))
                            continue
                        # The refusal entry is the platform's statement: admitted like any other.
                        self.rules.admit(w, denial, ctx)
                        made = append(denial, Context(ctx.seq, ts, None, self.suite), p)
                        records[pair] = made
                        recorded.append((p, exc, reason, made))
                        continue
                    appended.append(append(p.statement, ctx, p))
                done = appended + [r[3] for r in recorded]
                if done:
                    w.add_entries(rows)
                    w.add_nodes(created)
                    root = frontier.root()
                    note = sign_checkpoint(
                        Checkpoint(self.origin, frontier.size, root), self.signer
                    )
                    w.add_checkpoint(CheckpointRow(frontier.size, root, note, now))
                olds = {a for *_, a in again if isinstance(a, int)}
                if olds:
                    cp = w.latest_checkpoint()  # this batch's, if it appended anything
                    for seq in olds:
                        earlier[seq] = self._earlier_receipt(w, seq, cp)
        except BaseException as exc:
            # Nothing of this batch was written; make sure the next one reloads the tip.
            self._tip = None
            log.exception("batch of %d statements rolled back", len(batch))
            for p, err in errors:
                p.future.set_exception(err)
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.refused += len(errors) + len(recorded) + len(again)
        for p, err in errors:
            p.future.set_exception(err)
        for p, why, reason, first in again:
            if isinstance(first, int):  # recorded by an earlier batch
                p.future.set_exception(_refused(why, reason, earlier.get(first)))
        if not done:
            return
        last = max(done, key=lambda a: a.seq)
        self._tip = _Tip(frontier, last.leaf, ts, root)
        self.batches += 1
        self.appended += len(done)
        if self.on_commit is not None:
            self.on_commit(len(done))
        nodes = before | dict(created)
        size = frontier.size
        # Proofs of neighbouring leaves share most of their ranges: hash each range once.
        ranges: dict[tuple[int, int], bytes] = {}

        def node(level: int, index: int) -> bytes:
            return nodes[(level, index)]

        def hash_of(r: tuple[int, int]) -> bytes:
            h = ranges.get(r)
            if h is None:
                h = ranges[r] = range_hash(r[0], r[1], node, suite=self.suite)
            return h

        lock = threading.Lock()  # callers compute their proofs concurrently from one memo

        def receipt(a: _Appended) -> Receipt:
            def proof() -> InclusionProof:
                with lock:
                    hashes = tuple(hash_of(r) for r in inclusion_ranges(a.seq, size))
                return InclusionProof(a.seq, size, hashes)

            return Receipt.lazy(a.seq, a.leaf, a.data, note, proof)

        for a in appended:
            a.pending.future.set_result(receipt(a))
        for p, why, reason, a in recorded:
            p.future.set_exception(_refused(why, reason, receipt(a)))
        for p, why, reason, first in again:
            if isinstance(first, _Appended):  # the record this batch made for it
                p.future.set_exception(_refused(why, reason, receipt(first)))


def _refused(why: ChainledgerError, reason: str, receipt: Receipt | None = None) -> Refused:
    """The caller's error for a recorded refusal: ``why`` as a `Refused` with ``reason``,
    carrying the ``receipt`` of its record (None only if that record could not be read
    back: see `Sequencer._earlier_receipt`)."""
    detail = why.detail if isinstance(why, Refused) else str(why)
    return Refused(reason, detail, receipt)
