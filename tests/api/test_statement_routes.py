"""The routes that take a bare signed statement (statements, reads, disclosures) answer with
JSON written by hand and are served without FastAPI's request handler (`RequestRoute`):
their answers must still be exactly the documented models as compact JSON, and their
errors still problem+json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import signed
from domain_support import Cast, make_cast
from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRouter, iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from api.metrics import Metrics
from api.models import ReadOut, ReceiptModel
from api.routes.writes import RequestRoute, read_text
from api.settings import Settings
from chainledger.access import read_fields
from chainledger.domain import ReadResult
from chainledger.proofs import InclusionProof
from chainledger.receipt import JSON_TEXT, Receipt
from chainledger.store.projections import AssetRow

STATEMENT_ROUTES = ("/v1/statements", "/v1/reads", "/v1/disclosures")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Cast, str, str, TestClient]]:
    """The test cast with the citizen's ID card and a grant of two of its fields to the bus
    counter; (cast, grant, asset, client)."""
    db = tmp_path / "ledger.db"
    cast = make_cast(db)
    asset, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    grant, _ = cast.grant(
        cast.citizen, cast.bus, "bus_ticket", {"resident_id_card": ["name", "id_number"]}
    )
    cast.domain.close()
    with TestClient(create_app(Settings(db=db)), raise_server_exceptions=False) as client:
        yield cast, grant, asset, client


def compact(value: Any) -> bytes:
    """What `JSONResponse` writes: compact JSON, UTF-8 kept."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def test_a_read_answers_the_documented_model_as_compact_json(world: Any) -> None:
    cast, grant, asset, client = world
    fields = read_fields(grant, asset, ["name", "id_number"], "ticket_purchase")
    r = client.post("/v1/reads", json=signed(cast.bus, "access.read", **fields))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert r.content == compact(body)
    # Exactly the documented model: no member missing, none extra, each of its type.
    assert ReadOut.model_validate(body).model_dump(mode="json") == body
    assert set(body) == set(ReadOut.model_fields)
    assert body["disclosures"]["name"][1] == cast.citizen_name  # UTF-8 as is, not \\u escapes
    assert cast.citizen_name.encode() in r.content
    assert sorted(body["disclosures"]) == ["id_number", "name"]
    assert (body["asset"]["id"], body["asset"]["status"]) == (asset, "active")
    # The receipt and the issue entry's proof are the ledger's own, and check out.
    receipt = Receipt.from_json(body["receipt"])
    proof = InclusionProof.from_json(body["issue_proof"])
    assert proof.tree_size == receipt.inclusion.tree_size
    assert proof.leaf_index == body["asset"]["seq"]
    assert json.loads(body["issue_entry"])["seq"] == body["asset"]["seq"]


def test_a_statement_answers_its_receipt_and_a_disclosure_the_read_model(world: Any) -> None:
    cast, grant, asset, client = world
    revoke = signed(cast.citizen, "grant.revoke", grant=grant)
    r = client.post("/v1/statements", json=revoke)
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.content == compact(body)
    assert ReceiptModel.model_validate(body).model_dump(mode="json") == body
    assert json.loads(body["entry"])["stmt"]["kind"] == "grant.revoke"

    disclose = signed(cast.citizen, "asset.disclose", asset=asset, fields=["name"])
    r = client.post("/v1/disclosures", json=disclose)
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.content == compact(body)
    assert ReadOut.model_validate(body).model_dump(mode="json") == body
    assert list(body["disclosures"]) == ["name"]


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["title"]
    assert body["detail"]
    assert body["type"].endswith(code)
    return body


@pytest.mark.parametrize("route", STATEMENT_ROUTES)
def test_errors_of_the_statement_routes_are_still_problems(world: Any, route: str) -> None:
    cast, grant, asset, client = world
    problem(client.post(route, content=b"{nope"), 400, "malformed")
    problem(client.post(route, content=b'{"stmt":{},"sig":"AAAA"}'), 422, "schema")
    headers = {"content-type": "text/plain"}
    problem(client.post(route, content=b"{}", headers=headers), 415, "unsupported_media_type")
    problem(client.get(route), 405, "method_not_allowed")
    big = b'{"stmt":"' + b"x" * (300 * 1024) + b'"}'
    problem(client.post(route, content=big), 413, "too_large")
    kind, fields = {
        "/v1/statements": ("grant.revoke", {"grant": grant}),
        "/v1/reads": ("access.read", read_fields(grant, asset, ["name"], "ticket_purchase")),
        "/v1/disclosures": ("asset.disclose", {"asset": asset, "fields": ["name"]}),
    }[route]
    forged = dict(signed(cast.bus, kind, **fields))
    forged["sig"] = signed(cast.hotel, kind, **fields)["sig"]  # not the actor's signature
    problem(client.post(route, json=forged), 401, "bad_signature")


def test_a_refused_read_is_a_problem_with_the_receipt_of_its_record(world: Any) -> None:
    cast, grant, asset, client = world
    read = signed(cast.hotel, "access.read",
                  **read_fields(grant, asset, ["name"], "ticket_purchase"))  # fmt: skip
    body = problem(client.post("/v1/reads", json=read), 403, "refused")
    assert body["reason"]
    assert json.loads(Receipt.from_json(body["receipt"]).entry)["stmt"]["kind"] == "access.denied"
    read = signed(cast.bus, "access.read",
                  **read_fields(grant, asset, ["name"], "ticket_purchase"))  # fmt: skip
    assert client.post("/v1/reads", json=read).status_code == 200
    body = problem(client.post("/v1/reads", json=read), 409, "replay")
    assert body["reason"] == "replay"
    assert body["receipt"]


def tricky() -> str:
    return 'a "quoted" \\ back\nslash\t\x01 \u2028 水城 \U0001f600 \x7f'


def test_json_text_is_the_compact_json_of_to_json() -> None:
    proof = InclusionProof(3, 9, (b"\x00" * 32, bytes(range(32)), b"\xff" * 32))
    assert proof.json_text() == JSON_TEXT.encode(proof.to_json())
    assert InclusionProof(0, 1, ()).json_text() == JSON_TEXT.encode({
        "leaf_index": 0, "tree_size": 1, "hashes": []})  # fmt: skip
    entry = json.dumps({"note": tricky()}, ensure_ascii=False).encode()
    receipt = Receipt(3, b"\x01" * 32, entry, tricky() + "\n— origin sig\n", proof)
    assert receipt.json_text() == JSON_TEXT.encode(receipt.to_json())
    lazy = Receipt.lazy(3, b"\x01" * 32, entry, "cp\n", lambda: proof)
    assert lazy.json_text() == JSON_TEXT.encode(lazy.to_json())


@pytest.mark.parametrize("with_proof", [True, False])
def test_read_text_is_the_compact_json_of_the_read(with_proof: bool) -> None:
    proof = InclusionProof(1, 4, (b"\x02" * 32,))
    receipt = Receipt(3, b"\x01" * 32, b'{"seq":3}', "cp\n", proof)
    asset = AssetRow("a_x", "resident_id_card", "p_h", "p_i", "active", "2020-01-01",
                     "2040-01-01", 1, None)  # fmt: skip
    disclosures = {"name": ["c2FsdA==", tricky()], "n": ["c2FsdA==", [1, {"x": None}]]}
    result = ReadResult(
        receipt, asset, '{"seq":1,"s":"水"}'.encode(), proof if with_proof else None, disclosures
    )
    expected = {
        "receipt": receipt.to_json(),
        "asset": {
            "id": "a_x", "cls": "resident_id_card", "holder": "p_h", "issuer": "p_i",
            "status": "active", "valid_from": "2020-01-01", "valid_until": "2040-01-01",
            "seq": 1, "authorized_seq": None,
        },
        "issue_entry": '{"seq":1,"s":"水"}',
        "issue_proof": proof.to_json() if with_proof else None,
        "disclosures": disclosures,
    }  # fmt: skip
    assert read_text(result) == JSON_TEXT.encode(expected)
    assert ReadOut.model_validate_json(read_text(result)).model_dump(mode="json") == expected


def test_a_request_route_takes_the_request_alone(tmp_path: Path) -> None:
    async def ok(request: Request) -> Response:
        return Response()

    async def with_param(request: Request, limit: int = 1) -> Response:
        return Response()

    async def with_dependency(request: Request, x: int = Depends(lambda: 1)) -> Response:
        return Response()

    def blocking(request: Request) -> Response:
        return Response()

    router = APIRouter(route_class=RequestRoute)
    router.post("/ok")(ok)
    for bad in (with_param, with_dependency, blocking):
        with pytest.raises(TypeError, match="takes the Request alone"):
            router.post("/bad")(bad)
    with pytest.raises(TypeError, match="takes the Request alone"):
        APIRouter(route_class=RequestRoute, dependencies=[Depends(lambda: 1)]).post("/bad")(ok)
    # And no router of the app adds a dependency that such a route would skip.
    app = create_app(Settings(db=tmp_path / "none.db"))
    contexts = iter_route_contexts(app.routes)
    routes = [c for c in contexts if isinstance(c.original_route, RequestRoute)]
    assert sorted(str(c.path) for c in routes) == sorted(STATEMENT_ROUTES)
    assert all(not c.dependant.dependencies for c in routes)


def test_metrics_keep_counting_through_their_cached_children() -> None:
    metrics = Metrics()
    for status in (200, 200, 403):
        metrics.observe("/v1/reads", "POST", status, 0.003)
    text = metrics.render().decode()
    assert 'http_requests_total{method="POST",route="/v1/reads",status="200"} 2.0' in text
    assert 'http_requests_total{method="POST",route="/v1/reads",status="403"} 1.0' in text
    assert 'http_request_duration_seconds_count{method="POST",route="/v1/reads"} 3.0' in text
