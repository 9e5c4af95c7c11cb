"""Presentation bundles: what a holder hands a counter that has no network.

A bundle is a JSON file the holder's wallet exports (``wallet present --bundle``)
while it is online. It carries everything a counter needs to check the holder's
data with no server at all:

* ``checkpoint``: a C2SP checkpoint signed by the log key;
* ``grant``: the holder's ``grant.create`` entry and its inclusion proof in that tree
  (and, for a one-time grant, ``secret``: the secret whose hash the grant holds);
* ``assets``: for each asset, the issuer's ``asset.issue`` entry, its inclusion proof,
  and the disclosures (``{field: [salt, value]}``) of exactly the fields shown.

`verify_bundle` is the counter's offline check, against only what the counter
already holds: the pinned log key, the issuers' key histories it cached
(`wallet.keys`), the scenarios, and the list of revoked assets as of its last sync.
Everything the counter cannot know offline (uses left, a revocation since that
sync, the fork-freedom of the bundle's checkpoint) is settled when the counter
sends its ``access.read_offline`` records (`wallet sync`): the ledger judges them,
and the checkpoint is proved consistent with the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chainledger.assets import DisclosureMismatch, asset_id, verify_disclosures
from chainledger.checkpoint import Checkpoint, open_checkpoint
from chainledger.clock import format_ts
from chainledger.crypto import HashSuite, verify_signature
from chainledger.encoding import b64decode, text_is_unicode
from chainledger.entry import Entry, decode_entry
from chainledger.errors import ChainledgerError, MalformedInput, VerificationError
from chainledger.grants import grant_id
from chainledger.note import Verifier
from chainledger.proofs import InclusionProof
from wallet.keys import KeyHistory

__all__ = ["FORMAT", "Bundle", "BundleAsset", "BundleRefused", "OfflineVerdict", "verify_bundle"]


class BundleRefused(ChainledgerError):
    """The bundle is genuine but the read would break a rule (the grant's window, its
    counter, its scope, a revocation): refused, as the ledger would refuse it."""

    code = "bundle_refused"


FORMAT = "chainledger.bundle/1"
#: Bundles are small (a few entries); anything bigger is refused before it is parsed.
MAX_BUNDLE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class BundleAsset:
    issue: Entry
    proof: InclusionProof
    disclosures: dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class Bundle:
    checkpoint: str
    grant: Entry
    grant_proof: InclusionProof
    secret: str | None
    assets: tuple[BundleAsset, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "checkpoint": self.checkpoint,
            "grant": {"entry": self.grant.data.decode(), "proof": self.grant_proof.to_json()},
            "secret": self.secret,
            "assets": [
                {"entry": a.issue.data.decode(), "proof": a.proof.to_json(),
                 "disclosures": a.disclosures}
                for a in self.assets
            ],
        }  # fmt: skip

    @classmethod
    def parse(cls, text: str | bytes) -> Bundle:
        """Parse an untrusted bundle file; `MalformedInput` names what is wrong (nothing is
        verified here: see `verify_bundle`)."""
        if len(text) > MAX_BUNDLE_BYTES:
            raise MalformedInput("bundle", "too large")
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: too deep
            raise MalformedInput("bundle", "not JSON") from None
        if not text_is_unicode(data):  # a "\ud800" escape: its bytes could not be checked
            raise MalformedInput("bundle", "text that is not Unicode (a lone surrogate)")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise MalformedInput("bundle", f"not a {FORMAT} bundle")
        try:
            grant = data["grant"]
            assets = data["assets"]
            if not isinstance(data["checkpoint"], str) or not isinstance(assets, list):
                raise TypeError
            if not assets:
                raise MalformedInput("bundle", "shows no asset")
            secret = data.get("secret")
            if secret is not None:
                b64decode(secret, "secret", 32)
            return cls(
                data["checkpoint"],
                decode_entry(str(grant["entry"]).encode()),
                InclusionProof.from_json(grant["proof"]),
                secret,
                tuple(
                    BundleAsset(
                        decode_entry(str(a["entry"]).encode()),
                        InclusionProof.from_json(a["proof"]),
                        _disclosures(a["disclosures"]),
                    )
                    for a in assets
                ),
            )
        except (KeyError, TypeError):
            raise MalformedInput("bundle", "missing or mistyped members") from None


def _disclosures(value: Any) -> dict[str, list[Any]]:
    if not isinstance(value, dict) or not value:
        raise MalformedInput("bundle", "disclosures must map fields to [salt, value]")
    return dict(value)


@dataclass(frozen=True, slots=True)
class OfflineVerdict:
    """A bundle that verified offline: per asset, the values and the read to record."""

    checkpoint: Checkpoint
    grant: str
    holder: str
    purpose: str
    #: (asset id, class, issuer, values) for each asset shown.
    assets: tuple[tuple[str, str, str, dict[str, Any]], ...]
    #: As of which checkpoint size the revocation list was (the counter's last sync).
    revocations_as_of: int


def _prove(entry: Entry, proof: InclusionProof, cp: Checkpoint, suite: HashSuite) -> None:
    try:
        proof.verify_entry(entry.data, entry.seq, cp.size, cp.root, suite=suite)
    except VerificationError as exc:
        raise VerificationError(
            f"the bundle's {entry.kind} entry {entry.seq} is not in its checkpoint: {exc}"
        ) from None


def verify_bundle(
    bundle: Bundle,
    *,
    verifier: Verifier,
    suite: HashSuite,
    counter: str,
    counter_type: str,
    scenarios: Mapping[str, Mapping[str, Any]],
    keys: Callable[[str], KeyHistory | None],
    revoked: Mapping[str, str],
    revocations_as_of: int,
    now: datetime,
) -> OfflineVerdict:
    """Check ``bundle`` with no network, as counter ``counter`` (of ``counter_type``) at
    ``now``. Raises `VerificationError` naming the first forgery found: a misplaced or
    unproved entry, a checkpoint not signed by the log, an issuer signature that does
    not verify with the issuer's cached key, a disclosure that does not match its signed
    digest; `BundleRefused` for a rule the read would break (grant window, counter,
    scope, revocation as of the last sync); `MalformedInput` for an issuer whose keys
    this counter has not cached."""
    try:
        cp = open_checkpoint(bundle.checkpoint, [verifier]).checkpoint
    except (MalformedInput, VerificationError) as exc:
        raise VerificationError(f"the bundle's checkpoint is not the log's: {exc}") from None
    g = bundle.grant
    if g.kind != "grant.create":
        raise VerificationError("the bundle's grant entry is not a grant")
    _prove(g, bundle.grant_proof, cp, suite)
    gs = g.statement.stmt
    gid = grant_id(g.actor, g.statement.nonce)
    scenario = scenarios.get(str(gs.get("scenario")))
    if scenario is None:
        raise BundleRefused("the grant's scenario is not one this counter knows")
    if gs.get("grantee") is None:
        if scenario.get("counter_type") != counter_type:
            raise BundleRefused("this counter does not serve the grant's scenario")
    elif gs.get("grantee") != counter:
        raise BundleRefused("the grant is for another counter")
    at = format_ts(now)
    if not str(gs.get("not_before")) <= at < str(gs.get("expires")):
        raise BundleRefused("the grant is not valid now")
    secret_hash = gs.get("secret_hash")
    if secret_hash is not None:
        secret = b64decode(bundle.secret, "secret", 32) if bundle.secret else b""
        want = b64decode(str(secret_hash), "secret_hash", 32)
        if not hmac.compare_digest(hashlib.sha256(secret).digest(), want):
            raise BundleRefused("the bundle's secret is not the grant's")
    scope = gs.get("scope")
    only = gs.get("assets")
    assert isinstance(scope, dict)  # the ledger admitted the grant
    shown = []
    for a in bundle.assets:
        issue = a.issue
        if issue.kind != "asset.issue":
            raise VerificationError(f"entry {issue.seq} is not an asset's issue")
        _prove(issue, a.proof, cp, suite)
        s = issue.statement.stmt
        aid = asset_id(issue.actor, issue.statement.nonce)
        cls = str(s.get("class"))
        if s.get("holder") != g.actor or cls not in scope or (only and aid not in only):
            raise BundleRefused(f"asset {aid} is not covered by the grant")
        if aid in revoked:
            raise BundleRefused(
                f"asset {aid} is {revoked[aid]} (as of checkpoint {revocations_as_of})"
            )
        today, until = at[:10], s.get("valid_until")
        if today < str(s.get("valid_from")) or (until is not None and today > str(until)):
            raise BundleRefused(f"asset {aid} is not valid today")
        history = keys(issue.actor)
        if history is None:
            raise MalformedInput(
                "issuer", f"{issue.actor}'s keys are not cached here: sync while online"
            )
        verify_signature(history.key_at(issue.seq), issue.statement.sig, issue.statement.body)
        allowed = set(scope[cls]) & set(scenario.get("reads", {}).get(cls, ()))
        if not set(a.disclosures) <= allowed:
            raise BundleRefused(f"asset {aid} shows fields outside the grant or scenario")
        try:
            verify_disclosures(suite, s["digests"], a.disclosures)
        except DisclosureMismatch as exc:
            raise VerificationError(f"forged disclosure: {exc}") from None
        values = {name: pair[1] for name, pair in a.disclosures.items()}
        shown.append((aid, cls, issue.actor, values))
    return OfflineVerdict(cp, gid, g.actor, str(gs.get("purpose")), tuple(shown), revocations_as_of)
