// The pages' verifying client (as wallet/client.py `LedgerClient`): nothing the server
// says is taken on trust.
// * The log's verifier key is pinned in this browser on first contact (localStorage).
// * The last checkpoint this browser verified is remembered; a new one must be signed by
//   the pinned key and proved consistent with it (RFC 9162 section 2.1.4), so a
//   rolled-back or forked log is named as the attack it is.
// * Entries are proved in the tree (section 2.1.3); an issuer's signature is checked with
//   the key it had when it signed, that key's history proved from the log; disclosures
//   are checked against the issuer-signed digests (H(salt || canonical([name, value]))).

import { b64decode, b64encode } from "./b64.js";
import { canonical } from "./canonical.js";
import { openCheckpoint } from "./checkpoint.js";
import { decodeEntry } from "./entry.js";
import { signedFetch } from "./httpsig.js";
import { leafHash, verifyConsistency, verifyInclusion } from "./merkle.js";
import { parseVerifierKey } from "./note.js";
import { parseReceipt, verifyReceipt } from "./receipt.js";
import { derivedId } from "./sign.js";

/** What the server said does not verify: a forged answer, a rolled-back or forked log. */
export class Attack extends Error {
  constructor(message) {
    super(message);
    this.name = "Attack";
  }
}

/** The server refused the request (problem+json; a refused read carries its receipt). */
export class Refused extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

const PIN = "chainledger.vkey";
const LAST = "chainledger.checkpoint";
const UTF8 = new TextEncoder();

async function json(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Refused(response.status, body);
  return body;
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A checkpoint as the pages use it: {origin, size (a Number), root, note}. */
function view(checkpoint, note) {
  return { origin: checkpoint.origin, size: Number(checkpoint.size), root: checkpoint.root, note };
}

export class Ledger {
  constructor(verifier) {
    this.verifier = verifier;
    this.keys = new Map();
  }

  /** Connect: fetch the verifier key and pin it (or check it against the pinned one). */
  static async connect() {
    const served = (await (await fetch("/v1/vkey")).text()).trim();
    const pinned = localStorage.getItem(PIN);
    if (pinned && pinned !== served) {
      throw new Attack("the server's log key is not the one this browser pinned");
    }
    const verifier = await parseVerifierKey(served);
    localStorage.setItem(PIN, served);
    return new Ledger(verifier);
  }

  async get(path) {
    return json(await fetch(path));
  }

  async post(path, body) {
    return json(await fetch(path, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    }));
  }

  /** A GET signed (RFC 9421) by `party` ({party, privateKey}). */
  async signedGet(path, party) {
    return json(await signedFetch(path, { method: "GET" }, party.party, party.privateKey));
  }

  async signedPost(path, body, party) {
    return json(await signedFetch(path, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    }, party.party, party.privateKey));
  }

  async open(note) {
    try {
      const { checkpoint, unknown } = await openCheckpoint(note, [this.verifier]);
      return { ...view(checkpoint, note), witnesses: unknown };
    } catch (e) {
      throw new Attack(`checkpoint not signed by the pinned log key: ${e.message}`);
    }
  }

  /** The latest checkpoint, verified and proved consistent with the last one seen here. */
  async checkpoint() {
    const note = await (await fetch("/v1/checkpoint", { cache: "no-store" })).text();
    const cp = await this.open(note);
    const last = localStorage.getItem(LAST);
    if (last) await this.checkConsistent(await this.open(last), cp);
    localStorage.setItem(LAST, note);
    return cp;
  }

  /** Throw Attack unless the tree of `newer` extends the tree of `older`. */
  async checkConsistent(older, newer) {
    if (newer.size < older.size) {
      throw new Attack(`rollback: the log shrank from ${older.size} to ${newer.size} entries`);
    }
    if (older.size === newer.size) {
      if (!sameBytes(older.root, newer.root)) {
        throw new Attack(`fork: two different trees of size ${newer.size}`);
      }
      return;
    }
    if (older.size === 0) return;
    const p = await this.get(`/v1/proofs/consistency?first=${older.size}&second=${newer.size}`);
    try {
      const hashes = p.hashes.map((h) => b64decode(h, "consistency proof hash", 32));
      await verifyConsistency(older.size, newer.size, hashes, older.root, newer.root);
    } catch (e) {
      throw new Attack(`fork: the tree of ${newer.size} does not extend the one of ` +
        `${older.size} this browser saw (${e.message})`);
    }
  }

  /**
   * Check a receipt end to end (receipt.js) and that its tree is part of the log as seen
   * now; resolves to {entry (decoded), checkpoint}.
   */
  async receipt(receipt) {
    let out;
    try {
      out = await verifyReceipt(parseReceipt(receipt), [this.verifier]);
    } catch (e) {
      throw new Attack(`a receipt that does not verify: ${e.message}`);
    }
    const checkpoint = view(out.checkpoint, receipt.checkpoint);
    await this.checkConsistent(checkpoint, await this.checkpoint());
    return { entry: out.entry, checkpoint };
  }

  /** Prove that `entryText` is leaf `seq` of the tree of `cp`. */
  async prove(entryText, seq, cp) {
    const p = await this.get(`/v1/proofs/inclusion?index=${seq}&size=${cp.size}`);
    await this.proveWith(entryText, seq, cp, p);
  }

  /** As `prove`, with the inclusion proof `p` (its JSON) already at hand. */
  async proveWith(entryText, seq, cp, p) {
    try {
      if (p.leaf_index !== seq || p.tree_size !== cp.size) throw new Error("a proof for another place");
      const hashes = p.hashes.map((h) => b64decode(h, "inclusion proof hash", 32));
      await verifyInclusion(await leafHash(UTF8.encode(entryText)), seq, cp.size, hashes, cp.root);
    } catch (e) {
      throw new Attack(`entry ${seq} is not in the log: ${e.message}`);
    }
  }

  /** The raw key `party` had at entry `seq`, its history proved from the log (wallet/keys.py). */
  async keyAt(party, seq, cp) {
    let history = this.keys.get(party);
    if (!history || seq >= history.size) {
      const body = await this.get(`/v1/parties/${party}`);
      const keys = [];
      for (const k of body.keys || []) {
        const entry = decodeEntry(k.entry);
        const s = entry.stmt;
        const givenTo = ["genesis", "party.rotate"].includes(s.kind) ? s.actor : s.party;
        if (entry.seq !== k.seq || givenTo !== party || s.key !== k.public_key) {
          throw new Attack(`the key history of ${party} does not match its entries`);
        }
        const raw = b64decode(k.public_key, "public key", 32);
        if (s.kind === "party.rotate") {
          if (!keys.length || !(await verifyEd25519(keys[keys.length - 1].raw, entry.sig, s))) {
            throw new Attack(`a key rotation of ${party} is not signed by the key it replaces`);
          }
        }
        await this.prove(k.entry, k.seq, cp);
        keys.push({ seq: k.seq, raw });
      }
      history = { size: cp.size, keys };
      this.keys.set(party, history);
    }
    const before = history.keys.filter((k) => k.seq < seq);
    if (!before.length) throw new Attack(`${party} had no key before entry ${seq}`);
    return before[before.length - 1].raw;
  }

  /**
   * Check an asset.issue entry: in the tree of `cp` (with `proof`, its inclusion proof's
   * JSON, when the answer carried one; else fetched), signed by its issuer's key of then.
   * Resolves to the decoded entry with its `assetId`.
   */
  async checkIssue(issueText, cp, proof = null) {
    const issue = decodeEntry(issueText);
    if (issue.stmt.kind !== "asset.issue") throw new Attack("not an asset's issue entry");
    if (proof) await this.proveWith(issueText, issue.seq, cp, proof);
    else await this.prove(issueText, issue.seq, cp);
    const key = await this.keyAt(issue.stmt.actor, issue.seq, cp);
    if (!(await verifyEd25519(key, issue.sig, issue.stmt))) {
      throw new Attack("the asset's issue is not signed by its issuer");
    }
    issue.assetId = await derivedId("a", issue.stmt.actor, issue.stmt.nonce);
    return issue;
  }
}

/** Does `sig` (bytes) sign canonical(stmt) with the raw Ed25519 public key `raw`? */
export async function verifyEd25519(raw, sig, stmt) {
  const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, sig, canonical(stmt));
}

/** Throw Attack unless every disclosure [salt, value] hashes to its issuer-signed digest. */
export async function checkDisclosures(digests, disclosures) {
  for (const [name, pair] of Object.entries(disclosures)) {
    const want = digests[name];
    if (!want || !Array.isArray(pair) || pair.length !== 2) {
      throw new Attack(`forged disclosure: ${name} has no signed digest`);
    }
    const salt = b64decode(pair[0], "disclosure salt", 16);
    const value = canonical([name, pair[1]]);
    const both = new Uint8Array(salt.length + value.length);
    both.set(salt);
    both.set(value, salt.length);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", both));
    if (b64encode(digest) !== want) {
      throw new Attack(`forged disclosure: the value of ${name} does not match its signed digest`);
    }
  }
}
