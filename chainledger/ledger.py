"""The ledger: append signed statements, read entries, serve proofs and checkpoints.

`Ledger.init` writes the genesis entry and the platform's signing key (a key
file beside the database, mode 0600, never inside it); `Ledger.open` opens an
existing one. Appends go through the group-commit `Sequencer`; a caller's
signature is checked in the caller's own thread first (Ed25519 verification
releases the GIL, so this uses every core), and the writer only re-checks it
if the actor's key changed meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger.checkpoint import add_signatures
from chainledger.clock import Clock, parse_ts, system_clock
from chainledger.crypto import (
    HashSuite,
    Rand,
    generate_key,
    load_private_key,
    party_id,
    public_key_bytes,
    save_private_key,
    suite,
    system_rand,
)
from chainledger.encoding import b64encode
from chainledger.entry import decode_entry
from chainledger.errors import (
    ChainledgerError,
    ClockSkew,
    Conflict,
    InvalidChallenge,
    LedgerCorrupt,
    MalformedInput,
    NotAllowed,
    NotFound,
)
from chainledger.immutable_cache import ImmutableCache
from chainledger.location import Location, key_path
from chainledger.merkle import (
    Range,
    consistency_ranges,
    inclusion_ranges,
    proven_ranges,
    range_node_keys,
)
from chainledger.note import (
    ALG_ED25519,
    MAX_SIGNATURES,
    Signer,
    Verifier,
    check_key_name,
    key_id,
    parse_note,
)
from chainledger.proofs import ConsistencyProof, InclusionProof, range_hashes
from chainledger.receipt import Receipt, stored_receipt
from chainledger.rules import Rules, core_rules, genesis_fields
from chainledger.sequencer import Sequencer
from chainledger.sequencer_process import ChildSpec, SequencerProcess
from chainledger.statement import SignedStatement, make_statement, sign_statement
from chainledger.store.base import PartyRow, StateReader, Store
from chainledger.witness import check_cosignature, parse_cosignature_line, witness_verifier

__all__ = ["DEFAULT_ORIGIN", "Genesis", "Ledger", "key_path"]

DEFAULT_ORIGIN = "chainledger.localhost/ledger"


@dataclass(frozen=True, slots=True)
class Genesis:
    """What entry 0 fixes for the ledger's life."""

    origin: str
    suite: HashSuite
    platform_key: bytes

    @property
    def platform_id(self) -> str:
        return party_id(self.platform_key)


def read_genesis(store: Store) -> Genesis:
    data = store.entry(0)
    if data is None:
        raise NotFound("the ledger has no genesis entry (run `chainledger init`)")
    try:
        entry = decode_entry(data)
        origin, suite_name, key = genesis_fields(entry.statement)
    except ChainledgerError as exc:
        raise LedgerCorrupt(0, f"genesis entry is invalid: {exc}") from None
    return Genesis(origin, suite(suite_name), key)


def _text(seq: int, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerCorrupt(seq, "the stored entry does not decode") from None


class Ledger:
    """One open ledger. Thread-safe; close it when done."""

    def __init__(
        self,
        store: Store,
        genesis: Genesis,
        *,
        key: Ed25519PrivateKey | None,
        clock: Clock = system_clock,
        rand: Rand = system_rand,
        rules: Rules | None = None,
        skew: timedelta = timedelta(minutes=5),
        max_batch: int = 1024,
        max_queue: int = 100_000,
        verify_processes: int | None = None,
        replica: Store | None = None,
        own_process: tuple[Location, Callable[[], Rules]] | None = None,
        sequencer_cpus: frozenset[int] | None = None,
    ) -> None:
        """``replica``: a read replica of ``store`` (a PostgreSQL hot standby) that serves
        proofs, entries and audit queries once it has caught up with what they need
        (`reader`); everything else, and every write, goes to ``store``.
        ``own_process``: the sequencer runs in a child process
        (`chainledger.sequencer_process`) that opens the ledger at this location with the
        rules this picklable factory makes (those of ``rules``); the system clock and
        randomness there; on ``sequencer_cpus`` if given (`chainledger.placement`)."""
        self.store = store
        self.replica = replica
        self.genesis = genesis
        self.clock = clock
        self.rand = rand
        self.rules = rules or core_rules()
        self.skew = skew
        self.max_batch = max_batch
        self.max_queue = max_queue  # statements waiting beyond this: `Overloaded` (back-pressure)
        self.verify_processes = verify_processes
        self._key = key
        self._signer = Signer(genesis.origin, key) if key is not None else None
        self._sequencer: Sequencer | SequencerProcess | None = None
        self._own_process = own_process
        self._sequencer_cpus = sequencer_cpus
        self._lock = threading.Lock()
        #: Committed entries and range hashes this process has read (`committed_entry`,
        #: `committed_inclusion_proof`): never changed by an append-only ledger.
        self.immutable = ImmutableCache(genesis.suite)
        if key is not None and public_key_bytes(key) != genesis.platform_key:
            raise LedgerCorrupt(None, "the platform key file does not match the genesis key")

    # --- lifecycle ----------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        db: Location | Path | str,
        *,
        origin: str = DEFAULT_ORIGIN,
        suite_name: str = "sha256",
        clock: Clock = system_clock,
        rand: Rand = system_rand,
        rules: Rules | None = None,
        **kwargs: Any,
    ) -> Ledger:
        """Create the database, the platform key file and the genesis entry.

        Refuses an already initialized database (`Conflict`). If an earlier init
        was interrupted after writing the key file, that key is used.
        """
        suite(suite_name)  # refuse an unknown suite before touching the disk
        check_key_name(origin)  # refuse a bad origin before touching the disk
        where = Location.of(db)
        kp = where.key_path
        created_db = not where.exists()
        created_key = False
        store = where.open_store(create=True)
        ledger: Ledger | None = None
        try:
            if store.entry(0) is not None:
                raise Conflict(f"{where} already holds a ledger")
            if kp.exists():  # left by an init that was interrupted before its genesis commit
                key = load_private_key(kp)
            else:
                key = generate_key(rand)
                kp.parent.mkdir(parents=True, exist_ok=True)
                save_private_key(key, kp)
                created_key = True
            pub = public_key_bytes(key)
            genesis = Genesis(origin, suite(suite_name), pub)
            ledger = cls(store, genesis, key=key, clock=clock, rand=rand, rules=rules, **kwargs)
            stmt = make_statement(
                "genesis", party_id(pub), clock(), rand,
                origin=origin, suite=suite_name, key=b64encode(pub),
            )  # fmt: skip
            ledger.append(sign_statement(stmt, key))
        except BaseException:
            if ledger is not None:
                ledger.close()
            else:
                store.close()
            # Leave nothing half-made behind: what this call created, it removes.
            if created_db:
                where.discard_created()
            if created_key:
                kp.unlink(missing_ok=True)
            raise
        return ledger

    @classmethod
    def open(
        cls,
        db: Location | Path | str,
        *,
        writable: bool = True,
        clock: Clock = system_clock,
        rand: Rand = system_rand,
        rules: Rules | None = None,
        replica: str | None = None,
        own_process: Callable[[], Rules] | None = None,
        **kwargs: Any,
    ) -> Ledger:
        """Open an initialized ledger; ``writable`` loads the platform key file.
        ``replica``: the URL of a read replica of a PostgreSQL ledger (see `reader`).
        ``own_process``: run the sequencer in a child process, with the rules this
        picklable factory makes (``rules`` must be what it makes; see `Ledger`)."""
        where = Location.of(db)
        if replica is not None and not where.is_postgres:
            raise MalformedInput("replica", "a read replica is for PostgreSQL ledgers only")
        store = where.open_store()
        standby: Store | None = None
        try:
            genesis = read_genesis(store)
            if replica is not None:
                standby = Location.of(replica, where.keys).open_store()
                if read_genesis(standby) != genesis:
                    raise Conflict("the replica holds another ledger (its genesis differs)")
            key = load_private_key(where.key_path) if writable else None
            child = (where, own_process) if own_process is not None else None
            return cls(
                store, genesis, key=key, clock=clock, rand=rand, rules=rules, replica=standby,
                own_process=child, **kwargs,
            )  # fmt: skip
        except BaseException:
            store.close()
            if standby is not None:
                standby.close()
            raise

    def close(self) -> None:
        """Drain the sequencer (every queued append is committed or refused), then close."""
        with self._lock:
            seq, self._sequencer = self._sequencer, None
        if seq is not None:
            seq.close()
        self.store.close()
        if self.replica is not None:
            self.replica.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- identity -----------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self.genesis.origin

    @property
    def suite(self) -> HashSuite:
        return self.genesis.suite

    @property
    def platform_id(self) -> str:
        return self.genesis.platform_id

    @property
    def verifier(self) -> Verifier:
        """The C2SP verifier of this ledger's checkpoints."""
        key = self.genesis.platform_key
        return Verifier(self.origin, key_id(self.origin, ALG_ED25519, key), ALG_ED25519, key)

    @property
    def vkey(self) -> str:
        return self.verifier.vkey()

    # --- appending ----------------------------------------------------------------------------

    @property
    def sequencer(self) -> Sequencer | SequencerProcess:
        with self._lock:
            if self._sequencer is None:
                if self._signer is None:
                    raise NotFound("ledger opened read-only: no platform key to sign checkpoints")
                if self._own_process is not None:
                    where, rules = self._own_process
                    self._sequencer = SequencerProcess(
                        ChildSpec(where, rules, self.skew, self.max_batch, self.max_queue,
                                  self.verify_processes, self._sequencer_cpus)
                    )  # fmt: skip
                    return self._sequencer
                self._sequencer = Sequencer(
                    self.store,
                    self.rules,
                    self._signer,
                    self.suite,
                    self.origin,
                    self.clock,
                    skew=self.skew,
                    max_batch=self.max_batch,
                    max_queue=self.max_queue,
                    verify_processes=self.verify_processes,
                    platform_statement=self.platform_statement,
                )
            return self._sequencer

    def submit(
        self,
        statement: SignedStatement,
        attachment: Any = None,
        *,
        verified_key: bytes | None = None,
    ) -> Future[Receipt]:
        """Queue ``statement``; its future resolves to the receipt after the durable commit.

        ``attachment`` is side data for the statement's rules that never reaches the
        ledger (see `chainledger.rules.Context`). ``verified_key``: the caller already
        knows the signature is this key's (see `Sequencer.submit`); it is checked again
        only if that is no longer the actor's key.
        """
        return self.sequencer.submit(statement, verified_key, attachment=attachment)

    def submit_async(
        self,
        statement: SignedStatement,
        attachment: Any = None,
        *,
        verified_key: bytes | None = None,
    ) -> Awaitable[Receipt]:
        """`submit` for a caller on the running event loop (in its thread): awaitable
        there (see `SequencerProcess.submit_async`)."""
        return self.sequencer.submit_async(statement, verified_key, attachment)

    def append(self, statement: SignedStatement, attachment: Any = None) -> Receipt:
        """Sequence ``statement`` durably and return its receipt, or raise why it was refused."""
        return self.submit(statement, attachment).result()

    def platform_statement(
        self, kind: str, *, nonce: str | None = None, **fields: Any
    ) -> SignedStatement:
        """A statement by the platform itself, signed with the platform key, at the
        ledger's clock and with a random nonce, or with ``nonce`` when given (a refusal
        record's, derived from its content so that it is recorded once: see
        `chainledger.denials.refusal_nonce`; it must be in the statements' nonce form)."""
        if self._key is None:
            raise NotFound("ledger opened read-only: no platform key")
        stmt = make_statement(kind, self.platform_id, self.clock(), self.rand, **fields)
        if nonce is not None:
            # Replaced after the fact (the random one is drawn and dropped) so that the
            # injected randomness is consumed the same way whatever the nonce.
            stmt["nonce"] = nonce
        return sign_statement(stmt, self._key)

    # --- reading ------------------------------------------------------------------------------

    def size(self) -> int:
        latest = self.store.latest_checkpoint()
        return latest.size if latest else 0

    def checkpoint(self) -> str:
        """The latest signed checkpoint (C2SP signed note text), with its witnesses'
        cosignature lines appended after the log's signature.

        Still a valid note for the log's verifier key: verifiers ignore signatures
        by keys they do not know (signed-note). At most `MAX_SIGNATURES` lines in
        all, the first witnesses by party id when more have cosigned.
        """
        with self.store.reading() as view:
            latest = view.latest_checkpoint()
            if latest is None:
                raise NotFound("the ledger has no checkpoint yet")
            lines = view.cosignatures(latest.size)
        if not lines:
            return latest.note
        room = MAX_SIGNATURES - len(parse_note(latest.note).signatures)
        sigs = [parse_cosignature_line(line) for line in lines[: max(room, 0)]]
        return add_signatures(latest.note, sigs)

    # --- witnesses ----------------------------------------------------------------------------

    @staticmethod
    def _witness(state: StateReader, party: str) -> PartyRow:
        row = state.party(party)
        if row is None or row.role != "auditor" or row.status != "active":
            raise NotAllowed(f"party {party} is not an active auditor: only auditors witness")
        return row

    def add_cosignature(self, size: int, party: str, line: str) -> None:
        """Accept witness ``party``'s cosignature ``line`` of the stored checkpoint of ``size``.

        Raises `NotFound` if no checkpoint of exactly ``size`` was signed,
        `NotAllowed` unless ``party`` is a registered active auditor (the
        ledger's witnesses), a `MalformedInput` subclass if ``line`` does not
        parse, a `BadSignature` subclass unless it is ``party``'s valid type 0x04
        cosignature of that checkpoint's body under its current key, and
        `ClockSkew` if its timestamp lies more than ``skew`` after ``clock()`` or
        before the checkpoint was signed. An accepted line replaces the witness's
        cosignature of that size only if its timestamp is newer (else nothing
        changes). Not a ledger entry: one short write transaction, no sequencer.
        """
        row = self.store.checkpoint(size) if 0 <= size < 2**63 else None
        if row is None:
            raise NotFound(f"no checkpoint of size {size}")
        witness = self._witness(self.store, party)
        body = parse_note(row.note).text
        timestamp = check_cosignature(body, line, witness_verifier(witness.id, witness.public_key))
        skew = self.skew.total_seconds()
        if timestamp > self.clock().timestamp() + skew:
            raise ClockSkew(f"cosignature time {timestamp} is in the future")
        if timestamp < parse_ts(row.ts).timestamp() - skew:
            raise ClockSkew(f"cosignature time {timestamp} precedes checkpoint {size}")
        canonical = parse_cosignature_line(line).line()
        with self.store.write() as w:
            # Re-checked under the write lock: a key rotated or suspended meanwhile refuses.
            if self._witness(w, party).public_key != witness.public_key:
                raise Conflict(f"the key of witness {party} changed; cosign again")
            w.add_cosignature(size, party, canonical, timestamp)

    def cosignatures(self, size: int) -> list[str]:
        """The stored witness cosignature lines of the checkpoint of ``size``."""
        return self.store.cosignatures(size)

    def reader(self, size: int | None = None, wait: float = 0.0) -> StateReader:
        """Where to read what the first ``size`` entries left (their entries, Merkle nodes
        and projections; None: all the primary has now): the replica, if there is one and it
        holds a checkpoint of at least ``size`` (polled for up to ``wait`` seconds while it
        catches up), else the primary.

        A replica lags the primary, and a proof or an entry the replica does not have yet
        must not be answered with "not found" or from a smaller tree: those go to the
        primary. A checkpoint is committed in the same transaction as its entries and
        nodes, so a replica holding it holds everything below it.
        """
        replica = self.replica
        if replica is None:
            return self.store
        if size is None:
            size = self.size()
        deadline = time.monotonic() + wait
        while True:
            latest = replica.latest_checkpoint()
            if latest is not None and latest.size >= size:
                return replica
            if time.monotonic() >= deadline:
                return self.store
            time.sleep(min(0.01, max(deadline - time.monotonic(), 0)))

    def entry(self, seq: int) -> bytes:
        size = self.size()
        data = self.reader(seq + 1).entry(seq) if 0 <= seq < size else None
        if data is None:
            raise NotFound(f"no entry {seq}")
        return data

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        size = self.size()
        end = size if end is None else min(end, size)
        return self.reader(end).entries(start, end)

    def entry_texts(self, start: int, end: int | None = None) -> list[tuple[int, str]]:
        """`entries` as text, for serving them as JSON strings.

        `LedgerCorrupt` naming the first entry whose stored row does not read back as text
        (a compact row that no longer unpacks comes back as stored, binary); its message
        never quotes the row. Nothing more is checked: a row edited, moved or deleted but
        still text is served as stored, so that a client's checks (signature, chain link,
        inclusion proof) catch it and keep it as evidence.
        """
        return [(seq, _text(seq, data)) for seq, data in self.entries(start, end)]

    def entry_text(self, seq: int) -> str:
        """`entry` as text, as `entry_texts` reads it; `LedgerCorrupt` if its row is gone
        though the ledger is larger (`NotFound` past the end)."""
        size = self.size()
        data = self.reader(seq + 1).entry(seq) if 0 <= seq < size else None
        if data is None:
            if 0 <= seq < size:
                raise LedgerCorrupt(seq, "the stored entry is missing")
            raise NotFound(f"no entry {seq}")
        return _text(seq, data)

    def nonce_receipt(self, actor: str, nonce: str) -> Receipt | None:
        """The receipt, at the latest checkpoint, of the entry ``actor`` made with
        ``nonce``; None if there is none."""
        with self.store.reading() as view:
            seq = view.nonce_seq(actor, nonce)
            latest = view.latest_checkpoint()
            if seq is None or latest is None:
                return None
            return stored_receipt(view, self.suite, seq, latest)

    def _tree_size(self, size: int | None) -> int:
        current = self.size()
        if size is None:
            return current
        if size > current:
            raise InvalidChallenge(f"tree size {size} is larger than the ledger ({current})")
        return size

    def _hashes(self, ranges: list[tuple[int, int]]) -> tuple[bytes, ...]:
        needed = max((hi for _, hi in ranges), default=0)
        return range_hashes(self.reader(needed).nodes(range_node_keys(ranges)), ranges, self.suite)

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size`` (default: latest)."""
        n = self._tree_size(size)
        return InclusionProof(index, n, self._hashes(inclusion_ranges(index, n)))

    def committed_inclusion_proof(
        self, index: int, size: int, along: Receipt | None = None
    ) -> InclusionProof:
        """`inclusion_proof` in a tree this process knows is committed (a receipt's), for
        the read path: the size is not re-checked against the latest checkpoint, and the
        range hashes come from `immutable` where it has them.

        What it does not have are the ranges on the tree's right edge, new with every
        batch. ``along``, a receipt in the same tree (the read's own, whose proof the
        sequencer computed from its frontier), gives them without the store: an older
        leaf's path in that tree leaves the perfect subtrees it remembers only through a
        range ``[x, size)`` that holds the receipt's leaf or is a range of its proof.
        They are hashed once per tree (`chainledger.merkle.proven_ranges`); what is
        still missing is read."""
        ranges = inclusion_ranges(index, size)
        learn = None
        if along is not None and along.inclusion.tree_size == size:
            learn = partial(_right_edge, along, self.suite)
        # Where to read is decided only on a miss (with a replica, that is a query).
        hashes = self.immutable.range_hashes(
            ranges, lambda keys: self.reader(size).nodes(keys), learn
        )
        return InclusionProof(index, size, hashes)

    def committed_entry(self, seq: int) -> bytes | None:
        """Entry ``seq`` (if stored), remembered once read: for the read path, which serves
        the same issue entries again and again."""
        return self.immutable.entry(seq, self.store.entry)

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        """RFC 9162 consistency proof from tree size ``first`` to ``second`` (default: latest)."""
        n = self._tree_size(second)
        return ConsistencyProof(first, n, self._hashes(consistency_ranges(first, n)))

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` entries, from stored nodes (O(log n) rows)."""
        n = self._tree_size(size)
        return self._hashes([(0, n)])[0]


def _right_edge(receipt: Receipt, suite: HashSuite) -> list[tuple[Range, bytes]]:
    """The ranges ``[x, size)`` of ``receipt``'s tree whose hashes its proof gives (see
    `Ledger.committed_inclusion_proof`): the ones no other receipt's tree shares."""
    p = receipt.inclusion
    proven = proven_ranges(p.leaf_index, p.tree_size, receipt.leaf_hash, p.hashes, suite=suite)
    return [(r, h) for r, h in proven if r[1] == p.tree_size]
