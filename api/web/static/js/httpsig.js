// RFC 9421 HTTP Message Signatures, chainledger's profile, signed in the browser with a
// WebCrypto Ed25519 key (mirrors wallet/httpsig.py `sign_request_headers`, byte for byte):
//   label and tag "chainledger"; keyid = the party id; alg="ed25519";
//   created / expires (integer seconds, expires = created + lifetime); a single-use nonce
//   (base64url of 16 random bytes, no padding);
//   covered components "@method" "@path" "@query", plus "content-digest" (RFC 9530,
//   sha-256) when the request has a body.

import { b64encode as b64 } from "./b64.js";

const LABEL = "chainledger";
const enc = new TextEncoder();

/** base64url without padding of 16 random bytes (22 characters). */
export function makeNonce() {
  const raw = crypto.getRandomValues(new Uint8Array(16));
  return b64(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** RFC 9530 Content-Digest of `body` (bytes): `sha-256=:<b64>:`. */
export async function contentDigest(body) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  return `sha-256=:${b64(digest)}:`;
}

/**
 * The headers that make a request carry a chainledger signature.
 * `url` is absolute or relative to the page; only its path and query are signed
 * (RFC 9421 §2.2.6, §2.2.7: an empty query is "?"). `body` is a Uint8Array or null.
 * `now` is milliseconds since the epoch; `nonce` defaults to a fresh one.
 */
export async function signRequest({ method, url, body = null, partyId, privateKey, now = Date.now(),
  nonce = makeNonce(), lifetime = 60 }) {
  const u = new URL(url, globalThis.location ? globalThis.location.href : undefined);
  const created = Math.floor(now / 1000);
  const components = ['"@method"', '"@path"', '"@query"'];
  const lines = [
    `"@method": ${method.toUpperCase()}`,
    `"@path": ${u.pathname}`,
    `"@query": ${u.search || "?"}`,
  ];
  const headers = {};
  if (body && body.length) {
    headers["Content-Digest"] = await contentDigest(body);
    components.push('"content-digest"');
    lines.push(`"content-digest": ${headers["Content-Digest"]}`);
  }
  // §2.3: the signature parameters, in the order the Python library writes them.
  const params = `(${components.join(" ")});created=${created};keyid="${partyId}";` +
    `alg="ed25519";expires=${created + lifetime};nonce="${nonce}";tag="${LABEL}"`;
  lines.push(`"@signature-params": ${params}`);
  const base = enc.encode(lines.join("\n")); // §2.5: no trailing newline
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, base));
  headers["Signature-Input"] = `${LABEL}=${params}`;
  headers["Signature"] = `${LABEL}=:${b64(sig)}:`;
  return headers;
}

/** fetch() with a chainledger signature; `init.body` may be a string or Uint8Array. */
export async function signedFetch(url, init, partyId, privateKey) {
  const body = typeof init.body === "string" ? enc.encode(init.body) : init.body || null;
  const added = await signRequest({ method: init.method || "GET", url, body, partyId, privateKey });
  return fetch(url, { ...init, body, headers: { ...(init.headers || {}), ...added } });
}
