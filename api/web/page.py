"""A web page: its name, its path and the router that serves it.

A page called ``<name>`` owns exactly these files (so pages are written in parallel
without touching each other's): ``pages/<name>.py`` (its router and `PAGE`),
``templates/<name>.html``, ``static/js/pages/<name>.js``, ``i18n/<name>.zh.json`` and
``i18n/<name>.en.json`` (which must define ``title`` and ``nav``), and optionally
``static/css/<name>.css``. It is registered by one line in `api.web.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

__all__ = ["Page"]


@dataclass(frozen=True, slots=True)
class Page:
    """``name`` names the page's files; ``path`` is its URL; ``nav`` puts it in the nav."""

    name: str
    path: str
    router: APIRouter
    nav: bool = True
