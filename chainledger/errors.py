"""The errors chainledger raises, each with a stable machine-readable ``code``.

The HTTP layer maps these codes to RFC 9457 problem responses in one table; the
CLI prints ``str(error)`` as its one-line message. Messages never contain a
personal field value: they name fields, never quote them.

Two families are kept apart on purpose (pymerkle's ``InvalidChallenge`` vs
``InvalidProof``): a *request* that cannot be answered (index past the end of
the tree, a malformed statement) is the caller's mistake; a *verification*
failure (a proof or signature that does not check out) is evidence that someone
is lying, and is reported as such.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadSignature",
    "ChainledgerError",
    "ClockSkew",
    "Conflict",
    "InvalidChallenge",
    "LedgerCorrupt",
    "MalformedInput",
    "NotAllowed",
    "NotFound",
    "Overloaded",
    "Replay",
    "SchemaError",
    "StoreUnavailable",
    "VerificationError",
]


class ChainledgerError(Exception):
    """Base class. ``code`` is stable across releases; clients may switch on it."""

    code: ClassVar[str] = "error"


# --- the caller asked for something malformed or impossible -------------------------------


class MalformedInput(ChainledgerError, ValueError):
    """Input that does not parse: bad JSON, bad base64, wrong lengths, bad note text."""

    code = "malformed"

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"malformed {what}: {reason}")
        self.what = what
        self.reason = reason


class SchemaError(ChainledgerError, ValueError):
    """Well-formed input whose fields do not satisfy the schema of its kind."""

    code = "schema"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid field {field!r}: {reason}")
        self.field = field
        self.reason = reason


class InvalidChallenge(ChainledgerError, ValueError):
    """A proof was requested (or presented) for a question with no answer.

    Examples: a leaf index at or past the tree size, a tree size of zero, a
    consistency proof from a larger tree to a smaller one.
    """

    code = "invalid_challenge"


class NotFound(ChainledgerError, LookupError):
    code = "not_found"


class NotAllowed(ChainledgerError):
    """The actor is known but may not do this."""

    code = "not_allowed"


class Conflict(ChainledgerError):
    code = "conflict"


class Replay(Conflict):
    """The (actor, nonce) pair of a statement was already sequenced."""

    code = "replay"


class ClockSkew(Conflict):
    """A statement's ``ts`` lies outside the ledger's accepted window."""

    code = "clock_skew"


class Overloaded(ChainledgerError):
    """The sequencer's queue is full; retry after ``retry_after`` seconds."""

    code = "overloaded"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"sequencer queue is full; retry after {retry_after:g} s")
        self.retry_after = retry_after


class StoreUnavailable(ChainledgerError):
    """The database could not be reached, or the connection to it was lost during the
    operation (a server restart, a terminated backend, a network cut): an operational
    failure, not the caller's, that is expected to pass; retry after ``retry_after``
    seconds.

    Nothing half-done remains: an open transaction was rolled back by the server. A write
    whose COMMIT was lost in flight may have been committed, whole: retrying the same
    signed statement then meets `Replay` (its nonce is on the ledger), never a second copy.
    The message names neither the database nor any value.
    """

    code = "store_unavailable"

    def __init__(self, retry_after: float = 1.0) -> None:
        super().__init__(f"the ledger's database is unreachable; retry after {retry_after:g} s")
        self.retry_after = retry_after


# --- verification failed: evidence of tampering or of a lying server -----------------------


class VerificationError(ChainledgerError):
    """Base of every failed verification (signature, proof, checkpoint, ledger)."""

    code = "verification_failed"


class BadSignature(VerificationError):
    code = "bad_signature"


class LedgerCorrupt(VerificationError):
    """Stored ledger data that does not hold: the first bad entry (or checkpoint) that
    `verify` found, or what a read or write met in what it needed (an entry row that no
    longer decodes, a missing Merkle node, a tip that cannot be read back). Not the caller's fault:
    the operator runs ``chainledger verify`` for the whole story.

    ``seq`` is the first bad sequence number (None when the fault is not tied
    to one entry, e.g. a bad key file), ``what`` says what failed, never quoting a
    stored value.
    """

    code = "ledger_corrupt"

    def __init__(self, seq: int | None, what: str) -> None:
        where = f"seq {seq}" if seq is not None else "ledger"
        super().__init__(f"{where}: {what}")
        self.seq = seq
        self.what = what
