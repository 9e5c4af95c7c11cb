"""The ledger through its Python API: appends, refusals, group commit, proofs."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import FakeClock, one_batch

from chainledger import merkle
from chainledger.checkpoint import verify_checkpoint
from chainledger.crypto import SUITES, generate_key
from chainledger.entry import GENESIS_PREV, decode_entry
from chainledger.errors import (
    BadSignature,
    ClockSkew,
    Conflict,
    InvalidChallenge,
    MalformedInput,
    NotAllowed,
    NotFound,
    Overloaded,
    Replay,
    SchemaError,
    VerificationError,
)
from chainledger.ledger import Ledger, key_path
from chainledger.rules import Kind, UnknownActor, core_rules
from chainledger.sequencer import Sequencer
from chainledger.statement import make_statement, sign_statement
from chainledger.verify import verify_ledger

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger.init(tmp_path / "l.db")
    yield led
    led.close()


def note(led: Ledger, text: str = "x"):  # type: ignore[no-untyped-def]
    return led.platform_statement("note", text=text)


def leaves(led: Ledger) -> list[bytes]:
    return [led.suite.leaf(data) for _, data in led.entries()]


# --- genesis and opening ---------------------------------------------------------------------


def test_genesis_is_entry_zero_with_the_platform_key(ledger: Ledger) -> None:
    genesis = decode_entry(ledger.entry(0))
    assert genesis.seq == 0
    assert genesis.prev == GENESIS_PREV
    assert genesis.kind == "genesis"
    assert genesis.actor == ledger.platform_id
    assert genesis.statement.stmt["origin"] == ledger.origin
    party = ledger.store.party(ledger.platform_id)
    assert party is not None
    assert party.role == "platform"
    assert party.status == "active"


def test_key_file_is_private_and_beside_the_database(tmp_path: Path) -> None:
    Ledger.init(tmp_path / "a.db").close()
    kp = key_path(tmp_path / "a.db")
    assert kp == tmp_path / "a.db.key"
    assert kp.stat().st_mode & 0o777 == 0o600
    # the key is not inside the database
    pem = kp.read_bytes()
    assert b"PRIVATE KEY" in pem
    db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("a.db*") if p != kp)
    assert pem.splitlines()[1] not in db_bytes


def test_init_refuses_an_initialized_database(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(Conflict):
        Ledger.init(tmp_path / "l.db")


def test_init_refuses_bad_origin_and_suite_before_writing(tmp_path: Path) -> None:
    with pytest.raises(MalformedInput):
        Ledger.init(tmp_path / "o.db", origin="has space")
    with pytest.raises(MalformedInput):
        Ledger.init(tmp_path / "s.db", suite_name="md5")
    assert list(tmp_path.iterdir()) == []


def test_init_resumes_after_an_interrupted_init(tmp_path: Path) -> None:
    from chainledger.crypto import public_key_bytes, save_private_key

    key = generate_key(os.urandom)
    save_private_key(key, key_path(tmp_path / "r.db"))
    with Ledger.init(tmp_path / "r.db") as led:
        assert led.genesis.platform_key == public_key_bytes(key)


def test_read_only_ledger_cannot_append(ledger: Ledger, tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db", writable=False) as ro:
        with pytest.raises(NotFound):
            ro.platform_statement("note", text="x")
        with pytest.raises(NotFound):
            ro.append(note(ledger))
        assert ro.size() == 1


def test_open_refuses_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        Ledger.open(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


# --- appending -------------------------------------------------------------------------------


def test_append_returns_a_receipt_that_verifies(ledger: Ledger) -> None:
    receipt = ledger.append(note(ledger, "hello"))
    entry, cp = receipt.verify([ledger.verifier], origin=ledger.origin)
    assert receipt.seq == entry.seq == 1
    assert entry.statement.stmt["text"] == "hello"
    assert cp.size == 2
    assert ledger.entry(1) == receipt.entry
    assert verify_checkpoint(receipt.checkpoint, ledger.vkey).size == 2


def test_entries_form_a_hash_chain(ledger: Ledger) -> None:
    for i in range(5):
        ledger.append(note(ledger, str(i)))
    prev = GENESIS_PREV
    for seq, data in ledger.entries():
        entry = decode_entry(data)
        assert entry.seq == seq
        assert entry.prev == prev
        prev = ledger.suite.leaf(data).hex()


def test_bad_signature_is_refused_and_writes_nothing(ledger: Ledger) -> None:
    stmt = make_statement("note", ledger.platform_id, datetime.now(UTC), os.urandom, text="x")
    forged = sign_statement(stmt, generate_key(os.urandom))
    with pytest.raises(BadSignature):
        ledger.append(forged)
    assert ledger.size() == 1


def test_signature_is_checked_in_the_writer_too(ledger: Ledger) -> None:
    stmt = make_statement("note", ledger.platform_id, datetime.now(UTC), os.urandom, text="x")
    forged = sign_statement(stmt, generate_key(os.urandom))
    # Bypass the caller-side check: claim a verified key that is not the actor's.
    fut = ledger.sequencer.submit(forged, verified_key=b"\x00" * 32)
    with pytest.raises(BadSignature):
        fut.result()
    assert ledger.size() == 1


def test_unknown_actor_is_refused(ledger: Ledger) -> None:
    from chainledger.crypto import party_id, public_key_bytes

    key = generate_key(os.urandom)
    stmt = make_statement(
        "note", party_id(public_key_bytes(key)), datetime.now(UTC), os.urandom, text="x"
    )
    with pytest.raises(UnknownActor):
        ledger.append(sign_statement(stmt, key))
    assert ledger.size() == 1


def test_replayed_nonce_is_refused(ledger: Ledger) -> None:
    stmt = note(ledger)
    ledger.append(stmt)
    with pytest.raises(Replay):
        ledger.append(stmt)
    assert ledger.size() == 2


def test_replay_within_one_batch_is_refused(ledger: Ledger) -> None:
    stmt = note(ledger)
    with one_batch(ledger):  # hold the writer so both land in one batch
        first, second = ledger.submit(stmt), ledger.submit(stmt)
    first.result()
    with pytest.raises(Replay):
        second.result()
    assert ledger.size() == 2


def test_timestamps_outside_the_skew_window_are_refused(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    with Ledger.init(tmp_path / "c.db", clock=clock, skew=timedelta(seconds=30)) as led:
        key = led._key
        assert key is not None
        for offset, ok in [(-31, False), (31, False), (-29, True), (29, True)]:
            when = clock.now + timedelta(seconds=offset)
            stmt = sign_statement(
                make_statement("note", led.platform_id, when, os.urandom, text="t"), key
            )
            if ok:
                led.append(stmt)
            else:
                with pytest.raises(ClockSkew):
                    led.append(stmt)
        assert led.size() == 3


def test_entry_timestamps_never_go_backwards(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    with Ledger.init(tmp_path / "t.db", clock=clock) as led:
        led.append(note(led))
        clock.now -= timedelta(seconds=20)  # the wall clock steps back
        led.append(note(led))
        ts = [decode_entry(d).ts for _, d in led.entries()]
        assert ts == sorted(ts)
        assert ts[2] == ts[1]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"text": ""}, SchemaError),
        ({"text": 5}, SchemaError),
        ({"text": "x", "extra": 1}, SchemaError),
        ({}, SchemaError),
    ],
)
def test_note_schema(ledger: Ledger, fields: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        ledger.append(ledger.platform_statement("note", **fields))
    assert ledger.size() == 1


def test_unknown_kind_and_second_genesis_are_refused(ledger: Ledger) -> None:
    with pytest.raises(SchemaError):
        ledger.append(ledger.platform_statement("no.such.kind", text="x"))
    genesis = decode_entry(ledger.entry(0)).statement.stmt
    again = ledger.platform_statement(
        "genesis", origin=genesis["origin"], suite=genesis["suite"], key=genesis["key"]
    )
    with pytest.raises(NotAllowed):
        ledger.append(again)
    assert ledger.size() == 1


# --- group commit ----------------------------------------------------------------------------


def test_concurrent_appends_share_batches_and_checkpoints(ledger: Ledger) -> None:
    seq = ledger.sequencer
    batches_before = seq.batches
    statements = [note(ledger, str(i)) for i in range(200)]
    with one_batch(ledger):
        futures = [ledger.submit(s) for s in statements]
    receipts = [f.result() for f in futures]
    # The writer held at most the first few statements when it blocked; everything
    # queued behind the lock went into the next batch.
    assert seq.batches - batches_before <= 2
    assert len({r.checkpoint for r in receipts}) <= 2
    assert sorted(r.seq for r in receipts) == list(range(1, 201))
    for r in receipts:
        r.verify([ledger.verifier])


@pytest.mark.parametrize("own_process", [False, True], ids=["thread", "process"])
def test_threads_and_asyncio_callers(ledger: Ledger, tmp_path: Path, own_process: bool) -> None:
    if own_process:  # the sequencer in a child process (chainledger.sequencer_process)
        ledger = Ledger.open(tmp_path / "l.db", own_process=core_rules)
    commits: list[int] = []
    ledger.sequencer.on_commit = commits.append
    results: list[int] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        for i in range(25):
            r = ledger.append(note(ledger, f"{k}-{i}"))
            with lock:
                results.append(r.seq)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()

    async def async_callers() -> list[int]:
        rs = await asyncio.gather(
            *(ledger.sequencer.append_async(note(ledger, f"a{i}")) for i in range(50))
        )
        return [r.seq for r in rs]

    async_seqs = asyncio.run(async_callers())
    for t in threads:
        t.join()
    all_seqs = results + async_seqs
    assert sorted(all_seqs) == list(range(1, 1 + 6 * 25 + 50))
    assert sum(commits) == 6 * 25 + 50  # every committed batch reported, once
    verify_ledger(ledger.store)
    if own_process:
        ledger.close()


def test_two_sequencers_on_one_database_keep_one_chain(ledger: Ledger, tmp_path: Path) -> None:
    other = Ledger.open(tmp_path / "l.db")
    try:
        futures = []
        for i in range(100):
            led = ledger if i % 2 else other
            futures.append(led.submit(note(led, str(i))))
        seqs = [f.result().seq for f in futures]
        assert sorted(seqs) == list(range(1, 101))
        verify_ledger(ledger.store)
    finally:
        other.close()


def test_close_drains_the_queue(tmp_path: Path) -> None:
    led = Ledger.init(tmp_path / "d.db")
    futures = [led.submit(note(led, str(i))) for i in range(100)]
    led.close()
    assert sorted(f.result().seq for f in futures) == list(range(1, 101))
    with Ledger.open(tmp_path / "d.db", writable=False) as ro:
        assert ro.size() == 101


def test_full_queue_pushes_back(ledger: Ledger) -> None:
    assert ledger._signer is not None
    seq = Sequencer(
        ledger.store, ledger.rules, ledger._signer, ledger.suite, ledger.origin,
        ledger.clock, max_queue=2,
    )  # fmt: skip
    try:
        with one_batch(ledger, seq):
            accepted = []
            with pytest.raises(Overloaded) as info:
                for i in range(10):
                    accepted.append(seq.submit(note(ledger, str(i))))
            assert info.value.retry_after > 0
        for f in accepted:
            f.result()
    finally:
        seq.close()


def test_a_failing_batch_rolls_back_entirely_and_the_next_one_works(tmp_path: Path) -> None:
    def explode(w: object, stmt: object, ctx: object) -> None:
        raise RuntimeError("disk on fire")

    def no_check(state: object, stmt: object, ctx: object) -> None:
        return None

    bad = Kind("boom", frozenset({"platform"}), frozenset({"text"}), no_check, explode)
    with Ledger.init(tmp_path / "b.db", rules=core_rules().with_kinds([bad])) as led:
        with one_batch(led):
            good = led.submit(note(led, "before"))
            boom = led.submit(led.platform_statement("boom", text="x"))
        with pytest.raises(RuntimeError):
            boom.result()
        # the good statement shared the batch (or not); either way no partial write
        try:
            good.result()
            expected = 2
        except RuntimeError:
            expected = 1
        assert led.size() == expected
        r = led.append(note(led, "after"))
        assert r.seq == expected
        verify_ledger(led.store, rules=led.rules)


# --- proofs ----------------------------------------------------------------------------------


def test_proofs_for_every_index_and_size(ledger: Ledger) -> None:
    for i in range(20):
        ledger.append(note(ledger, str(i)))
    hashes = leaves(ledger)
    n = len(hashes)
    for size in range(1, n + 1):
        root = merkle.root(hashes[:size])
        assert ledger.root(size) == root
        for index in range(size):
            proof = ledger.inclusion_proof(index, size)
            assert list(proof.hashes) == merkle.inclusion_proof(index, hashes[:size])
            proof.verify(hashes[index], root)
        for first in range(1, size + 1):
            cproof = ledger.consistency_proof(first, size)
            cproof.verify(merkle.root(hashes[:first]), root)


def test_impossible_proof_requests(ledger: Ledger) -> None:
    ledger.append(note(ledger))
    with pytest.raises(InvalidChallenge):
        ledger.inclusion_proof(2)
    with pytest.raises(InvalidChallenge):
        ledger.inclusion_proof(0, 3)
    with pytest.raises(InvalidChallenge):
        ledger.consistency_proof(2, 1)
    with pytest.raises(InvalidChallenge):
        ledger.consistency_proof(0, 2)
    with pytest.raises(NotFound):
        ledger.entry(5)
    with pytest.raises(NotFound):
        ledger.entry(-1)


def test_sm3_ledger(tmp_path: Path) -> None:
    with Ledger.init(tmp_path / "sm3.db", suite_name="sm3") as led:
        assert led.suite is SUITES["sm3"]
        receipts = [led.append(note(led, str(i))) for i in range(5)]
        for r in receipts:
            r.verify([led.verifier], suite=SUITES["sm3"])
            with pytest.raises(VerificationError):  # leaf hashes differ under SHA-256
                r.verify([led.verifier], suite=SUITES["sha256"])
        hashes = leaves(led)
        assert led.root() == merkle.root(hashes, suite=SUITES["sm3"])
        verify_ledger(led.store)
