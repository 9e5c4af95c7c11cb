"""Recorded refusals of requests other than counter reads (``request.denied``).

A counter's refused read has its own record (``access.denied``). For every other
request whose actor is authenticated (its signature verified against a registered
key), the refusals that are security events are recorded too, by the platform, so
auditors see attempts and not only successes:

- a replayed nonce and a timestamp outside the skew window;
- a privilege escalation: a role that may not make the kind (``role``), a suspended
  (perhaps stolen) key (``actor_suspended``), an issuer outside its authority
  (``not_authority``), a party acting on another holder's asset or grant
  (``not_holder``, ``asset_not_holders``).

That holds for statements (`record_refusal`, run by the sequencer) and for RFC 9421
signed HTTP requests (recorded by the API through `chainledger.domain.Domain.record_denied`:
replays, skew, a suspended key, a role or holder refused by a route). Ordinary mistakes
(schema errors, a grant that does not exist) are not recorded: they are answered and
change nothing. Neither is anything an unauthenticated request asks (an unknown actor, a
bad signature): nobody is known to have asked, and the ledger must not be writable by
anyone who has no registered key.

The record names the party that asked, *what* was asked (a statement kind or an HTTP route
template, never a path with values), the SHA-256 of the request and a reason code.

A refusal is recorded once per request and reason. The platform's record of a refusal
(this kind, or a counter's ``access.denied``) carries a nonce derived from its content
(`refusal_nonce`), not a random one: the same request refused again for the same reason
(a captured statement or signed request replayed, at any later time) makes a record with
an (actor, nonce) the ledger already holds, and the sequencer answers with the refusal
without appending anything. Whoever holds one captured request cannot grow the ledger by
replaying it. The same request refused for another reason (``clock_skew``, later
``replay``) is another record. For the same reason, a refusal record that is itself
replayed or late is not recorded (`record_refusal`): records are public, and a record of
each replayed record would be a new request to replay, without end.
"""

from __future__ import annotations

import hashlib
import re

from chainledger.encoding import JsonObject, b64encode, canonical
from chainledger.errors import SchemaError
from chainledger.rules import ROLE_PLATFORM, Context, Kind, apply_nothing
from chainledger.statement import NONCE_BYTES, SignedStatement
from chainledger.store.base import StateReader

KIND = "request.denied"
#: Refusals of an authenticated party acting beyond what it may do.
ESCALATIONS = frozenset(
    {"role", "actor_suspended", "not_authority", "not_holder", "asset_not_holders"}
)
#: Refusal reasons recorded for statements of kinds without their own refusal record.
RECORDED = frozenset({"replay", "clock_skew"}) | ESCALATIONS
#: The kinds of the platform's refusal records (a counter's refused read: ``access.denied``).
RECORDS = frozenset({KIND, "access.denied"})
#: Reasons a refusal record itself is refused for and that are never recorded (see above).
_ALREADY_SEEN = frozenset({"replay", "clock_skew"})
#: Domain separation of `refusal_nonce` (versioned: a change of derivation is a new tag).
_NONCE_TAG = b"chainledger refusal nonce v1\n"
_WHAT = re.compile(r"[A-Za-z0-9_.{}/ -]{1,100}")
_REASON = re.compile(r"[a-z_]{1,40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def denied_fields(actor: str, what: str, request: bytes, reason: str) -> JsonObject:
    """The fields of a ``request.denied`` entry; ``request`` is hashed, never stored."""
    return {
        "party": actor,
        "what": what,
        "request": hashlib.sha256(request).hexdigest(),
        "reason": reason,
    }


def refusal_nonce(kind: str, fields: JsonObject) -> str:
    """The nonce of the platform's refusal record of ``kind`` saying ``fields``: the first
    `NONCE_BYTES` of a domain-separated SHA-256 of the kind and the canonical fields, in
    the statements' nonce form (base64).

    The fields name the refused request by its SHA-256 and the reason, so one request
    refused for one reason always gives one nonce, whatever the time; a different
    request, party or reason gives another. The record's (platform, nonce) pair then
    makes a repeated refusal a replay of the record, which the ledger holds once. Only
    the platform signs as the platform, so nobody else can take these nonces first.
    """
    digest = hashlib.sha256(_NONCE_TAG + canonical({"kind": kind, "fields": fields})).digest()
    return b64encode(digest[:NONCE_BYTES])


def record_refusal(stmt: SignedStatement, reason: str) -> tuple[str, JsonObject] | None:
    """For `chainledger.rules.Rules.recording`: the reasons in `RECORDED` (the sequencer
    calls it only for statements whose signature verified against a registered key),
    except a refusal record (`RECORDS`) refused as replayed or late: that is the record
    already on the ledger coming back, and recording it would only make a new one to
    replay (a record refused for another reason, e.g. one forged by a party without the
    platform role, is recorded)."""
    if reason not in RECORDED:
        return None
    if stmt.kind in RECORDS and reason in _ALREADY_SEEN:
        return None
    return KIND, denied_fields(stmt.actor, stmt.kind, stmt.body, reason)


def _check(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    if not isinstance(s["party"], str) or state.party(s["party"]) is None:
        raise SchemaError("party", "must be a registered party")
    if not isinstance(s["what"], str) or not _WHAT.fullmatch(s["what"]):
        raise SchemaError("what", "must be a statement kind or a route template")
    if not isinstance(s["request"], str) or not _HEX64.fullmatch(s["request"]):
        raise SchemaError("request", "must be a hex SHA-256")
    if not isinstance(s["reason"], str) or not _REASON.fullmatch(s["reason"]):
        raise SchemaError("reason", "must be a reason code")


def kinds() -> list[Kind]:
    return [
        Kind(
            KIND,
            frozenset({ROLE_PLATFORM}),
            frozenset({"party", "what", "request", "reason"}),
            _check,
            apply_nothing,
        )
    ]
