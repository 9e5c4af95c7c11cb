"""The projections contract: current state derived from the entries.

Everything here can be rebuilt by replaying the entries through the rules
(`verify` does exactly that and compares). Two stores sit beside it that are
*not* projections and are never on the ledger: the vault (encrypted field
values, erasable) and the identity bindings (keyed hashes of real-world ids).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "AccessFilter",
    "AccessRow",
    "AssetRow",
    "BindingStore",
    "GrantRow",
    "ProjectionReader",
    "ProjectionWriter",
    "VaultRecord",
    "VaultStore",
    "VaultWriter",
]


@dataclass(frozen=True, slots=True)
class AssetRow:
    id: str
    cls: str
    holder: str
    issuer: str
    status: str  # active | revoked | superseded | erased
    valid_from: str  # YYYY-MM-DD
    valid_until: str | None
    seq: int  # the asset.issue entry
    authorized_seq: int | None  # the first grant that covered it


@dataclass(frozen=True, slots=True)
class GrantRow:
    id: str
    holder: str
    grantee: str | None  # a counter; None: any counter of the scenario's type (QR grant)
    scenario: str
    purpose: str
    scope: dict[str, list[str]]  # class -> fields
    assets: list[str] | None  # None: any asset of the scope's classes
    not_before: str
    expires: str
    max_uses: int
    uses: int
    secret_hash: str | None
    status: str  # active | revoked
    seq: int


@dataclass(frozen=True, slots=True)
class AccessRow:
    """One counter request: a committed read or a recorded refusal."""

    seq: int
    ts: str
    counter: str
    holder: str | None
    asset: str | None
    cls: str | None
    issuer: str | None
    grant: str | None
    purpose: str | None
    outcome: str  # read | denied
    reason: str | None


@dataclass(frozen=True, slots=True)
class AccessFilter:
    """Trace query: every given field must match; ``since``/``until`` bound ``ts``."""

    holder: str | None = None
    asset: str | None = None
    counter: str | None = None
    issuer: str | None = None
    purpose: str | None = None
    outcome: str | None = None
    since: str | None = None
    until: str | None = None
    after_seq: int = -1
    limit: int = 200  # one page; page on with after_seq


@dataclass(frozen=True, slots=True)
class VaultRecord:
    """An asset's encrypted disclosures: AES-256-GCM under a data key wrapped by the KEK."""

    asset: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


class ProjectionReader(Protocol):
    def catalog_class(self, class_id: str) -> dict[str, Any] | None: ...

    def catalog_classes(self) -> list[dict[str, Any]]: ...

    def scenario(self, scenario_id: str) -> dict[str, Any] | None: ...

    def scenarios(self) -> list[dict[str, Any]]: ...

    def asset(self, asset_id: str) -> AssetRow | None: ...

    def assets_of(self, holder: str) -> list[AssetRow]: ...

    def inactive_assets(self) -> dict[str, str]:
        """Every asset no longer active (revoked, superseded, erased): id -> status."""
        ...

    def grant(self, grant_id: str) -> GrantRow | None: ...

    def grants_of(self, holder: str) -> list[GrantRow]: ...

    def access(self, flt: AccessFilter) -> list[AccessRow]:
        """Access rows matching ``flt`` in seq order (at most ``flt.limit``)."""
        ...

    def counts(self) -> dict[str, Any]:
        """Statistics: totals, and reads and refusals per class and per counter."""
        ...


class ProjectionWriter(ProjectionReader, Protocol):
    def put_class(self, class_id: str, definition: dict[str, Any], seq: int) -> None: ...

    def put_scenario(self, scenario_id: str, definition: dict[str, Any], seq: int) -> None: ...

    def put_asset(self, row: AssetRow) -> None: ...

    def put_grant(self, row: GrantRow) -> None: ...

    def grant_used(self, grant_id: str, uses: int) -> None:
        """Record a grant's new use count (the hot path of every read)."""
        ...

    def add_access(self, row: AccessRow) -> None: ...


class VaultStore(Protocol):
    """Encrypted values, outside the ledger: written with the issue, destroyed by erasure."""

    def vault_get(self, asset_id: str) -> VaultRecord | None: ...


class VaultWriter(VaultStore, Protocol):
    def vault_put(self, record: VaultRecord) -> None: ...

    def vault_destroy(self, asset_id: str) -> None:
        """Crypto-shredding: remove the wrapped key and the ciphertext."""
        ...


class BindingStore(Protocol):
    """Keyed hashes (HMAC) of real-world identifiers -> holder party ids, off the ledger."""

    def binding(self, keyed_hash: bytes) -> str | None: ...

    def bind(self, keyed_hash: bytes, party_id: str) -> None: ...
