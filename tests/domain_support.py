"""A small cast for domain tests: keys, a catalog, parties and helpers to sign as them."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger import catalog_default
from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.clock import format_ts
from chainledger.crypto import generate_key, party_id, public_key_bytes
from chainledger.domain import Domain
from chainledger.grants import create_fields, grant_id
from chainledger.identity import make_person_name, make_resident_id
from chainledger.parties import proof_of_possession
from chainledger.receipt import Receipt
from chainledger.statement import SignedStatement, make_statement, sign_statement


@dataclass
class Actor:
    key: Ed25519PrivateKey
    role: str
    #: The party id, when the key is not the party's first (after a rotation).
    party: str | None = None

    @property
    def id(self) -> str:
        return self.party or party_id(public_key_bytes(self.key))

    def sign(self, domain: Domain, kind: str, **fields: Any) -> SignedStatement:
        stmt = make_statement(kind, self.id, domain.ledger.clock(), os.urandom, **fields)
        return sign_statement(stmt, self.key)


@dataclass
class Cast:
    domain: Domain
    police: Actor
    health: Actor
    bus: Actor
    hotel: Actor
    auditor: Actor
    citizen: Actor
    citizen_id_number: str
    other: Actor
    other_id_number: str
    citizen_name: str

    def register(
        self, actor: Actor, name: str, attrs: dict[str, Any], real_id: str | None = None
    ) -> Receipt:
        return self.domain.register(
            public_key_bytes(actor.key), actor.role, name=name, attrs=attrs,
            pop=proof_of_possession(actor.key, actor.role), real_id=real_id,
        )  # fmt: skip

    def issue_id_card(self, holder: Actor, id_number: str, name: str) -> tuple[str, dict[str, Any]]:
        values = {
            "name": name,
            "sex": "女",
            "ethnicity": "汉",
            "birth_date": "1990-03-07",
            "address": "山东省聊城市东昌府区柳园南路1号",
            "id_number": id_number,
            "valid_from": "2020-01-01",
            "valid_until": "2040-01-01",
        }
        d = self.domain
        disclosures = make_disclosures(values, os.urandom)
        stmt = self.police.sign(
            d, "asset.issue",
            **issue_fields("resident_id_card", holder.id, digests_of(d.ledger.suite, disclosures),
                           "2020-01-01", "2040-01-01"),
        )  # fmt: skip
        d.issue(stmt, disclosures)
        return asset_id(self.police.id, stmt.nonce), values

    def grant(
        self, holder: Actor, counter: Actor | None, scenario: str, scope: dict[str, list[str]],
        *, hours: float = 1.0, max_uses: int = 5, secret_hash: str | None = None,
        assets: list[str] | None = None, start: datetime | None = None,
    ) -> tuple[str, SignedStatement]:  # fmt: skip
        d = self.domain
        now = start or d.ledger.clock()
        sc = d.store.scenario(scenario)
        stmt = holder.sign(
            d, "grant.create",
            **create_fields(
                scenario=scenario, purpose=sc["purpose"], scope=scope,
                grantee=counter.id if counter else None,
                not_before=format_ts(now - timedelta(minutes=1)),
                expires=format_ts(now + timedelta(hours=hours)),
                max_uses=max_uses, assets=assets, secret_hash=secret_hash,
            ),
        )  # fmt: skip
        d.append(stmt)
        return grant_id(holder.id, stmt.nonce), stmt


def key(seed: int) -> Ed25519PrivateKey:
    rng = random.Random(seed)
    return generate_key(lambda n: rng.randbytes(n))


def make_cast(db: Path, **kwargs: Any) -> Cast:
    d = Domain.init(db, **kwargs)
    d.publish_catalog(catalog_default.CLASSES, catalog_default.SCENARIOS)
    rng = random.Random(7)
    id_number = make_resident_id(rng, region="371502", birth=date(1990, 3, 7), female=True)
    other_id = make_resident_id(rng, region="371503", birth=date(1985, 5, 1), female=False)
    cast = Cast(
        d,
        police=Actor(key(1), "issuer"),
        health=Actor(key(2), "issuer"),
        bus=Actor(key(3), "counter"),
        hotel=Actor(key(4), "counter"),
        auditor=Actor(key(5), "auditor"),
        citizen=Actor(key(6), "holder"),
        citizen_id_number=id_number,
        other=Actor(key(8), "holder"),
        other_id_number=other_id,
        citizen_name=make_person_name(rng),
    )
    cast.register(cast.police, "聊城市公安局", {"authorities": ["public_security"]})
    cast.register(cast.health, "聊城市卫生健康委员会", {"authorities": ["health"]})
    cast.register(cast.bus, "聊城汽车总站 3号窗口", {"counter_type": "bus_station"})
    cast.register(cast.hotel, "水城宾馆前台", {"counter_type": "hotel_front_desk"})
    cast.register(cast.auditor, "聊城市大数据局监督科", {})
    cast.register(cast.citizen, "", {"subject": "person"}, real_id=id_number)
    cast.register(cast.other, "", {"subject": "person"}, real_id=other_id)
    return cast


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
