"""``chainledger``: the operator's and auditor's command line.

Exit status: 0 success; 1 ``verify`` found the ledger corrupt; 2 bad arguments
or refused input (one line on stderr, nothing changed).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from chainledger.errors import ChainledgerError, LedgerCorrupt
from chainledger.ledger import DEFAULT_ORIGIN, Ledger
from chainledger.verify import verify_ledger

F = TypeVar("F", bound=Callable[..., Any])

db_option = click.option(
    "--db",
    "db",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path of the ledger database (SQLite file).",
)


def fail(message: str, status: int = 2) -> NoReturn:
    """One line on stderr, then exit."""
    click.echo(f"chainledger: error: {message}", err=True)
    sys.exit(status)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except LedgerCorrupt as exc:
        fail(f"ledger is corrupt: {exc}", 1)
    except ChainledgerError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))


@contextmanager
def _open(db: Path, *, writable: bool = False) -> Iterator[Ledger]:
    with _errors():
        if not db.exists():
            fail(f"no ledger database at {db} (create one with `chainledger init --db {db}`)")
        ledger = Ledger.open(db, writable=writable)
    try:
        with _errors():
            yield ledger
    finally:
        ledger.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chainledger")
def main() -> None:
    """Certificate-free city ledger: append-only, hash-chained, Merkle-verifiable."""


@main.command()
@db_option
@click.option("--origin", default=DEFAULT_ORIGIN, show_default=True, help="Log name (C2SP origin).")
@click.option(
    "--suite",
    type=click.Choice(["sha256", "sm3"]),
    default="sha256",
    show_default=True,
    help="Hash suite, fixed for the ledger's life.",
)
def init(db: Path, origin: str, suite: str) -> None:
    """Create a ledger: the genesis entry and the platform key (PATH.key, mode 0600)."""
    with _errors():
        ledger = Ledger.init(db, origin=origin, suite_name=suite)
        try:
            click.echo(f"initialized {db} ({origin}, {suite}); platform key in {db}.key")
            click.echo(ledger.vkey)
        finally:
            ledger.close()


@main.command()
@db_option
@click.argument("text")
def note(db: Path, text: str) -> None:
    """Append a platform-signed note (e.g. a key ceremony); print its receipt."""
    with _open(db, writable=True) as ledger:
        receipt = ledger.append(ledger.platform_statement("note", text=text))
        click.echo(json.dumps(receipt.to_json(), ensure_ascii=False))


@main.command()
@db_option
def checkpoint(db: Path) -> None:
    """Print the latest signed checkpoint (C2SP signed note)."""
    with _open(db) as ledger:
        click.echo(ledger.checkpoint(), nl=False)


@main.command()
@db_option
def vkey(db: Path) -> None:
    """Print the C2SP verifier key of the ledger's checkpoints."""
    with _open(db) as ledger:
        click.echo(ledger.vkey)


@main.command()
@db_option
@click.option("--from", "start", type=click.IntRange(min=0), default=0, help="First seq.")
@click.option("--to", "end", type=click.IntRange(min=0), default=None, help="Stop before this seq.")
def export(db: Path, start: int, end: int | None) -> None:
    """Entries as JSON Lines: each line exactly the entry's canonical bytes (the Merkle leaf)."""
    with _open(db) as ledger:
        size = ledger.size()
        if end is not None and end > size:
            fail(f"--to {end} is past the end of the ledger ({size} entries)")
        if end is not None and start > end:
            fail(f"--from {start} is after --to {end}")
        if start > size:
            fail(f"--from {start} is past the end of the ledger ({size} entries)")
        out = sys.stdout.buffer
        for _, data in ledger.entries(start, end):
            out.write(data + b"\n")
        out.flush()


@main.group()
def proof() -> None:
    """RFC 9162 proofs as proof JSON."""


@proof.command("inclusion")
@db_option
@click.option("--index", type=int, required=True, help="Leaf index (0-based seq).")
@click.option("--size", type=int, default=None, help="Tree size (default: latest checkpoint).")
def proof_inclusion(db: Path, index: int, size: int | None) -> None:
    """Inclusion proof of entry INDEX in the tree of SIZE."""
    with _open(db) as ledger:
        click.echo(json.dumps(ledger.inclusion_proof(index, size).to_json()))


@proof.command("consistency")
@db_option
@click.option("--first", type=int, required=True, help="Older tree size.")
@click.option("--second", type=int, required=True, help="Newer tree size.")
def proof_consistency(db: Path, first: int, second: int) -> None:
    """Consistency proof from tree size FIRST to SECOND."""
    with _open(db) as ledger:
        click.echo(json.dumps(ledger.consistency_proof(first, second).to_json()))


@main.command()
@db_option
def verify(db: Path) -> None:
    """Recompute the chain, signatures, Merkle nodes, checkpoints and projections."""
    with _open(db) as ledger:
        if sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("verifying", total=ledger.size())

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                report = verify_ledger(
                    ledger.store, db_path=db, rules=ledger.rules, progress=progress
                )
        else:
            report = verify_ledger(ledger.store, db_path=db, rules=ledger.rules)
        click.echo(
            f"ok: {report.entries} entries, {report.checkpoints} checkpoints, "
            f"root {report.root.hex()}"
        )
