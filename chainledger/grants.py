"""Grants: a holder's signed authorization for a counter to read chosen fields.

``grant.create`` (holder): for one service scenario and its purpose, a grantee
(a counter; or, for a one-time QR presentation, no grantee and the hash of a
secret shown only in the QR code), a scope (class -> fields, within what the
scenario allows), optionally an explicit list of assets, a validity window
and a number of uses. ``grant.revoke`` (holder) ends it at once. Its id is
derived from (holder, nonce).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from chainledger.clock import check_ts, parse_ts
from chainledger.crypto import derived_id
from chainledger.encoding import b64decode, b64encode
from chainledger.errors import MalformedInput, SchemaError
from chainledger.rules import Context, Kind, Refused
from chainledger.statement import SignedStatement
from chainledger.store.base import StateReader, StateWriter
from chainledger.store.projections import AssetRow, GrantRow

__all__ = ["MAX_GRANT_DAYS", "MAX_USES", "grant_id", "kinds", "secret_hash"]

MAX_GRANT_DAYS = 366
MAX_USES = 100_000
ACTIVE, REVOKED = "active", "revoked"


def grant_id(holder: str, nonce: str) -> str:
    return derived_id("g", holder, nonce)


def secret_hash(secret: bytes) -> str:
    """What a one-time grant stores of its QR secret: base64 SHA-256."""
    return b64encode(hashlib.sha256(secret).digest())


def _scope(stmt: SignedStatement, scenario: dict[str, Any]) -> dict[str, list[str]]:
    scope = stmt.stmt["scope"]
    if not isinstance(scope, dict) or not scope:
        raise SchemaError("scope", "must map classes to fields")
    for cls, fields in scope.items():
        allowed = scenario["reads"].get(cls)
        if allowed is None:
            raise Refused("class_not_in_scenario", f"{cls} is not read in this scenario")
        if (
            not isinstance(fields, list)
            or not fields
            or len(set(fields)) != len(fields)
            or not all(isinstance(f, str) for f in fields)
        ):
            raise SchemaError("scope", f"fields of {cls} must be a non-empty list without repeats")
        if not set(fields) <= set(allowed):
            raise Refused("field_not_in_scenario", f"the scenario does not read all of {cls}")
    return scope


def covered_assets(state: StateReader, grant: GrantRow) -> list[AssetRow]:
    """The holder's active assets a grant covers (explicit list, or all of its classes)."""
    if grant.assets is not None:
        found = [state.asset(a) for a in grant.assets]
        return [a for a in found if a is not None]
    return [a for a in state.assets_of(grant.holder) if a.cls in grant.scope and a.status == ACTIVE]


def _check_create(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    scenario = state.scenario(s["scenario"]) if isinstance(s["scenario"], str) else None
    if scenario is None:
        raise Refused("scenario_unknown", "no such scenario")
    if s["purpose"] != scenario["purpose"]:
        raise Refused("purpose_mismatch", "the purpose is not the scenario's")
    grantee = s["grantee"]
    if grantee is None:
        if s["secret_hash"] is None:
            raise SchemaError("secret_hash", "a grant without grantee is a QR grant: needs one")
    else:
        counter = state.party(grantee) if isinstance(grantee, str) else None
        if counter is None or counter.role != "counter":
            raise Refused("grantee_unknown", "the grantee is not a registered counter")
        if counter.attrs.get("counter_type") != scenario["counter_type"]:
            raise Refused("wrong_counter_type", "the counter does not serve this scenario")
    if s["secret_hash"] is not None:
        try:
            b64decode(s["secret_hash"], "secret_hash", 32)
        except MalformedInput as exc:
            raise SchemaError("secret_hash", exc.reason) from None
    scope = _scope(stmt, scenario)
    assets = s["assets"]
    if assets is not None:
        if (
            not isinstance(assets, list)
            or not assets
            or not all(isinstance(a, str) for a in assets)
        ):
            raise SchemaError("assets", "must be null or a non-empty list of asset ids")
        for aid in assets:
            asset = state.asset(aid)
            if asset is None or asset.holder != stmt.actor:
                raise Refused("asset_not_holders", "a grant covers only the holder's own assets")
            if asset.cls not in scope:
                raise Refused("asset_not_in_scope", "an asset's class is not in the scope")
    try:
        start, end = parse_ts(check_ts(s["not_before"])), parse_ts(check_ts(s["expires"]))
    except MalformedInput as exc:
        raise SchemaError("expires", exc.reason) from None
    if not start < end <= start + timedelta(days=MAX_GRANT_DAYS):
        raise SchemaError("expires", f"must be after not_before, within {MAX_GRANT_DAYS} days")
    uses = s["max_uses"]
    if not isinstance(uses, int) or isinstance(uses, bool) or not 0 < uses <= MAX_USES:
        raise SchemaError("max_uses", f"must be 1 to {MAX_USES}")


def _apply_create(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    row = GrantRow(
        grant_id(stmt.actor, stmt.nonce), stmt.actor, s["grantee"], s["scenario"], s["purpose"],
        s["scope"], s["assets"], s["not_before"], s["expires"], s["max_uses"], 0,
        s["secret_hash"], ACTIVE, ctx.seq,
    )  # fmt: skip
    w.put_grant(row)
    for a in covered_assets(w, row):
        if a.authorized_seq is None:
            w.put_asset(
                AssetRow(
                    a.id, a.cls, a.holder, a.issuer, a.status, a.valid_from, a.valid_until,
                    a.seq, ctx.seq,
                )
            )  # fmt: skip


def existing_grant(state: StateReader, stmt: SignedStatement) -> GrantRow:
    gid = stmt.stmt["grant"]
    grant = state.grant(gid) if isinstance(gid, str) else None
    if grant is None:
        raise Refused("grant_unknown", "no such grant")
    return grant


def _check_revoke(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    grant = existing_grant(state, stmt)
    if grant.holder != stmt.actor:
        raise Refused("not_holder", "only the holder revokes a grant")
    if grant.status != ACTIVE:
        raise Refused("grant_revoked", "already revoked")


def with_changes(g: GrantRow, *, uses: int | None = None, status: str | None = None) -> GrantRow:
    return GrantRow(
        g.id, g.holder, g.grantee, g.scenario, g.purpose, g.scope, g.assets, g.not_before,
        g.expires, g.max_uses, g.uses if uses is None else uses, g.secret_hash,
        g.status if status is None else status, g.seq,
    )  # fmt: skip


def _apply_revoke(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    w.put_grant(with_changes(existing_grant(w, stmt), status=REVOKED))


def create_fields(
    *, scenario: str, purpose: str, scope: dict[str, list[str]], grantee: str | None,
    not_before: str, expires: str, max_uses: int, assets: list[str] | None = None,
    secret_hash: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The fields of a ``grant.create`` statement."""
    return {
        "scenario": scenario,
        "purpose": purpose,
        "scope": scope,
        "grantee": grantee,
        "assets": assets,
        "not_before": not_before,
        "expires": expires,
        "max_uses": max_uses,
        "secret_hash": secret_hash,
    }


CREATE_FIELDS = frozenset(
    {
        "scenario", "purpose", "scope", "grantee", "assets", "not_before", "expires",
        "max_uses", "secret_hash",
    }
)  # fmt: skip


def kinds() -> list[Kind]:
    holder = frozenset({"holder"})
    return [
        Kind(
            "grant.create",
            holder,
            CREATE_FIELDS,
            _check_create,
            _apply_create,
        ),
        Kind("grant.revoke", holder, frozenset({"grant"}), _check_revoke, _apply_revoke),
    ]
