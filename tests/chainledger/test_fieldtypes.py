"""Tests of chainledger.fieldtypes: field definitions, and values checked against them.

Every refusal has its own test, and every refusal of a value asserts that the error names
the field and one of the constant `REASONS` but never the value (values are personal data:
DESIGN.md, "Vault"). A Hypothesis test throws arbitrary values at every type and checks the
same contract: None or `SchemaError` with a constant reason, nothing else.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainledger import fieldtypes
from chainledger.errors import SchemaError
from chainledger.fieldtypes import (
    FIELD_TYPES,
    MAX_TEXT_CHARS,
    REASONS,
    check_field_def,
    check_record,
    check_value,
)
from chainledger.identity import make_resident_id, make_uscc

ID = "11010519491231002X"  # GB 11643-1999 example
USCC = "91350100M000100Y43"

TEXT: dict[str, Any] = {"name": "address", "type": "text"}
DATE: dict[str, Any] = {"name": "birth_date", "type": "date"}
ID_NUMBER: dict[str, Any] = {"name": "id_number", "type": "id_number"}
USCC_FIELD: dict[str, Any] = {"name": "uscc", "type": "uscc"}
ENUM: dict[str, Any] = {"name": "sex", "type": "enum", "values": ["男", "女"]}
INT: dict[str, Any] = {"name": "household_size", "type": "int", "min": 1, "max": 20}
PHONE: dict[str, Any] = {"name": "phone", "type": "phone"}
OPTIONAL: dict[str, Any] = {"name": "valid_until", "type": "date", "optional": True}

ALL_DEFS: list[dict[str, Any]] = [TEXT, DATE, ID_NUMBER, USCC_FIELD, ENUM, INT, PHONE, OPTIONAL]


def refuse(field: dict[str, Any], value: object, reason: str, **kw: Any) -> None:
    """``value`` is refused for ``reason``; the error names the field, never the value."""
    with pytest.raises(SchemaError) as info:
        check_value(field, value, **kw)
    err = info.value
    assert err.field == field["name"]
    assert err.reason == reason
    assert err.code == "schema"
    message = str(err)
    assert field["name"] in message
    if value is not None and value != "":
        assert str(value) not in message
        assert repr(value) not in message


# --- accepted values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (TEXT, "山东省聊城市东昌府区建设路56号"),
        (TEXT, "a"),
        (TEXT, "x" * MAX_TEXT_CHARS),
        (TEXT, "阿依古丽·买买提"),  # U+00B7 MIDDLE DOT in a minority name is punctuation
        (DATE, "1949-12-31"),
        (DATE, "2000-02-29"),
        (ID_NUMBER, ID),
        (ID_NUMBER, "440524188001010014"),
        (USCC_FIELD, USCC),
        (ENUM, "女"),
        (INT, 1),
        (INT, 20),
        (PHONE, "13812345678"),
        (PHONE, "19912345678"),
        (OPTIONAL, None),
        (OPTIONAL, "2030-01-01"),
    ],
)
def test_accepts(field: dict[str, Any], value: object) -> None:
    check_value(field, value)


def test_int_without_bounds_accepts_any_int() -> None:
    check_value({"name": "n", "type": "int"}, -(10**30))
    check_value({"name": "n", "type": "int"}, 10**30)


@given(st.integers(0, 2**64), st.dates(date(1900, 1, 1), date(2025, 1, 1)), st.booleans())
def test_accepts_generated_identifiers(seed: int, birth: date, female: bool) -> None:
    rng = random.Random(seed)
    check_value(ID_NUMBER, make_resident_id(rng, region="371502", birth=birth, female=female))
    check_value(USCC_FIELD, make_uscc(rng, region="371502"))


# --- one test per refusal -------------------------------------------------------------------


def test_refuses_missing_required() -> None:
    refuse(TEXT, None, fieldtypes.MISSING)


def test_refuses_non_string_for_text() -> None:
    refuse(TEXT, 123456, fieldtypes.NOT_A_STRING)


def test_refuses_empty_text() -> None:
    refuse(TEXT, "", fieldtypes.BLANK)


def test_refuses_blank_text() -> None:
    refuse(TEXT, " \u3000\t ", fieldtypes.BLANK)


def test_refuses_long_text() -> None:
    refuse(TEXT, "聊" * (MAX_TEXT_CHARS + 1), fieldtypes.TOO_LONG)


@pytest.mark.parametrize(
    "char",
    ["\n", "\x00", "\x7f", "\x85", "\u202e", "\u200b", "\u2028", "\u2029", "\ud800"],
    ids=[
        "newline",
        "nul",
        "del",
        "c1",
        "rtl-override",
        "zero-width-space",
        "ls",
        "ps",
        "surrogate",
    ],
)
def test_refuses_control_characters_in_text(char: str) -> None:
    refuse(TEXT, f"王小明{char}secret", fieldtypes.CONTROL_CHARACTER)


def test_refuses_non_string_for_date() -> None:
    refuse(DATE, date(1949, 12, 31), fieldtypes.NOT_A_STRING)


@pytest.mark.parametrize("value", ["19491231", "1949-1-31", "1949-12-31T00:00", "１９４９-12-31"])
def test_refuses_malformed_date(value: str) -> None:
    refuse(DATE, value, fieldtypes.NOT_A_DATE)


@pytest.mark.parametrize("value", ["1949-02-30", "2001-02-29", "1949-13-01", "0000-01-01"])
def test_refuses_impossible_date(value: str) -> None:
    refuse(DATE, value, fieldtypes.NO_SUCH_DATE)


def test_refuses_bad_id_number() -> None:
    refuse(ID_NUMBER, "110105194912310021", fieldtypes.NOT_AN_ID_NUMBER)


def test_refuses_id_number_born_after_today() -> None:
    refuse(ID_NUMBER, ID, fieldtypes.NOT_AN_ID_NUMBER, today=date(1949, 12, 30))
    check_value(ID_NUMBER, ID, today=date(1949, 12, 31))


def test_refuses_non_string_id_number() -> None:
    refuse(ID_NUMBER, 440524188001010014, fieldtypes.NOT_A_STRING)


def test_refuses_bad_uscc() -> None:
    refuse(USCC_FIELD, "91350100M000100Y44", fieldtypes.NOT_A_USCC)


def test_refuses_value_outside_enum() -> None:
    refuse(ENUM, "未知性别", fieldtypes.NOT_IN_ENUM)


def test_refuses_non_string_enum() -> None:
    refuse(ENUM, 1, fieldtypes.NOT_A_STRING)


@pytest.mark.parametrize("value", ["12", 12.0, b"12", [12]], ids=str)
def test_refuses_non_int(value: object) -> None:
    refuse(INT, value, fieldtypes.NOT_AN_INT)


@pytest.mark.parametrize("value", [True, False])
def test_refuses_bool_as_int(value: bool) -> None:
    refuse({"name": "n", "type": "int"}, value, fieldtypes.NOT_AN_INT)


def test_refuses_int_below_min() -> None:
    refuse(INT, -73, fieldtypes.BELOW_MIN)


def test_refuses_int_above_max() -> None:
    refuse(INT, 4711, fieldtypes.ABOVE_MAX)


@pytest.mark.parametrize(
    "value", ["1381234567", "138123456789", "12812345678", "+8613812345678", "1381234567８"]
)
def test_refuses_bad_phone(value: str) -> None:
    refuse(PHONE, value, fieldtypes.NOT_A_PHONE)


def test_refuses_unknown_type() -> None:
    refuse({"name": "blob", "type": "binary"}, "secret-value", fieldtypes.UNKNOWN_TYPE)


def test_optional_still_checks_a_present_value() -> None:
    refuse(OPTIONAL, "2030-02-30", fieldtypes.NO_SUCH_DATE)


def test_optional_false_is_required() -> None:
    refuse({"name": "n", "type": "text", "optional": False}, None, fieldtypes.MISSING)


# --- the contract, for arbitrary values -------------------------------------------------------

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=250),
    st.text(alphabet="0123456789X-", max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dates(),
)


@given(st.sampled_from(ALL_DEFS), values)
def test_any_value_is_accepted_or_refused_with_a_constant_reason(
    field: dict[str, Any], value: object
) -> None:
    error: SchemaError | None = None
    try:
        check_value(field, value)
    except SchemaError as err:
        error = err
    if error is not None:
        assert error.field == field["name"]
        assert error.reason in REASONS
        assert str(error) == f"invalid field {field['name']!r}: {error.reason}"


def test_reasons_are_distinct_constants() -> None:
    reasons = [v for k, v in vars(fieldtypes).items() if k.isupper() and v in REASONS]
    assert len(reasons) == len(REASONS)


# --- whole records ----------------------------------------------------------------------------

RECORD_FIELDS: list[dict[str, Any]] = [
    {"name": "name", "type": "text"},
    {"name": "id_number", "type": "id_number"},
    {"name": "valid_until", "type": "date", "optional": True},
]


def test_record_accepted() -> None:
    check_record(RECORD_FIELDS, {"name": "王芳", "id_number": ID})
    check_record(RECORD_FIELDS, {"name": "王芳", "id_number": ID, "valid_until": "2030-01-01"})


def test_record_refuses_unknown_field() -> None:
    with pytest.raises(SchemaError) as info:
        check_record(RECORD_FIELDS, {"name": "王芳", "id_number": ID, "salary": 9000})
    assert info.value.field == "salary"
    assert info.value.reason == fieldtypes.UNKNOWN_FIELD


def test_record_refuses_missing_required_field() -> None:
    with pytest.raises(SchemaError) as info:
        check_record(RECORD_FIELDS, {"name": "王芳"})
    assert (info.value.field, info.value.reason) == ("id_number", fieldtypes.MISSING)


def test_record_refuses_bad_value_without_quoting_it() -> None:
    with pytest.raises(SchemaError) as info:
        check_record(RECORD_FIELDS, {"name": "王芳", "id_number": "110105194912310021"})
    assert info.value.field == "id_number"
    assert "110105194912310021" not in str(info.value)
    assert "王芳" not in str(info.value)


# --- field definitions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        *ALL_DEFS,
        {"name": "n", "type": "int"},
        {"name": "n", "type": "int", "min": 0},
        {"name": "n", "type": "int", "min": 5, "max": 5},
        {"name": "a" * 40, "type": "text"},
        {"name": "x9_", "type": "phone", "optional": False},
    ],
)
def test_good_definitions(field: dict[str, Any]) -> None:
    check_field_def(field)


def test_every_type_has_a_good_definition() -> None:
    assert {f["type"] for f in ALL_DEFS} == FIELD_TYPES


def refuse_def(field: object, reason_part: str) -> None:
    with pytest.raises(SchemaError) as info:
        check_field_def(field)  # type: ignore[arg-type]
    assert reason_part in info.value.reason


def test_def_not_an_object() -> None:
    refuse_def(["name", "text"], "must be an object")


@pytest.mark.parametrize(
    "name", [None, 7, "", "Name", "1st", "_x", "id-number", "名字", "a" * 41, "ａ"]
)
def test_def_bad_name(name: object) -> None:
    refuse_def({"name": name, "type": "text"}, "field name must match")


def test_def_missing_name() -> None:
    refuse_def({"type": "text"}, "field name must match")


def test_def_unknown_type() -> None:
    refuse_def({"name": "n", "type": "binary"}, "type must be one of")


def test_def_missing_type() -> None:
    refuse_def({"name": "n"}, "type must be one of")


def test_def_unknown_key() -> None:
    refuse_def({"name": "n", "type": "text", "optinal": True}, "unknown keys")


def test_def_optional_not_bool() -> None:
    refuse_def({"name": "n", "type": "text", "optional": "yes"}, "optional must be")


def test_def_enum_without_values() -> None:
    refuse_def({"name": "n", "type": "enum"}, "non-empty list")


def test_def_enum_with_empty_values() -> None:
    refuse_def({"name": "n", "type": "enum", "values": []}, "non-empty list")


def test_def_enum_values_not_a_list() -> None:
    refuse_def({"name": "n", "type": "enum", "values": "男女"}, "non-empty list")


@pytest.mark.parametrize("values", [["男", 1], ["男", ""], [None]])
def test_def_enum_values_not_strings(values: list[object]) -> None:
    refuse_def({"name": "n", "type": "enum", "values": values}, "non-empty strings")


def test_def_enum_values_repeat() -> None:
    refuse_def({"name": "n", "type": "enum", "values": ["男", "男"]}, "distinct")


def test_def_values_on_non_enum() -> None:
    refuse_def({"name": "n", "type": "text", "values": ["a"]}, "only an enum")


@pytest.mark.parametrize("bound", ["1", 1.5, True])
def test_def_int_bound_not_int(bound: object) -> None:
    refuse_def({"name": "n", "type": "int", "min": bound}, "min must be an integer")
    refuse_def({"name": "n", "type": "int", "max": bound}, "max must be an integer")


def test_def_min_above_max() -> None:
    refuse_def({"name": "n", "type": "int", "min": 2, "max": 1}, "min must not exceed max")


def test_def_bounds_on_non_int() -> None:
    refuse_def({"name": "n", "type": "text", "max": 5}, "only an int")
