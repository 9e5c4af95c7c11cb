"""``wallet``: the client side, where each party's key stays with that party.

Exit status: 0 success; 1 the server's answer did not verify (an attack, named as
such); 2 bad arguments, a wrong passphrase, an unreachable server or a refusal
(one line on stderr). The passphrase comes from ``WALLET_PASSPHRASE`` or a prompt.

This first version covers the keystore and the verifying reads: ``init``,
``whoami``, ``checkpoint`` and ``history``. The holder, counter, issuer and
auditor commands build on the same `wallet.client.LedgerClient`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from chainledger.encoding import b64encode
from chainledger.errors import ChainledgerError, VerificationError
from chainledger.parties import pop_message
from wallet.client import LedgerClient, TrustStore
from wallet.httpsig import RequestSigner
from wallet.keystore import Keystore


def fail(message: str, status: int = 2) -> NoReturn:
    click.echo(f"wallet: error: {message}", err=True)
    sys.exit(status)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except VerificationError as exc:
        fail(f"ATTACK DETECTED: {exc}", 1)
    except ChainledgerError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))


def _passphrase(confirm: bool = False) -> str:
    env = os.environ.get("WALLET_PASSPHRASE")
    if env is not None:
        return env
    if not sys.stdin.isatty():
        fail("no passphrase: set WALLET_PASSPHRASE or run on a terminal")
    return str(click.prompt("passphrase", hide_input=True, confirmation_prompt=confirm))


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "chainledger-wallet"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_home,
    show_default="the platform's user data directory",
    help="This wallet's directory (key, trust state).",
)
@click.option(
    "--server", default="http://127.0.0.1:8000", show_default=True, help="The ledger's URL."
)
@click.pass_context
def main(ctx: click.Context, home: Path, server: str) -> None:
    """The chainledger wallet: keys kept by their owner; every answer verified."""
    ctx.obj = {"home": home, "server": server}


def _client(ctx: click.Context) -> LedgerClient:
    home: Path = ctx.obj["home"]
    return LedgerClient(ctx.obj["server"], TrustStore(home / "trust.json"))


@main.command()
@click.option(
    "--role", type=click.Choice(["holder", "counter", "issuer", "auditor"]), required=True
)
@click.pass_context
def init(ctx: click.Context, role: str) -> None:
    """Create this wallet's key (encrypted) and print the registration request for the
    platform (public key and proof of possession; the platform approves and registers)."""
    with _errors():
        store = Keystore(ctx.obj["home"])
        if store.exists():
            fail(f"{store.path} already holds a key")
        info, key = store.create(role, _passphrase(confirm=True))
        request = {
            "public_key": b64encode(info.public_key),
            "role": role,
            "pop": b64encode(key.sign(pop_message(info.party, role))),
        }
    click.echo(json.dumps({"party": info.party, "registration": request}, ensure_ascii=False))


@main.command()
@click.pass_context
def whoami(ctx: click.Context) -> None:
    """This wallet's party id, role and public key (no passphrase needed)."""
    with _errors():
        info = Keystore(ctx.obj["home"]).info()
    click.echo(f"{info.party} {info.role} {b64encode(info.public_key)}")


@main.command()
@click.pass_context
def checkpoint(ctx: click.Context) -> None:
    """Fetch the log's checkpoint, verify it and its consistency with the last one seen."""
    with _errors(), _client(ctx) as client:
        last = client.last_checkpoint()
        cp = client.checkpoint()
    grown = f" (was {last.size}: consistent)" if last is not None else " (first seen: pinned)"
    click.echo(f"ok: {cp.origin} size {cp.size} root {cp.root.hex()}{grown}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def history(ctx: click.Context, as_json: bool) -> None:
    """Every read and refused read of my data, each proved to be in the log."""
    with _errors():
        store = Keystore(ctx.obj["home"])
        info = store.info()
        key = store.unlock(_passphrase())
        with _client(ctx) as client:
            rows = client.history(RequestSigner(info.party, key), info.party)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        what = "read" if r["outcome"] == "read" else f"REFUSED ({r['reason']})"
        click.echo(
            f"{r['ts']}  seq {r['seq']}  {r['counter']}  {what}  "
            f"{r['cls'] or '-'}  purpose {r['purpose'] or '-'}  proof {r['proof']}"
        )
    click.echo(f"{len(rows)} records, every one verified in the log", err=True)
