"""Server-side checking of request signatures: every way to fail has its own error."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from hypothesis import example, given, settings
from hypothesis import strategies as st

from api.httpsig import HeaderInput, verify_request
from chainledger.crypto import party_id, public_key_bytes
from chainledger.errors import BadSignature, ClockSkew, NotFound, Replay
from chainledger.rules import UnknownActor
from chainledger.store.nonces import MemoryNonceStore
from wallet.httpsig import RequestSigner, sign_request_headers

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
PARTY = party_id(public_key_bytes(KEY))
OTHER_PARTY = party_id(public_key_bytes(OTHER))
STRANGER = "p_aaaaaaaaaaaaaaaa"
WEAK = "p_weakweakweakwe"
KEYS = {PARTY: public_key_bytes(KEY), OTHER_PARTY: public_key_bytes(OTHER), WEAK: bytes(32)}

NOW = datetime(2026, 11, 26, 13, 45, tzinfo=UTC)
S = timedelta(seconds=1)
URL = "https://ledger.example/v1/assets/a_1?page=2&x=y"
BODY = b'{"asset":"a_1","purpose":"care"}'
EXPECTED = (BadSignature, ClockSkew, Replay)


def resolve_key(party: str) -> bytes:
    if party == "p_actor_unknown":
        raise UnknownActor("no such party")
    try:
        return KEYS[party]
    except KeyError:
        raise NotFound("no such party") from None


def sign(
    method: str = "GET",
    url: str = URL,
    body: bytes = b"",
    *,
    key: Ed25519PrivateKey = KEY,
    party: str = PARTY,
    now: datetime = NOW,
    nonce: str = "bm9uY2UtMQ",
    lifetime: timedelta = 60 * S,
) -> dict[str, str]:
    return sign_request_headers(
        method, url, {}, body, party, key, now=now, nonce=nonce, lifetime=lifetime
    )


def verify(
    method: str = "GET",
    url: str = URL,
    headers: HeaderInput | None = None,
    body: bytes = b"",
    *,
    now: datetime = NOW,
    nonces: MemoryNonceStore | None = None,
    resolve: Callable[[str], bytes] = resolve_key,
    max_age: timedelta = 300 * S,
    skew: timedelta = 300 * S,
) -> str:
    return verify_request(
        method=method,
        url=url,
        headers=sign(method, url, body) if headers is None else headers,
        body=body,
        resolve_key=resolve,
        nonces=MemoryNonceStore() if nonces is None else nonces,
        now=now,
        max_age=max_age,
        skew=skew,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hand_signed(
    params: str,
    *,
    components: Iterable[str] = ("@method", "@path", "@query"),
    label: str = "chainledger",
    key: Ed25519PrivateKey = KEY,
) -> dict[str, str]:
    """A valid signature over GET URL built by hand, with any parameters (RFC 9421 2.5)."""
    values = {"@method": "GET", "@path": "/v1/assets/a_1", "@query": "?page=2&x=y"}
    comps = list(components)
    sig_params = "(" + " ".join(f'"{c}"' for c in comps) + ")" + params
    base = "".join(f'"{c}": {values[c]}\n' for c in comps) + f'"@signature-params": {sig_params}'
    sig = key.sign(base.encode())
    return {"Signature-Input": f"{label}={sig_params}", "Signature": f"{label}=:{_b64(sig)}:"}


def full_params(**drop: bool) -> str:
    created = int(NOW.timestamp())
    parts = {
        "created": f"created={created}",
        "keyid": f'keyid="{PARTY}"',
        "alg": 'alg="ed25519"',
        "expires": f"expires={created + 60}",
        "nonce": 'nonce="n1"',
        "tag": 'tag="chainledger"',
    }
    return "".join(";" + v for k, v in parts.items() if not drop.get(k))


def library_signed(**kw: Any) -> dict[str, str]:
    """Signed by the library directly, for options our signer never uses."""

    class Msg:
        method = "GET"
        url = URL
        headers: dict[str, str] = kw.pop("headers", {})

    msg = Msg()
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={PARTY: KEY}),
    )
    options: dict[str, Any] = {
        "key_id": PARTY,
        "created": NOW,
        "expires": NOW + 60 * S,
        "nonce": "n1",
        "label": "chainledger",
        "tag": "chainledger",
        "covered_component_ids": ("@method", "@path", "@query"),
    }
    options.update(kw)
    signer.sign(msg, **options)
    return dict(msg.headers)


def refused(exc_type: type[Exception], match: str | None = None, **kw: Any) -> str:
    with pytest.raises(exc_type, match=match) as info:
        verify(**kw)
    message = str(info.value)
    assert "\n" not in message
    assert message.isascii()
    return message


# --- round trips ---------------------------------------------------------------------------------


def test_get_with_query_round_trip() -> None:
    assert verify("GET", URL) == PARTY


def test_post_with_body_round_trip() -> None:
    assert verify("POST", "https://ledger.example/v1/reads", body=BODY) == PARTY


def test_the_host_and_scheme_are_not_covered() -> None:
    headers = sign("GET", URL)
    assert verify("GET", "http://127.0.0.1:8000/v1/assets/a_1?page=2&x=y", headers) == PARTY


def test_no_query_and_empty_query_are_the_same_request() -> None:
    # The library signs "@query" as "?" for both; Starlette drops a bare "?".
    headers = sign("GET", "https://h/v1/assets?")
    assert verify("GET", "https://h/v1/assets", headers) == PARTY


def test_asgi_header_pairs_and_mappings_are_accepted() -> None:
    headers = sign("POST", URL, BODY)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    assert verify("POST", URL, [*raw, (b"accept", b"*/*")], BODY) == PARTY
    lower = {k.lower(): v for k, v in headers.items()}
    assert verify("POST", URL, lower, BODY) == PARTY


def test_hand_built_signature_verifies() -> None:
    """The hand builder below agrees with the library, so its failures are policy."""
    assert verify(headers=hand_signed(full_params())) == PARTY


def test_time_window_boundaries_are_inclusive() -> None:
    created = NOW
    # created exactly `skew` in the future
    assert verify(headers=sign(now=created), now=created - 300 * S) == PARTY
    # created exactly `max_age` ago, expiring exactly now
    assert verify(headers=sign(now=created, lifetime=300 * S), now=created + 300 * S) == PARTY


def test_the_nonce_is_claimed_until_the_signature_expires() -> None:
    calls: list[tuple[str, str, datetime, datetime]] = []

    class Recorder(MemoryNonceStore):
        def claim(self, party: str, nonce: str, expires: datetime, now: datetime) -> bool:
            calls.append((party, nonce, expires, now))
            return super().claim(party, nonce, expires, now)

    verify(headers=sign(nonce="abc", lifetime=45 * S), nonces=Recorder(), now=NOW + 2 * S)
    assert calls == [(PARTY, "abc", NOW + 45 * S, NOW + 2 * S)]


# --- replay ---------------------------------------------------------------------------------------


def test_replayed_nonce_is_refused() -> None:
    nonces = MemoryNonceStore()
    headers = sign()
    assert verify(headers=headers, nonces=nonces) == PARTY
    refused(Replay, "nonce", headers=headers, nonces=nonces, now=NOW + 10 * S)
    # a fresh nonce is fine; so is the same nonce of another party
    assert verify(headers=sign(nonce="other"), nonces=nonces) == PARTY
    other = sign(key=OTHER, party=OTHER_PARTY)
    assert verify(headers=other, nonces=nonces) == OTHER_PARTY


def test_a_bad_request_does_not_burn_the_nonce() -> None:
    nonces = MemoryNonceStore()
    headers = sign()
    refused(BadSignature, headers=headers, method="DELETE", nonces=nonces)
    assert verify(headers=headers, nonces=nonces) == PARTY


# --- tampering ------------------------------------------------------------------------------------


def test_tampered_method() -> None:
    refused(BadSignature, "does not verify", method="HEAD", headers=sign("GET"))


def test_tampered_path() -> None:
    refused(BadSignature, "does not verify", url=URL.replace("a_1", "a_2"), headers=sign())


def test_tampered_query() -> None:
    refused(BadSignature, "does not verify", url=URL.replace("page=2", "page=3"), headers=sign())
    refused(BadSignature, "does not verify", url=URL.split("?")[0], headers=sign())


def test_tampered_body() -> None:
    headers = sign("POST", URL, BODY)
    refused(BadSignature, "Content-Digest", method="POST", headers=headers, body=BODY + b" ")
    refused(BadSignature, "Content-Digest", method="POST", headers=headers, body=b"")


def test_digest_header_replaced_to_match_a_tampered_body() -> None:
    headers = sign("POST", URL, BODY)
    forged = BODY.replace(b"care", b"fun!")
    headers["Content-Digest"] = f"sha-256=:{_b64(hashlib.sha256(forged).digest())}:"
    refused(BadSignature, "does not verify", method="POST", headers=headers, body=forged)


def test_digest_header_removed() -> None:
    headers = sign("POST", URL, BODY)
    del headers["Content-Digest"]
    refused(BadSignature, method="POST", headers=headers, body=BODY)


def test_body_without_signed_digest() -> None:
    # signed as if there were no body, then a body is sent
    refused(BadSignature, "Content-Digest", method="POST", headers=sign("POST"), body=BODY)


def test_signature_bytes_flipped() -> None:
    headers = sign()
    sig = bytearray(base64.b64decode(headers["Signature"].split(":")[1]))
    sig[7] ^= 1
    headers["Signature"] = f"chainledger=:{_b64(bytes(sig))}:"
    refused(BadSignature, "does not verify", headers=headers)


def test_wrong_key() -> None:
    refused(BadSignature, "does not verify", headers=sign(key=OTHER, party=PARTY))


@pytest.mark.parametrize("party", [STRANGER, "p_actor_unknown", ""])
def test_unknown_keyid(party: str) -> None:
    refused(BadSignature, headers=sign(party=party))


def test_unknown_keyid_reason() -> None:
    assert refused(BadSignature, headers=sign(party=STRANGER)) == "unknown keyid"


def test_weak_registered_key() -> None:
    refused(BadSignature, "not usable", headers=sign(party=WEAK))


def test_resolver_failures_other_than_not_found_propagate() -> None:
    def broken(_party: str) -> bytes:
        raise RuntimeError("database is locked")

    with pytest.raises(RuntimeError, match="locked"):
        verify(resolve=broken)


def test_wrong_alg_label() -> None:
    headers = sign()
    headers["Signature-Input"] = headers["Signature-Input"].replace("ed25519", "hmac-sha256")
    refused(BadSignature, headers=headers)


def test_alg_missing_even_if_signed() -> None:
    refused(BadSignature, "alg", headers=library_signed(include_alg=False))
    refused(BadSignature, "alg", headers=hand_signed(full_params(alg=True)))


@pytest.mark.parametrize("param", ["created", "expires", "nonce"])
def test_missing_parameter_tampered(param: str) -> None:
    headers = sign()
    si = headers["Signature-Input"]
    start = si.index(f";{param}=")
    end = si.find(";", start + 1)
    headers["Signature-Input"] = si[:start] + (si[end:] if end != -1 else "")
    refused(BadSignature, headers=headers)


@pytest.mark.parametrize("param", ["created", "expires", "nonce", "keyid", "tag"])
def test_missing_parameter_validly_signed(param: str) -> None:
    message = refused(BadSignature, headers=hand_signed(full_params(**{param: True})))
    assert param in message


def test_empty_or_huge_nonce() -> None:
    refused(BadSignature, "nonce", headers=sign(nonce=""))
    refused(BadSignature, "nonce", headers=sign(nonce="n" * 129))
    assert verify(headers=sign(nonce="n" * 128)) == PARTY


def test_expires_before_created() -> None:
    created = int(NOW.timestamp())
    params = full_params(expires=True) + f";expires={created - 1}"
    refused(BadSignature, "expires", headers=hand_signed(params), now=NOW - 10 * S)


def test_expired() -> None:
    refused(ClockSkew, "expired", headers=sign(lifetime=60 * S), now=NOW + 61 * S)


def test_created_too_far_in_the_future() -> None:
    refused(ClockSkew, "future", headers=sign(now=NOW + 301 * S))
    refused(ClockSkew, "future", headers=sign(now=NOW + 11 * S), skew=10 * S)


def test_too_old_even_if_not_expired() -> None:
    headers = sign(lifetime=timedelta(hours=1))
    refused(ClockSkew, "too old", headers=headers, now=NOW + 301 * S)
    refused(ClockSkew, "too old", headers=headers, now=NOW + 61 * S, max_age=60 * S)


def test_far_away_timestamps_are_clock_skew_not_crashes() -> None:
    big = 10**14
    params = full_params(created=True, expires=True) + f";created={big};expires={big + 60}"
    refused(ClockSkew, headers=hand_signed(params))
    params = full_params(created=True, expires=True) + f";created={-big};expires={big}"
    refused(ClockSkew, headers=hand_signed(params))


def test_library_clock_is_not_used() -> None:
    # A signature from 2001, checked "in 2001", passes: only `now` counts.
    then = datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)
    assert verify(headers=sign(now=then), now=then + S) == PARTY


def test_two_signatures() -> None:
    headers = sign()
    second = library_signed(label="other", tag="other", nonce="n2")
    headers["Signature-Input"] += ", " + second["Signature-Input"]
    headers["Signature"] += ", " + second["Signature"]
    refused(BadSignature, headers=headers)


def test_two_signature_fields_are_combined_and_refused() -> None:
    headers = sign()
    second = library_signed(label="other", tag="other", nonce="n2")
    pairs = [*headers.items(), *second.items()]
    refused(BadSignature, headers=pairs)


def test_duplicate_label() -> None:
    headers = sign()
    pairs = [*headers.items(), *sign(nonce="n2").items()]
    refused(BadSignature, headers=pairs)


def test_wrong_label() -> None:
    refused(BadSignature, "label", headers=library_signed(label="pyhms"))
    refused(BadSignature, "label", headers=hand_signed(full_params(), label="other"))


def test_wrong_or_missing_tag() -> None:
    refused(BadSignature, "tag", headers=library_signed(tag="other"))
    refused(BadSignature, "tag", headers=library_signed(tag=None))


def test_label_renamed_after_signing() -> None:
    headers = sign()
    renamed = {k: v.replace("chainledger=", "x=", 1) for k, v in headers.items()}
    refused(BadSignature, "label", headers=renamed)


@pytest.mark.parametrize(
    "components",
    [("@method",), ("@method", "@path"), ("@path", "@query"), ("@method", "@query")],
)
def test_missing_components(components: tuple[str, ...]) -> None:
    refused(BadSignature, "cover", headers=library_signed(covered_component_ids=components))
    refused(BadSignature, "cover", headers=hand_signed(full_params(), components=components))


def test_extra_components_are_fine() -> None:
    headers = library_signed(
        headers={"Accept": "application/json"},
        covered_component_ids=("@method", "@path", "@query", "accept", "@authority"),
    )
    assert verify(headers=headers) == PARTY


def test_unknown_signature_parameter() -> None:
    refused(BadSignature, headers=hand_signed(full_params() + ';x="y"'))


# --- garbage --------------------------------------------------------------------------------------

GARBAGE: list[Mapping[str, str] | list[tuple[Any, Any]]] = [
    {},
    {"Signature": "chainledger=:AAAA:"},
    {"Signature-Input": "chainledger=()"},
    {"Signature": "", "Signature-Input": ""},
    {"Signature": "chainledger=:AAAA:", "Signature-Input": "chainledger=()"},
    {"Signature": "chainledger=:!!!:", "Signature-Input": 'chainledger=("@method")'},
    {"Signature": "chainledger=1", "Signature-Input": "chainledger=1"},
    {"Signature": "chainledger=:AAAA:", "Signature-Input": "chainledger=(1 2);created=x"},
    {"Signature": "chainledger=:AAAA:", "Signature-Input": 'chainledger=("@nope");keyid="k"'},
    {"Signature": "chainledger=:AAAA:", "Signature-Input": 'chainledger=("x";sf);keyid="k"'},
    {"Signature": "chainledger=:AAAA:", "Signature-Input": "chainledger=();keyid=1"},
    {"Signature": "chainledger=:AAAA:", "Signature-Input": "chainledger=();created=1.5"},
    {
        "Signature": "chainledger=:AAAA:",
        "Signature-Input": "chainledger=();created=999999999999999",
    },
    {"Signature": "a=:AAAA:, b=:AAAA:", "Signature-Input": "a=(), b=()"},
    {"Signature": "a=:AAAA:, a=:AAAA:", "Signature-Input": "a=(), a=()"},
    {"Signature": "chainledger=:AAAA:", "Signature-Input": 'chainledger=();keyid="\x00"'},
    {"Signature": "chainledger=:AAAA:", "Signature-Input": 'chainledger=();keyid="é"'},
    {"Signature": "chainledger=:AAAA:", "Signature-Input": "chainledger=\ud800"},
    {"Signature": "ünïcødé", "Signature-Input": "日本語=()"},
    {"Signature": "chainledger=:AAAA:\r\n", "Signature-Input": "chainledger=()\n"},
    [(b"signature", b"chainledger=:\xff\xfe:"), (b"signature-input", b"\xe9=()")],
    [("Signature", 1), ("Signature-Input", None)],
    [(None, "x")],
    [("only-one-element",)],
    [b"x"],
]


@pytest.mark.parametrize("headers", GARBAGE)
def test_garbage_headers(headers: Any) -> None:
    refused(BadSignature, headers=headers)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", URL),
        ("", URL),
        ("GET", "/v1/assets/a_1"),
        ("GET", "https://ledger.example/v1/assets/é"),
        ("GET", "https://ledger.example/v1/a b"),
        ("GET", "https://ledger.example/v1/a?q=|"),
        ("GET", "not a url"),
        ("GET", ""),
    ],
)
def test_bad_method_or_url(method: str, url: str) -> None:
    refused(BadSignature, method=method, url=url, headers=sign())


def test_non_ascii_junk_around_a_valid_signature() -> None:
    headers = sign()
    for name in ("Signature", "Signature-Input"):
        for junk in ("é", "\u2028", "\x00", " ;", "\udcff"):
            bad = dict(headers)
            bad[name] = bad[name] + junk
            refused(BadSignature, headers=bad)


# Arbitrary text, and arbitrary edits of a valid header, never raise anything else.
header_text = st.text(max_size=200) | st.text(
    alphabet=st.sampled_from('chainledger=:();,"@ ABC0123456789-_*?!éx\t\\'), max_size=200
)


@settings(max_examples=300, deadline=None)
@given(sig=header_text, sig_input=header_text)
@example(sig="chainledger=:AAAA:", sig_input='chainledger=("@method");keyid="p"')
def test_arbitrary_signature_headers_raise_only_our_errors(sig: str, sig_input: str) -> None:
    try:
        verify(headers={"Signature": sig, "Signature-Input": sig_input})
    except EXPECTED:
        return
    pytest.fail("an arbitrary signature was accepted")


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from(["Signature", "Signature-Input"]),
    start=st.integers(0, 300),
    length=st.integers(0, 20),
    insert=header_text,
)
def test_edited_valid_headers_raise_only_our_errors(
    which: str, start: int, length: int, insert: str
) -> None:
    headers = sign()
    value = headers[which]
    edited = value[:start] + insert + value[start + length :]
    headers[which] = edited
    try:
        assert verify(headers=headers) == PARTY
    except EXPECTED:
        return


# --- the wallet's httpx auth, end to end --------------------------------------------------------


def test_request_signer_over_mock_transport_is_accepted_by_verify_request() -> None:
    nonces = MemoryNonceStore()
    accepted: list[str] = []
    ticks = iter(NOW + i * S for i in range(10))

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            who = verify_request(
                method=request.method,
                url=str(request.url),
                headers=request.headers.multi_items(),
                body=request.content,
                resolve_key=resolve_key,
                nonces=nonces,
                now=NOW + 5 * S,
            )
        except (BadSignature, ClockSkew, Replay) as exc:
            return httpx.Response(401, json={"code": exc.code})
        accepted.append(who)
        return httpx.Response(200, json={"party": who})

    counter = iter(range(1000))
    auth = RequestSigner(
        PARTY, KEY, clock=lambda: next(ticks), rand=lambda n: bytes([next(counter)]) * n
    )
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        r1 = client.get("https://ledger.example/v1/assets", params={"owner": "me", "q": "a b"})
        r2 = client.post("https://ledger.example/v1/reads", json={"asset": "a_1"})
        r3 = client.get("https://ledger.example/v1/assets/a_1")
        # the same signed request sent again is a replay
        r4 = client.send(r3.request, auth=None)
    assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 200]
    assert r4.status_code == 401
    assert r4.json() == {"code": "replay"}
    assert accepted == [PARTY] * 3
