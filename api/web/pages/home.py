"""``GET /``: the landing page, linking every registered page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.requests import Request

from api.web.page import Page
from api.web.render import render_page

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The landing page: what the ledger is, and a card for each page in the nav."""
    return render_page(request, "home")


PAGE = Page("home", "/", router)
