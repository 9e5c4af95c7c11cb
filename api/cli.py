"""The ``chainledger`` console script: the operator CLI of `chainledger.cli` plus
``chainledger serve``, the one command that needs the HTTP server (kept here so that
the ledger package imports no HTTP code)."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from chainledger.cli import main
from chainledger.cli_support import db_option, require_ledger
from chainledger.location import Location

__all__ = ["main"]


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes, all on this one ledger (one chain: each batch is one transaction).",
)
@click.option(
    "--replica",
    metavar="URL",
    envvar="CHAINLEDGER_REPLICA",
    help="PostgreSQL ledgers: a read replica (hot standby) for proofs, entries and audits.",
)
def serve(db: Location, host: str, port: int, workers: int, replica: str | None) -> None:
    """Serve the ledger over HTTP (the API in the `api` package, run by uvicorn)."""
    import uvicorn

    require_ledger(db, replica)  # one line and exit 2 on a bad database, key file or replica
    # Read by each worker's app factory (`api.settings.Settings`).
    os.environ["CHAINLEDGER_DB"] = str(db.path.resolve()) if db.path else str(db.url)
    if db.keys is not None:
        os.environ["CHAINLEDGER_KEYS"] = str(db.keys.resolve())
    if replica is not None:
        os.environ["CHAINLEDGER_REPLICA"] = replica
    os.environ["CHAINLEDGER_WORKERS"] = str(workers)
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the app writes its own structured access log
        log_config=_log_config(),
        timeout_graceful_shutdown=30,
    )


def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = json.loads(json.dumps(LOGGING_CONFIG))
    config["formatters"]["plain"] = {"format": "%(asctime)s %(name)s %(message)s"}
    config["handlers"]["plain"] = {
        "class": "logging.StreamHandler",
        "formatter": "plain",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["chainledger"] = {"handlers": ["plain"], "level": "INFO", "propagate": False}
    return config
