"""Ledger entries: the leaves of the Merkle tree and the links of the hash chain.

An entry is the RFC 8785 canonical JSON of ``{"v":1,"seq":N,"ts":"<RFC 3339 UTC ms>",
"prev":"<hex leaf hash of entry N-1>","stmt":{...},"sig":"<b64>"}``.
Entry 0 is the genesis entry; its ``prev`` is 64 zeros. Its leaf hash is
H(0x00 || entry bytes) (RFC 9162 section 2.1.1).

Because RFC 8785 sorts member names, the canonical bytes always read
``{"prev":...,"seq":...,"sig":...,"stmt":<canonical stmt>,"ts":...,"v":1}``;
`encode_entry` writes them by concatenation (the statement's canonical bytes
are embedded verbatim, RFC 8785 section 3.2.3 being recursive) and the tests
check it against the `rfc8785` package.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from chainledger.clock import check_ts
from chainledger.encoding import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    JsonObject,
    b64decode,
    b64encode,
    canonical,
    parse_canonical_object,
    parse_json_object,
)
from chainledger.errors import MalformedInput
from chainledger.statement import SignedStatement
from chainledger.store.entry_codec import StoredParts, rebuild

__all__ = [
    "ENTRY_VERSION",
    "GENESIS_PREV",
    "Entry",
    "decode_entry",
    "decode_parts",
    "encode_entry",
    "parts_statement",
]

ENTRY_VERSION = 1
GENESIS_PREV = "0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MEMBERS = {"v", "seq", "ts", "prev", "stmt", "sig"}


def encode_entry(seq: int, ts: str, prev: str, statement: SignedStatement) -> bytes:
    """The canonical bytes of an entry (equal to ``rfc8785.dumps`` of its object)."""
    return b"".join(
        (
            b'{"prev":"',
            prev.encode("ascii"),
            b'","seq":',
            str(seq).encode("ascii"),
            b',"sig":"',
            b64encode(statement.sig).encode("ascii"),
            b'","stmt":',
            statement.body,
            b',"ts":"',
            ts.encode("ascii"),
            b'","v":1}',
        )
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """A decoded entry. ``data`` is its canonical bytes, the Merkle leaf."""

    seq: int
    ts: str
    prev: str
    statement: SignedStatement
    data: bytes

    @property
    def kind(self) -> str:
        return self.statement.kind

    @property
    def actor(self) -> str:
        return self.statement.actor

    def to_json(self) -> JsonObject:
        return {
            "v": ENTRY_VERSION,
            "seq": self.seq,
            "ts": self.ts,
            "prev": self.prev,
            "stmt": self.statement.stmt,
            "sig": b64encode(self.statement.sig),
        }


_TAIL = len(',"ts":"2026-11-26T13:45:00.123Z","v":1}')


def decode_entry(data: bytes) -> Entry:
    """Decode untrusted entry bytes, insisting that they are exactly canonical.

    Raises `MalformedInput` (bad JSON, wrong members or types, not canonical)
    or `SchemaError` (the statement's common fields). Signatures are not
    checked here: that needs the actor's key.
    """
    obj = parse_json_object(data, "entry")
    if set(obj) != _MEMBERS:
        raise MalformedInput("entry", "must have exactly the members v, seq, ts, prev, stmt, sig")
    if obj["v"] != ENTRY_VERSION or isinstance(obj["v"], bool):
        raise MalformedInput("entry", f"unsupported version {obj['v']!r}")
    seq = obj["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise MalformedInput("entry", "seq must be a non-negative integer")
    check_ts(obj["ts"], "entry ts")
    if not isinstance(obj["prev"], str) or _HEX64.fullmatch(obj["prev"]) is None:
        raise MalformedInput("entry", "prev must be 64 lowercase hex digits")
    if not isinstance(obj["sig"], str):
        raise MalformedInput("entry", "sig must be base64")
    if not isinstance(obj["stmt"], dict):
        raise MalformedInput("entry", "stmt must be a JSON object")
    if canonical(obj, checked=True) != data:
        raise MalformedInput("entry", "bytes are not the RFC 8785 canonical form")
    # Canonical bytes embed canonical(stmt) verbatim between '"stmt":' (the first one:
    # prev, seq and sig hold no quotes or colons) and the fixed-length '"ts"' tail, so the
    # signed body is a slice, not a second encoding.
    body = data[data.index(b'"stmt":') + 7 : -_TAIL]
    sig = b64decode(obj["sig"], "entry sig", 64)
    return Entry(seq, obj["ts"], obj["prev"], SignedStatement.trusted(obj["stmt"], body, sig), data)


def decode_parts(parts: StoredParts) -> Entry:
    """`decode_entry` of ``rebuild(parts)``, checking only what the parts leave open.

    The layout around the statement is fixed by `rebuild`: ``prev`` is lowercase hex,
    ``seq`` a decimal integer, ``sig`` the standard base64 of 64 bytes and ``v`` is 1,
    all canonical by construction. The statement bytes are embedded verbatim between
    ``"stmt":`` and ``,"ts":``, so when they are a JSON object that is exactly canonical
    (RFC 8785), the entry is canonical too, and only ``ts`` and the statement's common
    fields remain to check (`parts_statement`). Anything unusual goes to `decode_entry`
    itself, so the verdict and the refusal are always the general path's; the tests check
    the two agree on corrupted rows.
    """
    ts, statement = parts_statement(parts)
    return Entry(parts.seq, ts, parts.prev.hex(), statement, rebuild(parts))


def parts_statement(parts: StoredParts) -> tuple[str, SignedStatement]:
    """The entry ts and statement of `decode_parts`, raising exactly what it raises, without
    building the entry's bytes (the caller has its leaf hash already). Anything unusual (a
    statement that does not parse alone or is not canonical, deep nesting, a huge seq)
    goes to `decode_entry` of the rebuilt bytes."""
    body = parts.body
    # MAX_DEPTH - 1: inside the entry the statement is one level deeper than alone.
    if parts.seq > MAX_SAFE_INTEGER or body.count(b"{") + body.count(b"[") >= MAX_DEPTH:
        return _general(parts)
    stmt = parse_canonical_object(body)
    if stmt is None:
        return _general(parts)
    return _entry_ts(parts.ts), SignedStatement.trusted(stmt, body, parts.sig)


@functools.lru_cache(maxsize=64)  # a batch's entries share one ts (a refusal is not cached)
def _entry_ts(ts: bytes) -> str:
    return check_ts(ts.decode("ascii"), "entry ts")  # rebuild's ts is ASCII digits


def _general(parts: StoredParts) -> tuple[str, SignedStatement]:
    entry = decode_entry(rebuild(parts))
    return entry.ts, entry.statement
