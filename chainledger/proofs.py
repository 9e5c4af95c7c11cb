"""Proof JSON (DESIGN.md): inclusion and consistency proofs as they travel.

``{"leaf_index":i,"tree_size":n,"hashes":["<b64>",...]}`` and
``{"first":m,"second":n,"hashes":[...]}``, hashes in standard base64, indices 0-based.
"""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainledger.crypto import SUITES, HashSuite
from chainledger.encoding import (
    MAX_SAFE_INTEGER,
    JsonObject,
    b64decode,
    b64encode,
    parse_json_object,
)
from chainledger.errors import LedgerCorrupt, MalformedInput, VerificationError
from chainledger.merkle import NodeKey, Range, range_hash, verify_consistency, verify_inclusion

__all__ = ["MAX_PROOF_HASHES", "ConsistencyProof", "InclusionProof"]

#: A tree of up to 2**64 leaves never needs more than 2 * 64 hashes in a proof.
MAX_PROOF_HASHES = 130


def _b64_list(hashes: tuple[bytes, ...]) -> str:
    """The hashes as the members of a JSON array of base64 strings (the alphabet needs no
    escaping in JSON)."""
    return ",".join(f'"{b2a_base64(h, newline=False).decode("ascii")}"' for h in hashes)


def _load(obj: Mapping[str, Any] | bytes | str, members: tuple[str, ...], what: str) -> JsonObject:
    data = dict(obj) if isinstance(obj, Mapping) else parse_json_object(obj, what)
    if set(data) != set(members):
        raise MalformedInput(what, "must have exactly the members " + ", ".join(members))
    for name in members[:-1]:
        value = data[name]
        # A mapping skipped parse_json_object: the same I-JSON range (RFC 7493 section 2.2)
        # is checked here, or a proof could be taken that cannot be written back.
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 0 <= value <= MAX_SAFE_INTEGER
        ):
            raise MalformedInput(what, f"{name} must be a non-negative integer below 2**53")
    hashes = data["hashes"]
    if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES:
        raise MalformedInput(what, f"hashes must be a list of at most {MAX_PROOF_HASHES}")
    data["hashes"] = [b64decode(h, f"{what} hash") for h in hashes]
    return data


@dataclass(frozen=True, slots=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> JsonObject:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "hashes": [b64encode(h) for h in self.hashes],
        }

    def json_text(self) -> str:
        """`to_json` as compact JSON text (what ``json.dumps(self.to_json(), separators=(",",
        ":"))`` writes), for answers built without a dict (the counter read's)."""
        return (
            f'{{"leaf_index":{self.leaf_index:d},"tree_size":{self.tree_size:d},'
            f'"hashes":[{_b64_list(self.hashes)}]}}'
        )

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | bytes | str) -> InclusionProof:
        d = _load(obj, ("leaf_index", "tree_size", "hashes"), "inclusion proof")
        return cls(d["leaf_index"], d["tree_size"], tuple(d["hashes"]))

    def verify(self, leaf_hash: bytes, root: bytes, *, suite: HashSuite = SUITES["sha256"]) -> None:
        """See `chainledger.merkle.verify_inclusion`."""
        verify_inclusion(leaf_hash, self.leaf_index, self.tree_size, self.hashes, root, suite=suite)

    def verify_entry(
        self, data: bytes, seq: int, size: int, root: bytes, *, suite: HashSuite = SUITES["sha256"]
    ) -> None:
        """Raise a `VerificationError` unless ``data`` (an entry's canonical bytes) is leaf
        ``seq`` of the tree of ``size`` whose root is ``root``: the proof must be for
        exactly that place, and lead from H(0x00 || data) to the root."""
        if (self.leaf_index, self.tree_size) != (seq, size):
            raise VerificationError(
                f"the proof is for leaf {self.leaf_index} of a tree of {self.tree_size}, "
                f"not {seq} of {size}"
            )
        self.verify(suite.leaf(data), root, suite=suite)


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    first: int
    second: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> JsonObject:
        return {
            "first": self.first,
            "second": self.second,
            "hashes": [b64encode(h) for h in self.hashes],
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | bytes | str) -> ConsistencyProof:
        d = _load(obj, ("first", "second", "hashes"), "consistency proof")
        return cls(d["first"], d["second"], tuple(d["hashes"]))

    def verify(
        self, first_root: bytes, second_root: bytes, *, suite: HashSuite = SUITES["sha256"]
    ) -> None:
        """See `chainledger.merkle.verify_consistency`."""
        verify_consistency(
            self.first, self.second, self.hashes, first_root, second_root, suite=suite
        )


def range_hashes(
    nodes: Mapping[NodeKey, bytes], ranges: list[Range], suite: HashSuite
) -> tuple[bytes, ...]:
    """The hash of each of ``ranges`` from stored complete-subtree ``nodes`` (those of
    `chainledger.merkle.range_node_keys`): a proof's hashes. `LedgerCorrupt` naming the
    first leaf under a node that is missing."""

    def node(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise LedgerCorrupt(index << level, f"Merkle node ({level}, {index}) missing") from None

    return tuple(range_hash(lo, hi, node, suite=suite) for lo, hi in ranges)
