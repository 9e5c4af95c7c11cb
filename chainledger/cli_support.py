"""What every ``chainledger`` command shares: the ``--db``/``--keys`` option, one-line
errors, and opening the ledger (`chainledger.cli` and `chainledger.tiles_cli` use it)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import click

from chainledger.domain import Domain, domain_rules
from chainledger.errors import ChainledgerError, LedgerCorrupt
from chainledger.ledger import Ledger
from chainledger.location import KEYS_ENV, Location

__all__ = [
    "db_option", "errors", "fail", "open_domain", "open_ledger", "require_exists",
    "require_ledger",
]  # fmt: skip

F = TypeVar("F", bound=Callable[..., Any])


def db_option(f: F) -> F:
    """``--db PATH|URL`` and ``--keys DIR``, handed to the command as one ``db: Location``
    (a malformed URL, or a URL without a key directory: one line, exit 2)."""

    @functools.wraps(f)
    def command(*args: Any, db: str, keys: Path | None, **kwargs: Any) -> Any:
        try:
            where = Location.of(db, keys)
        except ChainledgerError as exc:
            fail(str(exc))
        return f(*args, db=where, **kwargs)

    command = click.option(
        "--keys",
        type=click.Path(file_okay=False, path_type=Path),
        # Not click's envvar: Location.of reads $CHAINLEDGER_KEYS for URLs only, so that a
        # variable exported for a PostgreSQL ledger does not refuse every SQLite one.
        help=f"PostgreSQL ledgers: the directory of the platform key and secrets (default:"
        f" ${KEYS_ENV}).",
    )(command)
    command = click.option(
        "--db",
        required=True,
        metavar="PATH|URL",
        help="The ledger database: a SQLite file, or postgresql://user@host:port/dbname.",
    )(command)
    return cast(F, command)


def fail(message: str, status: int = 2) -> NoReturn:
    """One line on stderr, then exit."""
    click.echo(f"chainledger: error: {message}", err=True)
    sys.exit(status)


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except LedgerCorrupt as exc:
        fail(f"ledger is corrupt: {exc}", 1)
    except ChainledgerError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))


def require_exists(db: Location) -> None:
    if not db.exists():
        fail(f"no ledger database at {db} (create one with `chainledger init --db ...`)")


def require_ledger(db: Location, replica: str | None = None) -> None:
    """Exit with one line unless ``db`` is a ledger whose platform key opens it (and
    ``replica``, if given, a replica of it), for commands that hand the database to another
    program, such as ``serve``."""
    with errors():
        require_exists(db)
        Ledger.open(db, writable=True, rules=domain_rules(), replica=replica).close()


@contextmanager
def open_ledger(db: Location, *, writable: bool = False) -> Iterator[Ledger]:
    with errors():
        require_exists(db)
        ledger = Ledger.open(db, writable=writable, rules=domain_rules())
    try:
        with errors():
            yield ledger
    finally:
        ledger.close()


@contextmanager
def open_domain(db: Location, **kwargs: Any) -> Iterator[Domain]:
    with errors():
        require_exists(db)
        domain = Domain.open(db, **kwargs)
    try:
        with errors():
            yield domain
    finally:
        domain.close()
