"""The web pages, served by the API app: server-rendered Jinja2 templates in Chinese
and English, with a little JavaScript as plain ES modules (no build step).

`router` serves every registered page (`api.web.registry`), outside the OpenAPI
document; `STATIC_DIR` is mounted at ``/static`` (CSS, the page scripts, and the
browser library in ``static/js/``: RFC 8785, RFC 9162, C2SP notes, receipts and
statement signing with WebCrypto, mirroring chainledger's pure modules). See README.md.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from api.web.registry import pages

__all__ = ["STATIC_DIR", "STATIC_PATH", "router"]

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static"

router = APIRouter(include_in_schema=False)
for _page in pages():
    router.include_router(_page.router)
