"""The registered pages, in nav order: one line per page (see api/web/README.md).

Each name is a module of `api.web.pages` that defines ``PAGE`` (an `api.web.page.Page`).
"""

from __future__ import annotations

import importlib
from functools import cache

from api.web.page import Page

__all__ = ["PAGE_MODULES", "pages"]

PAGE_MODULES: tuple[str, ...] = (
    "home",
    "citizen",
    "counter",
    "auditor",
    "public",
)


@cache
def pages() -> tuple[Page, ...]:
    """The `Page` of every module in `PAGE_MODULES`, in that order."""
    out = []
    for name in PAGE_MODULES:
        page = importlib.import_module(f"api.web.pages.{name}").PAGE
        if not isinstance(page, Page) or page.name != name:
            raise TypeError(f"api.web.pages.{name}.PAGE must be a Page named {name!r}")
        out.append(page)
    return tuple(out)
