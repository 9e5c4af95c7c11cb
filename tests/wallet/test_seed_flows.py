"""The seed's flows end to end with `wallet`s in separate homes, on the demo data set served
by a real server: bus-station ticket purchase with the ID card (a QR presentation), a
provident-fund withdrawal, a hygiene-licence application with staff health certificates,
and a skill-subsidy application (cross-verification sheets); each ends with the holders'
`history` showing the reads with their proofs verified."""

from __future__ import annotations

import csv
import json
import random
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from api_support import serve
from support import chainledger_exe
from wallet_support import run

from chainledger import catalog_default
from chainledger.demo import Values

CLASSES = {c["class"]: c for c in catalog_default.CLASSES}
SCENARIOS = {s["scenario"]: s for s in catalog_default.SCENARIOS}


class Demo:
    def __init__(self, db: Path, url: str, tmp: Path) -> None:
        self.db, self.url, self.tmp = db, url, tmp
        self.parties: list[dict[str, Any]] = json.loads(
            (db.with_name(db.name + ".demo") / "parties.json").read_text(encoding="utf-8")
        )
        self.homes: dict[str, Path] = {}

    def home(self, party: dict[str, Any]) -> Path:
        pid = party["id"]
        if pid not in self.homes:
            home = self.tmp / "homes" / pid
            key = self.db.with_name(self.db.name + ".demo") / party["key"]
            r = run(home, self.url, "import", "--key", str(key), "--role", party["role"])
            assert r.returncode == 0, r.stderr
            self.homes[pid] = home
        return self.homes[pid]

    def wallet(self, party: dict[str, Any], *args: str) -> str:
        r = run(self.home(party), self.url, *args)
        assert r.returncode == 0, (args, r.stderr)
        return str(r.stdout)

    def assets(self, holder: dict[str, Any]) -> dict[str, str]:
        rows = json.loads(self.wallet(holder, "assets", "--json"))
        return {a["cls"]: a["id"] for a in rows if a["status"] == "active" and a["verified"]}

    def counter(self, ctype: str) -> dict[str, Any]:
        return next(p for p in self.parties if p["attrs"].get("counter_type") == ctype)

    def holders(self, subject: str) -> list[dict[str, Any]]:
        return [p for p in self.parties
                if p["role"] == "holder" and p["attrs"].get("subject") == subject]  # fmt: skip

    def ensure(self, holder: dict[str, Any], cls: str) -> str:
        """The holder's active asset of ``cls``, issued now by its authority if missing."""
        have = self.assets(holder)
        if cls in have:
            return have[cls]
        definition = CLASSES[cls]
        issuer = next(p for p in self.parties if p["role"] == "issuer"
                      and definition["authority"] in p["attrs"]["authorities"])  # fmt: skip
        values = Values(random.Random(holder["id"]), date.today()).asset(
            definition, holder["wallet"]
        )
        path = self.tmp / f"{holder['id']}-{cls}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["@holder", "@valid_from", "@valid_until", *values])
            w.writerow([holder["id"], date.today().isoformat(), "", *values.values()])
        out = self.wallet(issuer, "issue", "--class", cls, "--csv", str(path))
        return out.split()[2]

    def history(self, holder: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.wallet(holder, "history", "--json"))
        assert all(r["proof"] == "verified" for r in rows)
        return rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("seed-flows")
    db = tmp / "ledger.db"
    for args in (["init", "--db", str(db)], ["demo", "--db", str(db)]):
        done = subprocess.run([chainledger_exe(), *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    with serve(db) as server:
        yield Demo(db, server.url, tmp)


def grant_and_sheet(
    d: Demo, counter: dict[str, Any], scenario: str, application: str,
    wanted: list[tuple[dict[str, Any], list[str]]],
) -> list[dict[str, Any]]:  # fmt: skip
    """Each holder grants the counter its assets of the listed classes; the counter reads them
    all on one signed sheet. Returns the sheet's items."""
    sc = SCENARIOS[scenario]
    reads = []
    for holder, classes in wanted:
        ids = [d.ensure(holder, c) for c in classes]
        args = ["grant", "--counter", counter["id"], "--scenario", scenario, "--uses", "3"]
        for a in ids:
            args += ["--asset", a]
        gid = d.wallet(holder, *args).split()[0]
        for cls, aid in zip(classes, ids, strict=True):
            reads += ["--read", f"{gid}:{aid}:{','.join(sc['reads'][cls])}"]
    out = json.loads(d.wallet(counter, "sheet", "--application", application,
                              "--scenario", scenario, "--json", *reads))  # fmt: skip
    assert out["sheet_seq"] > 0
    return list(out["items"])


def test_bus_ticket_with_the_id_card_by_qr(demo: Demo) -> None:
    d = demo
    holder = next(h for h in d.holders("person") if "resident_id_card" in d.assets(h))
    asset = d.assets(holder)["resident_id_card"]
    qr = d.tmp / "bus-qr"
    d.wallet(holder, "present", "--asset", asset, "--scenario", "bus_ticket", "--out", str(qr))
    counter = d.counter("bus_station")
    got = json.loads(d.wallet(counter, "read", "--image", str(qr.with_suffix(".png")), "--json"))
    assert got["values"]["id_number"] == holder["wallet"]["id_number"]
    last = d.history(holder)[-1]
    assert (last["outcome"], last["counter"], last["cls"]) == ("read", counter["id"],
                                                               "resident_id_card")  # fmt: skip


def test_provident_fund_withdrawal(demo: Demo) -> None:
    d = demo
    classes = ["resident_id_card", "provident_fund_record", "real_estate_title"]
    holder = d.holders("person")[1]
    counter = d.counter("provident_fund_office")
    items = grant_and_sheet(d, counter, "provident_fund_withdrawal",
                            "provident_fund_withdrawal", [(holder, classes)])  # fmt: skip
    assert [i["outcome"] for i in items] == ["read"] * 3
    assert items[0]["values"]["id_number"] == holder["wallet"]["id_number"]
    mine = [r for r in d.history(holder) if r["counter"] == counter["id"]]
    assert sorted(r["cls"] for r in mine) == sorted(classes)


def test_hygiene_licence_with_staff_health_certificates(demo: Demo) -> None:
    d = demo
    enterprise = d.holders("enterprise")[0]
    staff = d.holders("person")[2:4]
    counter = d.counter("market_regulation_window")
    wanted = [(enterprise, ["business_licence"])] + [(p, ["health_certificate"]) for p in staff]
    items = grant_and_sheet(d, counter, "hygiene_licence_application", "hygiene_licence", wanted)
    assert [i["outcome"] for i in items] == ["read"] * 3
    for holder in [enterprise, *staff]:
        assert any(r["counter"] == counter["id"] and r["outcome"] == "read"
                   for r in d.history(holder))  # fmt: skip


def test_skill_subsidy_application(demo: Demo) -> None:
    d = demo
    classes = ["resident_id_card", "vocational_skill_certificate", "social_insurance_record"]
    holder = d.holders("person")[4]
    counter = d.counter("hr_window")
    items = grant_and_sheet(d, counter, "skill_subsidy_application", "skill_subsidy",
                            [(holder, classes)])  # fmt: skip
    assert [i["outcome"] for i in items] == ["read"] * 3
    mine = [r for r in d.history(holder) if r["counter"] == counter["id"]]
    assert sorted(r["cls"] for r in mine) == sorted(classes)


def test_a_sheet_lists_a_refused_read_with_its_recorded_refusal(demo: Demo) -> None:
    d = demo
    staff = d.holders("person")[5]
    counter = d.counter("market_regulation_window")
    cert = d.ensure(staff, "health_certificate")
    gid = d.wallet(staff, "grant", "--counter", counter["id"], "--scenario",
                   "hygiene_licence_application", "--asset", cert).split()[0]  # fmt: skip
    d.wallet(staff, "revoke", gid)
    fields = ",".join(SCENARIOS["hygiene_licence_application"]["reads"]["health_certificate"])
    out = json.loads(d.wallet(counter, "sheet", "--application", "hygiene_licence",
                              "--scenario", "hygiene_licence_application", "--json",
                              "--read", f"{gid}:{cert}:{fields}"))  # fmt: skip
    assert out["items"] == [
        {"asset": cert, "outcome": "denied", "values": {"refused": "grant_revoked"}}
    ]
    refusals = [r for r in d.history(staff) if r["outcome"] == "denied"]
    assert refusals[-1]["reason"] == "grant_revoked"
