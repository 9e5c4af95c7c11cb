"""A stateful Hypothesis model of grants and reads on one Domain, on a fake clock.

The model keeps its own plain record of the assets and grants it created and predicts
the outcome of every read from the rules as `chainledger.access` states them (in this
order: the grant exists, is active, has begun, has not expired and is for this counter,
or for a one-time QR grant for this counter's type; the purpose is the grant's; the asset
is the grant holder's, in its scope, and active; every field is within both the grant and
the scenario; a use is left; the secret matches). It never calls the library's checks.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from domain_support import Actor, Cast, make_cast, utc
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from support import FakeClock

from chainledger.access import read_fields
from chainledger.assets import verify_disclosures
from chainledger.clock import format_ts
from chainledger.domain import Domain
from chainledger.encoding import b64encode
from chainledger.entry import decode_entry
from chainledger.grants import create_fields, grant_id, secret_hash
from chainledger.rules import Refused
from chainledger.verify import verify_ledger

#: The two scenarios of the model: both read the resident ID card's name and id number.
SCENARIOS = {
    "bus_ticket": ("bus", "ticket_purchase"),
    "hotel_check_in": ("hotel", "accommodation_registration"),
}
IN_SCENARIO = ("name", "id_number")
#: Fields a counter may ask for: the scenario's, other ID card fields, and a field the
#: class does not have.
ASKABLE = ("name", "id_number", "address", "sex", "phone")
START = utc(2026, 3, 2, 1, 0)  # 09:00 in Liaocheng


_TEMPLATE: list[tuple[Path, Cast]] = []


def fresh_cast(directory: Path, clock: FakeClock) -> Cast:
    """A copy of one cast built at START (catalog and parties), on its own database.

    Building the cast takes far longer than copying its three files.
    """
    if not _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="chainledger-grants-template-"))
        atexit.register(shutil.rmtree, template, True)
        cast = make_cast(template / "g.db", clock=FakeClock(START))
        cast.domain.close()
        _TEMPLATE.append((template, cast))
    template, cast = _TEMPLATE[0]
    for path in template.iterdir():
        shutil.copy2(path, directory / path.name)
    return dataclasses.replace(cast, domain=Domain.open(directory / "g.db", clock=clock))


@dataclass
class ModelAsset:
    holder: str  # "citizen" | "other"
    values: dict[str, Any]
    erased: bool = False


@dataclass
class ModelGrant:
    holder: str
    grantee: str | None  # "bus" | "hotel" | None (one-time QR grant)
    scenario: str
    fields: list[str]
    assets: list[str] | None
    not_before: datetime
    expires: datetime
    max_uses: int
    secret: bytes | None
    uses: int = 0
    revoked: bool = False


def predict(
    grant: ModelGrant | None,
    counter: str,
    purpose: str,
    aid: str,
    asset: ModelAsset,
    fields: list[str],
    secret: bytes | None,
    now: datetime,
) -> set[str] | None:
    """The reasons the read may be refused with (None: it must be admitted)."""
    if grant is None:
        return {"grant_unknown"}
    if grant.revoked:
        return {"grant_revoked"}
    if now < grant.not_before:
        return {"grant_not_yet_valid"}
    if now >= grant.expires:
        return {"grant_expired"}
    serves = SCENARIOS[grant.scenario][0]
    if counter != (grant.grantee or serves):
        return {"wrong_counter"}
    if purpose != SCENARIOS[grant.scenario][1]:
        return {"purpose_mismatch"}
    if asset.holder != grant.holder or (grant.assets is not None and aid not in grant.assets):
        return {"asset_not_in_grant"}
    if asset.erased:
        return {"asset_erased"}
    if not set(fields) <= set(grant.fields):
        # A field outside the scenario is outside the grant as well: either code says so.
        outside_scenario = not set(fields) <= set(IN_SCENARIO)
        return (
            {"field_not_granted", "field_not_in_scenario"}
            if outside_scenario
            else {"field_not_granted"}
        )
    if grant.uses >= grant.max_uses:
        return {"grant_exhausted"}
    if grant.secret is not None:
        if secret != grant.secret:
            return {"bad_secret"}
    elif secret is not None:
        return {"malformed"}  # only a one-time grant takes a secret
    return None


@dataclass
class GrantParams:
    holder: str
    scenario: str
    qr: bool
    fields: list[str]
    explicit: bool  # an explicit list of the holder's assets (else: all its ID cards)
    max_uses: int
    starts_in: int  # minutes from now to not_before
    minutes: int  # of validity


GRANTS = st.builds(
    GrantParams,
    holder=st.sampled_from(["citizen", "other"]),
    scenario=st.sampled_from(sorted(SCENARIOS)),
    qr=st.booleans(),
    fields=st.lists(st.sampled_from(IN_SCENARIO), min_size=1, max_size=2, unique=True),
    explicit=st.booleans(),
    max_uses=st.integers(1, 4),
    starts_in=st.sampled_from([-1, -1, 0, 2]),
    minutes=st.integers(1, 120),
)


class GrantsModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="chainledger-grants-"))
        self.clock = FakeClock(START)
        self.cast = fresh_cast(self.dir, self.clock)
        self.assets: dict[str, ModelAsset] = {}
        self.grants: dict[str, ModelGrant] = {}
        self.reads = 0
        self.refusals = 0
        self.kinds: Counter[str] = Counter()  # entry kinds on the ledger
        self.scanned = 0  # entries counted into kinds so far

    def teardown(self) -> None:
        try:
            d = self.cast.domain
            verify_ledger(d.store, rules=d.ledger.rules)
        finally:
            self.cast.domain.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- helpers ------------------------------------------------------------------------------

    def actor(self, name: str) -> Actor:
        actor = getattr(self.cast, name)
        assert isinstance(actor, Actor)
        return actor

    def assets_of(self, holder: str) -> list[str]:
        return [a for a, m in self.assets.items() if m.holder == holder]

    def usable(self, grant: ModelGrant) -> bool:
        now = self.clock.now
        covered = grant.assets or self.assets_of(grant.holder)
        return (
            not grant.revoked
            and grant.not_before <= now < grant.expires
            and grant.uses < grant.max_uses
            and any(not self.assets[a].erased for a in covered)
        )

    # --- rules --------------------------------------------------------------------------------

    @initialize(first=GRANTS, second=GRANTS, data=st.data())
    def an_id_card_each_and_two_grants(
        self, first: GrantParams, second: GrantParams, data: st.DataObject
    ) -> None:
        self.issue_id_card("citizen")
        self.issue_id_card("other")
        self.create_grant(first, data)
        self.create_grant(second, data)
        self.read_as_granted_once(data)

    @rule(holder=st.sampled_from(["citizen", "other"]))
    def issue_id_card(self, holder: str) -> None:
        c = self.cast
        number = c.citizen_id_number if holder == "citizen" else c.other_id_number
        aid, values = c.issue_id_card(self.actor(holder), number, "测试人")
        self.assets[aid] = ModelAsset(holder, values)

    @precondition(lambda self: any(not a.erased for a in self.assets.values()))
    @rule(data=st.data())
    def erase_asset(self, data: st.DataObject) -> None:
        aid = data.draw(st.sampled_from([a for a, m in self.assets.items() if not m.erased]))
        asset = self.assets[aid]
        d = self.cast.domain
        d.erase(self.actor(asset.holder).sign(d, "asset.erase", asset=aid, basis="holder_request"))
        asset.erased = True
        assert d.store.vault_get(aid) is None

    @rule(p=GRANTS, data=st.data())
    def create_grant(self, p: GrantParams, data: st.DataObject) -> None:
        d = self.cast.domain
        own = self.assets_of(p.holder)
        assets = None
        if p.explicit and own:
            assets = data.draw(st.lists(st.sampled_from(own), min_size=1, unique=True))
        secret = os.urandom(32) if p.qr else None
        not_before = self.clock.now + timedelta(minutes=p.starts_in)
        expires = not_before + timedelta(minutes=p.minutes)
        grantee = None if p.qr else SCENARIOS[p.scenario][0]
        stmt = self.actor(p.holder).sign(
            d, "grant.create",
            **create_fields(
                scenario=p.scenario, purpose=SCENARIOS[p.scenario][1],
                scope={"resident_id_card": p.fields},
                grantee=None if grantee is None else self.actor(grantee).id,
                not_before=format_ts(not_before), expires=format_ts(expires),
                max_uses=p.max_uses, assets=assets,
                secret_hash=None if secret is None else secret_hash(secret),
            ),
        )  # fmt: skip
        d.append(stmt)
        gid = grant_id(self.actor(p.holder).id, stmt.nonce)
        self.grants[gid] = ModelGrant(
            p.holder, grantee, p.scenario, p.fields, assets, not_before, expires, p.max_uses,
            secret,
        )  # fmt: skip

    @rule(data=st.data())
    def revoke_grant(self, data: st.DataObject) -> None:
        gid = data.draw(st.sampled_from(list(self.grants)))
        grant = self.grants[gid]
        d = self.cast.domain
        size = d.ledger.size()
        stmt = self.actor(grant.holder).sign(d, "grant.revoke", grant=gid)
        if grant.revoked:
            with pytest.raises(Refused) as info:
                d.append(stmt)
            assert info.value.reason == "grant_revoked"
            assert d.ledger.size() == size  # a refused revocation is not recorded
            return
        d.append(stmt)
        grant.revoked = True
        row = d.store.grant(gid)
        assert row is not None
        assert row.status == "revoked"

    @rule(minutes=st.integers(0, 90), seconds=st.integers(0, 59))
    def advance_clock(self, minutes: int, seconds: int) -> None:
        self.clock.now += timedelta(minutes=minutes, seconds=seconds)

    @rule(data=st.data(), edge=st.sampled_from(["expires", "not_before"]), after=st.booleans())
    def jump_to_grant_edge(self, data: st.DataObject, edge: str, after: bool) -> None:
        """To exactly a grant's expiry or start, or one second past it (never backwards)."""
        grant = self.grants[data.draw(st.sampled_from(list(self.grants)))]
        target = getattr(grant, edge) + timedelta(seconds=1 if after else 0)
        self.clock.now = max(self.clock.now, target)

    @rule(data=st.data(), times=st.integers(1, 3))
    def read(self, data: st.DataObject, times: int) -> None:
        for _ in range(times):
            self.read_once(data)

    @rule(data=st.data(), times=st.integers(1, 3))
    def read_as_granted(self, data: st.DataObject, times: int) -> None:
        for _ in range(times):
            self.read_as_granted_once(data)

    def read_once(self, data: st.DataObject) -> None:
        """A read; each of counter, purpose, asset and fields is the grant's 3 times in 4."""
        honest = data.draw(st.lists(st.integers(0, 3), min_size=4, max_size=4))
        fields = data.draw(st.lists(st.sampled_from(ASKABLE), min_size=1, max_size=3, unique=True))
        secret_kind = data.draw(st.sampled_from(["right", "right", "wrong", "none"]))
        unknown_grant = data.draw(st.integers(0, 9))
        if unknown_grant == 0:
            gid, grant = grant_id(self.cast.citizen.id, b64encode(os.urandom(16))), None
        else:
            gid = data.draw(st.sampled_from(list(self.grants)))
            grant = self.grants[gid]
        scenario = grant.scenario if grant else "bus_ticket"
        fair_counter, fair_purpose, fair_asset, fair_fields = (h > 0 for h in honest)
        serving = (grant.grantee if grant else None) or SCENARIOS[scenario][0]
        counter = serving if fair_counter else data.draw(st.sampled_from(["bus", "hotel"]))
        other = next(s for s in SCENARIOS if s != scenario)
        purpose = SCENARIOS[scenario if fair_purpose else other][1]
        covered = list(grant.assets or self.assets_of(grant.holder)) if grant else []
        aid = data.draw(st.sampled_from(covered if fair_asset and covered else list(self.assets)))
        if fair_fields and grant is not None:
            fields = data.draw(
                st.lists(st.sampled_from(grant.fields), min_size=1, max_size=2, unique=True)
            )
        secret: bytes | None = None
        if grant is not None and grant.secret is not None:
            secret = {"right": grant.secret, "wrong": os.urandom(32), "none": None}[secret_kind]
        elif secret_kind == "wrong":
            secret = os.urandom(32)  # a secret sent with a standing grant
        self.attempt(gid, grant, counter, purpose, aid, fields, secret)

    def read_as_granted_once(self, data: st.DataObject) -> None:
        """The grant's own counter asks for granted fields of a covered asset (of a grant the
        model thinks usable now, if there is one)."""
        usable = [g for g, m in self.grants.items() if self.usable(m)]
        gid = data.draw(st.sampled_from(usable or list(self.grants)))
        grant = self.grants[gid]
        covered = list(grant.assets or self.assets_of(grant.holder))
        live = [a for a in covered if not self.assets[a].erased] or covered
        if not live:
            return
        aid = data.draw(st.sampled_from(live))
        fields = data.draw(st.lists(st.sampled_from(grant.fields), min_size=1, unique=True))
        counter, purpose = SCENARIOS[grant.scenario]
        self.attempt(gid, grant, grant.grantee or counter, purpose, aid, fields, grant.secret)

    def attempt(
        self,
        gid: str,
        grant: ModelGrant | None,
        counter: str,
        purpose: str,
        aid: str,
        fields: list[str],
        secret: bytes | None,
    ) -> None:
        """Predict, read, and check the library agrees and kept its books."""
        d = self.cast.domain
        asset = self.assets[aid]
        expected = predict(grant, counter, purpose, aid, asset, fields, secret, self.clock.now)
        stmt = self.actor(counter).sign(
            d, "access.read",
            **read_fields(gid, aid, fields, purpose, None if secret is None else b64encode(secret)),
        )  # fmt: skip
        size = d.ledger.size()
        if expected is not None:
            with pytest.raises(Refused) as info:
                d.read(stmt)
            assert info.value.reason in expected, (info.value.reason, expected)
            entry, _ = info.value.receipt.verify([d.ledger.verifier])
            assert entry.kind == "access.denied"
            assert entry.statement.stmt["reason"] == info.value.reason
            assert entry.statement.stmt["counter"] == self.actor(counter).id
            self.refusals += 1
            event(f"refused: {info.value.reason}")
        else:
            result = d.read(stmt)
            # Never data from a revoked, expired, exhausted grant or an erased asset.
            assert grant is not None
            assert not grant.revoked
            assert grant.not_before <= self.clock.now < grant.expires
            assert grant.uses < grant.max_uses
            assert not asset.erased
            grant.uses += 1
            self.reads += 1
            event("read")
            assert set(result.disclosures) == set(fields)
            assert {k: v[1] for k, v in result.disclosures.items()} == {
                f: asset.values[f] for f in fields
            }
            verify_disclosures(
                d.ledger.suite, d.issue_entry_digests(result.issue_entry), result.disclosures
            )
            entry, _ = result.receipt.verify([d.ledger.verifier])
            assert entry.kind == "access.read"
            assert entry.statement.body == stmt.body
        assert d.ledger.size() == size + 1  # every counter request has exactly one entry

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def uses_match_the_model_and_never_exceed_max(self) -> None:
        for gid, grant in self.grants.items():
            row = self.cast.domain.store.grant(gid)
            assert row is not None
            assert row.uses == grant.uses <= row.max_uses == grant.max_uses
            assert row.status == ("revoked" if grant.revoked else "active")

    @invariant()
    def reads_and_refusals_are_counted_and_recorded(self) -> None:
        d = self.cast.domain
        for _, data in d.ledger.entries(self.scanned):  # each entry is decoded once
            self.kinds[decode_entry(data).kind] += 1
            self.scanned += 1
        stats = d.stats()
        assert self.reads == stats["reads"] == self.kinds["access.read"]
        assert self.refusals == stats["refusals"] == self.kinds["access.denied"]


GrantsModel.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    # No shrinking: each example runs a real ledger, and shrinking a failure would outlast
    # the test timeout; a failing run of at most 20 steps is printed as it was found.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    suppress_health_check=[HealthCheck.too_slow],
)
TestGrantsModel = GrantsModel.TestCase
