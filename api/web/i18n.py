"""Languages and message catalogs of the web pages.

Each page has its own catalog per language (``i18n/<page>.<lang>.json``) beside the
shared one (``i18n/common.<lang>.json``): flat JSON objects from message key to text.
A page's messages are the common ones overlaid with its own, so pages written in
parallel never edit the same file.

The language of a request is ``?lang=zh|en``, else the ``lang`` cookie, else the best
supported tag of Accept-Language (RFC 9110 section 12.5.4, q-values honoured), else
Chinese. Anything unsupported or malformed is ignored, never an error.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request

__all__ = ["DEFAULT_LANG", "LANGS", "Messages", "from_accept_language", "messages", "pick_lang"]

CATALOGS = Path(__file__).parent / "i18n"
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
Messages = dict[str, str]


@cache
def _catalog(name: str, lang: str) -> Messages:
    path = CATALOGS / f"{name}.{lang}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: a catalog is a flat object of strings")
    return data


def messages(page: str, lang: str) -> Messages:
    """The messages of ``page`` in ``lang``: the common catalog overlaid with the page's.

    ``lang`` must be one of `LANGS` (use `pick_lang`); a missing catalog file is a
    programming error (FileNotFoundError), caught by the catalog tests.
    """
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}")
    return {**_catalog("common", lang), **_catalog(page, lang)}


def from_accept_language(header: str) -> str | None:
    """The supported language the Accept-Language ``header`` prefers most, or None.

    ``zh``, ``zh-CN``, ``zh-Hans-CN``... map to zh; ``en``, ``en-GB``... to en; a
    ``q=0`` range refuses a language. Malformed parts are skipped.
    """
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")[:32]):  # bounded work on junk
        tag, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
        primary = tag.lower().split("-")[0]
        if primary not in LANGS or not 0 < quality <= 1:
            continue
        # Highest quality wins; among equals, the one listed first.
        candidate = (quality, -position, primary)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[2]


def pick_lang(request: Request) -> str:
    """The language of ``request``: ``?lang``, else the cookie, else Accept-Language, else zh."""
    for candidate in (request.query_params.get("lang"), request.cookies.get("lang")):
        if candidate in LANGS:
            return candidate
    return from_accept_language(request.headers.get("accept-language", "")) or DEFAULT_LANG
