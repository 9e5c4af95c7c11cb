"""Talking to a chainledger server without trusting it.

Every answer that matters is checked here, against what this wallet already knows:

* the log's verifier key is pinned on first contact (or given), and every
  checkpoint must carry its signature;
* the last checkpoint this wallet verified is remembered (`TrustStore`); a new one
  must be at least as large and provably consistent with it (RFC 9162 consistency
  proof), so a rolled-back or forked (split-view) ledger is detected, and named as
  the attack it is;
* a receipt must verify (leaf hash, inclusion proof, signed checkpoint) and its
  tree must be consistent with the newest checkpoint this wallet holds;
* a counter's read must come with disclosures matching the issuer-signed digests,
  an issue entry signed by the issuer's key and included in the same tree.

Failures of these checks raise `AttackDetected` (a `VerificationError`): the
server, or someone between, is lying. Transport failures raise
`ServerUnreachable`; a refusal the server states raises `ServerRefused`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from chainledger.assets import DisclosureMismatch, verify_disclosures
from chainledger.checkpoint import Checkpoint, open_checkpoint
from chainledger.crypto import SUITES, HashSuite, verify_signature
from chainledger.encoding import text_is_unicode
from chainledger.entry import Entry, decode_entry
from chainledger.errors import ChainledgerError, MalformedInput, SchemaError, VerificationError
from chainledger.note import Verifier, parse_verifier_key
from chainledger.proofs import ConsistencyProof, InclusionProof
from chainledger.receipt import Receipt
from wallet.httpsig import RequestSigner
from wallet.keys import KeyCache, KeyHistory, parse_key_history

__all__ = [
    "AttackDetected",
    "LedgerClient",
    "ServerRefused",
    "ServerUnreachable",
    "TrustStore",
    "VerifiedRead",
]


class AttackDetected(VerificationError):
    """The server's answer does not verify: evidence of tampering, not a glitch."""

    code = "attack_detected"


class ServerUnreachable(ChainledgerError):
    code = "unreachable"


class ServerRefused(ChainledgerError):
    """The server answered with a problem (RFC 9457); ``problem`` is its body."""

    code = "refused"

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        reason = problem.get("reason")
        detail = str(problem.get("detail", "")).splitlines()[0][:200] if problem else ""
        super().__init__(
            f"{status} {problem.get('code', 'error')}"
            + (f" ({reason})" if reason else "")
            + (f": {detail}" if detail else "")
        )
        self.status = status
        self.problem = dict(problem)
        self.reason = reason
        #: True once the client verified the receipt of the refusal's own entry.
        self.verified = False

    @property
    def receipt(self) -> Any:
        """The receipt of the refusal's own ledger entry, when it was recorded."""
        return self.problem.get("receipt")


class TrustStore:
    """What this wallet believes about the log: the pinned verifier key and the last
    checkpoint it verified (``<home>/trust.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MalformedInput("trust file", f"{self.path} is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedInput("trust file", f"{self.path} is not a JSON object")
        return data

    def save(self, data: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(dict(data), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: never a half-written trust file


@dataclass(frozen=True, slots=True)
class VerifiedRead:
    """A read whose every part verified: the values, the asset's issue entry, the receipt."""

    values: dict[str, Any]
    disclosures: dict[str, list[Any]]
    asset: dict[str, Any]
    issue: Entry
    read: Entry
    receipt: Receipt
    checkpoint: Checkpoint


class LedgerClient:
    """A verifying client of one server. ``vkey`` pins the log's key (else trust on first
    use, remembered in ``trust``)."""

    def __init__(
        self,
        server: str,
        trust: TrustStore,
        *,
        vkey: str | None = None,
        http: httpx.Client | None = None,
        suite: HashSuite = SUITES["sha256"],
        timeout: float = 30.0,
        key_cache: KeyCache | None = None,
    ) -> None:
        if vkey is not None:
            parse_verifier_key(vkey)  # a malformed key is a mistake, not an attack
        state = trust.load()
        pinned = state.get("vkey")
        if vkey is not None and pinned is not None and vkey != pinned:
            raise AttackDetected("the given verifier key is not the one this wallet pinned")
        self._vkey: str | None = vkey or pinned
        self.server = server.rstrip("/")
        self.trust = trust
        self.http = http or httpx.Client(base_url=self.server, timeout=timeout)
        self.suite = suite
        self.key_cache = key_cache
        #: Key histories verified by this client: party -> (checkpoint size, history).
        self._keys: dict[str, tuple[int, KeyHistory]] = {}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            r = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"cannot reach {self.server}: {type(exc).__name__}") from None
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:
                problem = {"code": "error", "detail": r.reason_phrase}
            raise ServerRefused(r.status_code, problem if isinstance(problem, dict) else {})
        return r

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self._call(method, path, **kwargs)
        try:
            value = r.json()
        except (ValueError, RecursionError):
            raise AttackDetected(f"{path} answered something that is not JSON") from None
        # Only a \u escape can spell a lone surrogate in UTF-8 text: most answers skip the walk.
        if "\\u" in r.text and not text_is_unicode(value):
            raise AttackDetected(f"{path} answered text that is not Unicode (a lone surrogate)")
        return value

    # --- the log --------------------------------------------------------------------------

    @property
    def vkey(self) -> str:
        if self._vkey is None:
            self._vkey = self._call("GET", "/v1/vkey").text.strip()
            parse_verifier_key(self._vkey)  # malformed: refused before it is pinned
            state = self.trust.load()
            state["vkey"] = self._vkey
            self.trust.save(state)
        return self._vkey

    @property
    def verifier(self) -> Verifier:
        return parse_verifier_key(self.vkey)

    def open_note(self, note: str) -> Checkpoint:
        """The checkpoint of a signed note, which must carry the pinned log key's signature."""
        try:
            return open_checkpoint(note, [self.verifier]).checkpoint
        except (VerificationError, MalformedInput) as exc:
            raise AttackDetected(f"checkpoint not signed by the pinned log key: {exc}") from None

    def checkpoint(self) -> Checkpoint:
        """The server's latest checkpoint, verified and proved consistent with the last one
        this wallet saw (which it then replaces)."""
        return self.checkpoint_note()[1]

    def checkpoint_note(self) -> tuple[str, Checkpoint]:
        """As `checkpoint`, with the note text as served (cosignatures included)."""
        note = self._call("GET", "/v1/checkpoint").text
        cp = self.open_note(note)
        state = self.trust.load()
        last_note = state.get("checkpoint")
        if isinstance(last_note, str):
            self.check_consistent(self.open_note(last_note), cp)
        state["vkey"] = self.vkey
        state["checkpoint"] = note
        self.trust.save(state)
        return note, cp

    def last_checkpoint(self) -> Checkpoint | None:
        note = self.trust.load().get("checkpoint")
        return self.open_note(note) if isinstance(note, str) else None

    def check_consistent(self, older: Checkpoint, newer: Checkpoint) -> None:
        """Raise `AttackDetected` unless ``newer`` extends ``older`` (same log, only grown)."""
        if newer.size < older.size:
            raise AttackDetected(
                f"rollback: the log shrank from {older.size} to {newer.size} entries"
            )
        if newer.size == older.size:
            if newer.root != older.root:
                raise AttackDetected(f"fork: two different trees of size {newer.size}")
            return
        if older.size == 0:
            return
        body = self._json(
            "GET", "/v1/proofs/consistency", params={"first": older.size, "second": newer.size}
        )
        try:
            proof = ConsistencyProof.from_json(body)
            if (proof.first, proof.second) != (older.size, newer.size):
                raise AttackDetected("the consistency proof is for other sizes")
            proof.verify(older.root, newer.root, suite=self.suite)
        except (VerificationError, MalformedInput) as exc:
            raise AttackDetected(
                f"fork: the tree of size {newer.size} does not extend the one of size "
                f"{older.size} this wallet saw ({exc})"
            ) from None

    def verify_receipt(self, obj: Any) -> tuple[Entry, Receipt, Checkpoint]:
        """Check a receipt end to end, and that its tree is part of the log as this wallet
        knows it now."""
        try:
            receipt = Receipt.from_json(obj)
            entry, cp = receipt.verify([self.verifier], suite=self.suite)
        except (VerificationError, MalformedInput) as exc:
            raise AttackDetected(f"a receipt that does not verify: {exc}") from None
        latest = self.checkpoint()
        if cp.size > latest.size:
            raise AttackDetected("a receipt from a tree larger than the log's checkpoint")
        self.check_consistent(cp, latest)
        return entry, receipt, cp

    # --- writes ---------------------------------------------------------------------------

    def submit(self, statement: Mapping[str, Any]) -> tuple[Entry, Receipt]:
        """POST a signed statement (wire JSON); the verified entry and receipt."""
        entry, receipt, _ = self.verify_receipt(
            self._json("POST", "/v1/statements", json=statement)
        )
        if entry.statement.stmt != statement.get("stmt"):
            raise AttackDetected("the receipt is for another statement than the one sent")
        return entry, receipt

    def read(self, statement: Mapping[str, Any]) -> VerifiedRead:
        """A counter's read, verified: disclosures against the issuer-signed digests, the
        issuer's signature, the issue entry's inclusion, the read's receipt."""
        try:
            body = self._json("POST", "/v1/reads", json=statement)
        except ServerRefused as refused:
            self.verify_refusal(refused)
            raise
        return self._released(statement, body)

    def verify_refusal(self, refused: ServerRefused) -> None:
        """A refused read is recorded: the receipt of its ``access.denied`` entry, when the
        refusal carries one, must verify like any other (sets ``refused.verified``)."""
        if refused.receipt is None:
            return
        entry, _, _ = self.verify_receipt(refused.receipt)
        if entry.kind != "access.denied":
            raise AttackDetected("the refusal's receipt is for another entry") from None
        refused.verified = True

    def disclose(self, statement: Mapping[str, Any]) -> VerifiedRead:
        """A holder's own ``asset.disclose`` (recorded, then released to it), verified as a
        counter's read is: what goes into an offline presentation bundle."""
        return self._released(statement, self._json("POST", "/v1/disclosures", json=statement))

    def _released(self, statement: Mapping[str, Any], body: Any) -> VerifiedRead:
        """Check the answer to a statement after whose commit values were released."""
        if not isinstance(body, dict):
            raise AttackDetected("the answer is not a JSON object")
        entry, receipt, cp = self.verify_receipt(body.get("receipt"))
        if entry.kind != statement["stmt"]["kind"] or entry.statement.stmt != statement["stmt"]:
            raise AttackDetected("the receipt is not for this request")
        try:
            issue_data = str(body["issue_entry"]).encode("utf-8")
            issue = decode_entry(issue_data)
            proof = InclusionProof.from_json(body["issue_proof"])
            disclosures = body["disclosures"]
            asset = body["asset"]
        except (KeyError, TypeError, VerificationError, MalformedInput) as exc:
            raise AttackDetected(f"the answer is malformed: {exc}") from None
        stmt = statement["stmt"]
        if issue.kind != "asset.issue" or asset.get("seq") != issue.seq:
            raise AttackDetected("the issue entry is not the asset's")
        try:
            proof.verify_entry(issue_data, issue.seq, cp.size, cp.root, suite=self.suite)
        except VerificationError as exc:
            raise AttackDetected(f"the issue entry is not in the log: {exc}") from None
        self._check_issuer(issue, cp)
        if not isinstance(disclosures, dict) or set(disclosures) != set(stmt["fields"]):
            raise AttackDetected("the disclosures are not exactly the fields asked for")
        try:
            verify_disclosures(self.suite, issue.statement.stmt["digests"], disclosures)
        except DisclosureMismatch as exc:
            raise AttackDetected(f"forged disclosure: {exc}") from None
        values = {name: pair[1] for name, pair in disclosures.items()}
        return VerifiedRead(values, disclosures, asset, issue, entry, receipt, cp)

    def key_history(self, party: str, cp: Checkpoint, *, before: int = 0) -> KeyHistory:
        """``party``'s keys, each proved to be given by an entry in the tree of ``cp``
        (`wallet.keys`); remembered for this client, and in the key cache if it has one.
        A remembered history is reused if it was proved in a tree holding entry ``before``."""
        known = self._keys.get(party)
        if known is not None and before < known[0]:
            return known[1]
        body = self.party(party)
        try:
            history = parse_key_history(party, body.get("keys") if isinstance(body, dict) else None)
        except (VerificationError, MalformedInput) as exc:
            raise AttackDetected(f"the key history of {party} does not verify: {exc}") from None
        for entry in history.leaves():
            self.inclusion(entry, cp)
        self._keys[party] = (cp.size, history)
        if self.key_cache is not None:
            self.key_cache.put(history)
        return history

    def _check_issuer(self, issue: Entry, cp: Checkpoint) -> None:
        """The issue statement carries the signature of the key its issuer had when it
        issued (an issuer may have rotated since), that key proved from the log."""
        history = self.key_history(issue.statement.actor, cp, before=issue.seq)
        try:
            key = history.key_at(issue.seq)
            verify_signature(key, issue.statement.sig, issue.statement.body)
        except VerificationError as exc:
            raise AttackDetected(f"the asset's issue is not signed by its issuer: {exc}") from None

    def issue(self, statement: Mapping[str, Any], disclosures: Mapping[str, Any]) -> Receipt:
        """An issuer's ``asset.issue`` with the values behind its digests; verified receipt."""
        body = {"statement": dict(statement), "disclosures": dict(disclosures)}
        entry, receipt, _ = self.verify_receipt(self._json("POST", "/v1/assets", json=body))
        if entry.statement.stmt != statement.get("stmt"):
            raise AttackDetected("the receipt is for another statement than the one sent")
        return receipt

    def audit(
        self, signer: RequestSigner, statement: Mapping[str, Any], fmt: str = "json"
    ) -> dict[str, Any]:
        """An auditor's signed query (recorded before it is answered); the answer, with the
        receipt of the query's own entry verified."""
        body = self._json("POST", "/v1/audit", params={"format": fmt}, json=statement, auth=signer)
        entry, _, _ = self.verify_receipt(body.get("receipt"))
        if entry.kind != "audit.query" or entry.statement.stmt != statement.get("stmt"):
            raise AttackDetected("the audit answer's receipt is not for this query")
        result: dict[str, Any] = body
        return result

    def revocations(self) -> tuple[Checkpoint, dict[str, str]]:
        """Every asset no longer active, as of a checkpoint proved consistent with what
        this wallet saw (a counter's offline cache; completeness rests on the server)."""
        body = self._json("GET", "/v1/revocations")
        try:
            cp = self.open_note(str(body["checkpoint"]))
            assets = body["assets"]
            if not isinstance(assets, dict):
                raise TypeError
        except (KeyError, TypeError):
            raise AttackDetected("the revocation list is malformed") from None
        self.check_consistent(cp, self.checkpoint())
        return cp, {str(k): str(v) for k, v in assets.items()}

    def party(self, party: str) -> dict[str, Any]:
        """A party's public record (role, status, attributes, keys; unverified)."""
        row: dict[str, Any] = self._json("GET", f"/v1/parties/{party}")
        return row

    def parties(self, role: str) -> list[dict[str, Any]]:
        """The registered parties of ``role`` (issuer, counter or auditor)."""
        rows: list[dict[str, Any]] = self._json("GET", "/v1/parties", params={"role": role})
        return rows

    def scenarios(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._json("GET", "/v1/catalog/scenarios")
        return rows

    def catalog_class(self, name: str) -> dict[str, Any]:
        for cls in self._json("GET", "/v1/catalog/classes"):
            if isinstance(cls, dict) and cls.get("class") == name:
                return cls
        raise MalformedInput("class", f"no asset class {name!r} in the catalog")

    def scenario(self, name: str) -> dict[str, Any]:
        """A service scenario of the published catalog."""
        for sc in self.scenarios():
            if isinstance(sc, dict) and sc.get("scenario") == name:
                return sc
        raise MalformedInput("scenario", f"no scenario {name!r} in the catalog")

    # --- signed reads -----------------------------------------------------------------------

    def assets(self, signer: RequestSigner, holder: str) -> list[dict[str, Any]]:
        """The holder's assets, each with its issue entry proved in the log and signed by
        its issuer (``verified`` set on each row)."""
        rows: list[dict[str, Any]] = self._json("GET", f"/v1/holders/{holder}/assets", auth=signer)
        cp = self.checkpoint()
        for row in rows:
            issue = self._proved_entry(signer, int(row["seq"]), cp)
            s = issue.statement.stmt
            if (
                issue.kind != "asset.issue"
                or s.get("holder") != holder
                or s.get("class") != row["cls"]
            ):
                raise AttackDetected(f"asset {row['id']} does not match its issue entry")
            self._check_issuer(issue, cp)
            row["verified"] = True
        return rows

    def cosign(self, signer: RequestSigner, size: int, line: str) -> dict[str, Any]:
        """Hand the server a witness cosignature of its checkpoint of ``size``."""
        result: dict[str, Any] = self._json(
            "POST", "/v1/cosignatures", json={"size": size, "line": line}, auth=signer
        )
        return result

    def entries(self, signer: RequestSigner, start: int, limit: int) -> list[str]:
        """Raw entries from ``start`` (unverified: see `wallet.monitor`)."""
        got = self._json("GET", "/v1/entries", params={"start": start, "limit": limit}, auth=signer)
        entries = got.get("entries") if isinstance(got, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise AttackDetected(f"the server's entries from {start} are not a list of entries")
        return list(entries)

    def grants(self, signer: RequestSigner, holder: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._json("GET", f"/v1/holders/{holder}/grants", auth=signer)
        return rows

    def history(self, signer: RequestSigner, holder: str) -> list[dict[str, Any]]:
        """Every read and refusal of ``holder``'s data, each proved to be in the log: its
        entry fetched, matched to the row, and its inclusion verified against the newest
        checkpoint (itself consistent with everything this wallet saw before)."""
        rows: list[dict[str, Any]] = []
        after = -1
        while True:
            page = self._json(
                "GET", f"/v1/holders/{holder}/history",
                params={"after_seq": after, "limit": 500}, auth=signer,
            )  # fmt: skip
            rows.extend(page["rows"])
            if page.get("next_after_seq") is None:
                break
            after = int(page["next_after_seq"])
        cp = self.checkpoint()
        for row in rows:
            self._prove_row(signer, row, cp)
        return rows

    def _prove_row(self, signer: RequestSigner, row: dict[str, Any], cp: Checkpoint) -> None:
        seq = int(row["seq"])
        entry = self._proved_entry(signer, seq, cp)
        if row["outcome"] != "read":
            kind = "access.denied"
        else:
            kind = "access.read_offline" if row.get("reason") == "offline" else "access.read"
        stmt = entry.statement.stmt
        who = stmt.get("counter") if kind == "access.denied" else entry.statement.actor
        if entry.kind != kind or who != row["counter"]:
            raise AttackDetected(f"history row {seq} does not match its entry")
        row["proof"] = "verified"

    def _proved_entry(self, signer: RequestSigner, seq: int, cp: Checkpoint) -> Entry:
        """Entry ``seq``, fetched and proved to be leaf ``seq`` of the tree of ``cp``."""
        entries = self.entries(signer, seq, 1)
        try:
            data = entries[0].encode("utf-8")
            entry = decode_entry(data)
        except (IndexError, MalformedInput, SchemaError) as exc:
            # decode_entry also checks the statement's common fields (SchemaError)
            raise AttackDetected(f"entry {seq} is malformed: {exc}") from None
        if entry.seq != seq:
            raise AttackDetected(f"the server sent entry {entry.seq} for entry {seq}")
        self.inclusion(entry, cp)
        return entry

    def inclusion(self, entry: Entry, cp: Checkpoint) -> InclusionProof:
        """The proof that ``entry`` is leaf ``entry.seq`` of the tree of ``cp``, verified."""
        body = self._json(
            "GET", "/v1/proofs/inclusion", params={"index": entry.seq, "size": cp.size}
        )
        try:
            proof = InclusionProof.from_json(body)
            proof.verify_entry(entry.data, entry.seq, cp.size, cp.root, suite=self.suite)
        except (VerificationError, MalformedInput) as exc:
            raise AttackDetected(f"entry {entry.seq} is not in the log: {exc}") from None
        return proof
