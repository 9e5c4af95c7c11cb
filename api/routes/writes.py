"""Writes: an actor POSTs its signed statement; the server verifies it, sequences it and
answers with the receipt once the entry is durably committed.

The statement's own signature authenticates the actor (no HTTP signature is needed):
it is checked, with the replay and clock-skew rules, in sequence order.

Signed statements are parsed once, strictly, from the raw body (chainledger's own
parser: duplicate keys, bad UTF-8 and over-deep nesting refused, canonical bytes kept)
and answered with a ready `JSONResponse`; the models in the OpenAPI document describe
these bodies and the schemathesis suite checks that they match.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Srv
from api.errors import UnsupportedMediaType
from api.models import IssueIn, ReadOut, ReceiptModel, SignedStatementIn
from api.responses import STATEMENT_WRITE, WRITE, problems
from api.server import Server
from chainledger.domain import ReadResult
from chainledger.encoding import parse_json_object
from chainledger.statement import SignedStatement

router = APIRouter(tags=["writes"])

#: The request body of the routes that take a bare signed statement.
STATEMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/SignedStatementIn"}}
        },
    }
}


def take(server: Server, statement: SignedStatement, request: Request) -> SignedStatement:
    """Count ``statement`` against its actor's rate limit and name the actor in the access
    log (its signature is checked when the statement is sequenced)."""
    request.state.party = statement.actor
    server.limiter.take(statement.actor)
    return statement


def require_json(request: Request) -> None:
    """Refuse (415) a body declared as anything but JSON (``application/json`` or
    ``application/*+json``; parameters such as charset are ignored: JSON is UTF-8, RFC 8259
    section 8.1). The raw body is parsed as JSON whatever it is declared to be, so a form
    or text/plain post is refused rather than guessed at. No Content-Type: read as JSON."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.partition(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType("the body must be application/json")


async def statement_body(request: Request, server: Srv) -> SignedStatement:
    """The signed statement that is the request's body."""
    require_json(request)
    return take(server, SignedStatement.from_wire(await request.body()), request)


Statement = Annotated[SignedStatement, Depends(statement_body)]


def parse(server: Server, body: SignedStatementIn, request: Request) -> SignedStatement:
    """A signed statement nested in a JSON body (already parsed by FastAPI)."""
    return take(server, SignedStatement.from_wire(body.model_dump()), request)


@router.post(
    "/v1/statements",
    response_model=ReceiptModel,
    responses=problems(*STATEMENT_WRITE),
    openapi_extra=STATEMENT_BODY,
    summary="Append a signed statement (grants, revocations, key rotations, sheets, ...)",
    description="Any kind that needs no side data (an offline read, `access.read_offline`, "
    "too). `asset.issue` goes to /v1/assets, `access.read` to /v1/reads, `asset.disclose` "
    "to /v1/disclosures and `audit.query` to /v1/audit.",
)
async def statements(server: Srv, statement: Statement) -> JSONResponse:
    receipt = await asyncio.wrap_future(server.domain.submit(statement))
    return JSONResponse(receipt.to_json())


@router.post(
    "/v1/assets",
    response_model=ReceiptModel,
    responses=problems(*WRITE),
    summary="Issue an asset: the issuer's signed asset.issue and the values behind its digests",
)
async def issue(server: Srv, body: IssueIn, request: Request) -> JSONResponse:
    # FastAPI's parser keeps the last of duplicate member names; the ledger's strict one
    # refuses them (and NaN, floats, too deep), so a signed body has only one reading.
    parse_json_object(await request.body(), "body")
    statement = parse(server, body.statement, request)
    future = await run_in_threadpool(server.domain.submit_issue, statement, body.disclosures)
    receipt = await asyncio.wrap_future(future)
    return JSONResponse(receipt.to_json())


def read_json(result: ReadResult) -> dict[str, Any]:
    a = result.asset
    return {
        "receipt": result.receipt.to_json(),
        "asset": {
            "id": a.id, "cls": a.cls, "holder": a.holder, "issuer": a.issuer,
            "status": a.status, "valid_from": a.valid_from, "valid_until": a.valid_until,
            "seq": a.seq, "authorized_seq": a.authorized_seq,
        },
        "issue_entry": result.issue_entry.decode("utf-8"),
        "issue_proof": result.issue_proof.to_json() if result.issue_proof else None,
        "disclosures": result.disclosures,
    }  # fmt: skip


@router.post(
    "/v1/reads",
    response_model=ReadOut,
    responses=problems(*STATEMENT_WRITE),
    openapi_extra=STATEMENT_BODY,
    summary="A counter's signed read: the disclosures and receipt, or a recorded refusal",
    description="The read is committed as an `access.read` entry before any value is "
    "released. A refused read is committed as `access.denied`; the 403 (or 409 for a "
    "replay or skewed time) problem carries the reason and that entry's receipt.",
)
async def read(server: Srv, statement: Statement) -> JSONResponse:
    # Awaits the commit, then reads the values in the loop (a few SQLite lookups).
    return JSONResponse(read_json(await server.domain.read_async(statement)))


@router.post(
    "/v1/disclosures",
    response_model=ReadOut,
    responses=problems(*STATEMENT_WRITE),
    openapi_extra=STATEMENT_BODY,
    summary="A holder's signed asset.disclose: its own values, for an offline presentation",
    description="The holder's request is committed as an `asset.disclose` entry before its "
    "values and salts are released to it, with the issuer's entry and its inclusion proof: "
    "what the holder's wallet puts in a presentation bundle for a counter that is offline.",
)
async def disclose(server: Srv, statement: Statement) -> JSONResponse:
    return JSONResponse(read_json(await server.domain.disclose_async(statement)))
