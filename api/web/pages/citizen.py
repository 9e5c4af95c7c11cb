"""``GET /citizen``: the citizen wallet.

The holder's assets (each checked in the browser: its issue entry proved in the log and
signed by the issuer's key of then), grants and their revocation, one-time QR codes,
the access history with each entry's inclusion proof, and erasure. The page is served
empty: it acts as the party whose key this browser holds (made here or imported,
non-extractable), signing statements and requests itself; the server never sees the
private key and shows nothing before a signed request.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.requests import Request

from api.web.page import Page
from api.web.render import render_page

router = APIRouter()


@router.get("/citizen", response_class=HTMLResponse)
def citizen(request: Request) -> HTMLResponse:
    """The citizen wallet; everything it shows is fetched and verified by its script."""
    return render_page(request, "citizen")


PAGE = Page("citizen", "/citizen", router)
