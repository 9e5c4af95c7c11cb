"""Schemathesis over the whole OpenAPI document, against a real server (bounded in time).

For every operation, generated requests (valid and invalid by the schema) must never
give a server error, and every response must match what the document promises: status
code, content type, headers and body schema. A stateful run then chains requests along
the document's OpenAPI links (receipts to proofs and entries, the log's size to proofs).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from api_support import grant_statement, issue_body, serve
from domain_support import Actor, make_cast
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from wallet.httpsig import make_nonce, sign_request_headers

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class SignAs(requests.auth.AuthBase):
    """RFC 9421 signing for the `requests` session schemathesis uses."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body if isinstance(r.body, bytes) else (r.body or "").encode("utf-8")
        try:
            headers = sign_request_headers(
                r.method or "GET", r.url or "", {}, body, self.actor.id, self.actor.key,
                now=datetime.now(UTC), nonce=make_nonce(),
            )  # fmt: skip
        except ValueError:
            return r  # a URL the signer refuses (not strict RFC 3986): sent unsigned
        r.headers.update(headers)
        return r


@pytest.mark.slow
def test_every_operation_conforms_to_the_openapi_document(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    env = {
        "CHAINLEDGER_RATE_PER_SECOND": "100000",
        "CHAINLEDGER_RATE_BURST": "100000",
        "CHAINLEDGER_PUBLIC_RATE_PER_SECOND": "100000",
        "CHAINLEDGER_PUBLIC_RATE_BURST": "100000",
    }
    with serve(db, env=env) as server:
        schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        failures: list[str] = []
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=30,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=30)
                # And signed, so the signed routes get past authentication too.
                auth = SignAs(cast.auditor if "audit" in case.path else cast.citizen)
                case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=30, auth=auth)

            try:
                run()
            except Exception as exc:  # collect all, report all
                failures.append(f"{operation.verbose_name}: {exc}"[:2000])
        log = server.log_text()
    assert "Traceback" not in log, log[-5000:]
    sent = log.count('"route":')
    assert sent >= 10 * len(operations), sent  # the run really exercised the server
    # Signed requests got through authentication (entries are open to any active party).
    assert '"route":"/v1/entries","status":200' in log
    assert not failures, "\n\n".join(failures)


def odd(value: Any) -> bool:
    """A fixed coin flip of a generated value (its JSON's SHA-256)."""
    text = json.dumps(value, sort_keys=True, default=repr).encode("utf-8", "surrogatepass")
    return hashlib.sha256(text).digest()[0] % 2 == 1


@pytest.mark.slow
def test_stateful_runs_follow_the_links_and_what_they_lead_to_agrees(tmp_path: Path) -> None:
    """Schemathesis's state machine over the document's OpenAPI links (bounded: 40 scenarios
    of at most 10 steps). Every response conforms (no 5xx); about every second POST of a
    statement or an asset carries a genuine one, so receipts exist and their links are
    followed; and whatever a link leads to agrees with the receipt it came from: the
    inclusion proof served for a receipt's (seq, tree size) is the receipt's own, the entry
    at its seq is its entry byte for byte."""
    db = tmp_path / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    env = {"CHAINLEDGER_RATE_BURST": "100000", "CHAINLEDGER_PUBLIC_RATE_BURST": "100000"}
    with serve(db, env=env) as server:
        schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
        receipts: dict[int, dict[str, Any]] = {}
        agreed = {"inclusion": 0, "entry": 0}
        auth = SignAs(cast.citizen)  # signed, so /v1/entries answers (any active party)

        class Workflow(schema.as_state_machine()):  # type: ignore[misc]
            def before_call(self, case: schemathesis.Case) -> None:
                label = case.operation.label
                # Decided by the generated body alone, so that a replayed choice sequence
                # meets the same answers (Hypothesis insists on it).
                if label in ("POST /v1/statements", "POST /v1/assets") and odd(case.body):
                    case.body = grant_statement(cast) if "statements" in label else issue_body(cast)

            def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
                return {"base_url": server.url, "timeout": 30, "auth": auth}

            def validate_response(
                self, response: Any, case: schemathesis.Case, *args: Any, **kwargs: Any
            ) -> None:
                case.validate_response(response, checks=CHECKS)
                label, query = case.operation.label, case.query or {}
                if response.status_code != 200:
                    return
                if label in ("POST /v1/statements", "POST /v1/assets"):
                    receipt = response.json()
                    receipts[receipt["seq"]] = receipt
                elif label == "GET /v1/proofs/inclusion":
                    receipt = receipts.get(query.get("index"))  # type: ignore[arg-type]
                    if receipt and receipt["inclusion"]["tree_size"] == query.get("size"):
                        assert response.json() == receipt["inclusion"], receipt
                        agreed["inclusion"] += 1
                elif label == "GET /v1/entries":
                    receipt = receipts.get(query.get("start"))  # type: ignore[arg-type]
                    entries = response.json()["entries"]
                    if receipt and entries:
                        assert entries[0] == receipt["entry"], (entries, receipt)
                        agreed["entry"] += 1

        Workflow.run(
            settings=settings(
                max_examples=40,
                stateful_step_count=10,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
        )
        log = server.log_text()
    assert "Traceback" not in log, log[-5000:]
    assert receipts, "no genuine statement was ever admitted"
    # The links were followed: what receipts named was fetched and agreed with them (both
    # kinds are compared whenever they occur; typically a few to 15 of each per run).
    assert agreed["inclusion"] + agreed["entry"] >= 2, (agreed, len(receipts))
