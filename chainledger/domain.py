"""The certificate-free domain as one library API: what the CLI, the demo and the
HTTP layer call.

`domain_rules` assembles every statement kind. `Domain` wraps a `Ledger` with
the platform's off-database secrets (the vault's key-encryption key and the
identity-binding key, in ``<db>.secrets``, mode 0600) and offers each
operation as one call that either appends exactly one entry (or one recorded
refusal) and returns its receipt, or raises and changes nothing.

Values never travel through the ledger: an issue's values are checked against
the class's schema and the signed digests, sealed into the vault and written
in the same transaction as the entry; a read releases them only after the
read's entry is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainledger import access, assets, audit, catalog, denials, grants, parties, sheets
from chainledger.assets import asset_id, check_values, digests_of
from chainledger.clock import Clock, system_clock
from chainledger.crypto import Rand, system_rand
from chainledger.encoding import b64decode, b64encode
from chainledger.entry import decode_entry
from chainledger.errors import MalformedInput, NotFound, Replay, SchemaError
from chainledger.ledger import DEFAULT_ORIGIN, Ledger
from chainledger.location import Location, secrets_path
from chainledger.parties import Registration, binding_hash, register_fields
from chainledger.proofs import InclusionProof
from chainledger.receipt import Receipt
from chainledger.rules import Refused, Rules, core_rules
from chainledger.statement import SignedStatement
from chainledger.store.base import StateReader
from chainledger.store.projections import AccessFilter, AccessRow, AssetRow
from chainledger.vault import Secrets, Vault

__all__ = ["CrossVerification", "Domain", "ReadResult", "domain_rules", "secrets_path"]

#: How long a query may wait for the read replica to catch up before the primary answers.
REPLICA_WAIT = 0.5


def domain_rules() -> Rules:
    """Every statement kind of the certificate-free ledger."""
    return (
        core_rules()
        .with_kinds(
            [
                *parties.kinds(),
                *catalog.kinds(),
                *assets.kinds(),
                *grants.kinds(),
                *access.kinds(),
                *sheets.kinds(),
                *audit.kinds(),
                *denials.kinds(),
            ]
        )
        .recording(denials.record_refusal)
    )


def _check_kind(statement: SignedStatement, kind: str) -> None:
    if statement.kind != kind:
        raise SchemaError("kind", f"must be {kind}")


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What a counter receives for an admitted read, all of it checkable.

    ``receipt``: the read's own entry, committed before anything was released.
    ``issue_entry`` and ``issue_proof``: the issuer-signed ``asset.issue`` entry
    and its inclusion proof in the receipt's tree, so the counter can check the
    disclosures against the signed digests without trusting the platform.
    """

    receipt: Receipt
    asset: AssetRow
    issue_entry: bytes
    issue_proof: InclusionProof | None
    disclosures: dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class CrossVerification:
    """A signed sheet, its receipt, and what each listed read gave (values or refusal)."""

    receipt: Receipt
    sheet: SignedStatement
    results: list[ReadResult | Refused]


class Domain:
    """The certificate-free ledger of one database."""

    def __init__(self, ledger: Ledger, secrets: Secrets) -> None:
        self.ledger = ledger
        self.secrets = secrets
        self.vault = Vault(secrets.kek)

    @classmethod
    def init(
        cls,
        db: Location | Path | str,
        *,
        origin: str = DEFAULT_ORIGIN,
        suite_name: str = "sha256",
        clock: Clock = system_clock,
        rand: Rand = system_rand,
        **kwargs: Any,
    ) -> Domain:
        where = Location.of(db)
        ledger = Ledger.init(
            where, origin=origin, suite_name=suite_name, clock=clock, rand=rand,
            rules=domain_rules(), **kwargs,
        )  # fmt: skip
        return cls(ledger, Secrets.load_or_create(where.secrets_path, rand))

    @classmethod
    def open(
        cls,
        db: Location | Path | str,
        *,
        clock: Clock = system_clock,
        rand: Rand = system_rand,
        own_process: bool = False,
        **kwargs: Any,
    ) -> Domain:
        """``own_process``: the sequencer in a child process (`Ledger.open`)."""
        where = Location.of(db)
        ledger = Ledger.open(
            where, clock=clock, rand=rand, rules=domain_rules(),
            own_process=domain_rules if own_process else None, **kwargs,
        )  # fmt: skip
        try:
            secrets = Secrets.load_or_create(where.secrets_path, rand)
        except BaseException:
            ledger.close()
            raise
        return cls(ledger, secrets)

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Domain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def store(self) -> Any:
        return self.ledger.store

    def _platform(self, kind: str, attachment: Any = None, **fields: Any) -> Receipt:
        return self.ledger.append(self.ledger.platform_statement(kind, **fields), attachment)

    # --- catalog ------------------------------------------------------------------------------

    def publish_catalog(
        self, classes: list[dict[str, Any]], scenarios: list[dict[str, Any]]
    ) -> list[Receipt]:
        """Publish class and scenario definitions (classes first: scenarios refer to them).

        Definitions already published unchanged are skipped.
        """
        futures: list[Future[Receipt]] = []
        for d in classes:
            if self.store.catalog_class(d["class"]) != d:
                stmt = self.ledger.platform_statement("catalog.class", definition=d)
                futures.append(self.ledger.submit(stmt))
        receipts = [f.result() for f in futures]
        futures = []
        for d in scenarios:
            if self.store.scenario(d["scenario"]) != d:
                stmt = self.ledger.platform_statement("catalog.scenario", definition=d)
                futures.append(self.ledger.submit(stmt))
        return receipts + [f.result() for f in futures]

    # --- parties ------------------------------------------------------------------------------

    def register(
        self,
        public_key: bytes,
        role: str,
        *,
        name: str,
        attrs: dict[str, Any],
        pop: str,
        real_id: str | None = None,
    ) -> Receipt:
        """Register a party (platform-signed). For a holder, ``real_id`` (e.g. the resident
        id number checked at the counter) is bound to it by keyed hash, off the ledger."""
        if role == "holder" and real_id is None:
            raise SchemaError("real_id", "a holder is registered after an identity check")
        keyed = binding_hash(self.secrets.binding_key, real_id) if real_id is not None else None
        fields = register_fields(public_key, role, name, attrs, pop)
        return self._platform("party.register", Registration(keyed), **fields)

    def holder_for(self, real_id: str) -> str:
        """The holder party bound to a real-world id (for issuers addressing a wallet)."""
        party = self.store.binding(binding_hash(self.secrets.binding_key, real_id))
        if party is None:
            raise NotFound("no wallet is bound to this identity")
        return str(party)

    def suspend(self, party: str, reason: str) -> Receipt:
        return self._platform("party.suspend", party=party, reason=reason)

    def reinstate(self, party: str, public_key: bytes, pop: str) -> Receipt:
        return self._platform("party.reinstate", party=party, key=b64encode(public_key), pop=pop)

    # --- statements signed by others ------------------------------------------------------------

    def submit(self, statement: SignedStatement) -> Future[Receipt]:
        """Any statement that needs no side data (grants, revocations, rotations, sheets...)."""
        if statement.kind in ("asset.issue", "access.read", "asset.disclose", "audit.query"):
            raise SchemaError("kind", f"{statement.kind} goes through its own operation")
        return self.ledger.submit(statement)

    def append(self, statement: SignedStatement) -> Receipt:
        return self.submit(statement).result()

    def issue(self, statement: SignedStatement, disclosures: Mapping[str, list[Any]]) -> Receipt:
        return self.submit_issue(statement, disclosures).result()

    def submit_issue(
        self, statement: SignedStatement, disclosures: Mapping[str, list[Any]]
    ) -> Future[Receipt]:
        """An issuer's ``asset.issue`` with its disclosures ``{field: [salt_b64, value]}``.

        The values are checked against the class schema and against the signed
        digests here; sealed into the vault; and written in the entry's transaction.
        """
        if statement.kind != "asset.issue":
            raise SchemaError("kind", "must be asset.issue")
        cls = self.store.catalog_class(statement.stmt.get("class"))
        if cls is None:
            raise SchemaError("class", "no such asset class")
        if not isinstance(disclosures, Mapping) or not all(
            isinstance(v, list) and len(v) == 2 and isinstance(v[0], str)
            for v in disclosures.values()
        ):
            raise SchemaError("disclosures", "must map fields to [salt, value]")
        try:
            for salt, _ in disclosures.values():
                b64decode(salt, "salt", assets.SALT_BYTES)
        except MalformedInput:
            raise SchemaError("disclosures", "salts must be 16 bytes of base64") from None
        check_values(cls, {k: v[1] for k, v in disclosures.items()}, self.ledger.clock().date())
        if digests_of(self.ledger.suite, disclosures) != statement.stmt.get("digests"):
            raise SchemaError("digests", "do not match the disclosed values")
        aid = asset_id(statement.actor, statement.nonce)
        record = self.vault.seal(aid, dict(disclosures), self.ledger.rand)
        return self.ledger.submit(statement, record)

    def erase(self, statement: SignedStatement) -> Receipt:
        if statement.kind != "asset.erase":
            raise SchemaError("kind", "must be asset.erase")
        return self.ledger.append(statement)

    def lawful_erasure(self, asset: str) -> Receipt:
        return self._platform("asset.erase", asset=asset, basis="lawful_request")

    # --- reads --------------------------------------------------------------------------------

    def submit_read(self, statement: SignedStatement) -> Future[Receipt]:
        return self._submit_releasing(statement, "access.read")

    def _submit_releasing(self, statement: SignedStatement, kind: str) -> Future[Receipt]:
        """Sequence a statement after whose commit values are released (a counter's read,
        a holder's own disclosure)."""
        _check_kind(statement, kind)
        return self.ledger.submit(statement)

    async def _commit_releasing(self, statement: SignedStatement, kind: str) -> Receipt:
        """`_submit_releasing` for an asyncio caller, awaited (`Ledger.submit_async`)."""
        _check_kind(statement, kind)
        return await self.ledger.submit_async(statement)

    async def disclose_async(self, statement: SignedStatement) -> ReadResult:
        """A holder's ``asset.disclose``: committed first, then the values and salts of
        exactly the asked fields of its own asset, with the issue entry and its proof (what
        an offline presentation bundle carries). Refusals raise `Refused`."""
        receipt = await self._commit_releasing(statement, "asset.disclose")
        return self._values(statement, receipt)

    def read(self, statement: SignedStatement) -> ReadResult:
        """A counter's read: committed first, then the values of exactly the requested
        fields are released. A refusal raises `chainledger.rules.Refused` carrying the
        receipt of its own ledger entry."""
        return self._values(statement, self.submit_read(statement).result())

    async def read_async(self, statement: SignedStatement) -> ReadResult:
        """`read` for an asyncio caller: the commit is awaited without holding a thread."""
        receipt = await self._commit_releasing(statement, "access.read")
        return self._values(statement, receipt)

    def release(
        self, statement: SignedStatement, receipt: Receipt, *, with_proof: bool = True
    ) -> ReadResult:
        """The values of a read whose entry ``receipt`` proves committed, for a receipt
        handed back by a caller: it must be this request's own committed read.

        ``with_proof`` adds the issue entry's inclusion proof in the receipt's tree
        (a counter can also fetch it later from the public proof endpoint).
        """
        entry = decode_entry(receipt.entry)
        if entry.kind != "access.read" or entry.statement.body != statement.body:
            raise NotFound("the receipt is not this request's committed read")
        if self.store.entry(receipt.seq) != receipt.entry:
            raise NotFound("no such committed read")
        return self._values(statement, receipt, with_proof=with_proof)

    def _values(
        self, statement: SignedStatement, receipt: Receipt, *, with_proof: bool = True
    ) -> ReadResult:
        """The values of ``statement``, whose committed read ``receipt`` the sequencer has
        just handed back for it (so it needs no re-checking)."""
        # One statement reads the asset and its record together (a consistent view);
        # the issue entry and the proof's range hashes are committed, hence immutable,
        # and come from memory when this process has read them before.
        found = self.store.asset_with_vault(statement.stmt["asset"])
        if found is None or found[1] is None:
            raise NotFound("the asset's values are gone (erased after the read)")
        asset, record = found
        issue_entry = self.ledger.committed_entry(asset.seq)
        assert issue_entry is not None
        proof = (
            self.ledger.committed_inclusion_proof(
                asset.seq, receipt.inclusion.tree_size, along=receipt
            )
            if with_proof
            else None
        )
        values = self.vault.open(record)
        fields = statement.stmt["fields"]
        return ReadResult(
            receipt, asset, issue_entry, proof, {n: values[n] for n in fields if n in values}
        )

    def cross_verify(
        self,
        reads: list[SignedStatement],
        sign_sheet: Callable[[dict[str, Any]], SignedStatement],
        application: str,
    ) -> CrossVerification:
        """A cross-verification sheet (证明核查表) for one application needing several assets.

        Each of the counter's ``reads`` is sequenced (a read, or a recorded refusal); then
        the counter signs, through ``sign_sheet`` (its key stays with the caller), a
        ``sheet.issue`` listing every request's seq, leaf hash, asset and outcome, and the
        sheet is appended too. Returns the sheet's receipt and each read's result.
        """
        futures = [self.submit_read(r) for r in reads]
        results: list[ReadResult | Refused] = []
        items = []
        for stmt, fut in zip(reads, futures, strict=True):
            try:
                receipt = fut.result()
                result: ReadResult | Refused = self._values(stmt, receipt)
            except Refused as refused:
                if refused.receipt is None:  # not recorded: the request was never admitted
                    raise
                receipt, result = refused.receipt, refused
            results.append(result)
            entry = decode_entry(receipt.entry)
            asset = (
                stmt.stmt.get("asset")
                if isinstance(result, ReadResult)
                else (entry.statement.stmt.get("asset"))
            )
            items.append(
                {
                    "seq": receipt.seq,
                    "leaf": receipt.leaf_hash.hex(),
                    "asset": asset,
                    "outcome": "read" if isinstance(result, ReadResult) else "denied",
                }
            )
        sheet = sign_sheet(sheets.sheet_fields(application, items))
        return CrossVerification(self.ledger.append(sheet), sheet, results)

    # --- audit --------------------------------------------------------------------------------

    def trace(
        self, statement: SignedStatement, limit: int = 1000
    ) -> tuple[Receipt, list[AccessRow]]:
        """An auditor's trace query: recorded as an entry first, then answered."""
        if statement.kind != "audit.query":
            raise SchemaError("kind", "must be audit.query")
        flt = audit.filter_from_query(statement.stmt.get("query"), limit)
        receipt = self.ledger.append(statement)
        return receipt, self._after(receipt).access(flt)

    def audit(
        self, statement: SignedStatement, fmt: str = "json", limit: int = 1000
    ) -> tuple[Receipt, Any]:
        """Any auditor view (``query.view``: trace, anomalies or report), recorded first.

        Returns the receipt of the ``audit.query`` entry and the answer: access rows,
        anomalies, or the report text in ``fmt`` (csv, json, html).
        """
        if statement.kind != "audit.query":
            raise SchemaError("kind", "must be audit.query")
        query = statement.stmt.get("query")
        flt = audit.filter_from_query(query, limit)
        view = query.get("view", "trace") if isinstance(query, dict) else "trace"
        if view == "report" and fmt not in ("csv", "json", "html"):
            raise SchemaError("format", "must be csv, json or html")
        receipt = self.ledger.append(statement)
        store = self._after(receipt)
        if view == "anomalies":
            return receipt, audit.anomalies(store, flt)
        if view == "report":
            return receipt, audit.report(store, fmt, flt)
        return receipt, store.access(flt)

    def history(self, holder: str, after_seq: int = -1, limit: int = 1000) -> list[AccessRow]:
        """Every read and refused read of a holder's data (the holder's own view)."""
        store = self.ledger.reader(None, REPLICA_WAIT)
        return list(store.access(AccessFilter(holder=holder, after_seq=after_seq, limit=limit)))

    def record_denied(self, actor: str, what: str, request: bytes, reason: str) -> Receipt | None:
        """Record a refused request of a known ``actor`` that is not a statement (an RFC 9421
        signed HTTP request replayed, out of its time window, by a suspended key, or asking
        beyond the actor's role: see `chainledger.denials`): ``what`` names the route
        template, ``request`` (hashed, never stored) identifies the attempt. The caller
        must have authenticated ``actor`` (the ledger refuses an unregistered one).

        Returns the record's receipt; when this request was already recorded as refused for
        this ``reason``, that first record's (the record's nonce is derived from its fields:
        the ledger keeps one record per request and reason, so a captured request replayed
        again and again adds one entry in all)."""
        fields = denials.denied_fields(actor, what, request, reason)
        nonce = denials.refusal_nonce(denials.KIND, fields)
        try:
            return self.ledger.append(
                self.ledger.platform_statement(denials.KIND, nonce=nonce, **fields)
            )
        except Replay:
            # The only way this record is a replay: the same one is on the ledger already.
            return self.ledger.nonce_receipt(self.ledger.platform_id, nonce)

    def stats(self) -> dict[str, Any]:
        return dict(self.ledger.reader(None, REPLICA_WAIT).counts())

    def _after(self, receipt: Receipt) -> StateReader:
        """Where to answer a query recorded as ``receipt``: a store that already holds the
        query's own entry (so the answer covers everything before it), preferring the read
        replica (`Ledger.reader`)."""
        return self.ledger.reader(receipt.seq + 1, REPLICA_WAIT)

    def issue_entry_digests(self, issue_entry: bytes) -> dict[str, str]:
        """The signed digests inside an ``asset.issue`` entry."""
        entry = decode_entry(issue_entry)
        if entry.kind != "asset.issue":
            raise SchemaError("entry", "is not an asset.issue entry")
        return dict(entry.statement.stmt["digests"])
