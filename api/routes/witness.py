"""Witnesses: registered auditors cosign checkpoints (c2sp.org/tlog-cosignature).

A cosignature is not a ledger entry: it changes nothing of the log, goes through
no sequencer and leaves no receipt. Accepted lines are served appended to
``GET /v1/checkpoint``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, Srv, refuse
from api.models import CosignatureIn, CosignatureOut
from api.responses import SIGNED, problems
from api.routes.private import SIGNATURE_DOC

router = APIRouter(tags=["witness"])


@router.post(
    "/v1/cosignatures",
    response_model=CosignatureOut,
    responses=problems(*SIGNED),
    summary="A witness (an active auditor) cosigns a stored checkpoint",
    description="The line is the auditor's timestamped Ed25519 cosignature (type 0x04, key "
    "name = party id) of the checkpoint of `size`, timestamp at most the skew ahead of the "
    "server's clock; a newer cosignature of the same size replaces an older one. Served "
    "on `GET /v1/checkpoint` for the latest size." + SIGNATURE_DOC,
)
async def cosign(
    request: Request, server: Srv, caller: Caller, body: CosignatureIn
) -> dict[str, Any]:
    if caller.role != "auditor":  # the ledger's witnesses are its auditors
        await refuse(request, server, caller, "role", f"a {caller.role} does not witness",
                     code="not_allowed")  # fmt: skip
    ledger = server.domain.ledger

    def run() -> int:
        ledger.add_cosignature(body.size, caller.id, body.line)
        return len(ledger.cosignatures(body.size))

    count = await run_in_threadpool(run)
    return {"size": body.size, "witness": caller.id, "cosignatures": count}
