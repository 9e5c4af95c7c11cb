// Receipts (chainledger/receipt.py): what every append returns, checked with nothing
// but the log's verifier key. {seq, leaf_hash (hex), entry (canonical entry text),
// checkpoint (the signed note that first includes it), inclusion (proof JSON)}.
//
// `parseReceipt` mirrors Receipt.from_json and `verifyReceipt` mirrors Receipt.verify,
// check for check and in the same order; each failure is a ReceiptError whose `check`
// names the check that failed (a page shows it; tests assert it), with the underlying
// error as `cause`.

import { b64decode } from "./b64.js";
import { openCheckpoint, OriginMismatch } from "./checkpoint.js";
import { decodeEntry } from "./entry.js";
import { ChainledgerError, VerificationError } from "./errors.js";
import { fromHex } from "./hex.js";
import { parseJsonObject } from "./json.js";
import { leafHash, verifyInclusion } from "./merkle.js";

export const MAX_PROOF_HASHES = 130;
const MEMBERS = ["checkpoint", "entry", "inclusion", "leaf_hash", "seq"];
const UTF8 = new TextEncoder();

/**
 * The names of the checks, in the order they run:
 * parsing:  json, members, seq, types, leaf_hash_format, inclusion_format;
 * verifying: checkpoint_signature, checkpoint_body, checkpoint_origin, leaf_hash, entry,
 *            index, tree_size, inclusion.
 */
export class ReceiptError extends VerificationError {
  constructor(check, message, cause = undefined) {
    super(`${check}: ${message}`, cause?.code ?? "receipt_mismatch");
    this.check = check;
    this.cause = cause;
  }
}

const isIndex = (n) => Number.isInteger(n) && n >= 0;

function guard(check, fn) {
  try {
    return fn();
  } catch (exc) {
    if (exc instanceof ChainledgerError) throw new ReceiptError(check, exc.message, exc);
    throw exc;
  }
}

async function guardAsync(check, fn) {
  try {
    return await fn();
  } catch (exc) {
    if (exc instanceof ChainledgerError) throw new ReceiptError(check, exc.message, exc);
    throw exc;
  }
}

/** Parse an inclusion proof's JSON (proofs.py InclusionProof.from_json). */
export function parseInclusionProof(obj) {
  const what = "inclusion proof";
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) ||
      Object.keys(obj).sort().join() !== "hashes,leaf_index,tree_size") {
    throw new ReceiptError("inclusion_format", `${what} must have exactly the members leaf_index, tree_size, hashes`);
  }
  for (const name of ["leaf_index", "tree_size"]) {
    if (!isIndex(obj[name])) throw new ReceiptError("inclusion_format", `${what}: ${name} must be a non-negative integer`);
  }
  if (!Array.isArray(obj.hashes) || obj.hashes.length > MAX_PROOF_HASHES) {
    throw new ReceiptError("inclusion_format", `${what}: hashes must be a list of at most ${MAX_PROOF_HASHES}`);
  }
  const hashes = guard("inclusion_format", () => obj.hashes.map((h) => b64decode(h, `${what} hash`)));
  return { leafIndex: obj.leaf_index, treeSize: obj.tree_size, hashes };
}

/** Parse receipt JSON text (or an already parsed object) as Receipt.from_json does. */
export function parseReceipt(input) {
  const d = typeof input === "string" ? guard("json", () => parseJsonObject(input, "receipt")) : input;
  if (d === null || typeof d !== "object" || Array.isArray(d)) throw new ReceiptError("json", "receipt: must be a JSON object");
  if (Object.keys(d).sort().join() !== MEMBERS.join()) {
    throw new ReceiptError("members", "receipt must have exactly the members " + MEMBERS.join(", "));
  }
  if (!isIndex(d.seq)) throw new ReceiptError("seq", "receipt seq must be a non-negative integer");
  if (typeof d.entry !== "string" || typeof d.checkpoint !== "string") {
    throw new ReceiptError("types", "receipt entry and checkpoint must be strings");
  }
  return {
    seq: d.seq,
    leafHash: guard("leaf_hash_format", () => fromHex(d.leaf_hash, "receipt leaf_hash", 32)),
    entry: d.entry,
    checkpoint: d.checkpoint,
    inclusion: parseInclusionProof(d.inclusion),
  };
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Check a parsed receipt end to end against `verifiers` (parsed verifier keys); resolve
 * to {entry, checkpoint, unknown} or throw a ReceiptError naming the failed check.
 * `suite` must be "sha256": SM3 ledgers cannot be checked in a browser.
 */
export async function verifyReceipt(receipt, verifiers, { origin = null, suite = "sha256" } = {}) {
  if (suite !== "sha256") throw new ReceiptError("suite", `hash suite ${suite} is not available in a browser`);
  let opened;
  try {
    opened = await openCheckpoint(receipt.checkpoint, verifiers, { origin });
  } catch (exc) {
    if (!(exc instanceof ChainledgerError)) throw exc;
    // The note (its syntax and signatures) first, then the body it signs, then whose log.
    const check = exc instanceof OriginMismatch ? "checkpoint_origin"
      : exc.what === "checkpoint" ? "checkpoint_body" : "checkpoint_signature";
    throw new ReceiptError(check, exc.message, exc);
  }
  const cp = opened.checkpoint;
  const data = UTF8.encode(receipt.entry);
  if (!sameBytes(await leafHash(data), receipt.leafHash)) {
    throw new ReceiptError("leaf_hash", "leaf hash is not the hash of the entry");
  }
  const entry = guard("entry", () => decodeEntry(receipt.entry));
  if (!(entry.seq === receipt.seq && receipt.seq === receipt.inclusion.leafIndex)) {
    throw new ReceiptError("index", "entry seq, receipt seq and proof index differ");
  }
  if (BigInt(receipt.inclusion.treeSize) !== cp.size) {
    throw new ReceiptError("tree_size", "proof is for another tree size than the checkpoint");
  }
  await guardAsync("inclusion", () => verifyInclusion(
    receipt.leafHash, receipt.inclusion.leafIndex, receipt.inclusion.treeSize, receipt.inclusion.hashes, cp.root));
  return { entry, checkpoint: cp, unknown: opened.unknown };
}

/**
 * Parse and verify receipt JSON text; never throws for bad input. Resolves to
 * {ok: true, entry, checkpoint} or {ok: false, check, code, message}.
 */
export async function checkReceipt(text, verifiers, options = {}) {
  try {
    const { entry, checkpoint } = await verifyReceipt(parseReceipt(text), verifiers, options);
    return { ok: true, entry, checkpoint };
  } catch (exc) {
    if (exc instanceof ReceiptError) return { ok: false, check: exc.check, code: exc.code, message: exc.message };
    throw exc;
  }
}
