"""The QR round trip and the holder's grant commands, through `wallet` and a real server:
a citizen presents a one-time QR code, a bus-station counter reads it from the PNG,
the citizen sees the read, with its proof, in the history."""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import serve, signed
from domain_support import Cast, make_cast
from hypothesis import given
from hypothesis import strategies as st
from wallet_support import one_line_error, platform, run

from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
from chainledger.crypto import SUITES
from chainledger.errors import MalformedInput
from chainledger.identity import make_person_name, make_resident_id
from wallet.presentation import Presentation, decode_image


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cast, Path, str]]:
    db = tmp_path_factory.mktemp("presentation") / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    with serve(db) as server:
        yield cast, db, server.url


def register(url: str, db: Path, home: Path, role: str, **extra: Any) -> str:
    r = run(home, url, "init", "--role", role)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    reg = {**out["registration"], **extra}
    done = httpx.post(url + "/v1/parties", json=reg, auth=platform(db))
    assert done.status_code == 200, done.text
    return str(out["party"])


def issue_id_card(cast: Cast, url: str, holder: str, id_number: str) -> tuple[str, dict[str, Any]]:
    values = {
        "name": make_person_name(random.Random(holder)), "sex": "女", "ethnicity": "回",
        "birth_date": "1991-02-03", "address": "山东省聊城市东昌府区古楼街道",
        "id_number": id_number, "valid_from": "2021-01-01", "valid_until": "2041-01-01",
    }  # fmt: skip
    disclosures = make_disclosures(values, os.urandom)
    digests = digests_of(SUITES["sha256"], disclosures)
    fields = issue_fields("resident_id_card", holder, digests, "2021-01-01", "2041-01-01")
    stmt = signed(cast.police, "asset.issue", **fields)
    r = httpx.post(url + "/v1/assets", json={"statement": stmt, "disclosures": disclosures})
    assert r.status_code == 200, r.text
    return asset_id(cast.police.id, stmt["stmt"]["nonce"]), values


def test_qr_round_trip_and_history(world: Any, tmp_path: Path) -> None:
    cast, db, url = world
    id_number = make_resident_id(random.Random(5), region="371502", birth=date(1991, 2, 3),
                                 female=True)  # fmt: skip
    citizen_home, counter_home = tmp_path / "citizen", tmp_path / "counter"
    citizen = register(url, db, citizen_home, "holder", name="", attrs={"subject": "person"},
                       real_id=id_number)  # fmt: skip
    register(url, db, counter_home, "counter", name="聊城汽车总站 5号窗口",
             attrs={"counter_type": "bus_station"})  # fmt: skip
    asset, values = issue_id_card(cast, url, citizen, id_number)

    r = run(citizen_home, url, "assets")
    assert r.returncode == 0, r.stderr
    assert asset in r.stdout
    assert "verified" in r.stdout

    qr = tmp_path / "qr"
    r = run(citizen_home, url, "present", "--asset", asset, "--scenario", "bus_ticket",
            "--out", str(qr))  # fmt: skip
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("CLP1.")
    assert qr.with_suffix(".png").exists()
    assert qr.with_suffix(".svg").read_text().lstrip().startswith("<?xml")
    assert decode_image(qr.with_suffix(".png")) == token
    assert values["name"] not in token  # the token carries ids and a secret, never values

    r = run(counter_home, url, "read", "--image", str(qr.with_suffix(".png")), "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["values"] == {"name": values["name"], "id_number": id_number}

    # One time only: the same code again is refused, recorded, and said in one line.
    line = one_line_error(run(counter_home, url, "read", token), 2, "403", "recorded at seq")
    assert "grant_exhausted" in line or "replay" in line

    r = run(citizen_home, url, "history", "--json")
    rows = json.loads(r.stdout)
    assert [x["outcome"] for x in rows] == ["read", "denied"]
    assert all(x["proof"] == "verified" for x in rows)


def test_grant_grants_and_revoke(world: Any, tmp_path: Path) -> None:
    cast, db, url = world
    id_number = make_resident_id(random.Random(6), region="371503", birth=date(1980, 5, 6),
                                 female=False)  # fmt: skip
    home = tmp_path / "holder"
    holder = register(url, db, home, "holder", name="", attrs={"subject": "person"},
                      real_id=id_number)  # fmt: skip
    asset, _ = issue_id_card(cast, url, holder, id_number)
    r = run(home, url, "grant", "--counter", cast.bus.id, "--scenario", "bus_ticket",
            "--asset", asset, "--fields", "name", "--uses", "3")  # fmt: skip
    assert r.returncode == 0, r.stderr
    gid = r.stdout.split()[0]
    assert gid.startswith("g_")
    r = run(home, url, "grants")
    assert f"{gid}  active  bus_ticket  to {cast.bus.id}  uses 0/3" in r.stdout
    assert run(home, url, "revoke", gid).returncode == 0
    assert f"{gid}  revoked" in run(home, url, "grants").stdout
    one_line_error(run(home, url, "grant", "--counter", cast.bus.id, "--scenario", "bus_ticket",
                       "--asset", "a_notmine00000000"), 2, "not one of this wallet")  # fmt: skip
    one_line_error(run(home, url, "grant", "--counter", cast.bus.id, "--scenario", "nope",
                       "--asset", asset), 2, "scenario")  # fmt: skip


@given(st.text(max_size=300))
def test_any_token_text_parses_or_is_malformed(text: str) -> None:
    with contextlib.suppress(MalformedInput):
        Presentation.parse(text)


@given(st.binary(max_size=200))
def test_any_base64_payload_parses_or_is_malformed(payload: bytes) -> None:
    import base64

    token = "CLP1." + base64.urlsafe_b64encode(payload).decode().rstrip("=")
    with contextlib.suppress(MalformedInput):
        Presentation.parse(token)


def test_token_round_trip() -> None:
    p = Presentation("g_abc", "a_def", ("name", "id_number"), "ticket_purchase", "A" * 43 + "=")
    assert Presentation.parse(p.token()) == p
    with pytest.raises(MalformedInput):
        Presentation.parse(p.token()[:-4])
