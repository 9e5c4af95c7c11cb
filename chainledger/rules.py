"""Admission and projection rules, one `Kind` per statement kind.

The sequencer asks, for each statement in sequence order and inside the write
transaction: whose key must have signed it (`Rules.signing_key`), whether it
may be appended now (`Rules.admit`: the actor's role and status, then
`Kind.check` against the projections as every earlier entry left them), and,
once appended, how it changes the projections (`Kind.apply`). `verify` replays
the same rules over the stored entries, so the ledger's history is checked by
the very code that admitted it.

Some kinds are *recorded when refused* (a counter's read request): after the
request is authenticated, any refusal appends a platform-signed entry saying
so (`Kind.on_refusal` builds it), and the caller gets a `Refused` carrying its
receipt. Every counter request therefore has exactly one entry.

The log core defines two kinds: ``genesis`` (entry 0: the platform's key, the
origin and the hash suite) and ``note`` (a platform remark, e.g. a key
ceremony). The domain adds its kinds through `Rules.with_kinds`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chainledger.crypto import SUITES, HashSuite, party_id, public_key_from_bytes
from chainledger.encoding import JsonObject, b64decode
from chainledger.errors import (
    ChainledgerError,
    ClockSkew,
    MalformedInput,
    NotAllowed,
    Replay,
    SchemaError,
)
from chainledger.note import check_key_name
from chainledger.statement import COMMON_FIELDS, SignedStatement
from chainledger.store.base import LogReader, PartyRow, StateReader, StateWriter

__all__ = [
    "ROLE_PLATFORM",
    "STATUS_ACTIVE",
    "Context",
    "Kind",
    "Refused",
    "Rules",
    "UnknownActor",
    "check_fields",
    "core_rules",
    "genesis_fields",
    "refusal_reason",
]

ROLE_PLATFORM = "platform"
STATUS_ACTIVE = "active"
MAX_NOTE_CHARS = 4096


class UnknownActor(ChainledgerError):
    """No party with this id is registered: its signature cannot be checked."""

    code = "unknown_actor"


class Refused(NotAllowed):
    """A request refused for a stated ``reason`` (a stable code, no personal data).

    For kinds recorded when refused, the sequencer attaches the ``receipt`` of
    the refusal's own ledger entry before handing the error to the caller.
    """

    code = "refused"

    def __init__(self, reason: str, detail: str = "", receipt: Any = None) -> None:
        super().__init__(f"refused ({reason})" + (f": {detail}" if detail else ""))
        self.reason = reason
        self.detail = detail
        self.receipt = receipt


def refusal_reason(exc: ChainledgerError) -> str:
    """The reason code recorded for a refusal."""
    if isinstance(exc, Refused):
        return exc.reason
    if isinstance(exc, Replay):
        return "replay"
    if isinstance(exc, ClockSkew):
        return "clock_skew"
    if isinstance(exc, SchemaError | MalformedInput):
        return "malformed"
    return "not_allowed"


@dataclass(slots=True)
class Context:
    """Where a statement lands: its seq and the ledger's time (the entry's ``ts``).

    ``attachment`` is side data submitted with the statement and never written
    to the ledger (an issued asset's encrypted values); it is None when
    `verify` replays history. ``suite`` is the ledger's hash suite; ``log`` the
    entries so far (when `verify` replays into scratch projections, the
    projections are new but the log is the one being verified).

    Read-only by contract but not frozen: one is built for every entry, and compiled
    (`chainledger.compiled`) a frozen dataclass is built by Python-level attribute
    setting, about ten times the cost of a plain one.
    """

    seq: int
    ts: str
    attachment: Any = None
    suite: HashSuite = SUITES["sha256"]
    log: LogReader | None = None


Check = Callable[[StateReader, SignedStatement, Context], None]
Apply = Callable[[StateWriter, SignedStatement, Context], None]
OnRefusal = Callable[[SignedStatement, str], JsonObject]
#: For kinds without their own ``on_refusal``: ``(refusal kind, fields)`` of the platform's
#: record of a refused, authenticated statement, or None to leave it unrecorded.
RecordRefusal = Callable[[SignedStatement, str], "tuple[str, JsonObject] | None"]


@dataclass(frozen=True, slots=True)
class Kind:
    """The rules of one statement kind.

    ``fields`` are the kind-specific members (all required unless listed in
    ``optional``; no others allowed). ``roles`` may make it. ``on_refusal``,
    if set, builds the fields of the platform's refusal entry for a refused,
    authenticated request of this kind. ``max_age``, if set, lets a statement's
    ``ts`` lie that far in the past (a record made offline and sent later);
    otherwise it must be within the ledger's skew window.
    """

    name: str
    roles: frozenset[str]
    fields: frozenset[str]
    check: Check
    apply: Apply
    optional: frozenset[str] = frozenset()
    on_refusal: OnRefusal | None = None
    refusal_kind: str = ""
    max_age: timedelta | None = None


def check_fields(stmt: SignedStatement, kind: Kind) -> None:
    """Exactly the common fields plus the kind's own (a closed schema)."""
    present = set(stmt.stmt) - set(COMMON_FIELDS)
    missing = kind.fields - kind.optional - present
    if missing:
        raise SchemaError(sorted(missing)[0], f"required by {kind.name}")
    extra = present - kind.fields
    if extra:
        raise SchemaError(sorted(extra)[0], f"not a field of {kind.name}")


class Rules:
    """The set of statement kinds a ledger accepts."""

    def __init__(self, kinds: Iterable[Kind], record_refusal: RecordRefusal | None = None) -> None:
        self.kinds = {k.name: k for k in kinds}
        self.record_refusal = record_refusal

    def with_kinds(self, kinds: Iterable[Kind]) -> Rules:
        return Rules([*self.kinds.values(), *kinds], self.record_refusal)

    def recording(self, record_refusal: RecordRefusal) -> Rules:
        """These rules, recording refusals of kinds without their own ``on_refusal``."""
        return Rules(self.kinds.values(), record_refusal)

    def refusal(self, stmt: SignedStatement, reason: str) -> tuple[str, JsonObject] | None:
        """The platform's record of the refused, authenticated ``stmt``: (kind, fields),
        or None when this refusal is not recorded."""
        kind = self.kinds.get(stmt.kind)
        if kind is not None and kind.on_refusal is not None:
            return kind.refusal_kind, kind.on_refusal(stmt, reason)
        if self.record_refusal is not None:
            return self.record_refusal(stmt, reason)
        return None

    def kind(self, name: str) -> Kind:
        try:
            return self.kinds[name]
        except KeyError:
            raise SchemaError("kind", f"unknown statement kind {name!r}") from None

    def signing_key(self, state: StateReader, stmt: SignedStatement) -> bytes:
        """The public key that must have signed ``stmt``, as of now.

        Genesis carries its own key; every other actor must be a registered
        party (suspended ones included: their requests are still attributable,
        and `admit` refuses them).
        """
        if stmt.kind == "genesis":
            return genesis_fields(stmt)[2]
        party = state.party(stmt.actor)
        if party is None:
            raise UnknownActor(f"unknown actor {stmt.actor}")
        return party.public_key

    def admit(self, state: StateReader, stmt: SignedStatement, ctx: Context) -> Kind:
        """Run the kind's schema, role, status and state checks; return the kind."""
        kind = self.kind(stmt.kind)
        check_fields(stmt, kind)
        if stmt.kind != "genesis":
            party = state.party(stmt.actor)
            if party is None or party.role not in kind.roles:
                role = party.role if party else "unknown"
                raise Refused("role", f"a {role} may not make {kind.name} statements")
            if party.status != STATUS_ACTIVE:
                raise Refused("actor_suspended", f"actor {stmt.actor} is {party.status}")
        kind.check(state, stmt, ctx)
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
        public_key_from_bytes(key)  # refuses weak (small-order) keys
    except MalformedInput as exc:
        raise SchemaError("key", exc.reason) from None
    if party_id(key) != stmt.actor:
        raise SchemaError("actor", "must be the party id of the genesis key")
    return origin, str(suite_name), key


def _check_genesis(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    # That genesis is entry 0 and only entry 0 is enforced by the sequencer and by verify.
    genesis_fields(stmt)


def _apply_genesis(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    _, _, key = genesis_fields(stmt)
    w.put_party(PartyRow(stmt.actor, ROLE_PLATFORM, "platform", key, STATUS_ACTIVE, ctx.seq))
    w.add_party_key(stmt.actor, ctx.seq, key)


# --- note --------------------------------------------------------------------------------------


def _check_note(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    text = stmt.stmt["text"]
    if not isinstance(text, str) or not 0 < len(text) <= MAX_NOTE_CHARS:
        raise SchemaError("text", f"must be a string of 1 to {MAX_NOTE_CHARS} characters")


def apply_nothing(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    """For kinds that change no projection: they are only recorded."""


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
                "note", frozenset({ROLE_PLATFORM}), frozenset({"text"}), _check_note, apply_nothing
            ),
        ]
    )
