"""Issuers' keys over time: an asset is checked against the key its issuer had when it
issued it, that key proved from the log; a served key history that lies is an attack."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import serve, signer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from domain_support import Actor, Cast, make_cast
from wallet_support import Tampering, rewrite
from wallet_support import bus_grant as grant
from wallet_support import bus_read as read

from chainledger.crypto import public_key_bytes
from chainledger.encoding import b64encode
from chainledger.errors import MalformedInput, VerificationError
from chainledger.grants import grant_id
from chainledger.parties import pop_message
from chainledger.statement import make_statement, sign_statement
from wallet.client import AttackDetected, LedgerClient, TrustStore
from wallet.keys import KeyCache, parse_key_history


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cast, str, str, str]]:
    """The police issue an ID card, rotate their key, and issue another one."""
    db = tmp_path_factory.mktemp("key-history") / "ledger.db"
    cast = make_cast(db)
    d = cast.domain
    before, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    old, new = cast.police.key, Ed25519PrivateKey.generate()
    rotation = make_statement(
        "party.rotate", cast.police.id, d.ledger.clock(), os.urandom,
        key=b64encode(public_key_bytes(new)),
        pop=b64encode(new.sign(pop_message(cast.police.id, "issuer"))),
    )  # fmt: skip
    d.append(sign_statement(rotation, old))
    cast.police = Actor(new, "issuer", party=cast.police.id)
    after, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    d.close()
    with serve(db) as server:
        yield cast, server.url, before, after


@pytest.fixture
def counter(world: Any, tmp_path: Path) -> Iterator[tuple[LedgerClient, Tampering]]:
    transport = Tampering()
    http = httpx.Client(base_url=world[1], transport=transport, timeout=30)
    client = LedgerClient(
        world[1], TrustStore(tmp_path / "trust.json"), http=http,
        key_cache=KeyCache(tmp_path / "keys.json"),
    )  # fmt: skip
    with client:
        yield client, transport


def _grant(client: LedgerClient, cast: Cast) -> str:
    entry, _ = client.submit(grant(cast))
    return grant_id(cast.citizen.id, entry.statement.nonce)


def test_assets_issued_before_and_after_a_rotation_both_verify(
    world: Any, counter: Any, tmp_path: Path
) -> None:
    cast, _, before, after = world
    client, _ = counter
    g = _grant(client, cast)
    assert client.read(read(cast, g, before)).values["name"] == cast.citizen_name
    assert client.read(read(cast, g, after)).values["id_number"] == cast.citizen_id_number
    rows = client.assets(signer(cast.citizen), cast.citizen.id)
    assert {r["id"] for r in rows if r["verified"]} >= {before, after}
    # The verified history is cached for offline checks, and re-checked when loaded.
    history = KeyCache(tmp_path / "keys.json").get(cast.police.id)
    assert history is not None
    assert [k for _, k, _ in history.keys][-1] == public_key_bytes(cast.police.key)


def _tamper_keys(transport: Tampering, change: Any) -> None:
    def tamper(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if not request.url.path.startswith("/v1/parties/"):
            return response
        return rewrite(response, lambda body: change(body["keys"]))

    transport.tamper = tamper


def test_a_key_history_claiming_another_key_is_an_attack(world: Any, counter: Any) -> None:
    cast, _, before, _ = world
    client, transport = counter
    g = _grant(client, cast)
    other = b64encode(public_key_bytes(Ed25519PrivateKey.generate()))
    _tamper_keys(transport, lambda keys: keys[0].__setitem__("public_key", other))
    with pytest.raises(AttackDetected, match="key history"):
        client.read(read(cast, g, before))


def test_a_key_history_hiding_the_rotation_is_an_attack(world: Any, counter: Any) -> None:
    cast, _, _, after = world
    client, transport = counter
    g = _grant(client, cast)
    _tamper_keys(transport, lambda keys: keys.pop())
    with pytest.raises(AttackDetected, match="not signed by its issuer"):
        client.read(read(cast, g, after))


def test_a_key_entry_not_in_the_log_is_an_attack(world: Any, counter: Any) -> None:
    cast, _, before, _ = world
    client, transport = counter
    g = _grant(client, cast)

    def swap_seq(keys: list[dict[str, Any]]) -> None:
        # The rotation entry, served as if it sat at another seq: its bytes change, so
        # its inclusion proof cannot verify.
        entry = json.loads(keys[1]["entry"])
        entry["seq"] += 1
        keys[1]["entry"] = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
        keys[1]["seq"] += 1

    _tamper_keys(transport, swap_seq)
    with pytest.raises(AttackDetected, match="not in the log"):
        client.read(read(cast, g, before))


def test_parse_key_history_checks_what_it_can_without_the_log(world: Any) -> None:
    cast, url, _, _ = world
    keys = httpx.get(f"{url}/v1/parties/{cast.police.id}").json()["keys"]
    history = parse_key_history(cast.police.id, keys)
    assert history.key_at(keys[1]["seq"]) == history.keys[0][1]  # the rotation's own entry
    assert history.key_at(keys[1]["seq"] + 1) == public_key_bytes(cast.police.key)
    with pytest.raises(VerificationError, match="no key before"):
        history.key_at(keys[0]["seq"])
    with pytest.raises(VerificationError, match="not given by its entry"):
        parse_key_history(cast.bus.id, keys)  # another party's history
    with pytest.raises(VerificationError, match="not in log order"):
        parse_key_history(cast.police.id, [keys[0], keys[1], keys[1]])
    with pytest.raises(VerificationError, match="never had"):
        parse_key_history(cast.police.id, keys[1:])
    for bad in (None, [], [{"seq": "1"}], "keys"):
        with pytest.raises(MalformedInput):
            parse_key_history(cast.police.id, bad)


def test_a_tampered_key_cache_is_refused_when_loaded(world: Any, tmp_path: Path) -> None:
    cast, url, _, _ = world
    keys = httpx.get(f"{url}/v1/parties/{cast.police.id}").json()["keys"]
    cache = KeyCache(tmp_path / "keys.json")
    cache.put(parse_key_history(cast.police.id, keys))
    data = json.loads(cache.path.read_text())
    data[cast.police.id][1]["public_key"] = b64encode(os.urandom(32))
    cache.path.write_text(json.dumps(data))
    with pytest.raises(MalformedInput, match="key cache"):
        cache.get(cast.police.id)
    cache.path.write_text("not json")
    with pytest.raises(MalformedInput, match="not JSON"):
        cache.get(cast.police.id)
    assert KeyCache(tmp_path / "absent.json").get(cast.police.id) is None


def test_a_party_never_rotated_has_one_key_given_by_its_registration(world: Any) -> None:
    cast, url, _, _ = world
    body = httpx.get(f"{url}/v1/parties/{cast.bus.id}").json()
    assert [k["public_key"] for k in body["keys"]] == [body["public_key"]]
    assert json.loads(body["keys"][0]["entry"])["stmt"]["kind"] == "party.register"
