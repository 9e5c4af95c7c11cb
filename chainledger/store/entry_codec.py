"""How an entry's canonical bytes are kept on disk: raw, or deflated with a preset dictionary.

An entry is RFC 8785 JSON whose member names, kinds, prefixes and common field
names repeat in every row; DEFLATE (RFC 1951) with a preset dictionary of those
strings stores an access entry in about 60% of its bytes, which is what keeps a
read's footprint (entry, Merkle nodes, access-log row and indexes) under 700
bytes. The stored form is self-describing: raw canonical JSON starts with ``{``;
a compressed one starts with a version byte (1) naming the dictionary, which
therefore never changes: a new dictionary gets a new version byte.

Everything above the store sees only canonical bytes; export, proofs and
verify are unaffected.
"""

from __future__ import annotations

import zlib

__all__ = ["decode_stored", "encode_stored"]

_V1 = 1
#: Never edit: stored rows depend on it. DEFLATE favours strings near the end.
_DICT_V1 = b"".join(
    [
        b'"party.register","pop":"","role":"holder","attrs":{"subject":"person"}',
        b'"asset.issue","valid_from":"","valid_until":null,"digests":{',
        b'"grant.create","scope":{"resident_id_card":["name","id_number"]},"secret_hash":null',
        b'"not_before":"2026-","expires":"2027-","max_uses":',
        b'"access.denied","reason":"field_not_granted","request":"',
        b'"purpose":"ticket_purchase","purpose":"accommodation_registration"',
        b'"purpose":"outpatient_registration"',
        b'"fields":["name","id_number","card_number","account_number"],',
        b'"grant":"g_',
        b'"counter":"p_',
        b'"asset":"a_',
        b'{"prev":"',
        b'","seq":',
        b',"sig":"',
        b'","stmt":{"actor":"p_',
        b'"kind":"access.read","nonce":"',
        b'"Z"},"ts":"2026-11-',
        b'.000Z","v":1}',
    ]
)
# A 4 KiB window (wbits 12) covers any entry with its dictionary and keeps the
# compressor's set-up cheap; level 6 compresses as well as 9 on these rows.
_WBITS = -12
_LEVEL = 6
_MEMLEVEL = 3


def encode_stored(data: bytes) -> bytes:
    """The stored form of an entry's canonical bytes (compressed only if smaller)."""
    co = zlib.compressobj(
        _LEVEL, zlib.DEFLATED, _WBITS, _MEMLEVEL, zlib.Z_DEFAULT_STRATEGY, _DICT_V1
    )
    packed = bytes([_V1]) + co.compress(data) + co.flush()
    return packed if len(packed) < len(data) else data


def decode_stored(stored: bytes) -> bytes:
    """Canonical bytes back from the stored form.

    A row that cannot be decoded (it was tampered with) is returned as it is: it
    then fails to parse as an entry, and `verify` names it.
    """
    if stored[:1] != bytes([_V1]):
        return stored
    try:
        d = zlib.decompressobj(_WBITS, _DICT_V1)
        out = d.decompress(stored[1:]) + d.flush()
    except zlib.error:
        return stored
    return out if d.eof and not d.unused_data else stored
