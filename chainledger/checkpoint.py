"""C2SP tlog-checkpoints (c2sp.org/tlog-checkpoint): a log's signed tree head.

The note text is ``<origin>\\n<size>\\n<base64 root>\\n`` plus optional non-empty
extension lines; it is signed as a C2SP signed note (`chainledger.note`). Our
log's key name equals its origin, as the spec recommends; verifiers accept
other logs' checkpoints whose key name differs (sum.golang.org's does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chainledger.encoding import b64decode, b64encode
from chainledger.errors import MalformedInput, VerificationError
from chainledger.note import (  # the signed-note API, re-exported: a checkpoint is a note
    Cosigner,
    Note,
    NoteSignature,
    Signer,
    Verifier,
    format_note,
    open_note,
    parse_note,
    parse_verifier_key,
)

__all__ = [
    "MAX_TREE_SIZE",
    "Checkpoint",
    "CheckpointBadRoot",
    "CheckpointBadSize",
    "CheckpointEmptyExtension",
    "CheckpointEmptyOrigin",
    "CheckpointTooShort",
    "Cosigner",
    "Note",
    "NoteSignature",
    "OriginMismatch",
    "SignedCheckpoint",
    "Signer",
    "Verifier",
    "add_signatures",
    "format_note",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint_body",
    "parse_note",
    "parse_verifier_key",
    "sign_checkpoint",
    "verify_checkpoint",
]

MAX_TREE_SIZE = 2**64 - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)


class CheckpointTooShort(MalformedInput):
    def __init__(self) -> None:
        super().__init__(
            "checkpoint", "needs origin, size and root hash lines, each ending in newline"
        )


class CheckpointEmptyOrigin(MalformedInput):
    def __init__(self) -> None:
        super().__init__("checkpoint", "empty origin line")


class CheckpointBadSize(MalformedInput):
    def __init__(self) -> None:
        super().__init__("checkpoint", "tree size must be a decimal uint64 without leading zeros")


class CheckpointBadRoot(MalformedInput):
    def __init__(self, reason: str) -> None:
        super().__init__("checkpoint", f"root hash {reason}")


class CheckpointEmptyExtension(MalformedInput):
    def __init__(self) -> None:
        super().__init__("checkpoint", "extension lines must be non-empty")


class OriginMismatch(VerificationError):
    """A valid checkpoint, but of another log than the one expected."""

    code = "origin_mismatch"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: which log, how many leaves, and the RFC 9162 root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The checkpoint note text, ending in a newline."""
        ext = "".join(line + "\n" for line in self.extensions)
        return f"{self.origin}\n{self.size}\n{b64encode(self.root)}\n{ext}"


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with its signed note and the known keys that verified it."""

    checkpoint: Checkpoint
    note: Note
    verified_by: tuple[Verifier, ...]

    @property
    def text(self) -> str:
        return format_note(self.note)


def parse_checkpoint_body(text: str, *, hash_size: int | None = 32) -> Checkpoint:
    """Parse a checkpoint note text. ``hash_size=None`` skips the root length check.

    Raises one named `MalformedInput` subclass per malformation.
    """
    if not text.endswith("\n"):
        raise CheckpointTooShort()
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointTooShort()
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointEmptyOrigin()
    # 2**64 - 1 has 20 digits: check the length before int(), which refuses >4300 digits.
    if len(size_text) > 20 or not _DECIMAL.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
        raise CheckpointBadSize()
    try:
        root = b64decode(root_text, "root hash")
    except MalformedInput:
        raise CheckpointBadRoot("is not standard base64") from None
    if hash_size is not None and len(root) != hash_size:
        raise CheckpointBadRoot(f"must be {hash_size} bytes, not {len(root)}")
    if any(not line for line in extensions):
        raise CheckpointEmptyExtension()
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note text of ``checkpoint``, signed by ``signer``."""
    body = checkpoint.body()
    return format_note(Note(body, (signer.sign(body),)))


def add_signatures(note_text: str, signatures: list[NoteSignature]) -> str:
    """``note_text`` with more signature lines appended (e.g. witness cosignatures)."""
    note = parse_note(note_text)
    known = {(s.name, s.key_id) for s in note.signatures}
    extra = tuple(s for s in signatures if (s.name, s.key_id) not in known)
    return format_note(Note(note.text, note.signatures + extra))


def open_checkpoint(
    note_text: str | bytes,
    verifiers: list[Verifier],
    *,
    origin: str | None = None,
    hash_size: int | None = 32,
) -> SignedCheckpoint:
    """Verify a signed checkpoint against known keys and parse its body.

    Raises `UnverifiedNote`/`BadNoteSignature` on signature problems, a
    `MalformedInput` subclass on a bad body, and `OriginMismatch` when
    ``origin`` is given and differs.
    """
    note, verified = open_note(note_text, verifiers)
    checkpoint = parse_checkpoint_body(note.text, hash_size=hash_size)
    if origin is not None and checkpoint.origin != origin:
        raise OriginMismatch(f"checkpoint is for origin {checkpoint.origin!r}, not {origin!r}")
    return SignedCheckpoint(checkpoint, note, tuple(verified))


def verify_checkpoint(note: str, vkey: str, *, origin: str | None = None) -> Checkpoint:
    """Verify that ``note`` is a checkpoint signed by ``vkey`` and return it.

    Accepts any number of signatures from unknown keys beside the valid one;
    raises otherwise (see `open_checkpoint`).
    """
    return open_checkpoint(note, [parse_verifier_key(vkey)], origin=origin).checkpoint
