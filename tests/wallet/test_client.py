"""The verifying client against a real server, honest and lying.

A tampering transport sits between the wallet and a real `chainledger serve`: it
forges a disclosure, breaks a proof, serves an old checkpoint, or switches the
wallet to a forked copy of the ledger signed with the same key. The wallet must
name each as an attack; against the honest server everything verifies.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import serve, signed, signer
from domain_support import Cast, make_cast
from wallet_support import Tampering, rewrite
from wallet_support import bus_grant as grant
from wallet_support import bus_read as read

from chainledger.access import read_fields
from chainledger.grants import grant_id
from wallet.client import AttackDetected, LedgerClient, ServerRefused, TrustStore


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cast, Path, str, str]]:
    tmp = tmp_path_factory.mktemp("wallet-client")
    db = tmp / "ledger.db"
    cast = make_cast(db)
    asset, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    cast.domain.close()
    with serve(db) as server:
        yield cast, db, server.url, asset


OPEN: list[LedgerClient] = []


@pytest.fixture(autouse=True)
def _close_wallets() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def wallet(url: str, home: Path) -> tuple[LedgerClient, Tampering]:
    transport = Tampering()
    http = httpx.Client(base_url=url, transport=transport, timeout=30)
    client = LedgerClient(url, TrustStore(home / "trust.json"), http=http)
    OPEN.append(client)
    return client, transport


def test_honest_server_everything_verifies(world: Any, tmp_path: Path) -> None:
    cast, _, url, asset = world
    holder, _ = wallet(url, tmp_path / "holder")
    counter, _ = wallet(url, tmp_path / "counter")
    stmt = grant(cast)
    entry, _ = holder.submit(stmt)
    assert entry.kind == "grant.create"
    g = grant_id(cast.citizen.id, stmt["stmt"]["nonce"])
    result = counter.read(read(cast, g, asset))
    assert result.values == {"name": cast.citizen_name, "id_number": cast.citizen_id_number}
    assert result.issue.statement.actor == cast.police.id
    with pytest.raises(ServerRefused) as refused:
        counter.read(signed(cast.bus, "access.read",
                            **read_fields(g, asset, ["address"], "ticket_purchase")))  # fmt: skip
    assert refused.value.status == 403
    assert refused.value.reason == "field_not_granted"
    counter.verify_receipt(refused.value.receipt)  # the refusal is provably recorded
    rows = holder.history(signer(cast.citizen), cast.citizen.id)
    assert [r["outcome"] for r in rows][-2:] == ["read", "denied"]
    assert all(r["proof"] == "verified" for r in rows)
    trust = json.loads((tmp_path / "holder" / "trust.json").read_text())
    assert trust["vkey"] == httpx.get(url + "/v1/vkey").text.strip()


def test_forged_disclosure_is_an_attack(world: Any, tmp_path: Path) -> None:
    cast, _, url, asset = world
    counter, transport = wallet(url, tmp_path)
    g = grant_id(cast.citizen.id, counter.submit(grant(cast))[0].statement.nonce)

    def forge(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/v1/reads":
            return response
        return rewrite(response, lambda b: b["disclosures"]["name"].__setitem__(1, "王五"))

    transport.tamper = forge
    with pytest.raises(AttackDetected, match="forged disclosure"):
        counter.read(read(cast, g, asset))


def test_wrong_inclusion_proof_is_an_attack(world: Any, tmp_path: Path) -> None:
    cast, _, url, _ = world
    holder, transport = wallet(url, tmp_path)

    def break_proof(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/v1/statements":
            return response

        def flip(body: Any) -> None:
            hashes = body["inclusion"]["hashes"]
            hashes[0] = ("A" if hashes[0][0] != "A" else "B") + hashes[0][1:]

        return rewrite(response, flip)

    transport.tamper = break_proof
    with pytest.raises(AttackDetected, match="receipt"):
        holder.submit(grant(cast))


def test_rolled_back_checkpoint_is_an_attack(world: Any, tmp_path: Path) -> None:
    cast, _, url, _ = world
    holder, transport = wallet(url, tmp_path)
    old_note = httpx.get(url + "/v1/checkpoint").text
    holder.submit(grant(cast))  # the wallet now knows a larger tree
    holder.checkpoint()

    def roll_back(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/v1/checkpoint":
            return response
        return httpx.Response(200, text=old_note)

    transport.tamper = roll_back
    with pytest.raises(AttackDetected, match="rollback"):
        holder.checkpoint()


def test_a_split_view_is_detected_as_a_fork(world: Any, tmp_path: Path) -> None:
    """The operator copies the ledger (key included) and shows each wallet its own branch."""
    cast, db, url, _ = world
    branch = tmp_path / "branch"
    branch.mkdir()
    for suffix in ("", ".key", ".secrets"):
        shutil.copy(str(db) + suffix, str(branch / "ledger.db") + suffix)
    for suffix in ("-wal",):
        src = Path(str(db) + suffix)
        if src.exists():
            shutil.copy(src, str(branch / "ledger.db") + suffix)
    with serve(branch / "ledger.db") as other:
        a, _ = wallet(url, tmp_path / "a")
        b, _ = wallet(other.url, tmp_path / "b")
        a.submit(grant(cast))  # branch 1 grows one way
        b.submit(grant(cast))  # branch 2 another way, same key, same origin
        a.checkpoint()
        # Wallet A is now shown branch 2 (say, by a different front end): a fork.
        with (
            LedgerClient(other.url, TrustStore(tmp_path / "a" / "trust.json")) as moved,
            pytest.raises(AttackDetected, match="fork"),
        ):
            moved.checkpoint()


def test_a_pinned_key_cannot_be_swapped(world: Any, tmp_path: Path) -> None:
    _, _, url, _ = world
    holder, _ = wallet(url, tmp_path)
    holder.checkpoint()
    from chainledger.crypto import generate_key
    from chainledger.note import Signer

    other = Signer("chainledger.localhost/ledger", generate_key(lambda n: b"\x07" * n))
    with pytest.raises(AttackDetected):
        LedgerClient(url, TrustStore(tmp_path / "trust.json"), vkey=other.verifier().vkey())


def test_a_history_entry_with_a_garbled_statement_is_an_attack(world: Any, tmp_path: Path) -> None:
    """decode_entry refuses a bad common field with SchemaError, not MalformedInput: the
    history must still name it as an attack on that entry, not fail as a glitch."""
    cast, _, url, asset = world
    holder, transport = wallet(url, tmp_path)
    g = grant_id(cast.citizen.id, holder.submit(grant(cast))[0].statement.nonce)
    holder.read(read(cast, g, asset))  # a read of the citizen's data: a history row

    def garble(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/v1/entries":
            return response

        def change(body: Any) -> None:
            # The first "ts" is the statement's: canonical members are sorted, stmt < ts.
            body["entries"] = [re.sub(r'"ts":"[^"]*"', '"ts":"yesterday"', e, count=1)
                               for e in body["entries"]]  # fmt: skip

        return rewrite(response, change)

    transport.tamper = garble
    with pytest.raises(AttackDetected, match=r"entry \d+ is malformed"):
        holder.history(signer(cast.citizen), cast.citizen.id)


@pytest.mark.parametrize("path", ["/v1/reads", "/v1/statements"])
def test_a_lone_surrogate_from_the_server_is_an_attack_not_a_crash(
    world: Any, tmp_path: Path, path: str
) -> None:
    """JSON may spell a lone surrogate ("\\ud800"), which Python's parser takes and no UTF-8
    encoder does: the wallet names it instead of failing where it needs the bytes."""
    cast, _, url, asset = world
    counter, transport = wallet(url, tmp_path)
    g = grant_id(cast.citizen.id, counter.submit(grant(cast))[0].statement.nonce)

    def garble(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != path:
            return response
        text = response.content.decode("utf-8").replace('"entry":"', '"entry":"\\ud800', 1)
        if path == "/v1/reads":
            text = text.replace('"issue_entry":"', '"issue_entry":"\\ud800', 1)
        return httpx.Response(response.status_code, content=text.encode(), headers=response.headers)

    transport.tamper = garble
    with pytest.raises(AttackDetected, match="lone surrogate"):
        if path == "/v1/reads":
            counter.read(read(cast, g, asset))
        else:
            counter.submit(grant(cast))
