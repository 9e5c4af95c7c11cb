"""Signing chainledger's private HTTP reads (RFC 9421 HTTP Message Signatures).

Every request a party sends to a private read endpoint carries one signature,
made with the party's Ed25519 key by the `http_message_signatures` library:

- label ``chainledger`` and signed ``tag="chainledger"``;
- ``keyid`` = the party id, ``alg="ed25519"``;
- ``created`` (the client's clock) and ``expires`` = created + lifetime, both
  integer seconds since the epoch;
- ``nonce`` = base64url (no padding) of 16 random bytes, remembered by the
  server until ``expires`` so the request cannot be replayed;
- covered components ``"@method" "@path" "@query"``, plus ``"content-digest"``
  (SHA-256, RFC 9530) when the request has a non-empty body.

`sign_request_headers` is the pure function (time and nonce passed in) that a
browser or any other client can mirror; `RequestSigner` is its `httpx.Auth`.
The server side is ``api.httpsig.verify_request``.

Only httpx, cryptography, http_message_signatures and the standard library are
imported here.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    MappingKeyResolver,
    algorithms,
)

__all__ = [
    "COVERED_COMPONENTS",
    "DEFAULT_LIFETIME",
    "SIGNATURE_LABEL",
    "SIGNATURE_TAG",
    "RequestSigner",
    "make_nonce",
    "sign_request_headers",
]

#: The Signature / Signature-Input dictionary key of our signature (not signed itself).
SIGNATURE_LABEL = "chainledger"
#: The signed application tag (RFC 9421 section 2.3 ``tag``): names the profile.
SIGNATURE_TAG = "chainledger"
#: Derived components every chainledger request signature covers, in this order.
COVERED_COMPONENTS: tuple[str, ...] = ("@method", "@path", "@query")
#: How long a signature stays valid after ``created``.
DEFAULT_LIFETIME = timedelta(seconds=60)

_NONCE_BYTES = 16
_OUTPUT_NAMES = {
    "signature-input": "Signature-Input",
    "signature": "Signature",
    "content-digest": "Content-Digest",
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Message:
    """The request view the library reads (and writes its headers into)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def make_nonce(rand: Callable[[int], bytes] = os.urandom) -> str:
    """base64url without padding of 16 bytes of ``rand``: 22 characters."""
    return base64.urlsafe_b64encode(rand(_NONCE_BYTES)).rstrip(b"=").decode("ascii")


def sign_request_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    party_id: str,
    key: Ed25519PrivateKey,
    *,
    now: datetime,
    nonce: str,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> dict[str, str]:
    """The headers to add to a request so that it carries a chainledger signature.

    ``url`` is the absolute, already percent-encoded URL the request is sent to
    (``str(httpx.URL(...))``); only its path and query are signed, so the host may
    differ from the one the server sees. ``headers`` are the request's other
    headers: only an existing ``Content-Digest`` among them is used (checked
    against ``body`` and then signed as it is). ``now`` must be timezone-aware;
    ``created`` and ``expires`` are truncated to whole seconds.

    Returns ``Signature-Input`` and ``Signature``, and ``Content-Digest`` when
    ``body`` is non-empty (or a digest was given). ``headers`` is not modified.

    Raises `ValueError` for what cannot be signed: a naive ``now``, a
    non-positive ``lifetime``, a URL the library does not accept (it must be
    ASCII and strictly RFC 3986: percent-encode ``|``, ``{``, ``}``, spaces, ...),
    a method that is not upper case, a party id or nonce that is not printable
    ASCII, or a given Content-Digest that does not match ``body``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    if lifetime <= timedelta(0):
        raise ValueError("lifetime must be positive")
    message = _Message(method=method, url=url, headers=dict(headers))
    has_digest = any(name.lower() == "content-digest" for name in message.headers)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={party_id: key}),
    )
    try:
        signer.sign(
            message,
            key_id=party_id,
            created=now,
            expires=now + lifetime,
            nonce=nonce,
            label=SIGNATURE_LABEL,
            tag=SIGNATURE_TAG,
            include_alg=True,
            covered_component_ids=COVERED_COMPONENTS,
            # body= makes the library add Content-Digest (sha-256) and cover it.
            body=body if body or has_digest else None,
            use_existing_digest=has_digest,
        )
    except (HTTPMessageSignaturesException, ValueError, TypeError) as exc:
        # The library lets http_sf's ValueError through for a party id or nonce
        # that is not a Structured Field String (non-ASCII, control characters).
        raise ValueError(f"cannot sign this request: {exc}") from exc
    return {
        _OUTPUT_NAMES[name.lower()]: value
        for name, value in message.headers.items()
        if name.lower() in _OUTPUT_NAMES
    }


class RequestSigner(httpx.Auth):
    """An `httpx.Auth` signing every request as ``party_id`` (see the module doc).

    ``clock`` must return aware datetimes; ``rand(16)`` supplies each nonce. The
    request body is read before signing (``requires_request_body``), so streamed
    uploads are buffered.
    """

    requires_request_body = True

    def __init__(
        self,
        party_id: str,
        key: Ed25519PrivateKey,
        *,
        clock: Callable[[], datetime] = _utc_now,
        rand: Callable[[int], bytes] = os.urandom,
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> None:
        if lifetime <= timedelta(0):
            raise ValueError("lifetime must be positive")
        self.party_id = party_id
        self._key = key
        self._clock = clock
        self._rand = rand
        self.lifetime = lifetime

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        added = sign_request_headers(
            request.method,
            str(request.url),
            request.headers,
            request.content,
            self.party_id,
            self._key,
            now=self._clock(),
            nonce=make_nonce(self._rand),
            lifetime=self.lifetime,
        )
        for name, value in added.items():
            request.headers[name] = value
        yield request
