"""A refusal is recorded once per request and reason (`chainledger.denials`).

Whoever captured one signed statement or signed HTTP request can replay it as often as
the rate limit lets it: each replay is refused, but only the first is recorded. The
platform's refusal record carries a nonce derived from what it says (the request's hash,
the reason, the party, what was asked), so a second record of the same refusal would be a
replay of the first, and the sequencer answers the caller with the same refusal and appends
nothing. Every test ends with `verify_ledger` replaying the whole ledger.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from domain_support import Cast, make_cast
from support import FakeClock, one_batch

from chainledger.access import read_fields, request_hash
from chainledger.clock import format_ts
from chainledger.denials import KIND, denied_fields, refusal_nonce
from chainledger.domain import Domain, domain_rules
from chainledger.entry import Entry, decode_entry
from chainledger.errors import Replay
from chainledger.grants import create_fields
from chainledger.receipt import Receipt
from chainledger.rules import Refused
from chainledger.statement import SignedStatement, make_statement, sign_statement
from chainledger.verify import verify_ledger

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
ID_CARD_SCOPE = {"resident_id_card": ["name", "id_number"]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def cast(tmp_path: Path, clock: FakeClock) -> Iterator[Cast]:
    c = make_cast(tmp_path / "ledger.db", clock=clock)
    yield c
    try:
        verify_ledger(c.domain.store, rules=domain_rules())
    finally:
        c.domain.close()


def a_grant(cast: Cast) -> SignedStatement:
    """A holder's grant.create, signed at the ledger's clock (not yet appended)."""
    d = cast.domain
    now = d.ledger.clock()
    return cast.citizen.sign(
        d, "grant.create",
        **create_fields(
            scenario="bus_ticket", purpose="ticket_purchase", scope=ID_CARD_SCOPE,
            grantee=cast.bus.id, not_before=format_ts(now - timedelta(minutes=1)),
            expires=format_ts(now + timedelta(hours=1)), max_uses=1,
        ),
    )  # fmt: skip


def refusal(d: Domain, stmt: SignedStatement) -> Refused:
    with pytest.raises(Refused) as info:
        d.append(stmt)
    return info.value


def record_of(d: Domain, receipt: Receipt | None) -> Entry:
    """The refusal record ``receipt`` proves, verified against the log's key."""
    assert receipt is not None
    entry, _ = receipt.verify([d.ledger.verifier], origin=d.ledger.origin)
    assert entry.statement.actor == d.ledger.platform_id
    return entry


def records(d: Domain, kind: str = KIND) -> list[Entry]:
    entries = (decode_entry(data) for _, data in d.ledger.entries())
    return [e for e in entries if e.kind == kind]


# --- the nonce ---------------------------------------------------------------------------------


def test_the_refusal_nonce_is_the_records_content_in_the_statements_nonce_form() -> None:
    fields = denied_fields("p_aaaaaaaaaaaaaaaa", "grant.create", b"captured", "replay")
    nonce = refusal_nonce(KIND, fields)
    assert nonce == refusal_nonce(KIND, dict(fields))  # no time, no randomness
    others = {
        refusal_nonce(KIND, {**fields, "reason": "clock_skew"}),
        refusal_nonce(
            KIND, denied_fields("p_aaaaaaaaaaaaaaaa", "grant.create", b"other", "replay")
        ),
        refusal_nonce(KIND, {**fields, "party": "p_bbbbbbbbbbbbbbbb"}),
        refusal_nonce(KIND, {**fields, "what": "grant.revoke"}),
        refusal_nonce("access.denied", fields),
    }
    assert nonce not in others
    assert len(others) == 5
    # A statement carrying it passes the common-field checks (16 bytes, base64).
    stmt = make_statement(KIND, "p_aaaaaaaaaaaaaaaa", T0, lambda n: bytes(n), **fields)
    stmt["nonce"] = nonce
    SignedStatement.from_wire(sign_statement(stmt, Ed25519PrivateKey.generate()).to_wire())


# --- statements -------------------------------------------------------------------------------


def appended_grant(cast: Cast) -> tuple[Domain, SignedStatement, int]:
    """A grant appended: the domain, the grant, and the ledger's size after it."""
    d = cast.domain
    grant = a_grant(cast)
    d.append(grant)
    return d, grant, d.ledger.size()


def test_a_statement_replayed_again_and_again_is_recorded_once(
    cast: Cast, clock: FakeClock
) -> None:
    d, grant, size = appended_grant(cast)

    first = refusal(d, grant)
    assert first.reason == "replay"
    entry = record_of(d, first.receipt)
    assert (entry.seq, d.ledger.size()) == (size, size + 1)
    assert entry.kind == KIND
    fields = {k: entry.statement.stmt[k] for k in ("party", "what", "request", "reason")}
    assert fields == denied_fields(cast.citizen.id, "grant.create", grant.body, "replay")
    assert entry.statement.nonce == refusal_nonce(KIND, fields)

    # The second and third replays, even minutes later: the same refusal, nothing appended.
    for minutes in (0, 3):
        clock.now = T0 + timedelta(minutes=minutes)
        again = refusal(d, grant)
        assert (type(again), again.reason, str(again)) == (Refused, "replay", str(first))
        assert record_of(d, again.receipt).seq == size  # the first record, read back
        assert d.ledger.size() == size + 1
    assert [e.seq for e in records(d)] == [size]


def test_replays_in_one_batch_are_recorded_once(cast: Cast) -> None:
    d = cast.domain
    grant = a_grant(cast)
    size = d.ledger.size()
    with one_batch(d.ledger):
        futures = [d.submit(grant) for _ in range(4)]
    admitted = futures[0].result()
    assert admitted.seq == size
    refused = []
    for f in futures[1:]:
        with pytest.raises(Refused) as info:
            f.result()
        refused.append(info.value)
    assert {(r.reason, str(r)) for r in refused} == {("replay", str(refused[0]))}
    # One record, and every refusal of the batch points at it.
    assert d.ledger.size() == size + 2
    seqs = {record_of(d, r.receipt).seq for r in refused}
    assert seqs == {size + 1}
    assert [e.seq for e in records(d)] == [size + 1]
    assert d.ledger.sequencer.refused >= 3


def test_the_same_request_refused_for_another_reason_is_another_record(
    cast: Cast, clock: FakeClock
) -> None:
    d, grant, size = appended_grant(cast)

    clock.now = T0 + timedelta(minutes=10)  # outside the 5-minute window: skew is checked first
    late = refusal(d, grant)
    assert late.reason == "clock_skew"
    assert record_of(d, late.receipt).statement.stmt["reason"] == "clock_skew"
    assert record_of(d, refusal(d, grant).receipt).seq == size
    clock.now = T0 + timedelta(minutes=1)  # back inside: now it is a replay
    replay = refusal(d, grant)
    assert replay.reason == "replay"
    assert record_of(d, replay.receipt).seq == size + 1
    assert record_of(d, refusal(d, grant).receipt).seq == size + 1
    clock.now = T0 + timedelta(minutes=10)
    assert refusal(d, grant).reason == "clock_skew"
    assert d.ledger.size() == size + 2
    assert [e.statement.stmt["reason"] for e in records(d)] == ["clock_skew", "replay"]


def test_an_escalation_repeated_is_recorded_once(cast: Cast) -> None:
    """A refused statement was never appended: sent again it is refused again, for the
    same reason, and is not recorded again."""
    d = cast.domain
    theirs = cast.bus.sign(d, "asset.erase", asset="a_aaaaaaaaaaaaaaaa", basis="holder_request")
    size = d.ledger.size()
    first = refusal(d, theirs)
    assert first.reason == "role"
    assert record_of(d, first.receipt).seq == size
    for _ in range(2):
        again = refusal(d, theirs)
        assert again.reason == "role"
        assert record_of(d, again.receipt).seq == size  # the first record's receipt
    assert d.ledger.size() == size + 1
    # A new statement asking the same is a new request: recorded.
    other = cast.bus.sign(d, "asset.erase", asset="a_aaaaaaaaaaaaaaaa", basis="holder_request")
    assert record_of(d, refusal(d, other).receipt).seq == size + 1


def test_a_counters_refused_read_sent_again_is_recorded_once(cast: Cast) -> None:
    d = cast.domain
    aid, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE, max_uses=1)
    read = cast.bus.sign(d, "access.read", **read_fields(gid, aid, ["name"], "ticket_purchase"))
    d.read(read)
    size = d.ledger.size()
    with pytest.raises(Refused) as info:
        d.read(read)
    entry = record_of(d, info.value.receipt)
    assert (entry.seq, entry.kind, entry.statement.stmt["reason"]) == (
        size, "access.denied", "replay",
    )  # fmt: skip
    assert entry.statement.stmt["request"] == request_hash(read)
    for _ in range(2):
        with pytest.raises(Refused) as info:
            d.read(read)
        assert info.value.reason == "replay"
        assert record_of(d, info.value.receipt).seq == size  # the first record's receipt
    assert d.ledger.size() == size + 1
    assert [h.outcome for h in d.history(cast.citizen.id)] == ["read", "denied"]


def test_a_replayed_refusal_record_is_not_recorded(cast: Cast) -> None:
    """Records are public: a record of each replayed record would be a new statement to
    replay, without end. Replayed, a record is refused as any replay, and that is all."""
    d = cast.domain
    grant = a_grant(cast)
    d.append(grant)
    record = record_of(d, refusal(d, grant).receipt).statement
    size = d.ledger.size()
    for _ in range(3):
        with pytest.raises(Replay):
            d.append(record)
    assert d.ledger.size() == size


# --- signed HTTP requests (Domain.record_denied) ---------------------------------------------


def test_a_signed_request_refused_again_and_again_is_recorded_once(cast: Cast) -> None:
    d = cast.domain
    captured = b"sig=:" + hashlib.sha256(b"a captured signature").digest() + b":"
    size = d.ledger.size()
    receipt = d.record_denied(cast.citizen.id, "GET /v1/assets/{asset}", captured, "replay")
    entry = record_of(d, receipt)
    assert (entry.seq, entry.kind) == (size, KIND)
    assert entry.statement.stmt["request"] == hashlib.sha256(captured).hexdigest()
    for _ in range(2):
        again = d.record_denied(cast.citizen.id, "GET /v1/assets/{asset}", captured, "replay")
        assert record_of(d, again).seq == size  # the first record's receipt
    assert d.ledger.size() == size + 1
    # Another reason, another route, another request: each its own record.
    assert d.record_denied(cast.citizen.id, "GET /v1/assets/{asset}", captured, "clock_skew")
    assert d.record_denied(cast.citizen.id, "GET /v1/grants/{grant}", captured, "replay")
    assert d.record_denied(cast.citizen.id, "GET /v1/assets/{asset}", b"other", "replay")
    assert d.ledger.size() == size + 4
