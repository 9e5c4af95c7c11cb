"""A whole certificate-free ledger on PostgreSQL: the same statements appended to a
`PostgresStore` and to a `SqliteStore` make the same log, the same checkpoints and the same
projections, row for row; `verify` passes on the PostgreSQL store (rebuilding its projections
in SQLite and comparing); its backup is a SQLite ledger that verifies too.

The ledger is built through the constructors that take a store (`Ledger(store, genesis, ...)`,
`Domain(ledger, secrets)`), with a fixed clock and seeded randomness, so both builds are the
same byte for byte."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from domain_support import Actor, Cast, key, utc

from chainledger.access import read_fields
from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.crypto import generate_key, party_id, public_key_bytes, suite
from chainledger.domain import Domain, domain_rules
from chainledger.encoding import b64encode
from chainledger.identity import make_resident_id
from chainledger.ledger import Genesis, Ledger
from chainledger.rules import Refused
from chainledger.statement import SignedStatement, make_statement, sign_statement
from chainledger.store.base import Store
from chainledger.store.postgres import PostgresStore
from chainledger.store.sqlite import SqliteStore
from chainledger.vault import Secrets
from chainledger.verify import verify_ledger

NOW = utc(2026, 11, 26, 9, 30)
ORIGIN = "city.example/ledger"
SCOPE = {"resident_id_card": ["name", "id_number"]}
OTHER_ID = make_resident_id(random.Random(8), region="371503", birth=date(1985, 5, 1), female=False)
VALUES = {
    "name": "张三",
    "sex": "女",
    "ethnicity": "汉",
    "birth_date": "1990-03-07",
    "address": "山东省聊城市东昌府区柳园南路1号",
    "id_number": make_resident_id(
        random.Random(7), region="371502", birth=date(1990, 3, 7), female=True
    ),
    "valid_from": "2020-01-01",
    "valid_until": "2040-01-01",
}


@dataclass
class SeededActor(Actor):
    """`Actor` whose statement nonces come from a seeded generator (not os.urandom)."""

    rand: Callable[[int], bytes] = lambda n: b"\0" * n

    def sign(self, domain: Domain, kind: str, **fields: Any) -> SignedStatement:
        stmt = make_statement(kind, self.id, domain.ledger.clock(), self.rand, **fields)
        return sign_statement(stmt, self.key)


def seeded(seed: int) -> Callable[[int], bytes]:
    rng = random.Random(seed)
    return lambda n: rng.randbytes(n)


def open_domain(store: Store) -> Domain:
    """`Ledger.init` and `Domain.init`, on a store object: genesis entry, platform key."""
    rand = seeded(1001)  # not a seed of domain_support.key: the platform is nobody else
    platform_key = generate_key(rand)
    pub = public_key_bytes(platform_key)
    ledger = Ledger(
        store, Genesis(ORIGIN, suite("sha256"), pub), key=platform_key,
        clock=lambda: NOW, rand=rand, rules=domain_rules(),
    )  # fmt: skip
    genesis = make_statement(
        "genesis", party_id(pub), NOW, rand, origin=ORIGIN, suite="sha256", key=b64encode(pub)
    )
    ledger.append(sign_statement(genesis, platform_key))
    return Domain(ledger, Secrets(rand(32), rand(32)))


def build(store: Store) -> Domain:
    """Catalog, parties, an asset, grants, reads and refusals, an audit query, a revocation
    and an erasure: every projection table gets rows."""
    from chainledger import catalog_default

    d = open_domain(store)
    d.publish_catalog(catalog_default.CLASSES, catalog_default.SCENARIOS)
    rand = seeded(1002)

    def actor(seed: int, role: str) -> SeededActor:
        return SeededActor(key(seed), role, rand=rand)

    cast = Cast(
        d, police=actor(1, "issuer"), health=actor(2, "issuer"), bus=actor(3, "counter"),
        hotel=actor(4, "counter"), auditor=actor(5, "auditor"), citizen=actor(6, "holder"),
        citizen_id_number=VALUES["id_number"], other=actor(8, "holder"),
        other_id_number=OTHER_ID, citizen_name=VALUES["name"],
    )  # fmt: skip
    cast.register(cast.police, "聊城市公安局", {"authorities": ["public_security"]})
    cast.register(cast.bus, "聊城汽车总站 3号窗口", {"counter_type": "bus_station"})
    cast.register(cast.hotel, "水城宾馆前台", {"counter_type": "hotel_front_desk"})
    cast.register(cast.auditor, "聊城市大数据局监督科", {})
    cast.register(cast.citizen, "", {"subject": "person"}, real_id=cast.citizen_id_number)
    cast.register(cast.other, "", {"subject": "person"}, real_id=cast.other_id_number)

    disclosures = make_disclosures(VALUES, rand)
    issue = cast.police.sign(
        d, "asset.issue",
        **issue_fields("resident_id_card", cast.citizen.id, digests_of(d.ledger.suite, disclosures),
                       "2020-01-01", "2040-01-01"),
    )  # fmt: skip
    d.issue(issue, disclosures)
    asset = asset_id(cast.police.id, issue.nonce)
    grant, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", SCOPE, start=NOW)
    for _ in range(2):
        d.read(
            cast.bus.sign(
                d, "access.read", **read_fields(grant, asset, ["name"], "ticket_purchase")
            )
        )
    with pytest.raises(Refused):  # a field outside the grant: recorded
        d.read(
            cast.bus.sign(
                d, "access.read", **read_fields(grant, asset, ["address"], "ticket_purchase")
            )
        )
    hotel_grant, _ = cast.grant(cast.citizen, cast.hotel, "hotel_check_in", SCOPE, start=NOW)
    d.append(cast.citizen.sign(d, "grant.revoke", grant=hotel_grant))
    with pytest.raises(Refused):  # a revoked grant: recorded
        purpose = d.store.scenario("hotel_check_in")["purpose"]
        d.read(
            cast.hotel.sign(d, "access.read", **read_fields(hotel_grant, asset, ["name"], purpose))
        )
    d.trace(cast.auditor.sign(d, "audit.query", query={"counter": cast.bus.id}))
    d.erase(cast.citizen.sign(d, "asset.erase", asset=asset, basis="holder_request"))
    d.ledger.clock = lambda: NOW + timedelta(seconds=1)
    d.ledger.append(d.ledger.platform_statement("note", text="end of the day"))
    return d


@pytest.fixture
def both(pg_url: str, tmp_path: Path) -> Iterator[tuple[Domain, Domain]]:
    sq = build(SqliteStore(tmp_path / "ledger.db", create=True))
    pg = build(PostgresStore(pg_url, create=True))
    try:
        yield sq, pg
    finally:
        sq.close()
        pg.close()


def test_the_same_statements_make_the_same_ledger_on_both_backends(
    both: tuple[Domain, Domain],
) -> None:
    sq, pg = both
    size = sq.ledger.size()
    assert size > 50
    assert pg.ledger.size() == size
    assert list(pg.store.entries(0, size + 1)) == list(sq.store.entries(0, size + 1))
    assert pg.ledger.checkpoint() == sq.ledger.checkpoint()
    assert pg.ledger.root() == sq.ledger.root()
    snap = pg.store.projection_snapshot()
    assert snap == sq.store.projection_snapshot()
    assert all(snap[t] for t in ("parties", "party_keys", "classes", "scenarios", "assets",
                                 "grants", "names", "access"))  # fmt: skip
    # Proofs are read from stored nodes: the same on both.
    for index in (0, 7, size - 1):
        assert pg.ledger.inclusion_proof(index) == sq.ledger.inclusion_proof(index)
    assert pg.ledger.consistency_proof(5, size) == sq.ledger.consistency_proof(5, size)
    assert pg.stats() == sq.stats()
    holder = pg.store.parties("holder")[0].id
    assert pg.history(holder) == sq.history(holder)


def test_verify_passes_on_postgres_and_on_its_backup(
    both: tuple[Domain, Domain], tmp_path: Path
) -> None:
    _, pg = both
    report = verify_ledger(pg.store, rules=domain_rules())
    assert report.entries == pg.ledger.size()
    dest = tmp_path / "backup.db"
    pg.store.backup(dest)
    copy = SqliteStore(dest)
    try:
        again = verify_ledger(copy, rules=domain_rules())
        assert (again.entries, again.root) == (report.entries, report.root)
        assert copy.projection_snapshot() == pg.store.projection_snapshot()
    finally:
        copy.close()


def test_a_reopened_postgres_ledger_continues_the_chain(
    both: tuple[Domain, Domain], pg_url: str
) -> None:
    _, pg = both
    size = pg.ledger.size()
    genesis = pg.ledger.genesis
    again = Ledger(
        PostgresStore(pg_url), genesis, key=pg.ledger._key, clock=lambda: NOW + timedelta(1),
        rules=domain_rules(),
    )  # fmt: skip
    try:
        receipt = again.append(again.platform_statement("note", text="next day"))
        assert receipt.seq == size
        # The first store sees the second one's commit, and appends after it.
        assert pg.ledger.append(pg.ledger.platform_statement("note", text="and on")).seq == size + 1
        assert again.size() == size + 2
        assert verify_ledger(again.store, rules=domain_rules()).entries == size + 2
    finally:
        again.close()
