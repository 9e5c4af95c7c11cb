// C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, verified with WebCrypto;
// mirrors chainledger/note.py, one named error per malformation.
//
// A note is text ending in a newline, a blank line, then signature lines
// "— <key name> base64(key ID || signature)". A verifier key is
// "<name>+<8 hex key ID>+base64(type || public key)", key ID =
// SHA-256(name || 0x0A || type || public key)[:4]. Types: 0x01 Ed25519 over the text;
// 0x04 the timestamped witness cosignature of c2sp.org/tlog-cosignature.
// Signatures by unknown keys are ignored (and returned, so a page can list them); a
// known key's bad signature rejects the note; no verified known signature rejects it.

import { b64decode, b64encode } from "./b64.js";
import { MalformedInput, VerificationError } from "./errors.js";
import { toHex } from "./hex.js";
import { isWellFormed } from "./json.js";

export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;
export const MAX_SIGNATURES = 100;
export const EM_DASH = "\u2014";

const UTF8 = new TextEncoder();
const CONTROL = /[\x00-\x09\x0b-\x1f]/;
const CONTROL_OR_NL = /[\x00-\x1f\x7f]/;
// Python's \s (str.isspace), not JavaScript's: the two differ on U+FEFF and U+001C-1F.
const SPACE = /[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

export class NoteNotUtf8 extends MalformedInput {
  constructor() { super("signed note", "not valid UTF-8"); }
}
export class NoteControlCharacter extends MalformedInput {
  constructor() { super("signed note", "contains an ASCII control character other than newline"); }
}
export class NoteWithoutSignatures extends MalformedInput {
  constructor() { super("signed note", "no blank line followed by signature lines"); }
}
export class BadSignatureLine extends MalformedInput {
  constructor(reason) { super("signature line", reason); }
}
export class NoteTooManySignatures extends MalformedInput {
  constructor(count) { super("signed note", `${count} signatures; at most ${MAX_SIGNATURES} accepted`); }
}
export class BadKeyName extends MalformedInput {
  constructor() { super("key name", "must be non-empty without spaces or '+'"); }
}
export class BadVerifierKey extends MalformedInput {
  constructor(reason) { super("verifier key", reason); }
}
/** A known key's signature does not verify: the whole note is rejected. */
export class BadNoteSignature extends VerificationError {
  constructor(message) { super(message, "bad_note_signature"); }
}
/** No signature from a known key: the note's text must be ignored. */
export class UnverifiedNote extends VerificationError {
  constructor(message) { super(message, "unverified_note"); }
}

// The y-coordinates of the Ed25519 points of small order (canonical and not), as
// chainledger/crypto.py: such a key verifies a trivial signature on any message.
const SMALL_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

/** Whether a 32-byte Ed25519 public key is a point of small order (a weak key). */
export function isSmallOrder(pub) {
  if (pub.length !== 32) return false;
  const y = Uint8Array.from(pub);
  y[31] &= 0x7f;
  return SMALL_ORDER.includes(toHex(y));
}

/** Key names are non-empty, with no Unicode spaces, no '+' and no control characters. */
export function checkKeyName(name) {
  if (!name || SPACE.test(name) || name.includes("+") || CONTROL_OR_NL.test(name)) throw new BadKeyName();
}

/** SHA-256(name || 0x0A || alg || public key)[:4] (signed-note, "Signatures"). */
export async function keyId(name, alg, publicKey) {
  const nameBytes = UTF8.encode(name);
  const data = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  data.set(nameBytes, 0);
  data[nameBytes.length] = 0x0a;
  data[nameBytes.length + 1] = alg;
  data.set(publicKey, nameBytes.length + 2);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data)).slice(0, 4);
}

/**
 * Split untrusted signed-note text into {text, signatures: [{name, keyId, signature}]}.
 * Verifies nothing: use openNote for that.
 */
export function parseNote(data) {
  if (typeof data !== "string" || !isWellFormed(data)) throw new NoteNotUtf8();
  if (CONTROL.test(data)) throw new NoteControlCharacter();
  // The text is separated from the signatures by the *last* empty line.
  const split = data.lastIndexOf("\n\n");
  if (split < 0) throw new NoteWithoutSignatures();
  const text = data.slice(0, split + 1);
  const block = data.slice(split + 2);
  if (!block) throw new NoteWithoutSignatures();
  if (!block.endsWith("\n")) throw new BadSignatureLine("the last signature line does not end in a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new NoteTooManySignatures(lines.length);
  return { text, signatures: lines.map(parseSignatureLine) };
}

function parseSignatureLine(line) {
  const prefix = EM_DASH + " ";
  if (!line.startsWith(prefix)) throw new BadSignatureLine("does not start with an em dash and a space");
  const rest = line.slice(prefix.length);
  const space = rest.indexOf(" ");
  if (space < 0) throw new BadSignatureLine("no space between key name and signature");
  const name = rest.slice(0, space);
  checkKeyName(name);
  let raw;
  try {
    raw = b64decode(rest.slice(space + 1), "signature");
  } catch {
    throw new BadSignatureLine("signature is not canonical standard base64");
  }
  if (raw.length < 5) throw new BadSignatureLine("signature shorter than a key ID and one byte");
  return { name, keyId: raw.slice(0, 4), signature: raw.slice(4) };
}

/**
 * Parse a verifier key "name+keyid+base64(type || key)" into
 * {name, keyId, alg, publicKey, vkey}; refuses bad lengths, types, weak keys and key IDs.
 */
export async function parseVerifierKey(vkey) {
  if (typeof vkey !== "string") throw new BadVerifierKey("must be a string");
  const first = vkey.indexOf("+");
  const second = first < 0 ? -1 : vkey.indexOf("+", first + 1); // base64 may hold '+'
  if (second < 0) throw new BadVerifierKey("expected name+keyid+key");
  const name = vkey.slice(0, first);
  const hexid = vkey.slice(first + 1, second);
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(hexid)) throw new BadVerifierKey("key ID must be 8 lowercase hex digits");
  let raw;
  try {
    raw = b64decode(vkey.slice(second + 1), "verifier key");
  } catch {
    throw new BadVerifierKey("key is not canonical standard base64");
  }
  if (!raw.length) throw new BadVerifierKey("empty key");
  const alg = raw[0];
  const publicKey = raw.slice(1);
  if (alg !== ALG_ED25519 && alg !== ALG_COSIGNATURE_V1) {
    throw new BadVerifierKey(`unknown signature type 0x${alg.toString(16).padStart(2, "0")}`);
  }
  if (publicKey.length !== 32) throw new BadVerifierKey(`Ed25519 keys are 32 bytes, not ${publicKey.length}`);
  if (isSmallOrder(publicKey)) throw new BadVerifierKey("not an Ed25519 public key");
  if (toHex(await keyId(name, alg, publicKey)) !== hexid) {
    throw new BadVerifierKey("key ID does not match SHA-256(name || 0x0A || type || key)[:4]");
  }
  return { name, keyId: Uint8Array.from(hexid.match(/../g), (h) => parseInt(h, 16)), alg, publicKey, vkey };
}

/** The verifier key string of a parsed verifier. */
export function formatVerifierKey({ name, keyId: id, alg, publicKey }) {
  return `${name}+${toHex(id)}+${b64encode(Uint8Array.of(alg, ...publicKey))}`;
}

async function ed25519Verify(publicKey, signature, message) {
  let key;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return false; // not a point on the curve: nothing verifies under it
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

/**
 * Throw BadNoteSignature unless `signature` is `verifier`'s over note `text`.
 * Returns the cosignature timestamp (a BigInt) for type 0x04, null for type 0x01.
 */
export async function verifySignature(verifier, text, signature) {
  let message;
  let timestamp = null;
  if (verifier.alg === ALG_ED25519) {
    message = UTF8.encode(text);
  } else {
    if (signature.length !== 8 + 64) throw new BadNoteSignature(`cosignature by ${verifier.name} has the wrong length`);
    timestamp = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
    if (timestamp > 2n ** 63n - 1n) throw new BadNoteSignature(`cosignature by ${verifier.name} has an invalid timestamp`);
    signature = signature.slice(8);
    message = UTF8.encode(`cosignature/v1\ntime ${timestamp}\n${text}`);
  }
  if (!(await ed25519Verify(verifier.publicKey, signature, message))) {
    throw new BadNoteSignature(`signature by ${verifier.name} does not verify`);
  }
  return timestamp;
}

function sameId(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Parse and verify a signed note against known `verifiers` (parsed verifier keys).
 * Resolves to {note, verified: [verifier...], unknown: [signature...]}: `unknown` are the
 * signatures of keys not given (a log's witnesses' cosignatures, typically), unchecked.
 */
export async function openNote(data, verifiers) {
  const note = typeof data === "string" ? parseNote(data) : data;
  const verified = [];
  const unknown = [];
  for (const sig of note.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && sameId(k.keyId, sig.keyId));
    if (!v) {
      unknown.push(sig);
      continue;
    }
    await verifySignature(v, note.text, sig.signature);
    if (!verified.includes(v)) verified.push(v);
  }
  if (!verified.length) throw new UnverifiedNote("no signature from a known key");
  return { note, verified, unknown };
}
