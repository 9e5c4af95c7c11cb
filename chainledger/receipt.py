"""Receipts: what every append returns, and how anyone checks one.

A receipt carries the entry's seq, its leaf hash, the entry bytes themselves,
the signed checkpoint that first includes it, and the inclusion proof against
that checkpoint. Checking it needs only the log's verifier key: no trust in
whoever handed the receipt over.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from chainledger.checkpoint import Checkpoint, open_checkpoint
from chainledger.crypto import SUITES, HashSuite
from chainledger.encoding import JsonObject, check_json_value, hexdecode, parse_json_object
from chainledger.entry import Entry, decode_entry
from chainledger.errors import LedgerCorrupt, MalformedInput, VerificationError
from chainledger.merkle import inclusion_ranges, range_node_keys
from chainledger.note import Verifier
from chainledger.proofs import InclusionProof, range_hashes
from chainledger.store.base import CheckpointRow, LogReader

__all__ = ["JSON_TEXT", "Receipt", "ReceiptMismatch", "json_text", "stored_receipt"]

#: Compact JSON text as the API writes it (UTF-8 kept, no NaN): ``JSON_TEXT.encode(value)``.
JSON_TEXT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

# Dataclasses and datetimes go to `JSON_TEXT` (which refuses them) as before.
_ORJSON_PLAIN = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def json_text(value: object) -> str:
    """``JSON_TEXT.encode(value)`` for a value of the ledger's data model (strings, safe
    integers, booleans, None, lists, objects with string keys; no floats, which orjson
    would write differently: NaN as null, 1e16 without the plus), written by orjson,
    some ten times faster for the read path's entries and small objects. Both write the
    same RFC 8259 text for these: compact, UTF-8 kept, only the required escapes
    (tested). What orjson refuses (an integer beyond 64 bits, a lone surrogate, a
    dataclass, a datetime) goes to `JSON_TEXT`, to the same result or error as before."""
    try:
        return orjson.dumps(value, option=_ORJSON_PLAIN).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return JSON_TEXT.encode(value)


class ReceiptMismatch(VerificationError):
    """The receipt's parts do not agree (leaf hash, seq, proof index or tree size)."""

    code = "receipt_mismatch"


@dataclass(frozen=True, eq=False)
class Receipt:
    """seq, leaf hash, entry bytes, signed checkpoint and inclusion proof.

    The sequencer hands out receipts whose proof is computed on first use, in
    the caller's thread (`Receipt.lazy`): the single writer thread does not
    spend its time on proofs nobody asks for.
    """

    seq: int
    leaf_hash: bytes
    entry: bytes
    checkpoint: str
    inclusion: InclusionProof

    def __eq__(self, other: object) -> bool:
        # Field by field (a lazily computed receipt equals an eager one with the same parts).
        if not isinstance(other, Receipt):
            return NotImplemented
        return (self.seq, self.leaf_hash, self.entry, self.checkpoint, self.inclusion) == (
            other.seq, other.leaf_hash, other.entry, other.checkpoint, other.inclusion,
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    @staticmethod
    def lazy(
        seq: int,
        leaf_hash: bytes,
        entry: bytes,
        checkpoint: str,
        compute: Callable[[], InclusionProof],
    ) -> Receipt:
        receipt = object.__new__(_LazyReceipt)
        for name, value in (
            ("seq", seq), ("leaf_hash", leaf_hash), ("entry", entry), ("checkpoint", checkpoint),
            ("_compute", compute),
        ):  # fmt: skip
            object.__setattr__(receipt, name, value)
        return receipt

    def to_json(self) -> JsonObject:
        return {
            "seq": self.seq,
            "leaf_hash": self.leaf_hash.hex(),
            "entry": self.entry.decode("utf-8"),
            "checkpoint": self.checkpoint,
            "inclusion": self.inclusion.to_json(),
        }

    def json_text(self) -> str:
        """`to_json` as compact JSON text, equal to ``JSON_TEXT.encode(self.to_json())``
        but written from the parts (the entry and the checkpoint are escaped once, as
        strings; no dict is built)."""
        return (
            f'{{"seq":{self.seq:d},"leaf_hash":"{self.leaf_hash.hex()}",'
            f'"entry":{json_text(self.entry.decode("utf-8"))},'
            f'"checkpoint":{json_text(self.checkpoint)},'
            f'"inclusion":{self.inclusion.json_text()}}}'
        )

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | bytes | str) -> Receipt:
        if isinstance(obj, Mapping):
            d = dict(obj)
            try:  # a mapping (e.g. from a lenient JSON parser) skipped the text's checks
                check_json_value(d)
            except MalformedInput as exc:
                raise MalformedInput("receipt", exc.reason) from None
        else:
            d = parse_json_object(obj, "receipt")
        members = {"seq", "leaf_hash", "entry", "checkpoint", "inclusion"}
        if set(d) != members:
            raise MalformedInput(
                "receipt", "must have exactly the members " + ", ".join(sorted(members))
            )
        if not isinstance(d["seq"], int) or isinstance(d["seq"], bool) or d["seq"] < 0:
            raise MalformedInput("receipt", "seq must be a non-negative integer")
        if not isinstance(d["entry"], str) or not isinstance(d["checkpoint"], str):
            raise MalformedInput("receipt", "entry and checkpoint must be strings")
        return cls(
            d["seq"],
            hexdecode(d["leaf_hash"], "receipt leaf_hash", 32),
            d["entry"].encode("utf-8"),
            d["checkpoint"],
            InclusionProof.from_json(d["inclusion"]),
        )

    def verify(
        self,
        verifiers: list[Verifier],
        *,
        origin: str | None = None,
        suite: HashSuite = SUITES["sha256"],
    ) -> tuple[Entry, Checkpoint]:
        """Check the receipt end to end; return the decoded entry and the checkpoint.

        The checkpoint must be signed by one of ``verifiers``; the leaf hash must
        be H(0x00 || entry); the entry's seq, the proof's leaf index and the
        receipt's seq must agree; the proof must lead to the checkpoint's root.
        Raises a `VerificationError` subclass or `MalformedInput` otherwise.
        """
        signed = open_checkpoint(self.checkpoint, verifiers, origin=origin)
        cp = signed.checkpoint
        if suite.leaf(self.entry) != self.leaf_hash:
            raise ReceiptMismatch("leaf hash is not the hash of the entry")
        entry = decode_entry(self.entry)
        if not entry.seq == self.seq == self.inclusion.leaf_index:
            raise ReceiptMismatch("entry seq, receipt seq and proof index differ")
        if self.inclusion.tree_size != cp.size:
            raise ReceiptMismatch("proof is for another tree size than the checkpoint")
        self.inclusion.verify(self.leaf_hash, cp.root, suite=suite)
        return entry, cp


class _LazyReceipt(Receipt):
    """A receipt whose ``inclusion`` is computed the first time it is read."""

    def __getattr__(self, name: str) -> Any:
        # Only called while "inclusion" has not been set yet (normal lookup failed).
        if name != "inclusion":
            raise AttributeError(name)
        value = self.__dict__.pop("_compute")()
        object.__setattr__(self, "inclusion", value)
        return value


def stored_receipt(
    state: LogReader, suite: HashSuite, seq: int, checkpoint: CheckpointRow
) -> Receipt:
    """The receipt of entry ``seq``, already stored, against the stored ``checkpoint``
    (whose size covers it): the entry, its leaf hash and an inclusion proof from the
    stored nodes, as the append that wrote it would have answered at that size.
    `LedgerCorrupt` if the entry or a node is missing."""
    data = state.entry(seq)
    if data is None or not 0 <= seq < checkpoint.size:
        raise LedgerCorrupt(seq, "the stored entry is missing")
    ranges = inclusion_ranges(seq, checkpoint.size)
    hashes = range_hashes(state.nodes(range_node_keys(ranges)), ranges, suite)
    return Receipt(
        seq, suite.leaf(data), data, checkpoint.note, InclusionProof(seq, checkpoint.size, hashes)
    )
