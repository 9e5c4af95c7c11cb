"""Metrics, the structured access log, and a graceful shutdown that drains the sequencer."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import threading
from typing import Any

import httpx
import pytest
from api_support import grant_statement as grant
from api_support import serve, signed, signer
from fastapi.testclient import TestClient
from support import chainledger_exe

from api.app import create_app
from api.settings import Settings
from chainledger.access import read_fields
from chainledger.ledger import Ledger
from chainledger.receipt import Receipt


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, value = line.rsplit(" ", 1)
        if head.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
            found = True
    assert found, f"no sample of {name} {labels}"
    return total


def test_metrics_count_requests_appends_batches_and_refusals(cast_db: Any) -> None:
    cast, db = cast_db
    with TestClient(create_app(Settings(db=db))) as c:
        assert c.post("/v1/statements", json=grant(cast)).status_code == 200
        read = signed(cast.bus, "access.read",
                      **read_fields("g_nope", "a_nope", ["name"], "ticket_purchase"))  # fmt: skip
        assert c.post("/v1/reads", json=read).status_code == 403
        assert c.get("/v1/proofs/inclusion", params={"index": 10**6}).status_code == 400
        r = c.get("/metrics")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        text = r.text
    assert metric(text, "http_requests_total", route="/v1/statements", status="200") == 1
    assert metric(text, "http_requests_total", route="/v1/reads", status="403") == 1
    assert metric(text, "http_requests_total", route="/v1/proofs/inclusion", status="400") == 1
    assert metric(text, "http_request_duration_seconds_count", route="/v1/reads") == 1
    assert metric(text, "chainledger_appends_total") == 2  # the grant and the recorded refusal
    assert metric(text, "chainledger_refusals_total") == 1
    assert metric(text, "chainledger_batch_size_count") >= 1
    assert metric(text, "chainledger_batch_size_sum") == 2
    assert metric(text, "chainledger_queue_depth") == 0


def test_access_log_is_one_json_line_per_request_without_values(
    cast_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    cast, db = cast_db
    caplog.set_level(logging.INFO, logger="chainledger.access")
    with TestClient(create_app(Settings(db=db))) as c:
        path = f"/v1/holders/{cast.citizen.id}/history?limit=5"
        assert c.get(path, auth=signer(cast.citizen)).status_code == 200
        assert c.get("/v1/parties/p_doesnotexist").status_code == 404
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "chainledger.access"]
    assert lines[-2] == {
        "method": "GET", "route": "/v1/holders/{holder}/history", "status": 200,
        "ms": lines[-2]["ms"], "party": cast.citizen.id,
    }  # fmt: skip
    assert lines[-1]["route"] == "/v1/parties/{party_id}"
    assert lines[-1]["status"] == 404
    assert lines[-1]["party"] is None
    assert "p_doesnotexist" not in caplog.text  # paths are logged as templates only


@pytest.mark.slow
def test_sigterm_drains_the_sequencer_and_loses_no_receipt(cast_db: Any) -> None:
    cast, db = cast_db
    statements = [grant(cast) for _ in range(400)]
    responses: list[httpx.Response | Exception] = []
    lock = threading.Lock()
    env = {"CHAINLEDGER_RATE_PER_SECOND": "100000", "CHAINLEDGER_RATE_BURST": "100000"}
    with serve(db, env=env) as server:
        started = threading.Event()

        def post(part: list[dict[str, Any]]) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                for stmt in part:
                    started.set()
                    try:
                        r: httpx.Response | Exception = c.post("/v1/statements", json=stmt)
                    except httpx.TransportError as exc:
                        r = exc
                    with lock:
                        responses.append(r)

        threads = [threading.Thread(target=post, args=(statements[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        started.wait(30)
        while len(responses) < 50:
            threading.Event().wait(0.01)
        server.process.send_signal(signal.SIGTERM)
        # uvicorn finishes its graceful shutdown, then exits by the signal it got.
        assert server.process.wait(60) in (0, -signal.SIGTERM), server.log_text()
        for t in threads:
            t.join(60)
        log = server.log_text()
    ok = [r for r in responses if isinstance(r, httpx.Response) and r.status_code == 200]
    assert len(ok) >= 50
    assert all(isinstance(r, Exception) or r.status_code in (200, 503) for r in responses), [
        r.status_code for r in responses if isinstance(r, httpx.Response)
    ]
    assert "Traceback" not in log
    assert "Application shutdown complete" in log
    with Ledger.open(db, writable=False) as ledger:
        for r in ok:
            receipt = Receipt.from_json(r.json())
            assert ledger.entry(receipt.seq) == receipt.entry
    done = subprocess.run([chainledger_exe(), "verify", "--db", str(db)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
