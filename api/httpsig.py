"""Checking the RFC 9421 signature on a private HTTP read (the server side).

The client side, and the profile itself, is ``wallet.httpsig``: one signature
labelled ``chainledger`` with ``tag="chainledger"``, ``alg="ed25519"``,
``keyid`` = the party id, ``created``, ``expires`` and ``nonce`` parameters, and
covering ``"@method" "@path" "@query"`` (+ ``"content-digest"`` for a body).

`verify_request` lets the `http_message_signatures` library parse the
Signature / Signature-Input fields, rebuild the signature base and check the
Ed25519 signature and the Content-Digest, then applies the profile's policy to
the *authenticated* parameters, checks time against the ``now`` it is given (the
library's own time checks use the wall clock and are switched off here), and
finally claims the nonce.

The URL passed in should be built from what was on the wire (ASGI
``raw_path`` and ``query_string``), not from a decoded path: the library signs
the encoded spelling and refuses URLs that are not strict ASCII RFC 3986. Only
the path and query are covered, so any scheme and host will do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from chainledger.crypto import public_key_from_bytes
from chainledger.errors import BadSignature, ClockSkew, MalformedInput, NotFound, Replay
from chainledger.rules import UnknownActor
from chainledger.store.nonces import NonceStore

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_SKEW",
    "REQUIRED_COMPONENTS",
    "SIGNATURE_LABEL",
    "SIGNATURE_TAG",
    "HeaderInput",
    "verify_request",
]

SIGNATURE_LABEL = "chainledger"
SIGNATURE_TAG = "chainledger"
SIGNATURE_ALG = algorithms.ED25519.algorithm_id  # "ed25519"
#: Components every signature must cover (as the library serializes their identifiers).
REQUIRED_COMPONENTS: tuple[str, ...] = ('"@method"', '"@path"', '"@query"')
DEFAULT_MAX_AGE = timedelta(seconds=300)
DEFAULT_SKEW = timedelta(seconds=300)
#: Longest nonce accepted: it is stored until the signature expires.
MAX_NONCE_LENGTH = 128
_REASON_LENGTH = 160
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Request headers as a mapping (e.g. Starlette's ``request.headers``, whose
#: ``items()`` keeps repeated fields) or as (name, value) pairs, str or bytes
#: (bytes, as in an ASGI scope, are read as Latin-1).
HeaderInput = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]


class _Headers:
    """A read-only header view: the library's verifier only calls ``items()``."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._pairs))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self._pairs)


@dataclass(frozen=True)
class _Message:
    method: str
    url: str
    headers: _Headers


class _KeyResolver(HTTPSignatureKeyResolver):
    """Adapts ``resolve_key`` and remembers why a key was not found.

    The library turns every resolver exception into its own ``InvalidSignature``;
    recording the cause here lets an operational failure (a database error)
    escape as itself rather than as a 401-like `BadSignature`.
    """

    def __init__(self, resolve_key: Callable[[str], bytes]) -> None:
        self._resolve_key = resolve_key
        self.unknown = False
        self.unusable = False
        self.error: BaseException | None = None

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        try:
            raw = self._resolve_key(key_id)
        except (NotFound, UnknownActor):
            self.unknown = True
            return None
        except Exception as exc:
            self.error = exc
            return None
        try:
            return public_key_from_bytes(raw)
        except MalformedInput:
            self.unusable = True
            return None

    def resolve_private_key(self, key_id: str) -> Any:
        raise NotImplementedError("verification only")


class _Verifier(HTTPMessageVerifier):
    """The library's verifier with its wall-clock time checks switched off.

    ``HTTPMessageVerifier.validate_created_and_expires`` compares ``created`` and
    ``expires`` with ``datetime.now()``; `verify_request` checks them instead,
    against its ``now`` and after the signature is known to be authentic.
    """

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        return None


def _header_pairs(headers: HeaderInput) -> list[tuple[str, str]]:
    try:
        items: Iterable[Any] = headers.items() if isinstance(headers, Mapping) else headers
        pairs: list[tuple[str, str]] = []
        for name, value in items:
            n = name.decode("latin-1") if isinstance(name, bytes | bytearray) else name
            v = value.decode("latin-1") if isinstance(value, bytes | bytearray) else value
            if not isinstance(n, str) or not isinstance(v, str):
                raise BadSignature("malformed request headers")
            pairs.append((n, v))
    except (TypeError, ValueError) as exc:
        raise BadSignature("malformed request headers") from exc
    return pairs


def _one_line(text: str) -> str:
    """Printable ASCII only, on one line, truncated: safe to log and to send back."""
    clean = "".join(ch if " " <= ch <= "~" else " " for ch in text)
    clean = " ".join(clean.split())
    return clean[:_REASON_LENGTH]


def _caused_by_crypto(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, CryptoInvalidSignature):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _library_reason(exc: Exception, resolver: _KeyResolver) -> str:
    if resolver.unknown:
        return "unknown keyid"
    if resolver.unusable:
        return "the keyid's registered key is not usable"
    if _caused_by_crypto(exc):
        return "signature does not verify"
    detail = _one_line(str(exc))
    return f"malformed or unacceptable signature: {detail}" if detail else "malformed signature"


E = TypeVar("E", bound=Exception)


def _authenticated(exc: E, party: str) -> E:
    """Mark a refusal that came after the signature verified: ``exc.party`` signed it,
    so the refusal can be recorded against that party."""
    exc.party = party  # type: ignore[attr-defined]
    return exc


def verify_request(
    *,
    method: str,
    url: str,
    headers: HeaderInput,
    body: bytes,
    resolve_key: Callable[[str], bytes],
    nonces: NonceStore,
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
    skew: timedelta = DEFAULT_SKEW,
) -> str:
    """Check a request's chainledger signature; return the authenticated party id.

    ``method`` is the request method as sent (upper case), ``url`` the absolute
    encoded request URL (only its path and query matter), ``body`` the raw
    content before any decoding. ``resolve_key(party_id)`` returns the party's
    32-byte raw Ed25519 public key, or raises `NotFound` / `UnknownActor`.
    ``now`` must be timezone-aware.

    Raises, for a request that does not pass:

    - `BadSignature` (one-line reason, no personal data): Signature or
      Signature-Input missing or malformed; more than one signature; label or
      ``tag`` not ``chainledger``; ``alg`` not ``ed25519``; unknown ``keyid``;
      a required component not covered; a body without a covered, matching
      Content-Digest; ``created``, ``expires`` or ``nonce`` missing; the
      signature not verifying;
    - `ClockSkew`: ``created`` more than ``skew`` after ``now``, or more than
      ``max_age`` before it; ``expires`` before ``now``;
    - `Replay`: the (party, nonce) pair was already claimed in ``nonces``, which
      is claimed until the signature's ``expires`` or ``created + max_age``, whichever
      comes first.

    Nothing else is raised for bad input; an exception from ``resolve_key``
    other than NotFound/UnknownActor, or from ``nonces``, propagates unchanged.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    message = _Message(method=method, url=url, headers=_Headers(_header_pairs(headers)))
    resolver = _KeyResolver(resolve_key)
    verifier = _Verifier(signature_algorithm=algorithms.ED25519, key_resolver=resolver)

    # 1. Parse and verify with the library. No expect_tag/expect_label: then the
    #    library itself refuses a message with more than one signature.
    try:
        results = verifier.verify(message, max_age=None)
    except Exception as exc:
        if resolver.error is not None:
            raise resolver.error from None
        raise BadSignature(_library_reason(exc, resolver)) from exc
    if len(results) != 1:
        raise BadSignature("expected exactly one signature")
    result = results[0]
    params = result.parameters

    # 2. The profile, on authenticated values.
    if result.label != SIGNATURE_LABEL:
        raise BadSignature(f"signature label must be {SIGNATURE_LABEL!r}")
    if params.get("tag") != SIGNATURE_TAG:
        raise BadSignature(f"signature tag must be {SIGNATURE_TAG!r}")
    if params.get("alg") != SIGNATURE_ALG:
        raise BadSignature(f"signature alg must be {SIGNATURE_ALG!r}")
    missing = [c for c in REQUIRED_COMPONENTS if c not in result.covered_components]
    if missing:
        raise BadSignature("signature does not cover " + " ".join(missing))
    try:
        # Requires a covered content-digest for a non-empty body (or any
        # Content-Digest field) and checks every digest it lists against the body.
        verifier.verify_body(message, results, bytes(body))
    except Exception as exc:
        raise BadSignature("Content-Digest missing, not covered or not matching the body") from exc
    keyid, created, expires, nonce = (
        params.get(p) for p in ("keyid", "created", "expires", "nonce")
    )
    if not isinstance(keyid, str):
        raise BadSignature("signature has no keyid")
    if type(created) is not int:
        raise BadSignature("signature has no created parameter")
    if type(expires) is not int:
        raise BadSignature("signature has no expires parameter")
    if not isinstance(nonce, str) or not nonce:
        raise BadSignature("signature has no nonce parameter")
    if len(nonce) > MAX_NONCE_LENGTH:
        raise BadSignature(f"nonce longer than {MAX_NONCE_LENGTH} characters")
    if expires < created:
        raise BadSignature("signature expires before it was created")

    # 3. Time, against the given now (integer seconds vs. an exact instant).
    now_s = (now - _EPOCH) / timedelta(seconds=1)
    if created > now_s + skew.total_seconds():
        raise _authenticated(ClockSkew("signature created in the future"), keyid)
    if created + max_age.total_seconds() < now_s:
        raise _authenticated(ClockSkew("signature too old"), keyid)
    if expires < now_s:
        raise _authenticated(ClockSkew("signature expired"), keyid)

    # 4. Replay. The signature is refused as too old after created + max_age whatever its
    # expires says, so the nonce need not be kept longer than that (a client cannot make
    # the server keep its rows for years by signing a far-off expires).
    try:
        expires_at = _EPOCH + timedelta(seconds=min(expires, created + max_age.total_seconds()))
    except OverflowError as exc:
        raise BadSignature("signature expires out of range") from exc
    if not nonces.claim(keyid, nonce, expires_at, now):
        raise _authenticated(Replay("signature nonce already used"), keyid)
    return keyid
