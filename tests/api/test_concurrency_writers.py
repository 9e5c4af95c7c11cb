"""Concurrent writers on one ledger: ``chainledger serve --workers 4`` under HTTP load (signed
writes and counter reads) while two more processes append to the same database: a
``chainledger note`` loop (the operator CLI) and a long-lived library writer (several
threads on one `Ledger`).

Afterwards: every request was answered 200 and every CLI run exited 0; one chain
(``chainledger verify`` passes: prev links, Merkle nodes, checkpoints, projections); no seq
acknowledged twice; every receipt, from every writer, in the ledger at its seq with its leaf
hash; and exactly as many entries appended as receipts handed out (none lost, none made up).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from evidence_support import check_ledger, concurrency_run, prepare_ledger, verify_cli

SECONDS = 4.0


@pytest.mark.slow
def test_four_workers_and_two_writer_processes_keep_one_chain(tmp_path: Path) -> None:
    target = prepare_ledger(tmp_path / "ledger.db")
    run = concurrency_run(target, seconds=SECONDS, workers=4, writers=3, readers=3)
    assert (run.library_exit, run.library_stderr) == (0, "")
    figures, violations = check_ledger(target, run.outcomes, allow_unanswered=False)
    assert violations == [], figures
    by_source = figures["receipts_by_source"]
    # Every kind of writer got receipts while the others ran.
    assert {"write", "read", "cli", "library"} <= set(by_source), figures
    assert run.server_trouble == [], run.server_trouble
    assert run.clean_stop
    ok, output, entries = verify_cli(target.db)
    assert ok, output
    assert entries == figures["entries_after"]
