"""The cross-verification sheet (证明核查表) of a public-place hygiene licence application.

An enterprise applies at a market-regulation window: the window reads its business
licence and the health certificate of each of its three staff (one of whom has revoked
the grant, so that read is refused and recorded), then signs a ``sheet.issue`` that lists
each request's entry by seq and leaf hash, with its asset and outcome.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from domain_support import Actor, Cast, key, make_cast, utc

from chainledger.access import read_fields
from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.entry import decode_entry
from chainledger.errors import SchemaError
from chainledger.identity import make_person_name, make_resident_id, make_uscc
from chainledger.receipt import Receipt
from chainledger.rules import Refused
from chainledger.sheets import sheet_fields
from chainledger.statement import SignedStatement
from chainledger.verify import verify_ledger

NOW = utc(2026, 3, 2, 2, 30)  # 10:30 in Liaocheng, when the application is handled
SCENARIO = "hygiene_licence_application"
PURPOSE = "hygiene_licence"
LICENCE_FIELDS = ["company_name", "uscc", "legal_representative", "address"]
HEALTH_FIELDS = ["name", "id_number", "occupation_category", "valid_until"]


@dataclass
class Application:
    cast: Cast
    window: Actor  # the market-regulation window handling the application
    other_window: Actor  # another window of the same type
    enterprise: Actor
    staff: list[Actor]
    licence: str  # the business licence's asset id
    certificates: list[str]  # each staff member's health certificate
    receipts: list[Receipt]  # of the window's four requests, in order
    outcomes: list[str]
    other_read: Receipt  # a read by the other window

    def items(self) -> list[dict[str, Any]]:
        assets = [self.licence, *self.certificates]
        return [
            {"seq": r.seq, "leaf": r.leaf_hash.hex(), "asset": a, "outcome": o}
            for r, a, o in zip(self.receipts, assets, self.outcomes, strict=True)
        ]


def issue(cast: Cast, issuer: Actor, holder: Actor, cls: str, values: dict[str, Any]) -> str:
    d = cast.domain
    disclosures = make_disclosures(values, d.ledger.rand)
    until = values.get("valid_until")
    stmt = issuer.sign(
        d, "asset.issue",
        **issue_fields(cls, holder.id, digests_of(d.ledger.suite, disclosures), "2024-01-01",
                       until),
    )  # fmt: skip
    d.issue(stmt, disclosures)
    return asset_id(issuer.id, stmt.nonce)


def request(cast: Cast, counter: Actor, grant: str, asset: str, fields: list[str]) -> Receipt:
    """A read; the receipt of its entry (the read's own, or its recorded refusal's)."""
    d = cast.domain
    stmt = counter.sign(d, "access.read", **read_fields(grant, asset, fields, PURPOSE))
    try:
        return d.read(stmt).receipt
    except Refused as exc:
        receipt: Receipt = exc.receipt
        return receipt


def apply(db: Path) -> Application:
    cast = make_cast(db, clock=lambda: NOW)
    d = cast.domain
    rng = random.Random(11)
    market = Actor(key(40), "issuer")
    window, other_window = Actor(key(41), "counter"), Actor(key(42), "counter")
    enterprise = Actor(key(43), "holder")
    staff = [Actor(key(44 + i), "holder") for i in range(3)]
    uscc = make_uscc(rng, region="371502")
    cast.register(market, "聊城市市场监督管理局", {"authorities": ["market_regulation"]})
    cast.register(
        window, "东昌府区政务服务中心 市场监管窗口 1", {"counter_type": "market_regulation_window"}
    )
    cast.register(
        other_window,
        "东昌府区政务服务中心 市场监管窗口 2",
        {"counter_type": "market_regulation_window"},
    )
    cast.register(enterprise, "", {"subject": "enterprise"}, real_id=uscc)
    licence_values = {
        "company_name": "聊城市东昌府区水城沐浴有限公司", "uscc": uscc,
        "company_type": "有限责任公司(自然人投资或控股)", "legal_representative": "王建国",
        "registered_capital": 500_000, "established": "2019-06-18",
        "address": "山东省聊城市东昌府区柳园南路88号", "business_scope": "住宿服务;洗浴服务",
    }  # fmt: skip
    licence = issue(cast, market, enterprise, "business_licence", licence_values)
    certificates = []
    for i, member in enumerate(staff):
        female = i % 2 == 0
        number = make_resident_id(
            rng, region="371502", birth=date(1985 + i, 4, 1 + i), female=female
        )
        cast.register(member, "", {"subject": "person"}, real_id=number)
        cert_values = {
            "name": make_person_name(rng, female=female), "sex": "女" if female else "男",
            "id_number": number, "occupation_category": "公共场所",
            "medical_institution": "聊城市东昌府区疾病预防控制中心",
            "exam_date": f"2025-11-0{i + 1}", "valid_until": f"2026-11-0{i + 1}",
            "certificate_number": f"JKZ-2025-00{i + 17}",
        }  # fmt: skip
        certificates.append(issue(cast, cast.health, member, "health_certificate", cert_values))
    licence_grant, _ = cast.grant(
        enterprise, window, SCENARIO, {"business_licence": LICENCE_FIELDS}, hours=2
    )
    staff_grants = [
        cast.grant(m, window, SCENARIO, {"health_certificate": HEALTH_FIELDS}, hours=2)[0]
        for m in staff
    ]
    # The second staff member withdraws consent before the window gets to it.
    d.append(staff[1].sign(d, "grant.revoke", grant=staff_grants[1]))
    receipts = [request(cast, window, licence_grant, licence, LICENCE_FIELDS)]
    receipts += [
        request(cast, window, g, c, HEALTH_FIELDS)
        for g, c in zip(staff_grants, certificates, strict=True)
    ]
    other_grant, _ = cast.grant(
        staff[0], other_window, SCENARIO, {"health_certificate": ["name"]}, hours=2
    )
    other_read = request(cast, other_window, other_grant, certificates[0], ["name"])
    return Application(
        cast, window, other_window, enterprise, staff, licence, certificates, receipts,
        ["read", "read", "denied", "read"], other_read,
    )  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Application]:
    """One application for the module: refused sheets change nothing, and the tests that
    append a sheet check only what they appended."""
    a = apply(tmp_path_factory.mktemp("sheet") / "s.db")
    yield a
    a.cast.domain.close()


def sign_sheet(
    app: Application, items: Any, *, by: Actor | None = None, application: Any = None
) -> SignedStatement:
    d = app.cast.domain
    fields = sheet_fields(PURPOSE if application is None else application, items)
    return (by or app.window).sign(d, "sheet.issue", **fields)


def test_the_window_reads_four_and_one_is_refused_and_recorded(app: Application) -> None:
    d = app.cast.domain
    kinds = [decode_entry(r.entry).kind for r in app.receipts]
    assert kinds == ["access.read", "access.read", "access.denied", "access.read"]
    refusal = decode_entry(app.receipts[2].entry).statement.stmt
    assert refusal["reason"] == "grant_revoked"
    assert refusal["counter"] == app.window.id
    assert refusal["asset"] == app.certificates[1]
    history = d.history(app.staff[1].id)
    assert [(h.seq, h.outcome, h.reason) for h in history] == [
        (app.receipts[2].seq, "denied", "grant_revoked")
    ]


def test_the_sheet_is_admitted_and_its_receipt_verifies(app: Application) -> None:
    d = app.cast.domain
    items = app.items()
    stmt = sign_sheet(app, items)
    size = d.ledger.size()
    receipt = d.append(stmt)
    assert receipt.seq == size
    assert d.ledger.size() == size + 1
    entry, checkpoint = receipt.verify([d.ledger.verifier])
    assert checkpoint.size == size + 1
    assert entry.kind == "sheet.issue"
    assert entry.actor == app.window.id
    assert entry.statement.stmt["application"] == PURPOSE
    assert entry.statement.stmt["items"] == items
    # Anyone can check each listed entry against the ledger: its leaf and what it says.
    for item, expected_kind in zip(
        items, ["access.read", "access.read", "access.denied", "access.read"], strict=True
    ):
        data = d.ledger.entry(item["seq"])
        assert d.ledger.suite.leaf(data).hex() == item["leaf"]
        listed = decode_entry(data)
        assert listed.kind == expected_kind
        if expected_kind == "access.read":
            assert listed.actor == app.window.id
            assert listed.statement.stmt["asset"] == item["asset"]
        proof = d.ledger.inclusion_proof(item["seq"], checkpoint.size)
        proof.verify(bytes.fromhex(item["leaf"]), checkpoint.root)


def test_a_ledger_with_a_sheet_verifies(app: Application) -> None:
    """`verify` replays the sheet through the same rules that admitted it."""
    d = app.cast.domain
    receipt = d.append(sign_sheet(app, app.items()))
    report = verify_ledger(d.store, rules=d.ledger.rules)
    assert report.entries >= receipt.seq + 1


def test_a_sheet_of_some_of_the_items_is_admitted(app: Application) -> None:
    d = app.cast.domain
    receipt = d.append(sign_sheet(app, app.items()[2:3]))
    entry, _ = receipt.verify([d.ledger.verifier])
    assert entry.statement.stmt["items"][0]["outcome"] == "denied"


def mutate(app: Application, index: int, **changes: Any) -> list[dict[str, Any]]:
    items = copy.deepcopy(app.items())
    items[index].update(changes)
    return items


REFUSED: dict[str, Callable[[Application], Any]] = {
    "another counter's read": lambda a: mutate(
        a, 1, seq=a.other_read.seq, leaf=a.other_read.leaf_hash.hex()
    ),
    "a read listed as denied": lambda a: mutate(a, 0, outcome="denied"),
    "a refusal listed as read": lambda a: mutate(a, 2, outcome="read"),
    "a read of another asset": lambda a: mutate(a, 1, asset=a.certificates[2]),
    "a refusal of another asset": lambda a: mutate(a, 2, asset=a.certificates[0]),
    "an asset.issue entry": lambda a: mutate(a, 0, seq=a.cast.domain.store.asset(a.licence).seq),
    "a catalog entry": lambda a: mutate(a, 3, seq=1),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_sheet_naming_what_the_window_did_not_do_is_refused(app: Application, case: str) -> None:
    d = app.cast.domain
    items = REFUSED[case](app)
    size = d.ledger.size()
    with pytest.raises(Refused) as info:
        d.append(sign_sheet(app, items))
    assert info.value.reason == "sheet_item_unknown"
    assert d.ledger.size() == size


def test_the_entries_named_by_the_refused_cases_are_not_the_windows_requests(
    app: Application,
) -> None:
    """The refused cases above refer to entries that really are what they are said to be."""
    d = app.cast.domain
    licence = d.store.asset(app.licence)
    assert decode_entry(d.ledger.entry(licence.seq)).kind == "asset.issue"
    assert decode_entry(d.ledger.entry(1)).kind.startswith("catalog.")
    other = decode_entry(app.other_read.entry)
    assert (other.kind, other.actor) == ("access.read", app.other_window.id)


def test_a_sheet_with_a_wrong_leaf_hash_is_refused(app: Application) -> None:
    """An item's leaf must be the leaf hash of the entry at its seq: otherwise the sheet
    would sign a false claim about the ledger."""
    d = app.cast.domain
    wrong = app.receipts[3].leaf_hash.hex()  # a real leaf, of another entry
    items = mutate(app, 1, leaf=wrong)
    size = d.ledger.size()
    with pytest.raises((Refused, SchemaError)):
        d.append(sign_sheet(app, items))
    assert d.ledger.size() == size


MALFORMED: dict[str, Callable[[Application], Any]] = {
    "no items": lambda a: [],
    "items not a list": lambda a: a.items()[0],
    "seq zero": lambda a: mutate(a, 0, seq=0),
    "seq of a later entry": lambda a: mutate(a, 0, seq=a.cast.domain.ledger.size()),
    "seq a string": lambda a: mutate(a, 0, seq=str(a.receipts[0].seq)),
    "seq a boolean": lambda a: mutate(a, 0, seq=True),
    "leaf not hex": lambda a: mutate(a, 0, leaf="zz" * 32),
    "leaf too short": lambda a: mutate(a, 0, leaf=a.receipts[0].leaf_hash.hex()[:62]),
    "leaf in capitals": lambda a: mutate(a, 0, leaf=a.receipts[0].leaf_hash.hex().upper()),
    "outcome unknown": lambda a: mutate(a, 0, outcome="checked"),
    "extra member": lambda a: mutate(a, 0, note="ok"),
    "missing member": lambda a: [{k: v for k, v in i.items() if k != "outcome"} for i in a.items()],
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_sheet_is_a_schema_error(app: Application, case: str) -> None:
    d = app.cast.domain
    items = MALFORMED[case](app)
    size = d.ledger.size()
    with pytest.raises(SchemaError):
        d.append(sign_sheet(app, items))
    assert d.ledger.size() == size


@pytest.mark.parametrize("application", ["Hygiene Licence", "", "卫生许可", 7])
def test_the_application_is_a_code(app: Application, application: Any) -> None:
    d = app.cast.domain
    size = d.ledger.size()
    with pytest.raises(SchemaError):
        d.append(sign_sheet(app, app.items(), application=application))
    assert d.ledger.size() == size


@pytest.mark.parametrize("who", ["enterprise", "auditor"])
def test_only_a_counter_signs_a_sheet(app: Application, who: str) -> None:
    d = app.cast.domain
    signer = app.enterprise if who == "enterprise" else app.cast.auditor
    size = d.ledger.size()
    with pytest.raises(Refused) as info:
        d.append(sign_sheet(app, app.items(), by=signer))
    assert info.value.reason == "role"
    # The attempt is recorded (request.denied), the sheet is not.
    assert info.value.receipt is not None
    assert d.ledger.size() == size + 1


def test_the_other_window_cannot_sign_this_windows_sheet(app: Application) -> None:
    d = app.cast.domain
    size = d.ledger.size()
    with pytest.raises(Refused) as info:
        d.append(sign_sheet(app, app.items(), by=app.other_window))
    assert info.value.reason == "sheet_item_unknown"
    assert d.ledger.size() == size


def test_cross_verify_reads_everything_and_signs_one_sheet(tmp_path: Path) -> None:
    """Domain.cross_verify: one call, every read (or recorded refusal), then the sheet."""
    from chainledger.domain import ReadResult

    cast = make_cast(tmp_path / "x.db", clock=lambda: NOW)
    d = cast.domain
    try:
        rng = random.Random(5)
        window = Actor(key(61), "counter")
        cast.register(window, "市场监管窗口 9", {"counter_type": "market_regulation_window"})
        staff = [Actor(key(62 + i), "holder") for i in range(2)]
        reads = []
        grants = []
        for i, member in enumerate(staff):
            number = make_resident_id(rng, region="371502", birth=date(1990, 1, 1 + i), female=True)
            cast.register(member, "", {"subject": "person"}, real_id=number)
            cert = issue(cast, cast.health, member, "health_certificate", {
                "name": make_person_name(rng), "sex": "女", "id_number": number,
                "occupation_category": "公共场所", "medical_institution": "聊城市疾控中心",
                "exam_date": "2025-11-01", "valid_until": "2026-11-01",
                "certificate_number": f"JKZ-{i}",
            })  # fmt: skip
            grant, _ = cast.grant(
                member, window, SCENARIO, {"health_certificate": HEALTH_FIELDS}, hours=2
            )
            grants.append(grant)
            reads.append(
                window.sign(d, "access.read", **read_fields(grant, cert, HEALTH_FIELDS, PURPOSE))
            )
        d.append(staff[1].sign(d, "grant.revoke", grant=grants[1]))
        size = d.ledger.size()
        result = d.cross_verify(
            reads, lambda fields: window.sign(d, "sheet.issue", **fields), PURPOSE
        )
        assert d.ledger.size() == size + 3  # two requests, one sheet
        assert isinstance(result.results[0], ReadResult)
        assert set(result.results[0].disclosures) == set(HEALTH_FIELDS)
        assert isinstance(result.results[1], Refused)
        assert result.results[1].reason == "grant_revoked"
        entry, _ = result.receipt.verify([d.ledger.verifier])
        assert entry.kind == "sheet.issue"
        assert [i["outcome"] for i in entry.statement.stmt["items"]] == ["read", "denied"]
        verify_ledger(d.store, rules=d.ledger.rules)
    finally:
        d.close()
