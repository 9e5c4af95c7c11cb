"""Who may make which statement: the authorization matrix, and privilege escalations by name.

Every role (platform, issuer, holder, counter, auditor), an unregistered key and a
suspended party of each suspendable role sign a well-formed statement of every kind
(genesis excluded). Each statement is built as it would be if its signer were allowed
to make it (its own asset, its own grant, its own read...), so a refusal can only come
from the signer's role or status, never from the content.

Expected, from `Rules.admit` and `Sequencer._authenticate`: an unregistered key is
`UnknownActor` (not authenticated, so never recorded); a role outside ``Kind.roles`` is
``Refused("role")``; a suspended party of an allowed role is ``Refused("actor_suspended")``
(the role is checked first, so a suspended party asking for what its role can never do
gets "role"). A refused statement by a registered party adds exactly one entry, whose
receipt the caller gets with the refusal: ``access.denied`` for a refused ``access.read``
(or ``access.read_offline``), ``request.denied`` for a refused statement of any other kind
(a privilege escalation, see `chainledger.denials`). An unregistered key adds nothing.

The matrix shares one ledger (a fresh cast per case would take minutes); each case
registers its own parties, assets and grants, and the ledger is verified end to end
when the module is done.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from domain_support import Actor, Cast, make_cast

from chainledger import catalog_default
from chainledger.access import offline_fields, read_fields, request_hash
from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.clock import format_ts
from chainledger.crypto import public_key_bytes
from chainledger.denials import denied_fields
from chainledger.domain import Domain, domain_rules
from chainledger.encoding import b64encode
from chainledger.errors import ChainledgerError
from chainledger.grants import create_fields, grant_id
from chainledger.parties import pop_message, proof_of_possession, register_fields
from chainledger.receipt import Receipt
from chainledger.rules import Refused, UnknownActor
from chainledger.statement import SignedStatement
from chainledger.verify import verify_ledger

RULES = domain_rules()
KINDS = sorted(name for name in RULES.kinds if name != "genesis")
ROLES = ("platform", "issuer", "holder", "counter", "auditor")
SUSPENDABLE = ("issuer", "holder", "counter", "auditor")
SIGNERS = (*ROLES, "unregistered", *(f"suspended_{role}" for role in SUSPENDABLE))
ID_CARD_SCOPE = {"resident_id_card": ["name", "id_number"]}
ATTRS: dict[str, dict[str, Any]] = {
    "issuer": {"authorities": ["public_security"]},
    "holder": {"subject": "person"},
    "counter": {"counter_type": "bus_station"},
    "auditor": {},
}


# --- the shared ledger ---------------------------------------------------------------------------


class Env:
    """The module's ledger and a source of unique suffixes."""

    def __init__(self, cast: Cast) -> None:
        self.cast = cast
        self._n = itertools.count(1)

    @property
    def d(self) -> Domain:
        return self.cast.domain

    def unique(self) -> int:
        return next(self._n)

    def register(self, role: str) -> Actor:
        """A fresh, active party of ``role`` (a holder is bound to a fresh identity)."""
        actor = Actor(Ed25519PrivateKey.generate(), role)
        n = self.unique()
        self.cast.register(
            actor,
            "" if role == "holder" else f"授权测试 {role} {n}",
            ATTRS[role],
            real_id=f"authz-identity-{n}" if role == "holder" else None,
        )
        return actor

    def id_card(self, holder: Actor) -> str:
        """A resident ID card issued by the police to ``holder``."""
        aid, _ = self.cast.issue_id_card(
            holder, self.cast.citizen_id_number, self.cast.citizen_name
        )
        return aid

    def grant(self, holder: Actor, counter: Actor) -> str:
        gid, _ = self.cast.grant(holder, counter, "bus_ticket", ID_CARD_SCOPE, max_uses=5)
        return gid

    def committed_read(self, counter: Actor) -> tuple[str, Receipt]:
        """An admitted read by ``counter`` of a fresh asset of the citizen: (asset, receipt)."""
        aid = self.id_card(self.cast.citizen)
        gid = self.grant(self.cast.citizen, counter)
        stmt = counter.sign(
            self.d, "access.read", **read_fields(gid, aid, ["name"], "ticket_purchase")
        )
        return aid, self.d.read(stmt).receipt


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    cast = make_cast(tmp_path_factory.mktemp("authz") / "ledger.db")
    yield Env(cast)
    try:
        # Everything the matrix admitted or recorded replays under the same rules.
        verify_ledger(cast.domain.store, rules=RULES)
    finally:
        cast.domain.close()


# --- signers -------------------------------------------------------------------------------------


@dataclass
class Signer:
    """Who signs a statement of the matrix.

    ``role`` is the registered role (for an unregistered key: the role it would have);
    ``actor`` is None for the platform, which signs with the ledger's own key.
    """

    label: str
    id: str
    role: str
    status: str  # "active", "suspended" (after the statement is built) or "unregistered"
    actor: Actor | None
    d: Domain

    def sign(self, kind: str, **fields: Any) -> SignedStatement:
        if self.actor is None:
            return self.d.ledger.platform_statement(kind, **fields)
        return self.actor.sign(self.d, kind, **fields)

    @property
    def registered_as(self) -> str | None:
        """The role the ledger knows, or None for an unregistered key."""
        return None if self.status == "unregistered" else self.role

    def own(self, role: str) -> Actor | None:
        """This signer as a registered party of ``role``, to build its own objects."""
        return self.actor if self.registered_as == role else None


def make_signer(env: Env, label: str) -> Signer:
    d = env.d
    if label == "platform":
        return Signer(label, d.ledger.platform_id, "platform", "active", None, d)
    if label == "unregistered":
        actor = Actor(Ed25519PrivateKey.generate(), "counter")
        return Signer(label, actor.id, "counter", "unregistered", actor, d)
    status, _, role = label.rpartition("_") if label.startswith("suspended_") else ("", "", label)
    actor = env.register(role)
    return Signer(label, actor.id, role, "suspended" if status else "active", actor, d)


# --- one well-formed statement of each kind --------------------------------------------------


@dataclass
class Request:
    """A statement, how it is submitted, and whether its effect is visible in the projections
    (``effect`` is None for kinds that change no projection)."""

    stmt: SignedStatement
    submit: Callable[[], Receipt]
    effect: Callable[[], bool] | None = None


def _append(env: Env, stmt: SignedStatement) -> Callable[[], Receipt]:
    return lambda: env.d.append(stmt)


def build_note(env: Env, who: Signer) -> Request:
    stmt = who.sign("note", text="authorization matrix")
    return Request(stmt, _append(env, stmt))


def build_party_register(env: Env, who: Signer) -> Request:
    key = Ed25519PrivateKey.generate()
    fields = register_fields(
        public_key_bytes(key), "counter", f"新开窗口 {env.unique()}",
        {"counter_type": "bus_station"}, proof_of_possession(key, "counter"),
    )  # fmt: skip
    stmt = who.sign("party.register", **fields)
    return Request(stmt, _append(env, stmt), lambda: env.d.store.party(fields["party"]) is not None)


def build_party_rotate(env: Env, who: Signer) -> Request:
    key = Ed25519PrivateKey.generate()
    pub = public_key_bytes(key)
    pop = b64encode(key.sign(pop_message(who.id, who.role)))
    stmt = who.sign("party.rotate", key=b64encode(pub), pop=pop)

    def rotated() -> bool:
        party = env.d.store.party(who.id)
        return party is not None and party.public_key == pub

    return Request(stmt, _append(env, stmt), rotated)


def build_party_suspend(env: Env, who: Signer) -> Request:
    target = env.register("counter")
    stmt = who.sign("party.suspend", party=target.id, reason="key_compromise")

    def suspended() -> bool:
        party = env.d.store.party(target.id)
        return party is not None and party.status == "suspended"

    return Request(stmt, _append(env, stmt), suspended)


def build_party_reinstate(env: Env, who: Signer) -> Request:
    target = env.register("counter")
    env.d.suspend(target.id, "key_compromise")
    key = Ed25519PrivateKey.generate()
    pub = public_key_bytes(key)
    pop = b64encode(key.sign(pop_message(target.id, "counter")))
    stmt = who.sign("party.reinstate", party=target.id, key=b64encode(pub), pop=pop)

    def reinstated() -> bool:
        party = env.d.store.party(target.id)
        return party is not None and party.status == "active" and party.public_key == pub

    return Request(stmt, _append(env, stmt), reinstated)


def build_catalog_class(env: Env, who: Signer) -> Request:
    base = next(c for c in catalog_default.CLASSES if c["class"] == "resident_id_card")
    definition = {**base, "class": f"authz_class_{env.unique()}"}
    stmt = who.sign("catalog.class", definition=definition)
    return Request(
        stmt, _append(env, stmt), lambda: env.d.store.catalog_class(definition["class"]) is not None
    )


def build_catalog_scenario(env: Env, who: Signer) -> Request:
    base = next(s for s in catalog_default.SCENARIOS if s["scenario"] == "bus_ticket")
    definition = {**base, "scenario": f"authz_scenario_{env.unique()}"}
    stmt = who.sign("catalog.scenario", definition=definition)
    return Request(
        stmt, _append(env, stmt), lambda: env.d.store.scenario(definition["scenario"]) is not None
    )


def build_asset_issue(env: Env, who: Signer) -> Request:
    d, cast = env.d, env.cast
    values = {
        "name": cast.citizen_name, "sex": "女", "ethnicity": "汉", "birth_date": "1990-03-07",
        "address": "山东省聊城市东昌府区柳园南路1号", "id_number": cast.citizen_id_number,
        "valid_from": "2020-01-01", "valid_until": "2040-01-01",
    }  # fmt: skip
    disclosures = make_disclosures(values, os.urandom)
    stmt = who.sign(
        "asset.issue",
        **issue_fields("resident_id_card", cast.citizen.id, digests_of(d.ledger.suite, disclosures),
                       "2020-01-01", "2040-01-01"),
    )  # fmt: skip
    aid = asset_id(who.id, stmt.nonce)
    return Request(
        stmt,
        lambda: d.issue(stmt, disclosures),
        lambda: d.store.asset(aid) is not None or d.store.vault_get(aid) is not None,
    )


def build_asset_revoke(env: Env, who: Signer) -> Request:
    aid = env.id_card(env.cast.citizen)
    stmt = who.sign("asset.revoke", asset=aid, reason="data_error")
    return Request(stmt, _append(env, stmt), lambda: _asset_status(env, aid) == "revoked")


def build_asset_erase(env: Env, who: Signer) -> Request:
    own = who.own("holder")
    aid = env.id_card(own or env.cast.citizen)
    basis = "lawful_request" if who.role == "platform" else "holder_request"
    stmt = who.sign("asset.erase", asset=aid, basis=basis)

    def erased() -> bool:
        return _asset_status(env, aid) == "erased" or env.d.store.vault_get(aid) is None

    return Request(stmt, lambda: env.d.erase(stmt), erased)


def build_grant_create(env: Env, who: Signer) -> Request:
    now = env.d.ledger.clock()
    stmt = who.sign(
        "grant.create",
        **create_fields(
            scenario="bus_ticket", purpose="ticket_purchase", scope=ID_CARD_SCOPE,
            grantee=env.cast.bus.id, not_before=format_ts(now - timedelta(minutes=1)),
            expires=format_ts(now + timedelta(hours=1)), max_uses=3,
        ),
    )  # fmt: skip
    gid = grant_id(who.id, stmt.nonce)
    return Request(stmt, _append(env, stmt), lambda: env.d.store.grant(gid) is not None)


def build_grant_revoke(env: Env, who: Signer) -> Request:
    gid = env.grant(who.own("holder") or env.cast.citizen, env.cast.bus)
    stmt = who.sign("grant.revoke", grant=gid)
    return Request(stmt, _append(env, stmt), lambda: _grant_status(env, gid) == "revoked")


def build_access_read(env: Env, who: Signer) -> Request:
    counter = who.own("counter") or env.cast.bus
    aid = env.id_card(env.cast.citizen)
    gid = env.grant(env.cast.citizen, counter)
    stmt = who.sign("access.read", **read_fields(gid, aid, ["name"], "ticket_purchase"))

    def used() -> bool:
        grant = env.d.store.grant(gid)
        return grant is not None and grant.uses > 0

    return Request(stmt, lambda: env.d.read(stmt).receipt, used)


def build_access_read_offline(env: Env, who: Signer) -> Request:
    counter = who.own("counter") or env.cast.bus
    aid = env.id_card(env.cast.citizen)
    gid = env.grant(env.cast.citizen, counter)
    read = read_fields(gid, aid, ["name"], "ticket_purchase")
    stmt = who.sign("access.read_offline", **offline_fields(read, env.d.ledger.size() - 1))

    def used() -> bool:
        grant = env.d.store.grant(gid)
        return grant is not None and grant.uses > 0

    return Request(stmt, _append(env, stmt), used)


def build_asset_disclose(env: Env, who: Signer) -> Request:
    aid = env.id_card(who.own("holder") or env.cast.citizen)
    stmt = who.sign("asset.disclose", asset=aid, fields=["name"])
    return Request(stmt, lambda: asyncio.run(env.d.disclose_async(stmt)).receipt)


def build_access_denied(env: Env, who: Signer) -> Request:
    d = env.d
    refusals = d.stats()["refusals"]
    stmt = who.sign(
        "access.denied",
        request=hashlib.sha256(os.urandom(16)).hexdigest(),
        counter=env.cast.bus.id,
        grant=None,
        asset=None,
        reason="bad_secret",
    )
    return Request(stmt, _append(env, stmt), lambda: d.stats()["refusals"] == refusals + 1)


def build_request_denied(env: Env, who: Signer) -> Request:
    stmt = who.sign(
        "request.denied",
        **denied_fields(env.cast.citizen.id, "grant.create", os.urandom(16), "replay"),
    )
    return Request(stmt, _append(env, stmt))


def build_sheet_issue(env: Env, who: Signer) -> Request:
    counter = who.own("counter") or env.cast.bus
    aid, receipt = env.committed_read(counter)
    item = {"seq": receipt.seq, "leaf": receipt.leaf_hash.hex(), "asset": aid, "outcome": "read"}
    stmt = who.sign("sheet.issue", application="hygiene_licence", items=[item])
    return Request(stmt, _append(env, stmt))


def build_audit_query(env: Env, who: Signer) -> Request:
    stmt = who.sign("audit.query", query={"counter": env.cast.bus.id})
    return Request(stmt, lambda: env.d.audit(stmt)[0])


def _asset_status(env: Env, aid: str) -> str | None:
    asset = env.d.store.asset(aid)
    return asset.status if asset else None


def _grant_status(env: Env, gid: str) -> str | None:
    grant = env.d.store.grant(gid)
    return grant.status if grant else None


BUILDERS: dict[str, Callable[[Env, Signer], Request]] = {
    "note": build_note,
    "party.register": build_party_register,
    "party.rotate": build_party_rotate,
    "party.suspend": build_party_suspend,
    "party.reinstate": build_party_reinstate,
    "catalog.class": build_catalog_class,
    "catalog.scenario": build_catalog_scenario,
    "asset.issue": build_asset_issue,
    "asset.revoke": build_asset_revoke,
    "asset.erase": build_asset_erase,
    "asset.disclose": build_asset_disclose,
    "grant.create": build_grant_create,
    "grant.revoke": build_grant_revoke,
    "access.read": build_access_read,
    "access.read_offline": build_access_read_offline,
    "access.denied": build_access_denied,
    "request.denied": build_request_denied,
    "sheet.issue": build_sheet_issue,
    "audit.query": build_audit_query,
}


def expected_outcome(kind: str, who: Signer) -> str:
    """ "admitted", "unknown_actor", or the reason of the expected `Refused`."""
    if who.status == "unregistered":
        return "unknown_actor"
    if who.role not in RULES.kinds[kind].roles:
        return "role"
    return "actor_suspended" if who.status == "suspended" else "admitted"


# --- the matrix -----------------------------------------------------------------------------------


def test_matrix_covers_every_kind_and_role() -> None:
    assert set(BUILDERS) == set(KINDS)
    # Every role may make something, and every kind but genesis is allowed to some role.
    for role in ROLES:
        assert any(role in RULES.kinds[k].roles for k in KINDS), role
    for kind in KINDS:
        assert RULES.kinds[kind].roles & set(ROLES), kind
    # The rules as DESIGN.md states them (a table to read, and to fail if the rules drift).
    allowed = {k: set(RULES.kinds[k].roles) for k in KINDS}
    assert allowed == {
        "note": {"platform"},
        "party.register": {"platform"},
        "party.rotate": {"issuer", "holder", "counter", "auditor"},
        "party.suspend": {"platform"},
        "party.reinstate": {"platform"},
        "catalog.class": {"platform"},
        "catalog.scenario": {"platform"},
        "asset.issue": {"issuer"},
        "asset.revoke": {"issuer"},
        "asset.erase": {"holder", "platform"},
        "asset.disclose": {"holder"},
        "grant.create": {"holder"},
        "grant.revoke": {"holder"},
        "access.read": {"counter"},
        "access.read_offline": {"counter"},
        "access.denied": {"platform"},
        "request.denied": {"platform"},
        "sheet.issue": {"counter"},
        "audit.query": {"auditor"},
    }


def check_request_denied_entry(
    env: Env, refused: Refused, stmt: SignedStatement, size: int
) -> None:
    """A refused statement was recorded: one ``request.denied`` entry, provably in the
    ledger, naming the actor, the kind, the hash of the statement and the reason."""
    d = env.d
    assert d.ledger.size() == size + 1
    assert refused.receipt is not None
    entry, checkpoint = refused.receipt.verify([d.ledger.verifier], origin=d.ledger.origin)
    assert (entry.seq, checkpoint.size) == (size, size + 1)
    assert entry.kind == "request.denied"
    assert entry.statement.actor == d.ledger.platform_id
    assert entry.statement.stmt["party"] == stmt.actor
    assert entry.statement.stmt["what"] == stmt.kind
    assert entry.statement.stmt["request"] == hashlib.sha256(stmt.body).hexdigest()
    assert entry.statement.stmt["reason"] == refused.reason


def check_denied_entry(env: Env, refused: Refused, stmt: SignedStatement, size: int) -> None:
    """A refused read was recorded: one ``access.denied`` entry, provably in the ledger."""
    d = env.d
    assert d.ledger.size() == size + 1
    assert refused.receipt is not None
    entry, checkpoint = refused.receipt.verify([d.ledger.verifier], origin=d.ledger.origin)
    assert entry.seq == size
    assert checkpoint.size == size + 1
    assert entry.kind == "access.denied"
    assert entry.statement.actor == d.ledger.platform_id
    recorded = entry.statement.stmt
    assert recorded["reason"] == refused.reason
    assert recorded["counter"] == stmt.actor
    assert recorded["request"] == request_hash(stmt)
    assert recorded["grant"] == stmt.stmt["grant"]
    assert recorded["asset"] == stmt.stmt["asset"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("signer", SIGNERS)
def test_authorization_matrix(env: Env, signer: str, kind: str) -> None:
    d = env.d
    who = make_signer(env, signer)
    request = BUILDERS[kind](env, who)
    if who.status == "suspended":
        d.suspend(who.id, "key_compromise")
    outcome = expected_outcome(kind, who)
    size = d.ledger.size()

    if outcome == "admitted":
        receipt = request.submit()
        assert d.ledger.size() == size + 1
        entry, _ = receipt.verify([d.ledger.verifier], origin=d.ledger.origin)
        assert entry.seq == size
        assert entry.statement.body == request.stmt.body
        if request.effect is not None:
            assert request.effect()
        return

    if outcome == "unknown_actor":
        with pytest.raises(UnknownActor):
            request.submit()
        # Not authenticated: nobody is known to have asked, so nothing is recorded.
        assert d.ledger.size() == size
    else:
        with pytest.raises(Refused) as info:
            request.submit()
        assert info.value.reason == outcome
        if kind in ("access.read", "access.read_offline"):
            check_denied_entry(env, info.value, request.stmt, size)
        else:
            check_request_denied_entry(env, info.value, request.stmt, size)
    if request.effect is not None:
        assert not request.effect()


# --- privilege escalation, by name ---------------------------------------------------------------


def refused(env: Env, submit: Callable[[], Any], reason: str) -> None:
    """``submit`` is refused for ``reason``, and the attempt is recorded (one entry)."""
    size = env.d.ledger.size()
    with pytest.raises(Refused) as info:
        submit()
    assert info.value.reason == reason
    assert env.d.ledger.size() == size + 1
    assert info.value.receipt is not None


def counter_issues_an_asset(env: Env) -> None:
    counter = env.register("counter")
    request = build_asset_issue(env, make_signer_for(env, counter))
    refused(env, request.submit, "role")
    assert request.effect is not None
    assert not request.effect()


def holder_revokes_another_holders_grant(env: Env) -> None:
    victim, intruder = env.register("holder"), env.register("holder")
    gid = env.grant(victim, env.cast.bus)
    refused(
        env, lambda: env.d.append(intruder.sign(env.d, "grant.revoke", grant=gid)), "not_holder"
    )
    assert _grant_status(env, gid) == "active"


def holder_erases_another_holders_asset(env: Env) -> None:
    victim, intruder = env.register("holder"), env.register("holder")
    aid = env.id_card(victim)
    stmt = intruder.sign(env.d, "asset.erase", asset=aid, basis="holder_request")
    refused(env, lambda: env.d.erase(stmt), "not_holder")
    assert _asset_status(env, aid) == "active"
    assert env.d.store.vault_get(aid) is not None


def holder_erases_another_holders_asset_claiming_a_lawful_request(env: Env) -> None:
    victim, intruder = env.register("holder"), env.register("holder")
    aid = env.id_card(victim)
    stmt = intruder.sign(env.d, "asset.erase", asset=aid, basis="lawful_request")
    refused(env, lambda: env.d.erase(stmt), "not_holder")
    assert env.d.store.vault_get(aid) is not None


def holder_grants_another_holders_asset(env: Env) -> None:
    victim, intruder = env.register("holder"), env.register("holder")
    aid = env.id_card(victim)
    now = env.d.ledger.clock()
    stmt = intruder.sign(
        env.d, "grant.create",
        **create_fields(
            scenario="bus_ticket", purpose="ticket_purchase", scope=ID_CARD_SCOPE,
            grantee=env.cast.bus.id, not_before=format_ts(now - timedelta(minutes=1)),
            expires=format_ts(now + timedelta(hours=1)), max_uses=3, assets=[aid],
        ),
    )  # fmt: skip
    refused(env, lambda: env.d.append(stmt), "asset_not_holders")


def auditor_writes_a_note(env: Env) -> None:
    auditor = env.register("auditor")
    stmt = auditor.sign(env.d, "note", text="the auditor would like to add something")
    refused(env, lambda: env.d.append(stmt), "role")


def auditor_issues_an_asset(env: Env) -> None:
    auditor = env.register("auditor")
    request = build_asset_issue(env, make_signer_for(env, auditor))
    refused(env, request.submit, "role")
    assert request.effect is not None
    assert not request.effect()


def issuer_revokes_outside_its_authority(env: Env) -> None:
    aid = env.id_card(env.cast.citizen)  # a public-security class; cast.health is not that
    stmt = env.cast.health.sign(env.d, "asset.revoke", asset=aid, reason="data_error")
    refused(env, lambda: env.d.append(stmt), "not_authority")
    assert _asset_status(env, aid) == "active"


def issuer_issues_outside_its_authority(env: Env) -> None:
    request = build_asset_issue(env, make_signer_for(env, env.cast.health))
    refused(env, request.submit, "not_authority")
    assert request.effect is not None
    assert not request.effect()


def holder_registers_itself(env: Env) -> None:
    # A key nobody registered cannot sign anything: not even its own registration.
    key = Ed25519PrivateKey.generate()
    fields = register_fields(
        public_key_bytes(key), "holder", "", {"subject": "person"},
        proof_of_possession(key, "holder"),
    )  # fmt: skip
    newcomer = Actor(key, "holder")
    size = env.d.ledger.size()
    with pytest.raises(UnknownActor):
        env.d.append(newcomer.sign(env.d, "party.register", **fields))
    assert env.d.ledger.size() == size
    assert env.d.store.party(newcomer.id) is None


def holder_registers_another_holder(env: Env) -> None:
    holder = env.register("holder")
    key = Ed25519PrivateKey.generate()
    fields = register_fields(
        public_key_bytes(key), "holder", "", {"subject": "person"},
        proof_of_possession(key, "holder"),
    )  # fmt: skip
    refused(env, lambda: env.d.append(holder.sign(env.d, "party.register", **fields)), "role")
    assert env.d.store.party(fields["party"]) is None


def holder_registers_a_counter(env: Env) -> None:
    holder = env.register("holder")
    key = Ed25519PrivateKey.generate()
    fields = register_fields(
        public_key_bytes(key), "counter", "自封窗口", {"counter_type": "bus_station"},
        proof_of_possession(key, "counter"),
    )  # fmt: skip
    refused(env, lambda: env.d.append(holder.sign(env.d, "party.register", **fields)), "role")


def counter_suspends_a_competitor(env: Env) -> None:
    counter, rival = env.register("counter"), env.register("counter")
    stmt = counter.sign(env.d, "party.suspend", party=rival.id, reason="key_compromise")
    refused(env, lambda: env.d.append(stmt), "role")
    rival_row = env.d.store.party(rival.id)
    assert rival_row is not None
    assert rival_row.status == "active"


def counter_reads_with_another_counters_grant(env: Env) -> None:
    aid = env.id_card(env.cast.citizen)
    gid = env.grant(env.cast.citizen, env.cast.bus)
    intruder = env.register("counter")  # same counter type as the grantee
    stmt = intruder.sign(env.d, "access.read", **read_fields(gid, aid, ["name"], "ticket_purchase"))
    refused(env, lambda: env.d.read(stmt), "wrong_counter")
    grant = env.d.store.grant(gid)
    assert grant is not None
    assert grant.uses == 0


def counter_reads_another_holders_asset_under_a_grant(env: Env) -> None:
    victim = env.register("holder")
    aid = env.id_card(victim)
    gid = env.grant(env.cast.citizen, env.cast.bus)  # the citizen's grant, not the victim's
    stmt = env.cast.bus.sign(
        env.d, "access.read", **read_fields(gid, aid, ["name"], "ticket_purchase")
    )
    refused(env, lambda: env.d.read(stmt), "asset_not_in_grant")


def make_signer_for(env: Env, actor: Actor) -> Signer:
    return Signer(actor.role, actor.id, actor.role, "active", actor, env.d)


ESCALATIONS = [
    counter_issues_an_asset,
    holder_revokes_another_holders_grant,
    holder_erases_another_holders_asset,
    holder_erases_another_holders_asset_claiming_a_lawful_request,
    holder_grants_another_holders_asset,
    auditor_writes_a_note,
    auditor_issues_an_asset,
    issuer_revokes_outside_its_authority,
    issuer_issues_outside_its_authority,
    holder_registers_itself,
    holder_registers_another_holder,
    holder_registers_a_counter,
    counter_suspends_a_competitor,
    counter_reads_with_another_counters_grant,
    counter_reads_another_holders_asset_under_a_grant,
]


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.__name__.replace("_", "-")) for c in ESCALATIONS]
)
def test_privilege_escalation_is_refused(env: Env, case: Callable[[Env], None]) -> None:
    case(env)


def test_release_needs_the_statements_own_committed_read(env: Env) -> None:
    d, cast = env.d, env.cast
    aid = env.id_card(cast.citizen)
    gid = env.grant(cast.citizen, cast.bus)
    admitted = d.read(
        cast.bus.sign(d, "access.read", **read_fields(gid, aid, ["name"], "ticket_purchase"))
    )
    # Another counter, fields beyond both the grant and the scenario, never submitted.
    forged = cast.hotel.sign(
        d, "access.read",
        **read_fields(gid, aid, ["name", "id_number", "address", "birth_date"], "anything"),
    )  # fmt: skip
    size = d.ledger.size()
    with pytest.raises(ChainledgerError):
        d.release(forged, admitted.receipt)
    assert d.ledger.size() == size


def test_sheet_item_must_name_the_entrys_own_leaf(env: Env) -> None:
    counter = env.register("counter")
    aid, receipt = env.committed_read(counter)
    forged_leaf = hashlib.sha256(b"not an entry of this ledger").hexdigest()
    assert forged_leaf != receipt.leaf_hash.hex()
    item = {"seq": receipt.seq, "leaf": forged_leaf, "asset": aid, "outcome": "read"}
    stmt = counter.sign(env.d, "sheet.issue", application="hygiene_licence", items=[item])
    size = env.d.ledger.size()
    with pytest.raises(Refused):
        env.d.append(stmt)
    assert env.d.ledger.size() == size
