"""Receipts: what every append returns, and how anyone checks one.

A receipt carries the entry's seq, its leaf hash, the entry bytes themselves,
the signed checkpoint that first includes it, and the inclusion proof against
that checkpoint. Checking it needs only the log's verifier key: no trust in
whoever handed the receipt over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainledger.checkpoint import Checkpoint, open_checkpoint
from chainledger.crypto import SUITES, HashSuite
from chainledger.encoding import JsonObject, hexdecode, parse_json_object
from chainledger.entry import Entry, decode_entry
from chainledger.errors import MalformedInput, VerificationError
from chainledger.note import Verifier
from chainledger.proofs import InclusionProof

__all__ = ["Receipt", "ReceiptMismatch"]


class ReceiptMismatch(VerificationError):
    """The receipt's parts do not agree (leaf hash, seq, proof index or tree size)."""

    code = "receipt_mismatch"


@dataclass(frozen=True, slots=True)
class Receipt:
    seq: int
    leaf_hash: bytes
    entry: bytes
    checkpoint: str
    inclusion: InclusionProof

    def to_json(self) -> JsonObject:
        return {
            "seq": self.seq,
            "leaf_hash": self.leaf_hash.hex(),
            "entry": self.entry.decode("utf-8"),
            "checkpoint": self.checkpoint,
            "inclusion": self.inclusion.to_json(),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | bytes | str) -> Receipt:
        d = dict(obj) if isinstance(obj, Mapping) else parse_json_object(obj, "receipt")
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
