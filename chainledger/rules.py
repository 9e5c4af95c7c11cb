"""Admission and projection rules, one `Kind` per statement kind.

The sequencer asks, for each statement in sequence order and inside the write
transaction: whose key must have signed it (`signing_key`), whether it may be
appended now (`Kind.check`, against the projections as they stand after every
earlier entry), and, once appended, how it changes the projections
(`Kind.apply`). `verify` replays the same rules over the stored entries, so the
ledger's history is checked by the very code that admitted it.

The log core defines two kinds: ``genesis`` (entry 0: the platform's key, the
origin and the hash suite) and ``note`` (a platform remark, e.g. a key
ceremony). The domain adds its kinds through `Rules.with_kinds`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chainledger.crypto import SUITES, party_id
from chainledger.encoding import b64decode
from chainledger.errors import ChainledgerError, MalformedInput, NotAllowed, SchemaError
from chainledger.note import check_key_name
from chainledger.statement import COMMON_FIELDS, SignedStatement
from chainledger.store.base import LogReader, LogWriter, PartyRow

__all__ = [
    "ROLE_PLATFORM",
    "Kind",
    "Rules",
    "UnknownActor",
    "check_fields",
    "core_rules",
    "genesis_fields",
]

ROLE_PLATFORM = "platform"
STATUS_ACTIVE = "active"
MAX_NOTE_CHARS = 4096


class UnknownActor(ChainledgerError):
    """No party with this id is registered: its signature cannot be checked."""

    code = "unknown_actor"


Check = Callable[[LogReader, SignedStatement], None]
Apply = Callable[[LogWriter, int, SignedStatement], None]


@dataclass(frozen=True, slots=True)
class Kind:
    """The rules of one statement kind.

    ``fields`` are the kind-specific members (all required unless listed in
    ``optional``; no others allowed). ``roles`` may make it.
    """

    name: str
    roles: frozenset[str]
    fields: frozenset[str]
    check: Check
    apply: Apply
    optional: frozenset[str] = frozenset()


def check_fields(stmt: SignedStatement, kind: Kind) -> None:
    """Exactly the common fields plus the kind's own (RFC-style closed schema)."""
    present = set(stmt.stmt) - set(COMMON_FIELDS)
    missing = kind.fields - kind.optional - present
    if missing:
        raise SchemaError(sorted(missing)[0], f"required by {kind.name}")
    extra = present - kind.fields
    if extra:
        raise SchemaError(sorted(extra)[0], f"not a field of {kind.name}")


class Rules:
    """The set of statement kinds a ledger accepts."""

    def __init__(self, kinds: Iterable[Kind]) -> None:
        self.kinds = {k.name: k for k in kinds}

    def with_kinds(self, kinds: Iterable[Kind]) -> Rules:
        return Rules([*self.kinds.values(), *kinds])

    def kind(self, name: str) -> Kind:
        try:
            return self.kinds[name]
        except KeyError:
            raise SchemaError("kind", f"unknown statement kind {name!r}") from None

    def signing_key(self, state: LogReader, stmt: SignedStatement) -> bytes:
        """The public key that must have signed ``stmt``, as of now.

        Genesis carries its own key; every other actor must be a registered,
        active party.
        """
        if stmt.kind == "genesis":
            return genesis_fields(stmt)[2]
        party = state.party(stmt.actor)
        if party is None:
            raise UnknownActor(f"unknown actor {stmt.actor}")
        if party.status != STATUS_ACTIVE:
            raise NotAllowed(f"actor {stmt.actor} is {party.status}")
        return party.public_key

    def admit(self, state: LogReader, stmt: SignedStatement) -> Kind:
        """Run the kind's schema, role and state checks; return the kind."""
        kind = self.kind(stmt.kind)
        check_fields(stmt, kind)
        if stmt.kind != "genesis":
            party = state.party(stmt.actor)
            if party is None or party.role not in kind.roles:
                role = party.role if party else "unknown"
                raise NotAllowed(f"a {role} may not make {kind.name} statements")
        kind.check(state, stmt)
        return kind


# --- genesis -----------------------------------------------------------------------------------


def genesis_fields(stmt: SignedStatement) -> tuple[str, str, bytes]:
    """(origin, suite name, platform public key) of a genesis statement, checked."""
    origin, suite_name, key_b64 = (stmt.stmt.get(k) for k in ("origin", "suite", "key"))
    if not isinstance(origin, str):
        raise SchemaError("origin", "must be a string")
    try:
        check_key_name(origin)
    except MalformedInput:
        raise SchemaError("origin", "must be a non-empty log name without spaces or '+'") from None
    if suite_name not in SUITES:
        raise SchemaError("suite", "must be sha256 or sm3")
    if not isinstance(key_b64, str):
        raise SchemaError("key", "must be a base64 Ed25519 public key")
    try:
        key = b64decode(key_b64, "key", 32)
    except MalformedInput as exc:
        raise SchemaError("key", exc.reason) from None
    if party_id(key) != stmt.actor:
        raise SchemaError("actor", "must be the party id of the genesis key")
    return origin, str(suite_name), key


def _check_genesis(state: LogReader, stmt: SignedStatement) -> None:
    # That genesis is entry 0 and only entry 0 is enforced by the sequencer and by verify.
    genesis_fields(stmt)


def _apply_genesis(w: LogWriter, seq: int, stmt: SignedStatement) -> None:
    _, _, key = genesis_fields(stmt)
    w.put_party(PartyRow(stmt.actor, ROLE_PLATFORM, "platform", key, STATUS_ACTIVE, seq))


# --- note --------------------------------------------------------------------------------------


def _check_note(state: LogReader, stmt: SignedStatement) -> None:
    text = stmt.stmt["text"]
    if not isinstance(text, str) or not 0 < len(text) <= MAX_NOTE_CHARS:
        raise SchemaError("text", f"must be a string of 1 to {MAX_NOTE_CHARS} characters")


def _apply_nothing(w: LogWriter, seq: int, stmt: SignedStatement) -> None:
    """Notes change no projection: they are only recorded."""


def core_rules() -> Rules:
    """The log core's kinds: ``genesis`` and ``note``."""
    return Rules(
        [
            Kind(
                "genesis",
                frozenset(),
                frozenset({"origin", "suite", "key"}),
                _check_genesis,
                _apply_genesis,
            ),
            Kind(
                "note", frozenset({ROLE_PLATFORM}), frozenset({"text"}), _check_note, _apply_nothing
            ),
        ]
    )
