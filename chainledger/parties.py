"""Parties and their keys: registration, rotation, suspension, reinstatement.

Roles: the platform (genesis), issuers (departments), holders (citizens and
enterprises), counters (windows, kiosks, bus stations) and auditors. A party's
id is derived from its first public key and never changes.

* ``party.register`` (platform): issuers, counters and auditors need the
  platform's approval; holders are registered by the platform's identity
  service after it has checked their real-world identity. The new key proves
  possession by signing a proof-of-possession message (``pop``).
  Holders carry no name on the ledger (a name is personal data): they are bound
  to their real-world identifier only by a keyed hash (HMAC) held off the
  ledger, in the bindings table, written in the same transaction.
* ``party.rotate`` (the party, signed by its current key): a new key, with its
  proof of possession.
* ``party.suspend`` (platform): a compromised key stops working at once;
  history is not rewritten (entries signed before stay valid).
* ``party.reinstate`` (platform): after suspension, with a new key.

Every key a party has had stays known (the ``party_keys`` projection: the seq of
the entry that gave it, and the key), so a signature is judged by the key its
signer had when it signed, and a client can prove that key from the log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger.crypto import party_id, public_key_bytes, public_key_from_bytes, verify_signature
from chainledger.encoding import JsonObject, b64decode, b64encode, canonical
from chainledger.errors import BadSignature, MalformedInput, SchemaError
from chainledger.rules import ROLE_PLATFORM, STATUS_ACTIVE, Context, Kind, Refused
from chainledger.statement import SignedStatement
from chainledger.store.base import PartyRow, StateReader, StateWriter

__all__ = [
    "ROLES",
    "STATUS_SUSPENDED",
    "Registration",
    "binding_hash",
    "kinds",
    "pop_message",
    "proof_of_possession",
]

ROLE_ISSUER = "issuer"
ROLE_HOLDER = "holder"
ROLE_COUNTER = "counter"
ROLE_AUDITOR = "auditor"
ROLES = frozenset({ROLE_ISSUER, ROLE_HOLDER, ROLE_COUNTER, ROLE_AUDITOR})
STATUS_SUSPENDED = "suspended"
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_REASON = re.compile(r"[a-z][a-z0-9_]{0,39}")


def pop_message(party: str, role: str) -> bytes:
    """What a new key signs to prove that its owner holds it (for ``party`` in ``role``)."""
    return canonical({"kind": "party.pop", "party": party, "role": role})


def proof_of_possession(key: Ed25519PrivateKey, role: str) -> str:
    """The base64 ``pop`` of ``key`` for a registration or rotation in ``role``."""
    return b64encode(key.sign(pop_message(party_id(public_key_bytes(key)), role)))


def binding_hash(binding_key: bytes, real_id: str) -> bytes:
    """HMAC-SHA256 (RFC 2104) of a real-world identifier under the platform's binding key.

    Without the key (kept outside the database) the hash reveals nothing about the id.
    """
    return hmac.new(binding_key, real_id.encode("utf-8"), hashlib.sha256).digest()


class Registration:
    """A registration's side data, never on the ledger: the holder's identity binding."""

    def __init__(self, keyed_hash: bytes | None) -> None:
        self.keyed_hash = keyed_hash


def _key(stmt: SignedStatement, name: str = "key") -> bytes:
    value = stmt.stmt.get(name)
    if not isinstance(value, str):
        raise SchemaError(name, "must be a base64 Ed25519 public key")
    try:
        key = b64decode(value, name, 32)
        public_key_from_bytes(key)  # refuses weak (small-order) keys
    except MalformedInput as exc:
        raise SchemaError(name, exc.reason) from None
    return key


def _check_pop(key: bytes, party: str, role: str, pop: object) -> None:
    """``pop`` must be ``key``'s signature of `pop_message` (a rotated key signs for the
    party's unchanging id)."""
    if not isinstance(pop, str):
        raise SchemaError("pop", "must be a base64 signature")
    try:
        sig = b64decode(pop, "pop", 64)
    except MalformedInput as exc:
        raise SchemaError("pop", exc.reason) from None
    try:
        verify_signature(key, sig, pop_message(party, role))
    except BadSignature:
        raise Refused("bad_proof_of_possession", "the new key did not sign its pop") from None


def _check_attrs(role: str, attrs: object) -> dict[str, Any]:
    if not isinstance(attrs, dict):
        raise SchemaError("attrs", "must be an object")
    expected: dict[str, set[str]] = {
        ROLE_ISSUER: {"authorities"},
        ROLE_COUNTER: {"counter_type"},
        ROLE_HOLDER: {"subject"},
        ROLE_AUDITOR: set(),
    }
    if set(attrs) != expected[role]:
        names = ", ".join(sorted(expected[role])) or "nothing"
        raise SchemaError("attrs", f"a {role} has exactly: {names}")
    if role == ROLE_ISSUER:
        auth = attrs["authorities"]
        if (
            not isinstance(auth, list)
            or not auth
            or not all(isinstance(a, str) and _CODE.fullmatch(a) for a in auth)
        ):
            raise SchemaError("attrs", "authorities must be a non-empty list of codes")
    if role == ROLE_COUNTER and not (
        isinstance(attrs["counter_type"], str) and _CODE.fullmatch(attrs["counter_type"])
    ):
        raise SchemaError("attrs", "counter_type must be a code")
    if role == ROLE_HOLDER and attrs["subject"] not in ("person", "enterprise"):
        raise SchemaError("attrs", "subject must be person or enterprise")
    return attrs


def _check_register(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    role, party, name = s["role"], s["party"], s["name"]
    if role not in ROLES:
        raise SchemaError("role", "must be issuer, holder, counter or auditor")
    key = _key(stmt)
    if party != party_id(key):
        raise SchemaError("party", "must be the party id of the key")
    if not isinstance(name, str) or len(name) > 100:
        raise SchemaError("name", "must be a string of at most 100 characters")
    if role == ROLE_HOLDER and name:
        # A holder's name is personal data: it lives in its assets, never on the ledger.
        raise SchemaError("name", "must be empty for holders")
    if role != ROLE_HOLDER and not name:
        raise SchemaError("name", "must name the department, counter or office")
    _check_attrs(role, s["attrs"])
    if state.party(party) is not None:
        raise Refused("already_registered", f"{party} is already registered")
    binding = ctx.attachment.keyed_hash if isinstance(ctx.attachment, Registration) else None
    if binding is not None and state.binding(binding) is not None:
        # Checked here, in sequence order inside the write transaction: two concurrent
        # registrations of one identity cannot both pass.
        raise Refused("identity_already_bound", "this identity already has a wallet")
    _check_pop(key, party, role, s["pop"])


def _apply_register(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    w.put_party(
        PartyRow(s["party"], s["role"], s["name"], _key(stmt), STATUS_ACTIVE, ctx.seq, s["attrs"])
    )
    w.add_party_key(s["party"], ctx.seq, _key(stmt))
    if isinstance(ctx.attachment, Registration) and ctx.attachment.keyed_hash is not None:
        w.bind(ctx.attachment.keyed_hash, s["party"])


def _check_rotate(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    party = state.party(stmt.actor)
    assert party is not None  # admit checked the actor
    if party.role == ROLE_PLATFORM:
        raise Refused("platform_key", "the platform key changes only in a key ceremony")
    key = _key(stmt)
    if key == party.public_key:
        raise Refused("same_key", "the new key is the current key")
    _check_pop(key, stmt.actor, party.role, stmt.stmt["pop"])


def _apply_rotate(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    party = w.party(stmt.actor)
    assert party is not None
    w.put_party(
        PartyRow(party.id, party.role, party.name, _key(stmt), party.status, ctx.seq, party.attrs)
    )
    w.add_party_key(party.id, ctx.seq, _key(stmt))


def _target(state: StateReader, stmt: SignedStatement) -> PartyRow:
    target = stmt.stmt["party"]
    party = state.party(target) if isinstance(target, str) else None
    if party is None:
        raise Refused("party_unknown", "no such party")
    if party.role == ROLE_PLATFORM:
        raise Refused("platform_key", "the platform cannot suspend itself")
    reason = stmt.stmt.get("reason")
    if reason is not None and not (isinstance(reason, str) and _REASON.fullmatch(reason)):
        raise SchemaError("reason", "must be a reason code")
    return party


def _check_suspend(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    if _target(state, stmt).status != STATUS_ACTIVE:
        raise Refused("not_active", "the party is already suspended")


def _apply_suspend(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    p = _target(w, stmt)
    w.put_party(PartyRow(p.id, p.role, p.name, p.public_key, STATUS_SUSPENDED, ctx.seq, p.attrs))


def _check_reinstate(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    party = _target(state, stmt)
    if party.status != STATUS_SUSPENDED:
        raise Refused("not_suspended", "only a suspended party is reinstated")
    key = _key(stmt)
    if key == party.public_key:
        raise Refused("same_key", "a reinstated party gets a new key")
    _check_pop(key, party.id, party.role, stmt.stmt["pop"])


def _apply_reinstate(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    p = _target(w, stmt)
    w.put_party(PartyRow(p.id, p.role, p.name, _key(stmt), STATUS_ACTIVE, ctx.seq, p.attrs))
    w.add_party_key(p.id, ctx.seq, _key(stmt))


def register_fields(
    key: bytes, role: str, name: str, attrs: dict[str, Any], pop: str
) -> JsonObject:
    """The fields of a ``party.register`` statement."""
    return {
        "party": party_id(key),
        "role": role,
        "name": name,
        "key": b64encode(key),
        "pop": pop,
        "attrs": attrs,
    }


PLATFORM = frozenset({ROLE_PLATFORM})
ANY_PARTY = frozenset(ROLES)


def kinds() -> list[Kind]:
    return [
        Kind(
            "party.register",
            PLATFORM,
            frozenset({"party", "role", "name", "key", "pop", "attrs"}),
            _check_register,
            _apply_register,
        ),
        Kind("party.rotate", ANY_PARTY, frozenset({"key", "pop"}), _check_rotate, _apply_rotate),
        Kind(
            "party.suspend",
            PLATFORM,
            frozenset({"party", "reason"}),
            _check_suspend,
            _apply_suspend,
        ),
        Kind(
            "party.reinstate",
            PLATFORM,
            frozenset({"party", "key", "pop"}),
            _check_reinstate,
            _apply_reinstate,
        ),
    ]
