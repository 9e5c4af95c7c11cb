"""Audit: trace queries, the auditor's own record, anomaly rules and reports.

Every scenario runs on a fake clock, so each expectation below is worked out by hand
from the times and the requests made, never from the library's answers.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from domain_support import Actor, Cast, key, make_cast, utc
from support import FakeClock

from chainledger.access import read_fields
from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.audit import AnomalyRules, anomalies
from chainledger.clock import format_ts
from chainledger.crypto import public_key_bytes
from chainledger.domain import Domain
from chainledger.errors import SchemaError
from chainledger.identity import make_resident_id
from chainledger.rules import Refused
from chainledger.statement import SignedStatement
from chainledger.store.projections import AccessRow
from chainledger.verify import verify_ledger

BASE = utc(2026, 3, 2, 1, 0)  # 09:00 China Standard Time
EVIL_NAME = '<script>alert("x")</script> 汽车站窗口'
ID_FIELDS = ["name", "id_number"]
HEALTH_FIELDS = ["name", "id_number", "occupation_category", "valid_until"]
CSV_COLUMNS = [
    "seq", "ts", "counter", "holder", "asset", "cls", "issuer", "grant", "purpose", "outcome",
    "reason",
]  # fmt: skip


@dataclasses.dataclass
class World:
    """A cast on a fake clock, with names for what the tests refer to."""

    cast: Cast
    clock: FakeClock
    third: Actor  # a third citizen
    market: Actor  # a market-regulation window
    evil: Actor  # a bus-station counter whose display name is markup
    ids: dict[str, str]  # name -> party, asset or grant id, or a timestamp
    seqs: dict[str, int]  # r1.. -> seq of the access entry
    values: dict[str, dict[str, Any]]  # asset id -> the values issued

    @property
    def d(self) -> Domain:
        return self.cast.domain


# --- building worlds --------------------------------------------------------------------------


def issue(
    world: World, issuer: Actor, holder: Actor, cls: str, values: dict[str, Any], until: str
) -> str:
    d = world.d
    disclosures = make_disclosures(values, d.ledger.rand)
    stmt = issuer.sign(
        d, "asset.issue",
        **issue_fields(cls, holder.id, digests_of(d.ledger.suite, disclosures), "2025-01-01",
                       until),
    )  # fmt: skip
    d.issue(stmt, disclosures)
    aid = asset_id(issuer.id, stmt.nonce)
    world.values[aid] = values
    return aid


def plain_world(db: Path) -> World:
    """The cast, a third citizen, a market window, a markup-named bus counter, and an ID card
    for each citizen; no grants, no reads."""
    clock = FakeClock(BASE)
    cast = make_cast(db, clock=clock)
    third_id = make_resident_id(
        random.Random(3), region="371502", birth=date(1970, 1, 2), female=False
    )
    w = World(
        cast, clock, Actor(key(30), "holder"), Actor(key(31), "counter"),
        Actor(key(32), "counter"), {}, {}, {},
    )  # fmt: skip
    cast.register(w.third, "", {"subject": "person"}, real_id=third_id)
    cast.register(w.market, "东昌府区市场监管窗口", {"counter_type": "market_regulation_window"})
    cast.register(w.evil, EVIL_NAME, {"counter_type": "bus_station"})
    numbers = {"citizen": cast.citizen_id_number, "other": cast.other_id_number, "third": third_id}
    for name, number in numbers.items():
        holder = w.third if name == "third" else getattr(cast, name)
        aid, values = cast.issue_id_card(holder, number, f"持证人{name}")
        w.ids[f"card:{name}"] = aid
        w.values[aid] = values
    w.ids |= {
        "citizen": cast.citizen.id, "other": cast.other.id, "third": w.third.id,
        "bus": cast.bus.id, "hotel": cast.hotel.id, "market": w.market.id, "evil": w.evil.id,
        "police": cast.police.id, "health": cast.health.id,
    }  # fmt: skip
    return w


def read(
    w: World, counter: Actor, grant: str, asset: str, fields: list[str], purpose: str, ok: bool
) -> int:
    """A request by ``counter`` that must be admitted (``ok``) or refused; its entry's seq."""
    d = w.d
    stmt = counter.sign(d, "access.read", **read_fields(grant, asset, fields, purpose))
    if ok:
        return d.read(stmt).receipt.seq
    with pytest.raises(Refused) as info:
        d.read(stmt)
    return int(info.value.receipt.seq)


def traced_world(db: Path) -> World:
    """Seven counter requests, ten minutes apart from 01:10 UTC (09:10 in Liaocheng):

    ==  ======  =======  ==================  ===========  =======================
    r   time    counter  holder, asset       outcome      purpose (the grant's)
    ==  ======  =======  ==================  ===========  =======================
    r1  01:10   bus      citizen, card       read         ticket_purchase
    r2  01:20   hotel    other, card         read         accommodation_registration
    r3  01:30   bus      citizen, card       denied       ticket_purchase
    r4  01:40   hotel    citizen, card       read         accommodation_registration
    r5  01:50   market   citizen, health     read         hygiene_licence
    r6  02:00   hotel    other, card         denied       accommodation_registration
    r7  02:10   evil     citizen, card       read         ticket_purchase
    ==  ======  =======  ==================  ===========  =======================
    """
    w = plain_world(db)
    c = w.cast
    w.ids["health_cert"] = issue(
        w, c.health, c.citizen, "health_certificate",
        {"name": "持证人citizen", "sex": "女", "id_number": c.citizen_id_number,
         "occupation_category": "公共场所", "medical_institution": "聊城市疾病预防控制中心",
         "exam_date": "2025-12-01", "valid_until": "2026-11-30",
         "certificate_number": "JK2025-0042"},
        "2026-11-30",
    )  # fmt: skip
    card_c, card_o = w.ids["card:citizen"], w.ids["card:other"]
    g_bus, _ = c.grant(c.citizen, c.bus, "bus_ticket", {"resident_id_card": ID_FIELDS}, hours=5)
    g_hotel_c, _ = c.grant(
        c.citizen, c.hotel, "hotel_check_in", {"resident_id_card": ID_FIELDS}, hours=5
    )
    g_hotel_o, _ = c.grant(
        c.other, c.hotel, "hotel_check_in", {"resident_id_card": ID_FIELDS}, hours=5
    )
    g_market, _ = c.grant(
        c.citizen, w.market, "hygiene_licence_application",
        {"health_certificate": HEALTH_FIELDS}, hours=5,
    )  # fmt: skip
    g_evil, _ = c.grant(c.citizen, w.evil, "bus_ticket", {"resident_id_card": ID_FIELDS}, hours=5)
    w.ids |= {"g_bus": g_bus, "g_hotel_c": g_hotel_c, "g_hotel_o": g_hotel_o}
    requests = [
        (c.bus, g_bus, card_c, ID_FIELDS, "ticket_purchase", True),
        (c.hotel, g_hotel_o, card_o, ["name"], "accommodation_registration", True),
        (c.bus, g_bus, card_c, ["name", "address"], "ticket_purchase", False),
        (c.hotel, g_hotel_c, card_c, ["id_number"], "accommodation_registration", True),
        (w.market, g_market, w.ids["health_cert"], HEALTH_FIELDS, "hygiene_licence", True),
        (c.hotel, g_hotel_o, card_o, ["name", "address"], "accommodation_registration", False),
        (w.evil, g_evil, card_c, ID_FIELDS, "ticket_purchase", True),
    ]
    for i, (counter, grant, asset, fields, purpose, ok) in enumerate(requests, start=1):
        when = BASE + timedelta(minutes=10 * i)
        w.clock.at(when)
        w.seqs[f"r{i}"] = read(w, counter, grant, asset, fields, purpose, ok)
        w.ids[f"ts:r{i}"] = format_ts(when)
    return w


def copy_world(template: World, src: Path, dst: Path) -> World:
    """The template's files copied to ``dst``, opened on a clock of its own."""
    for path in src.iterdir():
        shutil.copy2(path, dst / path.name)
    clock = FakeClock(template.clock.now)
    domain = Domain.open(dst / src.name.removesuffix(".d"), clock=clock)
    cast = dataclasses.replace(template.cast, domain=domain)
    return dataclasses.replace(
        template, cast=cast, clock=clock, ids=dict(template.ids), seqs=dict(template.seqs),
        values=dict(template.values),
    )  # fmt: skip


def template(tmp: Path, build: Callable[[Path], World]) -> tuple[World, Path]:
    src = tmp / "w.db.d"
    src.mkdir()
    w = build(src / "w.db")
    w.d.close()
    return w, src


@pytest.fixture(scope="module")
def traced_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, Path]:
    return template(tmp_path_factory.mktemp("traced"), traced_world)


@pytest.fixture(scope="module")
def plain_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, Path]:
    return template(tmp_path_factory.mktemp("plain"), plain_world)


@pytest.fixture
def traced(traced_template: tuple[World, Path], tmp_path: Path) -> Iterator[World]:
    w = copy_world(*traced_template, tmp_path)
    yield w
    w.d.close()


@pytest.fixture
def plain(plain_template: tuple[World, Path], tmp_path: Path) -> Iterator[World]:
    w = copy_world(*plain_template, tmp_path)
    yield w
    w.d.close()


def query(w: World, *, by: Actor | None = None, **q: Any) -> SignedStatement:
    """An ``audit.query`` signed by ``by`` (the auditor by default); "@name" values are
    resolved through ``w.ids``."""
    q = {k: w.ids[v[1:]] if isinstance(v, str) and v.startswith("@") else v for k, v in q.items()}
    return (by or w.cast.auditor).sign(w.d, "audit.query", query=q)


# --- trace --------------------------------------------------------------------------------------

TRACES = [
    ({"holder": "@citizen"}, ["r1", "r3", "r4", "r5", "r7"]),
    ({"holder": "@other"}, ["r2", "r6"]),
    ({"holder": "@third"}, []),
    ({"asset": "@card:citizen"}, ["r1", "r3", "r4", "r7"]),
    ({"asset": "@health_cert"}, ["r5"]),
    ({"counter": "@bus"}, ["r1", "r3"]),
    ({"counter": "@hotel"}, ["r2", "r4", "r6"]),
    ({"issuer": "@health"}, ["r5"]),
    ({"issuer": "@police"}, ["r1", "r2", "r3", "r4", "r6", "r7"]),
    ({"purpose": "accommodation_registration"}, ["r2", "r4", "r6"]),
    ({"purpose": "ticket_purchase"}, ["r1", "r3", "r7"]),
    ({"purpose": "marketing"}, []),
    ({"outcome": "denied"}, ["r3", "r6"]),
    ({"outcome": "read"}, ["r1", "r2", "r4", "r5", "r7"]),
    # since is inclusive, until exclusive
    ({"since": "@ts:r3", "until": "@ts:r5"}, ["r3", "r4"]),
    ({"since": "@ts:r6"}, ["r6", "r7"]),
    ({"until": "@ts:r1"}, []),
    ({"until": "@ts:r2"}, ["r1"]),
    ({"counter": "@hotel", "holder": "@citizen"}, ["r4"]),
    ({"holder": "@other", "outcome": "read", "since": "@ts:r1"}, ["r2"]),
    ({"view": "trace", "counter": "@evil"}, ["r7"]),
]


@pytest.mark.parametrize(("q", "expected"), TRACES, ids=[str(t[0]) for t in TRACES])
def test_trace_filters(traced: World, q: dict[str, Any], expected: list[str]) -> None:
    _, rows = traced.d.trace(query(traced, **q))
    assert [r.seq for r in rows] == [traced.seqs[name] for name in expected]


def test_audit_trace_view_answers_like_trace(traced: World) -> None:
    _, by_trace = traced.d.trace(query(traced, holder="@citizen"))
    _, by_audit = traced.d.audit(query(traced, view="trace", holder="@citizen"))
    assert by_audit == by_trace
    _, limited = traced.d.trace(query(traced, holder="@citizen"), limit=2)
    assert [r.seq for r in limited] == [traced.seqs["r1"], traced.seqs["r3"]]


def test_a_trace_row_says_who_asked_for_what(traced: World) -> None:
    w = traced
    _, rows = w.d.trace(query(w, outcome="denied", counter="@bus"))
    assert rows == [
        AccessRow(
            w.seqs["r3"], w.ids["ts:r3"], w.ids["bus"], w.ids["citizen"], w.ids["card:citizen"],
            "resident_id_card", w.ids["police"], w.ids["g_bus"], "ticket_purchase", "denied",
            "field_not_granted",
        )
    ]  # fmt: skip


def test_the_holder_sees_the_same_history_unrecorded(traced: World) -> None:
    size = traced.d.ledger.size()
    history = traced.d.history(traced.ids["other"])
    assert [h.seq for h in history] == [traced.seqs["r2"], traced.seqs["r6"]]
    assert traced.d.ledger.size() == size


# --- the auditor's own record -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "view"),
    [("trace", None), ("audit", "trace"), ("audit", "anomalies"), ("audit", "report")],
)
def test_each_query_is_recorded_before_it_is_answered(
    traced: World, monkeypatch: pytest.MonkeyPatch, call: str, view: str | None
) -> None:
    d = traced.d
    size = d.ledger.size()
    stmt = query(traced, counter="@hotel") if view is None else query(traced, view=view)
    store = d.store
    real_access = store.access
    seen: list[tuple[int, bytes]] = []

    def spy(flt: Any) -> list[AccessRow]:
        # What is on the ledger at the moment the question is answered.
        seen.append((d.ledger.size(), d.ledger.entry(d.ledger.size() - 1)))
        return list(real_access(flt))

    monkeypatch.setattr(store, "access", spy)
    receipt, _ = d.trace(stmt) if call == "trace" else d.audit(stmt, "json")
    assert seen, "the answer did not read the access log"
    assert seen[0] == (size + 1, receipt.entry)
    assert d.ledger.size() == size + 1
    assert receipt.seq == size
    entry, _ = receipt.verify([d.ledger.verifier])
    assert entry.kind == "audit.query"
    assert entry.actor == traced.cast.auditor.id
    assert entry.statement.body == stmt.body
    entry.statement.verify(public_key_bytes(traced.cast.auditor.key))
    verify_ledger(d.store, rules=d.ledger.rules)  # the replay admits the auditor's query too


@pytest.mark.parametrize("who", ["citizen", "bus", "police"])
@pytest.mark.parametrize("call", ["trace", "audit"])
def test_only_an_auditor_may_query(traced: World, who: str, call: str) -> None:
    d = traced.d
    size = d.ledger.size()
    stmt = query(traced, by=getattr(traced.cast, who), holder="@citizen")
    with pytest.raises(Refused) as info:
        d.trace(stmt) if call == "trace" else d.audit(stmt)
    assert info.value.reason == "role"
    # The attempt is recorded (request.denied), the query is not.
    assert info.value.receipt is not None
    assert d.ledger.size() == size + 1


MALFORMED = [
    {"colour": "red"},
    {"holder": "@citizen", "counterr": "@bus"},
    {"outcome": "maybe"},
    {"outcome": "READ"},
    {"since": "2026-03-02 01:00:00"},
    {"until": "2026-03-02T01:00:00Z"},
    {"since": "2026-02-30T01:00:00.000Z"},
    {"view": "everything"},
    {},
    {"holder": 42},
    {"holder": ["@citizen"]},
]


@pytest.mark.parametrize("q", MALFORMED, ids=[str(q) for q in MALFORMED])
@pytest.mark.parametrize("call", ["trace", "audit"])
def test_malformed_queries_are_refused_and_append_nothing(
    traced: World, q: dict[str, Any], call: str
) -> None:
    d = traced.d
    size = d.ledger.size()
    stmt = query(traced, **q)
    with pytest.raises(SchemaError):
        d.trace(stmt) if call == "trace" else d.audit(stmt)
    assert d.ledger.size() == size


def test_an_unknown_report_format_appends_nothing(traced: World) -> None:
    size = traced.d.ledger.size()
    with pytest.raises(SchemaError):
        traced.d.audit(query(traced, view="report"), "pdf")
    assert traced.d.ledger.size() == size


# --- anomaly rules ------------------------------------------------------------------------------


def grant_to(w: World, holder: Actor, counter: Actor, *, hours: float = 5.0) -> str:
    """A standing grant of the holder's ID card to a hotel or bus counter, from now."""
    scenario = "hotel_check_in" if counter is w.cast.hotel else "bus_ticket"
    gid, _ = w.cast.grant(holder, counter, scenario, {"resident_id_card": ID_FIELDS}, hours=hours)
    return gid


def purpose_of(w: World, counter: Actor) -> str:
    return "accommodation_registration" if counter is w.cast.hotel else "ticket_purchase"


def card_of(w: World, holder: Actor) -> str:
    name = {w.cast.citizen.id: "citizen", w.cast.other.id: "other", w.third.id: "third"}
    return w.ids[f"card:{name[holder.id]}"]


def request_at(w: World, minute: float, counter: Actor, holder: Actor, grant: str, ok: bool) -> int:
    """At BASE + 1 h + ``minute``: a read of the holder's card (``ok``) or a refused one
    (a field outside the grant)."""
    w.clock.at(BASE + timedelta(hours=1, minutes=minute))
    fields = ID_FIELDS if ok else ["name", "address"]
    return read(w, counter, grant, card_of(w, holder), fields, purpose_of(w, counter), ok)


def found(w: World, rule: str) -> list[Any]:
    _, answer = w.d.audit(query(w, view="anomalies"))
    return [a for a in answer if a.rule == rule]


def test_a_refusal_burst_is_flagged_once(plain: World) -> None:
    c = plain.cast
    grant = grant_to(plain, c.citizen, c.hotel)
    seqs = [request_at(plain, m, c.hotel, c.citizen, grant, False) for m in (0, 2, 4, 6, 8)]
    burst = found(plain, "refusal_burst")
    assert [(a.counter, a.seq) for a in burst] == [(c.hotel.id, seqs[4])]
    _, everything = plain.d.audit(query(plain, view="anomalies"))
    assert everything == burst  # and nothing else in this quiet morning
    verify_ledger(plain.d.store, rules=plain.d.ledger.rules)


def test_anomalies_for_one_counter_are_that_counters_only(plain: World) -> None:
    """The answer holds no more than the recorded query asked for."""
    c = plain.cast
    grant = grant_to(plain, c.citizen, c.hotel)
    for m in (0, 2, 4, 6, 8):
        request_at(plain, m, c.hotel, c.citizen, grant, False)
    assert len(found(plain, "refusal_burst")) == 1  # the hotel's
    _, answer = plain.d.audit(query(plain, view="anomalies", counter="@bus"))
    assert answer == []


@pytest.mark.parametrize(
    "plan",
    [
        pytest.param([("hotel", 0, False), ("hotel", 2, False), ("hotel", 4, False),
                      ("hotel", 6, False)], id="four-in-ten-minutes"),
        pytest.param([("hotel", m, False) for m in (0, 3, 6, 9, 12)], id="five-over-twelve-min"),
        pytest.param([("hotel", 0, False), ("hotel", 2, False), ("hotel", 4, False),
                      ("bus", 6, False), ("bus", 8, False)], id="five-at-two-counters"),
        pytest.param([("hotel", 0, False), ("hotel", 2, False), ("hotel", 4, True),
                      ("hotel", 6, False), ("hotel", 8, False)], id="four-refusals-one-read"),
    ],
)  # fmt: skip
def test_no_refusal_burst(plain: World, plan: list[tuple[str, float, bool]]) -> None:
    c = plain.cast
    grants = {
        "hotel": grant_to(plain, c.citizen, c.hotel),
        "bus": grant_to(plain, c.citizen, c.bus),
    }
    for counter, minute, ok in plan:
        request_at(plain, minute, getattr(c, counter), c.citizen, grants[counter], ok)
    assert found(plain, "refusal_burst") == []
    assert plain.d.stats()["refusals"] == sum(1 for *_, ok in plan if not ok)


def test_a_counter_reading_many_holders_is_flagged(plain: World) -> None:
    c = plain.cast
    holders = [c.citizen, c.other, plain.third]
    grants = [grant_to(plain, h, c.hotel) for h in holders]
    seqs = [
        request_at(plain, m, c.hotel, h, g, True)
        for m, h, g in zip((0, 20, 40), holders, grants, strict=True)
    ]
    many = anomalies(plain.d.store, rules=AnomalyRules(holders=3))
    assert [(a.rule, a.counter, a.seq) for a in many] == [("many_holders", c.hotel.id, seqs[2])]
    # At the default threshold (50 holders) three are not many.
    assert found(plain, "many_holders") == []


@pytest.mark.parametrize(
    "plan",
    [
        pytest.param([("hotel", "citizen", 0), ("hotel", "other", 40), ("hotel", "third", 90)],
                     id="three-holders-over-ninety-minutes"),
        pytest.param([("hotel", "citizen", 0), ("hotel", "other", 10), ("hotel", "citizen", 20),
                      ("hotel", "other", 30)], id="two-holders-four-times"),
        pytest.param([("hotel", "citizen", 0), ("hotel", "other", 10), ("bus", "third", 20)],
                     id="three-holders-two-counters"),
    ],
)  # fmt: skip
def test_not_many_holders(plain: World, plan: list[tuple[str, str, float]]) -> None:
    c = plain.cast
    people = {"citizen": c.citizen, "other": c.other, "third": plain.third}
    grants: dict[tuple[str, str], str] = {}
    for counter, who, _ in plan:
        if (counter, who) not in grants:
            grants[counter, who] = grant_to(plain, people[who], getattr(c, counter))
    for counter, who, minute in plan:
        request_at(plain, minute, getattr(c, counter), people[who], grants[counter, who], True)
    assert plain.d.stats()["reads"] == len(plan)
    rules = AnomalyRules(holders=3)
    assert [a for a in anomalies(plain.d.store, rules=rules) if a.rule == "many_holders"] == []


@pytest.mark.parametrize(("left", "flagged"), [(5, True), (1, True), (15, False), (50, False)])
def test_a_read_near_grant_expiry(plain: World, left: int, flagged: bool) -> None:
    c = plain.cast
    plain.clock.at(BASE + timedelta(hours=1))
    grant = grant_to(plain, c.citizen, c.hotel, hours=1)  # expires at BASE + 2 h
    seq = request_at(plain, 60 - left, c.hotel, c.citizen, grant, True)
    near = found(plain, "near_expiry")
    if flagged:
        assert [(a.counter, a.seq) for a in near] == [(c.hotel.id, seq)]
        assert f"{left * 60} s" in near[0].detail
    else:
        assert near == []


# Bus ticket offices are open 06:00-20:00 China Standard Time (UTC+8).
HOURS = [
    ("bus", utc(2026, 3, 2, 18, 0), True),  # 02:00 CST
    ("bus", utc(2026, 3, 3, 2, 0), False),  # 10:00 CST
    ("bus", utc(2026, 3, 2, 21, 59), True),  # 05:59 CST
    ("bus", utc(2026, 3, 2, 22, 0), False),  # 06:00 CST: open
    ("bus", utc(2026, 3, 3, 11, 59), False),  # 19:59 CST
    ("bus", utc(2026, 3, 3, 12, 0), True),  # 20:00 CST: closed
    ("hotel", utc(2026, 3, 2, 18, 0), False),  # a hotel front desk never closes
]


@pytest.mark.parametrize(("counter", "when", "flagged"), HOURS, ids=[str(h) for h in HOURS])
def test_a_read_outside_opening_hours(
    plain: World, counter: str, when: datetime, flagged: bool
) -> None:
    c = plain.cast
    plain.clock.at(when)
    grant = grant_to(plain, c.citizen, getattr(c, counter))
    seq = read(plain, getattr(c, counter), grant, card_of(plain, c.citizen), ID_FIELDS,
               purpose_of(plain, getattr(c, counter)), True)  # fmt: skip
    assert plain.d.stats()["reads"] == 1
    outside = found(plain, "outside_hours")
    if flagged:
        assert [(a.counter, a.seq, a.ts) for a in outside] == [
            (getattr(c, counter).id, seq, format_ts(when))
        ]
    else:
        assert outside == []


def test_a_refused_request_at_night_is_not_a_read_outside_hours(plain: World) -> None:
    c = plain.cast
    plain.clock.at(utc(2026, 3, 2, 18, 0))  # 02:00 CST
    grant = grant_to(plain, c.citizen, c.bus)
    card = card_of(plain, c.citizen)
    read(plain, c.bus, grant, card, ["name", "address"], "ticket_purchase", False)
    assert plain.d.stats()["refusals"] == 1
    assert found(plain, "outside_hours") == []


# --- reports ------------------------------------------------------------------------------------


def report(w: World, fmt: str, **q: Any) -> str:
    size = w.d.ledger.size()
    receipt, text = w.d.audit(query(w, view="report", **q), fmt)
    assert receipt.seq == size
    assert w.d.ledger.size() == size + 1
    assert isinstance(text, str)
    return text


def test_csv_report_has_a_header_and_one_row_per_request(traced: World) -> None:
    w = traced
    rows = list(csv.reader(io.StringIO(report(w, "csv"))))
    assert rows[0] == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert [int(r["seq"]) for r in body] == [w.seqs[f"r{i}"] for i in range(1, 8)]
    assert [r["outcome"] for r in body] == [
        "read", "read", "denied", "read", "read", "denied", "read",
    ]  # fmt: skip
    assert body[2] == {
        "seq": str(w.seqs["r3"]), "ts": w.ids["ts:r3"], "counter": w.ids["bus"],
        "holder": w.ids["citizen"], "asset": w.ids["card:citizen"], "cls": "resident_id_card",
        "issuer": w.ids["police"], "grant": w.ids["g_bus"], "purpose": "ticket_purchase",
        "outcome": "denied", "reason": "field_not_granted",
    }  # fmt: skip
    assert body[0]["reason"] == ""


def test_json_report_has_the_counts(traced: World) -> None:
    w = traced
    data = json.loads(report(w, "json"))
    assert (data["reads"], data["refusals"]) == (5, 2)
    assert data["refusal_reasons"] == {"field_not_granted": 2}
    assert data["per_counter"] == {
        w.ids["bus"]: {"read": 1, "denied": 1},
        w.ids["hotel"]: {"read": 2, "denied": 1},
        w.ids["market"]: {"read": 1},
        w.ids["evil"]: {"read": 1},
    }
    assert data["per_class"] == {
        "resident_id_card": {"read": 4, "denied": 2},
        "health_certificate": {"read": 1},
    }
    assert data["per_day"] == {"2026-03-02": {"read": 5, "denied": 2}}
    assert data["anomalies"] == []  # ten minutes apart, in office hours, far from expiry
    part = json.loads(report(w, "json", since=w.ids["ts:r3"], until=w.ids["ts:r5"]))
    assert (part["reads"], part["refusals"]) == (1, 1)  # r4 and r3
    assert (part["since"], part["until"]) == (w.ids["ts:r3"], w.ids["ts:r5"])


class TagChecker(HTMLParser):
    """Start and end tags nest properly; counts what it saw."""

    VOID = frozenset({"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: Counter[str] = Counter()
        self.errors: list[str] = []
        self.decls: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.decls.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_html_report_is_well_formed_with_charts(traced: World) -> None:
    text = report(traced, "html")
    assert text.startswith("<!doctype html>")
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    assert checker.decls == ["doctype html"]
    assert checker.tags["svg"] == 3  # per counter, per class, per day
    assert checker.tags["rect"] >= 2 * 3
    assert checker.tags["script"] == 0
    # The counter whose display name is markup is in the report, its markup is not.
    assert traced.ids["evil"] in text
    assert "<script" not in text.lower()


def test_a_report_for_one_holder_holds_only_that_holders_requests(traced: World) -> None:
    """The answer holds no more than the recorded query asked for."""
    w = traced
    rows = list(csv.DictReader(io.StringIO(report(w, "csv", holder="@other"))))
    assert [int(r["seq"]) for r in rows] == [w.seqs["r2"], w.seqs["r6"]]


def test_a_json_report_for_one_counter_counts_that_counter_only(traced: World) -> None:
    data = json.loads(report(traced, "json", counter="@hotel"))
    assert (data["reads"], data["refusals"]) == (2, 1)  # r2, r4; r6


@pytest.mark.parametrize("fmt", ["csv", "json", "html"])
def test_no_report_carries_an_asset_value(traced: World, fmt: str) -> None:
    text = report(traced, fmt)
    issued = [str(v) for values in traced.values.values() for v in values.values()]
    assert issued
    for value in issued:
        assert value not in text, f"an issued value is in the {fmt} report"
