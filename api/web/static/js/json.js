// Strict parsing of untrusted JSON into the ledger's data model, as
// chainledger.encoding.parse_json_object does (JSON.parse is not enough: it keeps the
// last of two equal member names and silently turns 1.0 or 2**60 into other numbers).
//
// Grammar: RFC 8259. Refused, each with a MalformedInput naming `what`: invalid JSON,
// duplicate member names (RFC 8259 section 4: a signed value with two readings is a
// parser-differential attack), numbers with a fraction or exponent (floats are outside
// the data model), integers beyond the I-JSON safe range (RFC 7493 section 2.2), lone
// surrogates (RFC 7493 section 2.1), nesting deeper than MAX_DEPTH, and a top level
// that is not an object.

import { MalformedInput } from "./errors.js";

export const MAX_DEPTH = 32;
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER; // 2**53 - 1

const WS = new Set([" ", "\t", "\n", "\r"]);
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a JS string is Unicode text (no unpaired UTF-16 surrogate). */
export function isWellFormed(text) {
  return !LONE_SURROGATE.test(text);
}

class Parser {
  constructor(text, what) {
    this.s = text;
    this.i = 0;
    this.what = what;
  }

  fail(reason = "not valid JSON") {
    throw new MalformedInput(this.what, reason);
  }

  ws() {
    while (this.i < this.s.length && WS.has(this.s[this.i])) this.i++;
  }

  value(depth) {
    // Python's check_json_value: a value nested deeper than MAX_DEPTH is refused.
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    this.ws();
    const c = this.s[this.i];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const [word, val] of [["true", true], ["false", false], ["null", null]]) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return val;
      }
    }
    for (const word of ["NaN", "Infinity", "-Infinity"]) {
      if (this.s.startsWith(word, this.i)) this.fail(`${word} is not JSON`);
    }
    return this.fail();
  }

  object(depth) {
    this.i++; // {
    const out = {};
    const seen = new Set();
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail();
      const key = this.string();
      if (seen.has(key)) this.fail("duplicate object key");
      seen.add(key);
      this.ws();
      if (this.s[this.i++] !== ":") this.fail();
      const val = this.value(depth + 1);
      // defineProperty: a member called "__proto__" is data, not the prototype.
      Object.defineProperty(out, key, { value: val, enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") return out;
      if (c !== ",") this.fail();
    }
  }

  array(depth) {
    this.i++; // [
    const out = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === "]") return out;
      if (c !== ",") this.fail();
    }
  }

  string() {
    this.i++; // opening quote
    let out = "";
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) this.fail();
      if (c === '"') break;
      if (c < " ") this.fail(); // RFC 8259 section 7: control characters must be escaped
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      if (e === "u") {
        const hex = this.s.slice(this.i, this.i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail();
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 4;
      } else if (e in ESCAPES) {
        out += ESCAPES[e];
      } else {
        this.fail();
      }
    }
    if (!isWellFormed(out)) this.fail("contains a lone surrogate");
    if (out.includes("\0")) this.fail("contains U+0000 (NUL)");
    return out;
  }

  number() {
    const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) this.fail();
    if (m[1] !== undefined || m[2] !== undefined) this.fail("floating-point numbers are not allowed");
    this.i += m[0].length;
    // Compare as BigInt: a Number would have rounded 2**53 + 1 to 2**53 already.
    const big = BigInt(m[0]);
    if (big > BigInt(MAX_SAFE_INTEGER) || big < -BigInt(MAX_SAFE_INTEGER)) {
      this.fail("integer outside the I-JSON safe range");
    }
    return Number(big);
  }
}

/** Parse untrusted JSON text that must be an object in the ledger's data model. */
export function parseJsonObject(text, what = "json") {
  if (typeof text !== "string") throw new MalformedInput(what, "must be text");
  if (!isWellFormed(text)) throw new MalformedInput(what, "not valid UTF-8 (lone surrogate)");
  const p = new Parser(text, what);
  p.ws();
  if (p.s[p.i] !== "{") {
    // Still parse, so that invalid JSON is reported as such, not as "not an object".
    p.value(0);
    p.ws();
    if (p.i !== p.s.length) p.fail();
    p.fail("must be a JSON object");
  }
  const value = p.value(0);
  p.ws();
  if (p.i !== p.s.length) p.fail();
  return value;
}
