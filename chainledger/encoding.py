"""Canonical bytes and the small text encodings the ledger's wire formats use.

Every signed or hashed JSON value in chainledger is serialized with the JSON
Canonicalization Scheme (RFC 8785), through the `rfc8785` package, so that any
party re-encoding the same value gets the same bytes.

The JSON data model allowed on the ledger is deliberately narrower than JSON:
objects with string keys, arrays, strings, booleans, null and integers in the
I-JSON safe range (RFC 7493 section 2.2: |n| <= 2**53 - 1). Floats are refused
because their canonical form (RFC 8785 section 3.2.2.3) is easy to get wrong
across languages and nothing on the ledger needs them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Mapping
from typing import Any

import orjson
import rfc8785

from chainledger.errors import MalformedInput

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "JsonObject",
    "JsonValue",
    "b64decode",
    "b64encode",
    "canonical",
    "canonical_b64_pattern",
    "check_json_value",
    "hexdecode",
    "parse_canonical_object",
    "parse_json_object",
    "text_is_unicode",
]

JsonValue = Any
JsonObject = dict[str, Any]

#: RFC 7493 section 2.2 (I-JSON): integers outside +-(2**53 - 1) are not interoperable.
MAX_SAFE_INTEGER = 2**53 - 1
_HEX = re.compile(r"(?:[0-9a-f]{2})*")
_BEYOND_BMP = re.compile(rb"[\xf0-\xf4]")  # lead bytes of 4-byte UTF-8 sequences
#: Types orjson would serialize on its own (dataclasses, datetimes) are refused instead,
#: as ``json.dumps`` refuses them: only the data model's plain values are encoded.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)

#: Deeply nested values are refused before they reach a recursive encoder.
MAX_DEPTH = 32


def canonical(value: Mapping[str, Any] | list[Any], *, checked: bool = False) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    Raises `MalformedInput` if the value is outside the ledger's data model
    (floats, unsafe integers, non-string keys, lone surrogates, U+0000, too deep).
    ``checked=True`` skips that walk for values `parse_json_object` produced.

    Within the data model, ``orjson`` with sorted keys writes exactly the RFC
    8785 bytes, an order of magnitude faster than ``json.dumps`` (which writes
    the same; verify re-encodes every entry): integers print the same, string
    escaping is the same (RFC 8785 section 3.2.2.2 follows ECMAScript: the
    two-letter escapes, ``\\u00xx`` in lowercase for other control characters,
    nothing else escaped), and member names sort the same (section 3.2.3 sorts
    by UTF-16 code units, which matches orjson's code-point order for the Basic
    Multilingual Plane). Only text with characters beyond the BMP (4-byte UTF-8
    sequences, lead byte >= 0xF0) is handed to the `rfc8785` package, whose
    ordering is right for them. The tests check both paths against `rfc8785` on
    generated values, and every BMP character, as a key and as a value.
    """
    if not checked:
        check_json_value(value)
    try:
        out = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except (TypeError, ValueError, RecursionError) as exc:  # orjson.JSONEncodeError too
        raise MalformedInput("value", f"not canonicalizable: {type(exc).__name__}") from exc
    if not out.isascii() and _BEYOND_BMP.search(out):
        try:
            out = rfc8785.dumps(value)
        except (rfc8785.CanonicalizationError, UnicodeError, TypeError, ValueError) as exc:
            raise MalformedInput("value", f"not canonicalizable: {type(exc).__name__}") from exc
    return out


def check_json_value(value: Any, depth: int = 0) -> None:
    """Raise `MalformedInput` unless ``value`` is in the ledger's JSON data model."""
    if depth > MAX_DEPTH:
        raise MalformedInput("value", f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if "\0" in value:
            raise MalformedInput("value", "U+0000 (NUL) is not allowed")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # RFC 7493 section 2.1: text is Unicode
                raise MalformedInput("value", "contains a lone surrogate") from None
        return
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise MalformedInput("value", "integer outside the I-JSON safe range")
        return
    if isinstance(value, float):
        raise MalformedInput("value", "floating-point numbers are not allowed")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise MalformedInput("value", "object keys must be strings")
            check_json_value(key, depth + 1)
            check_json_value(item, depth + 1)
        return
    if isinstance(value, list | tuple):
        for item in value:
            check_json_value(item, depth + 1)
        return
    raise MalformedInput("value", f"{type(value).__name__} is not a JSON value")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, item in pairs:
        if key in obj:
            # RFC 8259 section 4: names SHOULD be unique; a signed value with two
            # readings is a classic parser-differential attack, so refuse it.
            raise MalformedInput("json", "duplicate object key")
        obj[key] = item
    return obj


def _refuse_constant(name: str) -> Any:
    raise MalformedInput("json", f"{name} is not JSON")


def _refuse_float(text: str) -> Any:
    raise MalformedInput("json", "floating-point numbers are not allowed")


def _safe_int(text: str) -> int:
    n = int(text)
    if abs(n) > MAX_SAFE_INTEGER:
        raise MalformedInput("json", "integer outside the I-JSON safe range")
    return n


def parse_json_object(data: object, what: str = "json") -> JsonObject:
    """Parse untrusted JSON text that must be an object in the ledger's data model.

    Refuses anything but text or bytes, invalid UTF-8, duplicate keys,
    NaN/Infinity, floats, unsafe integers, U+0000 and nesting deeper than `MAX_DEPTH`,
    each with a `MalformedInput` naming ``what``. The checks run as hooks of
    the C parser, so the result needs no second walk (pass ``checked=True`` to
    `canonical`).
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedInput(what, "not valid UTF-8") from exc
    elif isinstance(data, str):
        text = data
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedInput(what, "not valid UTF-8 (lone surrogate)") from None
    else:  # e.g. a list where a proof or receipt object was expected
        raise MalformedInput(what, "must be a JSON object")
    try:
        value = _DECODER.decode(text)
    except MalformedInput as exc:
        raise MalformedInput(what, exc.reason) from None
    except (ValueError, RecursionError) as exc:
        raise MalformedInput(what, "not valid JSON") from exc
    if not isinstance(value, dict):
        raise MalformedInput(what, "must be a JSON object")
    # A \\uD800-\\uDFFF escape can decode to a lone surrogate, which is not Unicode text
    # (RFC 7493 section 2.1 forbids it). Only text that has such an escape needs the walk.
    if _SURROGATE_ESCAPE.search(text) and not _all_text_is_unicode(value):
        raise MalformedInput(what, "contains a lone surrogate")
    # RFC 8259 admits U+0000 (escaped), but PostgreSQL's text type cannot hold it, and no
    # field needs it: refused on every backend alike. Only text with the escape needs the walk.
    if "\\u0000" in text and _has_nul(value):
        raise MalformedInput(what, "contains U+0000 (NUL)")
    # Every level of nesting opens a bracket, so few brackets means shallow: walk only
    # when the text has more brackets than the depth limit.
    if text.count("{") + text.count("[") > MAX_DEPTH:
        try:
            check_json_value(value)
        except MalformedInput as exc:
            raise MalformedInput(what, exc.reason) from None
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_constant=_refuse_constant,
    parse_float=_refuse_float,
    parse_int=_safe_int,
)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def parse_canonical_object(data: bytes) -> JsonObject | None:
    """The object whose RFC 8785 canonical bytes are exactly ``data``, or None.

    None means ``data`` is not shown to be such bytes by this quick check (it may be
    invalid, not canonical, or merely unusual: U+0000 escapes, deep nesting); a caller
    then judges it with `parse_json_object` and `canonical`, which say why. An object
    returned is in the ledger's data model. ``orjson`` parses: it refuses invalid UTF-8,
    lone surrogates, raw control characters, NaN and Infinity; it takes floats, integers
    of any size and repeated keys. A number outside the data model makes the answer None,
    and text with a repeated key parses to an object that re-encodes with that key once,
    so its bytes differ from ``data`` and the answer is None all the same.
    """
    if b"\\u0000" in data or data.count(b"{") + data.count(b"[") > MAX_DEPTH:
        return None
    try:
        value = orjson.loads(data)
        if isinstance(value, dict) and _numbers_in_model(value):
            return value if canonical(value, checked=True) == data else None
    except ValueError:  # orjson.JSONDecodeError and MalformedInput are ValueErrors
        pass
    return None


def _numbers_in_model(value: Any) -> bool:
    """False if a value orjson parsed holds a float or an integer beyond the safe range
    (its other values are dicts, lists, strings, booleans and None). Not
    `check_json_value`, which also re-checks what orjson guarantees (text, keys) at four
    times the cost, on every entry verify replays."""
    if isinstance(value, dict):
        return all(_numbers_in_model(item) for item in value.values())
    if isinstance(value, list):
        return all(_numbers_in_model(item) for item in value)
    if isinstance(value, float):
        return False
    if isinstance(value, int) and not isinstance(value, bool):
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    return True


def text_is_unicode(value: Any) -> bool:
    """Whether every string in ``value`` (keys included) is Unicode text: False if one
    holds a lone surrogate, which Python's ``json.loads`` makes of a ``\\ud800`` escape and
    which no UTF-8 encoder takes (RFC 7493 section 2.1). For values a lenient parser made:
    walked without recursion, so any depth that parser allowed is fine."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def _all_text_is_unicode(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_all_text_is_unicode(k) and _all_text_is_unicode(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_text_is_unicode(v) for v in value)
    return True


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 section 4), as C2SP and our proofs use."""
    return base64.b64encode(data).decode("ascii")


@functools.cache
def canonical_b64_pattern(length: int) -> re.Pattern[str]:
    """The one canonical standard-base64 spelling of ``length`` bytes, as a pattern.

    RFC 4648 section 3.5: the unused bits of the last symbol are zero, so the last
    symbol before "==" is one of AQgw and before "=" one of AEIMQUYcgkosw048.
    """
    full, rest = divmod(length, 3)
    tail = {0: "", 1: "[A-Za-z0-9+/][AQgw]==", 2: "[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]="}[rest]
    return re.compile(f"[A-Za-z0-9+/]{{{4 * full}}}{tail}")


def b64decode(text: object, what: str = "base64", length: int | None = None) -> bytes:
    """Strict standard base64: refuses URL-safe letters, missing padding and junk.

    If ``length`` is given, the decoded value must have exactly that many bytes.
    """
    if not isinstance(text, str):
        raise MalformedInput(what, "must be a base64 string")
    if length is not None and canonical_b64_pattern(length).fullmatch(text):
        return binascii.a2b_base64(text)  # fast path: the pattern admits only canonical text
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise MalformedInput(what, "not valid base64") from exc
    # validate=True still accepts non-canonical trailing bits; re-encode to refuse them
    # so each value has exactly one textual form.
    if base64.b64encode(data).decode("ascii") != text:
        raise MalformedInput(what, "not canonical base64")
    if length is not None and len(data) != length:
        raise MalformedInput(what, f"must decode to {length} bytes, not {len(data)}")
    return data


def hexdecode(text: object, what: str = "hex", length: int | None = None) -> bytes:
    """Lowercase hex to bytes; refuses uppercase and odd lengths so one value has one form."""
    if not isinstance(text, str) or _HEX.fullmatch(text) is None:
        raise MalformedInput(what, "must be an even number of lowercase hex digits")
    data = bytes.fromhex(text)
    if length is not None and len(data) != length:
        raise MalformedInput(what, f"must be {length} bytes, not {len(data)}")
    return data
