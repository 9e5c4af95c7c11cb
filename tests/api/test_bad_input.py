"""Bad input against a real server (uvicorn in a child process), beyond test_errors_limits.

Every case must get a 4xx `application/problem+json` with its stable code (never a 5xx),
write nothing (the log's size, read from the signed checkpoint, is unchanged), except the
refusals the design records: a replayed or skewed statement or signature of a known actor
(`request.denied`) and any refused counter read (`access.denied`), one entry each, whose
receipt verifies. After each group of cases the server still answers correctly: a fresh
statement is admitted and its receipt verifies against the log's key, and the new
checkpoint is consistent with the one before. The server's log has no traceback and no
5xx at the end.
"""

from __future__ import annotations

import json
import os
import re
import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import rfc8785
from api_support import RunningServer, grant_statement, issue_body, serve, signed, signer
from domain_support import Actor, Cast, make_cast

from chainledger.access import read_fields
from chainledger.checkpoint import verify_checkpoint
from chainledger.encoding import b64encode
from chainledger.entry import decode_entry
from chainledger.note import parse_verifier_key
from chainledger.proofs import ConsistencyProof
from chainledger.receipt import Receipt
from chainledger.statement import make_statement, sign_statement
from wallet.httpsig import RequestSigner

LIMIT = 256 * 1024  # the default body limit (api/settings.py), which the server runs with
JSON = {"content-type": "application/json"}
#: The routes whose body is a bare signed statement, and the one with a statement inside.
STATEMENT_ROUTES = ("/v1/statements", "/v1/reads", "/v1/disclosures")
ALL_WRITES = (*STATEMENT_ROUTES, "/v1/assets")


@dataclass
class World:
    cast: Cast
    server: RunningServer
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url

    def checkpoint(self) -> str:
        r = self.http.get("/v1/checkpoint")
        assert r.status_code == 200, r.text
        return r.text

    def size(self) -> int:
        return int(self.checkpoint().split("\n")[1])

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
        return self.http.post(path, content=body, headers=JSON if headers is None else headers)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("bad-input") / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    env = {"CHAINLEDGER_PUBLIC_RATE_BURST": "100000", "CHAINLEDGER_RATE_BURST": "100000"}
    with serve(db, env=env) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        yield World(cast, server, http)
        log = server.log_text()
    assert "Traceback" not in log, log[-5000:]
    assert re.search(r'"status":5\d\d', log) is None, log[-5000:]


def problem(r: Any, status: int | None = None, code: str | None = None) -> dict[str, Any]:
    """``r`` is a 4xx RFC 9457 problem (of ``status`` and ``code`` when given)."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    if status is not None:
        assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == r.status_code
    assert body["title"]
    assert body["detail"]
    assert isinstance(body["code"], str)
    if code is not None:
        assert body["code"] == code, body
    return body


def still_serving(w: World, before: str) -> None:
    """A fresh grant is admitted, its receipt verifies with the log's key, and the log grew
    consistently from the checkpoint ``before``."""
    verifier = parse_verifier_key(w.http.get("/v1/vkey").text.strip())
    r = w.http.post("/v1/statements", json=grant_statement(w.cast))
    assert r.status_code == 200, r.text
    entry, cp = Receipt.from_json(r.content).verify([verifier])
    assert entry.kind == "grant.create"
    old = verify_checkpoint(before, verifier.vkey())
    proof = w.http.get("/v1/proofs/consistency", params={"first": old.size, "second": cp.size})
    assert proof.status_code == 200, proof.text
    ConsistencyProof.from_json(proof.content).verify(old.root, cp.root)


def recorded(w: World, body: dict[str, Any], seq: int, kind: str, reason: str) -> None:
    """The problem carries the verified receipt of a ``kind`` entry at ``seq`` saying why."""
    verifier = parse_verifier_key(w.http.get("/v1/vkey").text.strip())
    entry, _ = Receipt.from_json(body["receipt"]).verify([verifier])
    assert entry.seq == seq
    assert entry.kind == kind
    assert entry.statement.stmt["reason"] == reason


def raw_signed(actor: Actor, stmt: dict[str, Any]) -> dict[str, Any]:
    """Wire JSON of ``stmt`` signed over its RFC 8785 bytes, whatever is in it (the
    ``rfc8785`` package: no data-model checks, unlike the ledger's `canonical`)."""
    return {"stmt": stmt, "sig": b64encode(actor.key.sign(rfc8785.dumps(stmt)))}


def fresh(actor: Actor, kind: str, **fields: Any) -> dict[str, Any]:
    return make_statement(kind, actor.id, datetime.now(UTC), os.urandom, **fields)


def genuine(cast: Cast, route: str) -> bytes:
    """A fresh, correctly signed body for ``route``: admitted on /v1/statements (a grant)
    and /v1/assets (an issue); on /v1/reads and /v1/disclosures refused by the rules (no
    such grant or asset; a refused read is recorded)."""
    if route == "/v1/assets":
        return json.dumps(issue_body(cast)).encode()
    statement = {
        "/v1/statements": lambda: grant_statement(cast),
        "/v1/reads": lambda: signed(cast.bus, "access.read",
                                    **read_fields("g_x", "a_x", ["name"], "ticket_purchase")),
        "/v1/disclosures": lambda: signed(cast.citizen, "asset.disclose", asset="a_x",
                                          fields=["name"]),
    }[route]()  # fmt: skip
    return json.dumps(statement).encode()


ADMITTED = ("/v1/statements", "/v1/assets")


def body_for(route: str, statement: dict[str, Any] | bytes) -> bytes:
    """The body of ``route`` carrying ``statement`` (bytes: spliced in verbatim)."""
    text = statement if isinstance(statement, bytes) else json.dumps(statement).encode()
    if route == "/v1/assets":
        return b'{"statement":' + text + b',"disclosures":{}}'
    return text


# --- 413: bodies over the limit --------------------------------------------------------------


@pytest.mark.parametrize("route", ALL_WRITES)
def test_a_body_at_the_limit_is_read_and_one_byte_more_is_413(world: World, route: str) -> None:
    before = world.checkpoint()
    whole = genuine(world.cast, route)
    at_limit = whole[:-1] + b" " * (LIMIT - len(whole)) + whole[-1:]
    assert len(at_limit) == LIMIT
    over = whole[:-1] + b" " * (LIMIT + 1 - len(whole)) + whole[-1:]
    problem(world.post(route, over), 413, "too_large")
    assert world.size() == int(before.split("\n")[1])
    r = world.post(route, at_limit)  # read and judged, not cut off
    if route not in ADMITTED:
        problem(r)
        assert r.status_code != 413, r.text
    else:  # the statement itself, padded to exactly the limit, is admitted
        assert r.status_code == 200, r.text
        problem(world.post(route, at_limit), 409, "replay")  # recorded: request.denied
        assert world.size() == int(before.split("\n")[1]) + 2
    still_serving(world, before)


def _stream_until_answered(
    world: World, route: str, headers: bytes, total: int
) -> tuple[int, bytes]:
    """Send a body of up to ``total`` bytes (chunked, or raw after a Content-Length) until the
    server answers or stops reading; return the bytes sent and the answer."""
    port = int(world.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST " + route.encode() + b" HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
        chunked = b"chunked" in headers
        block = b" " * 65536
        sent = 0
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # answered before the body ended
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            except OSError:  # it stopped reading (and closed): read what it said
                break
            sent += len(block)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    return sent, answer


@pytest.mark.parametrize(
    "headers",
    [b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n",
     b"Content-Length: 1000000000\r\nContent-Type: application/json\r\n"],
    ids=["chunked", "declared"],
)  # fmt: skip
def test_a_huge_body_is_refused_before_it_is_all_sent(world: World, headers: bytes) -> None:
    before = world.checkpoint()
    total = 256 * 2**20
    for route in ("/v1/statements", "/v1/assets"):
        sent, answer = _stream_until_answered(world, route, headers, total)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
        assert b"application/problem+json" in answer
        assert b'"code":"too_large"' in answer
        assert sent < total  # the server did not wait for (or buffer) the whole body
    assert world.size() == int(before.split("\n")[1])
    still_serving(world, before)


# --- 400: nesting, encodings, numbers ------------------------------------------------------------


DEEP_BODIES = {
    "arrays-100k": b"[" * 100_000 + b"]" * 100_000,
    "objects-40k": b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
    "stmt-1500": b'{"stmt":' + b'{"a":[' * 1500 + b"1" + b"]}" * 1500 + b',"sig":"' + b"A" * 86
    + b'=="}',
    "unclosed-50k": b'{"stmt":' + b"[{" * 50_000,
}  # fmt: skip


@pytest.mark.parametrize("route", ALL_WRITES)
def test_deeply_nested_bodies_are_400(world: World, route: str) -> None:
    before = world.checkpoint()
    for name, deep in DEEP_BODIES.items():
        for body in (deep, body_for(route, deep)):
            assert len(body) <= LIMIT, name
            problem(world.post(route, body), 400, "malformed")
    # Nested deep inside an otherwise genuine, signed statement (deeper than the data model).
    stmt = fresh(world.cast.citizen, "grant.revoke", grant="g_x")
    wire = json.dumps({"stmt": stmt, "sig": "A" * 86 + "=="}).encode()
    deep_member = b'"deep":' + b"[" * 1200 + b"]" * 1200 + b","
    problem(
        world.post(route, body_for(route, wire.replace(b'"grant":', deep_member + b'"grant":')))
    )
    assert world.size() == int(before.split("\n")[1])
    still_serving(world, before)


INVALID_UTF8 = {
    "lone-continuation": b'{"stmt":{"kind":"\x80"},"sig":""}',
    "overlong-slash": b'{"stmt":{"kind":"\xc0\xaf"},"sig":""}',
    "encoded-surrogate": b'{"stmt":{"kind":"\xed\xa0\x80"},"sig":""}',
    "truncated-sequence": b'{"stmt":{"kind":"\xe4\xbd"},"sig":""}',
    "beyond-unicode": b'{"stmt":{"kind":"\xf4\x90\x80\x80"},"sig":""}',
    "ff-fe": b"\xff\xfe{}",
}


@pytest.mark.parametrize("route", ALL_WRITES)
def test_invalid_utf8_is_400_even_inside_a_signed_statement(world: World, route: str) -> None:
    before = world.checkpoint()
    for body in INVALID_UTF8.values():
        problem(world.post(route, body_for(route, body)), 400, "malformed")
    # A genuine statement sent as UTF-16 or Latin-1 is not UTF-8 JSON either.
    stmt = signed(world.cast.citizen, "grant.revoke", grant="g_名字")
    text = json.dumps(stmt, ensure_ascii=False)
    problem(world.post(route, body_for(route, text.encode("utf-16"))), 400, "malformed")
    latin = json.dumps(signed(world.cast.citizen, "grant.revoke", grant="g_é"), ensure_ascii=False)
    problem(world.post(route, body_for(route, latin.encode("latin-1"))), 400, "malformed")
    assert world.size() == int(before.split("\n")[1])
    still_serving(world, before)


@pytest.mark.parametrize("route", ALL_WRITES)
def test_lone_surrogates_and_nul_bytes(world: World, route: str) -> None:
    cast = world.cast
    before = world.checkpoint()
    for escape in ("\\ud800", "\\udfff", "x\\udbff", "\\ud800\\u0041"):
        stmt = json.dumps(fresh(cast.citizen, "grant.revoke", grant="g_x"))
        body = '{"stmt":' + stmt.replace('"g_x"', f'"g_{escape}"') + ',"sig":"' + "A" * 86 + '=="}'
        problem(world.post(route, body_for(route, body.encode())), 400, "malformed")
    # A raw NUL (or any control character) inside a JSON string is not JSON.
    problem(world.post(route, body_for(route, b'{"stmt":{"kind":"a\x00b"},"sig":""}')), 400,
            "malformed")  # fmt: skip
    # Escaped NULs are JSON text, but outside the ledger's data model (PostgreSQL's text
    # cannot hold U+0000): malformed wherever they are, even correctly signed, and nothing
    # is recorded (malformed input never is).
    base = fresh(cast.citizen, "grant.revoke", grant="g_x")
    for stmt in (
        {**base, "kind": "grant.revoke\u0000"},
        {**base, "actor": cast.citizen.id + "\u0000"},
        {**base, "grant": "g_\u0000\ud7ff"},
        {**base, "g\u0000": 1},
    ):
        problem(
            world.post(route, body_for(route, raw_signed(cast.citizen, stmt))), 400, "malformed"
        )
    if route == "/v1/reads":  # a counter's read naming a NUL grant: malformed, not recorded
        nul = read_fields("g_\u0000", "a_\u0000", ["name"], "ticket_purchase")
        read = fresh(cast.bus, "access.read", **nul)
        problem(
            world.post(route, json.dumps(raw_signed(cast.bus, read)).encode()), 400, "malformed"
        )
    assert world.size() == int(before.split("\n")[1])
    still_serving(world, before)


NUMBERS = [
    b"1e400", b"-1e400", b"1.0", b"-0.0", b"0.5", b"NaN", b"Infinity", b"-Infinity",
    b"9007199254740992", b"-9007199254740992", b"18446744073709551616", b"1" + b"0" * 5000,
    b"1E2", b"01", b"+1", b"0x10",
]  # fmt: skip


@pytest.mark.parametrize("route", ALL_WRITES)
def test_huge_and_fractional_numbers_are_refused(world: World, route: str) -> None:
    cast = world.cast
    before = world.checkpoint()
    for number in NUMBERS:
        stmt = json.dumps(fresh(cast.citizen, "grant.revoke", grant="g_x")).encode()
        stmt = stmt.replace(b'"g_x"', b'"g_x", "n": ' + number)
        body = body_for(route, b'{"stmt":' + stmt + b',"sig":"' + b"A" * 86 + b'=="}')
        r = world.post(route, body)
        problem(r)
        assert r.status_code in (400, 422), r.text
    if route == "/v1/assets":  # numbers among the disclosed values
        issue = signed(cast.police, "asset.issue", **{"class": "resident_id_card"})
        for number in NUMBERS:
            body = (b'{"statement":' + json.dumps(issue).encode() + b',"disclosures":{"name":['
                    b'"c2FsdHNhbHRzYWx0c2FsdA==",' + number + b"]}}")  # fmt: skip
            problem(world.post(route, body))
    assert world.size() == int(before.split("\n")[1])
    still_serving(world, before)


def test_huge_numbers_in_queries_and_paths(world: World) -> None:
    before = world.checkpoint()
    for path, params in [
        ("/v1/proofs/inclusion", {"index": "1e400"}),
        ("/v1/proofs/inclusion", {"index": str(2**64)}),
        ("/v1/proofs/inclusion", {"index": "0", "size": "9" * 5000}),
        ("/v1/proofs/inclusion", {"index": str(2**63 - 1), "size": str(2**63 - 1)}),
        ("/v1/proofs/consistency", {"first": str(2**63), "second": str(2**64)}),
        ("/v1/proofs/consistency", {"first": "NaN", "second": "Infinity"}),
        ("/v1/proofs/inclusion", {"index": "\x00"}),
    ]:
        problem(world.http.get(path, params=params))
    auth = signer(world.cast.citizen)
    for params in [{"start": str(2**64)}, {"start": "0", "limit": str(2**64)}, {"start": "-0.5"}]:
        problem(world.http.get("/v1/entries", params=params, auth=auth))
    for path in ["/v1/parties/%00", "/v1/parties/%ED%A0%80", "/v1/assets/%FF%FE"]:
        problem(world.http.get(path, auth=signer(world.cast.auditor)))
    assert world.size() == int(before.split("\n")[1])
    still_serving(world, before)


# --- 400 / 415: duplicate member names and wrong content types --------------------------------


@pytest.mark.parametrize("route", ALL_WRITES)
def test_duplicate_member_names_are_400_even_with_a_valid_reading(world: World, route: str) -> None:
    cast = world.cast
    before = world.checkpoint()
    good = grant_statement(cast)
    other = grant_statement(cast)
    text = json.dumps(good)
    bodies = [
        # Two readings of one body (of the first two, either alone is a valid statement).
        '{"stmt":' + json.dumps(other["stmt"]) + "," + text[1:],
        text[:-1] + ',"sig":' + json.dumps(other["sig"]) + "}",
        text.replace('"kind":', '"kind": "grant.revoke", "kind":'),
        text.replace('"nonce":', '"nonce": "AAAAAAAAAAAAAAAAAAAAAA==", "nonce":'),
    ]
    if route == "/v1/assets":  # the last reading of each is a genuine issue
        valid = issue_body(cast)
        issue, values = json.dumps(valid["statement"]), json.dumps(valid["disclosures"])
        for body in [
            '{"statement":' + text + ',"statement":' + issue + ',"disclosures":' + values + "}",
            '{"statement":' + issue + ',"disclosures":{"name":[]},"disclosures":' + values + "}",
        ]:
            problem(world.post(route, body.encode()), 400, "malformed")
        assert world.size() == int(before.split("\n")[1])
        r = world.post(route, json.dumps(valid).encode())
        assert r.status_code == 200, r.text  # that reading, alone, is admitted
        before = world.checkpoint()
    for body in bodies:
        problem(world.post(route, body_for(route, body.encode())), 400, "malformed")
    assert world.size() == int(before.split("\n")[1])
    still_serving(world, before)


WRONG_TYPES = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "application/octet-stream",
    "image/png",
]


@pytest.mark.parametrize("route", ALL_WRITES)
def test_a_genuine_statement_with_a_wrong_content_type_is_refused(world: World, route: str) -> None:
    cast = world.cast
    before = world.checkpoint()
    size = int(before.split("\n")[1])
    body = genuine(cast, route)
    for content_type in WRONG_TYPES:
        r = world.post(route, body, {"content-type": content_type})
        problem(r)
        assert r.status_code in (415, 422), r.text
        if route != "/v1/assets":
            problem(r, 415, "unsupported_media_type")
    assert world.size() == size  # nothing written, not even a recorded refusal
    # The same body declared as JSON is read (what follows is the rules' business).
    r = world.post(route, body, {"content-type": "application/json; charset=utf-8"})
    if route in ADMITTED:
        assert r.status_code == 200, r.text
    else:
        problem(r)
    still_serving(world, before)


# --- 409: clock skew (recorded when the actor is known) -------------------------------------------


SKEWED = {
    "epoch": datetime(1970, 1, 1, tzinfo=UTC),
    "far-past": datetime(2000, 2, 29, 12, tzinfo=UTC),
    "far-future": datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    "ten-minutes-ahead": None,  # filled in at the time of the request
    "a-day-behind": None,
}


def _when(name: str) -> datetime:
    fixed = SKEWED[name]
    if fixed is not None:
        return fixed
    now = datetime.now(UTC)
    return now + timedelta(minutes=10) if name == "ten-minutes-ahead" else now - timedelta(days=1)


@pytest.mark.parametrize("when", SKEWED)
def test_skewed_statements_are_409_and_recorded_once(world: World, when: str) -> None:
    cast = world.cast
    before = world.checkpoint()
    seq = int(before.split("\n")[1])
    # A holder's statement: refused as clock_skew, recorded as request.denied.
    stmt = make_statement("grant.revoke", cast.citizen.id, _when(when), os.urandom, grant="g_x")
    wire = sign_statement(stmt, cast.citizen.key).to_wire()
    body = problem(world.http.post("/v1/statements", json=wire), 409, "clock_skew")
    recorded(world, body, seq, "request.denied", "clock_skew")
    # Sent again: refused again for the same reason, and not recorded again (a refusal is
    # recorded once per request and reason: chainledger.denials).
    body = problem(world.http.post("/v1/statements", json=wire), 409, "clock_skew")
    recorded(world, body, seq, "request.denied", "clock_skew")  # the first record's receipt
    assert world.size() == seq + 1
    # A counter's read: recorded as access.denied with reason clock_skew.
    read = make_statement("access.read", cast.bus.id, _when(when), os.urandom,
                          **read_fields("g_x", "a_x", ["name"], "ticket_purchase"))  # fmt: skip
    wire = sign_statement(read, cast.bus.key).to_wire()
    body = problem(world.http.post("/v1/reads", json=wire), 409, "clock_skew")
    recorded(world, body, seq + 1, "access.denied", "clock_skew")
    body = problem(world.http.post("/v1/reads", json=wire), 409, "clock_skew")
    recorded(world, body, seq + 1, "access.denied", "clock_skew")  # the same record
    assert world.size() == seq + 2
    # Signed by someone else's key: nobody is known, nothing is recorded.
    forged = sign_statement(stmt | {"nonce": b64encode(os.urandom(16))}, cast.other.key).to_wire()
    problem(world.http.post("/v1/statements", json=forged), 401, "bad_signature")
    forged = sign_statement(read | {"nonce": b64encode(os.urandom(16))}, cast.hotel.key).to_wire()
    problem(world.http.post("/v1/reads", json=forged), 401, "bad_signature")
    assert world.size() == seq + 2
    still_serving(world, before)


@pytest.mark.parametrize(
    "ts",
    ["2026-11-26T13:45:00Z", "2026-11-26T13:45:00.123+08:00", "2026-11-26 13:45:00.123Z",
     "2026-02-30T00:00:00.000Z", "99999-01-01T00:00:00.000Z", "", "\u0001"],
)  # fmt: skip
def test_timestamps_not_in_the_one_form_are_422_and_not_recorded(world: World, ts: str) -> None:
    cast = world.cast
    before = world.checkpoint()
    stmt = {**fresh(cast.citizen, "grant.revoke", grant="g_x"), "ts": ts}
    problem(world.http.post("/v1/statements", json=raw_signed(cast.citizen, stmt)), 422, "schema")
    fields = read_fields("g_x", "a_x", ["name"], "ticket_purchase")
    read = {**fresh(cast.bus, "access.read", **fields), "ts": ts}
    problem(world.http.post("/v1/reads", json=raw_signed(cast.bus, read)), 422, "schema")
    assert world.size() == int(before.split("\n")[1])


def test_http_signatures_from_the_future_are_409_and_recorded(world: World) -> None:
    cast = world.cast
    before = world.checkpoint()
    seq = int(before.split("\n")[1])
    path = f"/v1/holders/{cast.citizen.id}/history"
    for i, ahead in enumerate([timedelta(minutes=10), timedelta(days=3650)]):
        future = RequestSigner(cast.citizen.id, cast.citizen.key,
                               clock=lambda ahead=ahead: datetime.now(UTC) + ahead)  # fmt: skip
        body = problem(world.http.get(path, auth=future), 409, "clock_skew")
        receipt = Receipt.from_json(body["receipt"])
        assert receipt.seq == seq + i
        entry = decode_entry(receipt.entry)
        assert entry.kind == "request.denied"
        assert entry.statement.stmt["reason"] == "clock_skew"
    assert world.size() == seq + 2
    still_serving(world, before)


def test_bad_cosignature_bodies_are_4xx_and_store_nothing(world: World) -> None:
    """The auditor-signed /v1/cosignatures body (a FastAPI model): lines with NULs, lone
    surrogates, several lines or none, and sizes beyond the log or beyond any integer."""
    auth = signer(world.cast.auditor)
    before = world.checkpoint()
    size = int(before.split("\n")[1])
    witness = world.cast.auditor.id
    lines = ["\\u2014 " + witness + " AAAA\\u0000", "\\u2014 " + witness + " \\ud800",
             "\\u2014 " + witness + " QUJDREVGR0g=\\n\\u2014 " + witness + " QUJDREVGR0g=",
             "", "\\n", "\\u0000", "x" * 1000, "\\u2014 \\u2014 \\u2014"]  # fmt: skip
    for line in lines:
        body = '{"size": ' + str(size) + ', "line": "' + line + '"}'
        problem(world.http.post("/v1/cosignatures", content=body.encode(), headers=JSON,
                                auth=auth))  # fmt: skip
    for number in ["0", "-1", str(2**63), str(2**64), "1e400", "1.5", "NaN", "9" * 5000]:
        body = '{"size": ' + number + ', "line": "\\u2014 ' + witness + ' QUJDREVGR0g="}'
        problem(world.http.post("/v1/cosignatures", content=body.encode(), headers=JSON,
                                auth=auth))  # fmt: skip
    assert world.checkpoint() == before  # no cosignature line was added to it
    still_serving(world, before)
