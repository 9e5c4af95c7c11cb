"""Schemathesis over the whole OpenAPI document, against a real server (bounded in time).

For every operation, generated requests (valid and invalid by the schema) must never
give a server error, and every response must match what the document promises: status
code, content type, headers and body schema.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from api_support import serve
from domain_support import make_cast
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.slow
def test_every_operation_conforms_to_the_openapi_document(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    make_cast(db).domain.close()
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

            try:
                run()
            except Exception as exc:  # collect all, report all
                failures.append(f"{operation.verbose_name}: {exc}"[:2000])
        log = server.log_text()
    assert "Traceback" not in log, log[-5000:]
    requests = log.count('"route":')
    assert requests >= 10 * len(operations), requests  # the run really exercised the server
    assert not failures, "\n\n".join(failures)
