// Lowercase hexadecimal, one textual form per value (as chainledger.encoding.hexdecode).

import { MalformedInput } from "./errors.js";

/** Bytes to lowercase hex. */
export function toHex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Lowercase hex to bytes; refuses uppercase, odd lengths and, if given, another length. */
export function fromHex(text, what = "hex", length = undefined) {
  if (typeof text !== "string" || !/^(?:[0-9a-f]{2})*$/.test(text)) {
    throw new MalformedInput(what, "must be an even number of lowercase hex digits");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  if (length !== undefined && out.length !== length) {
    throw new MalformedInput(what, `must be ${length} bytes, not ${out.length}`);
  }
  return out;
}
