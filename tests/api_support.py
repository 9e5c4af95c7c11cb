"""Helpers for API tests (and the HTTP benchmark): a real uvicorn server on a free port,
and signed clients."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from support import chainledger_exe

from chainledger.assets import digests_of, issue_fields, make_disclosures
from chainledger.crypto import SUITES
from chainledger.location import Location
from chainledger.statement import make_statement, sign_statement
from wallet.httpsig import RequestSigner


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def db_args(db: Path | Location) -> list[str]:
    """The ``--db`` (and, for PostgreSQL, ``--keys``) arguments naming ledger ``db``."""
    where = Location.of(db)
    if where.url is not None:
        return ["--db", where.url, "--keys", str(where.keys)]
    return ["--db", str(where.path)]


@contextmanager
def serve(
    db: Path | Location,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Iterator[RunningServer]:
    """``chainledger serve`` in a child process; yields once /healthz answers; SIGTERM after."""
    port = free_port()
    log = Location.of(db).companion(f"server-{port}.log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [chainledger_exe(), "serve", *db_args(db), "--port", str(port),
             "--workers", str(workers)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            start_new_session=True,  # its own process group: workers go with it
        )  # fmt: skip
    server = RunningServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited early:\n{server.log_text()}")
            try:
                if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not start:\n{server.log_text()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def signed(actor: Any, kind: str, **fields: Any) -> dict[str, Any]:
    """A statement by ``actor`` (a tests.domain_support.Actor) at the real time, as wire JSON."""
    stmt = make_statement(kind, actor.id, datetime.now(UTC), os.urandom, **fields)
    return sign_statement(stmt, actor.key).to_wire()


def signer(actor: Any) -> RequestSigner:
    """RFC 9421 signing as ``actor`` for an httpx client."""
    return RequestSigner(actor.id, actor.key)


def grant_statement(cast: Any, max_uses: int = 1) -> dict[str, Any]:
    """A fresh ``grant.create`` by the cast's citizen to its bus counter (name only)."""
    from chainledger.clock import format_ts
    from chainledger.grants import create_fields

    now = datetime.now(UTC)
    return signed(
        cast.citizen, "grant.create",
        **create_fields(
            scenario="bus_ticket", purpose="ticket_purchase",
            scope={"resident_id_card": ["name"]}, grantee=cast.bus.id,
            not_before=format_ts(now - timedelta(minutes=1)),
            expires=format_ts(now + timedelta(hours=1)), max_uses=max_uses,
        ),
    )  # fmt: skip


def issue_body(cast: Any) -> dict[str, Any]:
    """A genuine /v1/assets body: the police's ``asset.issue`` of an ID card to the citizen,
    with the values behind its digests."""
    values = {"name": cast.citizen_name, "sex": "女", "ethnicity": "汉",
              "birth_date": "1990-03-07", "address": "山东省聊城市东昌府区",
              "id_number": cast.citizen_id_number, "valid_from": "2020-01-01",
              "valid_until": "2040-01-01"}  # fmt: skip
    disclosures = make_disclosures(values, os.urandom)
    digests = digests_of(SUITES["sha256"], disclosures)
    fields = issue_fields("resident_id_card", cast.citizen.id, digests, "2020-01-01", None)
    return {"statement": signed(cast.police, "asset.issue", **fields), "disclosures": disclosures}
