"""Private reads, each an RFC 9421 signed request by the party asking.

A holder reads its own history, assets and grants; an auditor runs audit views
(each recorded as an ``audit.query`` entry before it is answered); any active
party may read raw entries (they carry ids and digests, never values).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, Srv, refuse, require_role
from api.errors import Forbidden
from api.models import (
    AccessPage,
    AssetModel,
    AuditOut,
    EntriesOut,
    GrantModel,
)
from api.responses import SIGNED, STATEMENT_WRITE, problems
from api.routes.writes import STATEMENT_BODY, Statement
from api.server import Server
from chainledger.errors import InvalidChallenge, NotFound
from chainledger.store.base import PartyRow
from chainledger.store.projections import AccessRow

router = APIRouter(tags=["signed reads"])

SIGNATURE_DOC = (
    " Requires an RFC 9421 signature (label and tag `chainledger`, Ed25519, keyid = "
    "party id, covering @method, @path, @query and content-digest, with created, "
    "expires and a single-use nonce)."
)


async def _own(request: Request, server: Server, caller: PartyRow, holder: str) -> None:
    """Refuse (and record, reason ``not_holder``) a party asking for another's records."""
    if caller.id != holder:
        await refuse(request, server, caller, "not_holder",
                     "a holder may read only its own records")  # fmt: skip


def page(rows: list[AccessRow], limit: int) -> dict[str, Any]:
    return {
        "rows": [asdict(r) for r in rows],
        "next_after_seq": rows[-1].seq if len(rows) == limit and rows else None,
    }


@router.get(
    "/v1/holders/{holder}/history",
    response_model=AccessPage,
    responses=problems(*SIGNED),
    summary="Every read and refused read of a holder's data (the holder's own view)",
    description="Only the holder itself." + SIGNATURE_DOC,
)
async def history(
    request: Request,
    server: Srv,
    caller: Caller,
    holder: str,
    after_seq: Annotated[int, Query(ge=-1)] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    await _own(request, server, caller, holder)
    rows = await run_in_threadpool(server.domain.history, holder, after_seq, limit)
    return page(rows, limit)


@router.get(
    "/v1/holders/{holder}/assets",
    response_model=list[AssetModel],
    responses=problems(*SIGNED),
    summary="A holder's assets (ids, classes, status; values stay in the vault)",
    description="Only the holder itself." + SIGNATURE_DOC,
)
async def assets(
    request: Request, server: Srv, caller: Caller, holder: str
) -> list[dict[str, Any]]:
    await _own(request, server, caller, holder)
    rows = await run_in_threadpool(server.domain.store.assets_of, holder)
    return [asdict(r) for r in rows]


@router.get(
    "/v1/holders/{holder}/grants",
    response_model=list[GrantModel],
    responses=problems(*SIGNED),
    summary="A holder's grants with their uses",
    description="Only the holder itself." + SIGNATURE_DOC,
)
async def grants(
    request: Request, server: Srv, caller: Caller, holder: str
) -> list[dict[str, Any]]:
    await _own(request, server, caller, holder)
    rows = await run_in_threadpool(server.domain.store.grants_of, holder)
    return [asdict(r) for r in rows]


@router.get(
    "/v1/assets/{asset}",
    response_model=AssetModel,
    responses=problems(*SIGNED),
    summary="An asset's status (active, revoked, superseded, erased)",
    description="For its holder, its issuer, counters, auditors and the platform." + SIGNATURE_DOC,
)
async def asset(request: Request, server: Srv, caller: Caller, asset: str) -> dict[str, Any]:
    row = await run_in_threadpool(server.domain.store.asset, asset)
    if row is None:
        raise NotFound("no such asset")
    if caller.role in ("holder", "issuer") and caller.id not in (row.holder, row.issuer):
        reason = "not_holder" if caller.role == "holder" else "not_authority"
        await refuse(request, server, caller, reason, "not this party's asset")
    return asdict(row)


@router.get(
    "/v1/entries",
    response_model=EntriesOut,
    responses=problems(*SIGNED),
    summary="Raw entries (canonical JSON, the Merkle leaves) from `start`",
    description="Any active party." + SIGNATURE_DOC,
)
async def entries(
    server: Srv,
    caller: Caller,
    start: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        size = server.domain.ledger.size()
        if start > size:
            raise InvalidChallenge(f"start {start} is beyond the log size {size}")
        # A row that does not read back as text is a `LedgerCorrupt` problem naming its
        # seq; an edited one that does is served, for the client's checks to catch.
        rows = server.domain.ledger.entry_texts(start, min(size, start + limit))
        return {"entries": [text for _, text in rows], "start": start, "size": size}

    return await run_in_threadpool(fetch)


@router.post(
    "/v1/audit",
    response_model=AuditOut,
    responses=problems(*STATEMENT_WRITE),
    openapi_extra=STATEMENT_BODY,
    summary="An auditor's query (trace, anomalies or report), recorded before it is answered",
    description="The body is the auditor's signed `audit.query` statement; the request "
    "itself must also be signed by the same auditor." + SIGNATURE_DOC,
)
async def audit(
    request: Request,
    server: Srv,
    caller: Caller,
    statement: Statement,
    fmt: Annotated[Literal["json", "csv", "html"], Query(alias="format")] = "json",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    await require_role(request, server, caller, "auditor")
    if statement.actor != caller.id:
        raise Forbidden("the statement must be the signing auditor's own")
    query = statement.stmt.get("query")
    view = query.get("view", "trace") if isinstance(query, dict) else "trace"

    def answer() -> Any:
        return server.domain.audit(statement, fmt, limit)

    # domain.audit appends (waits for the commit) and then reads: a blocking call.
    receipt, result = await run_in_threadpool(answer)
    out: dict[str, Any] = {"receipt": receipt.to_json(), "view": view}
    if view == "anomalies":
        out["anomalies"] = [asdict(a) for a in result]
    elif view == "report":
        out["report"] = result
    else:
        out["rows"] = [asdict(r) for r in result]
    return out
