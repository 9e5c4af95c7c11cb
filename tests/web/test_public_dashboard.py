"""The public dashboard in a real browser: figures, languages, the checkpoint verified in
the page, the receipt checker (a real receipt and four corruptions of it), phone layout
and accessibility basics (labels, keyboard, focus, contrast, language)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page, expect
from web_support import CONTRAST_JS, FOCUSABLE, Site, Watched, fresh_receipt

from api.web.i18n import messages
from chainledger.checkpoint import Cosigner, add_signatures, parse_checkpoint_body, parse_note
from chainledger.errors import ChainledgerError
from chainledger.note import parse_verifier_key
from chainledger.receipt import Receipt

FIGURES = ("classes", "assets", "authorized_assets", "reads", "refusals")
HTML_LANG = {"zh": "zh-CN", "en": "en"}


def open_dashboard(page: Page, site: Site, query: str = "") -> None:
    page.goto(site.url + "/public" + query)
    expect(page.locator("#checkpoint")).not_to_have_attribute("data-state", "pending")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_dashboard_shows_exactly_the_api_figures(web: Watched, site: Site, lang: str) -> None:
    stats = httpx.get(site.url + "/v1/stats").json()
    open_dashboard(web.page, site, f"?lang={lang}")
    page = web.page
    assert page.locator("html").get_attribute("lang") == HTML_LANG[lang]
    text = messages("public", lang)
    expect(page.locator("h1")).to_have_text(text["title"])
    for member in FIGURES:
        tile = page.locator(f'[data-stat="{member}"]')
        expect(tile.locator("dt")).to_have_text(
            text[f"stat.{'authorized' if member == 'authorized_assets' else member}"]
        )
        value = tile.locator("dd[data-value]")
        assert int(value.get_attribute("data-value") or "") == stats[member], member
        assert int(re.sub(r"[^0-9]", "", value.inner_text())) == stats[member], member
    split = page.locator('[data-stat="classes"] dd.note').inner_text()
    assert str(stats["personal_classes"]) in split
    assert str(stats["enterprise_classes"]) in split


def test_language_switch_persists_in_a_cookie(web: Watched, site: Site) -> None:
    page = web.page
    open_dashboard(page, site)  # Playwright's browser asks for en-US
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#checkpoint")).to_have_attribute("data-state", "ok")
    for path in ("/public", "/", "/public?lang=xx"):  # the cookie; an unknown lang is ignored
        response = page.goto(site.url + path)
        assert response is not None
        assert response.status == 200
        assert page.locator("html").get_attribute("lang") == "zh-CN", path
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["lang"]["value"] == "zh"
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_checkpoint_is_verified_in_the_page(web: Watched, site: Site) -> None:
    open_dashboard(web.page, site, "?lang=en")
    page = web.page
    expect(page.locator("#checkpoint")).to_have_attribute("data-state", "ok")
    expect(page.locator("#cp-status")).to_have_text(messages("public", "en")["cp.verified"])
    shown = page.locator("#cp-text").text_content() or ""
    vkey = httpx.get(site.url + "/v1/vkey").text.strip()
    assert page.locator("#vkey").inner_text() == vkey
    cp = parse_checkpoint_body(parse_note(shown).text)
    assert page.locator("#cp-size").get_attribute("data-value") == str(cp.size)
    assert page.locator("#cp-root").inner_text() == base64.b64encode(cp.root).decode()
    assert page.locator("#cp-origin").inner_text() == cp.origin
    expect(page.locator("#cp-witnesses li")).to_have_text(
        [messages("public", "en")["cp.witnesses.none"]]
    )


def test_witness_cosignatures_are_listed_and_a_forged_signature_is_refused(
    web: Watched, site: Site
) -> None:
    page = web.page
    note = httpx.get(site.url + "/v1/checkpoint").text
    witness = Cosigner("witness.example", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    body = parse_note(note).text
    cosigned = add_signatures(note, [witness.cosign(body, 1_790_000_000)])
    page.route("**/v1/checkpoint", lambda route: route.fulfill(body=cosigned))
    open_dashboard(page, site, "?lang=en")
    expect(page.locator("#checkpoint")).to_have_attribute("data-state", "ok")
    line = page.locator("#cp-witnesses li")
    expect(line).to_have_count(1)
    expect(line).to_contain_text(f"witness.example (key ID {witness.key_id.hex()})")

    sig_line = note.splitlines()[-1]
    raw = bytearray(base64.b64decode(sig_line.split(" ")[-1]))
    raw[-1] ^= 1
    forged = note.replace(sig_line.split(" ")[-1], base64.b64encode(bytes(raw)).decode())
    page.unroute("**/v1/checkpoint")
    page.route("**/v1/checkpoint", lambda route: route.fulfill(body=forged))
    open_dashboard(page, site, "?lang=en")
    expect(page.locator("#checkpoint")).to_have_attribute("data-state", "bad")
    expect(page.locator("#cp-status")).to_contain_text("does not verify")


def _flip_inclusion_hash(r: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(r["inclusion"]["hashes"][0]))
    raw[0] ^= 0x80
    r["inclusion"]["hashes"][0] = base64.b64encode(bytes(raw)).decode()


def _wrong_leaf_index(r: dict[str, Any]) -> None:
    r["inclusion"]["leaf_index"] -= 1


def _entry_changed(r: dict[str, Any]) -> None:
    r["entry"] = r["entry"].replace('"kind":"grant.create"', '"kind":"grant.revoke"')


def _checkpoint_signature_broken(r: dict[str, Any]) -> None:
    lines = r["checkpoint"].split("\n")
    sig = lines[-2].split(" ")
    raw = bytearray(base64.b64decode(sig[-1]))
    raw[10] ^= 1
    sig[-1] = base64.b64encode(bytes(raw)).decode()
    lines[-2] = " ".join(sig)
    r["checkpoint"] = "\n".join(lines)


CORRUPTIONS = {
    "inclusion": _flip_inclusion_hash,
    "index": _wrong_leaf_index,
    "leaf_hash": _entry_changed,
    "checkpoint_signature": _checkpoint_signature_broken,
}


def check_in_page(page: Page, receipt_text: str) -> tuple[str, str | None, str]:
    page.get_by_label(re.compile("Receipt JSON|回执 JSON")).fill(receipt_text)
    page.locator("#verify-receipt").click()
    result = page.locator("#proof-result")
    expect(result).not_to_have_attribute("data-state", "idle")
    return (
        result.get_attribute("data-state") or "",
        result.get_attribute("data-check"),
        result.inner_text(),
    )


def test_receipt_checker_accepts_a_real_receipt_and_names_each_failed_check(
    web: Watched, site: Site
) -> None:
    receipt = fresh_receipt(site.url, site.db)
    vkey = parse_verifier_key(httpx.get(site.url + "/v1/vkey").text.strip())
    Receipt.from_json(receipt).verify([vkey])  # the Python verifier agrees it is good
    page = web.page
    open_dashboard(page, site, "?lang=en")
    text = messages("public", "en")

    state, check, shown = check_in_page(page, json.dumps(receipt, ensure_ascii=False, indent=2))
    assert (state, check) == ("ok", None), shown
    assert f"entry {receipt['seq']} (grant.create" in shown

    for name, corrupt in CORRUPTIONS.items():
        bad = json.loads(json.dumps(receipt))
        corrupt(bad)
        with pytest.raises(ChainledgerError):
            Receipt.from_json(bad).verify([vkey])  # and so does Python
        state, check, shown = check_in_page(page, json.dumps(bad))
        assert (state, check) == ("bad", name), shown
        assert text[f"check.{name}"] in shown

    page.locator("#clear-receipt").click()
    expect(page.locator("#proof-result")).to_have_attribute("data-state", "idle")
    state, check, shown = check_in_page(page, "   ")
    assert (state, shown) == ("bad", text["proof.empty"])
    state, check, _ = check_in_page(page, '{"seq": 1, "seq": 1}')
    assert (state, check) == ("bad", "json")
    # The page asked nothing of the server to check receipts: only its own files and the
    # checkpoint were fetched.
    paths = {re.sub(r"^https?://[^/]+", "", r.url) for r in web.requests}
    assert all(p.startswith(("/public", "/static/", "/v1/checkpoint")) for p in paths), paths


def test_receipt_checker_in_chinese(web: Watched, site: Site) -> None:
    receipt = fresh_receipt(site.url, site.db)
    page = web.page
    open_dashboard(page, site, "?lang=zh")
    state, _, shown = check_in_page(page, json.dumps(receipt))
    assert state == "ok"
    assert f"第 {receipt['seq']} 条记录" in shown
    _entry_changed(receipt)
    state, check, shown = check_in_page(page, json.dumps(receipt))
    assert (state, check) == ("bad", "leaf_hash")
    assert messages("public", "zh")["check.leaf_hash"] in shown


def test_phone_layout_has_no_horizontal_scrolling(phone: Watched, site: Site) -> None:
    for lang in ("zh", "en"):
        open_dashboard(phone.page, site, f"?lang={lang}")
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (lang, width)
        for member in FIGURES:
            expect(phone.page.locator(f'[data-stat="{member}"]')).to_be_visible()


# --- accessibility basics ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/public?lang=en", "/public?lang=zh", "/?lang=zh"])
def test_text_contrast_is_at_least_4_5(web: Watched, site: Site, path: str) -> None:
    web.page.goto(site.url + path)
    if path.startswith("/public"):
        expect(web.page.locator("#checkpoint")).to_have_attribute("data-state", "ok")
        check_in_page(web.page, "{}")  # the error colours too
        web.page.locator("details summary").click()
    measured = web.page.evaluate(CONTRAST_JS)
    assert len(measured) > 10
    low = [m for m in measured if m["ratio"] < 4.5]
    assert not low, low


def test_every_control_has_a_label_and_the_language_is_declared(web: Watched, site: Site) -> None:
    open_dashboard(web.page, site, "?lang=zh")
    unlabelled = web.page.evaluate(
        """() => [...document.querySelectorAll("input, textarea, select")]
            .filter((el) => !el.labels.length && !el.getAttribute("aria-label"))
            .map((el) => el.id)"""
    )
    assert unlabelled == []
    nameless = web.page.evaluate(
        """() => [...document.querySelectorAll("button, a")]
            .filter((el) => !el.textContent.trim() && !el.getAttribute("aria-label"))
            .map((el) => el.outerHTML)"""
    )
    assert nameless == []
    assert web.page.locator("html").get_attribute("lang") == "zh-CN"
    for link in web.page.locator("nav.lang a").all():
        assert link.get_attribute("lang") in ("zh", "en")


def test_keyboard_reaches_everything_in_order_and_activates_it(web: Watched, site: Site) -> None:
    page = web.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    open_dashboard(page, site, "?lang=en")
    expected = page.evaluate(
        f"""() => [...document.querySelectorAll("{FOCUSABLE}")]
            .filter((el) => el.getClientRects().length).map((el) => el.outerHTML)"""
    )
    reached = []
    for _ in range(len(expected)):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                """() => { const el = document.activeElement;
                  const s = getComputedStyle(el);
                  return [el.outerHTML, s.outlineStyle !== "none" && s.outlineWidth !== "0px"]; }"""
            )
        )
    assert [html for html, _ in reached] == expected  # DOM order: header, nav, main, footer
    assert all(visible for _, visible in reached), [h for h, v in reached if not v]

    # Enter follows the skip link; Space presses a button; Enter submits the form.
    page.goto(site.url + "/public?lang=en")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.locator("#copy-vkey").focus()
    page.keyboard.press("Space")
    expect(page.locator("#copy-status")).to_have_text(messages("public", "en")["vkey.copied"])
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#vkey").inner_text()
    page.locator("#receipt").focus()
    page.keyboard.type(json.dumps(fresh_receipt(site.url, site.db)))
    page.locator("#verify-receipt").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#proof-result")).to_have_attribute("data-state", "ok")
