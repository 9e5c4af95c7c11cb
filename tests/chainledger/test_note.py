"""C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-cosignature).

Golden vectors and their corruptions, one named error per malformation with one
test each, and round trips (Hypothesis) through format/parse/open.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chainledger.crypto import sha256
from chainledger.encoding import b64decode, b64encode
from chainledger.errors import MalformedInput, VerificationError
from chainledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    MAX_SIGNATURES,
    BadKeyName,
    BadNoteSignature,
    BadSignatureLine,
    BadVerifierKey,
    Cosigner,
    KeyIdMismatch,
    Note,
    NoteControlCharacter,
    NoteNotUtf8,
    NoteSignature,
    NoteTooManySignatures,
    NoteWithoutSignatures,
    Signer,
    UnknownKeyType,
    UnverifiedNote,
    Verifier,
    check_key_name,
    format_note,
    key_id,
    open_note,
    parse_note,
    parse_verifier_key,
)

Vectors = Callable[[str], Any]

EM_DASH = "\u2014"

# The same golden files the `vectors` fixture serves; read here as well so that
# each vector gets its own test id at collection time.
_VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"


def _golden(name: str) -> Any:
    return json.loads((_VECTOR_DIR / name).read_text(encoding="utf-8"))


NOTE_VECTORS = _golden("signed_note_vectors.json")


def _note_vector(vector_id: str) -> dict[str, Any]:
    (found,) = (v for v in NOTE_VECTORS["notes"] if v["id"] == vector_id)
    return found


PETER = _note_vector("go-sumdb-note-peterneumann")
TWO_SIGNERS = _note_vector("go-sumdb-note-two-signers")
PETER_TEXT: str = PETER["signed_text"]
PETER_NOTE: str = PETER["note"]
#: "— PeterNeumann <b64>\n"
PETER_LINE = PETER_NOTE[len(PETER_TEXT) + 1 :]
PETER_B64 = PETER_LINE[len(f"{EM_DASH} PeterNeumann ") : -1]
PETER_VERIFIER = parse_verifier_key(PETER["vkey"])
ENOCH_VERIFIER = parse_verifier_key(TWO_SIGNERS["vkeys"][1])


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def _with_line(line: str) -> str:
    """Peter's note text with one signature line (no final newline added)."""
    return PETER_TEXT + "\n" + line


def _signed(text: str, *signers: Signer) -> str:
    return format_note(Note(text, tuple(s.sign(text) for s in signers)))


# --- golden vectors ----------------------------------------------------------------------------


@pytest.mark.parametrize("vector", NOTE_VECTORS["notes"], ids=lambda v: v["id"])
def test_vector_note_opens_and_round_trips(vector: dict[str, Any]) -> None:
    vkeys = vector["vkeys"] if "vkeys" in vector else [vector["vkey"]]
    verifiers = [parse_verifier_key(k) for k in vkeys]

    note, verified = open_note(vector["note"], verifiers)

    assert note.text == vector["signed_text"]
    assert verified == verifiers
    assert format_note(parse_note(vector["note"])) == vector["note"]
    assert parse_note(vector["note"].encode("utf-8")) == parse_note(vector["note"])
    assert [v.vkey() for v in verifiers] == vkeys


@pytest.mark.parametrize("vector", NOTE_VECTORS["key_id_derivations"], ids=lambda v: v["name"])
def test_vector_key_id_derivation(vector: dict[str, Any]) -> None:
    pub = bytes.fromhex(vector["public_key_hex"])
    preimage = vector["name"].encode("utf-8") + b"\n" + bytes([vector["signature_type"]]) + pub
    assert preimage.hex() == vector["key_id_preimage_hex"]

    assert key_id(vector["name"], vector["signature_type"], pub).hex() == vector["key_id_hex"]
    assert sha256(preimage)[:4].hex() == vector["key_id_hex"]

    verifier = parse_verifier_key(vector["vkey"])
    assert verifier == Verifier(
        vector["name"], bytes.fromhex(vector["key_id_hex"]), vector["signature_type"], pub
    )
    assert verifier.vkey() == vector["vkey"]


def test_peter_neumann_skey_reproduces_the_signature() -> None:
    prefix, kind, name, hexid, b64 = PETER["skey"].split("+", 4)
    assert (prefix, kind, name, hexid) == ("PRIVATE", "KEY", "PeterNeumann", "c74f20a3")
    raw = b64decode(b64)
    assert raw[0] == ALG_ED25519
    assert len(raw) == 33

    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))

    assert signer.key_id.hex() == hexid
    assert signer.verifier() == PETER_VERIFIER
    assert signer.verifier().vkey() == PETER["vkey"]
    sig = signer.sign(PETER["signed_text"])
    assert sig.line() == PETER_LINE
    assert format_note(Note(PETER["signed_text"], (sig,))) == PETER_NOTE


def test_two_signers_only_peter_trusted_verifies_one() -> None:
    note, verified = open_note(TWO_SIGNERS["note"], [PETER_VERIFIER])
    assert verified == [PETER_VERIFIER]
    assert note.text == TWO_SIGNERS["signed_text"]
    assert len(note.signatures) == 2


def test_two_signers_both_trusted_verify_two() -> None:
    _, verified = open_note(TWO_SIGNERS["note"], [ENOCH_VERIFIER, PETER_VERIFIER])
    assert verified == [PETER_VERIFIER, ENOCH_VERIFIER]  # in signature order


def test_two_signers_only_enoch_trusted_verifies_one() -> None:
    _, verified = open_note(TWO_SIGNERS["note"], [ENOCH_VERIFIER])
    assert verified == [ENOCH_VERIFIER]


@pytest.mark.parametrize("trusted", ["none", "unrelated"])
def test_two_signers_no_trusted_key_is_unverified(trusted: str) -> None:
    verifiers = [] if trusted == "none" else [parse_verifier_key(NOTE_VECTORS["notes"][0]["vkey"])]
    with pytest.raises(UnverifiedNote):
        open_note(TWO_SIGNERS["note"], verifiers)


def _vkey_error(why: str) -> type[BadVerifierKey]:
    if why.startswith("unknown algorithm"):
        return UnknownKeyType
    if why.startswith("key id does not match"):
        return KeyIdMismatch
    return BadVerifierKey


@pytest.mark.parametrize("vector", NOTE_VECTORS["negative_vkeys"], ids=lambda v: v["why"][:24])
def test_vector_negative_vkey(vector: dict[str, Any]) -> None:
    with pytest.raises(_vkey_error(vector["why"])):
        parse_verifier_key(vector["vkey"])


def _note_error(expect: str) -> type[VerificationError]:
    if expect.startswith("reject (signature from a known key fails"):
        return BadNoteSignature
    if expect.startswith("reject (no signature from a trusted key"):
        return UnverifiedNote
    pytest.fail(f"unmapped expectation {expect!r}")


@pytest.mark.parametrize(
    "vector", NOTE_VECTORS["negative_notes"], ids=lambda v: v["expect"][8:40].replace(" ", "-")
)
def test_vector_negative_note(vector: dict[str, Any]) -> None:
    verifiers = [parse_verifier_key(k) for k in vector["trusted_vkeys"]]
    with pytest.raises(_note_error(vector["expect"])):
        open_note(vector["note"], verifiers)


# --- verifier keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a30+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW ",
    ],
    ids=[
        "no-parts",
        "no-key",
        "uppercase-id",
        "short-id",
        "long-id",
        "url-safe-key",
        "unpadded-key",
        "empty-key",
        "trailing-space",
    ],
)
def test_malformed_vkey_is_bad_verifier_key(vkey: str) -> None:
    with pytest.raises(BadVerifierKey):
        parse_verifier_key(vkey)


def test_vkey_must_be_a_string() -> None:
    with pytest.raises(BadVerifierKey):
        parse_verifier_key(PETER["vkey"].encode())  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [31, 33])
def test_vkey_with_wrong_key_length(size: int) -> None:
    pub = bytes(range(size))
    vkey = f"k+{key_id('k', ALG_ED25519, pub).hex()}+{b64encode(bytes([ALG_ED25519]) + pub)}"
    with pytest.raises(BadVerifierKey) as info:
        parse_verifier_key(vkey)
    assert not isinstance(info.value, KeyIdMismatch | UnknownKeyType)


@pytest.mark.parametrize("alg", [0x00, 0x02, 0x03, 0x05, 0xFF])
def test_vkey_with_unknown_type(alg: int) -> None:
    pub = PETER_VERIFIER.public_key
    vkey = f"k+{key_id('k', alg, pub).hex()}+{b64encode(bytes([alg]) + pub)}"
    with pytest.raises(UnknownKeyType):
        parse_verifier_key(vkey)


def test_cosignature_vkey_parses_with_its_own_key_id() -> None:
    cosigner = Cosigner("witness.example/w1", _key(3))
    vkey = cosigner.verifier().vkey()
    assert parse_verifier_key(vkey) == cosigner.verifier()
    assert parse_verifier_key(vkey).alg == ALG_COSIGNATURE_V1
    # The Ed25519 (type 0x01) key ID does not fit a type 0x04 key.
    ed_id = key_id(cosigner.name, ALG_ED25519, cosigner.public_key).hex()
    with pytest.raises(KeyIdMismatch):
        parse_verifier_key(f"{cosigner.name}+{ed_id}+{vkey.split('+', 2)[2]}")


# --- one named error per malformation ----------------------------------------------------------


def test_note_not_utf8_bytes() -> None:
    data = PETER_NOTE.encode("utf-8")
    with pytest.raises(NoteNotUtf8):
        parse_note(data.replace(b"cryptography", b"crypt\xffgraphy"))
    with pytest.raises(NoteNotUtf8):
        parse_note(b"\xc0\xae" + data)  # overlong encoding of '.'
    with pytest.raises(NoteNotUtf8):
        open_note(data[:-3] + b"\xe2\x80\n", [PETER_VERIFIER])  # truncated multi-byte sequence


def test_note_not_utf8_lone_surrogate_str() -> None:
    with pytest.raises(NoteNotUtf8):
        parse_note("lone \ud800 surrogate\n\n" + PETER_LINE)


@pytest.mark.parametrize("char", ["\t", "\r", "\x00", "\x0b", "\x0c", "\x1b", "\x1f"])
def test_note_control_character_in_text(char: str) -> None:
    with pytest.raises(NoteControlCharacter):
        parse_note(PETER_NOTE.replace("problem,", f"problem,{char}"))


def test_note_control_character_crlf_line_endings() -> None:
    with pytest.raises(NoteControlCharacter):
        parse_note(PETER_NOTE.replace("\n", "\r\n"))


def test_note_control_character_in_signature_line() -> None:
    with pytest.raises(NoteControlCharacter):
        parse_note(PETER_NOTE[:-1] + "\t\n")


def test_del_and_c1_are_not_ascii_controls() -> None:
    # signed-note forbids controls *below U+0020* only (as does Go's sumdb/note).
    signer = Signer("k", _key(1))
    text = "del \x7f and nel \x85\n"
    note, _ = open_note(_signed(text, signer), [signer.verifier()])
    assert note.text == text


@pytest.mark.parametrize(
    "data",
    ["", "\n", PETER_TEXT, PETER_TEXT + PETER_LINE, PETER_TEXT + "\n", PETER_NOTE + "\n"],
    ids=["empty", "newline", "text-only", "no-blank-line", "blank-line-nothing-after", "trailing"],
)
def test_note_without_signatures(data: str) -> None:
    with pytest.raises(NoteWithoutSignatures):
        parse_note(data)


def _non_canonical(b64: str) -> str:
    """``b64`` with non-zero unused trailing bits: other text, same bytes."""
    stripped = b64.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(stripped[-1])
    changed = stripped[:-1] + alphabet[last | 1] + b64[len(stripped) :]
    assert changed != b64
    assert base64.b64decode(changed) == base64.b64decode(b64)
    return changed


BAD_SIGNATURE_LINES = {
    "no-em-dash": f"PeterNeumann {PETER_B64}\n",
    "hyphen-instead-of-em-dash": f"- PeterNeumann {PETER_B64}\n",
    "en-dash": f"\u2013 PeterNeumann {PETER_B64}\n",
    "no-space-after-em-dash": f"{EM_DASH}PeterNeumann {PETER_B64}\n",
    "no-space-after-name": f"{EM_DASH} PeterNeumann{PETER_B64}\n",
    "two-spaces-after-name": f"{EM_DASH} PeterNeumann  {PETER_B64}\n",
    "trailing-space": f"{EM_DASH} PeterNeumann {PETER_B64} \n",
    "not-base64": f"{EM_DASH} PeterNeumann not*base64!\n",
    "non-canonical-base64": f"{EM_DASH} PeterNeumann {_non_canonical(PETER_B64)}\n",
    "unpadded-base64": f"{EM_DASH} PeterNeumann {PETER_B64.rstrip('=')}\n",
    "url-safe-base64": f"{EM_DASH} PeterNeumann {PETER_B64.replace('/', '_')}\n",
    "empty-signature": f"{EM_DASH} PeterNeumann \n",
    "key-id-only": f"{EM_DASH} PeterNeumann {b64encode(bytes.fromhex('c74f20a3'))}\n",
    "too-short": f"{EM_DASH} PeterNeumann {b64encode(bytes(3))}\n",
    "missing-final-newline": PETER_LINE[:-1],
}


@pytest.mark.parametrize("line", BAD_SIGNATURE_LINES.values(), ids=BAD_SIGNATURE_LINES.keys())
def test_bad_signature_line(line: str) -> None:
    with pytest.raises(BadSignatureLine):
        parse_note(_with_line(line))


def test_bad_signature_line_anywhere_in_the_block() -> None:
    with pytest.raises(BadSignatureLine):
        parse_note(_with_line(PETER_LINE + BAD_SIGNATURE_LINES["hyphen-instead-of-em-dash"]))


def test_five_byte_signature_is_well_formed() -> None:
    line = f"{EM_DASH} PeterNeumann {b64encode(bytes.fromhex('c74f20a3') + b'x')}\n"
    (sig,) = parse_note(_with_line(line)).signatures
    assert sig == NoteSignature("PeterNeumann", bytes.fromhex("c74f20a3"), b"x")
    with pytest.raises(BadNoteSignature):  # ...but it does not verify
        open_note(_with_line(line), [PETER_VERIFIER])


def _unknown_line(i: int) -> str:
    return f"{EM_DASH} witness{i}.example {b64encode(bytes(4) + bytes([i % 256]) * 64)}\n"


def test_note_too_many_signatures() -> None:
    lines = PETER_LINE + "".join(_unknown_line(i) for i in range(MAX_SIGNATURES))
    with pytest.raises(NoteTooManySignatures):
        parse_note(_with_line(lines))


def test_note_too_many_signatures_counted_before_parsing_lines() -> None:
    with pytest.raises(NoteTooManySignatures):
        parse_note(_with_line("junk\n" * (MAX_SIGNATURES + 1)))


def test_note_with_max_signatures_is_accepted() -> None:
    lines = PETER_LINE + "".join(_unknown_line(i) for i in range(MAX_SIGNATURES - 1))
    note, verified = open_note(_with_line(lines), [PETER_VERIFIER])
    assert len(note.signatures) == MAX_SIGNATURES == 100
    assert verified == [PETER_VERIFIER]
    assert format_note(note) == _with_line(lines)


@pytest.mark.parametrize(
    "name",
    ["", "Peter+Neumann", "+", "Peter\u00a0Neumann", "Peter\u3000Neumann", "Peter\u2003Neumann"],
    ids=["empty", "plus", "only-plus", "nbsp", "ideographic-space", "em-space"],
)
def test_bad_key_name_in_signature_line(name: str) -> None:
    with pytest.raises(BadKeyName):
        parse_note(_with_line(f"{EM_DASH} {name} {PETER_B64}\n"))


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "a\tb", "a\nb", "a\u00a0b", "trailing "], ids=repr
)
def test_bad_key_name(name: str) -> None:
    with pytest.raises(BadKeyName):
        check_key_name(name)
    with pytest.raises(BadKeyName):
        Signer(name, _key(1))
    with pytest.raises(BadKeyName):
        Cosigner(name, _key(1))
    # In a vkey a '+' in the name shifts the fields: the key ID is then what is malformed.
    with pytest.raises(BadVerifierKey if "+" in name else BadKeyName):
        parse_verifier_key(f"{name}+{PETER['vkey'].split('+', 1)[1]}")


@pytest.mark.parametrize("name", ["a", "example.com/log", "\u00e9t\u00e9/\u65e5\u672c", "a-b_c"])
def test_good_key_name(name: str) -> None:
    check_key_name(name)
    signer = Signer(name, _key(2))
    assert parse_verifier_key(signer.verifier().vkey()) == signer.verifier()


def test_signer_refuses_text_without_final_newline() -> None:
    with pytest.raises(MalformedInput):
        Signer("k", _key(1)).sign("no newline")


def test_signer_refuses_control_characters() -> None:
    with pytest.raises(NoteControlCharacter):
        Signer("k", _key(1)).sign("tab\there\n")


# --- which signatures count --------------------------------------------------------------------


def test_unknown_key_sharing_the_name_is_ignored() -> None:
    impostor = Signer("PeterNeumann", _key(9))
    assert impostor.key_id != PETER_VERIFIER.key_id
    line = impostor.sign(PETER_TEXT).line()
    # Alone, the impostor's (valid) signature does not make the note verified...
    with pytest.raises(UnverifiedNote):
        open_note(_with_line(line), [PETER_VERIFIER])
    # ...and beside Peter's signature, in either order, it is ignored.
    for lines in (PETER_LINE + line, line + PETER_LINE):
        _, verified = open_note(_with_line(lines), [PETER_VERIFIER])
        assert verified == [PETER_VERIFIER]


def test_unknown_key_sharing_the_key_id_is_ignored() -> None:
    # Peter's key ID under another name, with a signature that could never verify.
    line = NoteSignature("PeterNeumann2", PETER_VERIFIER.key_id, bytes(64)).line()
    with pytest.raises(UnverifiedNote):
        open_note(_with_line(line), [PETER_VERIFIER])
    for lines in (PETER_LINE + line, line + PETER_LINE):
        _, verified = open_note(_with_line(lines), [PETER_VERIFIER])
        assert verified == [PETER_VERIFIER]


def test_known_name_and_key_id_with_bad_signature_is_rejected() -> None:
    line = NoteSignature("PeterNeumann", PETER_VERIFIER.key_id, bytes(64)).line()
    with pytest.raises(BadNoteSignature):
        open_note(_with_line(line), [PETER_VERIFIER])


@pytest.mark.parametrize("first", ["good", "bad"])
def test_failing_known_signature_rejects_even_if_another_verified(first: str) -> None:
    enoch_line = TWO_SIGNERS["note"].split("\n")[-2] + "\n"
    sig = parse_note(_with_line(enoch_line)).signatures[0]
    bad_enoch = NoteSignature(
        sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:]
    )
    lines = PETER_LINE + bad_enoch.line() if first == "good" else bad_enoch.line() + PETER_LINE
    # Untrusted, the bad Enoch line is ignored; trusted, it rejects the note.
    assert open_note(_with_line(lines), [PETER_VERIFIER])[1] == [PETER_VERIFIER]
    with pytest.raises(BadNoteSignature):
        open_note(_with_line(lines), [PETER_VERIFIER, ENOCH_VERIFIER])


@pytest.mark.parametrize("signature", [b"x", bytes(63), bytes(65)], ids=["1", "63", "65"])
def test_known_key_with_wrong_length_signature(signature: bytes) -> None:
    line = NoteSignature("PeterNeumann", PETER_VERIFIER.key_id, signature).line()
    with pytest.raises(BadNoteSignature):
        open_note(_with_line(line), [PETER_VERIFIER])


def test_signature_over_other_text_is_rejected() -> None:
    other = PETER_TEXT.replace("answer", "question")
    with pytest.raises(BadNoteSignature):
        open_note(other + "\n" + PETER_LINE, [PETER_VERIFIER])


def test_repeated_signature_counts_once() -> None:
    _, verified = open_note(_with_line(PETER_LINE * 3), [PETER_VERIFIER])
    assert verified == [PETER_VERIFIER]


def test_open_note_accepts_a_parsed_note() -> None:
    parsed = parse_note(PETER_NOTE)
    note, verified = open_note(parsed, [PETER_VERIFIER])
    assert note is parsed
    assert verified == [PETER_VERIFIER]


def test_text_may_contain_blank_lines() -> None:
    signer = Signer("k", _key(4))
    text = "first\n\n\nafter blanks\n\n"
    note, _ = open_note(_signed(text, signer), [signer.verifier()])
    assert note.text == text


def test_text_that_looks_like_a_signature_block() -> None:
    signer = Signer("k", _key(4))
    text = f"inner\n\n{EM_DASH} k {b64encode(bytes(68))}\n"
    wire = _signed(text, signer)
    note, _ = open_note(wire, [signer.verifier()])
    assert note.text == text
    assert len(note.signatures) == 1


# --- cosignatures (type 0x04) ------------------------------------------------------------------

BODY = f"example.com/log\n5\n{b64encode(bytes(range(32)))}\n"


def test_cosignature_round_trip() -> None:
    cosigner = Cosigner("witness.example/w1", _key(5))
    t = 1_700_000_000
    sig = cosigner.cosign(BODY, t)

    assert sig.name == "witness.example/w1"
    assert sig.key_id == key_id(cosigner.name, ALG_COSIGNATURE_V1, cosigner.public_key)
    assert sig.signature[:8] == struct.pack(">Q", t)
    assert len(sig.key_id + sig.signature) == 76
    wire = format_note(Note(BODY, (sig,)))

    note, verified = open_note(wire, [cosigner.verifier()])

    assert note.text == BODY
    assert verified == [cosigner.verifier()]
    assert cosigner.verifier().verify(BODY, sig.signature) == t
    # The signed message is exactly cosignature/v1 || time line || body (checked independently).
    message = f"cosignature/v1\ntime {t}\n{BODY}".encode()
    Ed25519PublicKey.from_public_bytes(cosigner.public_key).verify(sig.signature[8:], message)


@pytest.mark.parametrize("t", [0, 1, 2**63 - 1])
def test_cosignature_timestamp_is_returned(t: int) -> None:
    cosigner = Cosigner("w", _key(5))
    assert cosigner.verifier().verify(BODY, cosigner.cosign(BODY, t).signature) == t


def test_ed25519_verify_returns_none() -> None:
    signer = Signer("k", _key(6))
    assert signer.verifier().verify(BODY, signer.sign(BODY).signature) is None


def test_cosignature_with_changed_timestamp_fails() -> None:
    cosigner = Cosigner("w", _key(5))
    sig = cosigner.cosign(BODY, 1000)
    forged = NoteSignature(sig.name, sig.key_id, struct.pack(">Q", 1001) + sig.signature[8:])
    with pytest.raises(BadNoteSignature):
        open_note(format_note(Note(BODY, (forged,))), [cosigner.verifier()])


@pytest.mark.parametrize("delta", [-1, 1])
def test_cosignature_of_wrong_length_fails(delta: int) -> None:
    cosigner = Cosigner("w", _key(5))
    sig = cosigner.cosign(BODY, 1000)
    body = sig.signature[:delta] if delta < 0 else sig.signature + b"\x00"
    with pytest.raises(BadNoteSignature):
        open_note(
            format_note(Note(BODY, (NoteSignature(sig.name, sig.key_id, body),))),
            [cosigner.verifier()],
        )


def test_cosignature_over_other_body_fails() -> None:
    cosigner = Cosigner("w", _key(5))
    sig = cosigner.cosign(BODY, 1000)
    with pytest.raises(BadNoteSignature):
        open_note(format_note(Note(BODY.replace("\n5\n", "\n6\n"), (sig,))), [cosigner.verifier()])


def test_signature_types_do_not_mix() -> None:
    key = _key(8)
    signer, cosigner = Signer("w", key), Cosigner("w", key)
    assert signer.key_id != cosigner.key_id
    # A plain signature by the same key and name is not a cosignature (other key ID)...
    with pytest.raises(UnverifiedNote):
        open_note(_signed(BODY, signer), [cosigner.verifier()])
    # ...and a cosignature forced under the Ed25519 key ID does not verify as one.
    cosig = cosigner.cosign(BODY, 1)
    forced = NoteSignature("w", signer.key_id, cosig.signature)
    with pytest.raises(BadNoteSignature):
        open_note(format_note(Note(BODY, (forced,))), [signer.verifier()])


def test_cosignature_spec_example(vectors: Vectors) -> None:
    example = vectors("checkpoint_vectors.json")["spec_examples_not_verifiable"][
        "tlog_cosignature_example"
    ]
    note = parse_note(example["checkpoint"])
    assert format_note(note) == example["checkpoint"]
    log_sig, cosig = note.signatures
    assert log_sig.name == "example.com/behind-the-sofa"
    assert len(log_sig.key_id + log_sig.signature) == 68
    assert cosig.name == "witness.example.com/w1"

    raw = b64decode(example["checkpoint"].split("\n")[-2].rsplit(" ", 1)[1])
    assert len(raw) == 76  # key ID 4 + timestamp 8 + Ed25519 64
    assert raw == cosig.key_id + cosig.signature
    (timestamp,) = struct.unpack(">Q", cosig.signature[:8])
    rebuilt = f"cosignature/v1\ntime {timestamp}\n{note.text}"
    assert rebuilt == example["ed25519_cosignature_v1_signed_message"]
    # No key is published for the example: it is unverifiable by anyone we know.
    with pytest.raises(UnverifiedNote):
        open_note(note, [PETER_VERIFIER])


# --- Hypothesis --------------------------------------------------------------------------------

_line_chars = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))
note_texts = st.lists(st.text(_line_chars, max_size=40), min_size=1, max_size=6).map(
    lambda lines: "\n".join(lines) + "\n"
)
key_names = st.text(
    st.characters(categories=("L", "N", "P", "S"), exclude_characters="+"), min_size=1, max_size=24
)
keys = st.binary(min_size=32, max_size=32).map(Ed25519PrivateKey.from_private_bytes)


@given(text=note_texts, name=key_names, key=keys)
@settings(max_examples=100, deadline=None)
def test_random_note_round_trips(text: str, name: str, key: Ed25519PrivateKey) -> None:
    signer = Signer(name, key)
    wire = _signed(text, signer)

    parsed = parse_note(wire)
    assert format_note(parsed) == wire
    assert parse_note(wire.encode("utf-8")) == parsed
    note, verified = open_note(wire, [signer.verifier()])
    assert note.text == text
    assert verified == [signer.verifier()]
    assert parse_verifier_key(signer.verifier().vkey()) == signer.verifier()


KNOWN = Signer("log.example/known", _key(21))
UNKNOWN = Signer("other.example/unknown", _key(22))


@given(
    text=note_texts,
    unknown_first=st.booleans(),
    kind=st.sampled_from(["replace", "insert", "delete"]),
    data=st.data(),
)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_note_never_accepted_with_changed_text(
    text: str, unknown_first: bool, kind: str, data: st.DataObject
) -> None:
    known_line = KNOWN.sign(text).line().encode()
    unknown_line = UNKNOWN.sign(text).line().encode()
    head = text.encode() + b"\n"
    lines = unknown_line + known_line if unknown_first else known_line + unknown_line
    wire = head + lines
    u_start = len(head) + (0 if unknown_first else len(known_line))
    u_end = u_start + len(unknown_line)

    limit = len(wire) if kind == "insert" else len(wire) - 1
    # Half the draws aim at the unknown key's line, where some mutations are harmless.
    i = data.draw(st.integers(0, limit) | st.integers(u_start, u_end - 1), label="index")
    if kind == "delete":
        mutated = wire[:i] + wire[i + 1 :]
    else:
        byte = data.draw(st.integers(0, 255) | st.sampled_from(b"AQgw+/=\n \xe2"), label="byte")
        if kind == "replace":
            if byte == wire[i]:
                byte ^= 0x80
            mutated = wire[:i] + bytes([byte]) + wire[i + 1 :]
        else:
            mutated = wire[:i] + bytes([byte]) + wire[i:]

    try:
        note, verified = open_note(mutated, [KNOWN.verifier()])
    except (MalformedInput, VerificationError) as exc:
        event(f"rejected: {type(exc).__name__}")
        return  # rejected with a named error: fine
    event("accepted")
    assert note.text == text
    assert verified == [KNOWN.verifier()]
    assert u_start <= i < u_end, "a mutation outside the unknown key's line was accepted"
