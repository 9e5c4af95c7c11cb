"""Shared fixtures: the golden vectors (copies of ../shared/vectors; see tests/vectors)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

VECTORS = Path(__file__).parent / "vectors"


def load_vectors(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def vectors() -> Callable[[str], Any]:
    """``vectors("rfc6962_vectors.json")`` -> the parsed golden file."""
    return load_vectors
