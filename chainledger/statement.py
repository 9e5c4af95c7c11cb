"""Signed statements: every change to the ledger, signed by the party that makes it.

A statement is a JSON object
``{"kind":"...","actor":"<party id>","ts":"...","nonce":"<b64 16 bytes>", ...kind fields}``
and its signature is Ed25519 over its RFC 8785 canonical bytes. On the wire a
signed statement travels as ``{"stmt": {...}, "sig": "<b64>"}``.

This module checks the fields every statement shares; the rules of each kind
live with the domain (`chainledger.rules` and the domain modules).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger.clock import check_ts, format_ts
from chainledger.crypto import Rand, verify_signature
from chainledger.encoding import (
    JsonObject,
    b64decode,
    b64encode,
    canonical,
    canonical_b64_pattern,
    parse_json_object,
)
from chainledger.errors import MalformedInput, SchemaError

__all__ = [
    "COMMON_FIELDS",
    "MAX_STATEMENT_BYTES",
    "NONCE_BYTES",
    "SignedStatement",
    "make_statement",
    "sign_statement",
]

NONCE_BYTES = 16
#: Statements are small; anything bigger is refused before it is hashed or stored.
#: 64 KiB less 256 bytes: an entry wraps its statement in at most 241 more bytes (seq up to
#: 2**53 - 1), and every entry must fit a tlog-tiles entry bundle, whose 16-bit length
#: prefix caps an entry at 65,535 bytes (C2SP tlog-tiles, "Log entries").
MAX_STATEMENT_BYTES = 64 * 1024 - 256
COMMON_FIELDS = ("kind", "actor", "ts", "nonce")

_KIND = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
_PARTY_ID = re.compile(r"p_[a-z2-7]{16}")
_NONCE = canonical_b64_pattern(NONCE_BYTES)


@functools.lru_cache(maxsize=256)
def _good_kind(kind: str) -> bool:
    return len(kind) <= 64 and _KIND.fullmatch(kind) is not None


def _check_common(stmt: Mapping[str, Any]) -> None:
    # The quick check (verify runs it on every entry) admits exactly what the checks below
    # admit (a nonce matching _NONCE is what b64decode takes for 16 bytes). Anything else
    # takes the long way, so the refusal names the first field at fault.
    kind, actor, ts, nonce = stmt.get("kind"), stmt.get("actor"), stmt.get("ts"), stmt.get("nonce")
    if (
        type(kind) is str
        and type(actor) is str
        and type(ts) is str
        and type(nonce) is str
        and _good_kind(kind)
        and _PARTY_ID.fullmatch(actor) is not None
        and _NONCE.fullmatch(nonce) is not None
    ):
        try:
            check_ts(ts)
            return
        except MalformedInput:
            pass
    _check_common_slowly(stmt)


def _check_common_slowly(stmt: Mapping[str, Any]) -> None:
    """Field by field, raising `SchemaError` for the first that is wrong."""
    for name in COMMON_FIELDS:
        if name not in stmt:
            raise SchemaError(name, "missing")
        if not isinstance(stmt[name], str):
            raise SchemaError(name, "must be a string")
    if len(stmt["kind"]) > 64 or _KIND.fullmatch(stmt["kind"]) is None:
        raise SchemaError("kind", "must be dotted lowercase words")
    if _PARTY_ID.fullmatch(stmt["actor"]) is None:
        raise SchemaError("actor", "must be a party id (p_ + 16 base32 letters)")
    try:
        check_ts(stmt["ts"])
        b64decode(stmt["nonce"], "nonce", NONCE_BYTES)
    except MalformedInput as exc:
        raise SchemaError(exc.what, exc.reason) from None


@dataclass(frozen=True, slots=True)
class SignedStatement:
    """A statement, its canonical bytes, and its actor's signature over them."""

    stmt: JsonObject
    body: bytes
    sig: bytes

    def __reduce__(self) -> tuple[type[SignedStatement], tuple[JsonObject, bytes, bytes]]:
        # The demo's signing processes send statements back pickled; compiled (mypyc), a
        # frozen class cannot be refilled field by field, so it is rebuilt by its constructor.
        return (SignedStatement, (self.stmt, self.body, self.sig))

    @property
    def kind(self) -> str:
        return str(self.stmt["kind"])

    @property
    def actor(self) -> str:
        return str(self.stmt["actor"])

    @property
    def ts(self) -> str:
        return str(self.stmt["ts"])

    @property
    def nonce(self) -> str:
        return str(self.stmt["nonce"])

    @classmethod
    def create(cls, stmt: object, sig: object, *, checked: bool = False) -> SignedStatement:
        """Check the common fields and canonicalize; the signature is not verified here.

        ``checked=True``: ``stmt`` came from `parse_json_object`, so it is known to be
        in the ledger's data model.
        """
        if not isinstance(stmt, Mapping):
            raise SchemaError("stmt", "must be a JSON object")
        body = canonical(stmt, checked=checked)
        if len(body) > MAX_STATEMENT_BYTES:
            raise MalformedInput("statement", f"larger than {MAX_STATEMENT_BYTES} bytes")
        _check_common(stmt)
        if not isinstance(sig, bytes) or len(sig) != 64:
            raise SchemaError("sig", "must be a 64-byte Ed25519 signature")
        return cls(dict(stmt), body, sig)

    @classmethod
    def trusted(cls, stmt: JsonObject, body: bytes, sig: bytes) -> SignedStatement:
        """Build from a ``body`` already known to be ``canonical(stmt)`` (e.g. sliced out of
        a canonical entry); the common fields are still checked."""
        if len(body) > MAX_STATEMENT_BYTES:
            raise MalformedInput("statement", f"larger than {MAX_STATEMENT_BYTES} bytes")
        _check_common(stmt)
        if len(sig) != 64:
            raise SchemaError("sig", "must be a 64-byte Ed25519 signature")
        return cls(stmt, body, sig)

    @classmethod
    def from_wire(cls, wire: object) -> SignedStatement:
        """Parse ``{"stmt": {...}, "sig": "<b64>"}`` from untrusted input."""
        obj = wire if isinstance(wire, Mapping) else parse_json_object(wire, "signed statement")
        if set(obj) != {"stmt", "sig"}:
            raise SchemaError("signed statement", "must have exactly the members stmt and sig")
        if not isinstance(obj["stmt"], Mapping):
            raise SchemaError("stmt", "must be a JSON object")
        try:
            sig = b64decode(obj["sig"], "sig", 64)
        except MalformedInput as exc:
            raise SchemaError("sig", exc.reason) from None
        return cls.create(obj["stmt"], sig, checked=not isinstance(wire, Mapping))

    def to_wire(self) -> JsonObject:
        return {"stmt": self.stmt, "sig": b64encode(self.sig)}

    def verify(self, public_key: bytes) -> None:
        """Raise `BadSignature` unless ``sig`` is the key's signature over ``body``."""
        verify_signature(public_key, self.sig, self.body)


def make_statement(kind: str, actor: str, now: datetime, rand: Rand, **fields: Any) -> JsonObject:
    """A fresh statement of ``kind`` by ``actor`` at ``now`` with a random nonce."""
    stmt: JsonObject = {
        "kind": kind,
        "actor": actor,
        "ts": format_ts(now),
        "nonce": b64encode(rand(NONCE_BYTES)),
    }
    for name, value in fields.items():
        if name in stmt:
            raise SchemaError(name, "is a common field and cannot be overridden")
        stmt[name] = value
    return stmt


def sign_statement(stmt: Mapping[str, Any], key: Ed25519PrivateKey) -> SignedStatement:
    """Sign ``canonical(stmt)`` with ``key`` (Ed25519 is deterministic: RFC 8032 5.1.6)."""
    if not isinstance(stmt, Mapping):
        raise SchemaError("stmt", "must be a JSON object")
    body = canonical(stmt)  # encoded once: the bytes signed are the bytes kept
    return SignedStatement.trusted(dict(stmt), body, key.sign(body))
