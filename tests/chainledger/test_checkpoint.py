"""C2SP tlog-checkpoints: real logs' checkpoints, body vectors, malformations, round trips."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from chainledger import merkle
from chainledger.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    CheckpointBadRoot,
    CheckpointBadSize,
    CheckpointEmptyExtension,
    CheckpointEmptyOrigin,
    CheckpointTooShort,
    OriginMismatch,
    add_signatures,
    open_checkpoint,
    parse_checkpoint_body,
    sign_checkpoint,
    verify_checkpoint,
)
from chainledger.crypto import generate_key
from chainledger.encoding import b64decode, b64encode
from chainledger.errors import MalformedInput
from chainledger.note import (
    BadNoteSignature,
    Cosigner,
    Note,
    Signer,
    UnverifiedNote,
    format_note,
    open_note,
    parse_note,
    parse_verifier_key,
)

Vectors = Callable[[str], Any]

# The same golden files the `vectors` fixture serves; read here as well so that
# each vector gets its own test id at collection time.
_VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"


def _golden(name: str) -> Any:
    return json.loads((_VECTOR_DIR / name).read_text(encoding="utf-8"))


CP_VECTORS = _golden("checkpoint_vectors.json")
TESSERA = _golden("tessera_testlog_vectors.json")


def _signed_vector(vector_id: str) -> dict[str, Any]:
    (found,) = (v for v in CP_VECTORS["signed_checkpoints"] if v["id"] == vector_id)
    return found


SUMDB = _signed_vector("sum.golang.org-real")
SUMDB_EXTRA = _signed_vector("sum.golang.org-with-3-extra-ed25519-sigs")
SUMDB_CHECKPOINT = Checkpoint(SUMDB["origin"], SUMDB["size"], b64decode(SUMDB["root_hash_b64"]))
ROOT = bytes(range(32))
ROOT_B64 = b64encode(ROOT)


def _skey_signer(skey: str) -> Signer:
    """A Go x/mod/sumdb/note private key ``PRIVATE+KEY+name+id+base64(0x01 || seed)``."""
    prefix, kind, name, hexid, b64 = skey.split("+", 4)
    assert (prefix, kind) == ("PRIVATE", "KEY")
    raw = b64decode(b64)
    assert raw[0] == 0x01
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    assert signer.key_id.hex() == hexid
    return signer


# --- real checkpoints --------------------------------------------------------------------------


def test_sumdb_checkpoint_verifies() -> None:
    cp = verify_checkpoint(SUMDB["checkpoint"], SUMDB["log_vkey"])
    assert cp == SUMDB_CHECKPOINT
    assert cp.size == 6476701
    assert cp.root == b64decode("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=")
    assert cp.extensions == ()
    assert cp.body() + "\n" + SUMDB["checkpoint"].split("\n\n", 1)[1] == SUMDB["checkpoint"]


def test_sumdb_checkpoint_verifies_with_origin() -> None:
    assert verify_checkpoint(SUMDB["checkpoint"], SUMDB["log_vkey"], origin=SUMDB["origin"]) == (
        SUMDB_CHECKPOINT
    )


@pytest.mark.parametrize(
    "origin", ["sum.golang.org", "go.sum database tree ", "Go.sum database tree"]
)
def test_sumdb_checkpoint_other_origin_is_origin_mismatch(origin: str) -> None:
    with pytest.raises(OriginMismatch):
        verify_checkpoint(SUMDB["checkpoint"], SUMDB["log_vkey"], origin=origin)


def test_sumdb_checkpoint_under_another_key_is_unverified() -> None:
    with pytest.raises(UnverifiedNote):
        verify_checkpoint(SUMDB["checkpoint"], TESSERA["log_vkey"])


def test_sumdb_checkpoint_altered_is_bad_signature() -> None:
    altered = SUMDB["checkpoint"].replace("6476701", "6476702")
    with pytest.raises(BadNoteSignature):
        verify_checkpoint(altered, SUMDB["log_vkey"])


@pytest.mark.parametrize("vkey", [*SUMDB_EXTRA["vkeys"], SUMDB["log_vkey"]])
def test_checkpoint_with_extra_signatures_verifies_with_each_key(vkey: str) -> None:
    assert verify_checkpoint(SUMDB_EXTRA["checkpoint"], vkey) == SUMDB_CHECKPOINT


def test_checkpoint_with_extra_signatures_verifies_with_all_keys() -> None:
    verifiers = [parse_verifier_key(k) for k in [SUMDB["log_vkey"], *SUMDB_EXTRA["vkeys"]]]
    signed = open_checkpoint(SUMDB_EXTRA["checkpoint"], verifiers, origin=SUMDB["origin"])
    assert signed.checkpoint == SUMDB_CHECKPOINT
    assert signed.verified_by == tuple(verifiers)
    assert signed.text == SUMDB_EXTRA["checkpoint"]


@pytest.mark.parametrize("size", sorted(TESSERA["checkpoints_by_size"], key=int))
def test_tessera_checkpoint(size: str) -> None:
    n = int(size)
    note = TESSERA["checkpoints_by_size"][size]
    root = bytes.fromhex(TESSERA["root_hashes_hex_by_size"][size])

    cp = verify_checkpoint(note, TESSERA["log_vkey"], origin=TESSERA["origin"])

    assert cp == Checkpoint(TESSERA["origin"], n, root)
    leaves = [merkle.leaf_hash(word.encode()) for word in TESSERA["entries"][:n]]
    assert [h.hex() for h in leaves] == TESSERA["leaf_hashes_hex"][:n]
    assert merkle.root(leaves) == root
    # Ed25519 is deterministic: the test key re-signs the checkpoint byte for byte.
    assert sign_checkpoint(cp, _skey_signer(TESSERA["log_skey_TEST_ONLY"])) == note


def test_tessera_has_all_sizes() -> None:
    n = len(TESSERA["entries"])
    assert set(TESSERA["checkpoints_by_size"]) == {str(i) for i in range(n + 1)}
    assert set(TESSERA["root_hashes_hex_by_size"]) == {str(i) for i in range(n + 1)}


def test_tessera_checkpoint_of_another_size_does_not_match_root() -> None:
    cp = verify_checkpoint(TESSERA["checkpoints_by_size"]["7"], TESSERA["log_vkey"])
    assert cp.root.hex() != TESSERA["root_hashes_hex_by_size"]["8"]


def test_spec_checkpoint_example_parses(vectors: Vectors) -> None:
    examples = vectors("checkpoint_vectors.json")["spec_examples_not_verifiable"]
    for name in ("tlog_checkpoint_example", "tlog_cosignature_example"):
        text = examples[name]["checkpoint"]
        note = parse_note(text)
        assert format_note(note) == text
        cp = parse_checkpoint_body(note.text)
        assert cp == Checkpoint(
            "example.com/behind-the-sofa",
            20852163,
            b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
        )
        assert cp.body() == note.text
        assert note.signatures[0].name == cp.origin
        with pytest.raises(UnverifiedNote):  # no key is published for the examples
            open_checkpoint(text, [parse_verifier_key(SUMDB["log_vkey"])])


# --- body vectors (transparency-dev/formats) ---------------------------------------------------

BODY = CP_VECTORS["unsigned_body_vectors"]


@pytest.mark.parametrize("vector", BODY["marshal"], ids=lambda v: v["origin"])
def test_body_marshal(vector: dict[str, Any]) -> None:
    cp = Checkpoint(vector["origin"], vector["size"], vector["hash_ascii"].encode())
    assert cp.body() == vector["want"]
    assert parse_checkpoint_body(vector["want"], hash_size=None) == cp


VALID_UNMARSHAL = [v for v in BODY["unmarshal"] if not v.get("wantErr")]
INVALID_UNMARSHAL = [v for v in BODY["unmarshal"] if v.get("wantErr")]


@pytest.mark.parametrize("vector", VALID_UNMARSHAL, ids=lambda v: v["desc"])
def test_body_unmarshal_valid(vector: dict[str, Any]) -> None:
    cp = parse_checkpoint_body(vector["m"], hash_size=None)
    assert cp.origin == vector["origin"]
    assert cp.size == vector["size"]
    if "hash_ascii" in vector:
        assert cp.root == vector["hash_ascii"].encode()
    assert "".join(line + "\n" for line in cp.extensions) == vector["rest"]
    assert cp.body() == vector["m"]


#: Which named error each transparency-dev/formats error case must raise.
UNMARSHAL_ERRORS: dict[str, type[MalformedInput]] = {
    "invalid - insufficient lines": CheckpointTooShort,
    "invalid - empty header": CheckpointEmptyOrigin,
    "invalid - missing newline on roothash": CheckpointTooShort,
    "invalid size - not a number": CheckpointBadSize,
    "invalid size - negative": CheckpointBadSize,
    "invalid size - too large (> uint64)": CheckpointBadSize,
    "invalid roothash - not base64": CheckpointBadRoot,
}


@pytest.mark.parametrize("vector", INVALID_UNMARSHAL, ids=lambda v: v["desc"])
def test_body_unmarshal_invalid(vector: dict[str, Any]) -> None:
    with pytest.raises(UNMARSHAL_ERRORS[vector["desc"]]):
        parse_checkpoint_body(vector["m"], hash_size=None)


def test_body_unmarshal_vectors_are_all_mapped() -> None:
    assert {v["desc"] for v in INVALID_UNMARSHAL} == set(UNMARSHAL_ERRORS)


# --- one named error per malformation ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "\n", "\n\n", "Log\n", "Log\n1\n", f"Log\n1\n{ROOT_B64}", f"Log\n1\n{ROOT_B64}\next"],
    ids=["empty", "one-newline", "two-newlines", "origin-only", "no-root", "no-final-nl", "ext-nl"],
)
def test_checkpoint_too_short(text: str) -> None:
    with pytest.raises(CheckpointTooShort):
        parse_checkpoint_body(text)


def test_checkpoint_empty_origin() -> None:
    with pytest.raises(CheckpointEmptyOrigin):
        parse_checkpoint_body(f"\n1\n{ROOT_B64}\n")


@pytest.mark.parametrize(
    "size",
    [
        "0123",
        "00",
        "-1",
        "+1",
        str(2**64),
        str(2**65 + 7),
        "",
        " 1",
        "1 ",
        "1.0",
        "1e3",
        "0x10",
        "\uff11",
        "\u0661",
        "1_000",
    ],
    ids=repr,
)
def test_checkpoint_bad_size(size: str) -> None:
    with pytest.raises(CheckpointBadSize):
        parse_checkpoint_body(f"Log\n{size}\n{ROOT_B64}\n")


def test_checkpoint_bad_size_huge() -> None:
    try:
        parse_checkpoint_body(f"Log\n{'1' * 5000}\n{ROOT_B64}\n")
    except CheckpointBadSize:
        return
    except ValueError as exc:
        raise AssertionError(f"{type(exc).__name__}: {exc}") from exc
    pytest.fail("accepted a size above 2**64 - 1")


@pytest.mark.parametrize("size", [0, 1, 2**63, MAX_TREE_SIZE])
def test_checkpoint_size_bounds_accepted(size: int) -> None:
    assert parse_checkpoint_body(f"Log\n{size}\n{ROOT_B64}\n").size == size
    assert MAX_TREE_SIZE == 2**64 - 1


@pytest.mark.parametrize(
    "root",
    [
        "ThisIsn'tBase64",
        ROOT_B64.rstrip("="),
        ROOT_B64.replace("=", "=="),
        b64encode(bytes([0xFB]) * 32).replace("+", "-").replace("/", "_"),
        ROOT_B64[:-2] + "9=",  # unused trailing bits set: not canonical
        ROOT_B64 + " ",
        " " + ROOT_B64,
    ],
    ids=[
        "not-base64",
        "unpadded",
        "overpadded",
        "url-safe",
        "non-canonical",
        "trailing-sp",
        "leading-sp",
    ],
)
def test_checkpoint_bad_root_encoding(root: str) -> None:
    with pytest.raises(CheckpointBadRoot):
        parse_checkpoint_body(f"Log\n1\n{root}\n")
    with pytest.raises(CheckpointBadRoot):
        parse_checkpoint_body(f"Log\n1\n{root}\n", hash_size=None)


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_checkpoint_bad_root_length(length: int) -> None:
    text = f"Log\n1\n{b64encode(bytes(length))}\n"
    with pytest.raises(CheckpointBadRoot):
        parse_checkpoint_body(text)
    assert parse_checkpoint_body(text, hash_size=None).root == bytes(length)


def test_checkpoint_root_length_follows_hash_size() -> None:
    text = f"Log\n1\n{b64encode(bytes(48))}\n"
    assert parse_checkpoint_body(text, hash_size=48).root == bytes(48)
    with pytest.raises(CheckpointBadRoot):
        parse_checkpoint_body(f"Log\n1\n{ROOT_B64}\n", hash_size=48)


@pytest.mark.parametrize(
    "extensions", ["\n", "ext\n\n", "\next\n", "a\n\nb\n"], ids=["only", "last", "first", "middle"]
)
def test_checkpoint_empty_extension(extensions: str) -> None:
    with pytest.raises(CheckpointEmptyExtension):
        parse_checkpoint_body(f"Log\n1\n{ROOT_B64}\n{extensions}")


def test_checkpoint_extensions_parse() -> None:
    cp = parse_checkpoint_body(f"Log\n1\n{ROOT_B64}\nfirst ext\n\u2014 second\n")
    assert cp.extensions == ("first ext", "\u2014 second")
    assert cp.body() == f"Log\n1\n{ROOT_B64}\nfirst ext\n\u2014 second\n"


def test_validly_signed_checkpoint_with_malformed_body_is_refused() -> None:
    signer = Signer("log.example", generate_key(os.urandom))
    bad = Checkpoint("log.example", 3, bytes(7))  # root of the wrong length
    note = sign_checkpoint(bad, signer)
    assert open_note(note, [signer.verifier()])[0].text == bad.body()
    with pytest.raises(CheckpointBadRoot):
        verify_checkpoint(note, signer.verifier().vkey())
    assert open_checkpoint(note, [signer.verifier()], hash_size=None).checkpoint == bad


# --- round trips -------------------------------------------------------------------------------


def test_sign_verify_round_trip_with_fresh_key() -> None:
    origin = "chainledger.example/test-log"
    signer = Signer(origin, generate_key(os.urandom))
    cp = Checkpoint(origin, 42, os.urandom(32), ("ext one", "ext two"))

    note = sign_checkpoint(cp, signer)

    assert verify_checkpoint(note, signer.verifier().vkey()) == cp
    assert verify_checkpoint(note, signer.verifier().vkey(), origin=origin) == cp
    signed = open_checkpoint(note, [signer.verifier()], origin=origin)
    assert signed.text == note
    assert signed.verified_by == (signer.verifier(),)
    assert signed.note.text == cp.body()
    with pytest.raises(OriginMismatch):
        verify_checkpoint(note, signer.verifier().vkey(), origin=origin + "2")
    with pytest.raises(UnverifiedNote):
        verify_checkpoint(note, Signer(origin, generate_key(os.urandom)).verifier().vkey())


def test_add_signatures_witness_cosignature() -> None:
    origin = "chainledger.example/test-log"
    log = Signer(origin, generate_key(os.urandom))
    witness = Cosigner("witness.example/w1", generate_key(os.urandom))
    cp = Checkpoint(origin, 7, os.urandom(32))
    note = sign_checkpoint(cp, log)
    t = 1_767_225_600

    cosigned = add_signatures(note, [witness.cosign(cp.body(), t)])

    assert cosigned.startswith(note)
    assert len(parse_note(cosigned).signatures) == 2
    # An independent verifier of the log key (parsed from its vkey text) still accepts it.
    independent = parse_verifier_key(log.verifier().vkey())
    assert verify_checkpoint(cosigned, log.verifier().vkey(), origin=origin) == cp
    assert open_checkpoint(cosigned, [independent]).verified_by == (independent,)
    log_sig = parse_note(cosigned).signatures[0]
    Ed25519PublicKey.from_public_bytes(log.public_key).verify(log_sig.signature, cp.body().encode())
    # The witness verifies too, with its timestamp.
    signed = open_checkpoint(cosigned, [witness.verifier(), independent])
    assert signed.verified_by == (independent, witness.verifier())
    assert witness.verifier().verify(cp.body(), parse_note(cosigned).signatures[1].signature) == t
    assert open_checkpoint(cosigned, [witness.verifier()]).checkpoint == cp


def test_add_signatures_does_not_duplicate() -> None:
    log = Signer("log.example", generate_key(os.urandom))
    witness = Cosigner("witness.example", generate_key(os.urandom))
    cp = Checkpoint("log.example", 1, ROOT)
    note = sign_checkpoint(cp, log)
    cosig = witness.cosign(cp.body(), 5)

    once = add_signatures(note, [cosig])

    assert add_signatures(once, [cosig]) == once
    assert add_signatures(note, [log.sign(cp.body())]) == note
    assert add_signatures(note, []) == note


def test_add_signatures_refuses_a_malformed_note() -> None:
    with pytest.raises(MalformedInput):
        add_signatures("no signatures here\n", [])


def test_add_signatures_cannot_launder_a_bad_cosignature() -> None:
    log = Signer("log.example", generate_key(os.urandom))
    witness = Cosigner("witness.example", generate_key(os.urandom))
    cp = Checkpoint("log.example", 1, ROOT)
    other = Checkpoint("log.example", 2, ROOT)
    cosigned = add_signatures(sign_checkpoint(cp, log), [witness.cosign(other.body(), 5)])
    assert verify_checkpoint(cosigned, log.verifier().vkey()) == cp  # witness unknown: ignored
    with pytest.raises(BadNoteSignature):
        open_checkpoint(cosigned, [log.verifier(), witness.verifier()])


_origin_chars = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))
checkpoints = st.builds(
    Checkpoint,
    origin=st.text(_origin_chars, min_size=1, max_size=40),
    size=st.integers(0, MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(st.text(_origin_chars, min_size=1, max_size=20), max_size=3).map(tuple),
)
HYPOTHESIS_SIGNER = Signer(
    "hypothesis.example/log", Ed25519PrivateKey.from_private_bytes(bytes(32))
)


@given(cp=checkpoints)
@settings(max_examples=150, deadline=None)
def test_random_checkpoint_round_trips(cp: Checkpoint) -> None:
    body = cp.body()
    assert parse_checkpoint_body(body) == cp
    note = sign_checkpoint(cp, HYPOTHESIS_SIGNER)
    assert verify_checkpoint(note, HYPOTHESIS_SIGNER.verifier().vkey(), origin=cp.origin) == cp
    assert format_note(Note(body, parse_note(note).signatures)) == note
