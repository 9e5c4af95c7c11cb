"""`wallet monitor` re-verifies every entry and names what a lying server changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import serve, signed
from domain_support import Cast, make_cast
from wallet_support import Tampering, rewrite

from chainledger.grants import create_fields
from wallet.client import AttackDetected, LedgerClient, TrustStore
from wallet.httpsig import RequestSigner
from wallet.monitor import Monitor


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cast, str]]:
    db = tmp_path_factory.mktemp("monitor") / "ledger.db"
    cast = make_cast(db)
    cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    cast.domain.close()
    with serve(db) as server:
        yield cast, server.url


def note(cast: Cast, url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from chainledger.clock import format_ts

    now = datetime.now(UTC)
    stmt = signed(cast.citizen, "grant.create", **create_fields(
        scenario="bus_ticket", purpose="ticket_purchase", scope={"resident_id_card": ["name"]},
        grantee=cast.bus.id, not_before=format_ts(now - timedelta(minutes=1)),
        expires=format_ts(now + timedelta(hours=1)), max_uses=1))  # fmt: skip
    assert httpx.post(url + "/v1/statements", json=stmt).status_code == 200


def client(url: str, home: Path, transport: httpx.BaseTransport | None = None) -> LedgerClient:
    http = httpx.Client(base_url=url, transport=transport or httpx.HTTPTransport(), timeout=30)
    return LedgerClient(url, TrustStore(home / "trust.json"), http=http)


def test_monitor_verifies_everything_then_only_what_is_new(world: Any, tmp_path: Path) -> None:
    cast, url = world
    signer = RequestSigner(cast.auditor.id, cast.auditor.key)
    mon = Monitor(tmp_path / "monitor.json")
    with client(url, tmp_path) as c:
        new, size = mon.step(c, signer)
        assert new == size > 50
        note(cast, url)
        note(cast, url)
        new2, size2 = Monitor(tmp_path / "monitor.json").step(c, signer)  # state reloaded
    assert (new2, size2) == (2, size + 2)
    state = json.loads((tmp_path / "monitor.json").read_text())
    assert state["size"] == size2
    assert cast.citizen.id in state["keys"]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda e: e.replace('"role":"counter"', '"role":"auditor"', 1), "signature"),
        (lambda e: e.replace('"ts":"2', '"ts":"1', 1), "time|signature|root"),
    ],
)
def test_a_changed_entry_is_caught(world: Any, tmp_path: Path, edit: Any, words: str) -> None:
    cast, url = world
    signer = RequestSigner(cast.auditor.id, cast.auditor.key)
    transport = Tampering()
    seen = {"done": False}

    def change(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/v1/entries" or seen["done"]:
            return response

        def touch(body: Any) -> None:
            for i, e in enumerate(body["entries"]):
                if edit(e) != e:
                    body["entries"][i] = edit(e)
                    seen["done"] = True
                    return

        return rewrite(response, touch)

    transport.tamper = change
    with client(url, tmp_path, transport) as c, pytest.raises(AttackDetected, match=words):
        Monitor(tmp_path / "monitor.json").step(c, signer)
    assert seen["done"]
    assert not (tmp_path / "monitor.json").exists()  # nothing saved from a failed step


def test_dropped_entry_is_caught(world: Any, tmp_path: Path) -> None:
    cast, url = world
    signer = RequestSigner(cast.auditor.id, cast.auditor.key)
    transport = Tampering()

    def drop(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/v1/entries":
            return response
        return rewrite(response, lambda body: body["entries"].pop(5))

    transport.tamper = drop
    with client(url, tmp_path, transport) as c, pytest.raises(AttackDetected, match="entry 5"):
        Monitor(tmp_path / "monitor.json").step(c, signer)
