"""Schemathesis over the whole OpenAPI document, against a real server (bounded in time).

For every operation, generated requests (valid and invalid by the schema) must never
give a server error, and every response must match what the document promises: status
code, content type, headers and body schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import schemathesis
from api_support import serve
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
