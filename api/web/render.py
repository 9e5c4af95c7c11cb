"""Rendering a page: its template in the request's language, under a strict CSP.

Every page response carries the security headers below. The Content-Security-Policy
allows scripts, styles and connections from this origin only and no inline script at
all (CSP Level 3, ``script-src 'self'``): data reaches a page's ES module through a
``<script type="application/json">`` block (not executed) and ``data-`` attributes.
The headers are set on page responses only; the JSON API keeps its own.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request

from api.web.i18n import LANGS, messages, pick_lang

__all__ = ["CSP", "SECURITY_HEADERS", "render_page"]

TEMPLATES = Path(__file__).parent / "templates"
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # blob: for the QR code drawn from the server's SVG and for report downloads;
        # the counter's camera preview is a MediaStream (srcObject), which media-src
        # does not govern.
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The counter terminal may use the camera (this origin only); nothing else may.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-cache",
    "Vary": "Accept-Language, Cookie",
}
#: A year: the cookie only remembers a language choice.
LANG_COOKIE_AGE = 365 * 24 * 3600


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a typo in a template fails its test, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = lambda n: f"{int(n):,}"
    return env


def render_page(request: Request, page: str, **context: Any) -> HTMLResponse:
    """Render ``templates/<page>.html`` for ``request`` with ``context``.

    The template gets ``lang``, ``t`` (message lookup: the key itself when missing, so
    a missing message never becomes a 500), ``nav`` (path, label, current) of every
    registered page, ``switch`` (the language links) and ``page_data`` (for the page's
    JSON block, with the page's messages under ``messages``; written with ``|tojson``,
    which escapes ``<``, ``>``, ``&`` and ``'``).
    A valid ``?lang=`` is remembered in the ``lang`` cookie.
    """
    from api.web.registry import pages  # the registry imports the page modules, which import us

    lang = pick_lang(request)
    msgs = messages(page, lang)
    nav = [
        {"path": p.path, "label": messages(p.name, lang)["nav"], "current": p.name == page}
        for p in pages()
        if p.nav
    ]
    switch = [
        {"lang": other, "label": msgs[f"lang.{other}"], "href": f"{request.url.path}?lang={other}"}
        for other in LANGS
    ]
    data = {**context.pop("page_data", {}), "lang": lang, "messages": msgs}
    html = (
        _env()
        .get_template(f"{page}.html")
        .render(
            lang=lang,
            page=page,
            t=lambda key: msgs.get(key, key),
            nav=nav,
            switch=switch,
            page_data=data,
            **context,
        )
    )
    response = HTMLResponse(html, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(
            "lang", lang, max_age=LANG_COOKIE_AGE, path="/", samesite="lax", httponly=True
        )
    return response
