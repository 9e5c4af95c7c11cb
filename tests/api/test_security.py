"""Security over HTTP, against a real server: replays, a stolen key used after its party was
suspended and privilege escalations are each refused with their problem code *and recorded*
in the ledger; what nobody authenticated asks for writes nothing.

Every recorded refusal is checked the same way (`recorded`): the problem carries the
receipt of exactly one new entry, which verifies against the log's key, is the platform's
``request.denied`` (or, for a counter's read, ``access.denied``), and names the party, the
statement kind or route template, the hash of the attempt and the reason; never a value.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import serve, signed, signer
from domain_support import Actor, Cast, key, make_cast
from support import chainledger_exe
from wallet_support import platform

from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.clock import format_ts
from chainledger.crypto import SUITES
from chainledger.encoding import b64encode
from chainledger.entry import Entry
from chainledger.grants import create_fields
from chainledger.note import parse_verifier_key
from chainledger.receipt import Receipt
from wallet.httpsig import RequestSigner


@dataclass
class World:
    cast: Cast
    db: Path
    url: str
    http: httpx.Client
    card: str  # the citizen's ID card
    card_values: dict[str, Any]
    stolen: Actor  # a holder whose key the platform suspends in one test

    def size(self) -> int:
        return int(self.http.get("/healthz").json()["size"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("security") / "ledger.db"
    cast = make_cast(db)
    card, values = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    stolen = Actor(key(31), "holder")
    cast.register(stolen, "", {"subject": "person"}, real_id="security-test-identity-31")
    cast.domain.close()
    with serve(db) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield World(cast, db, server.url, http, card, values, stolen)
    # Every refusal record (and everything else) replays under the ledger's rules.
    r = subprocess.run([chainledger_exe(), "verify", "--db", str(db)],
                       capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


def recorded(
    w: World, body: dict[str, Any], before: int, *, party: str, what: str, reason: str,
    request: bytes, kind: str = "request.denied",
) -> Entry:  # fmt: skip
    """The refusal ``body`` carries the verified receipt of the one entry it added, at seq
    ``before``, saying who asked what and why; ``request`` is the attempt's bytes."""
    assert body["reason"] == reason
    assert w.size() == before + 1
    vkey = parse_verifier_key(w.http.get("/v1/vkey").text.strip())
    entry, _ = Receipt.from_json(body["receipt"]).verify([vkey])
    assert entry.seq == before
    assert entry.kind == kind
    assert entry.statement.actor == platform(w.db).party_id  # the platform records it
    fields = entry.statement.stmt
    assert fields["reason"] == reason
    if kind == "request.denied":
        assert {k: fields[k] for k in ("party", "what", "request")} == {
            "party": party, "what": what, "request": hashlib.sha256(request).hexdigest(),
        }  # fmt: skip
    # Ids, codes and hashes only: no value of the citizen's (name, ID number, address...).
    text = entry.data.decode("utf-8")
    for value in w.card_values.values():
        assert json.dumps(value, ensure_ascii=False).strip('"') not in text
    return entry


def body_bytes(stmt: dict[str, Any]) -> bytes:
    """The canonical bytes of a wire statement (what its signature covers)."""
    from chainledger.statement import SignedStatement

    return SignedStatement.from_wire(stmt).body


def signature_of(r: httpx.Response) -> bytes:
    return r.request.headers["signature"].encode("latin-1")


# --- replays -------------------------------------------------------------------------------


def grant_fields(cast: Cast) -> dict[str, Any]:
    """A standing grant to the bus station, valid for an hour from now."""
    now = datetime.now(UTC)
    return create_fields(
        scenario="bus_ticket", purpose="ticket_purchase", scope={"resident_id_card": ["name"]},
        grantee=cast.bus.id, not_before=format_ts(now - timedelta(minutes=1)),
        expires=format_ts(now + timedelta(hours=1)), max_uses=1,
    )  # fmt: skip


def again_and_again(w: World, send: Any, *, party: str, what: str, request: bytes) -> None:
    """``send()`` replays one captured request three times: each replay is refused alike,
    and only the first is recorded (one ``request.denied`` entry for the three)."""
    before = w.size()
    first = problem(send(), 409, "replay")
    recorded(w, first, before, party=party, what=what, reason="replay", request=request)
    for _ in range(2):
        body = problem(send(), 409, "replay")
        assert (body["reason"], body["detail"]) == ("replay", first["detail"])
        assert w.size() == before + 1
        # with the receipt of that one record, read back at the latest checkpoint
        recorded(w, body, before, party=party, what=what, reason="replay", request=request)


def test_a_replayed_statement_is_refused_and_recorded(world: World) -> None:
    w, cast = world, world.cast
    before = w.size()
    mistake = w.http.post("/v1/statements", json=signed(cast.citizen, "grant.revoke", grant="g_x"))
    problem(mistake, 403, "refused")  # no such grant: an ordinary mistake, not recorded
    assert "receipt" not in mistake.json()
    assert w.size() == before

    grant = signed(cast.citizen, "grant.create", **grant_fields(cast))
    assert w.http.post("/v1/statements", json=grant).status_code == 200
    again_and_again(w, lambda: w.http.post("/v1/statements", json=grant), party=cast.citizen.id,
                    what="grant.create", request=body_bytes(grant))  # fmt: skip


def test_a_replayed_signed_request_is_refused_and_recorded(world: World) -> None:
    w, cast = world, world.cast
    path = f"/v1/holders/{cast.citizen.id}/history"
    first = w.http.get(path, auth=signer(cast.citizen))
    assert first.status_code == 200, first.text
    captured = {k: first.request.headers[k] for k in ("signature", "signature-input")}
    again_and_again(w, lambda: w.http.get(path, headers=captured), party=cast.citizen.id,
                    what="GET /v1/holders/{holder}/history",
                    request=signature_of(first))  # fmt: skip


# --- a stolen key, after the platform suspended its party ------------------------------------


def test_a_stolen_key_is_refused_and_recorded_after_suspension(world: World) -> None:
    w, thief = world, world.stolen
    r = w.http.post(f"/v1/parties/{thief.id}/suspend", json={"reason": "key_compromise"},
                    auth=platform(w.db))  # fmt: skip
    assert r.status_code == 200, r.text
    assert w.http.get(f"/v1/parties/{thief.id}").json()["status"] == "suspended"

    # A statement signed with the stolen key...
    stmt = signed(thief, "grant.create", **grant_fields(w.cast))
    before = w.size()
    body = problem(w.http.post("/v1/statements", json=stmt), 403, "refused")
    recorded(w, body, before, party=thief.id, what="grant.create", reason="actor_suspended",
             request=body_bytes(stmt))  # fmt: skip

    # ... and a request signed with it (RFC 9421).
    before = w.size()
    r = w.http.get(f"/v1/holders/{thief.id}/grants", auth=signer(thief))
    body = problem(r, 403, "not_allowed")
    recorded(w, body, before, party=thief.id, reason="actor_suspended",
             what="GET /v1/holders/{holder}/grants", request=signature_of(r))  # fmt: skip


# --- privilege escalation --------------------------------------------------------------------


def test_a_counter_issuing_is_refused_and_recorded(world: World) -> None:
    w, cast = world, world.cast
    disclosures = make_disclosures(w.card_values, os.urandom)
    stmt = signed(
        cast.bus, "asset.issue",
        **issue_fields("resident_id_card", cast.citizen.id,
                       digests_of(SUITES["sha256"], disclosures), "2020-01-01", "2040-01-01"),
    )  # fmt: skip
    before = w.size()
    r = w.http.post("/v1/assets", json={"statement": stmt, "disclosures": disclosures})
    body = problem(r, 403, "refused")
    recorded(w, body, before, party=cast.bus.id, what="asset.issue", reason="role",
             request=body_bytes(stmt))  # fmt: skip
    aid = asset_id(cast.bus.id, stmt["stmt"]["nonce"])
    problem(w.http.get(f"/v1/assets/{aid}", auth=signer(cast.auditor)), 404, "not_found")


def test_a_holder_reading_another_holders_history_is_refused_and_recorded(world: World) -> None:
    w, cast = world, world.cast
    before = w.size()
    r = w.http.get(f"/v1/holders/{cast.citizen.id}/history", auth=signer(cast.other))
    body = problem(r, 403, "forbidden")
    recorded(w, body, before, party=cast.other.id, reason="not_holder",
             what="GET /v1/holders/{holder}/history", request=signature_of(r))  # fmt: skip
    # Nothing of the citizen's in the answer: the problem names the rule, not the records.
    assert cast.citizen.id not in body["detail"]


def test_an_auditor_writing_is_refused_and_recorded(world: World) -> None:
    w, cast = world, world.cast
    stmt = signed(cast.auditor, "asset.revoke", asset=w.card, reason="data_error")
    before = w.size()
    body = problem(w.http.post("/v1/statements", json=stmt), 403, "refused")
    recorded(w, body, before, party=cast.auditor.id, what="asset.revoke", reason="role",
             request=body_bytes(stmt))  # fmt: skip
    status = w.http.get(f"/v1/assets/{w.card}", auth=signer(cast.citizen)).json()["status"]
    assert status == "active"


def test_a_holder_posting_an_audit_query_is_refused_and_recorded(world: World) -> None:
    w, cast = world, world.cast
    query = signed(cast.citizen, "audit.query", query={"holder": cast.other.id})
    before = w.size()
    r = w.http.post("/v1/audit", json=query, auth=signer(cast.citizen))
    body = problem(r, 403, "forbidden")
    recorded(w, body, before, party=cast.citizen.id, what="POST /v1/audit", reason="role",
             request=signature_of(r))  # fmt: skip


def test_a_counter_cosigning_is_refused_and_recorded(world: World) -> None:
    w, cast = world, world.cast
    before = w.size()
    r = w.http.post("/v1/cosignatures", json={"size": before, "line": "— x AAAA"},
                    auth=signer(cast.bus))  # fmt: skip
    body = problem(r, 403, "not_allowed")  # as the ledger refuses a non-witness
    recorded(w, body, before, party=cast.bus.id, what="POST /v1/cosignatures", reason="role",
             request=signature_of(r))  # fmt: skip


# --- nobody authenticated: nothing written ------------------------------------------------


def test_unauthenticated_requests_write_nothing(world: World) -> None:
    """An unknown key, a forged or missing signature: refused, and the ledger unchanged
    (else anyone could fill it with refusal records)."""
    w, cast = world, world.cast
    stranger = Actor(key(99), "holder")
    before = w.size()
    history = f"/v1/holders/{cast.citizen.id}/history"
    # statements
    problem(w.http.post("/v1/statements", json=signed(stranger, "grant.revoke", grant="g_x")),
            401, "unknown_actor")  # fmt: skip
    forged = signed(cast.citizen, "grant.revoke", grant="g_x")
    forged["sig"] = b64encode(stranger.key.sign(b"something else"))
    problem(w.http.post("/v1/statements", json=forged), 401, "bad_signature")
    disclosures = make_disclosures(w.card_values, os.urandom)
    issue = signed(
        stranger, "asset.issue",
        **issue_fields("resident_id_card", cast.citizen.id,
                       digests_of(SUITES["sha256"], disclosures), "2020-01-01", "2040-01-01"),
    )  # fmt: skip
    problem(w.http.post("/v1/assets", json={"statement": issue, "disclosures": disclosures}),
            401, "unknown_actor")  # fmt: skip
    # signed requests
    body = problem(w.http.get(history, auth=signer(stranger)), 401, "bad_signature")
    assert body["detail"] == "unknown keyid"
    problem(w.http.get(history, auth=RequestSigner(cast.citizen.id, stranger.key)), 401,
            "bad_signature")  # fmt: skip
    problem(w.http.get(history), 401, "bad_signature")
    problem(w.http.post("/v1/audit", json=signed(stranger, "audit.query", query={}),
                        auth=signer(stranger)), 401, "bad_signature")  # fmt: skip
    assert w.size() == before
