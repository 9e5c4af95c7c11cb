"""The platform operator's requests (RFC 9421 signed with the platform's key):
registering parties after their checks, suspending a compromised key, lawful erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, Srv, require_role
from api.models import ReceiptModel, RegisterIn, SuspendIn
from api.responses import WRITE, problems
from chainledger.encoding import b64decode

router = APIRouter(tags=["platform"])
DOC = " Only the platform operator, with an RFC 9421 signature by the platform key."


@router.post(
    "/v1/parties",
    response_model=ReceiptModel,
    responses=problems(*WRITE),
    summary="Register a party (issuers, counters and auditors need the platform's approval; "
    "holders come after an identity check)",
    description="The party proves possession of its key (`pop`)." + DOC,
)
async def register(
    request: Request, server: Srv, caller: Caller, body: RegisterIn
) -> dict[str, Any]:
    await require_role(request, server, caller, "platform")
    key = b64decode(body.public_key, "public_key", 32)

    def run() -> Any:
        return server.domain.register(
            key, body.role, name=body.name, attrs=body.attrs, pop=body.pop, real_id=body.real_id
        )

    return (await run_in_threadpool(run)).to_json()


@router.post(
    "/v1/parties/{party_id}/suspend",
    response_model=ReceiptModel,
    responses=problems(*WRITE),
    summary="Suspend a party's key (compromise); history stays as it is",
    description=DOC,
)
async def suspend(
    request: Request, server: Srv, caller: Caller, party_id: str, body: SuspendIn
) -> dict[str, Any]:
    await require_role(request, server, caller, "platform")
    receipt = await run_in_threadpool(server.domain.suspend, party_id, body.reason)
    return receipt.to_json()


@router.post(
    "/v1/assets/{asset}/lawful-erasure",
    response_model=ReceiptModel,
    responses=problems(*WRITE),
    summary="Erase an asset's values on a lawful request (crypto-shredding, recorded)",
    description=DOC,
)
async def lawful_erasure(
    request: Request, server: Srv, caller: Caller, asset: str
) -> dict[str, Any]:
    await require_role(request, server, caller, "platform")
    receipt = await run_in_threadpool(server.domain.lawful_erasure, asset)
    return receipt.to_json()
