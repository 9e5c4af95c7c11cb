"""How an entry's canonical bytes are kept on disk, compactly and exactly.

An entry is RFC 8785 JSON ``{"prev":<64 hex>,"seq":N,"sig":<88 base64>,"stmt":{...},
"ts":<24 chars>,"v":1}``: a third of it is hex and base64 spelling out 96 random
bytes, and the statement repeats member names, kinds and codes in every row.
The stored form (version 2) keeps ``prev`` and ``sig`` as raw bytes, ``ts`` as
milliseconds, and the statement deflated (RFC 1951) with a preset dictionary of
those repeated strings; it is rebuilt byte for byte on reading. An access
entry is then about half its canonical size, which is what keeps a read's
footprint (entry, Merkle nodes, access-log row and indexes) under 700 bytes.

The statement can be packed early (`pack_statement`, on the sequencer's
checker thread) so the writer thread does not spend its time compressing.

Any row that is not version 2 (raw JSON starting with ``{``, as an attacker
with the file might write) is returned as it is, and a row that fails to
unpack is returned as it is too: either way `verify` decodes and judges it.
The dictionary and the layout never change: a new one gets a new version byte.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import functools
import struct
import time
import zlib
from dataclasses import dataclass

__all__ = [
    "StoredParts",
    "decode_stored",
    "encode_stored",
    "pack_statement",
    "rebuild",
    "unpack_stored",
]

_V2 = 2
_RAW, _DEFLATED = 0, 1
#: Never edit: stored rows depend on it. DEFLATE favours strings near the end.
_DICT = b"".join(
    [
        b'"kind":"party.register","name":"","party":"p_","pop":"","role":"holder",',
        b'"attrs":{"subject":"person"},"key":"',
        b'"kind":"asset.issue","valid_from":"","valid_until":null,"digests":{"name":"',
        b'"kind":"grant.create","scope":{"resident_id_card":["name","id_number"]},',
        b'"secret_hash":null,"not_before":"2026-","expires":"2027-","max_uses":',
        b'"kind":"access.denied","reason":"field_not_granted","request":"',
        b'"purpose":"ticket_purchase","purpose":"accommodation_registration",',
        b'"purpose":"outpatient_registration","purpose":"print_',
        b'"fields":["name","id_number","card_number","account_number","address"],',
        b'"grant":"g_',
        b'"counter":"p_',
        b'"asset":"a_',
        b'{"actor":"p_',
        b'"kind":"access.read","nonce":"',
        b'","ts":"2026-11-',
    ]
)
_WBITS, _LEVEL, _MEMLEVEL = -12, 6, 3
_HEAD = struct.Struct(">B32s64sQ")  # version, prev, sig, ts in ms
_SEQ = struct.Struct(">Q")


def pack_statement(body: bytes) -> bytes:
    """A statement's canonical bytes, deflated if that is smaller (flag byte first)."""
    co = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEMLEVEL, zlib.Z_DEFAULT_STRATEGY, _DICT)
    packed = co.compress(body) + co.flush()
    return bytes([_DEFLATED]) + packed if len(packed) < len(body) else bytes([_RAW]) + body


def _unpack_statement(packed: bytes) -> bytes:
    if packed[:1] == bytes([_RAW]):
        return packed[1:]
    if packed[:1] != bytes([_DEFLATED]):
        raise ValueError("unknown statement packing")
    d = zlib.decompressobj(_WBITS, _DICT)
    body = d.decompress(packed[1:]) + d.flush()
    if not d.eof or d.unused_data:
        raise ValueError("truncated or padded statement")
    return body


def _ms(ts: bytes) -> int:
    fields = (int(ts[0:4]), int(ts[5:7]), int(ts[8:10]), int(ts[11:13]), int(ts[14:16]))
    return calendar.timegm((*fields, int(ts[17:19]))) * 1000 + int(ts[20:23])


@functools.lru_cache(maxsize=256)  # a batch's entries share one ts: format it once
def _ts(ms: int) -> bytes:
    second = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    return f"{second}.{ms % 1000:03d}Z".encode()


def encode_stored(data: bytes, packed_statement: bytes | None = None) -> bytes:
    """The stored form of an entry's canonical bytes (``packed_statement``: its statement
    already packed by `pack_statement`). Falls back to the raw bytes if they do not have
    the exact shape the compact form rebuilds."""
    try:
        head, rest = data[:9], data[9:]
        if head != b'{"prev":"':
            return data
        prev, rest = bytes.fromhex(rest[:64].decode("ascii")), rest[64:]
        seq_end = rest.index(b',"sig":"')
        if rest[:8] != b'","seq":':
            return data
        seq = int(rest[8:seq_end])
        rest = rest[seq_end + 8 :]
        sig = base64.b64decode(rest[:88], validate=True)
        if rest[88:98] != b'","stmt":{':
            return data
        tail = rest[-39:]  # ,"ts":"2026-11-26T13:45:00.123Z","v":1}
        body = rest[97:-39]
        if tail[:7] != b',"ts":"' or tail[31:] != b'","v":1}':
            return data
        ms = _ms(tail[7:31])
        packed = packed_statement if packed_statement is not None else pack_statement(body)
        stored = _HEAD.pack(_V2, prev, sig, ms) + _SEQ.pack(seq) + packed
    except (ValueError, UnicodeDecodeError, OverflowError, struct.error):
        return data
    # Only keep the compact form if it rebuilds exactly: a belt-and-braces check that
    # costs little next to the write.
    return stored if decode_stored(stored) == data else data


@dataclass(slots=True)  # a class, not a NamedTuple: compiled (mypyc), it is built natively
class StoredParts:
    """A version-2 row's fields: the entry's canonical bytes are exactly `rebuild` of them."""

    prev: bytes  # 32 raw bytes
    seq: int
    sig: bytes  # 64 raw bytes
    ts: bytes  # the 24-character timestamp (or longer for a corrupt, out-of-range time)
    body: bytes  # the statement's bytes (canonical if the row is intact; not checked here)


def unpack_stored(stored: bytes) -> StoredParts | None:
    """The fields of a version-2 row, or None for any other row or one that fails to
    unpack (`decode_stored` then returns it as it is)."""
    if stored[:1] != bytes([_V2]) or len(stored) < _HEAD.size + _SEQ.size + 1:
        return None
    try:
        _, prev, sig, ms = _HEAD.unpack_from(stored)
        (seq,) = _SEQ.unpack_from(stored, _HEAD.size)
        body = _unpack_statement(stored[_HEAD.size + _SEQ.size :])
        ts = _ts(ms)  # a corrupt time can be beyond what gmtime takes
    except (ValueError, struct.error, zlib.error, OverflowError, OSError):
        return None
    return StoredParts(prev, seq, sig, ts, body)


def rebuild(parts: StoredParts) -> bytes:
    """The entry bytes the parts spell (`chainledger.entry.encode_entry`'s layout)."""
    return b"".join(
        (
            b'{"prev":"', parts.prev.hex().encode(), b'","seq":', str(parts.seq).encode(),
            b',"sig":"', binascii.b2a_base64(parts.sig, newline=False), b'","stmt":',
            parts.body, b',"ts":"', parts.ts, b'","v":1}',
        )
    )  # fmt: skip


def decode_stored(stored: bytes) -> bytes:
    """Canonical bytes back from the stored form (or the row as it is; see above)."""
    parts = unpack_stored(stored)
    return stored if parts is None else rebuild(parts)
