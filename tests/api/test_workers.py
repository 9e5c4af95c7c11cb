"""Several server processes on one SQLite ledger: one chain, no duplicate seq, no lost
receipt. Two `chainledger serve` instances (one of them with two uvicorn workers) take
concurrent writes; afterwards every receipt is in the ledger and `verify` passes."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from api_support import grant_statement as grant
from api_support import serve
from domain_support import make_cast
from support import chainledger_exe

from chainledger.ledger import Ledger
from chainledger.receipt import Receipt

ENV = {"CHAINLEDGER_RATE_PER_SECOND": "100000", "CHAINLEDGER_RATE_BURST": "100000"}


@pytest.mark.slow
def test_several_server_processes_share_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    statements = [grant(cast) for _ in range(300)]
    with serve(db, workers=2, env=ENV) as a, serve(db, env=ENV) as b:
        clients = [httpx.Client(base_url=s.url, timeout=60) for s in (a, b)]

        def post(i: int) -> httpx.Response:
            return clients[i % 2].post("/v1/statements", json=statements[i])

        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(post, range(len(statements))))
        for c in clients:
            c.close()
    assert [r.status_code for r in responses] == [200] * len(statements)
    receipts = [Receipt.from_json(r.json()) for r in responses]
    seqs = [r.seq for r in receipts]
    assert len(set(seqs)) == len(seqs)
    with Ledger.open(db, writable=False) as ledger:
        for r in receipts:
            assert ledger.entry(r.seq) == r.entry  # every receipt is in the one chain
    done = subprocess.run([chainledger_exe(), "verify", "--db", str(db)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
