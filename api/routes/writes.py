"""Writes: an actor POSTs its signed statement; the server verifies it, sequences it and
answers with the receipt once the entry is durably committed.

The statement's own signature authenticates the actor (no HTTP signature is needed):
it is checked, with the replay and clock-skew rules, in sequence order.

Signed statements are parsed once, strictly, from the raw body (chainledger's own
parser: duplicate keys, bad UTF-8 and over-deep nesting refused, canonical bytes kept)
and answered with ready JSON bytes; the models in the OpenAPI document (``response_model``,
documentation only: FastAPI passes a `Response` through untouched) describe these bodies,
and the tests and the schemathesis suite check that they match.

The three routes that take a bare signed statement (statements, reads, disclosures) take
the `Request` and nothing else and are `RequestRoute`s: FastAPI's request handler
(dependency resolution, body handling, response processing) cost the counter read, the
hottest route, more than its own parse (docs/profile.md section 6).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api.deps import Srv
from api.errors import UnsupportedMediaType
from api.models import IssueIn, ReadOut, ReceiptModel, SignedStatementIn
from api.responses import STATEMENT_WRITE, WRITE, problems
from api.server import Server
from chainledger.domain import ReadResult
from chainledger.encoding import parse_json_object
from chainledger.errors import LedgerCorrupt
from chainledger.receipt import Receipt, json_text
from chainledger.statement import SignedStatement


class RequestRoute(APIRoute):
    """A route whose endpoint is ``async def f(request: Request) -> Response``: documented
    like any other (body schema, ``response_model``, problems), but served without
    FastAPI's request handler, which for such an endpoint has nothing to resolve, parse or
    validate and only costs time. Refuses, when the route is built, an endpoint with any
    other parameter or a dependency (it would be skipped); the tests check that no router
    that includes these routes adds one either."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        d = self.dependant
        params = (d.path_params, d.query_params, d.header_params, d.cookie_params, d.body_params)
        if (
            d.request_param_name is None
            or any(params)
            or d.dependencies
            or not inspect.iscoroutinefunction(self.endpoint)
        ):
            raise TypeError(f"{self.path}: a RequestRoute endpoint takes the Request alone")
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


router = APIRouter(tags=["writes"])
#: The statement routes (matched first: the app includes this router before the others).
statement_router = APIRouter(tags=["writes"], route_class=RequestRoute)

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


async def signed_statement(request: Request) -> tuple[Server, SignedStatement]:
    """The server, and the signed statement that is the request's body (counted against
    its actor's rate limit)."""
    server: Server = request.app.state.server
    require_json(request)
    return server, take(server, SignedStatement.from_wire(await request.body()), request)


async def statement_body(request: Request) -> SignedStatement:
    """`signed_statement` as a dependency, for routes that also take other parameters."""
    return (await signed_statement(request))[1]


Statement = Annotated[SignedStatement, Depends(statement_body)]


def json_response(text: str) -> Response:
    """A 200 answer whose body is ``text``, already JSON."""
    return Response(text.encode("utf-8"), media_type="application/json")


def parse(server: Server, body: SignedStatementIn, request: Request) -> SignedStatement:
    """A signed statement nested in a JSON body (already parsed by FastAPI)."""
    return take(server, SignedStatement.from_wire(body.model_dump()), request)


@statement_router.post(
    "/v1/statements",
    response_model=ReceiptModel,
    responses=problems(*STATEMENT_WRITE),
    openapi_extra=STATEMENT_BODY,
    summary="Append a signed statement (grants, revocations, key rotations, sheets, ...)",
    description="Any kind that needs no side data (an offline read, `access.read_offline`, "
    "too). `asset.issue` goes to /v1/assets, `access.read` to /v1/reads, `asset.disclose` "
    "to /v1/disclosures and `audit.query` to /v1/audit.",
)
async def statements(request: Request) -> Response:
    server, statement = await signed_statement(request)
    receipt: Receipt = await asyncio.wrap_future(server.domain.submit(statement))
    return json_response(receipt.json_text())


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


def read_text(result: ReadResult) -> str:
    """The `ReadOut` JSON of ``result``, written from its parts: the receipt and the proof
    as text (`Receipt.json_text`), the entry escaped once as a string, no dict built for
    what is already bytes."""
    a = result.asset
    asset = json_text({
        "id": a.id, "cls": a.cls, "holder": a.holder, "issuer": a.issuer, "status": a.status,
        "valid_from": a.valid_from, "valid_until": a.valid_until, "seq": a.seq,
        "authorized_seq": a.authorized_seq,
    })  # fmt: skip
    proof = result.issue_proof.json_text() if result.issue_proof is not None else "null"
    try:
        issue_entry = result.issue_entry.decode("utf-8")
    except UnicodeDecodeError:
        # A stored row that no longer unpacks (as `Ledger.entry_texts`). One that decodes
        # but was edited is served: the counter's check of ``issue_proof`` catches it.
        raise LedgerCorrupt(a.seq, "the stored entry does not decode") from None
    return (
        f'{{"receipt":{result.receipt.json_text()},"asset":{asset},'
        f'"issue_entry":{json_text(issue_entry)},'
        f'"issue_proof":{proof},"disclosures":{json_text(result.disclosures)}}}'
    )


@statement_router.post(
    "/v1/reads",
    response_model=ReadOut,
    responses=problems(*STATEMENT_WRITE),
    openapi_extra=STATEMENT_BODY,
    summary="A counter's signed read: the disclosures and receipt, or a recorded refusal",
    description="The read is committed as an `access.read` entry before any value is "
    "released. A refused read is committed as `access.denied`; the 403 (or 409 for a "
    "replay or skewed time) problem carries the reason and that entry's receipt.",
)
async def read(request: Request) -> Response:
    server, statement = await signed_statement(request)
    # Awaits the commit, then reads the values in the loop (a few SQLite lookups).
    return json_response(read_text(await server.domain.read_async(statement)))


@statement_router.post(
    "/v1/disclosures",
    response_model=ReadOut,
    responses=problems(*STATEMENT_WRITE),
    openapi_extra=STATEMENT_BODY,
    summary="A holder's signed asset.disclose: its own values, for an offline presentation",
    description="The holder's request is committed as an `asset.disclose` entry before its "
    "values and salts are released to it, with the issuer's entry and its inclusion proof: "
    "what the holder's wallet puts in a presentation bundle for a counter that is offline.",
)
async def disclose(request: Request) -> Response:
    server, statement = await signed_statement(request)
    return json_response(read_text(await server.domain.disclose_async(statement)))
