"""Fixtures of the API tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from domain_support import Cast, make_cast

from chainledger.location import Location


@pytest.fixture
def cast_db(tmp_path: Path) -> tuple[Cast, Path]:
    """A ledger with the test cast (catalog, issuers, counters, an auditor, holders), closed
    so that a server can open it."""
    db = tmp_path / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    return cast, db


@pytest.fixture(params=["sqlite", "postgres"])
def any_cast_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Cast, Location]:
    """`cast_db` on each backend: a SQLite file, and a fresh PostgreSQL database of the
    throwaway cluster (its key files in a directory of their own)."""
    if request.param == "sqlite":
        where = Location.of(tmp_path / "ledger.db")
    else:
        where = Location.of(request.getfixturevalue("pg_url"), tmp_path / "keys")
    cast = make_cast(where)
    cast.domain.close()
    return cast, where
