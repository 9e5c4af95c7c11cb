"""Assets (e-licences): issued by an authority to a holder, revoked, re-issued, erased.

The ledger keeps only salted per-field digests (as SD-JWT does, RFC 9901 §4.2):
``digest = H(salt || canonical([name, value]))`` with a fresh 128-bit salt per
field and the ledger's hash suite, so a digest reveals nothing about a value
that cannot be guessed together with its salt. Values and salts (the
*disclosures*, ``{field: [salt_b64, value]}``) live encrypted in the vault.

* ``asset.issue`` (issuer): class, holder, digests, validity; ``supersedes``
  re-issues an asset (the old one becomes superseded). Its id is derived from
  (issuer, nonce). The issuer must be an authority for the class; the holder's
  subject kind must match the class's.
* ``asset.revoke`` (the issuing authority).
* ``asset.erase`` (the holder, or the platform on a lawful request): the vault
  record is destroyed in the same transaction (crypto-shredding).
* ``asset.disclose`` (the holder): the holder asks for the values and salts of
  chosen fields of its own active asset, to carry them in an offline
  presentation bundle. Recorded first, released (to the holder only) after the
  commit, like a counter's read: every release of values has its entry.

`verify_disclosures` is what a counter runs: the released values must hash to
the digests the issuer signed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from chainledger.crypto import HashSuite, Rand, derived_id
from chainledger.encoding import b64decode, b64encode, canonical
from chainledger.errors import MalformedInput, SchemaError, VerificationError
from chainledger.fieldtypes import check_value
from chainledger.rules import ROLE_PLATFORM, Context, Kind, Refused, apply_nothing
from chainledger.statement import SignedStatement
from chainledger.store.base import StateReader, StateWriter
from chainledger.store.projections import AssetRow, VaultRecord

__all__ = [
    "SALT_BYTES",
    "DisclosureMismatch",
    "asset_id",
    "digest",
    "kinds",
    "make_disclosures",
    "verify_disclosures",
]

SALT_BYTES = 16
ACTIVE, REVOKED, SUPERSEDED, ERASED = "active", "revoked", "superseded", "erased"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_REASON = re.compile(r"[a-z][a-z0-9_]{0,39}")


class DisclosureMismatch(VerificationError):
    """A released value does not hash to the digest its issuer signed."""

    code = "disclosure_mismatch"


def asset_id(issuer: str, nonce: str) -> str:
    """The id of the asset an ``asset.issue`` statement creates."""
    return derived_id("a", issuer, nonce)


def digest(suite: HashSuite, salt: bytes, name: str, value: Any) -> bytes:
    """H(salt || canonical([name, value]))."""
    return suite.hash(salt + canonical([name, value]))


def make_disclosures(values: Mapping[str, Any], rand: Rand) -> dict[str, list[Any]]:
    """Salt each field: ``{field: [salt_b64, value]}``."""
    return {name: [b64encode(rand(SALT_BYTES)), value] for name, value in values.items()}


def digests_of(suite: HashSuite, disclosures: Mapping[str, list[Any]]) -> dict[str, str]:
    return {
        name: b64encode(digest(suite, b64decode(salt, "salt", SALT_BYTES), name, value))
        for name, (salt, value) in disclosures.items()
    }


def verify_disclosures(
    suite: HashSuite, digests: Mapping[str, str], disclosures: Mapping[str, Any]
) -> None:
    """Raise `DisclosureMismatch` unless every disclosure matches its signed digest."""
    for name, pair in disclosures.items():
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise DisclosureMismatch(f"disclosure of {name!r} is not [salt, value]")
        want = digests.get(name)
        if want is None:
            raise DisclosureMismatch(f"field {name!r} has no signed digest")
        try:
            salt = b64decode(pair[0], "salt", SALT_BYTES)
        except MalformedInput:
            raise DisclosureMismatch(f"salt of {name!r} is malformed") from None
        if b64encode(digest(suite, salt, name, pair[1])) != want:
            raise DisclosureMismatch(f"value of {name!r} does not match its signed digest")


def check_values(cls: Mapping[str, Any], values: Mapping[str, Any], today: date) -> None:
    """Schema validation of an issue's values against its class (messages name fields only)."""
    fields = {f["name"]: f for f in cls["fields"]}
    for name in values:
        if name not in fields:
            raise SchemaError(name, "is not a field of this class")
    for name, field in fields.items():
        if name not in values:
            if not field.get("optional"):
                raise SchemaError(name, "required but missing")
            continue
        check_value(field, values[name], today=today)


def _date(stmt: SignedStatement, name: str, *, optional: bool = False) -> str | None:
    value = stmt.stmt.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise SchemaError(name, "must be a date YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise SchemaError(name, "is not a real calendar date") from None
    return value


def _check_issue(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    cls = state.catalog_class(s["class"]) if isinstance(s["class"], str) else None
    if cls is None:
        raise Refused("class_unknown", "no such asset class")
    issuer = state.party(stmt.actor)
    assert issuer is not None
    if cls["authority"] not in issuer.attrs.get("authorities", []):
        raise Refused("not_authority", f"the issuer is not an authority for {cls['class']}")
    holder = state.party(s["holder"]) if isinstance(s["holder"], str) else None
    if holder is None or holder.role != "holder":
        raise Refused("holder_unknown", "the holder is not a registered holder")
    if holder.attrs.get("subject") != cls["subject"]:
        raise Refused("wrong_subject", f"{cls['class']} is for a {cls['subject']}")
    digests = s["digests"]
    names = {f["name"] for f in cls["fields"]}
    required = {f["name"] for f in cls["fields"] if not f.get("optional")}
    if not isinstance(digests, dict) or not required <= set(digests) <= names:
        raise SchemaError("digests", "must cover the class's fields, and only those")
    for name, d in digests.items():
        try:
            b64decode(d, "digest", 32)
        except MalformedInput:
            raise SchemaError("digests", f"digest of {name!r} is not 32 bytes of base64") from None
    valid_from = _date(stmt, "valid_from")
    valid_until = _date(stmt, "valid_until", optional=True)
    if valid_until is not None and valid_from is not None and valid_until < valid_from:
        raise SchemaError("valid_until", "is before valid_from")
    old_id = s.get("supersedes")
    if old_id is not None:
        old = state.asset(old_id) if isinstance(old_id, str) else None
        if old is None:
            raise Refused("asset_unknown", "the superseded asset does not exist")
        if (old.cls, old.holder) != (s["class"], s["holder"]) or old.status != ACTIVE:
            raise Refused("not_supersedable", "only an active asset of the same class and holder")
    if isinstance(ctx.attachment, VaultRecord) and ctx.attachment.asset != asset_id(
        stmt.actor, stmt.nonce
    ):
        raise SchemaError("attachment", "vault record is for another asset")


def _apply_issue(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    new = asset_id(stmt.actor, stmt.nonce)
    w.put_asset(
        AssetRow(
            new, s["class"], s["holder"], stmt.actor, ACTIVE, s["valid_from"],
            s.get("valid_until"), ctx.seq, None,
        )
    )  # fmt: skip
    if isinstance(ctx.attachment, VaultRecord):
        w.vault_put(ctx.attachment)
    old_id = s.get("supersedes")
    if old_id is not None:
        old = w.asset(old_id)
        assert old is not None
        w.put_asset(_with_status(old, SUPERSEDED))


def _with_status(a: AssetRow, status: str) -> AssetRow:
    return AssetRow(
        a.id, a.cls, a.holder, a.issuer, status, a.valid_from, a.valid_until, a.seq,
        a.authorized_seq,
    )  # fmt: skip


def _existing(state: StateReader, stmt: SignedStatement) -> AssetRow:
    aid = stmt.stmt["asset"]
    asset = state.asset(aid) if isinstance(aid, str) else None
    if asset is None:
        raise Refused("asset_unknown", "no such asset")
    return asset


def _check_reason(stmt: SignedStatement, name: str) -> None:
    value = stmt.stmt[name]
    if not isinstance(value, str) or not _REASON.fullmatch(value):
        raise SchemaError(name, "must be a reason code")


def _check_revoke(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    _check_reason(stmt, "reason")
    asset = _existing(state, stmt)
    issuer = state.party(stmt.actor)
    cls = state.catalog_class(asset.cls)
    assert issuer is not None
    assert cls is not None
    if cls["authority"] not in issuer.attrs.get("authorities", []):
        raise Refused("not_authority", "only the class's authority revokes its assets")
    if asset.status != ACTIVE:
        raise Refused(f"asset_{asset.status}", "only an active asset is revoked")


def _apply_revoke(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    w.put_asset(_with_status(_existing(w, stmt), REVOKED))


def _check_erase(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    basis = stmt.stmt["basis"]
    if basis not in ("holder_request", "lawful_request"):
        raise SchemaError("basis", "must be holder_request or lawful_request")
    asset = _existing(state, stmt)
    actor = state.party(stmt.actor)
    assert actor is not None
    if actor.role == ROLE_PLATFORM:
        if basis != "lawful_request":
            raise Refused("basis", "the platform erases only on a lawful request")
    elif asset.holder != stmt.actor:
        raise Refused("not_holder", "only the asset's holder asks for its erasure")
    if asset.status == ERASED:
        raise Refused("asset_erased", "already erased")


def _apply_erase(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    asset = _existing(w, stmt)
    w.put_asset(_with_status(asset, ERASED))
    w.vault_destroy(asset.id)


def _check_disclose(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    asset = _existing(state, stmt)
    if asset.holder != stmt.actor:
        raise Refused("not_holder", "only the asset's holder exports its values")
    if asset.status != "active":
        raise Refused(f"asset_{asset.status}", f"the asset is {asset.status}")
    fields = stmt.stmt["fields"]
    cls = state.catalog_class(asset.cls)
    assert cls is not None  # checked when the asset was issued
    names = {f["name"] for f in cls["fields"]}
    if (
        not isinstance(fields, list)
        or not fields
        or not all(isinstance(f, str) and f in names for f in fields)
        or len(set(fields)) != len(fields)
    ):
        raise SchemaError("fields", "must be distinct fields of the asset's class")


def issue_fields(
    cls: str, holder: str, digests: dict[str, str], valid_from: str, valid_until: str | None,
    supersedes: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The fields of an ``asset.issue`` statement."""
    fields: dict[str, Any] = {
        "class": cls,
        "holder": holder,
        "digests": digests,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    if supersedes is not None:
        fields["supersedes"] = supersedes
    return fields


def kinds() -> list[Kind]:
    issuer = frozenset({"issuer"})
    return [
        Kind(
            "asset.issue",
            issuer,
            frozenset({"class", "holder", "digests", "valid_from", "valid_until", "supersedes"}),
            _check_issue,
            _apply_issue,
            optional=frozenset({"supersedes"}),
        ),
        Kind("asset.revoke", issuer, frozenset({"asset", "reason"}), _check_revoke, _apply_revoke),
        Kind(
            "asset.erase",
            frozenset({"holder", ROLE_PLATFORM}),
            frozenset({"asset", "basis"}),
            _check_erase,
            _apply_erase,
        ),
        Kind(
            "asset.disclose",
            frozenset({"holder"}),
            frozenset({"asset", "fields"}),
            _check_disclose,
            apply_nothing,
        ),
    ]
