// The Merkle tree of RFC 9162 section 2.1 (SHA-256 only: browsers have no SM3), with
// 0-based indices, mirroring chainledger/merkle.py: verification returns nothing or
// throws InvalidChallenge (the question has no answer), MalformedHash, ProofLengthError
// or RootMismatch (the proof is wrong), with the Python error codes.
//
// Indices and sizes are handled as BigInt: tree sizes go up to 2**64 - 1, and the
// bit operations of the RFC's algorithms on JS numbers would truncate at 2**32.

import { InvalidChallenge, VerificationError } from "./errors.js";
import { toHex } from "./hex.js";

export const HASH_SIZE = 32;

export class InvalidProof extends VerificationError {
  constructor(message, code = "invalid_proof") {
    super(message, code);
  }
}

/** A hash in the proof (or the leaf hash, or a root) is not 32 bytes long. */
export class MalformedHash extends InvalidProof {
  constructor(message) {
    super(message, "malformed_hash");
  }
}

/** The proof has more or fewer hashes than the tree shape requires. */
export class ProofLengthError extends InvalidProof {
  constructor(got, expected) {
    super(`proof has ${got} hashes; this tree shape needs ${expected}`, "proof_length");
    this.got = got;
    this.expected = expected;
  }
}

/** The root recomputed from the proof is not the expected one; keeps both as evidence. */
export class RootMismatch extends InvalidProof {
  constructor(which, expected, computed) {
    super(`${which} recomputed from the proof is ${toHex(computed).slice(0, 16)}..., ` +
      `expected ${toHex(expected).slice(0, 16)}...`, "root_mismatch");
    this.which = which;
    this.expected = expected;
    this.computed = computed;
  }
}

async function sha256(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/** RFC 9162 section 2.1.1: the leaf hash H(0x00 || data). */
export function leafHash(data) {
  return sha256(Uint8Array.of(0x00), data);
}

/** RFC 9162 section 2.1.1: the interior node hash H(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(Uint8Array.of(0x01), left, right);
}

/** The largest power of two strictly smaller than n (n >= 2): RFC 9162's k. */
function split(n) {
  let k = 1n;
  while (k * 2n < n) k *= 2n;
  return k;
}

/** How many hashes PATH(index, D[size]) has (RFC 9162 2.1.3.1); checks the challenge. */
export function inclusionProofLength(index, size) {
  index = BigInt(index);
  size = BigInt(size);
  if (size <= 0n) throw new InvalidChallenge(`no inclusion proof in a tree of size ${size}`);
  if (index < 0n || index >= size) throw new InvalidChallenge(`leaf index ${index} is not in a tree of size ${size}`);
  let count = 0;
  let lo = 0n;
  let hi = size;
  while (hi - lo > 1n) {
    const mid = lo + split(hi - lo);
    if (index < mid) hi = mid;
    else lo = mid;
    count++;
  }
  return count;
}

/** How many hashes PROOF(first, D[second]) has (RFC 9162 2.1.4.1); checks the challenge. */
export function consistencyProofLength(first, second) {
  first = BigInt(first);
  second = BigInt(second);
  if (first <= 0n) throw new InvalidChallenge(`no consistency proof from a tree of size ${first}`);
  if (first > second) throw new InvalidChallenge(`first size ${first} is larger than second size ${second}`);
  let count = 0;
  let lo = 0n;
  let hi = second;
  let complete = true; // SUBPROOF's flag b
  while (first - lo < hi - lo) {
    const mid = lo + split(hi - lo);
    if (first <= mid) hi = mid;
    else {
      lo = mid;
      complete = false;
    }
    count++;
  }
  return complete ? count : count + 1;
}

function checkHash(value, what) {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) {
    const got = value instanceof Uint8Array ? value.length : typeof value;
    throw new MalformedHash(`${what} must be ${HASH_SIZE} bytes, got ${got}`);
  }
}

function checkProof(proof, expected) {
  if (proof.length !== expected) throw new ProofLengthError(proof.length, expected);
  proof.forEach((h, i) => checkHash(h, `proof hash ${i}`));
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Resolve if `proof` (array of Uint8Array) shows that leaf `index` of the tree of
 * `size` has hash `leaf`, under `root`. RFC 9162 section 2.1.3.2, step by step.
 */
export async function verifyInclusion(leaf, index, size, proof, root) {
  const expected = inclusionProofLength(index, size); // step 1: index < size, size > 0
  checkHash(leaf, "leaf hash");
  checkHash(root, "root");
  checkProof(proof, expected);
  let fn = BigInt(index); // step 2
  let sn = BigInt(size) - 1n;
  let r = leaf; // step 3
  for (const p of proof) { // step 4
    if (sn === 0n) throw new ProofLengthError(proof.length, expected); // 4a
    if (fn & 1n || fn === sn) { // 4b
      r = await nodeHash(p, r);
      if (!(fn & 1n)) {
        while (fn && !(fn & 1n)) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; // 4c
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofLengthError(proof.length, expected); // step 5
  if (!equal(r, root)) throw new RootMismatch("root", root, r);
}

/**
 * Resolve if `proof` shows the tree of `first` leaves (root `firstRoot`) is a prefix
 * of the tree of `second` leaves (root `secondRoot`). RFC 9162 section 2.1.4.2.
 */
export async function verifyConsistency(first, second, proof, firstRoot, secondRoot) {
  const expected = consistencyProofLength(first, second);
  checkHash(firstRoot, "first root");
  checkHash(secondRoot, "second root");
  checkProof(proof, expected);
  first = BigInt(first);
  second = BigInt(second);
  if (first === second) {
    if (!equal(firstRoot, secondRoot)) throw new RootMismatch("second root", secondRoot, firstRoot);
    return;
  }
  const path = [...proof];
  if ((first & (first - 1n)) === 0n) path.unshift(firstRoot); // step 2: a power of 2
  let fn = first - 1n; // step 3
  let sn = second - 1n;
  while (fn & 1n) { // step 4
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]; // step 5
  let sr = path[0];
  for (const c of path.slice(1)) { // step 6
    if (sn === 0n) throw new ProofLengthError(proof.length, expected);
    if (fn & 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!(fn & 1n)) {
        while (fn && !(fn & 1n)) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofLengthError(proof.length, expected); // step 7
  if (!equal(fr, firstRoot)) throw new RootMismatch("first root", firstRoot, fr);
  if (!equal(sr, secondRoot)) throw new RootMismatch("second root", secondRoot, sr);
}
