"""The pages over plain HTTP: language negotiation, security headers, the OpenAPI
document, and the message catalogs (every page in both languages, nothing missing)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from web_support import Site

from api.web.i18n import CATALOGS, LANGS, from_accept_language, messages
from api.web.registry import pages

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "web" / "templates"
HTML_LANG = re.compile(r'<html lang="([^"]+)">')


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("", None), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-GB,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.7", "zh"), ("zh;q=0, en", "en"), ("de", None),
        ("zh-Hant-TW", "zh"), ("en;q=abc, zh;q=0.1", "zh"), (";;,,q=", None),
        ("EN-us", "en"), ("zh;q=2", None), ("*", None),
    ],
)  # fmt: skip
def test_accept_language(header: str, lang: str | None) -> None:
    assert from_accept_language(header) == lang


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "lang"),
    [
        ("", None, None, "zh-CN"), ("?lang=en", None, None, "en"), ("?lang=xx", None, "en", "en"),
        ("", "en", "zh", "en"), ("?lang=zh", "en", None, "zh-CN"), ("", "xx", "en-US", "en"),
        ("?lang=%00%ff", "\u00e9", "\u00e9;q=\u00e9", "zh-CN"),
    ],
)  # fmt: skip
def test_language_is_query_then_cookie_then_header_then_chinese(
    site: Site, query: str, cookie: str | None, accept: str | None, lang: str
) -> None:
    headers: dict[str, bytes] = {"accept-language": accept.encode()} if accept else {}
    if cookie:
        headers["cookie"] = b"lang=" + cookie.encode()
    for path in ("/", "/public"):
        r = httpx.get(site.url + path + query, headers=headers)
        assert r.status_code == 200, r.text
        found = HTML_LANG.search(r.text)
        assert found is not None
        assert found.group(1) == lang
        chosen = "zh" if lang == "zh-CN" else "en"
        if query in ("?lang=en", "?lang=zh"):
            assert r.cookies.get("lang") == chosen
        else:
            assert "set-cookie" not in r.headers


def test_pages_have_a_strict_csp_and_the_api_keeps_its_headers(site: Site) -> None:
    for path in [p.path for p in pages()]:
        r = httpx.get(site.url + path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "default-src 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-type"].startswith("text/html")
        # No inline script: only external modules and the JSON data block.
        for tag in re.findall(r"<script[^>]*>", r.text):
            assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert "content-security-policy" not in httpx.get(site.url + "/v1/stats").headers
    script = httpx.get(site.url + "/static/js/pages/public.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


def test_pages_are_not_in_the_openapi_document(site: Site) -> None:
    paths = httpx.get(site.url + "/openapi.json").json()["paths"]
    for page in pages():
        assert page.path not in paths
    assert not any(p.startswith("/static") for p in paths)


def test_no_personal_data_on_the_public_page(site: Site) -> None:
    parties = json.loads((site.db.with_name(site.db.name + ".demo") / "parties.json").read_text())
    values = {str(v) for p in parties for v in p.get("wallet", {}).values() if len(str(v)) >= 2} | {
        p["id"] for p in parties if p["role"] == "holder"
    }
    assert values
    for lang in LANGS:
        html = httpx.get(site.url + f"/public?lang={lang}").text
        assert not [v for v in values if v in html]


def test_every_page_has_both_catalogs_with_the_same_keys() -> None:
    names = {p.name for p in pages()}
    files = {f.name for f in CATALOGS.glob("*.json")}
    assert files == {f"{n}.{lang}.json" for n in names | {"common"} for lang in LANGS}
    for name in names | {"common"}:
        keys = [set(json.loads((CATALOGS / f"{name}.{lang}.json").read_text())) for lang in LANGS]
        assert keys[0] == keys[1], name
    for name in names:
        for lang in LANGS:
            assert {"title", "nav"} <= set(messages(name, lang)), (name, lang)


def test_every_message_a_template_or_script_uses_exists() -> None:
    static = TEMPLATES.parent / "static" / "js" / "pages"
    for page in pages():
        used = set(re.findall(r"t\('([a-z_.]+)'\)", (TEMPLATES / f"{page.name}.html").read_text()))
        used |= set(re.findall(r"t\('([a-z_.]+)'\)", (TEMPLATES / "base.html").read_text()))
        script = static / f"{page.name}.js"
        if script.exists():
            used |= set(re.findall(r'\bt\("([a-z_.]+)"', script.read_text()))
        for lang in LANGS:
            assert used <= set(messages(page.name, lang)), (page.name, lang)
    # every check receipt.js can name has its message
    receipt_js = (static.parent / "receipt.js").read_text()
    checks = set(re.findall(r'ReceiptError\("([a-z_]+)"', receipt_js)) | set(
        re.findall(r'guard(?:Async)?\("([a-z_]+)"', receipt_js)
    )
    checks |= {"checkpoint_signature", "checkpoint_body", "checkpoint_origin"}
    assert len(checks) >= 12
    for lang in LANGS:
        missing = {c for c in checks if f"check.{c}" not in messages("public", lang)}
        assert missing <= {"suite"}, missing
