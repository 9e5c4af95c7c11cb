"""Reads and refused reads: the counter's request, checked in sequence order.

``access.read`` is the counter's signed request (grant, asset, fields,
purpose, and for a one-time QR grant its secret). It is admitted only if, in
this order: the counter is registered and active (`Rules.admit`); the grant
exists, is active, has begun and has not expired, and is for this counter (or,
for a QR grant, for this counter's type); the purpose is the grant's; the asset
is the grant holder's, in its scope and active and within its validity; every
field is within both the grant and the scenario; a use is left; the secret
matches. Admitted, the request is itself the ledger entry, and only after its
commit are values released (by `chainledger.domain`).

Refused after authentication, the request is recorded by the platform as
``access.denied`` (the request's hash, the counter, the grant and asset named
in it, and the reason code): every counter request has exactly one entry.

``access.read_offline`` records a read the counter made while the network was
down, from a presentation bundle the holder's wallet exported (values, salts,
the issuer-signed entry and proofs; checked by the counter against its cached
keys and checkpoint). The counter signed it at the time of the read and sends
it when it is back online: its ``ts`` may be up to `OFFLINE_MAX_AGE` old (any
other statement must be within the ledger's skew window), and it is judged at
that time: the grant had begun and not expired, the asset was valid on that
day. Status is judged now: a grant revoked or an asset revoked by the time the
record arrives is refused (the counter learns that its offline acceptance did
not stand), and the refusal is recorded with ``offline: true``. ``checkpoint``
is the size of the checkpoint the counter verified the bundle against. No
values are released for it: the counter got them from the holder.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from chainledger.encoding import JsonObject, b64decode
from chainledger.errors import MalformedInput, SchemaError
from chainledger.grants import existing_grant
from chainledger.rules import ROLE_PLATFORM, Context, Kind, Refused
from chainledger.statement import SignedStatement
from chainledger.store.base import StateReader, StateWriter
from chainledger.store.projections import AccessRow

__all__ = ["OFFLINE_MAX_AGE", "REASONS", "kinds", "offline_fields", "read_fields", "request_hash"]

#: How old an offline read may be when it reaches the ledger.
OFFLINE_MAX_AGE = timedelta(hours=72)
OFFLINE = "access.read_offline"

#: Reason codes of refused reads (besides replay, clock_skew, malformed, role, actor_suspended).
REASONS = (
    "grant_unknown", "grant_revoked", "grant_not_yet_valid", "grant_expired", "wrong_counter",
    "purpose_mismatch", "asset_unknown", "asset_not_in_grant", "asset_revoked",
    "asset_superseded", "asset_erased", "asset_not_yet_valid", "asset_expired",
    "field_not_granted", "field_not_in_scenario", "grant_exhausted", "bad_secret",
)  # fmt: skip


def request_hash(stmt: SignedStatement) -> str:
    """Hex SHA-256 of a request's canonical bytes: how a refusal names its request."""
    return hashlib.sha256(stmt.body).hexdigest()


def _check_read(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    _check_read_at(state, stmt, ctx.ts)


def _check_offline(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    size = stmt.stmt["checkpoint"]
    # The checkpoint the counter held cannot include the record of the read itself.
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= ctx.seq:
        raise SchemaError("checkpoint", "must be the size of a checkpoint before this entry")
    _check_read_at(state, stmt, stmt.ts)


def _check_read_at(state: StateReader, stmt: SignedStatement, at: str) -> None:
    """The read rules, with the grant's window and the asset's validity judged at ``at``."""
    s = stmt.stmt
    fields = s["fields"]
    if (
        not isinstance(fields, list)
        or not fields
        or not all(isinstance(f, str) for f in fields)
        or len(set(fields)) != len(fields)
    ):
        raise SchemaError("fields", "must be a non-empty list of distinct field names")
    grant = existing_grant(state, stmt)
    if grant.status != "active":
        raise Refused("grant_revoked", "the holder revoked the grant")
    if at < grant.not_before:
        raise Refused("grant_not_yet_valid", "the grant has not begun")
    if at >= grant.expires:
        raise Refused("grant_expired", "the grant has expired")
    scenario = state.scenario(grant.scenario)
    assert scenario is not None  # checked when the grant was created
    if grant.grantee is None:
        counter = state.party(stmt.actor)
        assert counter is not None
        if counter.attrs.get("counter_type") != scenario["counter_type"]:
            raise Refused("wrong_counter", "this counter does not serve the grant's scenario")
    elif grant.grantee != stmt.actor:
        raise Refused("wrong_counter", "the grant is for another counter")
    if s["purpose"] != grant.purpose:
        raise Refused("purpose_mismatch", "the purpose is not the grant's")
    asset = state.asset(s["asset"]) if isinstance(s["asset"], str) else None
    if asset is None:
        raise Refused("asset_unknown", "no such asset")
    if (
        asset.holder != grant.holder
        or asset.cls not in grant.scope
        or (grant.assets is not None and asset.id not in grant.assets)
    ):
        raise Refused("asset_not_in_grant", "the grant does not cover this asset")
    if asset.status != "active":
        raise Refused(f"asset_{asset.status}", f"the asset is {asset.status}")
    today = at[:10]
    if today < asset.valid_from:
        raise Refused("asset_not_yet_valid", "the asset is not yet valid")
    if asset.valid_until is not None and today > asset.valid_until:
        raise Refused("asset_expired", "the asset has expired")
    if not set(fields) <= set(grant.scope[asset.cls]):
        raise Refused("field_not_granted", "a field is outside the grant")
    if not set(fields) <= set(scenario["reads"].get(asset.cls, ())):
        raise Refused("field_not_in_scenario", "a field is outside the scenario")
    if grant.uses >= grant.max_uses:
        raise Refused("grant_exhausted", "no uses left")
    if grant.secret_hash is not None:
        secret = s.get("secret")
        try:
            raw = b64decode(secret, "secret", 32) if isinstance(secret, str) else b""
        except MalformedInput:
            raw = b""
        expected = b64decode(grant.secret_hash, "secret_hash", 32)
        if not raw or not hmac.compare_digest(hashlib.sha256(raw).digest(), expected):
            raise Refused("bad_secret", "the presentation secret does not match")
    elif "secret" in s:
        raise SchemaError("secret", "only a one-time grant takes a secret")


def _apply_read(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    grant = existing_grant(w, stmt)
    w.grant_used(grant.id, grant.uses + 1)
    asset = w.asset(stmt.stmt["asset"])
    assert asset is not None
    w.add_access(
        AccessRow(
            ctx.seq, ctx.ts, stmt.actor, asset.holder, asset.id, asset.cls, asset.issuer,
            grant.id, grant.purpose, "read", "offline" if stmt.kind == OFFLINE else None,
        )
    )  # fmt: skip


def _on_refusal(stmt: SignedStatement, reason: str) -> JsonObject:
    s = stmt.stmt

    def ident(name: str, prefix: str) -> str | None:
        # Only well-formed ids are copied into the refusal: never free text from a request.
        value = s.get(name)
        if isinstance(value, str) and len(value) == 18 and value.startswith(prefix):
            return value if value[2:].isalnum() else None
        return None

    out: JsonObject = {
        "request": request_hash(stmt),
        "counter": stmt.actor,
        "grant": ident("grant", "g_"),
        "asset": ident("asset", "a_"),
        "reason": reason,
    }
    if stmt.kind == OFFLINE:
        out["offline"] = True
    return out


def _check_denied(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    if not isinstance(s["request"], str) or len(s["request"]) != 64:
        raise SchemaError("request", "must be a hex SHA-256")
    counter = state.party(s["counter"]) if isinstance(s["counter"], str) else None
    if counter is None:
        raise SchemaError("counter", "must be a registered party")
    if not isinstance(s["reason"], str) or not s["reason"]:
        raise SchemaError("reason", "must be a reason code")
    if s.get("offline", True) is not True:
        raise SchemaError("offline", "is true when present")


def _apply_denied(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    grant = w.grant(s["grant"]) if s["grant"] else None
    asset = w.asset(s["asset"]) if s["asset"] else None
    holder = asset.holder if asset else (grant.holder if grant else None)
    w.add_access(
        AccessRow(
            ctx.seq, ctx.ts, s["counter"], holder, asset.id if asset else None,
            asset.cls if asset else None, asset.issuer if asset else None,
            grant.id if grant else None, grant.purpose if grant else None, "denied",
            s["reason"],
        )
    )  # fmt: skip


def read_fields(
    grant: str, asset: str, fields: list[str], purpose: str, secret: str | None = None
) -> dict[str, Any]:
    """The fields of an ``access.read`` statement."""
    out: dict[str, Any] = {"grant": grant, "asset": asset, "fields": fields, "purpose": purpose}
    if secret is not None:
        out["secret"] = secret
    return out


def offline_fields(read: dict[str, Any], checkpoint: int) -> dict[str, Any]:
    """The fields of an ``access.read_offline`` statement: a read's (`read_fields`) and the
    size of the checkpoint the counter verified the bundle against."""
    return {**read, "checkpoint": checkpoint}


_READ = frozenset({"grant", "asset", "fields", "purpose", "secret"})


def kinds() -> list[Kind]:
    return [
        Kind(
            "access.read",
            frozenset({"counter"}),
            _READ,
            _check_read,
            _apply_read,
            optional=frozenset({"secret"}),
            on_refusal=_on_refusal,
            refusal_kind="access.denied",
        ),
        Kind(
            OFFLINE,
            frozenset({"counter"}),
            _READ | {"checkpoint"},
            _check_offline,
            _apply_read,
            optional=frozenset({"secret"}),
            on_refusal=_on_refusal,
            refusal_kind="access.denied",
            max_age=OFFLINE_MAX_AGE,
        ),
        Kind(
            "access.denied",
            frozenset({ROLE_PLATFORM}),
            frozenset({"request", "counter", "grant", "asset", "reason", "offline"}),
            _check_denied,
            _apply_denied,
            optional=frozenset({"offline"}),
        ),
    ]
