"""Offline mode, through `wallet` and a real server.

The bus-station counter syncs while online (issuers' keys, scenarios, revocations,
the log's checkpoint). The citizen exports a presentation bundle. The counter, with
no network at all (its server address points nowhere), checks the bundle against
what it cached and queues the read record; a forged bundle is named as an attack,
a bundle the rules refuse is refused; nothing is queued for either. Back online,
`wallet sync` sends the record: the ledger records it as offline (or refuses it, on
a revocation since, and records that), and the citizen's history shows it with its
proof verified.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import serve, signer
from domain_support import Cast, make_cast
from wallet_support import card_row, id_card_csv, imported, one_line_error, run

OFFLINE = "http://127.0.0.1:9"  # the discard port: nothing answers there


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("offline")
    db = tmp / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    with serve(db) as server:
        url = server.url
        police = imported(tmp, url, "police", cast.police.key, "issuer")
        citizen = imported(tmp, url, "citizen", cast.citizen.key, "holder")
        bus = imported(tmp, url, "bus", cast.bus.key, "counter")
        hotel = imported(tmp, url, "hotel", cast.hotel.key, "counter")
        yield {"cast": cast, "url": url, "tmp": tmp, "police": police, "citizen": citizen,
               "bus": bus, "hotel": hotel}  # fmt: skip


def issue_card(w: dict[str, Any], name: str) -> str:
    cast: Cast = w["cast"]
    row = card_row(cast.citizen.id, cast.citizen_id_number, cast.citizen_name)
    csv = id_card_csv(w["tmp"] / f"{name}.csv", [row])
    r = run(w["police"], w["url"], "issue", "--class", "resident_id_card", "--csv", str(csv))
    assert r.returncode == 0, r.stderr
    return str(r.stdout.split()[2])


def export(w: dict[str, Any], asset: str, name: str) -> Path:
    bundle = w["tmp"] / f"{name}.bundle.json"
    r = run(w["citizen"], w["url"], "present", "--asset", asset, "--scenario", "bus_ticket",
            "--fields", "name,id_number", "--bundle", str(bundle),
            "--out", str(w["tmp"] / name))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "offline bundle" in r.stderr
    return bundle


def queued(home: Path) -> list[Path]:
    return sorted((home / "queue").glob("*.json")) if (home / "queue").exists() else []


def sync(w: dict[str, Any], home: Path) -> str:
    r = run(home, w["url"], "sync")
    assert r.returncode == 0, r.stderr
    return str(r.stdout)


def history(w: dict[str, Any]) -> list[dict[str, Any]]:
    r = run(w["citizen"], w["url"], "history", "--json")
    assert r.returncode == 0, r.stderr
    return list(json.loads(r.stdout))


def test_an_offline_read_is_checked_queued_and_recorded_as_offline(world: Any) -> None:
    w = world
    cast: Cast = w["cast"]
    asset = issue_card(w, "card")
    assert "synced at checkpoint" in sync(w, w["bus"])
    bundle = export(w, asset, "p1")
    data = json.loads(bundle.read_text())
    assert set(data["assets"][0]["disclosures"]) == {"name", "id_number"}

    r = run(w["bus"], OFFLINE, "read", "--bundle", str(bundle))
    assert r.returncode == 0, r.stderr
    assert "verified OFFLINE" in r.stdout
    assert f"name: {cast.citizen_name}" in r.stdout
    assert "run `wallet sync`" in r.stderr
    [item] = queued(w["bus"])
    record = json.loads(item.read_text())["statement"]["stmt"]
    assert record["kind"] == "access.read_offline"
    assert cast.citizen_name not in item.read_text()  # the record carries no value

    out = sync(w, w["bus"])
    assert f"offline read of {asset}" in out
    assert "recorded at seq" in out
    assert queued(w["bus"]) == []
    row = history(w)[-1]
    assert (row["counter"], row["outcome"], row["reason"], row["proof"]) == (
        cast.bus.id, "read", "offline", "verified"
    )  # fmt: skip
    # The one-time grant is used up: the same bundle read again is refused at sync.
    assert run(w["bus"], OFFLINE, "read", "--bundle", str(bundle)).returncode == 0
    out = sync(w, w["bus"])
    assert "REFUSED by the ledger (grant_exhausted), recorded at seq" in out
    assert (history(w)[-1]["outcome"], history(w)[-1]["reason"]) == ("denied", "grant_exhausted")


def _tampered(src: Path, dst: Path, change: Any) -> Path:
    data = json.loads(src.read_text())
    change(data)
    dst.write_text(json.dumps(data, ensure_ascii=False))
    return dst


def _flip(b64: str) -> str:
    return ("A" if b64[0] != "A" else "B") + b64[1:]


def test_forged_or_refused_bundles_queue_nothing(world: Any) -> None:
    w = world
    cast: Cast = w["cast"]
    asset = issue_card(w, "card2")
    sync(w, w["bus"])
    bundle = export(w, asset, "p2")
    tmp: Path = w["tmp"]

    def set_name(d: dict[str, Any]) -> None:
        d["assets"][0]["disclosures"]["name"][1] = "王五"

    def break_proof(d: dict[str, Any]) -> None:
        hashes = d["grant"]["proof"]["hashes"]
        hashes[0] = _flip(hashes[0])

    def break_checkpoint(d: dict[str, Any]) -> None:
        lines = d["checkpoint"].split("\n")
        lines[2] = _flip(lines[2])  # the root
        d["checkpoint"] = "\n".join(lines)

    attacks = {"forged disclosure": set_name, "grant.create entry": break_proof,
               "checkpoint is not the log's": break_checkpoint}  # fmt: skip
    for i, (words, change) in enumerate(attacks.items()):
        bad = _tampered(bundle, tmp / f"bad{i}.json", change)
        line = one_line_error(run(w["bus"], OFFLINE, "read", "--bundle", str(bad)), 1,
                              "ATTACK DETECTED")  # fmt: skip
        assert words in line, line
        assert "王五" not in line
    assert queued(w["bus"]) == []
    # Genuine, but for a bus-station scenario: a hotel counter is refused.
    sync(w, w["hotel"])
    one_line_error(run(w["hotel"], OFFLINE, "read", "--bundle", str(bundle)), 2,
                   "does not serve the grant's scenario")  # fmt: skip
    # A counter that never synced has nothing to check against.
    fresh = imported(tmp, w["url"], "bus-fresh", cast.bus.key, "counter")
    one_line_error(run(fresh, OFFLINE, "read", "--bundle", str(bundle)), 2, "wallet sync")
    # Not a bundle at all.
    junk = tmp / "junk.json"
    junk.write_text("{}")
    one_line_error(run(w["bus"], OFFLINE, "read", "--bundle", str(junk)), 2, "bundle")
    assert queued(w["bus"]) == queued(w["hotel"]) == []


def test_a_revocation_known_at_sync_refuses_offline_and_one_since_is_settled_at_sync(
    world: Any,
) -> None:
    w = world
    cast: Cast = w["cast"]
    # Revoked before the counter's last sync: refused offline.
    early = issue_card(w, "card3")
    early_bundle = export(w, early, "p3")
    r = run(w["police"], w["url"], "revoke-asset", early, "--reason", "lost")
    assert r.returncode == 0, r.stderr
    sync(w, w["bus"])
    one_line_error(run(w["bus"], OFFLINE, "read", "--bundle", str(early_bundle)), 2,
                   f"asset {early} is revoked")  # fmt: skip
    # Revoked after it: accepted offline, refused by the ledger at sync, and recorded.
    late = issue_card(w, "card4")
    late_bundle = export(w, late, "p4")
    sync(w, w["bus"])
    assert run(w["bus"], OFFLINE, "read", "--bundle", str(late_bundle)).returncode == 0
    assert run(w["police"], w["url"], "revoke-asset", late, "--reason", "lost").returncode == 0
    out = sync(w, w["bus"])
    assert "REFUSED by the ledger (asset_revoked)" in out
    denied = [r for r in history(w) if r["reason"] == "asset_revoked"]
    assert denied
    assert denied[-1]["proof"] == "verified"
    # The refusal entry says it was offline.
    entry = httpx.get(
        f"{w['url']}/v1/entries", params={"start": denied[-1]["seq"], "limit": 1},
        auth=signer(cast.bus),
    ).json()["entries"][0]  # fmt: skip
    assert json.loads(entry)["stmt"]["offline"] is True


def test_sync_keeps_the_queue_when_the_server_is_unreachable(world: Any) -> None:
    w = world
    asset = issue_card(w, "card5")
    sync(w, w["bus"])
    bundle = export(w, asset, "p5")
    assert run(w["bus"], OFFLINE, "read", "--bundle", str(bundle)).returncode == 0
    one_line_error(run(w["bus"], OFFLINE, "sync"), 2, "cannot reach")
    assert len(queued(w["bus"])) == 1
    assert "1 offline reads recorded" in sync(w, w["bus"])
