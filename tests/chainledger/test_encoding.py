"""Canonical JSON (RFC 8785), strict JSON parsing, base64/hex, and the timestamp form."""

from __future__ import annotations

import base64
import dataclasses
import json
import types
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainledger.clock import format_ts, parse_ts, system_clock
from chainledger.encoding import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    b64decode,
    b64encode,
    canonical,
    check_json_value,
    hexdecode,
    parse_json_object,
    text_is_unicode,
)
from chainledger.errors import MalformedInput

# --- the ledger's JSON data model --------------------------------------------------------------

#: Text of the data model: no lone surrogates (category Cs) and no U+0000, which is
#: refused (see test_canonical_refuses_nul).
texts = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=20)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5),
    max_leaves=15,
)
json_objects = st.dictionaries(texts, json_values, max_size=6)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _nested(levels: int, leaf: Any) -> Any:
    """``levels`` lists around ``leaf``: the leaf sits at depth ``levels``."""
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


@given(value=json_objects | st.lists(json_values, max_size=6))
@settings(max_examples=100, deadline=None)
def test_canonical_equals_rfc8785(value: dict[str, Any] | list[Any]) -> None:
    assume(_depth(value) <= MAX_DEPTH)
    data = canonical(value)
    assert data == rfc8785.dumps(value)
    assert json.loads(data) == value
    assert canonical(json.loads(data)) == data  # idempotent


@given(value=json_objects)
@settings(max_examples=75, deadline=None)
def test_parse_json_object_of_canonical_round_trips(value: dict[str, Any]) -> None:
    assume(_depth(value) <= MAX_DEPTH)
    assert parse_json_object(canonical(value)) == value
    assert parse_json_object(canonical(value).decode("utf-8")) == value
    # Any JSON rendering of the same value parses to the same value.
    assert parse_json_object(json.dumps(value, indent=2, ensure_ascii=True)) == value


#: Keys around the places where UTF-16 and code-point order disagree (U+E000..U+FFFF vs
#: astral characters) and where escaping happens (controls, quote, backslash).
_tricky_keys = st.text(
    st.sampled_from(["a", "\x01", "\x1f", '"', "\\", "\x7f", "\u00e9", "\u2028", "\ud7ff"])
    | st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF, exclude_categories=("Cs",))
    | st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, exclude_categories=("Cs",)),
    max_size=4,
)


@given(value=st.dictionaries(_tricky_keys, st.integers(0, 9) | _tricky_keys, max_size=8))
@settings(max_examples=150, deadline=None)
def test_canonical_key_order_and_escaping_equal_rfc8785(value: dict[str, Any]) -> None:
    assert canonical(value) == rfc8785.dumps(value)
    assert canonical([value, [value]]) == rfc8785.dumps([value, [value]])


def test_canonical_every_bmp_character_equals_rfc8785() -> None:
    # The fast encoder (orjson) must escape and order every character as RFC 8785 does:
    # each block of 512 code points as keys and values of one object, and in an array.
    for start in range(0, 0x10000, 512):
        # (surrogates are not text; U+0000 is outside the data model)
        chars = [chr(c) for c in range(max(start, 1), start + 512) if not 0xD800 <= c <= 0xDFFF]
        if not chars:
            continue
        value: dict[str, Any] = {c + "k": [c, c + "v"] for c in chars}
        assert canonical(value) == rfc8785.dumps(value), hex(start)


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 11, 27, tzinfo=UTC), {"ts": datetime(2026, 11, 27, tzinfo=UTC)}, Decimal(1)],
)
def test_canonical_refuses_non_json_types_even_unchecked(value: Any) -> None:
    # checked=True skips the data-model walk; the encoder itself must still refuse what
    # json.dumps refused (orjson would write datetimes and dataclasses on its own).
    with pytest.raises(MalformedInput):
        canonical(value, checked=True)


def test_canonical_refuses_dataclasses_even_unchecked() -> None:
    @dataclasses.dataclass
    class Point:
        x: int

    with pytest.raises(MalformedInput):
        canonical({"p": Point(1)}, checked=True)


def test_canonical_known_bytes() -> None:
    # RFC 8785 section 3.2.3: members sorted by UTF-16 code units (U+1F600 is D83D DE00 < FFFF).
    value = {"\uffff": 1, "\U0001f600": 2, "b": [True, None, -0], "a": '\u00e9\x1f"\\/\x7f'}
    expected = '{"a":"\u00e9\\u001f\\"\\\\/\x7f","b":[true,null,0],"\U0001f600":2,"\uffff":1}'
    assert canonical(value) == expected.encode("utf-8")


def test_canonical_accepts_safe_integer_bounds() -> None:
    assert (
        canonical([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == b"[9007199254740991,-9007199254740991]"
    )
    assert MAX_SAFE_INTEGER == 2**53 - 1


@pytest.mark.parametrize(
    "value",
    [[1.0], [0.0], [-0.0], [float("nan")], [float("inf")], {"a": {"b": [1.5]}}],
    ids=["1.0", "0.0", "-0.0", "nan", "inf", "nested"],
)
def test_canonical_refuses_floats(value: Any) -> None:
    with pytest.raises(MalformedInput):
        canonical(value)


@pytest.mark.parametrize("n", [2**53, -(2**53), 2**64, -(2**100)])
def test_canonical_refuses_unsafe_integers(n: int) -> None:
    with pytest.raises(MalformedInput):
        canonical([n])
    with pytest.raises(MalformedInput):
        canonical({"nested": {"n": n}})


@pytest.mark.parametrize("key", [1, None, True, b"k", (1, 2), 1.5], ids=repr)
def test_canonical_refuses_non_string_keys(key: Any) -> None:
    with pytest.raises(MalformedInput):
        canonical({key: 1})
    with pytest.raises(MalformedInput):
        canonical({"ok": {key: 1}})


@pytest.mark.parametrize(
    "item",
    [b"bytes", {1, 2}, object(), datetime(2026, 1, 1, tzinfo=UTC), Decimal("1"), 1j],
    ids=["bytes", "set", "object", "datetime", "decimal", "complex"],
)
def test_canonical_refuses_non_json_types(item: Any) -> None:
    with pytest.raises(MalformedInput):
        canonical([item])


@pytest.mark.parametrize(
    "value", [["\ud800"], {"\udfff": 1}, {"a": "x\udc00y"}], ids=["value", "key", "embedded"]
)
def test_canonical_refuses_lone_surrogates(value: Any) -> None:
    with pytest.raises(MalformedInput):
        canonical(value)


def test_canonical_refuses_non_dict_mapping_cleanly() -> None:
    with pytest.raises(MalformedInput):
        canonical(types.MappingProxyType({"a": 1}))


def test_canonical_depth_limit() -> None:
    assert canonical(_nested(MAX_DEPTH, 1)) == b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH
    with pytest.raises(MalformedInput):
        canonical(_nested(MAX_DEPTH + 1, 1))
    with pytest.raises(MalformedInput):
        canonical(_nested(MAX_DEPTH + 1, []))
    with pytest.raises(MalformedInput):
        canonical(_nested(10_000, 1))  # refused before any recursive encoder sees it


def test_check_json_value_accepts_the_model() -> None:
    check_json_value({"a": [None, True, False, 0, "s", {"b": []}], "t": (1, 2)})


# --- parse_json_object -------------------------------------------------------------------------


def test_parse_json_object_accepts_bytes_and_str() -> None:
    assert parse_json_object(b'{"a":[1,"\\u00e9",null]}') == {"a": [1, "\u00e9", None]}
    assert parse_json_object(' { "a" : true } ') == {"a": True}


@pytest.mark.parametrize(
    "text",
    ['{"a":1,"a":1}', '{"a":1,"b":2,"a":3}', '{"x":{"a":1,"a":2}}', '{"x":[{"k":1,"k":1}]}'],
    ids=["same-value", "different-value", "nested", "in-array"],
)
def test_parse_json_object_refuses_duplicate_keys(text: str) -> None:
    with pytest.raises(MalformedInput) as info:
        parse_json_object(text, "thing")
    assert info.value.what == "thing"
    assert "duplicate" in info.value.reason


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_parse_json_object_refuses_nan_and_infinity(constant: str) -> None:
    with pytest.raises(MalformedInput):
        parse_json_object(f'{{"a":{constant}}}')


@pytest.mark.parametrize(
    "data",
    [b'{"a":"\xff"}', b'{"a":"\xc3"}', b'{"a":"\xed\xa0\x80"}', b"\xfe\xff{}"],
    ids=["ff", "truncated", "encoded-surrogate", "utf16-bom"],
)
def test_parse_json_object_refuses_invalid_utf8(data: bytes) -> None:
    with pytest.raises(MalformedInput):
        parse_json_object(data)


@pytest.mark.parametrize("text", ["[]", "[{}]", "1", '"s"', "null", "true", "false"])
def test_parse_json_object_refuses_non_object_top_level(text: str) -> None:
    with pytest.raises(MalformedInput):
        parse_json_object(text)


@pytest.mark.parametrize("number", ["1.0", "1e3", "1E2", "-0.0", "0.5", "1e-7"])
def test_parse_json_object_refuses_floats(number: str) -> None:
    with pytest.raises(MalformedInput):
        parse_json_object(f'{{"a":{number}}}')


@pytest.mark.parametrize("n", [2**53, -(2**53), 10**30])
def test_parse_json_object_refuses_unsafe_integers(n: int) -> None:
    with pytest.raises(MalformedInput):
        parse_json_object(f'{{"a":{n}}}')


@pytest.mark.parametrize(
    "text",
    ["", "{", '{"a":1}x', "{'a':1}", '{"a":01}', '{"a":1,}', '{"a":+1}', "\ufeff{}", '{"a":"\t"}'],
    ids=repr,
)
def test_parse_json_object_refuses_invalid_json(text: str) -> None:
    with pytest.raises(MalformedInput):
        parse_json_object(text)


def test_parse_json_object_refuses_deep_nesting() -> None:
    with pytest.raises(MalformedInput):
        parse_json_object('{"a":' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}")
    with pytest.raises(MalformedInput):
        parse_json_object('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")


def test_parse_json_object_refuses_escaped_lone_surrogate() -> None:
    # RFC 7493 (I-JSON) section 2.1: strings MUST NOT contain surrogate code points; canonical()
    # treats them as outside the ledger's data model, so the parser should refuse them too.
    with pytest.raises(MalformedInput):
        parse_json_object('{"a":"\\ud800"}')


@pytest.mark.parametrize("text", ['{"a":"x\\u0000"}', '{"a\\u0000":1}', '{"a":[{"b":"\\u0000"}]}'])
def test_parse_json_object_refuses_nul(text: str) -> None:
    # RFC 8259 admits U+0000, but PostgreSQL's text type cannot store it: refused on every
    # backend, before anything reaches a store (a batch must never fail on one statement).
    with pytest.raises(MalformedInput, match="NUL"):
        parse_json_object(text)


@pytest.mark.parametrize("value", [{"a": "x\0"}, {"a\0": 1}, [["\0"]]])
def test_canonical_refuses_nul(value: Any) -> None:
    with pytest.raises(MalformedInput, match="NUL"):
        canonical(value)


def test_parse_json_object_keeps_an_escaped_backslash_before_u0000() -> None:
    assert parse_json_object('{"a":"x\\\\u0000"}') == {"a": "x\\u0000"}


# --- base64 and hex ----------------------------------------------------------------------------


@given(data=st.binary(max_size=100))
def test_b64_round_trip(data: bytes) -> None:
    text = b64encode(data)
    assert text == base64.b64encode(data).decode()
    assert b64decode(text) == data
    assert b64decode(text, length=len(data)) == data


@pytest.mark.parametrize(
    "text",
    [
        "YQ",  # unpadded
        "YQ=",  # short padding
        "YR==",  # unused bits set: non-canonical
        "YWI=YQ==",  # padding in the middle
        "+/8=".replace("+", "-").replace("/", "_"),  # URL-safe alphabet
        "YQ==\n",
        " YQ==",
        "YQ ==",
        "Y===",
        "====",
        "not base64!",
        "\u00e9\u00e9==",
        "\uff39\uff31==",  # fullwidth letters
    ],
    ids=repr,
)
def test_b64decode_refuses(text: str) -> None:
    with pytest.raises(MalformedInput) as info:
        b64decode(text, "field")
    assert info.value.what == "field"


@pytest.mark.parametrize("value", [b"YQ==", None, 1, ["YQ=="]], ids=repr)
def test_b64decode_refuses_non_strings(value: Any) -> None:
    with pytest.raises(MalformedInput):
        b64decode(value)


@pytest.mark.parametrize("length", [0, 15, 17, 32])
def test_b64decode_refuses_wrong_length(length: int) -> None:
    with pytest.raises(MalformedInput):
        b64decode(b64encode(bytes(16)), "nonce", length)
    if length:
        assert b64decode(b64encode(bytes(length)), "x", length) == bytes(length)


def test_b64decode_empty_is_empty() -> None:
    assert b64decode("") == b""


@given(data=st.binary(max_size=64))
def test_hexdecode_round_trip(data: bytes) -> None:
    assert hexdecode(data.hex()) == data
    assert hexdecode(data.hex(), length=len(data)) == data


@pytest.mark.parametrize(
    "text",
    ["00FF", "aB", "0", "abc", "0 0", " 00", "00\n", "zz", "0x00", "\uff10\uff10", "\u0661\u0662"],
    ids=repr,
)
def test_hexdecode_refuses(text: str) -> None:
    with pytest.raises(MalformedInput):
        hexdecode(text)


@pytest.mark.parametrize("value", [b"00", None, 0], ids=repr)
def test_hexdecode_refuses_non_strings(value: Any) -> None:
    with pytest.raises(MalformedInput):
        hexdecode(value)


def test_hexdecode_refuses_wrong_length() -> None:
    with pytest.raises(MalformedInput):
        hexdecode("00" * 31, "leaf hash", 32)
    assert hexdecode("00" * 32, "leaf hash", 32) == bytes(32)


# --- timestamps --------------------------------------------------------------------------------


def test_format_ts_known_value() -> None:
    when = datetime(2026, 11, 26, 13, 45, 0, 123456, tzinfo=UTC)
    assert format_ts(when) == "2026-11-26T13:45:00.123Z"
    assert parse_ts("2026-11-26T13:45:00.123Z") == datetime(2026, 11, 26, 13, 45, 0, 123000, UTC)


def test_format_ts_truncates_not_rounds() -> None:
    when = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert format_ts(when) == "2026-12-31T23:59:59.999Z"
    assert format_ts(when.replace(microsecond=999)) == "2026-12-31T23:59:59.000Z"


def test_format_ts_converts_to_utc() -> None:
    east = timezone(timedelta(hours=8))
    assert format_ts(datetime(2026, 1, 1, 7, 30, tzinfo=east)) == "2025-12-31T23:30:00.000Z"
    west = timezone(timedelta(hours=-5, minutes=-30))
    assert format_ts(datetime(2026, 1, 1, 20, 0, tzinfo=west)) == "2026-01-02T01:30:00.000Z"


def test_format_ts_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_ts(datetime(2026, 11, 26, 13, 45))


def test_system_clock_is_aware_utc() -> None:
    now = system_clock()
    assert now.utcoffset() == timedelta(0)
    assert parse_ts(format_ts(now)) <= now


offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@given(
    when=st.datetimes(
        min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
    )
)
@settings(max_examples=300)
def test_ts_round_trip(when: datetime) -> None:
    text = format_ts(when)
    parsed = parse_ts(text)
    assert parsed.tzinfo is UTC
    truncated = when.replace(microsecond=when.microsecond // 1000 * 1000)
    assert parsed == truncated
    assert format_ts(parsed) == text
    assert when - parsed < timedelta(milliseconds=1)


_FOUR_DIGIT_YEARS = st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC))


@given(a=_FOUR_DIGIT_YEARS, b=_FOUR_DIGIT_YEARS)
def test_ts_text_order_is_time_order(a: datetime, b: datetime) -> None:
    # Generated within four-digit years rather than filtered (filtering made the health
    # check fail now and then).
    assert (format_ts(a) < format_ts(b)) == (parse_ts(format_ts(a)) < parse_ts(format_ts(b)))


def test_ts_round_trip_year_before_1000() -> None:
    when = datetime(999, 1, 1, tzinfo=UTC)
    assert parse_ts(format_ts(when)) == when


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-26T13:45:00Z",
        "2026-11-26T13:45:00.123+00:00",
        "2026-11-26T13:45:00.123-00:00",
        "2026-11-26T14:45:00.123+01:00",
        "2026-11-26T13:45:00.12Z",
        "2026-11-26T13:45:00.1234Z",
        "2026-11-26T13:45:00.123456Z",
        "2026-11-26 13:45:00.123Z",
        "2026-11-26t13:45:00.123z",
        "2026-11-26T13:45:00.123z",
        "2026-11-26T13:45:00.123",
        " 2026-11-26T13:45:00.123Z",
        "2026-11-26T13:45:00.123Z ",
        "2026-11-26T13:45:00.123Z\n",
        "26-11-26T13:45:00.123Z",
        "+2026-11-26T13:45:00.123Z",
        "20261126T134500.123Z",
        "2026-02-30T00:00:00.000Z",
        "2025-02-29T00:00:00.000Z",
        "2026-13-01T00:00:00.000Z",
        "2026-00-10T00:00:00.000Z",
        "2026-11-00T00:00:00.000Z",
        "2026-11-26T24:00:00.000Z",
        "2026-11-26T13:60:00.000Z",
        "2026-12-31T23:59:60.000Z",
        "",
    ],
    ids=repr,
)
def test_parse_ts_refuses(text: str) -> None:
    with pytest.raises(MalformedInput) as info:
        parse_ts(text, "when")
    assert info.value.what == "when"


@pytest.mark.parametrize(
    "value", [None, 1764164700, b"2026-11-26T13:45:00.123Z", datetime.now(UTC)]
)
def test_parse_ts_refuses_non_strings(value: object) -> None:
    with pytest.raises(MalformedInput):
        parse_ts(value)


def test_parse_ts_accepts_leap_day() -> None:
    assert parse_ts("2024-02-29T23:59:59.999Z") == datetime(2024, 2, 29, 23, 59, 59, 999000, UTC)


@pytest.mark.parametrize(
    "text",
    ["\uff12\uff10\uff12\uff16-11-26T13:45:00.123Z", "2026-11-26T13:45:00.\u0661\u0662\u0663Z"],
    ids=["fullwidth-year", "arabic-indic-ms"],
)
def test_parse_ts_refuses_non_ascii_digits(text: str) -> None:
    # One textual form per instant: these spell 2026-11-26T13:45:00.123Z differently.
    with pytest.raises(MalformedInput):
        parse_ts(text)


# --- values from lenient parsers ----------------------------------------------------------------


def test_lone_surrogates_are_found_anywhere_at_any_depth() -> None:
    deep: object = "ok"
    for _ in range(5000):  # deeper than the recursion limit
        deep = [deep]
    assert text_is_unicode({"名字": ["é", "😀", deep, 1, None, True]})
    for bad in ("\ud800", "x\udfff"):
        assert not text_is_unicode({"a": [bad]})
        assert not text_is_unicode({bad: 1})
        with pytest.raises(MalformedInput, match="lone surrogate"):
            check_json_value({"a": bad})
    assert not text_is_unicode(json.loads('{"a":"\\ud800"}'))  # what json.loads makes
