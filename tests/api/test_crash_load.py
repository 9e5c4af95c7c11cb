"""Crash under load: `chainledger serve` SIGKILLed (its whole process group) at random moments
while signed writes and counter reads keep coming over HTTP, restarted each time; then
power-loss copies of the database files (db, -wal, -shm) taken under load with no
checkpoint first.

Afterwards every receipt a client received is in the ledger at its seq with the same leaf
hash and is the statement it sent; no entry is one nobody sent or one sent twice; every read
that released data has its ``access.read`` entry; ``chainledger verify`` passes; and each
copy verifies and is a prefix of the final ledger holding every receipt acknowledged before
it was taken. (scripts/evidence_reliability.py runs the same code with 20 kills.)
"""

from __future__ import annotations

import os
import random

import pytest
from evidence_support import (
    CrashRun,
    Target,
    check_copy,
    check_ledger,
    crash_run,
    ledger_leaves,
    prepare_ledger,
    verify_cli,
)

KILLS = 5
COPIES = 3


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Target, CrashRun, str]:
    """One crash run shared by the tests below: (the ledger, what happened, its seed)."""
    tmp = tmp_path_factory.mktemp("crash")
    seed = int.from_bytes(os.urandom(4), "big")
    target = prepare_ledger(tmp / "ledger.db")
    # Restarts alternate between 1 and 2 uvicorn workers: a SIGKILL takes the supervisor and
    # its workers down together too.
    run = crash_run(target, tmp, kills=KILLS, copies=COPIES, rng=random.Random(seed),
                    writers=3, readers=3, server_workers=(1, 2))  # fmt: skip
    return target, run, f"(random seed {seed})"


@pytest.mark.slow
def test_sigkill_under_load_loses_no_receipt(crashed: tuple[Target, CrashRun, str]) -> None:
    target, run, context = crashed
    assert len(run.kills) == KILLS
    figures, violations = check_ledger(target, run.outcomes, allow_unanswered=True)
    assert violations == [], f"{context} {figures}"
    # The load was real on both routes, and the kills cut requests off mid-flight.
    assert figures["receipts_by_source"].get("write", 0) > 0, figures
    assert figures["reads_answered_200"] > 0, figures
    assert any(k["requests_cut_in_flight"] for k in run.per_kill()), run.per_kill()
    assert run.server_trouble == [], run.server_trouble
    assert run.clean_stop
    ok, output, entries = verify_cli(target.db)
    assert ok, output
    assert entries == figures["entries_after"]


@pytest.mark.slow
def test_power_loss_copies_hold_every_earlier_receipt(
    crashed: tuple[Target, CrashRun, str],
) -> None:
    target, run, context = crashed
    assert len(run.copies) == COPIES
    final, _ = ledger_leaves(target.db)
    for copy in run.copies:
        assert copy.files.get("-wal", 0) > 0, copy  # taken with the WAL not checkpointed away
        figures, violations = check_copy(copy, run.outcomes, final)
        assert violations == [], f"{context} {figures}"
        assert figures["receipts_acked_before"] > 0, figures
