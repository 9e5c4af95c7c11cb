"""Shared fixtures: the golden vectors (copies of ../shared/vectors; see tests/vectors)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chainledger.compiled import install

# With tests/ on sys.path, `import chainledger` finds tests/chainledger (a namespace package)
# before the editable install's finder finds the package, so chainledger/__init__.py never
# runs in the tests: install the compiled build of the hot modules as it would.
install()

VECTORS = Path(__file__).parent / "vectors"


def load_vectors(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def vectors() -> Callable[[str], Any]:
    """``vectors("rfc6962_vectors.json")`` -> the parsed golden file."""
    return load_vectors


# --- PostgreSQL: one throwaway cluster per session (tests/pg_support.py) -----------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A running throwaway PostgreSQL cluster (`pg_support.PgCluster`), stopped and removed
    at the end of the session. Missing server binaries are an error, never a skip."""
    import atexit

    from pg_support import start_cluster  # psycopg: imported only by the tests that use it

    cluster = start_cluster()
    atexit.register(cluster.stop)  # also if the session is torn down abruptly
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Any) -> Iterator[str]:
    """The URL of a new empty database of `pg_cluster`, dropped after the test."""
    url: str = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)
