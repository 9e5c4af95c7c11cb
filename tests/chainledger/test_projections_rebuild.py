"""Projections are derived state: rebuilt from the entries they equal the live tables, and
`verify_ledger` names any projection table that was changed behind the ledger's back.

The workload is the small demo plus revocations, re-issues (``supersedes``), suspensions
(with a suspended counter's refused read), a reinstatement, grant revocations and a lawful
erasure. The database is built once; every tampering test works on its own copy.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger.access import read_fields
from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.crypto import load_private_key, public_key_bytes
from chainledger.demo import SCALES, build_demo
from chainledger.domain import Domain, domain_rules
from chainledger.encoding import b64encode
from chainledger.entry import decode_entry
from chainledger.errors import LedgerCorrupt
from chainledger.parties import pop_message
from chainledger.rules import Context, Refused
from chainledger.statement import SignedStatement, make_statement, sign_statement
from chainledger.store.sqlite import PROJECTIONS, SqliteStore
from chainledger.store.sqlite_projections import canonical_text
from chainledger.verify import verify_ledger

RULES = domain_rules()


@dataclass
class Built:
    db: Path  # the pristine database (closed, WAL checkpointed)
    size: int
    snapshot: dict[str, list[tuple[object, ...]]]
    facts: dict[str, Any]  # what the workload did, for the tests to check


def _sign(
    d: Domain, actor: str, key: Ed25519PrivateKey, kind: str, /, **fields: Any
) -> SignedStatement:
    return sign_statement(make_statement(kind, actor, d.ledger.clock(), os.urandom, **fields), key)


def _workload(d: Domain, keys_dir: Path) -> dict[str, Any]:
    """Revocations, re-issues, suspensions, a reinstatement, grant revocations, an erasure."""
    parties = json.loads((keys_dir / "parties.json").read_text(encoding="utf-8"))
    key = {p["id"]: load_private_key(keys_dir / p["key"]) for p in parties}
    wallet = {p["id"]: p["wallet"] for p in parties if "wallet" in p}
    persons = [p["id"] for p in parties if p.get("attrs") == {"subject": "person"}]
    police = next(
        p["id"] for p in parties if p.get("attrs", {}).get("authorities") == ["public_security"]
    )
    facts: dict[str, Any] = {"revoked": [], "superseded": [], "reissued": []}

    def active(holder: str, cls: str) -> str | None:
        return next((a.id for a in d.store.assets_of(holder)
                     if a.cls == cls and a.status == "active"), None)  # fmt: skip

    # Re-issue three ID cards (a corrected address), via supersedes.
    for holder in persons[:3]:
        old = active(holder, "resident_id_card")
        assert old is not None
        w = wallet[holder]
        values = {
            "name": w["name"], "sex": w["sex"], "ethnicity": "汉", "birth_date": w["birth_date"],
            "address": w["address"] + "附1号", "id_number": w["id_number"],
            "valid_from": "2021-06-01", "valid_until": "2041-06-01",
        }  # fmt: skip
        disclosures = make_disclosures(values, os.urandom)
        stmt = _sign(
            d, police, key[police], "asset.issue",
            **issue_fields("resident_id_card", holder, digests_of(d.ledger.suite, disclosures),
                           "2021-06-01", "2041-06-01", supersedes=old),
        )  # fmt: skip
        d.issue(stmt, disclosures)
        facts["superseded"].append(old)
        facts["reissued"].append(asset_id(police, stmt.nonce))
    # Revoke three assets, each by its own issuer.
    for holder in persons[3:6]:
        asset = next(a for a in d.store.assets_of(holder) if a.status == "active")
        d.append(_sign(d, asset.issuer, key[asset.issuer], "asset.revoke", asset=asset.id,
                       reason="data_error"))  # fmt: skip
        facts["revoked"].append(asset.id)
    # Grants: a read under a standing grant of a superseded card is refused; two grants
    # are revoked by their holders.
    grants = [g for h in persons for g in d.store.grants_of(h) if g.status == "active"]
    refused = 0
    for g in grants:
        if g.assets and g.assets[0] in facts["superseded"] and g.grantee is not None:
            stmt = _sign(d, g.grantee, key[g.grantee], "access.read",
                         **read_fields(g.id, g.assets[0], list(g.scope["resident_id_card"]),
                                       g.purpose))  # fmt: skip
            with pytest.raises(Refused):
                d.read(stmt)
            refused += 1
    revocable = [g for g in grants if g.grantee is not None][:2]
    for g in revocable:
        d.append(_sign(d, g.holder, key[g.holder], "grant.revoke", grant=g.id))
    facts["revoked_grants"] = [g.id for g in revocable]
    # Suspend the counter of a standing grant: its next read is refused and recorded.
    g = next(g for g in grants if g.grantee is not None and g.id not in facts["revoked_grants"])
    assert g.grantee is not None
    assert g.assets
    d.suspend(g.grantee, "key_compromise")
    cls = next(iter(g.scope))
    stmt = _sign(d, g.grantee, key[g.grantee], "access.read",
                 **read_fields(g.id, g.assets[0], list(g.scope[cls]), g.purpose))  # fmt: skip
    with pytest.raises(Refused) as info:
        d.read(stmt)
    assert info.value.reason == "actor_suspended"
    facts["suspended_counter"] = g.grantee
    # Suspend an issuer for good, and suspend and reinstate an auditor with a new key.
    issuer = next(p["id"] for p in parties if p["role"] == "issuer" and p["id"] != police)
    d.suspend(issuer, "key_compromise")
    auditor = next(p["id"] for p in parties if p["role"] == "auditor")
    d.suspend(auditor, "key_compromise")
    new = Ed25519PrivateKey.generate()
    d.reinstate(
        auditor, public_key_bytes(new), b64encode(new.sign(pop_message(auditor, "auditor")))
    )
    d.trace(_sign(d, auditor, new, "audit.query", query={"outcome": "denied"}), limit=5)
    # A lawful erasure.
    erased = active(persons[6], "electronic_health_card")
    assert erased is not None
    d.lawful_erasure(erased)
    facts.update(refused_superseded=refused, suspended_issuer=issuer, erased=erased)
    return facts


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("projections")
    db = tmp / "ledger.db"
    d = Domain.init(db)
    try:
        build_demo(d, SCALES["small"], keys_dir=tmp / "wallets")
        facts = _workload(d, tmp / "wallets")
        size = d.ledger.size()
        snapshot = d.store.projection_snapshot()
    finally:
        d.close()
    assert not Path(str(db) + "-wal").exists()  # checkpointed: the file is the whole state
    return Built(db, size, snapshot, facts)


@pytest.fixture
def copy(built: Built, tmp_path: Path) -> Path:
    """A private copy of the built database."""
    target = tmp_path / "copy.db"
    shutil.copyfile(built.db, target)
    return target


@pytest.fixture
def store(copy: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(copy)
    yield s
    s.close()


def test_the_workload_touched_every_projection(built: Built) -> None:
    snap, facts = built.snapshot, built.facts
    assert set(snap) == set(PROJECTIONS)
    assert all(snap[table] for table in PROJECTIONS)
    assets = {row[0]: row[4] for row in snap["assets"]}  # id -> status
    assert {assets[a] for a in facts["superseded"]} == {"superseded"}
    assert {assets[a] for a in facts["reissued"]} == {"active"}
    assert {assets[a] for a in facts["revoked"]} == {"revoked"}
    assert assets[facts["erased"]] == "erased"
    statuses = {row[0]: row[4] for row in snap["parties"]}
    assert statuses[facts["suspended_counter"]] == "suspended"
    assert statuses[facts["suspended_issuer"]] == "suspended"
    grants = {row[0]: row[12] for row in snap["grants"]}
    assert {grants[g] for g in facts["revoked_grants"]} == {"revoked"}


def test_verify_passes_on_the_mixed_workload(store: SqliteStore, built: Built) -> None:
    report = verify_ledger(store, rules=RULES)
    assert report.entries == built.size
    assert report.checkpoints >= 1


def test_a_rebuild_from_the_entries_equals_the_live_projections(
    store: SqliteStore, built: Built, tmp_path: Path
) -> None:
    # The same replay verify does (admit, then apply, entry by entry), into a fresh store.
    scratch = SqliteStore(tmp_path / "scratch.db", create=True)
    try:
        with scratch.write() as w:
            for seq, data in store.entries(0, built.size):
                entry = decode_entry(data)
                ctx = Context(seq, entry.ts)
                RULES.admit(w, entry.statement, ctx).apply(w, entry.statement, ctx)
        rebuilt = scratch.projection_snapshot()
    finally:
        scratch.close()
    live = store.projection_snapshot()
    assert live == built.snapshot
    for table in PROJECTIONS:
        assert rebuilt[table] == live[table], table
    assert rebuilt == live


def _edit_definition(
    conn: sqlite3.Connection, table: str, ident: str, change: Callable[[dict[str, Any]], None]
) -> int:
    # ``table`` is one of this module's constants; the values are bound parameters.
    (text,) = conn.execute(f"SELECT def FROM {table} WHERE id = ?", (ident,)).fetchone()  # noqa: S608
    definition = json.loads(text)
    change(definition)
    cur = conn.execute(
        f"UPDATE {table} SET def = ? WHERE id = ?",  # noqa: S608
        (canonical_text(definition), ident),
    )
    return cur.rowcount


def _another_authority(d: dict[str, Any]) -> None:
    d["authority"] = "health"


def _read_more(d: dict[str, Any]) -> None:
    d["reads"]["resident_id_card"].append("address")


def _rename_counter(conn: sqlite3.Connection, built: Built) -> int:
    counter = built.facts["suspended_counter"]
    return conn.execute(
        "UPDATE names SET name = ? WHERE name = ?", ("p_aaaaaaaaaaaaaaaa", counter)
    ).rowcount


TAMPERING: dict[str, Callable[[sqlite3.Connection, Built], int]] = {
    # Un-revoke an asset.
    "assets": lambda c, b: (
        c.execute(
            "UPDATE assets SET status = 'active' WHERE id = ?", (b.facts["revoked"][0],)
        ).rowcount
    ),
    # Give a grant a thousand more uses.
    "grants": lambda c, b: (
        c.execute(
            "UPDATE grants SET max_uses = max_uses + 1000 WHERE id = ?",
            (b.facts["revoked_grants"][0],),
        ).rowcount
    ),
    # Hide the last refusal from the access log.
    "access": lambda c, b: (
        c.execute(
            "DELETE FROM access WHERE seq = (SELECT max(seq) FROM access WHERE reason IS NOT NULL)"
        ).rowcount
    ),
    # Make another department the authority for ID cards.
    "classes": lambda c, b: _edit_definition(c, "classes", "resident_id_card", _another_authority),
    # Let bus stations read the address too (data minimization undone).
    "scenarios": lambda c, b: _edit_definition(c, "scenarios", "bus_ticket", _read_more),
    # Attribute a counter's requests to another party id.
    "names": _rename_counter,
    # Swap in another key as the one a party had from its registration on.
    "party_keys": lambda c, b: (
        c.execute(
            "UPDATE party_keys SET key = zeroblob(32) WHERE party = ?",
            (b.facts["suspended_counter"],),
        ).rowcount
    ),
    # Lift a suspension.
    "parties": lambda c, b: (
        c.execute(
            "UPDATE parties SET status = 'active' WHERE id = ?", (b.facts["suspended_counter"],)
        ).rowcount
    ),
}


def test_every_projection_table_has_a_tampering_case() -> None:
    assert set(TAMPERING) == set(PROJECTIONS)


@pytest.mark.parametrize("table", sorted(TAMPERING))
def test_tampering_with_a_projection_is_named_by_verify(
    copy: Path, built: Built, table: str
) -> None:
    with closing(sqlite3.connect(copy, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        assert TAMPERING[table](conn, built) == 1
        conn.execute("COMMIT")
    s = SqliteStore(copy)
    try:
        assert s.projection_snapshot()[table] != built.snapshot[table]
        with pytest.raises(LedgerCorrupt) as info:
            verify_ledger(s, rules=RULES)
    finally:
        s.close()
    assert info.value.seq is None
    assert info.value.what == f"projection {table!r} differs from its rebuild"
