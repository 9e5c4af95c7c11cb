"""Field types of asset classes: checking a field definition, and a value against it.

A field definition is a JSON object such as ``{"name": "id_number", "type": "id_number"}``:

=============  ==============================================================================
``name``       ``[a-z][a-z0-9_]{0,39}``, unique within its class
``type``       one of `FIELD_TYPES` (below)
``optional``   ``true`` if the field may be absent (default ``false``)
``values``     ``enum`` only: the allowed strings (a non-empty list, no duplicates)
``min/max``    ``int`` only, both optional: inclusive bounds
=============  ==============================================================================

Value types:

- ``text``: a non-blank string of at most `MAX_TEXT_CHARS` code points with no control,
  format or line-separator characters (Unicode categories Cc, Cf, Cs, Zl, Zp: they can
  hide or reorder text when it is displayed, and a lone surrogate cannot be encoded);
- ``date``: ``YYYY-MM-DD`` (RFC 3339 full-date), a real calendar date;
- ``id_number``: a GB 11643-1999 citizen identity number (`identity.is_valid_resident_id`);
- ``uscc``: a GB 32100-2015 unified social credit code (`identity.is_valid_uscc`);
- ``enum``: one of the definition's ``values``;
- ``int``: a Python ``int`` that is not a ``bool``, within ``min``/``max`` when given;
- ``phone``: an 11-digit mainland mobile number ``1[3-9]`` + 9 digits (format only: no
  claim that the number is allocated).

Both checks return None or raise `SchemaError(field_name, reason)`. The reason is always
one of the constant strings in `REASONS`, chosen by what is wrong and never built from the
value: values are personal data and must not reach error messages or logs (DESIGN.md,
"Vault"). ``None`` stands for an absent value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from chainledger.errors import SchemaError
from chainledger.identity import is_valid_resident_id, is_valid_uscc

__all__ = [
    "FIELD_TYPES",
    "MAX_TEXT_CHARS",
    "REASONS",
    "check_field_def",
    "check_record",
    "check_value",
]

FIELD_TYPES: Final = frozenset({"text", "date", "id_number", "uscc", "enum", "int", "phone"})
MAX_TEXT_CHARS: Final = 200

# --- the reasons a value is refused (constants: never interpolate the value) -------------------

MISSING: Final = "required but missing"
NOT_A_STRING: Final = "must be a string"
BLANK: Final = "must not be empty or blank"
TOO_LONG: Final = f"must be at most {MAX_TEXT_CHARS} characters"
CONTROL_CHARACTER: Final = "contains a control or format character"
NOT_A_DATE: Final = "must be a date YYYY-MM-DD"
NO_SUCH_DATE: Final = "is not a real calendar date"
NOT_AN_ID_NUMBER: Final = "is not a valid citizen identity number (GB 11643-1999)"
NOT_A_USCC: Final = "is not a valid unified social credit code (GB 32100-2015)"
NOT_IN_ENUM: Final = "is not one of the allowed values"
NOT_AN_INT: Final = "must be an integer"
BELOW_MIN: Final = "is below the field's minimum"
ABOVE_MAX: Final = "is above the field's maximum"
NOT_A_PHONE: Final = "must be an 11-digit mainland mobile number"
UNKNOWN_TYPE: Final = "has an unknown field type"
UNKNOWN_FIELD: Final = "is not a field of this class"

#: Every reason `check_value` and `check_record` can give; none depends on the value.
REASONS: Final = frozenset(
    {
        MISSING,
        NOT_A_STRING,
        BLANK,
        TOO_LONG,
        CONTROL_CHARACTER,
        NOT_A_DATE,
        NO_SUCH_DATE,
        NOT_AN_ID_NUMBER,
        NOT_A_USCC,
        NOT_IN_ENUM,
        NOT_AN_INT,
        BELOW_MIN,
        ABOVE_MAX,
        NOT_A_PHONE,
        UNKNOWN_TYPE,
        UNKNOWN_FIELD,
    }
)

# Compiled with re.ASCII so that \d and friends cannot match non-ASCII digits; the classes
# are spelled out anyway.
_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,39}", re.ASCII)
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_PHONE: Final = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
_BAD_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_DEF_KEYS: Final = frozenset({"name", "type", "optional", "values", "min", "max"})


def _check_text(value: str) -> str | None:
    if not value.strip():
        return BLANK
    if len(value) > MAX_TEXT_CHARS:
        return TOO_LONG
    if any(unicodedata.category(c) in _BAD_CATEGORIES for c in value):
        return CONTROL_CHARACTER
    return None


def _check_date(value: str) -> str | None:
    # RFC 3339 section 5.6 full-date; date.fromisoformat alone would also take "20240101".
    if _DATE.fullmatch(value) is None:
        return NOT_A_DATE
    try:
        date.fromisoformat(value)
    except ValueError:
        return NO_SUCH_DATE
    return None


def _check_int(field: Mapping[str, Any], value: object) -> str | None:
    # bool is a subclass of int, but True is not a number of anything.
    if not isinstance(value, int) or isinstance(value, bool):
        return NOT_AN_INT
    if "min" in field and value < field["min"]:
        return BELOW_MIN
    if "max" in field and value > field["max"]:
        return ABOVE_MAX
    return None


def _reason(field: Mapping[str, Any], value: object, today: date | None) -> str | None:
    kind = field["type"]
    if kind == "int":
        return _check_int(field, value)
    if kind not in FIELD_TYPES:
        return UNKNOWN_TYPE
    if not isinstance(value, str):
        return NOT_A_STRING
    if kind == "text":
        return _check_text(value)
    if kind == "date":
        return _check_date(value)
    if kind == "id_number":
        return None if is_valid_resident_id(value, today=today) else NOT_AN_ID_NUMBER
    if kind == "uscc":
        return None if is_valid_uscc(value) else NOT_A_USCC
    if kind == "enum":
        return None if value in field["values"] else NOT_IN_ENUM
    # The only type left is "phone".
    return None if _PHONE.fullmatch(value) is not None else NOT_A_PHONE


def check_value(field: Mapping[str, Any], value: object, *, today: date | None = None) -> None:
    """Return None if ``value`` satisfies ``field``, else raise `SchemaError`.

    ``field`` must be a definition that passed `check_field_def`. ``value`` None means
    absent: accepted for an optional field, refused (`MISSING`) otherwise. ``today``
    (optional; no clock is read) refuses identity numbers whose birth date lies after it.
    The error names ``field["name"]`` and one of `REASONS`, never the value.
    """
    name = str(field["name"])
    if value is None:
        if field.get("optional", False) is True:
            return
        raise SchemaError(name, MISSING)
    reason = _reason(field, value, today)
    if reason is not None:
        raise SchemaError(name, reason)


def check_record(
    fields: Sequence[Mapping[str, Any]],
    values: Mapping[str, object],
    *,
    today: date | None = None,
) -> None:
    """Check a whole record (field name -> value) against a class's field definitions.

    Refuses a name that is not among ``fields`` (`UNKNOWN_FIELD`), a required field that is
    absent or None, and any value `check_value` refuses; the first fault found, in the
    order of ``fields`` (unknown names first), is raised as `SchemaError`.
    """
    defined = {str(field["name"]) for field in fields}
    for name in sorted(values):
        if name not in defined:
            raise SchemaError(name, UNKNOWN_FIELD)
    for field in fields:
        check_value(field, values.get(str(field["name"])), today=today)


def check_field_def(field: Mapping[str, Any]) -> None:
    """Return None if ``field`` is a well-formed field definition, else raise `SchemaError`.

    Checks: an object whose keys are among name/type/optional/values/min/max; ``name``
    matches ``[a-z][a-z0-9_]{0,39}``; ``type`` is one of `FIELD_TYPES`; ``optional`` is a
    bool when present; an ``enum`` has ``values``, a non-empty list of distinct non-empty
    strings, and only an enum has them; ``min``/``max`` are ints (not bools) on an ``int``
    field only, with min <= max. A definition is schema, not personal data, so these
    messages may quote it.
    """
    if not isinstance(field, Mapping):
        raise SchemaError("<field>", "a field definition must be an object")
    name = field.get("name")
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise SchemaError(
            name if isinstance(name, str) else "<field>",
            "a field name must match [a-z][a-z0-9_]{0,39}",
        )
    unknown = sorted(str(key) for key in field if key not in _DEF_KEYS)
    if unknown:
        raise SchemaError(name, f"unknown keys in the definition: {', '.join(unknown)}")
    kind = field.get("type")
    if kind not in FIELD_TYPES:
        raise SchemaError(name, f"type must be one of {', '.join(sorted(FIELD_TYPES))}")
    if "optional" in field and not isinstance(field["optional"], bool):
        raise SchemaError(name, "optional must be true or false")
    _check_enum_def(name, kind, field)
    _check_int_def(name, kind, field)


def _check_enum_def(name: str, kind: object, field: Mapping[str, Any]) -> None:
    if kind != "enum":
        if "values" in field:
            raise SchemaError(name, "only an enum field has values")
        return
    values = field.get("values")
    if not isinstance(values, list) or not values:
        raise SchemaError(name, "an enum field needs a non-empty list of values")
    if not all(isinstance(v, str) and v for v in values):
        raise SchemaError(name, "enum values must be non-empty strings")
    if len(set(values)) != len(values):
        raise SchemaError(name, "enum values must be distinct")


def _check_int_def(name: str, kind: object, field: Mapping[str, Any]) -> None:
    bounds = [key for key in ("min", "max") if key in field]
    if kind != "int":
        if bounds:
            raise SchemaError(name, "only an int field has min and max")
        return
    for key in bounds:
        if not isinstance(field[key], int) or isinstance(field[key], bool):
            raise SchemaError(name, f"{key} must be an integer")
    if len(bounds) == 2 and field["min"] > field["max"]:
        raise SchemaError(name, "min must not exceed max")
