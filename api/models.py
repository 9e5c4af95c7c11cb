"""Request and response bodies, as pydantic models: what the OpenAPI document shows.

The wire formats are DESIGN.md's: signed statements ``{"stmt", "sig"}``, receipts,
and the proof JSON of the log. Handlers build the bodies from chainledger objects
(their ``to_json``), so the models describe, and the response validation checks,
exactly what chainledger produces.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HEX32 = r"^[0-9a-f]{64}$"


class Problem(BaseModel):
    """RFC 9457 problem details with a stable machine-readable ``code``."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable error code; clients switch on it.")
    reason: str | None = Field(None, description="For refusals: the recorded reason code.")
    receipt: ReceiptModel | None = Field(
        None, description="For recorded refusals: the receipt of the refusal's own entry."
    )


class SignedStatementIn(BaseModel):
    """A statement signed by its actor: ``sig`` is Ed25519 over the RFC 8785 bytes of ``stmt``."""

    model_config = ConfigDict(extra="forbid")
    stmt: dict[str, Any] = Field(
        description="The statement: kind, actor, ts, nonce and the kind's fields."
    )
    sig: str = Field(description="Base64 Ed25519 signature (64 bytes).", max_length=200)


class InclusionProofModel(BaseModel):
    leaf_index: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    hashes: list[str] = Field(description="Base64 node hashes (SHA-256 or SM3), leaf to root.")


class ConsistencyProofModel(BaseModel):
    first: int = Field(ge=0)
    second: int = Field(ge=0)
    hashes: list[str]


class ReceiptModel(BaseModel):
    """Proof that an entry is in the log: check it against a checkpoint you verified."""

    seq: int = Field(ge=0)
    leaf_hash: str = Field(pattern=HEX32)
    entry: str = Field(description="The entry's canonical JSON (the Merkle leaf data).")
    checkpoint: str = Field(description="C2SP signed note of the tree the proof is for.")
    inclusion: InclusionProofModel


class IssueIn(BaseModel):
    """An issuer's ``asset.issue`` statement and the values behind its digests."""

    model_config = ConfigDict(extra="forbid")
    statement: SignedStatementIn
    disclosures: dict[str, list[Any]] = Field(
        description="field -> [salt (base64, 16 bytes), value]; sealed in the vault, "
        "never written to the ledger."
    )


class AssetModel(BaseModel):
    id: str
    cls: str = Field(description="Asset class.")
    holder: str
    issuer: str
    status: Literal["active", "revoked", "superseded", "erased"]
    valid_from: str
    valid_until: str | None
    seq: int = Field(description="Seq of the asset.issue entry.")
    authorized_seq: int | None


class ReadOut(BaseModel):
    """An admitted read: committed first, then exactly the requested fields released."""

    receipt: ReceiptModel
    asset: AssetModel
    issue_entry: str = Field(description="The issuer-signed asset.issue entry (canonical JSON).")
    issue_proof: InclusionProofModel | None = Field(
        description="Inclusion of the issue entry in the receipt's tree."
    )
    disclosures: dict[str, list[Any]] = Field(description="field -> [salt, value].")


class AccessRowModel(BaseModel):
    seq: int
    ts: str
    counter: str
    holder: str | None
    asset: str | None
    cls: str | None
    issuer: str | None
    grant: str | None
    purpose: str | None
    outcome: Literal["read", "denied"]
    reason: str | None


class AccessPage(BaseModel):
    rows: list[AccessRowModel]
    next_after_seq: int | None = Field(
        description="Pass as after_seq for the next page; null on the last page."
    )


class AnomalyModel(BaseModel):
    rule: str
    counter: str
    seq: int = Field(description="The entry that triggered it.")
    ts: str
    detail: str


class AuditOut(BaseModel):
    receipt: ReceiptModel = Field(description="The audit.query entry recording this query.")
    view: Literal["trace", "anomalies", "report"]
    rows: list[AccessRowModel] | None = None
    anomalies: list[AnomalyModel] | None = None
    report: str | None = Field(None, description="The report text (csv, json or html).")


class GrantModel(BaseModel):
    id: str
    holder: str
    grantee: str | None
    scenario: str
    purpose: str
    scope: dict[str, list[str]]
    assets: list[str] | None
    not_before: str
    expires: str
    max_uses: int
    uses: int
    secret_hash: str | None
    status: Literal["active", "revoked"]
    seq: int


class Revocations(BaseModel):
    """A counter's offline cache of asset status: what is no longer active, as of when."""

    checkpoint: str = Field(description="The signed checkpoint this list is as of.")
    assets: dict[str, Literal["revoked", "superseded", "erased"]] = Field(
        description="asset id -> status, for every asset that is not active."
    )


class PartyKey(BaseModel):
    seq: int = Field(description="Seq of the entry that gave the key (register, rotate...).")
    public_key: str = Field(description="Base64 raw Ed25519 public key.")
    entry: str = Field(description="That entry's canonical bytes, to prove with a proof.")


class PartyModel(BaseModel):
    id: str
    role: Literal["platform", "issuer", "holder", "counter", "auditor"]
    name: str = Field(description="Display name (empty for holders: never published).")
    public_key: str = Field(description="Base64 raw Ed25519 public key.")
    status: str
    since_seq: int
    attrs: dict[str, Any]
    keys: list[PartyKey] = Field(
        description="Every key the party has had, oldest first: a signature is checked "
        "against the key in force at its entry's seq."
    )


class RegisterIn(BaseModel):
    """A party's registration, submitted by the platform operator (platform-signed request)."""

    model_config = ConfigDict(extra="forbid")
    public_key: str = Field(description="Base64 raw Ed25519 public key (32 bytes).")
    role: Literal["issuer", "holder", "counter", "auditor"]
    name: str = Field(max_length=200)
    attrs: dict[str, Any] = Field(default_factory=dict)
    pop: str = Field(description="Proof of possession: the key's signature of its id and role.")
    real_id: str | None = Field(
        None,
        max_length=64,
        description="Holders only: the identifier checked at registration, bound by keyed "
        "hash off the ledger and never stored.",
    )


class SuspendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")


class EntriesOut(BaseModel):
    entries: list[str] = Field(description="Canonical entry JSON, one per seq from `start`.")
    start: int
    size: int = Field(description="The log size when read.")


class Health(BaseModel):
    status: Literal["ok"]
    size: int


class Stats(BaseModel):
    model_config = ConfigDict(extra="allow")
    classes: int
    personal_classes: int
    enterprise_classes: int
    assets: int
    authorized_assets: int
    grants: int
    reads: int
    refusals: int


Problem.model_rebuild()


class CosignatureIn(BaseModel):
    """A witness's C2SP cosignature line of one stored checkpoint (tlog-cosignature, 0x04)."""

    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=1, le=2**63 - 1, description="The cosigned checkpoint's tree size.")
    line: str = Field(
        min_length=1,
        max_length=1000,
        description="The signature line `— <party id> base64(key ID || timestamp || "
        "signature)`, over `cosignature/v1\\ntime <t>\\n` + the checkpoint body.",
    )


class CosignatureOut(BaseModel):
    size: int = Field(ge=1)
    witness: str = Field(description="The auditor's party id: the cosignature's key name.")
    cosignatures: int = Field(ge=1, description="Cosignatures now stored for this size.")
