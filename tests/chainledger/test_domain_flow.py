"""The certificate-free flow end to end through the library: issue, grant, read, refuse,
revoke, present a one-time QR grant, erase, audit; then verify rebuilds the projections."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from domain_support import Cast, make_cast

from chainledger.access import read_fields
from chainledger.assets import verify_disclosures
from chainledger.encoding import b64encode
from chainledger.grants import secret_hash
from chainledger.rules import Refused
from chainledger.verify import verify_ledger


@pytest.fixture
def cast(tmp_path: Path) -> Iterator[Cast]:
    c = make_cast(tmp_path / "d.db")
    yield c
    c.domain.close()


def test_bus_ticket_flow(cast: Cast) -> None:
    d = cast.domain
    holder = d.holder_for(cast.citizen_id_number)
    assert holder == cast.citizen.id
    asset, values = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    grant, _ = cast.grant(
        cast.citizen, cast.bus, "bus_ticket", {"resident_id_card": ["name", "id_number"]}
    )
    read = cast.bus.sign(
        d, "access.read", **read_fields(grant, asset, ["name", "id_number"], "ticket_purchase")
    )
    result = d.read(read)
    assert {k: v[1] for k, v in result.disclosures.items()} == {
        "name": values["name"],
        "id_number": values["id_number"],
    }
    # The counter checks the values against the issuer-signed digests, and the receipt.
    verify_disclosures(
        d.ledger.suite, d.issue_entry_digests(result.issue_entry), result.disclosures
    )
    _, cp = result.receipt.verify([d.ledger.verifier])
    result.issue_proof.verify(d.ledger.suite.leaf(result.issue_entry), cp.root)
    # A field outside the grant is refused, and the refusal has its own entry.
    too_much = cast.bus.sign(
        d, "access.read", **read_fields(grant, asset, ["name", "address"], "ticket_purchase")
    )
    with pytest.raises(Refused) as info:
        d.read(too_much)
    assert info.value.reason == "field_not_granted"
    entry, _ = info.value.receipt.verify([d.ledger.verifier])
    assert entry.kind == "access.denied"
    assert entry.statement.stmt["reason"] == "field_not_granted"
    history = d.history(cast.citizen.id)
    assert [h.outcome for h in history] == ["read", "denied"]
    stats = d.stats()
    assert (stats["reads"], stats["refusals"], stats["assets"], stats["authorized_assets"]) == (
        1, 1, 1, 1,
    )  # fmt: skip
    verify_ledger(d.store, rules=d.ledger.rules)


def test_revoked_grant_and_qr_presentation(cast: Cast) -> None:
    d = cast.domain
    asset, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    grant, _ = cast.grant(cast.citizen, cast.hotel, "hotel_check_in",
                          {"resident_id_card": ["name", "id_number"]})  # fmt: skip
    d.append(cast.citizen.sign(d, "grant.revoke", grant=grant))
    purpose = d.store.scenario("hotel_check_in")["purpose"]
    with pytest.raises(Refused) as info:
        d.read(cast.hotel.sign(d, "access.read", **read_fields(grant, asset, ["name"], purpose)))
    assert info.value.reason == "grant_revoked"
    # One-time QR grant: no grantee, a secret whose hash is in the grant.
    secret = os.urandom(32)
    scope = {"resident_id_card": ["name", "id_number"]}
    qr, _ = cast.grant(
        cast.citizen, None, "bus_ticket", scope, max_uses=1, secret_hash=secret_hash(secret)
    )
    wrong = cast.bus.sign(d, "access.read", **read_fields(
        qr, asset, ["name"], "ticket_purchase", b64encode(os.urandom(32))))  # fmt: skip
    with pytest.raises(Refused) as info:
        d.read(wrong)
    assert info.value.reason == "bad_secret"
    right = cast.bus.sign(d, "access.read", **read_fields(
        qr, asset, ["name"], "ticket_purchase", b64encode(secret)))  # fmt: skip
    assert set(d.read(right).disclosures) == {"name"}
    again = cast.bus.sign(d, "access.read", **read_fields(
        qr, asset, ["name"], "ticket_purchase", b64encode(secret)))  # fmt: skip
    with pytest.raises(Refused) as info:
        d.read(again)
    assert info.value.reason == "grant_exhausted"
    # A hotel is not a bus station: the QR grant is not for it.
    hotel = cast.hotel.sign(d, "access.read", **read_fields(
        qr, asset, ["name"], "ticket_purchase", b64encode(secret)))  # fmt: skip
    with pytest.raises(Refused) as info:
        d.read(hotel)
    assert info.value.reason == "wrong_counter"
    verify_ledger(d.store, rules=d.ledger.rules)


def test_erasure_shreds_values_and_the_ledger_still_verifies(cast: Cast) -> None:
    d = cast.domain
    asset, values = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    grant, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket",
                          {"resident_id_card": ["name", "id_number"]})  # fmt: skip
    d.erase(cast.citizen.sign(d, "asset.erase", asset=asset, basis="holder_request"))
    assert d.store.vault_get(asset) is None
    with pytest.raises(Refused) as info:
        d.read(cast.bus.sign(d, "access.read",
                             **read_fields(grant, asset, ["name"], "ticket_purchase")))  # fmt: skip
    assert info.value.reason == "asset_erased"
    db = d.store.path
    d.close()
    for path in db.parent.iterdir():
        if path.name.startswith(db.name) and path.suffix != ".secrets":
            assert values["id_number"].encode() not in path.read_bytes()
            assert values["address"].encode() not in path.read_bytes()
    from chainledger.domain import Domain

    cast.domain = Domain.open(db)
    verify_ledger(cast.domain.store, rules=cast.domain.ledger.rules)
