"""Several API nodes on one PostgreSQL database (issue 8): three ``chainledger serve``
processes, each on its own port as separate machines would be, under HTTP load (signed
writes and counter reads on every node), while two ``chainledger note`` loops append to the
same database from the CLI.

Afterwards, as for SQLite (tests/api/test_concurrency_writers.py): every request answered
200 and every CLI run exited 0; one chain (``chainledger verify`` passes: prev links,
Merkle nodes, checkpoints, projections rebuilt and compared); no seq acknowledged twice;
every receipt, from every node and writer, in the ledger at its seq with its leaf hash;
exactly as many entries appended as receipts handed out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from evidence_support import check_ledger, concurrency_run, prepare_ledger, verify_cli

from chainledger.location import Location

SECONDS = 5.0


@pytest.mark.slow
def test_three_api_nodes_and_two_cli_writers_keep_one_chain(pg_url: str, tmp_path: Path) -> None:
    target = prepare_ledger(Location.of(pg_url, tmp_path / "keys"))
    run = concurrency_run(
        target, seconds=SECONDS, servers=3, workers=1, writers=2, readers=2, cli_writers=2,
        library_threads=0,
    )  # fmt: skip
    figures, violations = check_ledger(target, run.outcomes, allow_unanswered=False)
    assert violations == [], figures
    by_source = figures["receipts_by_source"]
    assert {"write", "read", "cli"} <= set(by_source), figures
    assert run.server_trouble == [], run.server_trouble
    assert run.clean_stop
    ok, output, entries = verify_cli(target.db)
    assert ok, output
    assert entries == figures["entries_after"]
