"""Proof JSON and receipts: round trips, refusals, and a real receipt with each corruption."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainledger import merkle
from chainledger.checkpoint import OriginMismatch, parse_checkpoint_body, sign_checkpoint
from chainledger.crypto import generate_key
from chainledger.encoding import b64encode, canonical
from chainledger.entry import decode_entry
from chainledger.errors import MalformedInput, VerificationError
from chainledger.ledger import Ledger
from chainledger.merkle import InvalidProof, ProofLengthError, RootMismatch
from chainledger.note import (
    BadNoteSignature,
    Signer,
    UnverifiedNote,
    parse_note,
    parse_verifier_key,
)
from chainledger.proofs import MAX_PROOF_HASHES, ConsistencyProof, InclusionProof
from chainledger.receipt import JSON_TEXT, Receipt, ReceiptMismatch, json_text

_VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"
HASH = b64encode(bytes(range(32)))

hashes = st.lists(st.binary(min_size=32, max_size=32), max_size=8).map(tuple)
indices = st.integers(0, 2**53 - 1)


# --- proof JSON --------------------------------------------------------------------------------


@given(index=indices, size=indices, proof=hashes)
def test_inclusion_proof_json_round_trip(index: int, size: int, proof: tuple[bytes, ...]) -> None:
    p = InclusionProof(index, size, proof)
    obj = p.to_json()
    assert obj == {"leaf_index": index, "tree_size": size, "hashes": [b64encode(h) for h in proof]}
    assert InclusionProof.from_json(obj) == p
    assert InclusionProof.from_json(json.dumps(obj)) == p
    assert InclusionProof.from_json(canonical(obj)) == p


@given(first=indices, second=indices, proof=hashes)
def test_consistency_proof_json_round_trip(
    first: int, second: int, proof: tuple[bytes, ...]
) -> None:
    p = ConsistencyProof(first, second, proof)
    obj = p.to_json()
    assert obj == {"first": first, "second": second, "hashes": [b64encode(h) for h in proof]}
    assert ConsistencyProof.from_json(obj) == p
    assert ConsistencyProof.from_json(json.dumps(obj)) == p
    assert ConsistencyProof.from_json(canonical(obj)) == p


def _tessera_leaves() -> list[bytes]:
    data = json.loads((_VECTOR_DIR / "tessera_testlog_vectors.json").read_text(encoding="utf-8"))
    return [merkle.leaf_hash(word.encode()) for word in data["entries"]]


def test_proofs_survive_json_and_verify() -> None:
    leaves = _tessera_leaves()
    n = len(leaves)
    root = merkle.root(leaves)
    for i in range(n):
        p = InclusionProof(i, n, tuple(merkle.inclusion_proof(i, leaves)))
        InclusionProof.from_json(json.dumps(p.to_json())).verify(leaves[i], root)
    for m in range(1, n + 1):
        c = ConsistencyProof(m, n, tuple(merkle.consistency_proof(m, leaves)))
        ConsistencyProof.from_json(json.dumps(c.to_json())).verify(merkle.root(leaves[:m]), root)


def test_verify_entry_pins_the_proof_to_the_entry_s_place() -> None:
    data = json.loads((_VECTOR_DIR / "tessera_testlog_vectors.json").read_text(encoding="utf-8"))
    entries = [word.encode() for word in data["entries"]]
    leaves = [merkle.leaf_hash(e) for e in entries]
    n, root = len(leaves), merkle.root(leaves)
    for i in (0, n // 2, n - 1):
        p = InclusionProof(i, n, tuple(merkle.inclusion_proof(i, leaves)))
        p.verify_entry(entries[i], i, n, root)
        with pytest.raises(VerificationError, match=r"not \d+ of \d+"):
            p.verify_entry(entries[i], i + 1, n, root)  # the right proof for another place
        with pytest.raises(VerificationError, match=r"not \d+ of \d+"):
            p.verify_entry(entries[i], i, n + 1, root)
        with pytest.raises(VerificationError):
            p.verify_entry(entries[i] + b" ", i, n, root)  # other bytes at that place


INCLUSION = {"leaf_index": 1, "tree_size": 2, "hashes": [HASH]}
CONSISTENCY = {"first": 1, "second": 2, "hashes": [HASH]}


def _bad_proofs(good: dict[str, Any]) -> dict[str, dict[str, Any]]:
    a, b = (k for k in good if k != "hashes")
    return {
        f"missing-{a}": {k: v for k, v in good.items() if k != a},
        "missing-hashes": {k: v for k, v in good.items() if k != "hashes"},
        "extra-member": {**good, "root": HASH},
        f"negative-{a}": {**good, a: -1},
        f"negative-{b}": {**good, b: -1},
        f"bool-{a}": {**good, a: True},
        f"string-{b}": {**good, b: "2"},
        f"null-{b}": {**good, b: None},
        "hashes-string": {**good, "hashes": HASH},
        "hashes-object": {**good, "hashes": {"0": HASH}},
        "hashes-null": {**good, "hashes": None},
        "too-many-hashes": {**good, "hashes": [HASH] * (MAX_PROOF_HASHES + 1)},
        "hash-int": {**good, "hashes": [1]},
        "hash-null": {**good, "hashes": [None]},
        "hash-unpadded": {**good, "hashes": [HASH.rstrip("=")]},
        "hash-url-safe": {**good, "hashes": [b64encode(bytes([0xFB]) * 32).replace("/", "_")]},
        "hash-non-canonical": {**good, "hashes": [HASH[:-2] + "9="]},
        "hash-garbage": {**good, "hashes": ["not base64!"]},
    }


BAD_INCLUSION = _bad_proofs(INCLUSION)
BAD_CONSISTENCY = _bad_proofs(CONSISTENCY)


def test_good_proof_json_parses() -> None:
    assert InclusionProof.from_json(INCLUSION) == InclusionProof(1, 2, (bytes(range(32)),))
    assert ConsistencyProof.from_json(CONSISTENCY) == ConsistencyProof(1, 2, (bytes(range(32)),))


@pytest.mark.parametrize("obj", BAD_INCLUSION.values(), ids=BAD_INCLUSION.keys())
def test_inclusion_proof_refuses(obj: dict[str, Any]) -> None:
    with pytest.raises(MalformedInput):
        InclusionProof.from_json(obj)
    with pytest.raises(MalformedInput):
        InclusionProof.from_json(json.dumps(obj))


@pytest.mark.parametrize("obj", BAD_CONSISTENCY.values(), ids=BAD_CONSISTENCY.keys())
def test_consistency_proof_refuses(obj: dict[str, Any]) -> None:
    with pytest.raises(MalformedInput):
        ConsistencyProof.from_json(obj)
    with pytest.raises(MalformedInput):
        ConsistencyProof.from_json(json.dumps(obj))


@pytest.mark.parametrize(
    "text",
    [
        '{"leaf_index":1,"tree_size":2',
        '{"leaf_index":1.0,"tree_size":2,"hashes":[]}',
        '{"leaf_index":1,"leaf_index":1,"tree_size":2,"hashes":[]}',
        "[]",
        b"\xff",
    ],
    ids=["truncated", "float", "duplicate", "array", "bad-utf8"],
)
def test_inclusion_proof_refuses_malformed_json(text: str | bytes) -> None:
    with pytest.raises(MalformedInput):
        InclusionProof.from_json(text)


def test_max_proof_hashes_accepted() -> None:
    obj = {**INCLUSION, "hashes": [HASH] * MAX_PROOF_HASHES}
    assert len(InclusionProof.from_json(obj).hashes) == MAX_PROOF_HASHES
    assert len(ConsistencyProof.from_json({**CONSISTENCY, "hashes": obj["hashes"]}).hashes) == (
        MAX_PROOF_HASHES
    )


# --- receipts ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Issued:
    ledger: Ledger
    receipt: Receipt


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    ledger = Ledger.init(tmp_path_factory.mktemp("receipt") / "l.db")
    try:
        receipt = ledger.append(ledger.platform_statement("note", text="x"))
        yield Issued(ledger, receipt)
    finally:
        ledger.close()


def test_receipt_verifies(issued: Issued) -> None:
    ledger, receipt = issued.ledger, issued.receipt

    entry, cp = receipt.verify([ledger.verifier])

    assert entry.seq == receipt.seq == 1
    assert entry.data == receipt.entry == ledger.entry(1)
    assert entry.kind == "note"
    assert entry.actor == ledger.platform_id
    assert entry.statement.stmt["text"] == "x"
    assert merkle.leaf_hash(receipt.entry) == receipt.leaf_hash
    assert cp.origin == ledger.origin
    assert cp.size == 2 == receipt.inclusion.tree_size
    assert cp.root == ledger.root(2)
    assert receipt.inclusion.leaf_index == 1


def test_receipt_verifies_with_an_independent_verifier(issued: Issued) -> None:
    independent = parse_verifier_key(issued.ledger.vkey)
    entry, cp = issued.receipt.verify([independent], origin=issued.ledger.origin)
    assert (entry.seq, cp.size) == (1, 2)


def test_receipt_other_origin(issued: Issued) -> None:
    with pytest.raises(OriginMismatch):
        issued.receipt.verify([issued.ledger.verifier], origin="other.example/ledger")


def test_receipt_json_round_trip(issued: Issued) -> None:
    receipt = issued.receipt
    obj = receipt.to_json()
    assert set(obj) == {"seq", "leaf_hash", "entry", "checkpoint", "inclusion"}
    assert obj["leaf_hash"] == receipt.leaf_hash.hex()
    for form in (obj, json.dumps(obj), canonical(obj), json.dumps(obj, indent=2).encode()):
        back = Receipt.from_json(form)
        assert back == receipt
        back.verify([issued.ledger.verifier])


def test_receipt_for_genesis_entry(issued: Issued) -> None:
    ledger = issued.ledger
    data = ledger.entry(0)
    receipt = Receipt(
        0, merkle.leaf_hash(data), data, issued.receipt.checkpoint, ledger.inclusion_proof(0, 2)
    )
    entry, _ = receipt.verify([ledger.verifier])
    assert entry.kind == "genesis"


def _replace(receipt: Receipt, **changes: Any) -> Receipt:
    return dataclasses.replace(receipt, **changes)


def _flip(data: bytes, i: int = 0) -> bytes:
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :]


def test_receipt_entry_changed(issued: Issued) -> None:
    r = issued.receipt
    changed = r.entry.replace(b'"text":"x"', b'"text":"y"')
    assert changed != r.entry
    with pytest.raises(ReceiptMismatch):
        _replace(r, entry=changed).verify([issued.ledger.verifier])


def test_receipt_entry_changed_with_matching_leaf_hash(issued: Issued) -> None:
    r = issued.receipt
    changed = r.entry.replace(b'"text":"x"', b'"text":"y"')
    decode_entry(changed)  # still a well-formed entry (signatures are not checked there)
    forged = _replace(r, entry=changed, leaf_hash=merkle.leaf_hash(changed))
    with pytest.raises(InvalidProof):
        forged.verify([issued.ledger.verifier])


def test_receipt_entry_not_canonical_with_matching_leaf_hash(issued: Issued) -> None:
    r = issued.receipt
    spaced = r.entry.replace(b'"seq":1', b'"seq": 1')
    with pytest.raises(MalformedInput):
        _replace(r, entry=spaced, leaf_hash=merkle.leaf_hash(spaced)).verify(
            [issued.ledger.verifier]
        )


@pytest.mark.parametrize("i", [0, 31])
def test_receipt_leaf_hash_changed(issued: Issued, i: int) -> None:
    r = issued.receipt
    with pytest.raises(ReceiptMismatch):
        _replace(r, leaf_hash=_flip(r.leaf_hash, i)).verify([issued.ledger.verifier])


@pytest.mark.parametrize("seq", [0, 2, 3])
def test_receipt_seq_changed(issued: Issued, seq: int) -> None:
    with pytest.raises(ReceiptMismatch):
        _replace(issued.receipt, seq=seq).verify([issued.ledger.verifier])


@pytest.mark.parametrize("index", [0, 2])
def test_receipt_proof_index_changed(issued: Issued, index: int) -> None:
    r = issued.receipt
    proof = dataclasses.replace(r.inclusion, leaf_index=index)
    with pytest.raises(ReceiptMismatch):
        _replace(r, inclusion=proof).verify([issued.ledger.verifier])


@pytest.mark.parametrize("size", [1, 3, 4])
def test_receipt_proof_size_changed(issued: Issued, size: int) -> None:
    r = issued.receipt
    proof = dataclasses.replace(r.inclusion, tree_size=size)
    with pytest.raises(ReceiptMismatch):
        _replace(r, inclusion=proof).verify([issued.ledger.verifier])


@pytest.mark.parametrize("i", [0, 17, 31])
def test_receipt_proof_hash_flipped(issued: Issued, i: int) -> None:
    r = issued.receipt
    (h,) = r.inclusion.hashes
    proof = dataclasses.replace(r.inclusion, hashes=(_flip(h, i),))
    with pytest.raises(RootMismatch):
        _replace(r, inclusion=proof).verify([issued.ledger.verifier])
    assert issubclass(RootMismatch, InvalidProof)


@pytest.mark.parametrize("count", [0, 2])
def test_receipt_proof_wrong_length(issued: Issued, count: int) -> None:
    r = issued.receipt
    proof = dataclasses.replace(r.inclusion, hashes=(r.inclusion.hashes * 2)[:count])
    with pytest.raises(ProofLengthError):
        _replace(r, inclusion=proof).verify([issued.ledger.verifier])


def test_receipt_checkpoint_signed_by_another_key(issued: Issued) -> None:
    r = issued.receipt
    cp = parse_checkpoint_body(parse_note(r.checkpoint).text)
    impostor = Signer(issued.ledger.origin, generate_key(os.urandom))
    resigned = sign_checkpoint(cp, impostor)
    assert parse_note(resigned).text == parse_note(r.checkpoint).text
    with pytest.raises(UnverifiedNote):
        _replace(r, checkpoint=resigned).verify([issued.ledger.verifier])
    # ...and it does verify for whoever trusts the impostor: only the key decides.
    _replace(r, checkpoint=resigned).verify([impostor.verifier()])


def test_receipt_verified_against_another_ledger(issued: Issued, tmp_path: Path) -> None:
    with Ledger.init(tmp_path / "other.db") as other, pytest.raises(UnverifiedNote):
        issued.receipt.verify([other.verifier])


@pytest.mark.parametrize("line", [1, 2], ids=["size", "root"])
def test_receipt_checkpoint_text_altered(issued: Issued, line: int) -> None:
    r = issued.receipt
    lines = r.checkpoint.split("\n")
    lines[line] = "3" if line == 1 else b64encode(bytes(32))
    altered = "\n".join(lines)
    with pytest.raises(BadNoteSignature):
        _replace(r, checkpoint=altered).verify([issued.ledger.verifier])


def test_receipt_with_a_later_genuine_checkpoint(tmp_path: Path) -> None:
    # A genuine checkpoint of a larger tree does not fit an old proof: the receipt's parts
    # must agree as issued; a fresh proof against the new checkpoint does verify.
    with Ledger.init(tmp_path / "l.db") as ledger:
        receipt = ledger.append(ledger.platform_statement("note", text="x"))
        ledger.append(ledger.platform_statement("note", text="later"))
        later = ledger.checkpoint()
        assert later != receipt.checkpoint
        with pytest.raises(ReceiptMismatch):
            _replace(receipt, checkpoint=later).verify([ledger.verifier])
        fresh = _replace(receipt, checkpoint=later, inclusion=ledger.inclusion_proof(1))
        entry, cp = fresh.verify([ledger.verifier])
        assert (entry.seq, cp.size) == (1, 3)


GOOD_RECEIPT_JSON = {
    "seq": 1,
    "leaf_hash": "00" * 32,
    "entry": "{}",
    "checkpoint": "cp\n",
    "inclusion": INCLUSION,
}

BAD_RECEIPTS: dict[str, dict[str, Any]] = {
    **{
        f"missing-{m}": {k: v for k, v in GOOD_RECEIPT_JSON.items() if k != m}
        for m in GOOD_RECEIPT_JSON
    },
    "extra-member": {**GOOD_RECEIPT_JSON, "root": HASH},
    "seq-negative": {**GOOD_RECEIPT_JSON, "seq": -1},
    "seq-bool": {**GOOD_RECEIPT_JSON, "seq": True},
    "seq-string": {**GOOD_RECEIPT_JSON, "seq": "1"},
    "leaf-hash-uppercase": {**GOOD_RECEIPT_JSON, "leaf_hash": "AB" * 32},
    "leaf-hash-short": {**GOOD_RECEIPT_JSON, "leaf_hash": "00" * 31},
    "leaf-hash-long": {**GOOD_RECEIPT_JSON, "leaf_hash": "00" * 33},
    "leaf-hash-base64": {**GOOD_RECEIPT_JSON, "leaf_hash": HASH},
    "leaf-hash-int": {**GOOD_RECEIPT_JSON, "leaf_hash": 0},
    "entry-object": {**GOOD_RECEIPT_JSON, "entry": {}},
    "entry-null": {**GOOD_RECEIPT_JSON, "entry": None},
    "checkpoint-list": {**GOOD_RECEIPT_JSON, "checkpoint": ["cp\n"]},
    "inclusion-string": {**GOOD_RECEIPT_JSON, "inclusion": "proof"},
    "inclusion-bad": {**GOOD_RECEIPT_JSON, "inclusion": BAD_INCLUSION["negative-leaf_index"]},
}


def test_good_receipt_json_parses() -> None:
    r = Receipt.from_json(GOOD_RECEIPT_JSON)
    assert (r.seq, r.leaf_hash, r.entry, r.checkpoint) == (1, bytes(32), b"{}", "cp\n")


@pytest.mark.parametrize("obj", BAD_RECEIPTS.values(), ids=BAD_RECEIPTS.keys())
def test_receipt_from_json_refuses(obj: dict[str, Any]) -> None:
    with pytest.raises(MalformedInput):
        Receipt.from_json(obj)
    with pytest.raises(MalformedInput):
        Receipt.from_json(json.dumps(obj))


def test_receipt_from_json_refuses_lone_surrogate_entry() -> None:
    text = json.dumps({**GOOD_RECEIPT_JSON, "entry": "\ud800"})
    assert "\\ud800" in text
    with pytest.raises(MalformedInput):
        Receipt.from_json(text)


# --- json_text: orjson where it writes what JSON_TEXT writes ------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]))
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _text,  # > 64 bits: fallback
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@given(_json_values)
def test_json_text_writes_what_json_text_encoder_writes(value: Any) -> None:
    assert json_text(value) == JSON_TEXT.encode(value)


@pytest.mark.parametrize(
    "text", ["", "\x00\x01\x1f\x7f", '"\\/\b\f\n\r\t', "\u2028\u2029", "é中😀", "\ud800"]
)
def test_json_text_escapes_as_json_does(text: str) -> None:
    assert json_text(text) == JSON_TEXT.encode(text)
    assert json_text({text: [text]}) == JSON_TEXT.encode({text: [text]})


def test_json_text_refuses_what_json_text_encoder_refuses() -> None:
    with pytest.raises(TypeError):
        json_text(datetime.now(UTC))
    with pytest.raises(TypeError):
        json_text(InclusionProof(0, 1, ()))
