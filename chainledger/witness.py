"""Witness cosignatures of checkpoints (c2sp.org/tlog-cosignature, signature type 0x04).

The ledger's witnesses are its registered, active auditors. A witness's key name
is its party id (``p_`` + base32: a valid C2SP key name) and its verifier is the
type 0x04 verifier of its current Ed25519 key, whose key ID is
SHA-256(name || 0x0A || 0x04 || public key)[:4]. A cosignature line is the
signed-note line ``— <party id> base64(key ID || timestamp || signature)``,
where the timestamp is a big-endian uint64 of seconds since the Unix epoch and
the signature covers ``cosignature/v1\\ntime <timestamp>\\n`` + checkpoint body.

Pure functions only: no store, no clock. Everything is delegated to
`chainledger.note` (`Cosigner`, `Verifier`, `parse_note`); nothing here
reimplements Ed25519 or the note format.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger.checkpoint import parse_checkpoint_body
from chainledger.errors import BadSignature, MalformedInput
from chainledger.note import (
    ALG_COSIGNATURE_V1,
    BadSignatureLine,
    BadVerifierKey,
    Cosigner,
    NoteSignature,
    Verifier,
    check_key_name,
    key_id,
    parse_note,
)

__all__ = [
    "MAX_TIMESTAMP",
    "CosignatureKeyMismatch",
    "check_cosignature",
    "cosign_checkpoint",
    "parse_cosignature_line",
    "witness_verifier",
]

#: tlog-cosignature: the timestamp MUST NOT exceed 2**63 - 1.
MAX_TIMESTAMP = 2**63 - 1


class CosignatureKeyMismatch(BadSignature):
    """The line names another key (name or key ID) than the witness it was checked against."""

    code = "cosignature_key_mismatch"


def witness_verifier(party_id: str, public_key: bytes) -> Verifier:
    """The type 0x04 (timestamped cosignature) verifier of witness ``party_id``.

    Raises `BadKeyName` if ``party_id`` is not a valid key name and
    `BadVerifierKey` if ``public_key`` is not 32 bytes.
    """
    check_key_name(party_id)
    if len(public_key) != 32:
        raise BadVerifierKey(f"Ed25519 keys are 32 bytes, not {len(public_key)}")
    return Verifier(
        party_id, key_id(party_id, ALG_COSIGNATURE_V1, public_key), ALG_COSIGNATURE_V1, public_key
    )


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise MalformedInput("cosignature timestamp", "must be an integer")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise MalformedInput("cosignature timestamp", "must be between 0 and 2**63 - 1")


def cosign_checkpoint(note_text: str, party_id: str, key: Ed25519PrivateKey, timestamp: int) -> str:
    """The cosignature line (ending in a newline) of witness ``party_id`` at ``timestamp``.

    Signs the body (note text) of the signed checkpoint ``note_text``. It does
    NOT verify the log's signature or consistency: the witness must have done so
    before calling. Raises `MalformedInput` (a subclass) if ``note_text`` is not
    a signed note whose body is a checkpoint, or the timestamp is out of range.
    """
    _check_timestamp(timestamp)
    body = parse_note(note_text).text
    parse_checkpoint_body(body)
    return Cosigner(party_id, key).cosign(body, timestamp).line()


def parse_cosignature_line(line: str) -> NoteSignature:
    """Parse one untrusted signature line, with or without its final newline.

    Uses the signed-note parser (em dash, key name, canonical base64, no control
    characters), and refuses text holding more than one line.
    """
    if not isinstance(line, str):
        raise BadSignatureLine("must be a string")
    text = line if line.endswith("\n") else line + "\n"
    # A one-line dummy note body: parse_note splits at the last blank line.
    note = parse_note("x\n\n" + text)
    if len(note.signatures) != 1 or note.text != "x\n":
        raise BadSignatureLine("expected exactly one signature line")
    return note.signatures[0]


def check_cosignature(checkpoint_body: str, line: str, verifier: Verifier) -> int:
    """Verify ``line`` as ``verifier``'s cosignature of ``checkpoint_body``; return its timestamp.

    Raises `MalformedInput` (a subclass) for a line that does not parse,
    `BadVerifierKey` if ``verifier`` is not a cosignature (type 0x04) key,
    `CosignatureKeyMismatch` if the line names another key name or key ID, and
    `BadNoteSignature` (both are `BadSignature`, a `VerificationError`) if the
    signature, or its timestamp, is invalid.
    """
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise BadVerifierKey("not a cosignature (type 0x04) key")
    sig = parse_cosignature_line(line)
    if sig.name != verifier.name or sig.key_id != verifier.key_id:
        raise CosignatureKeyMismatch(f"the cosignature is not by witness {verifier.name}")
    timestamp = verifier.verify(checkpoint_body, sig.signature)
    assert timestamp is not None  # type 0x04 always carries one
    return timestamp
