"""Screenshots of the web pages for the README: docs/screenshots/<page>-<lang>-<screen>.png.

Serves a fresh ledger with the small demo data set, appends one statement to get a real
receipt, and photographs each page in Chinese and English on a phone (390x844) and a
desktop (1280x800) screen with Debian's Chromium; the dashboard is shown with that
receipt verified in its checker. Run through scripts/screenshots.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from api_support import serve  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from web_support import demo_ledger, fresh_receipt, launch_chromium  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SCREENS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = demo_ledger(Path(tmp))
        with serve(db) as server, sync_playwright() as p:
            receipt = json.dumps(fresh_receipt(server.url, db), ensure_ascii=False, indent=1)
            browser = launch_chromium(p)
            for lang in ("zh", "en"):
                for screen, options in SCREENS.items():
                    context = browser.new_context(**options)
                    page = context.new_page()
                    page.goto(f"{server.url}/public?lang={lang}")
                    expect(page.locator("#checkpoint")).to_have_attribute("data-state", "ok")
                    page.locator("#receipt").fill(receipt)
                    page.locator("#verify-receipt").click()
                    expect(page.locator("#proof-result")).to_have_attribute("data-state", "ok")
                    page.locator("#receipt").evaluate("el => { el.scrollTop = 0; el.blur(); }")
                    page.evaluate("window.scrollTo(0, 0)")
                    path = OUT / f"public-{lang}-{screen}.png"
                    page.screenshot(path=str(path), full_page=True)
                    print(path.relative_to(ROOT))
                    context.close()
            browser.close()


if __name__ == "__main__":
    main()
