"""Witness cosignatures: the pure helpers (chainledger.witness), the store and the Ledger."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from domain_support import Cast, key, make_cast

from chainledger.checkpoint import open_checkpoint, verify_checkpoint
from chainledger.crypto import public_key_bytes
from chainledger.encoding import b64decode, b64encode
from chainledger.errors import BadSignature, ClockSkew, MalformedInput, NotAllowed, NotFound
from chainledger.note import (
    ALG_COSIGNATURE_V1,
    BadNoteSignature,
    BadVerifierKey,
    Cosigner,
    Note,
    Signer,
    UnverifiedNote,
    format_note,
    key_id,
    parse_note,
    parse_verifier_key,
)
from chainledger.verify import verify_ledger
from chainledger.witness import (
    CosignatureKeyMismatch,
    check_cosignature,
    cosign_checkpoint,
    parse_cosignature_line,
    witness_verifier,
)

WITNESS = key(41)
WITNESS_ID = "p_witnesstest000"
BODY = "example.com/log\n5\nbDqXAeJWaHvsYeCzj8pRSkBMP2g5Ki+vrDuJt/lPW+s=\n"


def note_of(body: str) -> str:
    """A signed checkpoint note of ``body`` (by some log key)."""
    signer = Signer("example.com/log", key(40))
    return format_note(Note(body, (signer.sign(body),)))


# --- pure -------------------------------------------------------------------------------------


def test_verifier_is_type_0x04_with_the_c2sp_key_id() -> None:
    pub = public_key_bytes(WITNESS)
    v = witness_verifier(WITNESS_ID, pub)
    assert (v.name, v.alg, v.public_key) == (WITNESS_ID, ALG_COSIGNATURE_V1, pub)
    assert v.key_id == key_id(WITNESS_ID, 0x04, pub)
    assert v == Cosigner(WITNESS_ID, WITNESS).verifier()
    assert parse_verifier_key(v.vkey()) == v  # the vkey string round-trips
    with pytest.raises(MalformedInput):
        witness_verifier("bad name", pub)
    with pytest.raises(BadVerifierKey):
        witness_verifier(WITNESS_ID, pub[:31])


def test_cosign_then_check_returns_the_timestamp() -> None:
    line = cosign_checkpoint(note_of(BODY), WITNESS_ID, WITNESS, 1_700_000_000)
    assert line.startswith(f"\u2014 {WITNESS_ID} ")
    assert line.endswith("\n")
    raw = b64decode(line.split(" ")[2].strip(), "sig")
    assert len(raw) == 4 + 8 + 64
    assert struct.unpack(">Q", raw[4:12])[0] == 1_700_000_000
    v = witness_verifier(WITNESS_ID, public_key_bytes(WITNESS))
    assert check_cosignature(BODY, line, v) == 1_700_000_000
    assert check_cosignature(BODY, line.rstrip("\n"), v) == 1_700_000_000  # newline optional


def test_refusals_are_specific() -> None:
    line = cosign_checkpoint(note_of(BODY), WITNESS_ID, WITNESS, 1_700_000_000)
    v = witness_verifier(WITNESS_ID, public_key_bytes(WITNESS))
    # Another key under the same name: another key ID.
    other = witness_verifier(WITNESS_ID, public_key_bytes(key(42)))
    with pytest.raises(CosignatureKeyMismatch):
        check_cosignature(BODY, line, other)
    # Another name.
    with pytest.raises(CosignatureKeyMismatch):
        check_cosignature(BODY, line, witness_verifier("p_someoneelse000", v.public_key))
    # Another body.
    with pytest.raises(BadNoteSignature):
        check_cosignature(BODY.replace("\n5\n", "\n6\n"), line, v)
    # A forged signature with the right key ID and a changed timestamp.
    raw = bytearray(b64decode(line.split(" ")[2].strip(), "sig"))
    raw[11] ^= 1
    forged = f"\u2014 {WITNESS_ID} {b64encode(bytes(raw))}\n"
    with pytest.raises(BadNoteSignature):
        check_cosignature(BODY, forged, v)
    # A type 0x01 verifier is not a witness key.
    plain = v.__class__(v.name, v.key_id, 0x01, v.public_key)
    with pytest.raises(BadVerifierKey):
        check_cosignature(BODY, line, plain)
    assert issubclass(CosignatureKeyMismatch, BadSignature)
    assert issubclass(BadNoteSignature, BadSignature)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        f"- {WITNESS_ID} AAAAAAAA",
        f"\u2014 {WITNESS_ID}",
        f"\u2014 {WITNESS_ID} not*base64",
        f"\u2014 {WITNESS_ID} AAAA",
        f"\u2014 {WITNESS_ID} AAAAAAAA\n\u2014 {WITNESS_ID} AAAAAAAA\n",
        f"\u2014 {WITNESS_ID} AAAAAAAA\n\n",
        f"\u2014 {WITNESS_ID} AAAA\x00AAAA",
        "\ud800",
    ],
)
def test_garbage_lines_are_malformed(garbage: str) -> None:
    v = witness_verifier(WITNESS_ID, public_key_bytes(WITNESS))
    with pytest.raises(MalformedInput):
        check_cosignature(BODY, garbage, v)


def test_a_parsing_but_short_signature_is_a_bad_signature() -> None:
    v = witness_verifier(WITNESS_ID, public_key_bytes(WITNESS))
    short = f"\u2014 {WITNESS_ID} {b64encode(v.key_id + b'x' * 10)}"
    assert parse_cosignature_line(short).key_id == v.key_id
    with pytest.raises(BadNoteSignature):
        check_cosignature(BODY, short, v)


def test_cosign_refuses_non_checkpoints_and_bad_timestamps() -> None:
    with pytest.raises(MalformedInput):
        cosign_checkpoint(note_of("just text\n"), WITNESS_ID, WITNESS, 1)
    with pytest.raises(MalformedInput):
        cosign_checkpoint(BODY, WITNESS_ID, WITNESS, 1)  # no signature block
    for bad in (-1, 2**63):
        with pytest.raises(MalformedInput):
            cosign_checkpoint(note_of(BODY), WITNESS_ID, WITNESS, bad)
    assert cosign_checkpoint(note_of(BODY), WITNESS_ID, WITNESS, 2**63 - 1)


# --- store and ledger -------------------------------------------------------------------------


@pytest.fixture
def cast(tmp_path: Path) -> Iterator[Cast]:
    c = make_cast(tmp_path / "ledger.db")
    try:
        yield c
    finally:
        c.domain.close()


def now(cast: Cast) -> int:
    return int(cast.domain.ledger.clock().timestamp())


def cosign(
    cast: Cast, timestamp: int, signer_key: Ed25519PrivateKey | None = None
) -> tuple[int, str]:
    """The latest checkpoint's size and the auditor's cosignature line of it."""
    latest = cast.domain.store.latest_checkpoint()
    assert latest is not None
    k = signer_key or cast.auditor.key
    return latest.size, cosign_checkpoint(latest.note, cast.auditor.id, k, timestamp)


def test_store_replaces_only_with_a_newer_timestamp(cast: Cast) -> None:
    store = cast.domain.store
    with store.write() as w:
        assert w.add_cosignature(3, "p_b", "line b", 10)
        assert w.add_cosignature(3, "p_a", "line a", 10)
        assert not w.add_cosignature(3, "p_a", "older a", 9)
        assert not w.add_cosignature(3, "p_a", "same a", 10)
        assert w.add_cosignature(4, "p_a", "other size", 1)
    assert store.cosignatures(3) == ["line a", "line b"]  # ordered by witness
    with store.write() as w:
        assert w.add_cosignature(3, "p_a", "newer a", 11)
    assert store.cosignatures(3) == ["newer a", "line b"]
    assert store.cosignatures(4) == ["other size"]
    assert store.cosignatures(99) == []


def test_an_auditor_cosigns_and_the_checkpoint_serves_it(cast: Cast) -> None:
    ledger = cast.domain.ledger
    before = ledger.checkpoint()
    size, line = cosign(cast, now(cast))
    ledger.add_cosignature(size, cast.auditor.id, line)
    assert ledger.cosignatures(size) == [line]
    served = ledger.checkpoint()
    assert served == before + line
    assert parse_note(served).text == parse_note(before).text
    # The log's key still accepts it (the cosignature is an unknown signature to it) ...
    assert verify_checkpoint(served, ledger.vkey).size == size
    # ... the witness's key verifies it alone ...
    witness = witness_verifier(cast.auditor.id, public_key_bytes(cast.auditor.key))
    opened = open_checkpoint(served, [witness])
    assert opened.verified_by == (witness,)
    assert opened.checkpoint.size == size
    # ... and both together.
    assert len(open_checkpoint(served, [ledger.verifier, witness]).verified_by) == 2
    # The log itself did not change, and still verifies (cosignatures are not part of it).
    assert ledger.size() == size
    verify_ledger(ledger.store, rules=ledger.rules)


def test_replacement_only_by_a_newer_timestamp(cast: Cast) -> None:
    ledger = cast.domain.ledger
    t = now(cast)
    size, first = cosign(cast, t - 10)
    ledger.add_cosignature(size, cast.auditor.id, first)
    _, older = cosign(cast, t - 20)
    ledger.add_cosignature(size, cast.auditor.id, older)  # accepted as valid, not stored
    assert ledger.cosignatures(size) == [first]
    _, newer = cosign(cast, t)
    ledger.add_cosignature(size, cast.auditor.id, newer)
    assert ledger.cosignatures(size) == [newer]
    assert ledger.checkpoint().count("\u2014 ") == 2  # the log's signature and one cosignature


def test_ledger_refusals(cast: Cast) -> None:
    ledger = cast.domain.ledger
    t = now(cast)
    size, line = cosign(cast, t)
    with pytest.raises(NotFound):
        ledger.add_cosignature(size + 1000, cast.auditor.id, line)
    with pytest.raises(NotFound):
        ledger.add_cosignature(2**70, cast.auditor.id, line)
    # Not an auditor (a counter), and not a party at all.
    with pytest.raises(NotAllowed):
        ledger.add_cosignature(size, cast.bus.id, line)
    with pytest.raises(NotAllowed):
        ledger.add_cosignature(size, "p_nobody00000000", line)
    # Signed with another key than the auditor's registered one: another key ID.
    _, wrong_key = cosign(cast, t, key(99))
    with pytest.raises(BadSignature):
        ledger.add_cosignature(size, cast.auditor.id, wrong_key)
    # A valid cosignature of another (older) checkpoint's body.
    older = next(ledger.store.checkpoints())
    assert older.size < size
    other_body = cosign_checkpoint(older.note, cast.auditor.id, cast.auditor.key, t)
    with pytest.raises(BadNoteSignature):
        ledger.add_cosignature(size, cast.auditor.id, other_body)
    with pytest.raises(MalformedInput):
        ledger.add_cosignature(size, cast.auditor.id, "garbage")
    skew = int(ledger.skew.total_seconds())
    _, future = cosign(cast, t + skew + 60)
    with pytest.raises(ClockSkew):
        ledger.add_cosignature(size, cast.auditor.id, future)
    _, ancient = cosign(cast, t - 86400)
    with pytest.raises(ClockSkew):
        ledger.add_cosignature(size, cast.auditor.id, ancient)
    _, near_future = cosign(cast, t + 30)  # within the skew
    ledger.add_cosignature(size, cast.auditor.id, near_future)
    assert ledger.cosignatures(size) == [near_future]


def test_an_unknown_witness_key_does_not_break_the_note(cast: Cast) -> None:
    """A stored cosignature whose witness rotated keys is ignored by holders of the new key."""
    ledger = cast.domain.ledger
    size, line = cosign(cast, now(cast))
    ledger.add_cosignature(size, cast.auditor.id, line)
    rotated = witness_verifier(cast.auditor.id, public_key_bytes(key(77)))
    with pytest.raises(UnverifiedNote):
        open_checkpoint(ledger.checkpoint(), [rotated])
    assert verify_checkpoint(ledger.checkpoint(), ledger.vkey).size == size
