"""``GET /counter``: the counter terminal.

Read a presented QR code (camera with BarcodeDetector, a photo, or the pasted token)
or a standing grant for one of the counter's services; the read is signed in the
browser, and the answer verified there before a value is shown (the receipt, the
issuer's entry and signature, each value against its signed digest). A printable
receipt and the cross-verification sheet for multi-document applications.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.requests import Request

from api.web.page import Page
from api.web.render import render_page

router = APIRouter()


@router.get("/counter", response_class=HTMLResponse)
def counter(request: Request) -> HTMLResponse:
    """The counter terminal; everything it shows is fetched and verified by its script."""
    return render_page(request, "counter")


PAGE = Page("counter", "/counter", router)
