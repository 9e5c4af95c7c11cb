"""`wallet witness`: an auditor cosigns the log's checkpoint after checking it, the server
serves the cosignature, and an inconsistent checkpoint is refused as an attack."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import serve
from domain_support import Cast, make_cast
from wallet_support import one_line_error, run

from chainledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint, verify_checkpoint
from chainledger.crypto import load_private_key, public_key_bytes, save_private_key
from chainledger.ledger import DEFAULT_ORIGIN, key_path
from chainledger.note import Signer
from chainledger.witness import witness_verifier


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cast, Path, str, Path]]:
    tmp = tmp_path_factory.mktemp("witness")
    db = tmp / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    with serve(db) as server:
        yield cast, db, server.url, tmp


def home_of(tmp: Path, url: str, name: str, key: Any, role: str) -> Path:
    pem, home = tmp / f"{name}.pem", tmp / f"home-{name}"
    if not home.exists():
        save_private_key(key, pem)
        assert run(home, url, "import", "--key", str(pem), "--role", role).returncode == 0
    return home


def test_witness_cosigns_and_the_server_serves_it(world: Any) -> None:
    cast, _, url, tmp = world
    home = home_of(tmp, url, "auditor", cast.auditor.key, "auditor")
    r = run(home, url, "witness", "--once")
    assert r.returncode == 0, r.stderr
    assert "cosigned" in r.stdout
    note = httpx.get(url + "/v1/checkpoint").text
    vkey = httpx.get(url + "/v1/vkey").text.strip()
    verify_checkpoint(note, vkey)  # still the log's checkpoint, cosignature and all
    verifier = witness_verifier(cast.auditor.id, public_key_bytes(cast.auditor.key))
    open_checkpoint(note, [verifier])  # and it carries the witness's valid cosignature


def test_only_auditors_witness(world: Any) -> None:
    cast, _, url, tmp = world
    home = home_of(tmp, url, "bus", cast.bus.key, "counter")
    one_line_error(run(home, url, "witness", "--once"), 2, "auditor")


def test_witness_refuses_an_inconsistent_checkpoint(world: Any) -> None:
    cast, db, url, tmp = world
    home = home_of(tmp, url, "auditor", cast.auditor.key, "auditor")
    assert run(home, url, "witness", "--once").returncode == 0
    # The witness once cosigned a larger tree, signed by the log's key: the current one is
    # a rollback (or a fork). It must not be cosigned.
    size = int(httpx.get(url + "/healthz").json()["size"])
    signer = Signer(DEFAULT_ORIGIN, load_private_key(key_path(db)))
    state = json.loads((home / "witness.json").read_text())
    state["checkpoint"] = sign_checkpoint(Checkpoint(DEFAULT_ORIGIN, size + 3, os.urandom(32)),
                                          signer)  # fmt: skip
    (home / "witness.json").write_text(json.dumps(state))
    before = httpx.get(url + "/v1/checkpoint").text
    one_line_error(run(home, url, "witness", "--once"), 1, "ATTACK DETECTED")
    assert httpx.get(url + "/v1/checkpoint").text == before


def test_vkey_exports_the_witness_key_that_verifies_its_cosignatures(world: Any) -> None:
    cast, _, url, tmp = world
    home = home_of(tmp, url, "auditor-vkey", cast.auditor.key, "auditor")  # a fresh witness
    assert run(home, url, "witness", "--once").returncode == 0
    lines = dict(line.split(None, 1) for line in run(home, url, "vkey").stdout.splitlines())
    from chainledger.note import parse_verifier_key

    verifier = parse_verifier_key(lines["witness"].strip())
    open_checkpoint(httpx.get(url + "/v1/checkpoint").text, [verifier])
    assert lines["note"].startswith(cast.auditor.id + "+")
