"""``GET /auditor``: the auditor console.

The ledger's state verified in the browser (checkpoint, consistency with what this
browser saw, witness cosignatures, the latest entries re-linked), trace searches,
anomalies, charts of reads per counter, class and day, and report downloads. Every
query is a signed ``audit.query`` recorded on the ledger before it is answered.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.requests import Request

from api.web.page import Page
from api.web.render import render_page

router = APIRouter()


@router.get("/auditor", response_class=HTMLResponse)
def auditor(request: Request) -> HTMLResponse:
    """The auditor console; everything it shows is fetched and verified by its script."""
    return render_page(request, "auditor")


PAGE = Page("auditor", "/auditor", router)
