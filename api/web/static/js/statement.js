// Signed statements (chainledger/statement.py): {"kind","actor","ts","nonce",...fields},
// signed with Ed25519 over their RFC 8785 bytes, travelling as {"stmt": {...}, "sig": b64}.
// This module checks the fields every statement shares, as the ledger does.

import { b64decode } from "./b64.js";
import { checkTs } from "./clock.js";
import { MalformedInput, SchemaError } from "./errors.js";

export const NONCE_BYTES = 16;
export const MAX_STATEMENT_BYTES = 64 * 1024 - 256; // an entry must fit a tile bundle (chainledger/statement.py)
export const COMMON_FIELDS = ["kind", "actor", "ts", "nonce"];

const KIND = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
const PARTY_ID = /^p_[a-z2-7]{16}$/;

/** Throw SchemaError unless the common fields of `stmt` are well formed. */
export function checkCommon(stmt) {
  for (const name of COMMON_FIELDS) {
    if (!Object.hasOwn(stmt, name)) throw new SchemaError(name, "missing");
    if (typeof stmt[name] !== "string") throw new SchemaError(name, "must be a string");
  }
  if (stmt.kind.length > 64 || !KIND.test(stmt.kind)) throw new SchemaError("kind", "must be dotted lowercase words");
  if (!PARTY_ID.test(stmt.actor)) throw new SchemaError("actor", "must be a party id (p_ + 16 base32 letters)");
  try {
    checkTs(stmt.ts);
    b64decode(stmt.nonce, "nonce", NONCE_BYTES);
  } catch (exc) {
    if (exc instanceof MalformedInput) throw new SchemaError(exc.what, exc.reason);
    throw exc;
  }
}

/** Throw unless `body` (canonical statement bytes) is small enough for the ledger. */
export function checkSize(body) {
  if (body.length > MAX_STATEMENT_BYTES) throw new MalformedInput("statement", `larger than ${MAX_STATEMENT_BYTES} bytes`);
}
