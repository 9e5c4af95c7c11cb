"""The party pages one by one: the citizen's erasure, the counter's printable receipt
and cross-verification sheet, the auditor's anomalies, charts and report download; and
the accessibility basics of all three (both languages, labels, contrast, keyboard use,
a phone screen) with no console errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from web_support import (
    CONTRAST_JS,
    FOCUSABLE,
    TIMEOUT,
    Demo,
    Person,
    presentation_token,
)

from api.web.i18n import messages

PAGES = {"citizen": ("holder", {"subject": "person"}), "counter": ("counter", {}),
         "auditor": ("auditor", {})}  # fmt: skip


def open_as(browser: Browser, demo: Demo, page: str, lang: str = "en", **context: object) -> Person:
    role, attrs = PAGES[page]
    if page == "counter":
        attrs = {"counter_type": "bus_station"}
    person = Person(browser, demo.url, f"/{page}?lang={lang}", **context)
    person.import_key(demo.pem(demo.party(role, **attrs)))
    return person


def settled(page: Page, name: str) -> None:
    """Wait until the page has loaded and verified what it shows first."""
    if name == "citizen":
        expect(page.locator("#hist-msg")).to_have_class(re.compile(r"\bok\b"), timeout=TIMEOUT)
        expect(page.locator("#assets-msg")).to_have_class(re.compile(r"\bok\b"))
    elif name == "auditor":
        expect(page.locator("#ledger-msg")).to_have_class(re.compile(r"\bok\b"), timeout=TIMEOUT)


# --- what each page does --------------------------------------------------------------------


def test_citizen_erases_an_asset_after_confirming(browser: Browser, demo: Demo) -> None:
    holders = [p for p in demo.parties if p["role"] == "holder"]
    person = Person(browser, demo.url, "/citizen?lang=en")
    person.import_key(demo.pem(holders[-1]))  # not the holder the other tests use
    page = person.page
    settled(page, "citizen")
    row = page.locator("#assets tbody tr", has=page.locator("button.danger")).first
    asset = row.get_attribute("data-asset")
    page.once("dialog", lambda d: d.dismiss())  # "no": nothing happens
    row.locator("button.danger").click()
    expect(page.locator(f'#assets tr[data-asset="{asset}"] button.danger')).to_be_visible()
    page.once("dialog", lambda d: d.accept())
    page.locator(f'#assets tr[data-asset="{asset}"] button.danger').click()
    expect(page.locator("#assets-msg")).to_contain_text(f"{asset}", timeout=TIMEOUT)
    erased = page.locator(f'#assets tr[data-asset="{asset}"]')
    expect(erased).to_contain_text(messages("citizen", "en")["citizen.status.erased"])
    expect(erased.locator("button")).to_have_count(0)
    expect(erased.locator("td.proof")).to_have_text("verified")
    person.check_clean()


def test_counter_prints_a_receipt_and_signs_the_cross_verification_sheet(
    browser: Browser, demo: Demo
) -> None:
    holder = demo.party("holder", subject="person")
    person = open_as(browser, demo, "counter")
    page = person.page
    for _ in range(2):
        page.fill("#token", presentation_token(demo, holder))
        page.click("#read")
        expect(page.locator("#read-msg")).to_have_class(re.compile(r"\bok\b"), timeout=TIMEOUT)
    expect(page.locator("#sheet-items li")).to_have_count(2)
    # The printed page is the result card only: no key panel, no header, no controls.
    page.emulate_media(media="print")
    for hidden in ("#key", "header.site", "#read", "#sheet-sign", "#print"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#r-fields")).to_be_visible()
    expect(page.locator("#r-receipt")).to_contain_text("seq")
    page.emulate_media(media="screen")
    page.fill("#application", "hygiene_licence_2026_001")
    page.click("#sheet-sign")
    expect(page.locator("#sheet-msg")).to_contain_text("2", timeout=TIMEOUT)
    expect(page.locator("#sheet-msg")).to_have_class(re.compile(r"\bok\b"))
    expect(page.locator("#sheet-items li")).to_have_count(0)
    # A bad token is refused on the page, and nothing is sent for it.
    sent = len(person.requests)
    page.fill("#token", "CLP1.not-a-token")
    page.click("#read")
    expect(page.locator("#read-msg")).to_contain_text(
        messages("counter", "en")["counter.token.bad"]
    )
    assert not [r for r in person.requests[sent:] if r.url.endswith("/v1/reads")]
    person.check_clean()


def test_auditor_lists_anomalies_draws_charts_and_downloads_reports(
    browser: Browser, demo: Demo
) -> None:
    person = open_as(browser, demo, "auditor")
    page = person.page
    settled(page, "auditor")
    expect(page.locator("#l-size")).to_have_text(re.compile(r"^\d+$"))
    page.click("#anomalies")
    expect(page.locator("#trace-msg")).to_have_class(re.compile(r"\bok\b"), timeout=TIMEOUT)
    assert page.locator("#anomaly-list li").count() > 0  # the demo has off-hours reads
    page.click("#charts")
    expect(page.locator("#chart-box svg")).to_have_count(3, timeout=TIMEOUT)
    assert page.locator("#chart-box svg rect").count() > 3
    for fmt, marker in (("html", "<html"), ("csv", ","), ("json", "{")):
        page.select_option("#r-format", fmt)
        with page.expect_download(timeout=TIMEOUT) as info:
            page.click("#download")
        download = info.value
        assert download.suggested_filename.endswith("." + fmt)
        path = download.path()
        assert path is not None
        assert marker in path.read_text(encoding="utf-8")[:200]
    # A search that finds nothing says so; a malformed filter is refused by the server.
    page.fill("#f-holder", "p_aaaaaaaaaaaaaaaa")
    page.click("#search")
    expect(page.locator("#trace-msg")).to_have_class(re.compile(r"\bok\b"), timeout=TIMEOUT)
    expect(page.locator("#rows tbody tr")).to_have_count(0)
    page.fill("#f-holder", "not a party")
    page.click("#search")
    expect(page.locator("#trace-msg")).to_have_class(re.compile(r"\bbad\b"), timeout=TIMEOUT)
    person.check_clean({(422, "/v1/audit")})


# --- accessibility basics -------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_every_text_is_translated_labelled_and_readable(
    browser: Browser, demo: Demo, name: str, lang: str
) -> None:
    person = open_as(browser, demo, name, lang)
    page = person.page
    settled(page, name)
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
    text = page.locator("body").inner_text()
    keys = {k for k in messages(name, lang) if "." in k}  # "yes", "no"... are words
    assert not [k for k in keys if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w.])", text)]
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input, textarea, select")]
            .filter((el) => !el.labels.length && !el.getAttribute("aria-label"))
            .map((el) => el.id)"""
    )
    assert unlabelled == []
    nameless = page.evaluate(
        """() => [...document.querySelectorAll("button, a")]
            .filter((el) => !el.textContent.trim() && !el.getAttribute("aria-label"))
            .map((el) => el.outerHTML)"""
    )
    assert nameless == []
    for details in page.locator("details").all():
        if details.is_visible() and details.get_attribute("open") is None:
            details.locator("summary").click()
    measured = page.evaluate(CONTRAST_JS)
    assert len(measured) > 15
    low = [m for m in measured if m["ratio"] < 4.5]
    assert not low, low
    person.check_clean()


def test_the_counter_works_from_the_keyboard_alone(browser: Browser, demo: Demo) -> None:
    holder = demo.party("holder", subject="person")
    token = presentation_token(demo, holder)
    person = open_as(browser, demo, "counter")
    page = person.page
    expected = page.evaluate(
        f"""() => [...document.querySelectorAll("{FOCUSABLE}")]
            .filter((el) => el.checkVisibility()).map((el) => el.id || el.outerHTML)"""
    )
    page.locator("a.skip").focus()
    reached = []
    for _ in range(len(expected) - 1):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                """() => { const el = document.activeElement; const s = getComputedStyle(el);
                  return [el.id || el.outerHTML, s.outlineStyle !== "none"]; }"""
            )
        )
    assert [r for r, _ in reached] == expected[1:]  # DOM order
    assert all(visible for _, visible in reached), [r for r, v in reached if not v]
    # Paste the token, choose the service, press Enter on "Read": all by keyboard.
    page.locator("#token").focus()
    page.keyboard.insert_text(token)
    page.locator("#scenario").focus()
    page.keyboard.press("Home")
    page.locator("#read").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_be_visible(timeout=TIMEOUT)
    person.check_clean()


@pytest.mark.parametrize("name", list(PAGES))
def test_party_pages_fit_a_phone_screen(browser: Browser, demo: Demo, name: str) -> None:
    person = open_as(
        browser, demo, name, "zh",
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
    )  # fmt: skip
    page = person.page
    settled(page, name)
    if name == "counter":  # with a verified read on screen: long hashes, a table
        page.fill("#token", presentation_token(demo, demo.party("holder", subject="person")))
        page.click("#read")
        expect(page.locator("#result")).to_be_visible(timeout=TIMEOUT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for button in page.locator("main button").all():
        if button.is_visible():
            box = button.bounding_box()
            assert box is not None
            assert box["height"] >= 44, button.inner_text()  # WCAG 2.5.8 target size
    person.check_clean()


# Headless Chromium on Linux has neither a camera nor BarcodeDetector: give the page a
# camera (a canvas stream) and a detector that "sees" the code only once the stream plays,
# so the page's own wiring (permission, video, detection loop, stop, token, service) runs.
FAKE_CAMERA = """
(() => {
  const token = %s;
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.cameraAsked = constraints;
    const canvas = document.createElement("canvas");
    canvas.width = 64; canvas.height = 64;
    canvas.getContext("2d").fillRect(0, 0, 64, 64);
    return canvas.captureStream(10);
  };
  window.BarcodeDetector = class {
    constructor(options) { window.detectorFormats = options.formats; }
    async detect(source) {
      const playing = source instanceof HTMLVideoElement && source.readyState >= 2;
      return playing ? [{ rawValue: token }] : [];
    }
  };
})();
"""


def test_counter_scans_with_the_camera_where_the_browser_can(browser: Browser, demo: Demo) -> None:
    token = presentation_token(demo, demo.party("holder", subject="person"))
    person = Person(browser, demo.url, "/counter?lang=en")
    person.context.add_init_script(FAKE_CAMERA % json.dumps(token))
    person.page.reload()
    person.import_key(demo.pem(demo.party("counter", counter_type="bus_station")))
    page = person.page
    expect(page.locator("#camera-note")).to_be_empty()  # the detector is there
    page.click("#camera")
    expect(page.locator("#token")).to_have_value(token, timeout=TIMEOUT)
    assert page.evaluate("window.detectorFormats") == ["qr_code"]
    assert page.evaluate("window.cameraAsked") == {"video": {"facingMode": "environment"}}
    expect(page.locator("#video")).to_be_hidden()  # the camera is stopped once read
    assert page.evaluate("document.getElementById('video').srcObject.getTracks()"
                         ".every((t) => t.readyState === 'ended')")  # fmt: skip
    expect(page.locator("#scenario")).to_have_value("bus_ticket")
    page.click("#read")
    expect(page.locator("#result")).to_be_visible(timeout=TIMEOUT)
    person.check_clean()


# --- a lying server -------------------------------------------------------------------------


def tamper(page: Page, pattern: str, change: Callable[[Any], None]) -> list[str]:
    """Rewrite the JSON answers to requests matching ``pattern`` with ``change``."""
    hits: list[str] = []

    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        change(body)
        hits.append(route.request.url)
        route.fulfill(response=response, json=body)

    page.route(pattern, handle)
    return hits


def test_the_counter_names_a_forged_value_as_an_attack_and_shows_none(
    browser: Browser, demo: Demo
) -> None:
    person = open_as(browser, demo, "counter")
    page = person.page

    def forge(body: Any) -> None:
        salt, _ = body["disclosures"]["name"]
        body["disclosures"]["name"] = [salt, "Someone Else"]

    hits = tamper(page, "**/v1/reads", forge)
    page.fill("#token", presentation_token(demo, demo.party("holder", subject="person")))
    page.click("#read")
    expect(page.locator("#read-msg")).to_contain_text("ATTACK", timeout=TIMEOUT)
    expect(page.locator("#read-msg")).to_contain_text("name")
    assert hits
    expect(page.locator("#result")).to_be_hidden()
    assert "Someone Else" not in page.locator("body").inner_text()
    person.check_clean()


def test_the_citizen_flags_an_asset_whose_issue_entry_was_changed(
    browser: Browser, demo: Demo
) -> None:
    person = Person(browser, demo.url, "/citizen?lang=en")

    def change(body: Any) -> None:
        body["entries"] = [e.replace('"holder":"p_', '"holder":"p_x', 1) for e in body["entries"]]

    hits = tamper(person.page, "**/v1/entries?**", change)
    person.import_key(demo.pem(demo.party("holder", subject="person")))
    page = person.page
    settled(page, "citizen")
    assert hits
    proofs = page.locator("#assets td.proof").all_inner_texts()
    assert proofs
    assert all("ATTACK" in p for p in proofs), proofs
    person.check_clean()
