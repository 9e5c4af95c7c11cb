"""Writes: an actor POSTs its signed statement; the server verifies it, sequences it and
answers with the receipt once the entry is durably committed.

The statement's own signature authenticates the actor (no HTTP signature is needed):
it is checked, with the replay and clock-skew rules, in sequence order.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Srv
from api.models import IssueIn, ReadOut, ReceiptModel, SignedStatementIn
from api.responses import WRITE, problems
from api.server import Server
from chainledger.domain import ReadResult
from chainledger.statement import SignedStatement

router = APIRouter(tags=["writes"])


def parse(server: Server, body: SignedStatementIn, request: Request) -> SignedStatement:
    """The signed statement of ``body``, counted against its actor's rate limit (and named in
    the access log: the actor's signature is checked when it is sequenced)."""
    statement = SignedStatement.from_wire(body.model_dump())
    request.state.party = statement.actor
    server.limiter.take(statement.actor)
    return statement


@router.post(
    "/v1/statements",
    response_model=ReceiptModel,
    responses=problems(*WRITE),
    summary="Append a signed statement (grants, revocations, key rotations, sheets, ...)",
    description="Any kind that needs no side data. `asset.issue` goes to /v1/assets, "
    "`access.read` to /v1/reads and `audit.query` to /v1/audit.",
)
async def statements(server: Srv, body: SignedStatementIn, request: Request) -> dict[str, Any]:
    statement = parse(server, body, request)
    receipt = await asyncio.wrap_future(server.domain.submit(statement))
    return receipt.to_json()


@router.post(
    "/v1/assets",
    response_model=ReceiptModel,
    responses=problems(*WRITE),
    summary="Issue an asset: the issuer's signed asset.issue and the values behind its digests",
)
async def issue(server: Srv, body: IssueIn, request: Request) -> dict[str, Any]:
    statement = parse(server, body.statement, request)
    future = await run_in_threadpool(server.domain.submit_issue, statement, body.disclosures)
    receipt = await asyncio.wrap_future(future)
    return receipt.to_json()


def read_json(result: ReadResult) -> dict[str, Any]:
    return {
        "receipt": result.receipt.to_json(),
        "asset": asdict(result.asset),
        "issue_entry": result.issue_entry.decode("utf-8"),
        "issue_proof": result.issue_proof.to_json() if result.issue_proof else None,
        "disclosures": result.disclosures,
    }


@router.post(
    "/v1/reads",
    response_model=ReadOut,
    responses=problems(*WRITE),
    summary="A counter's signed read: the disclosures and receipt, or a recorded refusal",
    description="The read is committed as an `access.read` entry before any value is "
    "released. A refused read is committed as `access.denied`; the 403 (or 409 for a "
    "replay or skewed time) problem carries the reason and that entry's receipt.",
)
async def read(server: Srv, body: SignedStatementIn, request: Request) -> dict[str, Any]:
    statement = parse(server, body, request)
    receipt = await asyncio.wrap_future(server.domain.submit_read(statement))
    result = await run_in_threadpool(server.domain.release, statement, receipt)
    return read_json(result)
