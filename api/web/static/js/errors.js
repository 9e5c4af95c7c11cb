// The error classes of the browser library, mirroring chainledger/errors.py: each has
// the same stable `code` as its Python counterpart, so a page (or a test) can tell
// "the input is malformed" from "the proof is wrong" (DESIGN.md, examples 1 and 2).

export class ChainledgerError extends Error {
  constructor(message, code) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Untrusted input is not in the expected format: `what` names it, `reason` says why. */
export class MalformedInput extends ChainledgerError {
  constructor(what, reason) {
    super(`${what}: ${reason}`, "malformed");
    this.what = what;
    this.reason = reason;
  }
}

/** A statement's common fields are wrong (chainledger.errors.SchemaError). */
export class SchemaError extends ChainledgerError {
  constructor(what, reason) {
    super(`${what}: ${reason}`, "schema");
    this.what = what;
    this.reason = reason;
  }
}

/** The question has no answer (index >= size, size 0, first > second): not an attack. */
export class InvalidChallenge extends ChainledgerError {
  constructor(message) {
    super(message, "invalid_challenge");
  }
}

/** Something does not verify. Subclasses set their own code. */
export class VerificationError extends ChainledgerError {
  constructor(message, code = "verification_failed") {
    super(message, code);
  }
}
