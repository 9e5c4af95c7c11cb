"""Helpers shared by several test modules (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import shutil
import subprocess
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


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2, nothing on stdout, exactly one non-empty line on stderr, no traceback."""
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chainledger: error: "), lines[0]
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]
