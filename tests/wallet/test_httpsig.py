"""Client-side request signing (RFC 9421 profile of chainledger), without a server."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger.crypto import party_id, public_key_bytes
from wallet.httpsig import (
    COVERED_COMPONENTS,
    DEFAULT_LIFETIME,
    RequestSigner,
    make_nonce,
    sign_request_headers,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PARTY = party_id(public_key_bytes(KEY))
NOW = datetime(2026, 11, 26, 13, 45, 0, 500_000, tzinfo=UTC)
CREATED = 1795700700  # NOW, truncated to the second


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _signature_bytes(value: str) -> bytes:
    label, _, rest = value.partition("=")
    assert label == "chainledger"
    assert rest.startswith(":")
    assert rest.endswith(":")
    return base64.b64decode(rest[1:-1])


def test_created_constant_matches_now() -> None:
    assert int(NOW.timestamp()) == CREATED


def test_get_with_query_signs_method_path_query_and_the_parameters() -> None:
    h = sign_request_headers(
        "GET", "https://ledger.example/v1/assets/a_1?page=2&x=y", {}, b"", PARTY, KEY,
        now=NOW, nonce="bm9uY2U", lifetime=timedelta(seconds=60),
    )  # fmt: skip
    assert set(h) == {"Signature-Input", "Signature"}
    params = (
        f'("@method" "@path" "@query");created={CREATED};keyid="{PARTY}";alg="ed25519";'
        f'expires={CREATED + 60};nonce="bm9uY2U";tag="chainledger"'
    )
    assert h["Signature-Input"] == f"chainledger={params}"
    # An independent check of the library's signature base (RFC 9421 section 2.5).
    base = (
        '"@method": GET\n"@path": /v1/assets/a_1\n"@query": ?page=2&x=y\n'
        f'"@signature-params": {params}'
    )
    KEY.public_key().verify(_signature_bytes(h["Signature"]), base.encode())


def test_post_with_body_adds_and_covers_a_sha256_content_digest() -> None:
    body = b'{"asset":"a_1"}'
    h = sign_request_headers(
        "POST", "https://ledger.example/v1/reads", {"Content-Type": "application/json"}, body,
        PARTY, KEY, now=NOW, nonce="n", lifetime=timedelta(seconds=30),
    )  # fmt: skip
    digest = f"sha-256=:{_b64(hashlib.sha256(body).digest())}:"
    assert h["Content-Digest"] == digest
    params = (
        f'("@method" "@path" "@query" "content-digest");created={CREATED};keyid="{PARTY}";'
        f'alg="ed25519";expires={CREATED + 30};nonce="n";tag="chainledger"'
    )
    assert h["Signature-Input"] == f"chainledger={params}"
    base = (
        f'"@method": POST\n"@path": /v1/reads\n"@query": ?\n"content-digest": {digest}\n'
        f'"@signature-params": {params}'
    )
    KEY.public_key().verify(_signature_bytes(h["Signature"]), base.encode())


def test_no_query_and_empty_query_both_sign_as_a_lone_question_mark() -> None:
    a = sign_request_headers("GET", "http://h/p", {}, b"", PARTY, KEY, now=NOW, nonce="n")
    b = sign_request_headers("GET", "http://h/p?", {}, b"", PARTY, KEY, now=NOW, nonce="n")
    c = sign_request_headers("GET", "http://other:8080/p", {}, b"", PARTY, KEY, now=NOW, nonce="n")
    assert a == b == c  # the host is not covered either


def test_signing_is_deterministic_and_leaves_headers_alone() -> None:
    headers = {"Accept": "application/json", "Signature": "old=:AAAA:"}
    a = sign_request_headers("GET", "http://h/p", headers, b"", PARTY, KEY, now=NOW, nonce="n")
    b = sign_request_headers("GET", "http://h/p", headers, b"", PARTY, KEY, now=NOW, nonce="n")
    assert a == b
    assert headers == {"Accept": "application/json", "Signature": "old=:AAAA:"}
    assert a["Signature"].startswith("chainledger=")  # replaces, never appends


def test_default_lifetime_is_sixty_seconds() -> None:
    assert timedelta(seconds=60) == DEFAULT_LIFETIME
    h = sign_request_headers("GET", "http://h/p", {}, b"", PARTY, KEY, now=NOW, nonce="n")
    assert f"expires={CREATED + 60};" in h["Signature-Input"]


def test_an_existing_matching_content_digest_is_kept_and_covered() -> None:
    body = b"abc"
    digest = f"sha-512=:{_b64(hashlib.sha512(body).digest())}:"
    h = sign_request_headers(
        "PUT", "http://h/p", {"content-digest": digest}, body, PARTY, KEY, now=NOW, nonce="n"
    )
    assert h["Content-Digest"] == digest
    assert '"content-digest"' in h["Signature-Input"]


@pytest.mark.parametrize(
    ("method", "url", "headers", "body", "now", "lifetime"),
    [
        ("GET", "http://h/p", {}, b"", datetime(2026, 1, 1), timedelta(seconds=60)),  # naive
        ("GET", "http://h/p", {}, b"", NOW, timedelta(0)),
        ("get", "http://h/p", {}, b"", NOW, timedelta(seconds=60)),
        ("GET", "http://h/p?x=|", {}, b"", NOW, timedelta(seconds=60)),  # httpx leaves | as is
        ("GET", "http://h/é", {}, b"", NOW, timedelta(seconds=60)),
        ("GET", "/relative", {}, b"", NOW, timedelta(seconds=60)),
        (
            "PUT",
            "http://h/p",
            {"Content-Digest": "sha-256=:AAAA:"},
            b"x",
            NOW,
            timedelta(seconds=60),
        ),
    ],
)
def test_what_cannot_be_signed_is_a_value_error(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    lifetime: timedelta,
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own reason
        sign_request_headers(
            method, url, headers, body, PARTY, KEY, now=now, nonce="n", lifetime=lifetime
        )


@pytest.mark.parametrize(("party", "nonce"), [("é", "n"), (PARTY, "\n"), (PARTY, "ü")])
def test_party_and_nonce_must_be_printable_ascii(party: str, nonce: str) -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        sign_request_headers("GET", "http://h/p", {}, b"", party, KEY, now=NOW, nonce=nonce)


def test_make_nonce_is_unpadded_base64url_of_16_bytes() -> None:
    nonce = make_nonce(lambda n: b"\xfb\xff" * (n // 2))
    assert nonce == "-__7__v_-__7__v_-__7_w"
    assert len(make_nonce()) == 22
    assert make_nonce() != make_nonce()


def _client(seen: list[httpx.Request], **kw: object) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    ticks = iter([NOW, NOW + timedelta(seconds=1)])
    auth = RequestSigner(
        PARTY,
        KEY,
        clock=lambda: next(ticks),
        rand=lambda n: bytes([len(seen)]) * n,
        **kw,  # type: ignore[arg-type]
    )
    return httpx.Client(transport=httpx.MockTransport(handler), auth=auth)


def test_request_signer_attaches_the_same_headers_as_the_pure_function() -> None:
    seen: list[httpx.Request] = []
    with _client(seen, lifetime=timedelta(seconds=45)) as client:
        client.get("https://ledger.example/v1/assets", params={"q": "a b"})
        client.post("https://ledger.example/v1/reads", content=b"{}")
    get, post = seen
    want_get = sign_request_headers(
        "GET", str(get.url), {}, b"", PARTY, KEY,
        now=NOW, nonce=make_nonce(lambda n: b"\0" * n), lifetime=timedelta(seconds=45),
    )  # fmt: skip
    want_post = sign_request_headers(
        "POST", str(post.url), {}, b"{}", PARTY, KEY,
        now=NOW + timedelta(seconds=1), nonce=make_nonce(lambda n: b"\1" * n),
        lifetime=timedelta(seconds=45),
    )  # fmt: skip
    assert {k: get.headers[k] for k in want_get} == want_get
    assert "Content-Digest" not in get.headers
    assert {k: post.headers[k] for k in want_post} == want_post
    assert post.headers["Content-Digest"].startswith("sha-256=:")
    for request in (get, post):
        assert all(f'"{c}"' in request.headers["Signature-Input"] for c in COVERED_COMPONENTS)


def test_request_signer_refuses_a_non_positive_lifetime() -> None:
    with pytest.raises(ValueError, match="lifetime"):
        RequestSigner(PARTY, KEY, lifetime=timedelta(0))
