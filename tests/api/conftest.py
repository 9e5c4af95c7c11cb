"""Fixtures of the API tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from domain_support import Cast, make_cast


@pytest.fixture
def cast_db(tmp_path: Path) -> tuple[Cast, Path]:
    """A ledger with the test cast (catalog, issuers, counters, an auditor, holders), closed
    so that a server can open it."""
    db = tmp_path / "ledger.db"
    cast = make_cast(db)
    cast.domain.close()
    return cast, db
