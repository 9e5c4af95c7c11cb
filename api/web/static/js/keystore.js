// Key pairs kept in the browser: IndexedDB stores CryptoKey objects as they are
// (structured clone), so a non-extractable private key stays non-extractable and its
// bytes are never visible to any script, this page's included.

const DB_NAME = "chainledger";
const STORE = "keys";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open() {
  const req = indexedDB.open(DB_NAME, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

async function withStore(mode, fn) {
  const db = await open();
  try {
    const tx = db.transaction(STORE, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    const result = await request(fn(tx.objectStore(STORE)));
    await done; // a write counts once its transaction has committed
    return result;
  } finally {
    db.close();
  }
}

/** Store a CryptoKeyPair under `name` (replacing any pair of that name). */
export function putKeyPair(name, keyPair) {
  return withStore("readwrite", (s) => s.put({ publicKey: keyPair.publicKey, privateKey: keyPair.privateKey }, name));
}

/** The CryptoKeyPair stored under `name`, or undefined. */
export function getKeyPair(name) {
  return withStore("readonly", (s) => s.get(name));
}

/** Forget the key pair stored under `name`. */
export function deleteKeyPair(name) {
  return withStore("readwrite", (s) => s.delete(name));
}

/** The names of every stored key pair. */
export function keyNames() {
  return withStore("readonly", (s) => s.getAllKeys());
}
