"""Parties and their keys: rotation, suspension, reinstatement, registration, identity binding.

A party's id never changes; its key does (rotation, signed by the current key; or
reinstatement by the platform after a suspension). Signatures are checked against the
key the actor holds when the statement is sequenced, so an old key is refused as a bad
signature (not authenticated, so never recorded), while entries it signed before stay
valid: `verify_ledger` checks each against the key of its time.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from domain_support import Actor, Cast, make_cast

from chainledger.access import read_fields
from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.crypto import party_id, public_key_bytes
from chainledger.domain import Domain, domain_rules
from chainledger.encoding import b64encode
from chainledger.entry import decode_entry
from chainledger.errors import BadSignature, NotFound, SchemaError
from chainledger.parties import binding_hash, pop_message, proof_of_possession, register_fields
from chainledger.receipt import Receipt
from chainledger.rules import Refused
from chainledger.statement import SignedStatement, make_statement, sign_statement
from chainledger.verify import verify_ledger

ID_CARD_SCOPE = {"resident_id_card": ["name", "id_number"]}


@pytest.fixture
def cast(tmp_path: Path) -> Iterator[Cast]:
    """A fresh ledger, for tests that change the cast's parties."""
    c = make_cast(tmp_path / "ledger.db")
    yield c
    c.domain.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    """One ledger for the tests whose every request is refused (they change nothing)."""
    c = make_cast(tmp_path_factory.mktemp("parties") / "ledger.db")
    yield c
    try:
        verifies(c.domain)
    finally:
        c.domain.close()


def sign_as(
    d: Domain, actor: str, signing_key: Ed25519PrivateKey, kind: str, /, **fields: Any
) -> SignedStatement:
    """A statement by party ``actor`` signed with ``signing_key`` (its current key, or not)."""
    stmt = make_statement(kind, actor, d.ledger.clock(), os.urandom, **fields)
    return sign_statement(stmt, signing_key)


def pop_for(key: Ed25519PrivateKey, party: str, role: str) -> str:
    """``key``'s proof of possession for ``party`` (whose id is not derived from ``key``)."""
    return b64encode(key.sign(pop_message(party, role)))


def rotate(
    d: Domain, party: str, role: str, old: Ed25519PrivateKey, new: Ed25519PrivateKey
) -> Receipt:
    return d.append(
        sign_as(d, party, old, "party.rotate", key=b64encode(public_key_bytes(new)),
                pop=pop_for(new, party, role))
    )  # fmt: skip


def id_card_statement(
    cast: Cast, issuer: str, key: Ed25519PrivateKey
) -> tuple[SignedStatement, dict[str, list[Any]]]:
    """A resident ID card for the citizen, signed by ``issuer`` with ``key``."""
    d = cast.domain
    values = {
        "name": cast.citizen_name, "sex": "女", "ethnicity": "汉", "birth_date": "1990-03-07",
        "address": "山东省聊城市东昌府区柳园南路1号", "id_number": cast.citizen_id_number,
        "valid_from": "2020-01-01", "valid_until": "2040-01-01",
    }  # fmt: skip
    disclosures = make_disclosures(values, os.urandom)
    stmt = sign_as(
        d, issuer, key, "asset.issue",
        **issue_fields("resident_id_card", cast.citizen.id, digests_of(d.ledger.suite, disclosures),
                       "2020-01-01", "2040-01-01"),
    )  # fmt: skip
    return stmt, disclosures


def refused(
    d: Domain, submit: Callable[[], Any], reason: str, *, recorded: bool = False
) -> Refused:
    """``submit`` is refused for ``reason`` and adds no entry, or (``recorded``: a security
    event, see chainledger.denials) exactly its ``request.denied`` record."""
    size = d.ledger.size()
    with pytest.raises(Refused) as info:
        submit()
    assert info.value.reason == reason
    assert (info.value.receipt is not None) == recorded
    assert d.ledger.size() == size + (1 if recorded else 0)
    return info.value


def verifies(d: Domain) -> None:
    report = verify_ledger(d.store, rules=domain_rules())
    assert report.entries == d.ledger.size()


# --- rotation ------------------------------------------------------------------------------------


def test_rotated_issuer_signs_with_the_new_key_only_and_history_verifies(cast: Cast) -> None:
    d = cast.domain
    police, old = cast.police.id, cast.police.key
    before, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    before_row = d.store.asset(before)
    assert before_row is not None
    new = Ed25519PrivateKey.generate()

    receipt = rotate(d, police, "issuer", old, new)

    row = d.store.party(police)
    assert row is not None
    assert (row.public_key, row.since_seq, row.status) == (
        public_key_bytes(new),
        receipt.seq,
        "active",
    )
    # The new key works.
    stmt, disclosures = id_card_statement(cast, police, new)
    d.issue(stmt, disclosures)
    assert d.store.asset(asset_id(police, stmt.nonce)) is not None
    # The old key does not: a bad signature, not even recorded.
    stale, stale_disclosures = id_card_statement(cast, police, old)
    size = d.ledger.size()
    with pytest.raises(BadSignature):
        d.issue(stale, stale_disclosures)
    assert d.ledger.size() == size
    assert d.store.asset(asset_id(police, stale.nonce)) is None
    assert d.store.vault_get(asset_id(police, stale.nonce)) is None
    # What the old key signed before the rotation stands: it verifies with that key only.
    entry = decode_entry(d.ledger.entry(before_row.seq))
    entry.statement.verify(public_key_bytes(old))
    with pytest.raises(BadSignature):
        entry.statement.verify(public_key_bytes(new))
    # The rotation itself is signed by the old key.
    decode_entry(receipt.entry).statement.verify(public_key_bytes(old))
    # Both keys stay known, each from the entry that gave it.
    registered = d.store.party_keys(police)[0][0]
    assert d.store.party_keys(police) == [
        (registered, public_key_bytes(old)),
        (receipt.seq, public_key_bytes(new)),
    ]
    verifies(d)


def test_key_history_of_an_older_ledger_is_backfilled_from_its_entries(
    cast: Cast, tmp_path: Path
) -> None:
    d = cast.domain
    new = Ed25519PrivateKey.generate()
    rotate(d, cast.police.id, "issuer", cast.police.key, new)
    d.suspend(cast.bus.id, "key_compromise")
    bus_new = Ed25519PrivateKey.generate()
    d.reinstate(cast.bus.id, public_key_bytes(bus_new), pop_for(bus_new, cast.bus.id, "counter"))
    want = {p.id: d.store.party_keys(p.id) for p in d.store.parties()}
    assert len(want[cast.bus.id]) == 2
    db = d.store.path
    d.close()
    # The ledger as migration 0003 left it: no key history yet.
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("DROP TABLE party_keys")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0004_party_keys'")
        conn.commit()
    with Domain.open(db) as reopened:
        assert {p.id: reopened.store.party_keys(p.id) for p in reopened.store.parties()} == want
        verifies(reopened)


def test_rotated_counter_reads_with_the_new_key_and_an_old_key_read_is_not_recorded(
    cast: Cast,
) -> None:
    d = cast.domain
    aid, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE)
    new = Ed25519PrivateKey.generate()
    rotate(d, cast.bus.id, "counter", cast.bus.key, new)
    fields = read_fields(gid, aid, ["name"], "ticket_purchase")

    size, history = d.ledger.size(), d.history(cast.citizen.id)
    with pytest.raises(BadSignature):
        d.read(sign_as(d, cast.bus.id, cast.bus.key, "access.read", **fields))
    # Refused before authentication: nobody is known to have asked, so no access.denied.
    assert d.ledger.size() == size
    assert d.history(cast.citizen.id) == history

    result = d.read(sign_as(d, cast.bus.id, new, "access.read", **fields))
    assert set(result.disclosures) == {"name"}
    assert [h.outcome for h in d.history(cast.citizen.id)] == ["read"]
    verifies(d)


def test_two_rotations_in_a_row(cast: Cast) -> None:
    d = cast.domain
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    rotate(d, cast.auditor.id, "auditor", cast.auditor.key, first)
    size = d.ledger.size()
    # The original key can no longer rotate, nor can any key but the current one.
    for stale in (cast.auditor.key, second):
        with pytest.raises(BadSignature):
            rotate(d, cast.auditor.id, "auditor", stale, second)
    assert d.ledger.size() == size
    rotate(d, cast.auditor.id, "auditor", first, second)
    row = d.store.party(cast.auditor.id)
    assert row is not None
    assert row.public_key == public_key_bytes(second)
    # The id stays the one derived from the first key.
    assert cast.auditor.id == party_id(public_key_bytes(cast.auditor.key))
    verifies(d)


BAD_POPS: dict[str, Callable[[Ed25519PrivateKey, Actor], str]] = {
    # The pop must be the *new* key's signature of pop_message(party id, role).
    "signed_by_another_key": lambda new, a: pop_for(Ed25519PrivateKey.generate(), a.id, a.role),
    "signed_by_the_current_key": lambda new, a: pop_for(a.key, a.id, a.role),
    "for_another_role": lambda new, a: pop_for(new, a.id, "issuer"),
    "for_another_party": lambda new, a: pop_for(new, party_id(os.urandom(32)), a.role),
    # proof_of_possession() is for a registration: it signs the new key's own party id.
    "registration_pop_of_the_new_key": lambda new, a: proof_of_possession(new, a.role),
    "all_zero_signature": lambda new, a: b64encode(bytes(64)),
}


@pytest.mark.parametrize("bad_pop", sorted(BAD_POPS))
def test_rotation_without_a_valid_proof_of_possession_is_refused(
    shared: Cast, bad_pop: str
) -> None:
    cast, d = shared, shared.domain
    new = Ed25519PrivateKey.generate()
    pop = BAD_POPS[bad_pop](new, cast.bus)
    stmt = cast.bus.sign(d, "party.rotate", key=b64encode(public_key_bytes(new)), pop=pop)
    refused(d, lambda: d.append(stmt), "bad_proof_of_possession")
    row = d.store.party(cast.bus.id)
    assert row is not None
    assert row.public_key == public_key_bytes(cast.bus.key)


@pytest.mark.parametrize("pop", ["not base64!", b64encode(bytes(32))])
def test_rotation_with_a_malformed_pop_is_a_schema_error(shared: Cast, pop: str) -> None:
    cast, d = shared, shared.domain
    new = Ed25519PrivateKey.generate()
    size = d.ledger.size()
    with pytest.raises(SchemaError) as info:
        d.append(cast.bus.sign(d, "party.rotate", key=b64encode(public_key_bytes(new)), pop=pop))
    assert info.value.field == "pop"
    assert d.ledger.size() == size


def test_rotating_to_the_same_key_is_refused(shared: Cast) -> None:
    cast, d = shared, shared.domain
    key = cast.police.key
    stmt = cast.police.sign(
        d,
        "party.rotate",
        key=b64encode(public_key_bytes(key)),
        pop=pop_for(key, cast.police.id, "issuer"),
    )
    refused(d, lambda: d.append(stmt), "same_key")


# --- suspension and reinstatement ----------------------------------------------------------------


def test_suspended_counter_read_is_refused_and_recorded(cast: Cast) -> None:
    d = cast.domain
    aid, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE)
    d.suspend(cast.bus.id, "key_compromise")
    row = d.store.party(cast.bus.id)
    assert row is not None
    assert row.status == "suspended"

    read = cast.bus.sign(d, "access.read", **read_fields(gid, aid, ["name"], "ticket_purchase"))
    size = d.ledger.size()
    with pytest.raises(Refused) as info:
        d.read(read)
    assert info.value.reason == "actor_suspended"
    assert d.ledger.size() == size + 1
    entry, _ = info.value.receipt.verify([d.ledger.verifier], origin=d.ledger.origin)
    assert entry.kind == "access.denied"
    assert entry.seq == size
    assert entry.statement.stmt["reason"] == "actor_suspended"
    assert entry.statement.stmt["counter"] == cast.bus.id
    [row_] = d.history(cast.citizen.id)
    assert (row_.outcome, row_.reason, row_.counter, row_.seq) == (
        "denied", "actor_suspended", cast.bus.id, size,
    )  # fmt: skip
    grant = d.store.grant(gid)
    assert grant is not None
    assert grant.uses == 0
    # A suspended counter cannot rotate its way out either.
    new = Ed25519PrivateKey.generate()
    rot = cast.bus.sign(
        d,
        "party.rotate",
        key=b64encode(public_key_bytes(new)),
        pop=pop_for(new, cast.bus.id, "counter"),
    )
    refused(d, lambda: d.append(rot), "actor_suspended", recorded=True)
    verifies(d)


def test_suspended_issuer_cannot_issue_or_revoke_and_its_history_stands(cast: Cast) -> None:
    d = cast.domain
    aid, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE)
    d.suspend(cast.police.id, "key_compromise")

    stmt, disclosures = id_card_statement(cast, cast.police.id, cast.police.key)
    refused(d, lambda: d.issue(stmt, disclosures), "actor_suspended", recorded=True)
    assert d.store.vault_get(asset_id(cast.police.id, stmt.nonce)) is None
    revoke = cast.police.sign(d, "asset.revoke", asset=aid, reason="data_error")
    refused(d, lambda: d.append(revoke), "actor_suspended", recorded=True)
    # What it issued before the suspension is not rewritten: still active, still readable.
    asset = d.store.asset(aid)
    assert asset is not None
    assert asset.status == "active"
    result = d.read(
        cast.bus.sign(d, "access.read", **read_fields(gid, aid, ["name"], "ticket_purchase"))
    )
    assert result.asset.issuer == cast.police.id
    decode_entry(result.issue_entry).statement.verify(public_key_bytes(cast.police.key))
    verifies(d)


@pytest.mark.parametrize(
    ("target", "reason"),
    [("platform", "platform_key"), ("unknown", "party_unknown"), ("suspended", "not_active")],
)
def test_suspension_refusals(shared: Cast, target: str, reason: str) -> None:
    d = shared.domain
    suspended = Actor(Ed25519PrivateKey.generate(), "counter")
    if target == "suspended":
        shared.register(suspended, "已停用窗口", {"counter_type": "bus_station"})
        d.suspend(suspended.id, "key_compromise")
    party = {
        "platform": d.ledger.platform_id,
        "unknown": party_id(public_key_bytes(Ed25519PrivateKey.generate())),
        "suspended": suspended.id,
    }[target]
    refused(d, lambda: d.suspend(party, "key_compromise"), reason)


def test_reinstatement_needs_a_new_key_with_its_proof(cast: Cast) -> None:
    d = cast.domain
    bus, old = cast.bus.id, cast.bus.key
    aid, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE)
    fields = read_fields(gid, aid, ["name"], "ticket_purchase")
    new = Ed25519PrivateKey.generate()
    new_pub = public_key_bytes(new)

    refused(d, lambda: d.reinstate(bus, new_pub, pop_for(new, bus, "counter")), "not_suspended")
    d.suspend(bus, "key_compromise")
    refused(
        d, lambda: d.reinstate(bus, public_key_bytes(old), pop_for(old, bus, "counter")), "same_key"
    )
    refused(
        d,
        lambda: d.reinstate(bus, new_pub, pop_for(old, bus, "counter")),
        "bad_proof_of_possession",
    )
    refused(
        d, lambda: d.reinstate(bus, new_pub, pop_for(new, bus, "issuer")), "bad_proof_of_possession"
    )
    refused(
        d,
        lambda: d.reinstate(d.ledger.platform_id, new_pub, pop_for(new, bus, "counter")),
        "platform_key",
    )

    receipt = d.reinstate(bus, new_pub, pop_for(new, bus, "counter"))
    row = d.store.party(bus)
    assert row is not None
    assert (row.status, row.public_key, row.since_seq) == ("active", new_pub, receipt.seq)
    # The compromised key stays dead; the new one reads.
    size = d.ledger.size()
    with pytest.raises(BadSignature):
        d.read(sign_as(d, bus, old, "access.read", **fields))
    assert d.ledger.size() == size
    assert set(d.read(sign_as(d, bus, new, "access.read", **fields)).disclosures) == {"name"}
    verifies(d)


# --- registration ---------------------------------------------------------------------------------


def register_holder(
    d: Domain,
    key: Ed25519PrivateKey,
    *,
    name: str = "",
    real_id: str | None,
    pop: str | None = None,
) -> Receipt:
    return d.register(
        public_key_bytes(key), "holder", name=name, attrs={"subject": "person"},
        pop=pop or proof_of_possession(key, "holder"), real_id=real_id,
    )  # fmt: skip


REGISTRATION_REFUSALS: dict[str, tuple[type[Exception], str]] = {
    "duplicate_party": (Refused, "already_registered"),
    "holder_with_a_name": (SchemaError, "name"),
    "holder_without_an_identity_check": (SchemaError, "real_id"),
    "identity_already_has_a_wallet": (Refused, "identity_already_bound"),
    "counter_without_a_name": (SchemaError, "name"),
    "issuer_without_authorities": (SchemaError, "attrs"),
    "pop_of_another_key": (Refused, "bad_proof_of_possession"),
    "pop_for_another_role": (Refused, "bad_proof_of_possession"),
    "party_id_of_another_key": (SchemaError, "party"),
    "unknown_role": (SchemaError, "role"),
}


@pytest.mark.parametrize("case", sorted(REGISTRATION_REFUSALS))
def test_registration_refusals(shared: Cast, case: str) -> None:
    cast, d = shared, shared.domain
    key = Ed25519PrivateKey.generate()
    pub = public_key_bytes(key)
    fresh_id = "371502199001019999"
    attempts: dict[str, Callable[[], Any]] = {
        "duplicate_party": lambda: cast.register(
            cast.bus, "又一个窗口", {"counter_type": "bus_station"}
        ),
        "holder_with_a_name": lambda: register_holder(
            d, key, name=cast.citizen_name, real_id=fresh_id
        ),
        "holder_without_an_identity_check": lambda: register_holder(d, key, real_id=None),
        "identity_already_has_a_wallet": lambda: register_holder(
            d, key, real_id=cast.citizen_id_number
        ),
        "counter_without_a_name": lambda: d.register(
            pub,
            "counter",
            name="",
            attrs={"counter_type": "bus_station"},
            pop=proof_of_possession(key, "counter"),
        ),
        "issuer_without_authorities": lambda: d.register(
            pub,
            "issuer",
            name="某局",
            attrs={"authorities": []},
            pop=proof_of_possession(key, "issuer"),
        ),
        "pop_of_another_key": lambda: register_holder(
            d, key, real_id=fresh_id, pop=proof_of_possession(cast.other.key, "holder")
        ),
        "pop_for_another_role": lambda: register_holder(
            d, key, real_id=fresh_id, pop=proof_of_possession(key, "counter")
        ),
        "party_id_of_another_key": lambda: d.ledger.append(
            d.ledger.platform_statement(
                "party.register",
                **{
                    **register_fields(
                        pub, "auditor", "某科室", {}, proof_of_possession(key, "auditor")
                    ),
                    "party": cast.other.id,
                },
            )
        ),
        "unknown_role": lambda: d.register(
            pub, "superuser", name="root", attrs={}, pop=proof_of_possession(key, "superuser")
        ),
    }
    kind, detail = REGISTRATION_REFUSALS[case]
    size = d.ledger.size()
    with pytest.raises(kind) as info:
        attempts[case]()
    if isinstance(info.value, Refused):
        assert info.value.reason == detail
    else:
        assert isinstance(info.value, SchemaError)
        assert info.value.field == detail
    assert d.ledger.size() == size
    assert d.store.party(party_id(pub)) is None
    # No wallet was bound on the way, and the existing bindings are untouched.
    with pytest.raises(NotFound):
        d.holder_for(fresh_id)
    assert d.holder_for(cast.citizen_id_number) == cast.citizen.id


def test_holder_for_finds_the_wallet_and_bindings_hold_only_a_keyed_hash(cast: Cast) -> None:
    d = cast.domain
    assert d.holder_for(cast.citizen_id_number) == cast.citizen.id
    assert d.holder_for(cast.other_id_number) == cast.other.id
    with pytest.raises(NotFound) as info:
        d.holder_for("371502199001019999")
    assert "371502199001019999" not in str(info.value)
    # Holders are on the ledger without a name.
    for holder in (cast.citizen, cast.other):
        row = d.store.party(holder.id)
        assert row is not None
        assert (row.role, row.name) == ("holder", "")

    db = Path(d.store.path)
    with closing(sqlite3.connect(db)) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(bindings)")]
        rows = conn.execute("SELECT keyed_hash, party FROM bindings ORDER BY party").fetchall()
    assert columns == ["keyed_hash", "party"]
    key = d.secrets.binding_key
    assert sorted((bytes(h), p) for h, p in rows) == sorted(
        [
            (binding_hash(key, cast.citizen_id_number), cast.citizen.id),
            (binding_hash(key, cast.other_id_number), cast.other.id),
        ]
    )
    assert all(isinstance(h, bytes) and len(h) == 32 for h, _ in rows)

    d.close()  # checkpoints the WAL into the database file
    blobs = [p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name + "-")]
    blobs.append(db.read_bytes())
    for number in (cast.citizen_id_number, cast.other_id_number):
        # Neither the id number, nor an unkeyed hash of it that anyone could recompute.
        for needle in (
            number.encode(),
            number.encode("utf-16-le"),
            hashlib.sha256(number.encode()).digest(),
            hashlib.sha256(number.encode()).hexdigest().encode(),
        ):
            assert not any(needle in blob for blob in blobs)
    # The binding key lives only in the secrets file beside the database.
    assert not any(key in blob for blob in blobs)


def test_one_identity_gets_one_wallet_even_when_registered_concurrently(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = cast.domain
    real_id = "371502199001019999"
    # Both registrations pass Domain.register's check before either reaches the ledger. (If a
    # fix serializes check and append, the barrier times out and the second one is checked
    # after the first committed.)
    barrier = threading.Barrier(2, timeout=2)
    append = d.ledger.append

    def append_after_both_checked(statement: SignedStatement, attachment: Any = None) -> Receipt:
        with suppress(threading.BrokenBarrierError):
            barrier.wait()
        return append(statement, attachment)

    monkeypatch.setattr(d.ledger, "append", append_after_both_checked)
    keys = [Ed25519PrivateKey.generate() for _ in range(2)]
    outcomes: list[Receipt | Exception] = []

    def register(key: Ed25519PrivateKey) -> None:
        try:
            outcomes.append(register_holder(d, key, real_id=real_id))
        except (SchemaError, Refused) as exc:  # collected and checked below
            outcomes.append(exc)

    threads = [threading.Thread(target=register, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(outcomes) == 2
    # Exactly one wallet for the identity: the other registration is refused.
    kinds = sorted("Receipt" if isinstance(o, Receipt) else type(o).__name__ for o in outcomes)
    assert kinds in (
        ["Receipt", "SchemaError"],
        ["Receipt", "Refused"],
    )
    ids = [party_id(public_key_bytes(k)) for k in keys]
    registered = [p for p in ids if d.store.party(p) is not None]
    assert registered == [d.holder_for(real_id)]
