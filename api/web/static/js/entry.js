// Ledger entries (chainledger/entry.py): the Merkle leaves, the canonical JSON of
// {"v":1,"seq":N,"ts":"...","prev":"<hex leaf hash of entry N-1>","stmt":{...},"sig":"<b64>"}.

import { b64decode } from "./b64.js";
import { canonical } from "./canonical.js";
import { checkTs } from "./clock.js";
import { MalformedInput } from "./errors.js";
import { parseJsonObject } from "./json.js";
import { checkCommon, checkSize } from "./statement.js";

export const ENTRY_VERSION = 1;
const MEMBERS = ["prev", "seq", "sig", "stmt", "ts", "v"];
const UTF8 = new TextEncoder();

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Decode untrusted entry text, insisting that it is exactly canonical (decode_entry):
 * resolves to {seq, ts, prev, stmt, sig (Uint8Array), data (the canonical bytes)}.
 * Throws MalformedInput or SchemaError; signatures are not checked (that needs the
 * actor's key).
 */
export function decodeEntry(text) {
  const obj = parseJsonObject(text, "entry");
  const keys = Object.keys(obj).sort();
  if (keys.join() !== MEMBERS.join()) throw new MalformedInput("entry", "must have exactly the members v, seq, ts, prev, stmt, sig");
  if (obj.v !== ENTRY_VERSION) throw new MalformedInput("entry", `unsupported version ${JSON.stringify(obj.v)}`);
  if (!Number.isInteger(obj.seq) || obj.seq < 0) throw new MalformedInput("entry", "seq must be a non-negative integer");
  checkTs(obj.ts, "entry ts");
  if (typeof obj.prev !== "string" || !/^[0-9a-f]{64}$/.test(obj.prev)) throw new MalformedInput("entry", "prev must be 64 lowercase hex digits");
  if (typeof obj.sig !== "string") throw new MalformedInput("entry", "sig must be base64");
  if (obj.stmt === null || typeof obj.stmt !== "object" || Array.isArray(obj.stmt)) throw new MalformedInput("entry", "stmt must be a JSON object");
  const data = UTF8.encode(text);
  if (!sameBytes(canonical(obj), data)) throw new MalformedInput("entry", "bytes are not the RFC 8785 canonical form");
  const sig = b64decode(obj.sig, "entry sig", 64);
  checkSize(canonical(obj.stmt));
  checkCommon(obj.stmt);
  return { seq: obj.seq, ts: obj.ts, prev: obj.prev, stmt: obj.stmt, sig, data };
}
