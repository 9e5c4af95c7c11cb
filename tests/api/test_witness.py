"""POST /v1/cosignatures and the cosigned GET /v1/checkpoint, in process (TestClient), on
each backend (witness cosignatures are the one replaceable table: an upsert on both)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from domain_support import Cast
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from chainledger.checkpoint import open_checkpoint, parse_note, verify_checkpoint
from chainledger.crypto import public_key_bytes
from chainledger.location import Location
from chainledger.witness import cosign_checkpoint, witness_verifier
from wallet.httpsig import RequestSigner


@pytest.fixture
def cast_db(any_cast_db: tuple[Cast, Location]) -> tuple[Cast, Location]:
    return any_cast_db


@pytest.fixture
def api(cast_db: tuple[Cast, Location]) -> Iterator[TestClient]:
    where = cast_db[1]
    settings = Settings(db=where.url or str(where.path), keys=where.keys)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def problem(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def auditor(cast: Cast) -> RequestSigner:
    return RequestSigner(cast.auditor.id, cast.auditor.key)


def current(api: TestClient) -> tuple[str, int]:
    r = api.get("/v1/checkpoint")
    assert r.status_code == 200, r.text
    note = r.text
    return note, int(parse_note(note).text.split("\n")[1])


def test_an_auditor_cosigns_and_the_checkpoint_carries_it(
    api: TestClient, cast_db: tuple[Cast, Location]
) -> None:
    cast, _ = cast_db
    vkey = api.get("/v1/vkey").text.strip()
    note, size = current(api)
    line = cosign_checkpoint(note, cast.auditor.id, cast.auditor.key, int(time.time()))
    r = api.post("/v1/cosignatures", json={"size": size, "line": line}, auth=auditor(cast))
    assert r.status_code == 200, r.text
    assert r.json() == {"size": size, "witness": cast.auditor.id, "cosignatures": 1}
    served, served_size = current(api)
    assert served_size == size
    assert served == note + line
    assert verify_checkpoint(served, vkey).size == size
    witness = witness_verifier(cast.auditor.id, public_key_bytes(cast.auditor.key))
    assert open_checkpoint(served, [witness]).verified_by == (witness,)
    # The log did not grow: a cosignature is not an entry.
    assert api.get("/healthz").json()["size"] == size


def test_a_non_auditor_is_403(api: TestClient, cast_db: tuple[Cast, Location]) -> None:
    cast, _ = cast_db
    note, size = current(api)
    # A counter cosigning with its own key, as itself.
    line = cosign_checkpoint(note, cast.bus.id, cast.bus.key, int(time.time()))
    r = api.post(
        "/v1/cosignatures",
        json={"size": size, "line": line},
        auth=RequestSigner(cast.bus.id, cast.bus.key),
    )
    body = problem(r, 403, "not_allowed")
    # The attempt is recorded (a request.denied entry: the log grows by it); the served
    # checkpoint carries no line by the counter.
    assert body["reason"] == "role"
    assert current(api)[1] == size + 1
    assert cast.bus.id not in current(api)[0]


def test_a_bad_line_is_401(api: TestClient, cast_db: tuple[Cast, Location]) -> None:
    cast, _ = cast_db
    note, size = current(api)
    # The auditor's name, but signed with the counter's key: another key ID.
    line = cosign_checkpoint(note, cast.auditor.id, cast.bus.key, int(time.time()))
    r = api.post("/v1/cosignatures", json={"size": size, "line": line}, auth=auditor(cast))
    problem(r, 401, "cosignature_key_mismatch")
    # The auditor's key over a changed body.
    forged = note.replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
    line = cosign_checkpoint(forged, cast.auditor.id, cast.auditor.key, int(time.time()))
    r = api.post("/v1/cosignatures", json={"size": size, "line": line}, auth=auditor(cast))
    problem(r, 401, "bad_note_signature")
    # Unsigned request.
    problem(api.post("/v1/cosignatures", json={"size": size, "line": line}), 401)
    assert current(api)[0] == note


def test_unknown_size_is_404(api: TestClient, cast_db: tuple[Cast, Location]) -> None:
    cast, _ = cast_db
    note, size = current(api)
    line = cosign_checkpoint(note, cast.auditor.id, cast.auditor.key, int(time.time()))
    r = api.post("/v1/cosignatures", json={"size": size + 5, "line": line}, auth=auditor(cast))
    problem(r, 404, "not_found")


def test_a_future_timestamp_is_409(api: TestClient, cast_db: tuple[Cast, Location]) -> None:
    cast, _ = cast_db
    note, size = current(api)
    line = cosign_checkpoint(note, cast.auditor.id, cast.auditor.key, int(time.time()) + 3600)
    r = api.post("/v1/cosignatures", json={"size": size, "line": line}, auth=auditor(cast))
    problem(r, 409, "clock_skew")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"size": 3},
        {"line": "x"},
        {"size": "three", "line": "x"},
        {"size": 0, "line": "x"},
        {"size": 2**64, "line": "x"},
        {"size": 3, "line": ""},
        {"size": 3, "line": "x" * 2000},
        {"size": 3, "line": "x", "extra": 1},
    ],
)
def test_malformed_bodies_are_422(
    api: TestClient, cast_db: tuple[Cast, Location], body: dict[str, Any]
) -> None:
    cast, _ = cast_db
    problem(api.post("/v1/cosignatures", json=body, auth=auditor(cast)), 422, "schema")


def test_a_garbage_line_is_400(api: TestClient, cast_db: tuple[Cast, Location]) -> None:
    cast, _ = cast_db
    _, size = current(api)
    r = api.post("/v1/cosignatures", json={"size": size, "line": "garbage"}, auth=auditor(cast))
    problem(r, 400, "malformed")


def test_the_route_is_documented_as_signed(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    op = doc["paths"]["/v1/cosignatures"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(op["responses"])
    assert op.get("security"), op
