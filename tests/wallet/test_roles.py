"""Issuer, holder and auditor commands of `wallet` against a real server, with keys
imported the way the demo parties' keys are (PEM files), then kept encrypted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import serve, signed, signer
from domain_support import Cast, make_cast
from wallet_support import HEADER, card_row, id_card_csv, imported, one_line_error, run

from chainledger.access import read_fields


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cast, Path, str, Path]]:
    tmp = tmp_path_factory.mktemp("roles")
    db = tmp / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    with serve(db) as server:
        yield cast, db, server.url, tmp


def size(url: str) -> int:
    return int(httpx.get(url + "/healthz").json()["size"])


def test_issuer_imports_a_csv_all_or_nothing_and_revokes(world: Any) -> None:
    cast, _, url, tmp = world
    police = imported(tmp, url, "police", cast.police.key, "issuer")
    before = size(url)
    bad = id_card_csv(tmp / "bad.csv", [
        card_row(cast.citizen.id, cast.citizen_id_number, cast.citizen_name),
        card_row(cast.other.id, "123", "李四"),
    ])  # fmt: skip
    r = run(police, url, "issue", "--class", "resident_id_card", "--csv", str(bad))
    assert r.returncode == 2
    assert "line 3" in r.stderr
    assert "id_number" in r.stderr
    assert "nothing was issued" in r.stderr
    assert "123" not in r.stderr  # errors name fields, never values
    assert size(url) == before

    good = id_card_csv(tmp / "good.csv", [
        card_row(cast.citizen.id, cast.citizen_id_number, cast.citizen_name),
        card_row(cast.other.id, cast.other_id_number, "李四"),
    ])  # fmt: skip
    r = run(police, url, "issue", "--class", "resident_id_card", "--csv", str(good))
    assert r.returncode == 0, r.stderr
    assets = [line.split()[2] for line in r.stdout.splitlines()]
    assert len(assets) == 2
    assert all(a.startswith("a_") for a in assets)
    r = run(police, url, "revoke-asset", assets[1], "--reason", "lost")
    assert r.returncode == 0, r.stderr
    # A holder's CSV row for an unknown holder is refused by the ledger and reported.
    unknown = id_card_csv(tmp / "unknown.csv", [card_row("p_aaaaaaaaaaaaaaaa",
                          cast.citizen_id_number, "王五")])  # fmt: skip
    r = run(police, url, "issue", "--class", "resident_id_card", "--csv", str(unknown))
    assert r.returncode == 2
    assert "holder_unknown" in r.stderr


def test_holder_rotates_erases_and_still_sees_its_history(world: Any) -> None:
    cast, _, url, tmp = world
    police = imported(tmp, url, "police", cast.police.key, "issuer")
    citizen = imported(tmp, url, "citizen", cast.citizen.key, "holder")
    csv = id_card_csv(tmp / "citizen.csv", [
        card_row(cast.citizen.id, cast.citizen_id_number, cast.citizen_name)])  # fmt: skip
    r = run(police, url, "issue", "--class", "resident_id_card", "--csv", str(csv))
    asset = r.stdout.split()[2]
    r = run(citizen, url, "grant", "--counter", cast.bus.id, "--scenario", "bus_ticket",
            "--asset", asset)  # fmt: skip
    assert r.returncode == 0, r.stderr
    gid = r.stdout.split()[0]
    fields = read_fields(gid, asset, ["name"], "ticket_purchase")
    assert httpx.post(url + "/v1/reads", json=signed(cast.bus, "access.read", **fields)).is_success

    old_key = run(citizen, url, "whoami").stdout.split()[2]
    r = run(citizen, url, "rotate")
    assert r.returncode == 0, r.stderr
    assert run(citizen, url, "whoami").stdout.split()[2] != old_key
    r = run(citizen, url, "history", "--json")  # signed with the new key
    assert r.returncode == 0, r.stderr
    assert [x["outcome"] for x in json.loads(r.stdout)] == ["read"]

    assert run(citizen, url, "erase", asset).returncode == 0
    late = read_fields(gid, asset, ["name"], "ticket_purchase")
    r = httpx.post(url + "/v1/reads", json=signed(cast.bus, "access.read", **late))
    assert r.status_code == 403
    assert cast.citizen_name not in r.text


def test_auditor_traces_and_reports_and_others_cannot(world: Any) -> None:
    cast, _, url, tmp = world
    auditor = imported(tmp, url, "auditor", cast.auditor.key, "auditor")
    r = run(auditor, url, "audit", "trace", "--counter", cast.bus.id, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert all(x["counter"] == cast.bus.id for x in rows)
    out = tmp / "report.html"
    r = run(auditor, url, "audit", "report", "--format", "html", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "<html" in out.read_text().lower()
    r = run(auditor, url, "audit", "anomalies")
    assert r.returncode == 0, r.stderr
    bus = imported(tmp, url, "bus", cast.bus.key, "counter")
    one_line_error(run(bus, url, "audit", "trace"), 2, "403")


def test_issuer_reissues_an_asset_and_the_old_one_is_superseded(world: Any) -> None:
    cast, _, url, tmp = world
    police = imported(tmp, url, "police", cast.police.key, "issuer")
    first = id_card_csv(tmp / "first.csv", [
        card_row(cast.other.id, cast.other_id_number, "李四")])  # fmt: skip
    r = run(police, url, "issue", "--class", "resident_id_card", "--csv", str(first))
    assert r.returncode == 0, r.stderr
    old = r.stdout.split()[2]
    # A re-issue row must say what it replaces; if one does not, nothing is issued.
    before = size(url)
    missing = id_card_csv(tmp / "missing.csv", [
        card_row(cast.other.id, cast.other_id_number, "李四")])  # fmt: skip
    r = run(police, url, "reissue", "--class", "resident_id_card", "--csv", str(missing))
    assert r.returncode == 2
    assert "line 2: @supersedes must name the asset this replaces" in r.stderr  # per-row report
    assert "1 of 1 rows are invalid; nothing was issued" in r.stderr
    assert size(url) == before
    renewed = tmp / "renewed.csv"
    renewed.write_text(
        HEADER.replace("@valid_until,", "@valid_until,@supersedes,") + "\n"
        + card_row(cast.other.id, cast.other_id_number, "李四").replace(
            "2040-01-01,", f"2040-01-01,{old},", 1) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    r = run(police, url, "reissue", "--class", "resident_id_card", "--csv", str(renewed))
    assert r.returncode == 0, r.stderr
    new = r.stdout.split()[2]
    assert "re-issued at seq" in r.stdout
    assert f"superseding {old}" in r.stdout
    statuses = {
        a["id"]: a["status"]
        for a in httpx.get(f"{url}/v1/holders/{cast.other.id}/assets",
                           auth=signer(cast.other)).json()
    }  # fmt: skip
    assert (statuses[old], statuses[new]) == ("superseded", "active")
    # Superseding the same asset twice is refused by the ledger and reported.
    before = size(url)
    r = run(police, url, "reissue", "--class", "resident_id_card", "--csv", str(renewed))
    assert r.returncode == 2
    assert "line 2: refused: 403 refused (not_supersedable)" in r.stderr
    assert "1 of 1 rows were refused" in r.stderr
    assert size(url) == before
