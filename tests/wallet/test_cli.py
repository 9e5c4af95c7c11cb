"""The `wallet` command end to end against a real server: one-line errors, verified output."""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import serve, signed
from domain_support import Cast, make_cast
from wallet_support import PASSPHRASE, one_line_error, platform, run

from chainledger.access import read_fields
from chainledger.checkpoint import Checkpoint, sign_checkpoint
from chainledger.clock import format_ts
from chainledger.crypto import load_private_key, public_key_bytes, save_private_key
from chainledger.grants import create_fields, grant_id
from chainledger.identity import make_resident_id
from chainledger.ledger import DEFAULT_ORIGIN, key_path
from chainledger.note import Signer
from chainledger.statement import make_statement, sign_statement
from wallet.keystore import Keystore


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cast, Path, str, str]]:
    tmp = tmp_path_factory.mktemp("wallet-cli")
    db = tmp / "ledger.db"
    cast = make_cast(db)
    asset, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    cast.domain.close()
    with serve(db) as server:
        yield cast, db, server.url, asset


def test_a_new_holder_wallet_from_init_to_verified_history(world: Any, tmp_path: Path) -> None:
    cast, db, url, _ = world
    home = tmp_path / "holder"
    r = run(home, url, "init", "--role", "holder")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    party = out["party"]
    assert run(home, url, "whoami").stdout.split()[:2] == [party, "holder"]
    one_line_error(run(home, url, "init", "--role", "holder"), 2, "already holds a key")

    # The platform registers it after an identity check (its own signed request).
    id_number = make_resident_id(random.Random(3), region="371502", birth=date(1990, 1, 1),
                                 female=False)  # fmt: skip
    reg = {**out["registration"], "name": "", "attrs": {"subject": "person"},
           "real_id": id_number}  # fmt: skip
    done = httpx.post(url + "/v1/parties", json=reg, auth=platform(db))
    assert done.status_code == 200, done.text

    # The holder is issued an ID card, grants the bus counter, the counter reads.
    key = Keystore(home).unlock(PASSPHRASE)
    now = datetime.now(UTC)
    from chainledger.assets import asset_id, digests_of, issue_fields, make_disclosures
    from chainledger.crypto import SUITES

    values = {"name": "张三", "sex": "男", "ethnicity": "汉", "birth_date": "1990-01-01",
              "address": "山东省聊城市东昌府区", "id_number": id_number,
              "valid_from": "2020-01-01", "valid_until": "2040-01-01"}  # fmt: skip
    disclosures = make_disclosures(values, os.urandom)
    digests = digests_of(SUITES["sha256"], disclosures)
    fields = issue_fields("resident_id_card", party, digests, "2020-01-01", "2040-01-01")
    issue = signed(cast.police, "asset.issue", **fields)
    r = httpx.post(url + "/v1/assets", json={"statement": issue, "disclosures": disclosures})
    assert r.status_code == 200, r.text
    asset = asset_id(cast.police.id, issue["stmt"]["nonce"])
    g = make_statement("grant.create", party, now, os.urandom, **create_fields(
        scenario="bus_ticket", purpose="ticket_purchase",
        scope={"resident_id_card": ["name", "id_number"]}, grantee=cast.bus.id,
        not_before=format_ts(now - timedelta(minutes=1)),
        expires=format_ts(now + timedelta(hours=1)), max_uses=2))  # fmt: skip
    assert httpx.post(url + "/v1/statements",
                      json=sign_statement(g, key).to_wire()).status_code == 200  # fmt: skip
    gid = grant_id(party, g["nonce"])
    read = signed(cast.bus, "access.read",
                  **read_fields(gid, asset, ["name", "id_number"], "ticket_purchase"))  # fmt: skip
    assert httpx.post(url + "/v1/reads", json=read).status_code == 200

    r = run(home, url, "history", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["outcome"], x["counter"], x["proof"]) for x in rows] == [
        ("read", cast.bus.id, "verified")
    ]
    assert "张三" not in r.stdout
    assert id_number not in r.stdout
    r = run(home, url, "history")
    assert "1 records, every one verified" in r.stderr


def test_wrong_passphrase_and_unreachable_server_are_one_line(world: Any, tmp_path: Path) -> None:
    _, _, url, _ = world
    home = tmp_path / "w"
    assert run(home, url, "init", "--role", "counter").returncode == 0
    one_line_error(run(home, url, "history", passphrase="nope"), 2, "passphrase")
    one_line_error(run(home, url, "history", passphrase=None), 2, "WALLET_PASSPHRASE")
    one_line_error(run(home, "http://127.0.0.1:9", "checkpoint"), 2, "cannot reach")
    one_line_error(run(tmp_path / "empty", url, "whoami"), 2, "wallet init")


def test_checkpoint_pins_then_detects_a_rollback(world: Any, tmp_path: Path) -> None:
    _, db, url, _ = world
    home = tmp_path / "auditor"
    r = run(home, url, "checkpoint")
    assert r.returncode == 0, r.stderr
    assert "first seen: pinned" in r.stdout
    r = run(home, url, "checkpoint")
    assert "consistent" in r.stdout
    # The wallet once saw a larger tree, signed by the log's own key (say the operator
    # later restored an old backup): the server's current checkpoint is a rollback.
    size = int(httpx.get(url + "/healthz").json()["size"])
    signer = Signer(DEFAULT_ORIGIN, load_private_key(key_path(db)))
    note = sign_checkpoint(Checkpoint(DEFAULT_ORIGIN, size + 5, os.urandom(32)), signer)
    trust = json.loads((home / "trust.json").read_text())
    trust["checkpoint"] = note
    (home / "trust.json").write_text(json.dumps(trust))
    one_line_error(run(home, url, "checkpoint"), 1, "ATTACK DETECTED", "rollback")


def test_the_platform_approves_a_wallets_registration_request(world: Any, tmp_path: Path) -> None:
    _, db, url, _ = world
    home = tmp_path / "kiosk"
    r = run(home, url, "init", "--role", "counter")
    assert r.returncode == 0, r.stderr
    request = tmp_path / "request.json"
    request.write_text(r.stdout)
    party = json.loads(r.stdout)["party"]
    from support import chainledger_exe

    def register(*args: str) -> Any:
        return subprocess.run([chainledger_exe(), "register", "--db", str(db), *args],
                              capture_output=True, text=True)  # fmt: skip

    size = int(httpx.get(url + "/healthz").json()["size"])
    bad = register("--request", str(request), "--name", "自助终端", "--attrs", "[1]")
    assert bad.returncode == 2
    assert "--attrs" in bad.stderr
    forged = tmp_path / "forged.json"
    data = json.loads(r.stdout)
    data["registration"]["pop"] = data["registration"]["pop"][::-1]
    forged.write_text(json.dumps(data))
    refused = register("--request", str(forged), "--name", "自助终端",
                       "--attrs", '{"counter_type": "self_service_kiosk"}')  # fmt: skip
    assert refused.returncode == 2, refused
    assert int(httpx.get(url + "/healthz").json()["size"]) == size
    done = register("--request", str(request), "--name", "自助终端",
                    "--attrs", '{"counter_type": "self_service_kiosk"}')  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert party in done.stdout
    got = httpx.get(f"{url}/v1/parties/{party}").json()
    assert (got["role"], got["attrs"]) == ("counter", {"counter_type": "self_service_kiosk"})


def test_export_key_writes_the_key_for_a_web_page_once(world: Any, tmp_path: Path) -> None:
    cast, _, url, _ = world
    home = tmp_path / "holder"
    pem = tmp_path / "holder.pem"
    key_file = tmp_path / "citizen.key"
    save_private_key(cast.citizen.key, key_file)
    assert run(home, url, "import", "--key", str(key_file), "--role", "holder").returncode == 0
    one_line_error(run(home, url, "export-key", "--out", str(pem), passphrase="wrong"), 2,
                   "passphrase")  # fmt: skip
    assert not pem.exists()
    r = run(home, url, "export-key", "--out", str(pem))
    assert r.returncode == 0, r.stderr
    assert cast.citizen.id in r.stdout
    assert pem.stat().st_mode & 0o777 == 0o600
    assert public_key_bytes(load_private_key(pem)) == public_key_bytes(cast.citizen.key)
    before = pem.read_bytes()
    one_line_error(run(home, url, "export-key", "--out", str(pem)), 2, "exists")
    assert pem.read_bytes() == before
