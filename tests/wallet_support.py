"""Helpers for wallet tests: run the `wallet` command, check one-line errors, sign as the
platform, a tampering transport, and the bus-station grant and read used by several tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from api_support import signed
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from domain_support import Cast

from chainledger.access import read_fields
from chainledger.clock import format_ts
from chainledger.crypto import load_private_key, party_id, public_key_bytes, save_private_key
from chainledger.grants import create_fields
from chainledger.ledger import key_path
from wallet.httpsig import RequestSigner

WALLET = str(Path(sys.executable).parent / "wallet")


PASSPHRASE = "correct horse battery"


def run(home: Path, server: str, *args: str, passphrase: str | None = PASSPHRASE) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "WALLET_PASSPHRASE"}
    if passphrase is not None:
        env["WALLET_PASSPHRASE"] = passphrase
    return subprocess.run(
        [WALLET, "--home", str(home), "--server", server, *args],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def one_line_error(r: Any, status: int, *words: str) -> str:
    assert r.returncode == status, r
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def platform(db: Path) -> RequestSigner:
    key = load_private_key(key_path(db))
    return RequestSigner(party_id(public_key_bytes(key)), key)


Tamper = Callable[[httpx.Request, httpx.Response], httpx.Response]


class Tampering(httpx.BaseTransport):
    """Forwards to the real server; ``tamper`` may rewrite a response."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.tamper: Tamper | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        response.close()
        if self.tamper is None:
            return response
        return self.tamper(request, response)

    def close(self) -> None:
        self.inner.close()


def rewrite(response: httpx.Response, change: Callable[[Any], None]) -> httpx.Response:
    body = json.loads(response.content)
    change(body)
    return httpx.Response(response.status_code, json=body, headers={"x-tampered": "1"})


def bus_grant(cast: Cast) -> dict[str, Any]:
    """The citizen's standing grant to the bus-station counter: name and ID number."""
    now = datetime.now(UTC)
    return signed(
        cast.citizen, "grant.create",
        **create_fields(
            scenario="bus_ticket", purpose="ticket_purchase",
            scope={"resident_id_card": ["name", "id_number"]}, grantee=cast.bus.id,
            not_before=format_ts(now - timedelta(minutes=1)),
            expires=format_ts(now + timedelta(hours=1)), max_uses=50,
        ),
    )  # fmt: skip


def bus_read(cast: Cast, g: str, asset: str) -> dict[str, Any]:
    """The bus station's signed read of the ID card ``asset`` under grant ``g``."""
    fields = read_fields(g, asset, ["name", "id_number"], "ticket_purchase")
    return signed(cast.bus, "access.read", **fields)


def imported(tmp: Path, url: str, name: str, key: Ed25519PrivateKey, role: str) -> Path:
    """A wallet home under ``tmp`` holding ``key`` (imported once, reused after)."""
    pem = tmp / f"{name}.pem"
    if not pem.exists():
        save_private_key(key, pem)
    home = tmp / f"home-{name}"
    if not home.exists():
        r = run(home, url, "import", "--key", str(pem), "--role", role)
        assert r.returncode == 0, r.stderr
    return home


def card_row(holder: str, id_number: str, name: str) -> str:
    """One CSV row of a resident ID card for `wallet issue`."""
    return (f"{holder},2020-01-01,2040-01-01,{name},女,汉,1990-03-07,"
            f"山东省聊城市东昌府区,{id_number},2020-01-01,2040-01-01")  # fmt: skip


HEADER = ("@holder,@valid_from,@valid_until,name,sex,ethnicity,birth_date,address,id_number,"
          "valid_from,valid_until")  # fmt: skip


def id_card_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path
