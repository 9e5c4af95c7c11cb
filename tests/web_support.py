"""Helpers for the browser tests and scripts/screenshots: Debian's Chromium driven by
Playwright, a ledger with the small demo data set, and real receipts made over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Request
from support import chainledger_exe

from chainledger.clock import format_ts
from chainledger.crypto import load_private_key
from chainledger.grants import create_fields
from chainledger.statement import make_statement, sign_statement

#: Debian's package; Playwright's own browser downloads are not reachable here.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
MISSING_CHROMIUM = (
    f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Run scripts/test, "
    "which installs it (apt-get install -y --no-install-recommends chromium)."
)


def launch_chromium(playwright: Any) -> Any:
    """A headless Debian Chromium (fresh user data dir) under ``playwright``'s control.

    Raises FileNotFoundError with `MISSING_CHROMIUM` when it is not installed.
    """
    if not CHROMIUM.exists():
        raise FileNotFoundError(MISSING_CHROMIUM)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def demo_ledger(directory: Path) -> Path:
    """``chainledger init`` + ``chainledger demo`` (small) in ``directory``; the db path."""
    db = directory / "ledger.db"
    for command in ("init", "demo"):
        subprocess.run(
            [chainledger_exe(), command, "--db", str(db)], check=True, capture_output=True
        )
    return db


def demo_party(db: Path, role: str, **attrs: Any) -> tuple[str, Any]:
    """The id and private key of the first demo party of ``role`` with these ``attrs``."""
    keys = db.with_name(db.name + ".demo")
    for party in json.loads((keys / "parties.json").read_text(encoding="utf-8")):
        if party["role"] == role and all(party["attrs"].get(k) == v for k, v in attrs.items()):
            return party["id"], load_private_key(keys / party["key"])
    raise LookupError(f"no demo {role} with {attrs}")


def grant_statement(db: Path) -> dict[str, Any]:
    """A fresh ``grant.create`` by a demo holder to a bus-station counter, as wire JSON."""
    holder, key = demo_party(db, "holder", subject="person")
    counter, _ = demo_party(db, "counter", counter_type="bus_station")
    now = datetime.now(UTC)
    fields = create_fields(
        scenario="bus_ticket", purpose="ticket_purchase", scope={"resident_id_card": ["name"]},
        grantee=counter, not_before=format_ts(now - timedelta(minutes=1)),
        expires=format_ts(now + timedelta(hours=1)), max_uses=1,
    )  # fmt: skip
    stmt = make_statement("grant.create", holder, now, os.urandom, **fields)
    return sign_statement(stmt, key).to_wire()


def fresh_receipt(url: str, db: Path) -> dict[str, Any]:
    """The receipt of a new statement appended over HTTP at ``url`` (POST /v1/statements)."""
    response = httpx.post(url + "/v1/statements", json=grant_statement(db), timeout=30)
    response.raise_for_status()
    receipt: dict[str, Any] = response.json()
    return receipt


@dataclass
class Site:
    """The server under test and the ledger behind it."""

    url: str
    db: Path


@dataclass
class Watched:
    """A page and what it did: requests made, console errors, uncaught exceptions."""

    page: Page
    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self) -> None:
        self.page.on("request", lambda request: self.requests.append(request))
        self.page.on(
            "console",
            lambda m: self.errors.append(f"console.error: {m.text}") if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))


def watched_page(browser: Browser, **context: Any) -> Iterator[Watched]:
    """A page in a fresh browser context (own cookies and storage); fails on errors."""
    ctx = browser.new_context(**context)
    watched = Watched(ctx.new_page())
    watched.watch()
    try:
        yield watched
        assert not watched.errors, "the page logged errors:\n" + "\n".join(watched.errors)
    finally:
        ctx.close()
