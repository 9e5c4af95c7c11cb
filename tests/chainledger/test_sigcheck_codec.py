"""Signature checks in worker processes, and the compact stored form of entries."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainledger.crypto import generate_key, public_key_bytes
from chainledger.encoding import parse_canonical_object
from chainledger.entry import Entry, decode_entry, decode_parts
from chainledger.errors import ChainledgerError
from chainledger.ledger import Ledger
from chainledger.sigcheck import SignatureChecker, check_all
from chainledger.store.entry_codec import (
    decode_stored,
    encode_stored,
    pack_statement,
    unpack_stored,
)


def jobs(n: int, bad: set[int]) -> list[tuple[bytes, bytes, bytes]]:
    key = generate_key(os.urandom)
    pub = public_key_bytes(key)
    out = []
    for i in range(n):
        msg = f"message {i}".encode()
        sig = key.sign(msg)
        if i in bad:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        out.append((pub, sig, msg))
    return out


@pytest.mark.parametrize("processes", [0, 1, 2, 3])
def test_checker_agrees_with_inline_checks(processes: int) -> None:
    batch = jobs(300, bad={0, 7, 150, 299})
    checker = SignatureChecker(processes, inline_below=64)
    try:
        got = checker.check(batch)
        assert got == check_all(batch)
        assert [i for i, ok in enumerate(got) if not ok] == [0, 7, 150, 299]
        assert checker.check(batch[:10]) == check_all(batch[:10])  # small: inline
    finally:
        checker.close()


def test_malformed_keys_and_signatures_do_not_verify() -> None:
    (pub, sig, msg) = jobs(1, set())[0]
    batch = [(pub[:31], sig, msg), (pub, sig[:63], msg), (b"\x00" * 32, sig, msg)] * 30
    checker = SignatureChecker(2, inline_below=1)
    try:
        assert checker.check(batch) == [False] * len(batch)
    finally:
        checker.close()


def test_a_dead_worker_does_not_lose_a_batch() -> None:
    batch = jobs(200, bad={3})
    checker = SignatureChecker(2, inline_below=1)
    try:
        assert checker.check(batch)[3] is False
        for w in checker._workers:
            w.proc.kill()
            w.proc.wait()
        got = checker.check(batch)  # falls back to checking here, then restarts workers
        assert got == check_all(batch)
        assert checker.check(batch) == got
    finally:
        checker.close()


@pytest.fixture(scope="module")
def entries(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    with Ledger.init(tmp_path_factory.mktemp("codec") / "l.db") as led:
        for text in ["x", "名字 with ünïcödé", "😀 beyond the BMP", "q" * 3000]:
            led.append(led.platform_statement("note", text=text))
        return [data for _, data in led.entries()]


def test_stored_form_round_trips_exactly_and_is_smaller(entries: list[bytes]) -> None:
    for data in entries:
        stored = encode_stored(data)
        assert decode_stored(stored) == data
        assert stored[:1] == b"\x02"
        assert len(stored) < len(data)
        body = data[data.index(b'"stmt":') + 7 : -39]
        assert encode_stored(data, pack_statement(body)) == stored


def test_rows_that_are_not_the_compact_form_pass_through(entries: list[bytes]) -> None:
    for data in entries:
        assert decode_stored(data) == data  # raw JSON, as an attacker might write it
        broken = encode_stored(data)
        broken = broken[:-3] + bytes([broken[-3] ^ 0xFF]) + broken[-2:]
        out = decode_stored(broken)
        assert out != data  # never silently "repaired"
    assert encode_stored(b'{"not":"an entry"}') == b'{"not":"an entry"}'
    assert decode_stored(b"\x02short") == b"\x02short"


@settings(max_examples=50, deadline=None)
@given(text=st.text(min_size=1, max_size=200).filter(lambda t: "\x00" not in t))
def test_any_note_round_trips(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    from chainledger.entry import encode_entry
    from chainledger.errors import ChainledgerError
    from chainledger.statement import make_statement, sign_statement

    key = generate_key(os.urandom)
    from datetime import UTC, datetime

    from chainledger.crypto import party_id

    try:
        stmt = sign_statement(
            make_statement(
                "note", party_id(public_key_bytes(key)), datetime.now(UTC), os.urandom, text=text
            ),
            key,
        )
    except ChainledgerError:
        return  # outside the data model (e.g. lone surrogates): never stored
    data = encode_entry(7, "2026-11-26T13:45:00.123Z", "ab" * 32, stmt)
    assert decode_stored(encode_stored(data)) == data


def test_a_real_ledger_is_stored_compactly(tmp_path: Path) -> None:
    import sqlite3

    with Ledger.init(tmp_path / "c.db") as led:
        for i in range(50):
            led.append(led.platform_statement("note", text=f"note {i}"))
    conn = sqlite3.connect(tmp_path / "c.db")
    try:
        rows = [bytes(r[0]) for r in conn.execute("SELECT data FROM entries")]
    finally:
        conn.close()
    assert all(r[:1] == b"\x02" for r in rows)


SMALL_ORDER_KEYS = [
    bytes([1]) + bytes(31),  # the identity
    bytes(32),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
]


@pytest.mark.parametrize("weak", SMALL_ORDER_KEYS, ids=lambda k: k.hex()[:8])
def test_weak_keys_never_verify_and_cannot_register(weak: bytes, tmp_path: Path) -> None:
    from chainledger.crypto import is_small_order, public_key_from_bytes
    from chainledger.errors import MalformedInput

    assert is_small_order(weak)
    # The trivial signature that a small-order key "verifies" on any message:
    trivial = bytes([1]) + bytes(31) + bytes(32)
    batch = [(weak, trivial, b"any message")] * 80
    checker = SignatureChecker(2, inline_below=1)
    try:
        assert checker.check(batch) == [False] * 80
    finally:
        checker.close()
    with pytest.raises(MalformedInput):
        public_key_from_bytes(weak)
    assert not is_small_order(public_key_bytes(generate_key(os.urandom)))


def test_a_weak_key_cannot_be_registered(tmp_path: Path) -> None:
    from domain_support import make_cast

    from chainledger.errors import SchemaError
    from chainledger.parties import register_fields

    cast = make_cast(tmp_path / "w.db")
    d = cast.domain
    try:
        weak = SMALL_ORDER_KEYS[0]
        fields = register_fields(weak, "counter", "weak", {"counter_type": "bus_station"}, "AA==")
        size = d.ledger.size()
        with pytest.raises(SchemaError):
            d.ledger.append(d.ledger.platform_statement("party.register", **fields))
        assert d.ledger.size() == size
    finally:
        d.close()


# --- verify's quick decode of compact rows (decode_parts) against the general path -------


def _outcome(decode: Callable[[], Entry]) -> tuple[object, ...]:
    """What a decode gives: the entry's fields, or the refusal's type and message."""
    try:
        e = decode()
    except ChainledgerError as exc:
        return ("refused", type(exc).__name__, str(exc))
    return ("entry", e.seq, e.ts, e.prev, e.statement.stmt, e.statement.body, e.statement.sig,
            e.data)  # fmt: skip


def _agree(row: bytes) -> tuple[object, ...]:
    """decode_parts on a compact row says exactly what decode_entry says of its bytes."""
    parts = unpack_stored(row)
    assert parts is not None
    general = _outcome(lambda: decode_entry(decode_stored(row)))
    assert _outcome(lambda: decode_parts(parts)) == general
    return general


def _with_body(row: bytes, body: bytes) -> bytes:
    """``row`` with its statement bytes replaced (packed as the codec packs them)."""
    return row[:_ROW_HEAD] + pack_statement(body)


_ROW_HEAD = 1 + 32 + 64 + 8 + 8  # version, prev, sig, ms, seq


def test_quick_decode_gives_the_same_entries(entries: list[bytes]) -> None:
    for data in entries:
        assert _agree(encode_stored(data))[0] == "entry"
    # and it is quick: an intact row never takes the general path, which parts_statement
    # takes exactly when the quick parse of the statement gives up (None). (Asked of the
    # parse itself: replacing decode_entry would not reach a compiled module's own calls.)
    for data in entries:
        parts = unpack_stored(encode_stored(data))
        assert parts is not None
        assert parse_canonical_object(parts.body) is not None
        assert decode_parts(parts).data == data


_BODIES = [
    # a duplicate key
    b'{"actor":"p_aaaaaaaaaaaaaaaa","kind":"note","kind":"note",'
    b'"nonce":"AAAAAAAAAAAAAAAAAAAAAA==","text":"x","ts":"2026-11-26T13:45:00.123Z"}',
    b'{ "actor":"p_aaaaaaaaaaaaaaaa"}',  # whitespace
    b'{"b":1,"a":2}',  # unsorted
    b'{"a":"\\u00e9"}',  # needless escape
    b'{"a":"\\u0000"}',  # NUL
    b'{"a":"\\ud800"}',  # lone surrogate
    b'{"a":1.5}',  # float
    b'{"a":9007199254740993}',  # beyond 2**53
    b'{"a":NaN}',
    b"[1,2]",
    b'"text"',
    b"",
    b"\xff\xfe",
    b'{"a":1},"x":{"b":2}',  # extra members once spliced into the entry
    b'{"a":1},"stmt":{"b":2}',  # a second stmt once spliced
    b"{" * 40 + b"}" * 40,
    b'{"a":' + b"[" * 31 + b"]" * 31 + b"}",  # at the depth limit alone, beyond it inside
]


@pytest.mark.parametrize("body", _BODIES)
def test_quick_decode_refuses_what_the_general_path_refuses(
    entries: list[bytes], body: bytes
) -> None:
    assert _agree(_with_body(encode_stored(entries[0]), body))[0] == "refused"


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_quick_decode_agrees_on_corrupted_rows(entries: list[bytes], data: st.DataObject) -> None:
    row = bytearray(encode_stored(data.draw(st.sampled_from(entries))))
    parts = unpack_stored(bytes(row))
    assert parts is not None
    body = bytearray(parts.body)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(0, max(len(body) - 1, 0)))
        how = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if how == "flip" and body:
            body[where] ^= data.draw(st.integers(1, 255))
        elif how == "insert":
            body[where:where] = data.draw(st.binary(min_size=1, max_size=4))
        elif body:
            del body[where]
    head = bytearray(row[:_ROW_HEAD])
    if data.draw(st.booleans()):  # the time and seq fields too: any u64
        head[97:113] = data.draw(st.binary(min_size=16, max_size=16))
    _agree(bytes(head) + pack_statement(bytes(body)))
