"""The vault: field values encrypted per asset, destroyed on erasure.

Each asset's disclosures (field values and their salts) are encrypted with
AES-256-GCM under a fresh 256-bit data key (NIST SP 800-38D); the data key is
wrapped with the key-encryption key by AES Key Wrap (RFC 3394). The KEK lives
in the platform's secrets file beside the database, never inside it. The
associated data binds the ciphertext to its asset id, so a record moved to
another asset does not decrypt. Erasure deletes the wrapped key and the
ciphertext (crypto-shredding): the values are gone, the ledger (which holds
only salted digests) still verifies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from chainledger.crypto import Rand
from chainledger.encoding import b64decode, b64encode, canonical, parse_json_object
from chainledger.errors import MalformedInput, VerificationError
from chainledger.store.projections import VaultRecord

__all__ = ["Secrets", "Vault", "VaultTampered"]

_AAD = b"chainledger vault v1\n"


class VaultTampered(VerificationError):
    """A vault record does not decrypt: wrong key, or tampered or moved ciphertext."""

    code = "vault_tampered"


@dataclass(frozen=True, slots=True)
class Secrets:
    """The platform's off-database secrets: the vault KEK and the identity-binding key."""

    kek: bytes
    binding_key: bytes

    @classmethod
    def create(cls, path: Path, rand: Rand) -> Secrets:
        """Generate and write new secrets (mode 0600, never overwriting)."""
        secrets = cls(rand(32), rand(32))
        data = canonical(
            {"kek": b64encode(secrets.kek), "binding_key": b64encode(secrets.binding_key)}
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data + b"\n")
            f.flush()
            os.fsync(f.fileno())
        return secrets

    @classmethod
    def load(cls, path: Path) -> Secrets:
        try:
            obj = parse_json_object(path.read_bytes(), "secrets file")
        except FileNotFoundError:
            raise MalformedInput("secrets file", f"{path} does not exist") from None
        try:
            return cls(b64decode(obj["kek"], "kek", 32), b64decode(obj["binding_key"], "key", 32))
        except KeyError:
            raise MalformedInput("secrets file", "needs kek and binding_key") from None

    @classmethod
    def load_or_create(cls, path: Path, rand: Rand) -> Secrets:
        return cls.load(path) if path.exists() else cls.create(path, rand)


class Vault:
    """Seals and opens disclosures with a KEK."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("the KEK is a 256-bit AES key")
        self._kek = kek

    def seal(self, asset_id: str, disclosures: dict[str, Any], rand: Rand) -> VaultRecord:
        """Encrypt ``disclosures`` (field -> [salt, value]) for ``asset_id``."""
        dek, nonce = rand(32), rand(12)
        ct = AESGCM(dek).encrypt(nonce, canonical(disclosures), _AAD + asset_id.encode())
        return VaultRecord(asset_id, aes_key_wrap(self._kek, dek), nonce, ct)

    def open(self, record: VaultRecord) -> dict[str, Any]:
        """Decrypt a record; `VaultTampered` if it does not authenticate."""
        try:
            dek = aes_key_unwrap(self._kek, record.wrapped_key)
            plain = AESGCM(dek).decrypt(
                record.nonce, record.ciphertext, _AAD + record.asset.encode()
            )
        except (InvalidUnwrap, InvalidTag, ValueError):
            raise VaultTampered(f"vault record of {record.asset} does not decrypt") from None
        # Authenticated, so our own canonical JSON: orjson reads it as json would.
        return dict(orjson.loads(plain))
