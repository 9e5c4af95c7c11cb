// Standard base64 with padding (RFC 4648 section 4), strict as chainledger.encoding:
// no URL-safe letters, no missing padding, no whitespace, and only the canonical
// spelling (RFC 4648 section 3.5: the unused bits of the last symbol are zero).

import { MalformedInput } from "./errors.js";

const SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes (Uint8Array or array of numbers) to standard padded base64. */
export function b64encode(bytes) {
  let binary = "";
  const chunk = 0x8000; // String.fromCharCode takes its arguments on the stack
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.slice(i, i + chunk));
  }
  return btoa(binary);
}

/** Strict standard base64 to bytes; `length`, if given, is the required byte count. */
export function b64decode(text, what = "base64", length = undefined) {
  if (typeof text !== "string") throw new MalformedInput(what, "must be a base64 string");
  if (!SHAPE.test(text)) throw new MalformedInput(what, "not valid base64");
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  if (b64encode(out) !== text) throw new MalformedInput(what, "not canonical base64");
  if (length !== undefined && out.length !== length) {
    throw new MalformedInput(what, `must decode to ${length} bytes, not ${out.length}`);
  }
  return out;
}
