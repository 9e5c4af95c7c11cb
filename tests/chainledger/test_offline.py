"""Offline reads and the holder's own disclosures, on a clock the tests move.

An ``access.read_offline`` is signed by the counter when it reads a holder's bundle
with no network, and reaches the ledger later: it may be up to 72 hours old, is judged
at its own time for the grant's window and the asset's validity, and at arrival for
revocations. ``asset.disclose`` releases a holder's own values after its entry.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from domain_support import Actor, Cast, make_cast, utc

from chainledger.access import OFFLINE_MAX_AGE, offline_fields, read_fields
from chainledger.assets import verify_disclosures
from chainledger.domain import Domain, ReadResult, domain_rules
from chainledger.entry import decode_entry
from chainledger.errors import SchemaError
from chainledger.rules import Refused
from chainledger.statement import SignedStatement, make_statement, sign_statement
from chainledger.store.projections import AccessFilter
from chainledger.verify import verify_ledger

T0 = utc(2026, 11, 20, 9, 0, 0)
ID_CARD = {"resident_id_card": ["name", "id_number"]}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Cast, Clock, str]]:
    clock = Clock(T0)
    cast = make_cast(tmp_path / "ledger.db", clock=clock)
    asset, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    try:
        yield cast, clock, asset
    finally:
        cast.domain.close()


def offline_read(
    cast: Cast, grant: str, asset: str, at: datetime, checkpoint: int = 1, **extra: Any
) -> SignedStatement:
    """The bus counter's offline read, signed at ``at`` (not at the ledger's time)."""
    fields = offline_fields(read_fields(grant, asset, ["name"], "ticket_purchase"), checkpoint)
    stmt = make_statement("access.read_offline", cast.bus.id, at, os.urandom, **{**fields, **extra})
    return sign_statement(stmt, cast.bus.key)


def bus_grant(cast: Cast, hours: float = 24.0) -> str:
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD, hours=hours)
    return gid


def test_an_offline_read_hours_late_is_recorded_as_offline(world: Any) -> None:
    cast, clock, asset = world
    d: Domain = cast.domain
    g = bus_grant(cast)
    stmt = offline_read(cast, g, asset, T0 + timedelta(minutes=5))
    clock.now = T0 + timedelta(hours=5)  # the counter comes back online
    receipt = d.append(stmt)
    entry = decode_entry(receipt.entry)
    assert entry.kind == "access.read_offline"
    assert entry.statement.ts < entry.ts  # signed when read, recorded on arrival
    row = d.store.access(AccessFilter(holder=cast.citizen.id))[-1]
    assert (row.seq, row.outcome, row.reason, row.counter) == (
        receipt.seq, "read", "offline", cast.bus.id
    )  # fmt: skip
    grant_row = d.store.grant(g)
    assert grant_row is not None
    assert grant_row.uses == 1
    # The same statement as an ordinary read would be outside the skew window.
    late = make_statement(
        "access.read", cast.bus.id, T0 + timedelta(minutes=5), os.urandom,
        **read_fields(g, asset, ["name"], "ticket_purchase"),
    )  # fmt: skip
    with pytest.raises(Refused, match="clock_skew"):
        d.read(sign_statement(late, cast.bus.key))
    verify_ledger(d.store, rules=domain_rules())


def test_an_offline_read_older_than_the_limit_or_from_the_future_is_refused(world: Any) -> None:
    cast, clock, asset = world
    g = bus_grant(cast, hours=200)
    clock.now = T0 + OFFLINE_MAX_AGE + timedelta(hours=1)
    for at in (T0, clock.now + timedelta(hours=1)):
        with pytest.raises(Refused) as info:
            cast.domain.append(offline_read(cast, g, asset, at))
        assert info.value.reason == "clock_skew"
        denied = decode_entry(info.value.receipt.entry).statement.stmt
        assert (denied["reason"], denied["offline"]) == ("clock_skew", True)


def test_an_offline_read_is_judged_at_its_own_time(world: Any) -> None:
    cast, clock, asset = world
    g = bus_grant(cast, hours=1)
    # Read while the grant was valid; recorded after it expired: admitted.
    stmt = offline_read(cast, g, asset, T0 + timedelta(minutes=30))
    clock.now = T0 + timedelta(hours=6)
    cast.domain.append(stmt)
    # Read "before" the grant began: refused, and the refusal says it was offline.
    clock.now = T0 + timedelta(hours=7)
    g2 = bus_grant(cast)
    with pytest.raises(Refused) as info:
        cast.domain.append(offline_read(cast, g2, asset, T0 + timedelta(hours=6)))
    assert info.value.reason == "grant_not_yet_valid"
    denied = decode_entry(info.value.receipt.entry)
    assert denied.kind == "access.denied"
    assert denied.statement.stmt["offline"] is True


def test_a_revocation_before_the_record_arrives_refuses_it(world: Any) -> None:
    cast, clock, asset = world
    g = bus_grant(cast)
    stmt = offline_read(cast, g, asset, T0 + timedelta(minutes=1))
    clock.now = T0 + timedelta(hours=1)
    cast.domain.append(cast.police.sign(cast.domain, "asset.revoke", asset=asset, reason="lost"))
    with pytest.raises(Refused) as info:
        cast.domain.append(stmt)
    assert info.value.reason == "asset_revoked"
    row = cast.domain.store.access(AccessFilter(holder=cast.citizen.id))[-1]
    assert (row.outcome, row.reason) == ("denied", "asset_revoked")


@pytest.mark.parametrize("checkpoint", [0, -1, True, "1", 10**6])
def test_the_checkpoint_of_an_offline_read_must_precede_it(world: Any, checkpoint: Any) -> None:
    cast, _, asset = world
    g = bus_grant(cast)
    with pytest.raises(Refused) as info:
        cast.domain.append(offline_read(cast, g, asset, T0, checkpoint=checkpoint))
    assert info.value.reason == "malformed"


def disclose(d: Domain, holder: Actor, asset: str, fields: list[str]) -> ReadResult:
    return asyncio.run(
        d.disclose_async(holder.sign(d, "asset.disclose", asset=asset, fields=fields))
    )


def test_a_holder_gets_its_own_values_after_the_entry(world: Any) -> None:
    cast, _, asset = world
    d: Domain = cast.domain
    result = disclose(d, cast.citizen, asset, ["name", "id_number"])
    assert decode_entry(result.receipt.entry).kind == "asset.disclose"
    assert {k: v[1] for k, v in result.disclosures.items()} == {
        "name": cast.citizen_name, "id_number": cast.citizen_id_number,
    }  # fmt: skip
    digests = d.issue_entry_digests(result.issue_entry)
    verify_disclosures(d.ledger.suite, digests, result.disclosures)
    assert result.issue_proof is not None
    assert result.issue_proof.tree_size == result.receipt.inclusion.tree_size
    # Only the holder, only the class's fields, only through its own operation.
    with pytest.raises(Refused, match="not_holder"):
        disclose(d, cast.other, asset, ["name"])
    for bad in (["name", "name"], ["shoe_size"], []):
        with pytest.raises(SchemaError):
            disclose(d, cast.citizen, asset, bad)
    with pytest.raises(SchemaError, match="own operation"):
        d.submit(cast.citizen.sign(d, "asset.disclose", asset=asset, fields=["name"]))
    d.append(cast.police.sign(d, "asset.revoke", asset=asset, reason="lost"))
    with pytest.raises(Refused, match="asset_revoked"):
        disclose(d, cast.citizen, asset, ["name"])
    verify_ledger(d.store, rules=domain_rules())
