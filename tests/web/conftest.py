"""Fixtures of the browser tests: one real server over a demo ledger and one Chromium
for the whole session; a fresh, watched browser page per test.

A watched page records every request it makes (later tests assert that no private key
is ever sent) and fails its test if the page logged a console error or threw.
Chromium must be installed: a missing one fails loudly (scripts/test installs it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from api_support import RunningServer, serve
from playwright.sync_api import Browser, Playwright, sync_playwright
from web_support import (
    CHROMIUM,
    MISSING_CHROMIUM,
    Demo,
    Site,
    Watched,
    demo_ledger,
    launch_chromium,
    watched_page,
)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``chainledger serve`` over a fresh ledger with the small demo data set."""
    db = demo_ledger(tmp_path_factory.mktemp("web"))
    server: RunningServer
    with serve(db) as server:
        yield Site(server.url, db)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; fails (never skips) when it is not installed."""
    if not CHROMIUM.exists():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    chromium = launch_chromium(playwright)
    yield chromium
    chromium.close()


@pytest.fixture
def web(browser: Browser) -> Iterator[Watched]:
    """A fresh watched page, 1280x800."""
    yield from watched_page(browser, viewport={"width": 1280, "height": 800})


@pytest.fixture
def phone(browser: Browser) -> Iterator[Watched]:
    """A fresh watched page on a 390x844 phone screen."""
    yield from watched_page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A server of the test module's own, over a fresh demo ledger (party pages write)."""
    tmp = tmp_path_factory.mktemp("flows")
    db = demo_ledger(tmp)
    keys = db.with_name(db.name + ".demo")
    parties = json.loads((keys / "parties.json").read_text(encoding="utf-8"))
    with serve(db) as server:
        yield Demo(server.url, db, keys, parties, tmp)
