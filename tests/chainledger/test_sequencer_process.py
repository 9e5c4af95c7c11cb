"""The sequencer in a child process (`chainledger.sequencer_process`): the same contract
as the in-process `Sequencer`, across a pipe; the child's death and the parent's."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from domain_support import make_cast

from chainledger.access import read_fields
from chainledger.crypto import generate_key, party_id, public_key_bytes, save_private_key
from chainledger.domain import Domain, domain_rules
from chainledger.errors import (
    BadSignature,
    ChainledgerError,
    LedgerCorrupt,
    MalformedInput,
    Overloaded,
    Replay,
    StoreUnavailable,
)
from chainledger.ledger import Ledger
from chainledger.location import key_path
from chainledger.rules import Refused, UnknownActor, core_rules
from chainledger.sequencer_process import SequencerProcess, _error, _error_parts
from chainledger.statement import make_statement, sign_statement
from chainledger.verify import verify_ledger

ID_CARD_SCOPE = {"resident_id_card": ["name", "id_number"]}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    Ledger.init(tmp_path / "l.db").close()
    led = Ledger.open(tmp_path / "l.db", own_process=core_rules)
    yield led
    led.close()


def note(led: Ledger, text: str = "x"):  # type: ignore[no-untyped-def]
    return led.platform_statement("note", text=text)


def child_of(led: Ledger) -> subprocess.Popen[bytes]:
    seq = led.sequencer
    assert isinstance(seq, SequencerProcess)
    assert seq._child is not None
    return seq._child.proc


def gone(pid: int, within: float = 20.0) -> bool:
    """Whether process ``pid`` exits within ``within`` seconds (a zombie has exited: an
    orphan's is reaped by whatever adopted it, which in a container may be nobody)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_receipts_come_back_from_the_child_and_verify(ledger: Ledger) -> None:
    assert isinstance(ledger.sequencer, SequencerProcess)
    assert child_of(ledger).pid != os.getpid()
    receipts = [ledger.append(note(ledger, str(i))) for i in range(5)]
    for i, r in enumerate(receipts, start=1):
        entry, cp = r.verify([ledger.verifier], origin=ledger.origin)
        assert r.seq == entry.seq == i
        assert entry.statement.stmt["text"] == str(i - 1)
        assert ledger.entry(i) == r.entry
        assert r.inclusion == ledger.inclusion_proof(i, cp.size)
    verify_ledger(ledger.store)
    seq = ledger.sequencer
    assert (seq.appended, seq.batches) >= (5, 5)  # the child's counters, reported back
    # (Threads and event loops at once: tests/chainledger/test_ledger.py, "process".)


def test_errors_cross_the_pipe_as_themselves_and_write_nothing(ledger: Ledger) -> None:
    stmt = note(ledger)
    ledger.append(stmt)
    with pytest.raises(Replay, match="nonce already used"):
        ledger.append(stmt)
    key = generate_key(os.urandom)
    forged = sign_statement(
        make_statement("note", ledger.platform_id, datetime.now(UTC), os.urandom, text="x"), key
    )
    with pytest.raises(BadSignature):
        ledger.append(forged)
    # A key claimed as checked that is not the actor's: the child's writer checks again.
    with pytest.raises(BadSignature):
        ledger.sequencer.submit(forged, verified_key=b"\x00" * 32).result()
    stranger = make_statement(
        "note", party_id(public_key_bytes(key)), datetime.now(UTC), os.urandom, text="x"
    )
    with pytest.raises(UnknownActor):
        ledger.append(sign_statement(stranger, key))
    assert ledger.size() == 2


@pytest.mark.parametrize(
    "exc",
    [
        Replay("nonce already used by p_x"),
        MalformedInput("body", "not JSON"),
        LedgerCorrupt(7, "the stored entry is missing"),
        Overloaded(retry_after=2.5),
        StoreUnavailable(3.0),
        Refused("role", "a counter may not issue"),
        UnknownActor("unknown actor p_x"),  # compiled, a class without a __dict__
        ValueError("plain"),
    ],
)
def test_an_error_is_rebuilt_with_its_class_message_and_attributes(exc: Exception) -> None:
    back = _error(_error_parts(exc))
    assert type(back) is type(exc)
    state = getattr(exc, "__dict__", {})
    assert (str(back), back.args, getattr(back, "__dict__", {})) == (str(exc), exc.args, state)


def test_an_error_that_cannot_cross_becomes_its_class_name_only() -> None:
    class Local(ChainledgerError):  # not importable by name: pickle refuses it
        pass

    back = _error(_error_parts(Local("value 330102199001011234 leaked?")))
    assert type(back) is RuntimeError
    assert str(back) == "the sequencer failed (Local)"


def test_a_refused_read_carries_its_records_receipt(tmp_path: Path) -> None:
    cast = make_cast(tmp_path / "d.db")
    aid, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE, max_uses=1)
    cast.domain.close()
    d = Domain.open(tmp_path / "d.db", own_process=True)
    try:
        assert isinstance(d.ledger.sequencer, SequencerProcess)
        cast = dataclasses.replace(cast, domain=d)
        read = cast.bus.sign(d, "access.read", **read_fields(gid, aid, ["name"], "ticket_purchase"))
        result = d.read(read)
        assert result.disclosures["name"][1] == cast.citizen_name
        size = d.ledger.size()
        with pytest.raises(Refused) as info:
            d.read(read)
        assert info.value.reason == "replay"
        receipt = info.value.receipt
        assert receipt is not None
        entry, _ = receipt.verify([d.ledger.verifier], origin=d.ledger.origin)
        assert (entry.seq, entry.kind) == (size, "access.denied")
        verify_ledger(d.store, rules=domain_rules())
    finally:
        d.close()


def test_close_drains_everything_submitted(tmp_path: Path) -> None:
    Ledger.init(tmp_path / "d.db").close()
    led = Ledger.open(tmp_path / "d.db", own_process=core_rules)
    futures = [led.submit(note(led, str(i))) for i in range(100)]
    proc = child_of(led)
    led.close()
    assert sorted(f.result().seq for f in futures) == list(range(1, 101))
    assert proc.returncode == 0
    with Ledger.open(tmp_path / "d.db", writable=False) as ro:
        assert ro.size() == 101


def test_an_attachment_that_cannot_cross_is_refused_and_nothing_waits(ledger: Ledger) -> None:
    seq = ledger.sequencer
    assert isinstance(seq, SequencerProcess)
    with pytest.raises((TypeError, AttributeError, pickle.PicklingError)):
        seq.submit(note(ledger), attachment=lambda: None)
    assert seq._pending == {}
    assert ledger.append(note(ledger, "after")).seq == 1  # nothing was written before


def test_after_close_submits_are_pushed_back(ledger: Ledger) -> None:
    seq = ledger.sequencer
    seq.close()
    with pytest.raises(Overloaded):
        seq.submit(note(ledger))


def test_a_killed_child_fails_what_was_in_flight_and_the_next_submit_starts_another(
    ledger: Ledger,
) -> None:
    first = child_of(ledger)
    ledger.append(note(ledger, "before"))
    first.send_signal(signal.SIGSTOP)  # nothing it holds can be answered now
    in_flight = [ledger.submit(note(ledger, str(i))) for i in range(10)]
    first.kill()
    for f in in_flight:
        with pytest.raises(StoreUnavailable):
            f.result(timeout=20)
    r = ledger.append(note(ledger, "after"))  # a new child
    assert child_of(ledger).pid != first.pid
    assert r.seq == ledger.size() - 1
    verify_ledger(ledger.store)


def test_a_child_that_cannot_open_the_ledger_says_why(tmp_path: Path) -> None:
    Ledger.init(tmp_path / "k.db").close()
    parent = Ledger.open(tmp_path / "k.db", own_process=core_rules)
    try:
        # The parent checked its key; the child reads the file again, now another key.
        key_file = key_path(tmp_path / "k.db")
        key_file.unlink()
        save_private_key(generate_key(os.urandom), key_file)
        with pytest.raises(LedgerCorrupt, match="does not match the genesis key"):
            parent.sequencer  # noqa: B018
    finally:
        parent.close()


_PARENT = """
import sys, time
from chainledger.ledger import Ledger
from chainledger.location import key_path
from chainledger.rules import core_rules
led = Ledger.open(sys.argv[1], own_process=core_rules)
led.append(led.platform_statement("note", text="one"))
futures = [led.submit(led.platform_statement("note", text=str(i))) for i in range(50)]
print(led.sequencer._child.proc.pid, flush=True)
time.sleep(60)
"""


def test_a_parent_killed_outright_leaves_no_child_behind(tmp_path: Path) -> None:
    Ledger.init(tmp_path / "p.db").close()
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(tmp_path / "p.db")], stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    with parent.stdout:
        child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    assert gone(child), "the child outlived its parent"
    with Ledger.open(tmp_path / "p.db") as led:  # what the child had, it committed whole
        verify_ledger(led.store)
        assert led.size() >= 2


# --- callers on an event loop (`submit_async`) ---------------------------------------------


def test_a_loops_statements_are_settled_by_the_loop_and_a_cancelled_wait_loses_nothing(
    ledger: Ledger,
) -> None:
    seq = ledger.sequencer
    assert isinstance(seq, SequencerProcess)

    async def run() -> tuple[list[int], bool]:
        futures = [seq.submit_async(note(ledger, str(i))) for i in range(40)]
        futures[0].cancel()  # the caller went away: its statement is still sequenced
        done = await asyncio.gather(*futures[1:])
        return [r.seq for r in done], futures[0].cancelled()

    seqs, cancelled = asyncio.run(run())
    assert cancelled
    assert len(set(seqs)) == 39
    assert ledger.size() == 41  # genesis, and all forty
    verify_ledger(ledger.store)


def test_close_settles_what_a_loop_waits_for(ledger: Ledger) -> None:
    seq = ledger.sequencer
    assert isinstance(seq, SequencerProcess)

    async def run() -> list[int]:
        futures = [seq.submit_async(note(ledger, str(i))) for i in range(20)]
        seq.close()  # blocks the loop until the child drained: the answers wait for it
        return [r.seq for r in await asyncio.gather(*futures)]

    assert sorted(asyncio.run(run())) == list(range(1, 21))


def test_a_loops_waits_fail_when_the_child_dies(ledger: Ledger) -> None:
    seq = ledger.sequencer
    assert isinstance(seq, SequencerProcess)
    child = child_of(ledger)
    child.send_signal(signal.SIGSTOP)

    async def run() -> list[BaseException | object]:
        futures = [seq.submit_async(note(ledger, str(i))) for i in range(5)]
        await asyncio.sleep(0.1)  # written to the stopped child
        child.kill()
        return await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 20)

    outcomes = asyncio.run(run())
    assert all(isinstance(o, StoreUnavailable) for o in outcomes), outcomes
    assert ledger.append(note(ledger, "after")).seq == ledger.size() - 1
