"""The public log surface: what anyone can fetch, checked as a sceptical client would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from domain_support import Cast, make_cast
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from chainledger.checkpoint import verify_checkpoint
from chainledger.crypto import SUITES
from chainledger.encoding import b64encode
from chainledger.ledger import Ledger
from chainledger.proofs import ConsistencyProof, InclusionProof

SUITE = SUITES["sha256"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cast, Path, TestClient]]:
    db = tmp_path_factory.mktemp("public") / "ledger.db"
    cast = make_cast(db)
    cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    cast.domain.close()
    with TestClient(create_app(Settings(db=db))) as c:
        yield cast, db, c


def test_checkpoint_is_signed_by_the_served_key(world: Any) -> None:
    _, db, c = world
    r = c.get("/v1/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    vkey = c.get("/v1/vkey").text.strip()
    cp = verify_checkpoint(r.text, vkey)
    with Ledger.open(db, writable=False) as ledger:
        assert vkey == ledger.vkey
        assert cp.size == ledger.size()
        assert cp.root == ledger.root()


def test_every_inclusion_proof_verifies_and_matches_the_cli_format(world: Any) -> None:
    _, db, c = world
    cp = verify_checkpoint(c.get("/v1/checkpoint").text, c.get("/v1/vkey").text.strip())
    with Ledger.open(db, writable=False) as ledger:
        for index in range(cp.size):
            r = c.get("/v1/proofs/inclusion", params={"index": index, "size": cp.size})
            assert r.status_code == 200, r.text
            assert r.json() == ledger.inclusion_proof(index, cp.size).to_json()
            leaf = SUITE.leaf(ledger.entry(index))
            InclusionProof.from_json(r.json()).verify(leaf, cp.root)
        # size defaults to the latest checkpoint
        assert c.get("/v1/proofs/inclusion", params={"index": 0}).json()["tree_size"] == cp.size


def test_consistency_proofs_between_every_pair_of_sizes(world: Any) -> None:
    _, db, c = world
    with Ledger.open(db, writable=False) as ledger:
        n = ledger.size()
        for first in range(1, n + 1, 7):
            for second in range(first, n + 1, 11):
                r = c.get("/v1/proofs/consistency", params={"first": first, "second": second})
                assert r.status_code == 200, r.text
                ConsistencyProof.from_json(r.json()).verify(ledger.root(first), ledger.root(second))


def test_stats_parties_and_catalog(world: Any) -> None:
    cast, _, c = world
    stats = c.get("/v1/stats").json()
    assert (stats["classes"], stats["personal_classes"], stats["enterprise_classes"]) == (31, 28, 3)
    assert stats["assets"] == 1
    police = c.get(f"/v1/parties/{cast.police.id}").json()
    assert police["role"] == "issuer"
    assert police["name"] == "聊城市公安局"
    from chainledger.crypto import public_key_bytes

    assert police["public_key"] == b64encode(public_key_bytes(cast.police.key))
    citizen = c.get(f"/v1/parties/{cast.citizen.id}").json()
    assert citizen["role"] == "holder"
    assert citizen["name"] == ""
    assert citizen["attrs"] == {}
    assert len(c.get("/v1/catalog/classes").json()) == 31
    assert any(s["scenario"] == "bus_ticket" for s in c.get("/v1/catalog/scenarios").json())
    assert c.get("/healthz").json()["status"] == "ok"


def test_openapi_document_and_docs_page(world: Any) -> None:
    _, _, c = world
    doc = c.get("/openapi.json").json()
    for path in ("/v1/checkpoint", "/v1/vkey", "/v1/proofs/inclusion", "/v1/proofs/consistency",
                 "/v1/stats", "/healthz", "/metrics", "/v1/statements", "/v1/assets",
                 "/v1/reads", "/v1/audit", "/v1/holders/{holder}/history"):  # fmt: skip
        assert path in doc["paths"], path
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (
                        path, method, status,
                    )  # fmt: skip
    assert "/bench/hello" not in doc["paths"]
    docs = c.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
