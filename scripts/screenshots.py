"""Screenshots of the web pages for the README: docs/screenshots/<page>-<lang>-<screen>.png.

Serves a fresh ledger with the small demo data set and photographs each page in Chinese
and English on a phone (390x844) and a desktop (1280x800) screen with Debian's Chromium,
each in a state worth seeing: the dashboard with a fresh receipt verified in its
checker; the citizen wallet (a demo holder's key imported) with a one-time QR code
shown; the counter terminal after a verified read of a presented code; the auditor
console with its charts. Run through scripts/screenshots.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from api_support import serve  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from web_support import (  # noqa: E402
    TIMEOUT,
    Demo,
    demo_ledger,
    fresh_receipt,
    launch_chromium,
    presentation_token,
)

OUT = ROOT / "docs" / "screenshots"
SCREENS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


def import_key(page: Page, demo: Demo, role: str, **attrs: str) -> None:
    page.fill("#key-pem", demo.pem(demo.party(role, **attrs)).read_text())
    page.click("#key-import")
    expect(page.locator("#app")).to_be_visible(timeout=TIMEOUT)


def public(page: Page, demo: Demo, receipt: str) -> None:
    expect(page.locator("#checkpoint")).to_have_attribute("data-state", "ok")
    page.locator("#receipt").fill(receipt)
    page.locator("#verify-receipt").click()
    expect(page.locator("#proof-result")).to_have_attribute("data-state", "ok")
    page.locator("#receipt").evaluate("el => { el.scrollTop = 0; el.blur(); }")


def citizen(page: Page, demo: Demo, receipt: str) -> None:
    import_key(page, demo, "holder", subject="person")
    ok = re.compile(r"\bok\b")
    expect(page.locator("#hist-msg")).to_have_class(ok, timeout=TIMEOUT)
    card = page.locator("#qr-asset option", has_text=re.compile("Resident|居民")).first
    page.select_option("#qr-asset", card.get_attribute("value"))
    page.select_option("#qr-scenario", "bus_ticket")
    page.click("#qr-make")
    expect(page.locator("#qr-img")).to_have_js_property("complete", True, timeout=TIMEOUT)
    expect(page.locator("#hist-msg")).to_have_class(ok, timeout=TIMEOUT)


def counter(page: Page, demo: Demo, receipt: str) -> None:
    import_key(page, demo, "counter", counter_type="bus_station")
    page.fill("#token", presentation_token(demo, demo.party("holder", subject="person")))
    page.click("#read")
    expect(page.locator("#result")).to_be_visible(timeout=TIMEOUT)


def auditor(page: Page, demo: Demo, receipt: str) -> None:
    import_key(page, demo, "auditor")
    expect(page.locator("#ledger-msg")).to_have_class(re.compile(r"\bok\b"), timeout=TIMEOUT)
    page.click("#charts")
    expect(page.locator("#chart-box svg")).to_have_count(3, timeout=TIMEOUT)


def home(page: Page, demo: Demo, receipt: str) -> None:
    pass


PAGES = {"home": home, "public": public, "citizen": citizen, "counter": counter,
         "auditor": auditor}  # fmt: skip


def main() -> None:
    only = set(sys.argv[1:]) or set(PAGES)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = demo_ledger(Path(tmp))
        keys = db.with_name(db.name + ".demo")
        parties = json.loads((keys / "parties.json").read_text(encoding="utf-8"))
        with serve(db) as server, sync_playwright() as p:
            demo = Demo(server.url, db, keys, parties, Path(tmp))
            receipt = json.dumps(fresh_receipt(server.url, db), ensure_ascii=False, indent=1)
            browser = launch_chromium(p)
            for name, prepare in PAGES.items():
                if name not in only:
                    continue
                for lang in ("zh", "en"):
                    for screen, options in SCREENS.items():
                        context = browser.new_context(**options)
                        page = context.new_page()
                        page.goto(
                            f"{server.url}{'/' if name == 'home' else '/' + name}?lang={lang}"
                        )
                        prepare(page, demo, receipt)
                        page.evaluate("window.scrollTo(0, 0)")
                        shot = OUT / f"{name}-{lang}-{screen}.png"
                        page.screenshot(path=str(shot), full_page=True)
                        print(shot.relative_to(ROOT))
                        context.close()
            browser.close()


if __name__ == "__main__":
    main()
