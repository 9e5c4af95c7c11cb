"""Signed statements and ledger entries: signing, wire form, canonical bytes, refusals."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainledger.clock import format_ts
from chainledger.crypto import party_id, public_key_bytes
from chainledger.encoding import MAX_SAFE_INTEGER, b64encode, canonical
from chainledger.entry import ENTRY_VERSION, GENESIS_PREV, Entry, decode_entry, encode_entry
from chainledger.errors import BadSignature, MalformedInput, SchemaError
from chainledger.statement import (
    COMMON_FIELDS,
    MAX_STATEMENT_BYTES,
    NONCE_BYTES,
    SignedStatement,
    _check_common,
    _check_common_slowly,
    make_statement,
    sign_statement,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUB = public_key_bytes(KEY)
ACTOR = party_id(PUB)
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
NOW = datetime(2026, 11, 26, 13, 45, 0, 123456, tzinfo=UTC)
TS = "2026-11-26T13:45:00.123Z"
PREV = "ab" * 32


def _rand(n: int) -> bytes:
    return bytes(range(100, 100 + n))


NONCE = b64encode(_rand(NONCE_BYTES))


def _statement(**fields: Any) -> dict[str, Any]:
    return make_statement("note", ACTOR, NOW, _rand, **fields)


STMT = _statement(text="x")
SIGNED = sign_statement(STMT, KEY)


# --- statements --------------------------------------------------------------------------------


def test_make_statement_fields() -> None:
    assert STMT == {"kind": "note", "actor": ACTOR, "ts": TS, "nonce": NONCE, "text": "x"}
    assert ACTOR.startswith("p_")
    assert len(ACTOR) == 18


def test_sign_statement_produces_a_verifying_statement() -> None:
    assert SIGNED.stmt == STMT
    assert SIGNED.body == canonical(STMT) == rfc8785.dumps(STMT)
    assert SIGNED.sig == KEY.sign(SIGNED.body)
    assert len(SIGNED.sig) == 64
    SIGNED.verify(PUB)
    assert (SIGNED.kind, SIGNED.actor, SIGNED.ts, SIGNED.nonce) == ("note", ACTOR, TS, NONCE)


def test_signed_statement_wire_round_trip() -> None:
    wire = SIGNED.to_wire()
    assert wire == {"stmt": STMT, "sig": b64encode(SIGNED.sig)}
    for form in (wire, json.dumps(wire), canonical(wire), json.dumps(wire, indent=2).encode()):
        back = SignedStatement.from_wire(form)
        assert back == SIGNED
        back.verify(PUB)


@pytest.mark.parametrize("field", ["ts", "nonce"])  # kind and actor are positional parameters
def test_make_statement_refuses_overriding_common_fields(field: str) -> None:
    with pytest.raises(SchemaError) as info:
        make_statement("note", ACTOR, NOW, _rand, **{field: "x"})
    assert info.value.field == field


def test_tampered_body_fails_verify() -> None:
    tampered = SignedStatement.create(dict(STMT, text="y"), SIGNED.sig)
    with pytest.raises(BadSignature):
        tampered.verify(PUB)


@pytest.mark.parametrize("field", ["kind", "ts", "nonce", "extra"])
def test_tampered_field_fails_verify(field: str) -> None:
    changed = {
        "kind": "note.other",
        "ts": "2026-11-26T13:45:00.124Z",
        "nonce": b64encode(bytes(NONCE_BYTES)),
        "extra": 1,
    }[field]
    tampered = SignedStatement.create(dict(STMT, **{field: changed}), SIGNED.sig)
    with pytest.raises(BadSignature):
        tampered.verify(PUB)


def test_flipped_signature_fails_verify() -> None:
    flipped = SignedStatement.create(STMT, bytes([SIGNED.sig[0] ^ 1]) + SIGNED.sig[1:])
    with pytest.raises(BadSignature):
        flipped.verify(PUB)


def test_other_key_fails_verify() -> None:
    with pytest.raises(BadSignature):
        SIGNED.verify(public_key_bytes(OTHER_KEY))


def _wire(**stmt_changes: Any) -> dict[str, Any]:
    stmt = dict(STMT)
    for name, value in stmt_changes.items():
        if value is _DELETE:
            del stmt[name]
        else:
            stmt[name] = value
    return {"stmt": stmt, "sig": b64encode(SIGNED.sig)}


_DELETE = object()

#: (stmt changes, field named by the SchemaError)
SCHEMA_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "missing-kind": ({"kind": _DELETE}, "kind"),
    "missing-actor": ({"actor": _DELETE}, "actor"),
    "missing-ts": ({"ts": _DELETE}, "ts"),
    "missing-nonce": ({"nonce": _DELETE}, "nonce"),
    "kind-int": ({"kind": 1}, "kind"),
    "kind-null": ({"kind": None}, "kind"),
    "actor-list": ({"actor": [ACTOR]}, "actor"),
    "actor-null": ({"actor": None}, "actor"),
    "ts-int": ({"ts": 1764164700123}, "ts"),
    "ts-object": ({"ts": {"ts": TS}}, "ts"),
    "nonce-bool": ({"nonce": True}, "nonce"),
    "kind-uppercase": ({"kind": "Note"}, "kind"),
    "kind-trailing-dot": ({"kind": "note."}, "kind"),
    "kind-leading-dot": ({"kind": ".note"}, "kind"),
    "kind-digit-first": ({"kind": "1note"}, "kind"),
    "kind-space": ({"kind": "no te"}, "kind"),
    "kind-empty": ({"kind": ""}, "kind"),
    "kind-too-long": ({"kind": "a" * 65}, "kind"),
    "actor-uppercase": ({"actor": ACTOR.upper().replace("P_", "p_")}, "actor"),
    "actor-short": ({"actor": ACTOR[:-1]}, "actor"),
    "actor-long": ({"actor": ACTOR + "a"}, "actor"),
    "actor-not-base32": ({"actor": "p_" + "0" * 16}, "actor"),
    "actor-prefix": ({"actor": "q_" + ACTOR[2:]}, "actor"),
    "actor-newline": ({"actor": ACTOR + "\n"}, "actor"),
    "ts-no-millis": ({"ts": "2026-11-26T13:45:00Z"}, "ts"),
    "ts-offset": ({"ts": "2026-11-26T13:45:00.123+00:00"}, "ts"),
    "ts-invalid-date": ({"ts": "2026-02-30T13:45:00.123Z"}, "ts"),
    "nonce-15-bytes": ({"nonce": b64encode(bytes(15))}, "nonce"),
    "nonce-17-bytes": ({"nonce": b64encode(bytes(17))}, "nonce"),
    "nonce-32-bytes": ({"nonce": b64encode(bytes(32))}, "nonce"),
    "nonce-unpadded": ({"nonce": NONCE.rstrip("=")}, "nonce"),
    "nonce-not-base64": ({"nonce": "!" * 24}, "nonce"),
}


@pytest.mark.parametrize("case", SCHEMA_CASES.values(), ids=SCHEMA_CASES.keys())
def test_from_wire_refuses_bad_common_field(case: tuple[dict[str, Any], str]) -> None:
    changes, field = case
    wire = _wire(**changes)
    for form in (wire, json.dumps(wire)):
        with pytest.raises(SchemaError) as info:
            SignedStatement.from_wire(form)
        assert info.value.field == field


@pytest.mark.parametrize(
    "sig",
    [b64encode(bytes(63)), b64encode(bytes(65)), "", "not base64", 64, None, [0] * 64],
    ids=["63-bytes", "65-bytes", "empty", "not-base64", "int", "null", "list"],
)
def test_from_wire_refuses_bad_sig(sig: Any) -> None:
    with pytest.raises(SchemaError) as info:
        SignedStatement.from_wire({"stmt": STMT, "sig": sig})
    assert info.value.field == "sig"


def test_create_refuses_bad_sig_bytes() -> None:
    for sig in (SIGNED.sig[:-1], SIGNED.sig + b"\x00", b64encode(SIGNED.sig)):
        with pytest.raises(SchemaError):
            SignedStatement.create(STMT, sig)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "wire",
    [
        {"stmt": STMT, "sig": b64encode(SIGNED.sig), "extra": 1},
        {"stmt": STMT, "sig": b64encode(SIGNED.sig), "actor": ACTOR},
        {"stmt": STMT},
        {"sig": b64encode(SIGNED.sig)},
        {},
        {"statement": STMT, "sig": b64encode(SIGNED.sig)},
    ],
    ids=["extra", "extra-actor", "no-sig", "no-stmt", "empty", "renamed"],
)
def test_from_wire_refuses_wrong_top_level_members(wire: dict[str, Any]) -> None:
    with pytest.raises(SchemaError):
        SignedStatement.from_wire(wire)
    with pytest.raises(SchemaError):
        SignedStatement.from_wire(json.dumps(wire))


@pytest.mark.parametrize("stmt", [[STMT], "stmt", None, 1], ids=repr)
def test_from_wire_refuses_non_object_stmt(stmt: Any) -> None:
    with pytest.raises(SchemaError) as info:
        SignedStatement.from_wire({"stmt": stmt, "sig": b64encode(SIGNED.sig)})
    assert info.value.field == "stmt"


def _sized_statement(size: int) -> dict[str, Any]:
    base = len(canonical(_statement(text="")))
    stmt = _statement(text="a" * (size - base))
    assert len(canonical(stmt)) == size
    return stmt


def test_statement_of_max_size_is_accepted() -> None:
    stmt = _sized_statement(MAX_STATEMENT_BYTES)
    signed = SignedStatement.from_wire({"stmt": stmt, "sig": b64encode(bytes(64))})
    assert len(signed.body) == MAX_STATEMENT_BYTES


def test_an_entry_of_the_largest_statement_fits_a_tile_bundle() -> None:
    from chainledger.tiles import MAX_ENTRY_BYTES

    signed = SignedStatement.create(_sized_statement(MAX_STATEMENT_BYTES), bytes(64))
    data = encode_entry(MAX_SAFE_INTEGER, "2026-11-26T13:45:00.123Z", "f" * 64, signed)
    assert len(data) <= MAX_ENTRY_BYTES == 65535
    assert MAX_ENTRY_BYTES - len(data) < 32  # the cap is not needlessly low either


def test_from_wire_refuses_oversize_statement() -> None:
    stmt = _sized_statement(MAX_STATEMENT_BYTES + 1)
    wire = {"stmt": stmt, "sig": b64encode(bytes(64))}
    for form in (wire, json.dumps(wire)):
        with pytest.raises(MalformedInput):
            SignedStatement.from_wire(form)
    with pytest.raises(MalformedInput):
        sign_statement(stmt, KEY)


@pytest.mark.parametrize(
    "wire",
    [
        '{"stmt":{"kind":"note"},"sig":"AA=="',
        '{"stmt":{},"stmt":{},"sig":""}',
        '{"stmt":{"text":NaN},"sig":""}',
        '{"stmt":{"n":1.5},"sig":""}',
        b'{"stmt":{"t":"\xff"},"sig":""}',
        "[]",
    ],
    ids=["truncated", "duplicate", "nan", "float", "bad-utf8", "array"],
)
def test_from_wire_refuses_malformed_json(wire: str | bytes) -> None:
    with pytest.raises(MalformedInput):
        SignedStatement.from_wire(wire)


@pytest.mark.parametrize(
    "value", [1.5, 2**53, float("nan"), b"bytes", "\ud800"], ids=["float", "big", "nan", "b", "sur"]
)
def test_statement_outside_data_model_is_malformed(value: Any) -> None:
    with pytest.raises(MalformedInput):
        SignedStatement.from_wire(_wire(value=value))
    with pytest.raises(MalformedInput):
        sign_statement(dict(STMT, value=value), KEY)


def test_from_wire_refuses_fullwidth_digit_ts() -> None:
    with pytest.raises(SchemaError):
        SignedStatement.from_wire(_wire(ts="\uff12\uff10\uff12\uff16" + TS[4:]))


def _near_misses(good: str) -> st.SearchStrategy[Any]:
    """Near misses of ``good`` (a character changed, dropped or added), or other types."""
    chars = st.sampled_from("AQgwaz27+/=_-.:Z0159T\uff10\u00e9 ")
    at = st.integers(0, len(good) - 1)
    return st.one_of(
        st.tuples(at, chars).map(lambda c: good[: c[0]] + c[1] + good[c[0] + 1 :]),
        at.map(lambda i: good[:i] + good[i + 1 :]),
        st.tuples(at, chars).map(lambda c: good[: c[0]] + c[1] + good[c[0] :]),
        st.none(),
        st.integers(0, 9),
    )


_GOOD_COMMON = {
    "kind": "access.read",
    "actor": ACTOR,
    "ts": TS,
    "nonce": b64encode(bytes(range(NONCE_BYTES))),
}


@st.composite
def _common_fields(draw: st.DrawFn) -> dict[str, Any]:
    """The common fields with at most two of them missed narrowly or dropped."""
    stmt: dict[str, Any] = dict(_GOOD_COMMON)
    for name in draw(st.sets(st.sampled_from(COMMON_FIELDS), max_size=2)):
        if draw(st.integers(0, 5)) == 0:
            del stmt[name]
        else:
            stmt[name] = draw(_near_misses(_GOOD_COMMON[name]))
    return stmt


@settings(max_examples=500)
@given(stmt=_common_fields())
def test_quick_common_check_agrees_with_the_field_by_field_one(stmt: dict[str, Any]) -> None:
    """The quick path of the common-field check admits exactly what the slow one admits,
    and the slow one names the field (so a refusal reads the same either way)."""

    def outcome(check: Callable[[dict[str, Any]], None]) -> str:
        try:
            check(stmt)
        except SchemaError as exc:
            return str(exc)
        return "ok"

    assert outcome(_check_common) == outcome(_check_common_slowly)


# --- entries -----------------------------------------------------------------------------------

#: The data model's text: no lone surrogates, no U+0000 (refused by canonical).
_TEXT = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(_TEXT, max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(_TEXT, max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
extra_fields = st.dictionaries(
    st.text(_TEXT, max_size=10).filter(lambda k: k not in COMMON_FIELDS), _values, max_size=5
)
kinds = st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,2}", fullmatch=True)
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
prevs = st.just(GENESIS_PREV) | st.binary(min_size=32, max_size=32).map(bytes.hex)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@given(
    kind=kinds,
    fields=extra_fields,
    when=timestamps,
    nonce=st.binary(min_size=NONCE_BYTES, max_size=NONCE_BYTES),
    seq=st.integers(0, MAX_SAFE_INTEGER),
    entry_when=timestamps,
    prev=prevs,
)
@settings(max_examples=100, deadline=None)
def test_encode_entry_equals_rfc8785_and_decodes(
    kind: str,
    fields: dict[str, Any],
    when: datetime,
    nonce: bytes,
    seq: int,
    entry_when: datetime,
    prev: str,
) -> None:
    assume(_depth(fields) <= 25)
    stmt = make_statement(kind, ACTOR, when, lambda n: nonce, **fields)
    signed = sign_statement(stmt, KEY)
    ts = format_ts(entry_when)
    obj = {"v": 1, "seq": seq, "ts": ts, "prev": prev, "stmt": stmt, "sig": b64encode(signed.sig)}

    data = encode_entry(seq, ts, prev, signed)

    assert data == rfc8785.dumps(obj)
    entry = decode_entry(data)
    assert entry == Entry(seq, ts, prev, signed, data)
    assert entry.to_json() == obj
    assert (entry.kind, entry.actor) == (kind, ACTOR)
    entry.statement.verify(PUB)
    assert encode_entry(entry.seq, entry.ts, entry.prev, entry.statement) == data


GOOD_ENTRY_OBJ: dict[str, Any] = {
    "v": ENTRY_VERSION,
    "seq": 7,
    "ts": TS,
    "prev": PREV,
    "stmt": STMT,
    "sig": b64encode(SIGNED.sig),
}
GOOD_ENTRY = encode_entry(7, TS, PREV, SIGNED)


def test_good_entry_decodes() -> None:
    assert rfc8785.dumps(GOOD_ENTRY_OBJ) == GOOD_ENTRY
    entry = decode_entry(GOOD_ENTRY)
    assert (entry.seq, entry.ts, entry.prev, entry.data) == (7, TS, PREV, GOOD_ENTRY)
    assert entry.statement == SIGNED


def test_genesis_prev_and_seq_zero_decode() -> None:
    data = encode_entry(0, TS, GENESIS_PREV, SIGNED)
    assert decode_entry(data).prev == "0" * 64
    assert decode_entry(data).seq == 0


def _unicode_entry() -> tuple[SignedStatement, bytes]:
    signed = sign_statement(_statement(text="caf\u00e9/\x1f\U0001f600"), KEY)
    return signed, encode_entry(3, TS, PREV, signed)


NON_CANONICAL: dict[str, Callable[[], bytes]] = {
    "indented": lambda: json.dumps(GOOD_ENTRY_OBJ, sort_keys=True, indent=1).encode(),
    "space-after-colon": lambda: json.dumps(
        GOOD_ENTRY_OBJ, sort_keys=True, separators=(",", ": ")
    ).encode(),
    "space-after-comma": lambda: GOOD_ENTRY.replace(b',"seq"', b', "seq"'),
    "reordered-keys": lambda: json.dumps(GOOD_ENTRY_OBJ, separators=(",", ":")).encode(),
    "reordered-stmt-keys": lambda: GOOD_ENTRY.replace(
        SIGNED.body, json.dumps(STMT, separators=(",", ":")).encode()
    ),
    "escaped-non-ascii": lambda: _unicode_entry()[1].replace("\u00e9".encode(), b"\\u00e9"),
    "escaped-astral": lambda: _unicode_entry()[1].replace("\U0001f600".encode(), b"\\ud83d\\ude00"),
    "escaped-slash": lambda: _unicode_entry()[1].replace(b"/", b"\\/"),
    "uppercase-escape": lambda: _unicode_entry()[1].replace(b"\\u001f", b"\\u001F"),
    "escaped-ascii-letter": lambda: GOOD_ENTRY.replace(b'"note"', b'"\\u006eote"'),
    "negative-zero": lambda: encode_entry(0, TS, PREV, SIGNED).replace(b'"seq":0', b'"seq":-0'),
    "trailing-newline": lambda: GOOD_ENTRY + b"\n",
    "leading-space": lambda: b" " + GOOD_ENTRY,
}


@pytest.mark.parametrize("make", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_decode_entry_refuses_non_canonical_bytes(make: Callable[[], bytes]) -> None:
    data = make()
    assert data != GOOD_ENTRY
    json.loads(data)  # still valid JSON, only not canonical
    with pytest.raises(MalformedInput):
        decode_entry(data)


def test_unicode_entry_in_canonical_form_decodes() -> None:
    signed, data = _unicode_entry()
    assert "\u00e9".encode() in data
    assert b"\\u001f" in data
    assert decode_entry(data).statement == signed


_MISSING = object()

#: (member, replacement value); _MISSING removes the member.
BAD_MEMBERS: dict[str, tuple[str, Any]] = {
    **{f"missing-{m}": (m, _MISSING) for m in ("v", "seq", "ts", "prev", "stmt", "sig")},
    "extra-member": ("extra", 1),
    "v-2": ("v", 2),
    "v-0": ("v", 0),
    "v-string": ("v", "1"),
    "v-true": ("v", True),
    "v-null": ("v", None),
    "seq-negative": ("seq", -1),
    "seq-string": ("seq", "7"),
    "seq-true": ("seq", True),
    "seq-null": ("seq", None),
    "prev-uppercase": ("prev", PREV.upper()),
    "prev-short": ("prev", PREV[:-1]),
    "prev-long": ("prev", PREV + "a"),
    "prev-not-hex": ("prev", "g" * 64),
    "prev-int": ("prev", 0),
    "prev-empty": ("prev", ""),
    "ts-no-millis": ("ts", "2026-11-26T13:45:00Z"),
    "ts-offset": ("ts", "2026-11-26T13:45:00.123+00:00"),
    "ts-invalid-date": ("ts", "2026-02-30T13:45:00.123Z"),
    "ts-int": ("ts", 1),
    "ts-null": ("ts", None),
    "sig-int": ("sig", 1),
    "sig-empty": ("sig", ""),
    "sig-63-bytes": ("sig", b64encode(bytes(63))),
    "sig-url-safe": ("sig", b64encode(bytes([0xFB]) * 64).replace("+", "-")),
}


@pytest.mark.parametrize("case", BAD_MEMBERS.values(), ids=BAD_MEMBERS.keys())
def test_decode_entry_refuses_bad_member(case: tuple[str, Any]) -> None:
    member, value = case
    obj = copy.deepcopy(GOOD_ENTRY_OBJ)
    if value is _MISSING:
        del obj[member]
    else:
        obj[member] = value
    with pytest.raises(MalformedInput):
        decode_entry(rfc8785.dumps(obj))


@pytest.mark.parametrize(
    "stmt",
    [{k: v for k, v in STMT.items() if k != "actor"}, dict(STMT, kind="Bad"), dict(STMT, nonce="")],
    ids=["missing-actor", "bad-kind", "bad-nonce"],
)
def test_decode_entry_refuses_bad_statement_fields(stmt: Any) -> None:
    with pytest.raises(SchemaError):
        decode_entry(rfc8785.dumps(dict(GOOD_ENTRY_OBJ, stmt=stmt)))


@pytest.mark.parametrize("stmt", ["x", [], None, 1], ids=repr)
def test_decode_entry_refuses_non_object_statement(stmt: Any) -> None:
    # A wrong member type (MalformedInput) or a statement that is not an object (SchemaError).
    with pytest.raises((MalformedInput, SchemaError)):
        decode_entry(rfc8785.dumps(dict(GOOD_ENTRY_OBJ, stmt=stmt)))


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b"{}", b"\xff", GOOD_ENTRY[:-1], GOOD_ENTRY.replace(b'"v":1', b'"v":1.0')],
    ids=["empty", "array", "empty-object", "bad-utf8", "truncated", "float-v"],
)
def test_decode_entry_refuses_malformed(data: bytes) -> None:
    with pytest.raises(MalformedInput):
        decode_entry(data)


def test_decode_entry_does_not_check_the_signature() -> None:
    # The actor's key is needed for that; the caller verifies separately.
    forged = SignedStatement.create(STMT, bytes(64))
    entry = decode_entry(encode_entry(1, TS, PREV, forged))
    with pytest.raises(BadSignature):
        entry.statement.verify(PUB)


def test_decode_entry_refuses_fullwidth_digit_ts() -> None:
    obj = dict(GOOD_ENTRY_OBJ, ts="\uff12\uff10\uff12\uff16" + TS[4:])
    with pytest.raises(MalformedInput):
        decode_entry(rfc8785.dumps(obj))


def test_decode_entry_refuses_oversize_statement() -> None:
    stmt = _sized_statement(MAX_STATEMENT_BYTES + 1)
    data = encode_entry(1, TS, PREV, SignedStatement(stmt, canonical(stmt), bytes(64)))
    with pytest.raises(MalformedInput):
        decode_entry(data)
