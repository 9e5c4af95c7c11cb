// Building and signing statements in the browser, byte for byte as the Python client
// (chainledger/statement.py make_statement + sign_statement, crypto.py party_id):
// Ed25519 (RFC 8032, deterministic) over the RFC 8785 bytes of the statement, with a
// WebCrypto key that never leaves the browser (generated non-extractable).

import { b32encode } from "./b32.js";
import { b64encode } from "./b64.js";
import { ledgerCanonical } from "./canonical.js";
import { formatTs } from "./clock.js";
import { SchemaError } from "./errors.js";
import { checkCommon, checkSize, COMMON_FIELDS, NONCE_BYTES } from "./statement.js";

const ED25519 = { name: "Ed25519" };

/** `n` random bytes from the browser's CSPRNG. */
export function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * A fresh statement {kind, actor, ts, nonce, ...fields} at `now` (a Date) with a nonce
 * of 16 bytes from `rand` (make_statement). A field may not override a common one.
 */
export function makeStatement(kind, actor, fields = {}, { now = new Date(), rand = randomBytes } = {}) {
  const stmt = { kind, actor, ts: formatTs(now), nonce: b64encode(rand(NONCE_BYTES)) };
  for (const [name, value] of Object.entries(fields)) {
    if (COMMON_FIELDS.includes(name)) throw new SchemaError(name, "is a common field and cannot be overridden");
    stmt[name] = value;
  }
  return stmt;
}

/**
 * Sign canonical(stmt) with a WebCrypto Ed25519 private key; resolves to the wire JSON
 * {stmt, sig: base64}. Throws MalformedInput/SchemaError for a statement the ledger
 * would refuse (outside the data model, too large, bad common fields).
 */
export async function signStatement(stmt, privateKey) {
  const body = ledgerCanonical(stmt);
  checkSize(body);
  checkCommon(stmt);
  const sig = new Uint8Array(await crypto.subtle.sign(ED25519, privateKey, body));
  return { stmt, sig: b64encode(sig) };
}

/** A new Ed25519 key pair whose private key cannot be exported, not even by this page. */
export function generateKeyPair() {
  return crypto.subtle.generateKey(ED25519, false, ["sign", "verify"]);
}

/** The raw 32-byte public key (RFC 8032 section 5.1.5 encoding) of a CryptoKey. */
export async function publicKeyBytes(publicKey) {
  return new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
}

/** "p_" + lowercase base32 of SHA-256(public key)[:10]: the party id of a raw public key. */
export async function partyId(publicKey) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", publicKey));
  return "p_" + b32encode(digest.slice(0, 10)).toLowerCase();
}

/**
 * The id of an object a statement makes (chainledger/crypto.py derived_id): `prefix` +
 * "_" + lowercase base32 of SHA-256("<prefix>:<actor>:<nonce>")[:10] (grants "g", assets "a").
 */
export async function derivedId(prefix, actor, nonce) {
  const text = new TextEncoder().encode(`${prefix}:${actor}:${nonce}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", text));
  return `${prefix}_` + b32encode(digest.slice(0, 10)).toLowerCase();
}
