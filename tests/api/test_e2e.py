"""End to end through a real uvicorn server: issue, grant, read, refuse, revoke, erase,
audit, with every receipt verified client-side against the served checkpoint and key."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from typing import Any

import httpx
from api_support import db_args, serve, signed, signer
from domain_support import Cast
from support import chainledger_exe

from chainledger.access import read_fields
from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.checkpoint import verify_checkpoint
from chainledger.clock import format_ts, system_clock
from chainledger.crypto import SUITES
from chainledger.entry import decode_entry
from chainledger.grants import create_fields, grant_id
from chainledger.location import Location
from chainledger.note import parse_verifier_key
from chainledger.proofs import ConsistencyProof, InclusionProof
from chainledger.receipt import Receipt
from chainledger.sheets import sheet_fields

SUITE = SUITES["sha256"]


class Client:
    """What a careful client does: trusts nothing it cannot check against the vkey."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.vkey = http.get("/v1/vkey").text.strip()
        self.verifier = parse_verifier_key(self.vkey)

    def checkpoint(self) -> Any:
        return verify_checkpoint(self.http.get("/v1/checkpoint").text, self.vkey)

    def receipt(self, obj: dict[str, Any]) -> tuple[Any, Receipt]:
        receipt = Receipt.from_json(obj)
        entry, _ = receipt.verify([self.verifier])
        # And the entry is in the log the server publishes now.
        latest = self.checkpoint()
        proof = self.http.get(
            "/v1/proofs/inclusion", params={"index": receipt.seq, "size": latest.size}
        )
        assert proof.status_code == 200, proof.text
        InclusionProof.from_json(proof.json()).verify(receipt.leaf_hash, latest.root)
        return entry, receipt

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return self.receipt(response.json())[0]

    def refused(self, response: httpx.Response, status: int, reason: str) -> Any:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["reason"] == reason, body
        entry, _ = self.receipt(body["receipt"])
        assert entry.kind == "access.denied"
        return entry


def issue_id_card(c: Client, cast: Cast) -> tuple[str, dict[str, Any]]:
    values = {
        "name": cast.citizen_name, "sex": "女", "ethnicity": "汉", "birth_date": "1990-03-07",
        "address": "山东省聊城市东昌府区柳园南路1号", "id_number": cast.citizen_id_number,
        "valid_from": "2020-01-01", "valid_until": "2040-01-01",
    }  # fmt: skip
    disclosures = make_disclosures(values, os.urandom)
    stmt = signed(
        cast.police, "asset.issue",
        **issue_fields("resident_id_card", cast.citizen.id, digests_of(SUITE, disclosures),
                       "2020-01-01", "2040-01-01"),
    )  # fmt: skip
    entry = c.ok(c.http.post("/v1/assets", json={"statement": stmt, "disclosures": disclosures}))
    assert entry.kind == "asset.issue"
    # The ledger has the digests only: no value appears in the entry.
    raw = c.http.get("/v1/proofs/inclusion", params={"index": entry.seq}).text
    assert cast.citizen_name not in raw
    return asset_id(cast.police.id, stmt["stmt"]["nonce"]), values


def grant(c: Client, cast: Cast, counter: Any, scenario: str, scope: dict[str, list[str]]) -> str:
    now = system_clock()
    stmt = signed(
        cast.citizen, "grant.create",
        **create_fields(
            scenario=scenario, purpose="ticket_purchase", scope=scope, grantee=counter.id,
            not_before=format_ts(now - timedelta(minutes=1)),
            expires=format_ts(now + timedelta(hours=1)), max_uses=3,
        ),
    )  # fmt: skip
    c.ok(c.http.post("/v1/statements", json=stmt))
    return grant_id(cast.citizen.id, stmt["stmt"]["nonce"])


def test_certificate_free_flow_over_http(any_cast_db: tuple[Cast, Location]) -> None:
    """On each backend: the same flow, the same checks."""
    cast, db = any_cast_db
    with serve(db) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        c = Client(http)
        first = c.checkpoint()

        asset, values = issue_id_card(c, cast)
        g = grant(c, cast, cast.bus, "bus_ticket", {"resident_id_card": ["name", "id_number"]})

        # An admitted read: the disclosures check against the issuer-signed digests.
        fields = read_fields(g, asset, ["name", "id_number"], "ticket_purchase")
        read = signed(cast.bus, "access.read", **fields)
        r = http.post("/v1/reads", json=read)
        assert r.status_code == 200, r.text
        body = r.json()
        assert c.receipt(body["receipt"])[0].kind == "access.read"
        assert {k: v[1] for k, v in body["disclosures"].items()} == {
            "name": values["name"], "id_number": values["id_number"],
        }  # fmt: skip
        issue_entry = decode_entry(body["issue_entry"].encode())
        signed_digests = issue_entry.statement.stmt["digests"]
        for name, digest in digests_of(SUITE, body["disclosures"]).items():
            assert signed_digests[name] == digest
        receipt = Receipt.from_json(body["receipt"])
        _, cp = receipt.verify([c.verifier])
        InclusionProof.from_json(body["issue_proof"]).verify(
            SUITE.leaf(body["issue_entry"].encode()), cp.root
        )

        # Fields beyond the grant: refused, recorded, nothing released.
        fields = read_fields(g, asset, ["name", "address"], "ticket_purchase")
        r = http.post("/v1/reads", json=signed(cast.bus, "access.read", **fields))
        c.refused(r, 403, "field_not_granted")
        assert "disclosures" not in r.text
        assert values["address"] not in r.text

        # The counter's cross-verification sheet lists what it checked, with each receipt.
        items = [
            {"seq": receipt.seq, "leaf": receipt.leaf_hash.hex(), "asset": asset,
             "outcome": "read"},
            {"seq": r.json()["receipt"]["seq"], "leaf": r.json()["receipt"]["leaf_hash"],
             "asset": asset, "outcome": "denied"},
        ]  # fmt: skip
        sheet = signed(cast.bus, "sheet.issue", **sheet_fields("ticket_purchase", items))
        assert c.ok(http.post("/v1/statements", json=sheet)).kind == "sheet.issue"
        # A sheet that misstates an outcome is refused, and writes nothing.
        size = c.checkpoint().size
        items[1]["outcome"] = "read"
        lying = signed(cast.bus, "sheet.issue", **sheet_fields("ticket_purchase", items))
        r = http.post("/v1/statements", json=lying)
        assert r.status_code in (403, 422), r.text
        assert c.checkpoint().size == size

        # The same signed read again: a replay, recorded, 409.
        c.refused(http.post("/v1/reads", json=read), 409, "replay")

        # The holder sees every read and refusal of its data (a signed request).
        hist = http.get(f"/v1/holders/{cast.citizen.id}/history", auth=signer(cast.citizen))
        assert hist.status_code == 200, hist.text
        outcomes = [row["outcome"] for row in hist.json()["rows"]]
        assert outcomes == ["read", "denied", "denied"]

        # Revoke the grant: the next read is refused.
        c.ok(http.post("/v1/statements", json=signed(cast.citizen, "grant.revoke", grant=g)))
        again = signed(cast.bus, "access.read",
                       **read_fields(g, asset, ["name"], "ticket_purchase"))  # fmt: skip
        r = http.post("/v1/reads", json=again)
        c.refused(r, 403, "grant_revoked")

        # The auditor traces the holder (recorded first) and gets a report.
        query = signed(cast.auditor, "audit.query", query={"holder": cast.citizen.id})
        r = http.post("/v1/audit", json=query, auth=signer(cast.auditor))
        assert r.status_code == 200, r.text
        assert c.receipt(r.json()["receipt"])[0].kind == "audit.query"
        assert len(r.json()["rows"]) == 4
        report = signed(cast.auditor, "audit.query",
                        query={"holder": cast.citizen.id, "view": "report"})  # fmt: skip
        r = http.post("/v1/audit", params={"format": "csv"}, json=report, auth=signer(cast.auditor))
        assert r.status_code == 200, r.text
        assert r.json()["report"].count("\n") == 5  # header + 4 rows

        # The holder erases the asset; a new grant cannot bring the values back.
        erase = signed(cast.citizen, "asset.erase", asset=asset, basis="holder_request")
        c.ok(http.post("/v1/statements", json=erase))
        g2 = grant(c, cast, cast.bus, "bus_ticket", {"resident_id_card": ["name"]})
        late = signed(cast.bus, "access.read",
                      **read_fields(g2, asset, ["name"], "ticket_purchase"))  # fmt: skip
        r = http.post("/v1/reads", json=late)
        assert r.status_code == 403, r.text
        assert values["name"] not in r.text

        # The log only grew: the first checkpoint is consistent with the last.
        last = c.checkpoint()
        proof = http.get(
            "/v1/proofs/consistency", params={"first": first.size, "second": last.size}
        )
        ConsistencyProof.from_json(proof.json()).verify(first.root, last.root)
        log = server.log_text()

    # No personal value in the server's log; and the ledger verifies offline.
    for value in (values["name"], values["id_number"], values["address"]):
        assert value not in log
    assert '"route":"/v1/reads"' in log
    done = subprocess.run([chainledger_exe(), "verify", *db_args(db)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
