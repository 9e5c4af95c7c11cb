"""Where a ledger lives: its database and the key files that go with it.

A ledger is either an embedded SQLite file (the default: one machine) or a
PostgreSQL database (several API nodes on one database), named by a libpq URL
``postgresql://user@host:port/dbname``. The platform's signing key and the
vault/binding secrets are never in the database:

* SQLite: beside the file, ``<db>.key`` and ``<db>.secrets`` (mode 0600);
* PostgreSQL: in a key directory given by ``--keys DIR`` or ``CHAINLEDGER_KEYS``,
  as ``DIR/ledger.key`` and ``DIR/ledger.secrets`` (and the demo's parties' keys in
  ``DIR/ledger.demo/``); every API node of the ledger
  gets a copy of that directory (it is what lets a node sign checkpoints).

A URL's password is never shown: `Location.__str__` redacts it, and it is what
every message names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from chainledger.errors import MalformedInput
from chainledger.store.base import Store

__all__ = ["KEYS_ENV", "Location", "key_path", "secrets_path"]

#: The environment variable naming a PostgreSQL ledger's key directory.
KEYS_ENV = "CHAINLEDGER_KEYS"
_SCHEMES = ("postgresql", "postgres")


def key_path(db: Path) -> Path:
    """Where the platform's signing key of the SQLite database ``db`` lives: ``<db>.key``."""
    return Location.of(db).key_path


def secrets_path(db: Path) -> Path:
    """The platform secrets file of the SQLite database ``db``: ``<db>.secrets``."""
    return Location.of(db).secrets_path


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@dataclass(frozen=True, slots=True)
class Location:
    """A ledger's database (``path`` for SQLite, ``url`` for PostgreSQL) and its key files.

    Build one with `Location.of`; exactly one of ``path`` and ``url`` is set.
    """

    path: Path | None
    url: str | None
    keys: Path | None  # PostgreSQL only: the key directory

    @classmethod
    def of(cls, db: Location | Path | str, keys: Path | None = None) -> Location:
        """``db`` as a location: a ``postgresql://`` (or ``postgres://``) URL, else a file
        path. A URL needs a key directory: ``keys``, else ``$CHAINLEDGER_KEYS``
        (`MalformedInput` without one, or for a URL that is not one)."""
        if isinstance(db, Location):
            return db
        text = str(db)
        scheme = text.split(":", 1)[0].lower() if "://" in text else ""
        if scheme not in _SCHEMES:
            if scheme:
                raise MalformedInput("db", f"unknown database scheme {scheme!r} (postgresql://)")
            if keys is not None:
                raise MalformedInput("keys", "--keys is for PostgreSQL ledgers only")
            return cls(Path(text), None, None)
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise MalformedInput("db", "not a valid postgresql:// URL") from None
        if not parts.path.strip("/"):
            raise MalformedInput("db", f"no database name in {_redact(text)}")
        if keys is None and os.environ.get(KEYS_ENV):
            keys = Path(os.environ[KEYS_ENV])
        if keys is None:
            raise MalformedInput(
                "keys", f"a PostgreSQL ledger needs its key directory: --keys DIR or ${KEYS_ENV}"
            )
        return cls(None, text, Path(keys))

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    def __str__(self) -> str:
        return _redact(self.url) if self.url is not None else str(self.path)

    def companion(self, name: str) -> Path:
        """A file (or directory) that belongs with this ledger: ``<db>.<name>`` beside a
        SQLite file, ``<keys>/ledger.<name>`` for PostgreSQL."""
        if self.path is not None:
            return self.path.with_name(f"{self.path.name}.{name}")
        assert self.keys is not None
        return self.keys / f"ledger.{name}"

    @property
    def key_path(self) -> Path:
        """The platform's signing key file."""
        return self.companion("key")

    @property
    def secrets_path(self) -> Path:
        """The platform's vault and binding secrets file."""
        return self.companion("secrets")

    @property
    def companions(self) -> list[Path]:
        """The files that belong with the database: its platform key and its secrets."""
        return [self.key_path, self.secrets_path]

    def exists(self) -> bool:
        """Whether a ledger database is there (for PostgreSQL: reachable and migrated)."""
        if self.path is not None:
            return self.path.exists()
        from chainledger.store.postgres import postgres_exists

        assert self.url is not None
        return postgres_exists(self.url)  # NotFound if the server cannot be reached

    def open_store(self, *, create: bool = False) -> Store:
        """The storage backend (`NotFound` if there is none and ``create`` is False)."""
        if self.path is not None:
            from chainledger.store.sqlite import SqliteStore

            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            return SqliteStore(self.path, create=create)
        from chainledger.store.postgres import PostgresStore

        assert self.url is not None
        return PostgresStore(self.url, create=create)

    def discard_created(self) -> None:
        """Remove a database file this process created for an init that failed (SQLite; a
        PostgreSQL database is the operator's and keeps its empty, migrated schema)."""
        if self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
