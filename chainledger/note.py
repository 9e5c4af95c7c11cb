"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

A signed note is a text ending in a newline, a blank line, then one or more
signature lines ``— <key name> base64(key ID || signature)``. A verifier key is
written ``<name>+<8 hex key ID>+base64(type || public key)``, with key ID =
SHA-256(name || 0x0A || type || public key)[:4].

Two signature types are implemented: 0x01, plain Ed25519 over the note text
(signed-note "Ed25519 signatures"), and 0x04, the timestamped witness
cosignature of c2sp.org/tlog-cosignature, which signs
``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint body.

Untrusted note text is parsed with one named error per malformation. As the
spec requires, signatures from unknown keys are ignored, a known key whose
signature fails rejects the note, and a note with no verified known signature
is rejected.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger.crypto import public_key_bytes, public_key_from_bytes, sha256, verify_signature
from chainledger.encoding import b64decode, b64encode
from chainledger.errors import BadSignature, MalformedInput, VerificationError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "BadKeyName",
    "BadNoteSignature",
    "BadSignatureLine",
    "BadVerifierKey",
    "Cosigner",
    "KeyIdMismatch",
    "Note",
    "NoteControlCharacter",
    "NoteNotUtf8",
    "NoteSignature",
    "NoteTooManySignatures",
    "NoteWithoutSignatures",
    "Signer",
    "UnknownKeyType",
    "UnverifiedNote",
    "Verifier",
    "check_key_name",
    "format_note",
    "key_id",
    "open_note",
    "parse_note",
    "parse_verifier_key",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
#: The spec says verifiers MUST accept at least 16; Go's sumdb/note accepts 100.
MAX_SIGNATURES = 100
EM_DASH = "\u2014"

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_SPACE = re.compile(r"\s")
_CONTROL_OR_NL = re.compile(r"[\x00-\x1f\x7f]")


# --- one named error per malformation -----------------------------------------------------------


class NoteNotUtf8(MalformedInput):
    def __init__(self) -> None:
        super().__init__("signed note", "not valid UTF-8")


class NoteControlCharacter(MalformedInput):
    def __init__(self) -> None:
        super().__init__("signed note", "contains an ASCII control character other than newline")


class NoteWithoutSignatures(MalformedInput):
    def __init__(self) -> None:
        super().__init__("signed note", "no blank line followed by signature lines")


class BadSignatureLine(MalformedInput):
    def __init__(self, reason: str) -> None:
        super().__init__("signature line", reason)


class NoteTooManySignatures(MalformedInput):
    def __init__(self, count: int) -> None:
        super().__init__("signed note", f"{count} signatures; at most {MAX_SIGNATURES} accepted")


class BadKeyName(MalformedInput):
    def __init__(self) -> None:
        super().__init__("key name", "must be non-empty without spaces or '+'")


class BadVerifierKey(MalformedInput):
    def __init__(self, reason: str) -> None:
        super().__init__("verifier key", reason)


class UnknownKeyType(BadVerifierKey):
    def __init__(self, alg: int) -> None:
        super().__init__(f"unknown signature type 0x{alg:02x}")


class KeyIdMismatch(BadVerifierKey):
    def __init__(self) -> None:
        super().__init__("key ID does not match SHA-256(name || 0x0A || type || key)[:4]")


class BadNoteSignature(BadSignature):
    """A signature by a known key does not verify: the whole note is rejected."""

    code = "bad_note_signature"


class UnverifiedNote(VerificationError):
    """No signature from a known key: the note's text must be ignored."""

    code = "unverified_note"


# --- data --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID, and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{EM_DASH} {self.name} {b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed signed note. ``text`` includes its final newline."""

    text: str
    signatures: tuple[NoteSignature, ...]


def check_key_name(name: str) -> None:
    """Key names are non-empty UTF-8 text, with no Unicode spaces and no '+' (signed-note,
    Format)."""
    # Control characters cannot appear in a note at all (signed-note "Format").
    if not name or _SPACE.search(name) or "+" in name or _CONTROL_OR_NL.search(name):
        raise BadKeyName()
    try:
        name.encode("utf-8")  # a lone surrogate cannot be hashed into a key ID
    except UnicodeEncodeError:
        raise BadKeyName() from None


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || alg || public key)[:4] (signed-note "Signatures")."""
    return sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key)[:4]


def _check_text(text: str) -> None:
    if _CONTROL.search(text):
        raise NoteControlCharacter()


def parse_note(data: str | bytes) -> Note:
    """Split untrusted signed-note text into its text and signature lines.

    Verifies nothing: use `open_note` for that.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteNotUtf8() from None
    try:
        data.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates in a str are not UTF-8 either
        raise NoteNotUtf8() from None
    _check_text(data)
    # The text is separated from the signatures by the *last* empty line.
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteWithoutSignatures()
    text, block = data[: split + 1], data[split + 2 :]
    if not block:
        raise NoteWithoutSignatures()
    if not block.endswith("\n"):
        raise BadSignatureLine("the last signature line does not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteTooManySignatures(len(lines))
    return Note(text, tuple(_parse_signature_line(line) for line in lines))


def _parse_signature_line(line: str) -> NoteSignature:
    prefix = EM_DASH + " "
    if not line.startswith(prefix):
        raise BadSignatureLine("does not start with an em dash and a space")
    name, sep, b64 = line[len(prefix) :].partition(" ")
    if not sep:
        raise BadSignatureLine("no space between key name and signature")
    check_key_name(name)
    try:
        raw = b64decode(b64, "signature")
    except MalformedInput:
        raise BadSignatureLine("signature is not canonical standard base64") from None
    if len(raw) < 5:
        raise BadSignatureLine("signature shorter than a key ID and one byte")
    return NoteSignature(name, raw[:4], raw[4:])


def format_note(note: Note) -> str:
    """The wire text of ``note``: text, blank line, signature lines."""
    return note.text + "\n" + "".join(s.line() for s in note.signatures)


# --- keys --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verifier:
    """A verifier key: checks signatures of one type by one (name, key ID)."""

    name: str
    key_id: bytes
    alg: int
    public_key: bytes

    def vkey(self) -> str:
        """The C2SP verifier key string ``name+keyid+base64(type || key)``."""
        return f"{self.name}+{self.key_id.hex()}+{b64encode(bytes([self.alg]) + self.public_key)}"

    def verify(self, text: str, signature: bytes) -> int | None:
        """Raise `BadNoteSignature` unless ``signature`` signs ``text``.

        Returns the cosignature timestamp for type 0x04, None for type 0x01.
        """
        if self.alg == ALG_ED25519:
            message = text.encode("utf-8")
            timestamp = None
        else:
            if len(signature) != 8 + 64:
                raise BadNoteSignature(f"cosignature by {self.name} has the wrong length")
            (timestamp,) = struct.unpack(">Q", signature[:8])
            if timestamp > 2**63 - 1:  # tlog-cosignature: the timestamp MUST NOT exceed it
                raise BadNoteSignature(f"cosignature by {self.name} has an invalid timestamp")
            signature = signature[8:]
            message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
        try:
            verify_signature(self.public_key, signature, message)
        except BadSignature:
            raise BadNoteSignature(f"signature by {self.name} does not verify") from None
        return timestamp


def parse_verifier_key(vkey: object) -> Verifier:
    """Parse ``name+keyid+base64(type || key)``; refuses bad lengths, types and key IDs."""
    if not isinstance(vkey, str):
        raise BadVerifierKey("must be a string")
    parts = vkey.split("+", 2)  # base64 may contain '+': split at most twice
    if len(parts) != 3:
        raise BadVerifierKey("expected name+keyid+key")
    name, hexid, b64 = parts
    check_key_name(name)
    if re.fullmatch(r"[0-9a-f]{8}", hexid) is None:
        raise BadVerifierKey("key ID must be 8 lowercase hex digits")
    try:
        raw = b64decode(b64, "verifier key")
    except MalformedInput:
        raise BadVerifierKey("key is not canonical standard base64") from None
    if not raw:
        raise BadVerifierKey("empty key")
    alg, pub = raw[0], raw[1:]
    if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise UnknownKeyType(alg)
    if len(pub) != 32:
        raise BadVerifierKey(f"Ed25519 keys are 32 bytes, not {len(pub)}")
    try:
        public_key_from_bytes(pub)
    except MalformedInput:
        raise BadVerifierKey("not an Ed25519 public key") from None
    if key_id(name, alg, pub) != bytes.fromhex(hexid):
        raise KeyIdMismatch()
    return Verifier(name, bytes.fromhex(hexid), alg, pub)


class Signer:
    """Signs note text with an Ed25519 key under a key name (signature type 0x01)."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        check_key_name(name)
        self.name = name
        self._key = key
        self.public_key = public_key_bytes(key)
        self.key_id = key_id(name, ALG_ED25519, self.public_key)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, ALG_ED25519, self.public_key)

    def sign(self, text: str) -> NoteSignature:
        if not text.endswith("\n"):
            raise MalformedInput("note text", "must end in a newline")
        _check_text(text)
        return NoteSignature(self.name, self.key_id, self._key.sign(text.encode("utf-8")))


class Cosigner:
    """A witness key: timestamped cosignatures (c2sp.org/tlog-cosignature, type 0x04)."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        check_key_name(name)
        self.name = name
        self._key = key
        self.public_key = public_key_bytes(key)
        self.key_id = key_id(name, ALG_COSIGNATURE_V1, self.public_key)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, ALG_COSIGNATURE_V1, self.public_key)

    def cosign(self, checkpoint_body: str, timestamp: int) -> NoteSignature:
        """Cosign a checkpoint body at ``timestamp`` (seconds since the Unix epoch)."""
        message = f"cosignature/v1\ntime {timestamp}\n{checkpoint_body}".encode()
        sig = self._key.sign(message)
        return NoteSignature(self.name, self.key_id, struct.pack(">Q", timestamp) + sig)


def open_note(
    data: str | bytes | Note, verifiers: Iterable[Verifier]
) -> tuple[Note, list[Verifier]]:
    """Parse and verify a signed note against the known ``verifiers``.

    Returns the note and the known verifiers whose signatures verified (at least
    one). Signatures whose (name, key ID) is unknown are ignored; a known key's
    failing signature raises `BadNoteSignature`; no verified signature raises
    `UnverifiedNote`.
    """
    note = data if isinstance(data, Note) else parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[Verifier] = []
    for sig in note.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            continue
        v.verify(note.text, sig.signature)
        if v not in verified:
            verified.append(v)
    if not verified:
        raise UnverifiedNote("no signature from a known key")
    return note, verified
