"""``GET /public``: the public dashboard.

The statistics are rendered on the server from the same source as ``GET /v1/stats``
(`api.server.Server.stats`), so the page shows exactly the API's figures, and work
without JavaScript. The checkpoint, its signature and pasted receipts are verified
in the browser (static/js/pages/public.js), against the verifier key shown on the
page: nobody has to trust the server's word for them. Nothing personal is shown:
only counts, the log's checkpoint and its public key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.deps import Srv
from api.web.page import Page
from api.web.render import render_page

router = APIRouter()

#: The figures shown, in order: (message key, /v1/stats member).
FIGURES = (
    ("stat.classes", "classes"),
    ("stat.assets", "assets"),
    ("stat.authorized", "authorized_assets"),
    ("stat.reads", "reads"),
    ("stat.refusals", "refusals"),
)


@router.get("/public", response_class=HTMLResponse)
async def public(request: Request, server: Srv) -> HTMLResponse:
    """The dashboard: statistics, latest checkpoint, verifier key, proof checker."""
    stats: dict[str, Any] = await run_in_threadpool(server.stats)
    ledger = server.domain.ledger
    figures = [{"key": key, "member": member, "value": stats[member]} for key, member in FIGURES]
    return render_page(
        request,
        "public",
        figures=figures,
        personal_classes=stats["personal_classes"],
        enterprise_classes=stats["enterprise_classes"],
        vkey=ledger.vkey,
        origin=ledger.origin,
        suite=ledger.suite.name,
        page_data={"vkey": ledger.vkey, "origin": ledger.origin, "suite": ledger.suite.name},
    )


PAGE = Page("public", "/public", router)
