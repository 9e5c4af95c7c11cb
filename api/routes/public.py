"""The public log surface: anyone may fetch and check these (no authentication)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Srv, public_limit
from api.metrics import CONTENT_TYPE
from api.models import (
    ConsistencyProofModel,
    Health,
    InclusionProofModel,
    PartyModel,
    Revocations,
    Stats,
)
from api.responses import PUBLIC, problems
from api.server import Server
from chainledger.encoding import b64encode
from chainledger.errors import InvalidChallenge, NotFound
from chainledger.store.base import PartyRow

router = APIRouter(dependencies=[Depends(public_limit)], tags=["public log"])

TEXT = {200: {"content": {"text/plain": {"schema": {"type": "string"}}}}}


@router.get("/healthz", response_model=Health, responses=problems(429))
def healthz(server: Srv) -> dict[str, Any]:
    return {"status": "ok", "size": server.domain.ledger.size()}


@router.get(
    "/v1/checkpoint",
    response_class=PlainTextResponse,
    responses={**TEXT, **problems(429)},
    summary="The latest signed checkpoint (C2SP signed note)",
)
def checkpoint(server: Srv) -> str:
    return server.domain.ledger.checkpoint()


@router.get(
    "/v1/vkey",
    response_class=PlainTextResponse,
    responses={**TEXT, **problems(429)},
    summary="The log's C2SP verifier key (name+keyid+base64)",
)
def vkey(server: Srv) -> str:
    return server.domain.ledger.vkey + "\n"


@router.get(
    "/v1/proofs/inclusion",
    response_model=InclusionProofModel,
    responses=problems(*PUBLIC),
    summary="RFC 9162 inclusion proof of leaf `index` in the tree of size `size`",
)
def inclusion(
    server: Srv,
    index: Annotated[int, Query(ge=0, description="Leaf index (0-based seq).")],
    size: Annotated[
        int | None, Query(ge=1, description="Tree size (default: the latest checkpoint).")
    ] = None,
) -> dict[str, Any]:
    return server.domain.ledger.inclusion_proof(index, size).to_json()


@router.get(
    "/v1/proofs/consistency",
    response_model=ConsistencyProofModel,
    responses=problems(*PUBLIC),
    summary="RFC 9162 consistency proof between tree sizes `first` and `second`",
)
def consistency(
    server: Srv,
    first: Annotated[int, Query(ge=1, description="The older tree size.")],
    second: Annotated[int, Query(ge=1, description="The newer tree size.")],
) -> dict[str, Any]:
    if first > second:
        raise InvalidChallenge("first must not exceed second")
    return server.domain.ledger.consistency_proof(first, second).to_json()


@router.get("/v1/stats", response_model=Stats, responses=problems(429))
async def stats(server: Srv) -> dict[str, Any]:
    return await run_in_threadpool(server.stats)


@router.get(
    "/v1/parties/{party_id}",
    response_model=PartyModel,
    responses=problems(404, 422, 429),
    summary="A party's role, status, current key and key history (holders' names never shown)",
)
def party(server: Srv, party_id: str) -> dict[str, Any]:
    store = server.domain.store
    with store.reading():
        row = store.party(party_id)
        if row is None:
            raise NotFound("no such party")
        return _party_json(server, row)


@router.get(
    "/v1/parties",
    response_model=list[PartyModel],
    responses=problems(422, 429),
    summary="The registered issuers, counters or auditors (holders are never listed)",
)
def parties(
    server: Srv, role: Annotated[Literal["issuer", "counter", "auditor"], Query()]
) -> list[dict[str, Any]]:
    store = server.domain.store
    with store.reading():
        return [_party_json(server, row) for row in store.parties(role)]


def _party_json(server: Server, row: PartyRow) -> dict[str, Any]:
    """A party's JSON, with the entry of each of its keys (`Ledger.entry_text`: a row that
    does not read back as text is `LedgerCorrupt`, naming its seq)."""
    ledger = server.domain.ledger
    keys = [
        {"seq": seq, "public_key": b64encode(key), "entry": ledger.entry_text(seq)}
        for seq, key in server.domain.store.party_keys(row.id)
    ]
    return {
        "id": row.id,
        "role": row.role,
        "name": "" if row.role == "holder" else row.name,
        "public_key": b64encode(row.public_key),
        "status": row.status,
        "since_seq": row.since_seq,
        "attrs": {} if row.role == "holder" else row.attrs,
        "keys": keys,
    }


@router.get(
    "/v1/revocations",
    response_model=Revocations,
    responses=problems(429),
    summary="Every asset no longer active, as of a signed checkpoint (for offline counters)",
)
def revocations(server: Srv) -> dict[str, Any]:
    store = server.domain.store
    with store.reading():  # the list and the checkpoint from one snapshot
        cp = store.latest_checkpoint()
        assert cp is not None  # a served ledger has its genesis checkpoint
        return {"checkpoint": cp.note, "assets": store.inactive_assets()}


@router.get("/v1/catalog/classes", responses=problems(429), summary="Asset classes")
def classes(server: Srv) -> list[dict[str, Any]]:
    return server.domain.store.catalog_classes()


@router.get("/v1/catalog/scenarios", responses=problems(429), summary="Service scenarios")
def scenarios(server: Srv) -> list[dict[str, Any]]:
    return server.domain.store.scenarios()


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
    summary="Prometheus metrics of this server process",
)
def metrics(server: Srv) -> Response:
    return Response(server.metrics.render(), media_type=CONTENT_TYPE)
