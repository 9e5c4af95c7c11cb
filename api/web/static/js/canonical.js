// RFC 8785, the JSON Canonicalization Scheme (JCS): the bytes every signed or hashed
// value of chainledger is made of (chainledger/encoding.py `canonical`).
//
// `canonical` is the whole of RFC 8785 (any I-JSON value, floats included, numbers
// written as ECMAScript writes them). `ledgerCanonical` first checks that the value is
// in the ledger's narrower data model, exactly as the Python `canonical` does (no
// floats, integers within +-(2**53 - 1), no lone surrogates, no U+0000, depth <= 32): sign with
// that one, or the ledger will refuse what the browser signed.

import { MalformedInput } from "./errors.js";
import { isWellFormed, MAX_DEPTH, MAX_SAFE_INTEGER } from "./json.js";

const UTF8 = new TextEncoder();

// RFC 8785 section 3.2.2.2 (after ECMAScript's QuoteJSONString): the two-letter escapes
// for these five controls, \u00xx in lowercase hex for the other controls below 0x20,
// and nothing else escaped but '"' and '\'.
const SHORT = { 0x08: "\\b", 0x09: "\\t", 0x0a: "\\n", 0x0c: "\\f", 0x0d: "\\r" };

function serializeString(s) {
  if (!isWellFormed(s)) {
    // Section 3.2.2.2: lone surrogates MUST cause an error (they are not Unicode text).
    throw new MalformedInput("value", "not canonicalizable: lone surrogate");
  }
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c < 0x20) out += SHORT[c] ?? "\\u" + c.toString(16).padStart(4, "0");
    else out += s[i];
  }
  return out + '"';
}

function serializeNumber(n) {
  // Section 3.2.2.3: ECMAScript's Number.prototype.toString (shortest round-trip digits,
  // exponent from 1e21 and below 1e-6), with -0 written as 0; NaN and Infinity are errors.
  if (!Number.isFinite(n)) throw new MalformedInput("value", "not canonicalizable: NaN or Infinity");
  return Object.is(n, -0) ? "0" : String(n);
}

function serialize(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return serializeNumber(value);
    case "string":
      return serializeString(value);
    case "object":
      break;
    default:
      throw new MalformedInput("value", `${typeof value} is not a JSON value`);
  }
  if (Array.isArray(value)) return "[" + value.map(serialize).join(",") + "]";
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
    throw new MalformedInput("value", "only plain objects and arrays are JSON");
  }
  // Section 3.2.3: members sorted by their names as arrays of UTF-16 code units, which is
  // exactly how JavaScript compares strings (not code points: U+FFFF sorts after U+10000).
  const keys = Object.keys(value).sort();
  return "{" + keys.map((k) => serializeString(k) + ":" + serialize(value[k])).join(",") + "}";
}

/** The RFC 8785 canonical text of `value` (a JS string). */
export function canonicalText(value) {
  return serialize(value);
}

/** The RFC 8785 canonical UTF-8 bytes of `value` (section 3.2.4: UTF-8 output). */
export function canonical(value) {
  return UTF8.encode(serialize(value));
}

/**
 * Throw MalformedInput unless `value` is in the ledger's JSON data model (mirrors
 * chainledger.encoding.check_json_value, error texts included).
 */
export function checkLedgerValue(value, depth = 0) {
  if (depth > MAX_DEPTH) throw new MalformedInput("value", `nested deeper than ${MAX_DEPTH} levels`);
  if (typeof value === "string") {
    if (value.includes("\0")) throw new MalformedInput("value", "U+0000 (NUL) is not allowed");
    return;
  }
  if (value === null || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new MalformedInput("value", "floating-point numbers are not allowed");
    if (Math.abs(value) > MAX_SAFE_INTEGER) throw new MalformedInput("value", "integer outside the I-JSON safe range");
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) checkLedgerValue(item, depth + 1);
    return;
  }
  if (typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      checkLedgerValue(key, depth + 1);
      checkLedgerValue(item, depth + 1);
    }
    return;
  }
  throw new MalformedInput("value", `${typeof value} is not a JSON value`);
}

/** `canonical` of a value in the ledger's data model (chainledger.encoding.canonical). */
export function ledgerCanonical(value) {
  checkLedgerValue(value);
  return canonical(value);
}
