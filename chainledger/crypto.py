"""Hash suites, Ed25519 keys, party ids and key files.

The hash suite (SHA-256, or SM3 per GM/T 0004-2012 for deployments bound to the
national algorithms) is chosen at genesis and fixed for the ledger's life: it
hashes leaves and Merkle nodes. Identifiers that must be comparable across
ledgers (party ids, C2SP key IDs) always use SHA-256, as their specs say.

Randomness is never drawn here implicitly: callers pass a ``rand(n)`` so tests
are exact (cf. cryptography's ``Fernet.encrypt_at_time``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from chainledger.errors import BadSignature, MalformedInput

__all__ = [
    "SUITES",
    "HashSuite",
    "Rand",
    "derived_id",
    "generate_key",
    "is_small_order",
    "load_private_key",
    "party_id",
    "public_key_bytes",
    "public_key_from_bytes",
    "save_private_key",
    "sha256",
    "suite",
    "system_rand",
    "verify_signature",
]

#: ``rand(n)`` returns n unpredictable bytes; passed in so tests can be exact.
Rand = Callable[[int], bytes]


def system_rand(n: int) -> bytes:
    """The operating system's CSPRNG."""
    return os.urandom(n)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


@dataclass(frozen=True, slots=True)
class HashSuite:
    """A hash function for leaves and nodes. Both suites give 32-byte digests."""

    name: str
    hash: Callable[[bytes], bytes]
    size: int = 32

    # bytes | bytearray: a proof's hashes may be either, and compiled (chainledger.compiled) a
    # plain ``bytes`` parameter would refuse a bytearray.
    def leaf(self, data: bytes | bytearray) -> bytes:
        """RFC 9162 section 2.1.1: MTH({d0}) = HASH(0x00 || d0)."""
        return self.hash(b"\x00" + data)

    def node(self, left: bytes | bytearray, right: bytes | bytearray) -> bytes:
        """RFC 9162 section 2.1.1: HASH(0x01 || MTH(left) || MTH(right))."""
        return self.hash(b"\x01" + left + right)

    def empty(self) -> bytes:
        """RFC 9162 section 2.1.1: the hash of an empty list is HASH()."""
        return self.hash(b"")


SUITES: dict[str, HashSuite] = {
    "sha256": HashSuite("sha256", sha256),
    "sm3": HashSuite("sm3", _sm3),
}


def suite(name: str) -> HashSuite:
    """The hash suite called ``name``; `MalformedInput` for an unknown one."""
    try:
        return SUITES[name]
    except KeyError:
        raise MalformedInput("hash suite", f"unknown suite {name!r} (known: sha256, sm3)") from None


# --- Ed25519 ---------------------------------------------------------------------------------


def generate_key(rand: Rand) -> Ed25519PrivateKey:
    """A new Ed25519 key from 32 bytes of ``rand`` (RFC 8032 section 5.1.5 seed)."""
    return Ed25519PrivateKey.from_private_bytes(rand(32))


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key (RFC 8032 section 5.1.5 encoding)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# The y-coordinates (little-endian, sign bit cleared) of the points of small order,
# canonical and not (libsodium's has_small_order list). A key among them verifies a
# trivial signature on any message, so anyone could sign as its owner: refused.
_SMALL_ORDER = {
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    )
}


def is_small_order(data: bytes) -> bool:
    """Whether a 32-byte Ed25519 public key is a point of small order (a weak key)."""
    return len(data) == 32 and data[:31] + bytes([data[31] & 0x7F]) in _SMALL_ORDER


def public_key_from_bytes(data: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key; `MalformedInput` for a wrong length or a weak key."""
    if len(data) != 32:
        raise MalformedInput("public key", f"Ed25519 public keys are 32 bytes, not {len(data)}")
    if is_small_order(data):
        raise MalformedInput("public key", "a point of small order is not a usable key")
    try:
        return Ed25519PublicKey.from_public_bytes(data)
    except ValueError as exc:
        raise MalformedInput("public key", "not an Ed25519 public key") from exc


def verify_signature(
    public_key: bytes | Ed25519PublicKey, signature: bytes, message: bytes
) -> None:
    """Return None if ``signature`` is a valid Ed25519 signature, else raise `BadSignature`.

    Never returns a bool (cf. pyca/cryptography ``Ed25519PublicKey.verify``).
    """
    pub = public_key_from_bytes(public_key) if isinstance(public_key, bytes) else public_key
    try:
        pub.verify(signature, message)
    except InvalidSignature:
        raise BadSignature("signature does not verify") from None


# --- party ids -------------------------------------------------------------------------------


def party_id(public_key: bytes) -> str:
    """``p_`` + lowercase base32 of SHA-256(public key)[:10]: 16 characters, 80 bits.

    Derived from the key, so an id cannot be claimed without the key that made it.
    """
    digest = hashlib.sha256(public_key).digest()[:10]
    return "p_" + base64.b32encode(digest).decode("ascii").lower()


def derived_id(prefix: str, actor: str, nonce: str) -> str:
    """The id of an object created by a statement: ``<prefix>_`` + base32 of
    SHA-256(prefix || ":" || actor || ":" || nonce)[:10].

    Anyone holding the statement can compute it; since (actor, nonce) is unique on
    the ledger, so is the id.
    """
    digest = hashlib.sha256(f"{prefix}:{actor}:{nonce}".encode()).digest()[:10]
    return f"{prefix}_" + base64.b32encode(digest).decode("ascii").lower()


# --- key files -------------------------------------------------------------------------------


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM, created with mode 0600, never overwriting.

    The file is created with O_EXCL so an existing key is never clobbered.
    """
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a PKCS#8 PEM Ed25519 key written by `save_private_key`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MalformedInput("key file", f"{path} does not exist") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise MalformedInput("key file", f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise MalformedInput("key file", f"{path} does not hold an Ed25519 key")
    return key
