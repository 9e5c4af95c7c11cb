// Base32 (RFC 4648 section 6), lowercase, as Python's base64.b32encode(...).lower():
// party ids are "p_" + base32 of 10 bytes (16 letters, so never any padding).

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** Bytes to lowercase base32, padded with "=" to a multiple of 8 characters. */
export function b32encode(bytes) {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = ((buffer << 8) | b) & 0xffff; // at most 12 bits are ever pending
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  while (out.length % 8) out += "=";
  return out;
}
