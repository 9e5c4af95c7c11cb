"""Helpers shared by several test modules (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def chainledger_exe() -> str:
    """The `chainledger` console script of the code under test.

    The script beside this interpreter first: a `chainledger` elsewhere on PATH may be
    another installation than the code under test.
    """
    sibling = Path(sys.executable).parent / "chainledger"
    if sibling.exists():
        return str(sibling)
    found = shutil.which("chainledger")
    assert found is not None, "the chainledger console script is not installed"
    return found
