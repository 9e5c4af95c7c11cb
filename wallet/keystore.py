"""A party's Ed25519 key, kept by its owner and encrypted at rest.

The key file (``<home>/key.json``, mode 0600) holds the private key encrypted with
AES-256-GCM under a key derived from the passphrase with scrypt (RFC 7914, a
memory-hard KDF: N=2^15, r=8, p=1, 32 MiB, by default). The associated data binds
the party id, the role and the public key, so a file whose public parts were
edited does not decrypt. Rotation keeps the retired keys, each still encrypted,
in ``<home>/retired/`` (a wallet may need them to read what it signed before).

Format (JSON)::

    {"format": "chainledger-wallet-key/1", "party": "p_...", "role": "holder",
     "public_key": "<b64>", "kdf": {"name": "scrypt", "salt": "<b64>", "n": 32768,
     "r": 8, "p": 1}, "nonce": "<b64 12 bytes>", "ciphertext": "<b64>"}
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from chainledger.crypto import party_id, public_key_bytes
from chainledger.encoding import b64decode, b64encode, canonical
from chainledger.errors import ChainledgerError, MalformedInput

__all__ = ["KEY_FORMAT", "Keystore", "StoredKey", "WrongPassphrase"]

KEY_FORMAT = "chainledger-wallet-key/1"
ROLES = ("holder", "counter", "issuer", "auditor")
Rand = Callable[[int], bytes]


class WrongPassphrase(ChainledgerError):
    """The passphrase does not open this key file (or the file was tampered with)."""

    code = "wrong_passphrase"


@dataclass(frozen=True, slots=True)
class StoredKey:
    """The public parts of a key file, readable without the passphrase."""

    party: str
    role: str
    public_key: bytes
    path: Path


def _aad(party: str, role: str, public_key: bytes) -> bytes:
    return canonical({"party": party, "role": role, "public_key": b64encode(public_key)})


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def seal(
    key: Ed25519PrivateKey,
    party: str,
    role: str,
    passphrase: str,
    rand: Rand,
    *,
    n: int = 2**15,
) -> dict[str, Any]:
    """The key file contents for ``key`` (of ``party`` in ``role``) under ``passphrase``."""
    if not passphrase:
        raise MalformedInput("passphrase", "must not be empty")
    salt, nonce = rand(16), rand(12)
    public = public_key_bytes(key)
    kek = _derive(passphrase, salt, n, 8, 1)
    ciphertext = AESGCM(kek).encrypt(nonce, key.private_bytes_raw(), _aad(party, role, public))
    return {
        "format": KEY_FORMAT,
        "party": party,
        "role": role,
        "public_key": b64encode(public),
        "kdf": {"name": "scrypt", "salt": b64encode(salt), "n": n, "r": 8, "p": 1},
        "nonce": b64encode(nonce),
        "ciphertext": b64encode(ciphertext),
    }


def _parse(data: Any, path: Path) -> tuple[StoredKey, dict[str, Any]]:
    what = f"key file {path.name}"
    if not isinstance(data, dict) or data.get("format") != KEY_FORMAT:
        raise MalformedInput(what, f"not a {KEY_FORMAT} file")
    kdf = data.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise MalformedInput(what, "unknown key derivation")
    try:
        party, role = str(data["party"]), str(data["role"])
        public = b64decode(data["public_key"], "public_key", 32)
        params: dict[str, Any] = {
            "salt": b64decode(kdf["salt"], "salt", 16),
            "n": int(kdf["n"]),
            "r": int(kdf["r"]),
            "p": int(kdf["p"]),
            "nonce": b64decode(data["nonce"], "nonce", 12),
            "ciphertext": b64decode(data["ciphertext"], "ciphertext"),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedInput(what, "missing or malformed member") from exc
    if role not in ROLES:
        raise MalformedInput(what, "unknown role")
    n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
    # Bounded, so a crafted file cannot make opening it take gigabytes or hours.
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 16 and 1 <= p <= 4):
        raise MalformedInput(what, "scrypt parameters out of range")
    return StoredKey(party, role, public, path), params


def open_sealed(data: Any, passphrase: str, path: Path) -> tuple[StoredKey, Ed25519PrivateKey]:
    """The key in key-file contents ``data``; raises `WrongPassphrase` or `MalformedInput`."""
    stored, p = _parse(data, path)
    kek = _derive(passphrase, p["salt"], p["n"], p["r"], p["p"])
    try:
        raw = AESGCM(kek).decrypt(
            p["nonce"], p["ciphertext"], _aad(stored.party, stored.role, stored.public_key)
        )
    except InvalidTag:
        raise WrongPassphrase(f"the passphrase does not open {path}") from None
    key = Ed25519PrivateKey.from_private_bytes(raw)
    if public_key_bytes(key) != stored.public_key:
        raise WrongPassphrase(f"{path} does not hold the key it names")
    return stored, key


def _write_new(path: Path, data: dict[str, Any]) -> None:
    """Create ``path`` with mode 0600, never overwriting."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


class Keystore:
    """The key of the wallet in ``home``."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.path = self.home / "key.json"

    def exists(self) -> bool:
        return self.path.exists()

    def create(
        self, role: str, passphrase: str, rand: Rand = os.urandom, *, n: int = 2**15
    ) -> tuple[StoredKey, Ed25519PrivateKey]:
        """A new key for a new party in ``role``; refuses to replace an existing key."""
        if role not in ROLES:
            raise MalformedInput("role", "must be holder, counter, issuer or auditor")
        if self.exists():
            raise MalformedInput("wallet", f"{self.path} already holds a key")
        key = Ed25519PrivateKey.from_private_bytes(rand(32))
        party = party_id(public_key_bytes(key))
        _write_new(self.path, seal(key, party, role, passphrase, rand, n=n))
        return self.info(), key

    def adopt(
        self, key: Ed25519PrivateKey, party: str, role: str, passphrase: str,
        rand: Rand = os.urandom, *, n: int = 2**15,
    ) -> StoredKey:  # fmt: skip
        """Keep an existing key (e.g. a demo party's) in this wallet, encrypted."""
        if role not in ROLES:
            raise MalformedInput("role", "must be holder, counter, issuer or auditor")
        if self.exists():
            raise MalformedInput("wallet", f"{self.path} already holds a key")
        _write_new(self.path, seal(key, party, role, passphrase, rand, n=n))
        return self.info()

    def info(self) -> StoredKey:
        """The party, role and public key (no passphrase needed)."""
        return _parse(self._read(self.path), self.path)[0]

    def unlock(self, passphrase: str) -> Ed25519PrivateKey:
        return open_sealed(self._read(self.path), passphrase, self.path)[1]

    def rotate(
        self, passphrase: str, rand: Rand = os.urandom, *, n: int = 2**15
    ) -> tuple[Ed25519PrivateKey, Ed25519PrivateKey]:
        """Replace the key with a new one (same party and role, same passphrase); the old
        file moves to ``retired/``. Returns (old key, new key): the caller has the old key
        sign the ``party.rotate`` statement. Call `undo_rotation` if the ledger refuses it."""
        stored, old = open_sealed(self._read(self.path), passphrase, self.path)
        new = Ed25519PrivateKey.from_private_bytes(rand(32))
        retired = self.home / "retired"
        retired.mkdir(exist_ok=True, mode=0o700)
        target = retired / f"key-{len(list(retired.glob('key-*.json'))) + 1}.json"
        os.replace(self.path, target)
        _write_new(self.path, seal(new, stored.party, stored.role, passphrase, rand, n=n))
        return old, new

    def undo_rotation(self) -> None:
        """Put back the most recently retired key (the ledger refused the rotation)."""
        retired = sorted(
            (self.home / "retired").glob("key-*.json"), key=lambda p: int(p.stem.split("-")[1])
        )
        if not retired:
            raise MalformedInput("wallet", "no retired key to restore")
        os.replace(retired[-1], self.path)

    @staticmethod
    def _read(path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MalformedInput("wallet", f"no key at {path} (run `wallet init`)") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MalformedInput(f"key file {path.name}", "not JSON") from None
