"""Every error code and every limit of the API, in process (Starlette's TestClient).

Each refusal is a problem+json with its stable code, and changes nothing: the log
size is checked before and after wherever a write was refused.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import signed, signer
from domain_support import Cast
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from chainledger.access import read_fields
from chainledger.entry import decode_entry
from chainledger.receipt import Receipt
from chainledger.statement import make_statement, sign_statement
from wallet.httpsig import RequestSigner


def client(db: Path, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(db=db, **settings)), raise_server_exceptions=False)


@pytest.fixture
def api(cast_db: tuple[Cast, Path]) -> Iterator[TestClient]:
    with client(cast_db[1]) as c:
        yield c


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["title"]
    assert body["detail"]
    return body


def size(c: TestClient) -> int:
    return int(c.get("/healthz").json()["size"])


def grant_stmt(cast: Cast, **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    from chainledger.clock import format_ts
    from chainledger.grants import create_fields

    fields = create_fields(
        scenario="bus_ticket", purpose="ticket_purchase",
        scope={"resident_id_card": ["name", "id_number"]}, grantee=cast.bus.id,
        not_before=format_ts(now - timedelta(minutes=1)),
        expires=format_ts(now + timedelta(hours=1)), max_uses=3,
    )  # fmt: skip
    fields.update(over)
    return signed(cast.citizen, "grant.create", **fields)


# --- 400 / 422: malformed and invalid input --------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{", b"[[[[" * 20000, b"\xff\xfe not utf-8", b'{"stmt": {}, "sig": "x"'],
)
def test_malformed_bodies_are_400(api: TestClient, body: bytes) -> None:
    before = size(api)
    r = api.post("/v1/statements", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (400, 422), r.text
    problem(r, r.status_code, "malformed" if r.status_code == 400 else "schema")
    assert size(api) == before


def test_deeply_nested_statement_is_refused_cleanly(api: TestClient, cast_db: Any) -> None:
    deep = "[" * 5000 + '"x"' + "]" * 5000
    body = '{"stmt": {"kind": "note", "deep": ' + deep + '}, "sig": "' + "A" * 88 + '"}'
    r = api.post("/v1/statements", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (400, 422), r.text


def test_bad_base64_signature_is_422(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    stmt = grant_stmt(cast)
    stmt["sig"] = "!!!"
    problem(api.post("/v1/statements", json=stmt), 422, "schema")


def test_schema_errors_are_422(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    before = size(api)
    problem(api.post("/v1/statements", json={"stmt": {}}), 422, "schema")
    problem(api.post("/v1/statements", json={"stmt": {}, "sig": "", "x": 1}), 422, "schema")
    stmt = grant_stmt(cast, max_uses="three")
    r = api.post("/v1/statements", json=stmt)
    assert r.status_code == 422, r.text
    assert size(api) == before


def test_impossible_proof_requests_are_400_and_bad_params_422(api: TestClient) -> None:
    n = size(api)
    problem(api.get("/v1/proofs/inclusion", params={"index": n}), 400, "invalid_challenge")
    problem(
        api.get("/v1/proofs/inclusion", params={"index": 0, "size": n + 1}),
        400,
        "invalid_challenge",
    )
    problem(api.get("/v1/proofs/consistency", params={"first": 3, "second": 2}), 400,
            "invalid_challenge")  # fmt: skip
    problem(api.get("/v1/proofs/inclusion", params={"index": "x"}), 422, "schema")
    problem(api.get("/v1/proofs/inclusion"), 422, "schema")


# --- 401: authentication -----------------------------------------------------------------------


def test_bad_statement_signature_is_401(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    stmt = grant_stmt(cast)
    other = grant_stmt(cast)
    stmt["sig"] = other["sig"]
    before = size(api)
    problem(api.post("/v1/statements", json=stmt), 401, "bad_signature")
    assert size(api) == before


def test_unknown_actor_is_401(api: TestClient, cast_db: Any) -> None:
    from domain_support import Actor, key

    stranger = Actor(key(99), "holder")
    problem(api.post("/v1/statements", json=signed(stranger, "grant.revoke", grant="g_x")), 401,
            "unknown_actor")  # fmt: skip


def test_private_reads_need_a_valid_http_signature(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    path = f"/v1/holders/{cast.citizen.id}/history"
    problem(api.get(path), 401, "bad_signature")
    # Signed by the holder's key but claiming another party's id: the signature fails.
    forged = RequestSigner(cast.other.id, cast.citizen.key)
    problem(api.get(f"/v1/holders/{cast.other.id}/history", auth=forged), 401, "bad_signature")
    assert api.get(path, auth=signer(cast.citizen)).status_code == 200


# --- 403: not allowed ----------------------------------------------------------------------


def test_a_holder_cannot_read_another_holders_history(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    r = api.get(f"/v1/holders/{cast.citizen.id}/history", auth=signer(cast.other))
    problem(r, 403, "forbidden")
    r = api.get(f"/v1/holders/{cast.citizen.id}/assets", auth=signer(cast.bus))
    problem(r, 403, "forbidden")


def test_only_auditors_audit_and_only_the_platform_registers(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    query = signed(cast.bus, "audit.query", query={"holder": cast.citizen.id})
    problem(api.post("/v1/audit", json=query, auth=signer(cast.bus)), 403, "forbidden")
    # An auditor's request carrying another auditor's statement is refused too.
    q2 = signed(cast.auditor, "audit.query", query={"holder": cast.citizen.id})
    problem(api.post("/v1/audit", json=q2, auth=signer(cast.citizen)), 403, "forbidden")
    reg = {"public_key": "A" * 43 + "=", "role": "counter", "name": "x", "pop": "x"}
    problem(api.post("/v1/parties", json=reg, auth=signer(cast.auditor)), 403, "forbidden")


def test_a_counter_issuing_is_refused(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    before = size(api)
    stmt = signed(cast.bus, "asset.revoke", asset="a_x", reason="x")
    body = problem(api.post("/v1/statements", json=stmt), 403, "refused")
    # An authenticated party's privilege escalation is recorded, not the revocation.
    recorded(body, before, party=cast.bus.id, what="asset.revoke", reason="role")
    assert size(api) == before + 1


def test_refused_reads_are_recorded_with_their_receipt(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    before = size(api)
    read = signed(cast.bus, "access.read",
                  **read_fields("g_nope", "a_nope", ["name"], "ticket_purchase"))  # fmt: skip
    body = problem(api.post("/v1/reads", json=read), 403, "refused")
    assert body["reason"]
    assert body["receipt"]["seq"] == before
    assert size(api) == before + 1


def test_suspended_party_cannot_make_signed_requests(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    platform = platform_signer(cast)
    r = api.post(f"/v1/parties/{cast.other.id}/suspend", json={"reason": "key_compromise"},
                 auth=platform)  # fmt: skip
    assert r.status_code == 200, r.text
    r = api.get(f"/v1/holders/{cast.other.id}/history", auth=signer(cast.other))
    problem(r, 403, "not_allowed")


def platform_signer(cast: Cast) -> RequestSigner:
    from chainledger.crypto import load_private_key, party_id, public_key_bytes
    from chainledger.ledger import key_path

    key = load_private_key(key_path(cast_db_path(cast)))
    return RequestSigner(party_id(public_key_bytes(key)), key)


def cast_db_path(cast: Cast) -> Path:
    return Path(cast.domain.store.path)


# --- 404 / 405 ---------------------------------------------------------------------------


def test_unknown_things_are_404(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    problem(api.get("/v1/parties/p_nope"), 404, "not_found")
    problem(api.get("/v1/nothing-here"), 404, "not_found")
    problem(api.get("/v1/assets/a_nope", auth=signer(cast.auditor)), 404, "not_found")
    problem(api.delete("/v1/checkpoint"), 405, "method_not_allowed")


# --- 409: replay and clock skew ------------------------------------------------------------


def test_replayed_statement_is_409(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    stmt = grant_stmt(cast)
    assert api.post("/v1/statements", json=stmt).status_code == 200
    before = size(api)
    body = problem(api.post("/v1/statements", json=stmt), 409, "replay")
    # The actor is known (the signature holds): the attempt is recorded, not the grant.
    recorded(body, before, party=cast.citizen.id, what="grant.create", reason="replay")
    assert size(api) == before + 1


def recorded(body: dict[str, Any], seq: int, **fields: str) -> None:
    """The problem carries the receipt of a ``request.denied`` entry saying ``fields``."""
    receipt = Receipt.from_json(body["receipt"])
    assert receipt.seq == seq
    entry = decode_entry(receipt.entry)
    assert entry.kind == "request.denied"
    for name, value in fields.items():
        assert entry.statement.stmt[name] == value


def test_skewed_statement_is_409_and_a_skewed_read_is_recorded(
    api: TestClient, cast_db: Any
) -> None:
    cast, _ = cast_db
    old = datetime.now(UTC) - timedelta(hours=2)
    import os

    stmt = make_statement("grant.revoke", cast.citizen.id, old, os.urandom, grant="g_x")
    before = size(api)
    wire = sign_statement(stmt, cast.citizen.key).to_wire()
    body = problem(api.post("/v1/statements", json=wire), 409, "clock_skew")
    recorded(body, before, party=cast.citizen.id, what="grant.revoke", reason="clock_skew")
    before += 1
    read = make_statement("access.read", cast.bus.id, old, os.urandom,
                          **read_fields("g_x", "a_x", ["name"], "ticket_purchase"))  # fmt: skip
    body = problem(
        api.post("/v1/reads", json=sign_statement(read, cast.bus.key).to_wire()), 409, "clock_skew"
    )
    assert body["reason"] == "clock_skew"
    assert size(api) == before + 1  # recorded: the counter is known


def test_replayed_http_signature_nonce_is_409(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    fixed = RequestSigner(cast.citizen.id, cast.citizen.key, rand=lambda n: b"\x01" * n)
    path = f"/v1/holders/{cast.citizen.id}/history"
    assert api.get(path, auth=fixed).status_code == 200
    before = size(api)
    body = problem(api.get(path, auth=fixed), 409, "replay")
    what = "GET /v1/holders/{holder}/history"
    recorded(body, before, party=cast.citizen.id, what=what, reason="replay")


def test_stale_http_signature_is_409(api: TestClient, cast_db: Any) -> None:
    cast, _ = cast_db
    old = RequestSigner(
        cast.citizen.id, cast.citizen.key, clock=lambda: datetime.now(UTC) - timedelta(hours=1)
    )
    before = size(api)
    r = api.get(f"/v1/holders/{cast.citizen.id}/history", auth=old)
    body = problem(r, 409, "clock_skew")
    recorded(body, before, party=cast.citizen.id, reason="clock_skew")


# --- 413, 429, 503: limits -----------------------------------------------------------------


def test_oversize_bodies_are_413(cast_db: Any) -> None:
    _, db = cast_db
    with client(db, max_body_bytes=2048) as c:
        before = size(c)
        big = {"stmt": {"kind": "note", "text": "x" * 4000}, "sig": "A" * 88}
        problem(c.post("/v1/statements", json=big), 413, "too_large")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b" " * 1000

        r = c.post("/v1/statements", content=chunks(), headers={"content-type": "application/json"})
        problem(r, 413, "too_large")
        assert size(c) == before


def test_rate_limit_per_party_is_429_with_retry_after(cast_db: Any) -> None:
    cast, db = cast_db
    with client(db, rate_per_second=0.01, rate_burst=2) as c:
        path = f"/v1/holders/{cast.citizen.id}/history"
        assert c.get(path, auth=signer(cast.citizen)).status_code == 200
        assert c.get(path, auth=signer(cast.citizen)).status_code == 200
        r = c.get(path, auth=signer(cast.citizen))
        problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        # Another party has its own bucket.
        assert (
            c.get(f"/v1/holders/{cast.other.id}/history", auth=signer(cast.other)).status_code
            == 200
        )


def test_public_rate_limit_per_address(cast_db: Any) -> None:
    _, db = cast_db
    with client(db, public_rate_per_second=0.01, public_rate_burst=3) as c:
        codes = [c.get("/v1/vkey").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]


def test_sequencer_back_pressure_is_503_with_retry_after(cast_db: Any) -> None:
    """Hold the database's write lock so the writer stalls; the queue (1 statement) fills;
    the next write gets 503 and nothing is lost once the lock is released."""
    cast, db = cast_db
    with client(db, max_queue=1) as c:
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        results: list[int] = []

        def post(stmt: dict[str, Any]) -> None:
            results.append(c.post("/v1/statements", json=stmt).status_code)

        threads = []
        for _ in range(6):
            t = threading.Thread(target=post, args=(grant_stmt(cast),))
            t.start()
            threads.append(t)
        # Wait until at least one request was turned away.
        for _ in range(200):
            if 503 in results:
                break
            threading.Event().wait(0.05)
        blocker.execute("ROLLBACK")
        blocker.close()
        for t in threads:
            t.join(60)
        assert 503 in results, results
        assert 200 in results, results
        r = c.post("/v1/statements", json=grant_stmt(cast))
        assert r.status_code == 200, r.text


def test_every_error_response_is_a_problem(api: TestClient) -> None:
    r = api.get("/v1/proofs/consistency", params={"first": "a", "second": 1})
    problem(r, 422, "schema")
