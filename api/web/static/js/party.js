// The party this browser acts as on a page (a holder, a counter, an auditor): its key
// pair kept by keystore.js under the role's name, made here or imported from a
// `wallet export-key` / demo PEM file, and never extractable once stored. Pages get a
// record {party, role, privateKey, publicRaw}; only signatures leave the browser.

import { b64decode, b64encode } from "./b64.js";
import { canonical } from "./canonical.js";
import { deleteKeyPair, getKeyPair, putKeyPair } from "./keystore.js";
import { generateKeyPair, partyId, publicKeyBytes } from "./sign.js";

const ED25519 = { name: "Ed25519" };

async function record(role, pair) {
  const publicRaw = await publicKeyBytes(pair.publicKey);
  return { party: await partyId(publicRaw), role, privateKey: pair.privateKey, publicRaw };
}

/** The stored party of `role`, or null. */
export async function loadParty(role) {
  const pair = await getKeyPair(role);
  return pair ? record(role, pair) : null;
}

/** Forget the key of `role` kept in this browser. */
export function forgetParty(role) {
  return deleteKeyPair(role);
}

/** A new party of `role`: a key pair made here, its private half non-extractable. */
export async function createParty(role) {
  const pair = await generateKeyPair();
  await putKeyPair(role, pair);
  return record(role, pair);
}

/**
 * Import a PKCS#8 PEM Ed25519 private key (RFC 8410 section 7) as the party of `role`.
 * The PEM is read once, here: the key is imported extractable only long enough to
 * re-import it non-extractable (via its JWK, which also gives the public key) and is
 * stored non-extractable from then on.
 */
export async function importParty(role, pem) {
  const match = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!match) throw new Error("not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)");
  const der = b64decode(match[1].replace(/\s+/g, ""), "PEM body");
  const temp = await crypto.subtle.importKey("pkcs8", der, ED25519, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", temp);
  const privateKey = await crypto.subtle.importKey("jwk", jwk, ED25519, false, ["sign"]);
  const raw = b64decode(jwk.x.replace(/-/g, "+").replace(/_/g, "/") + "=", "public key", 32);
  const publicKey = await crypto.subtle.importKey("raw", raw, ED25519, true, ["verify"]);
  const pair = { publicKey, privateKey };
  await putKeyPair(role, pair);
  return record(role, pair);
}

/**
 * The registration request the platform approves (as `wallet init` writes it): the
 * public key, the role and a proof of possession, Ed25519 over
 * canonical({kind: "party.pop", party, role}).
 */
export async function registrationRequest(party) {
  const pop = canonical({ kind: "party.pop", party: party.party, role: party.role });
  const sig = new Uint8Array(await crypto.subtle.sign(ED25519, party.privateKey, pop));
  return { public_key: b64encode(party.publicRaw), role: party.role, pop: b64encode(sig) };
}
