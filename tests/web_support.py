"""Helpers for the browser tests and scripts/screenshots: Debian's Chromium driven by
Playwright, a ledger with the small demo data set, and real receipts made over HTTP."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from playwright.sync_api import Browser, Page, Request, expect
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


#: Every text element's contrast ratio against its composited background (WCAG 2.x).
CONTRAST_JS = """() => {
  const rgba = (c) => {
    const p = c.match(/[\\d.]+/g).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3]))
    .concat([1]);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) layers.push(rgba(getComputedStyle(e).backgroundColor));
    return layers.reverse().reduce((acc, layer) => over(layer, acc), [255, 255, 255, 1]);
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!hasText || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden") continue;
    const bg = background(el);
    const fg = over(rgba(style.color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    out.push({ text: el.textContent.trim().slice(0, 40), ratio: (a + 0.05) / (b + 0.05) });
  }
  return out;
}"""
#: What the Tab key should reach.
FOCUSABLE = "a[href], button, textarea, input, select, summary, [tabindex]:not([tabindex='-1'])"


# --- people on the party pages (citizen, counter, auditor) ------------------------------

TIMEOUT = 30_000
#: The browser keystore's records (static/js/keystore.js): IndexedDB "chainledger", "keys".
STORED_KEYS = """async () => {
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open("chainledger");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => ko(r.error);
  });
  const all = await new Promise((ok) => {
    const q = db.transaction("keys").objectStore("keys").getAll();
    q.onsuccess = () => ok(q.result);
  });
  const out = [];
  for (const pair of all) {
    const key = pair.privateKey;
    let exported = "exported";
    try { await crypto.subtle.exportKey("pkcs8", key); } catch (e) { exported = e.name; }
    out.push({ extractable: key.extractable, usages: key.usages, exported });
  }
  return out;
}"""


@dataclass
class Demo:
    url: str
    db: Path
    keys: Path
    parties: list[dict[str, Any]]
    tmp: Path

    def party(self, role: str, **attrs: str) -> dict[str, Any]:
        return next(
            p for p in self.parties
            if p["role"] == role and all(p["attrs"].get(k) == v for k, v in attrs.items())
        )  # fmt: skip

    def pem(self, party: dict[str, Any]) -> Path:
        return self.keys / party["key"]


def secrets_of(pem: Path) -> list[str]:
    """Every spelling of a private key a request could carry."""
    seed = load_private_key(pem).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    body = "".join(pem.read_text().splitlines()[1:-1])
    return [
        seed.hex(), base64.b64encode(seed).decode(),
        base64.urlsafe_b64encode(seed).decode().rstrip("="), body, body[16:48],
    ]  # fmt: skip


class Person:
    """One browser context on one page: its requests, refusals and errors recorded."""

    def __init__(self, browser: Browser, url: str, path: str, **context: Any) -> None:
        self.context = browser.new_context(
            **{"viewport": {"width": 1280, "height": 900}, **context}
        )
        self.page: Page = self.context.new_page()
        self.requests: list[Request] = []
        self.errors: list[str] = []
        self.failed: list[tuple[int, str]] = []
        self.page.on("request", lambda r: self.requests.append(r))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on(
            "response",
            lambda r: self.failed.append((r.status, r.url)) if r.status >= 400 else None,
        )
        self.page.goto(url + path)

    def import_key(self, pem: Path) -> None:
        self.page.fill("#key-pem", pem.read_text())
        self.page.click("#key-import")
        expect(self.page.locator("#app")).to_be_visible(timeout=TIMEOUT)

    def sent(self) -> str:
        """Everything this context sent: URLs, headers and bodies."""
        out = []
        for r in self.requests:
            out += [r.url, json.dumps(r.headers)]
            body = r.post_data_buffer
            out.append(body.decode("latin-1") if body else "")
        return "\n".join(out)

    def check_clean(self, expected: Collection[tuple[int, str]] = ()) -> None:
        """No failed response but the ``expected`` (status, path) refusals; no errors but
        Chromium's own log line for each of those refusals."""
        paths = {(s, "/" + u.split("/", 3)[-1].split("?")[0]) for s, u in self.failed}
        assert paths <= set(expected), paths - set(expected)
        real = [e for e in self.errors if not e.startswith("Failed to load resource")]
        assert not real, real
        self.close()

    def close(self) -> None:
        """Close the context once every running route handler has finished: a handler still
        fetching when its context closes raises into whichever test runs next."""
        self.page.unroute_all(behavior="wait")
        self.context.close()


def presentation_token(demo: Demo, holder: dict[str, Any], scenario: str = "bus_ticket") -> str:
    """A one-time presentation (as ``wallet present`` makes it) of the holder's resident
    ID card for ``scenario``, its grant appended over HTTP."""
    from chainledger.encoding import b64encode
    from chainledger.grants import grant_id, secret_hash
    from wallet.httpsig import RequestSigner
    from wallet.presentation import Presentation

    key = load_private_key(demo.pem(holder))
    auth = RequestSigner(holder["id"], key)
    assets = httpx.get(f"{demo.url}/v1/holders/{holder['id']}/assets", auth=auth, timeout=30)
    assets.raise_for_status()
    card = next(
        a for a in assets.json() if a["cls"] == "resident_id_card" and a["status"] == "active"
    )
    sc = next(
        s for s in httpx.get(demo.url + "/v1/catalog/scenarios").json() if s["scenario"] == scenario
    )
    fields = sc["reads"]["resident_id_card"]
    secret = os.urandom(32)
    now = datetime.now(UTC)
    stmt = make_statement(
        "grant.create", holder["id"], now, os.urandom,
        **create_fields(
            scenario=scenario, purpose=sc["purpose"], scope={"resident_id_card": fields},
            grantee=None, not_before=format_ts(now - timedelta(minutes=1)),
            expires=format_ts(now + timedelta(minutes=10)), max_uses=1, assets=[card["id"]],
            secret_hash=secret_hash(secret),
        ),
    )  # fmt: skip
    done = httpx.post(demo.url + "/v1/statements", json=sign_statement(stmt, key).to_wire())
    done.raise_for_status()
    gid = grant_id(holder["id"], stmt["nonce"])
    return Presentation(gid, card["id"], tuple(fields), sc["purpose"], b64encode(secret)).token()
