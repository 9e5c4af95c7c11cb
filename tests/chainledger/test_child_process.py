"""Child interpreters run this copy of chainledger, wherever they are started from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chainledger import child_process
from chainledger.child_process import python_command
from chainledger.ledger import Ledger
from chainledger.rules import core_rules
from chainledger.sequencer_process import SequencerProcess


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding another (broken) `chainledger` package."""
    other = tmp_path / "elsewhere"
    (other / "chainledger").mkdir(parents=True)
    (other / "chainledger" / "__init__.py").write_text("raise SystemExit('another chainledger')\n")
    monkeypatch.chdir(other)
    return other


def test_the_child_imports_this_package_not_the_working_directorys(elsewhere: Path) -> None:
    plain = subprocess.run(
        [sys.executable, "-c", "import chainledger"], capture_output=True, text=True, check=False
    )
    assert "another chainledger" in plain.stderr  # what a bare -c would have imported
    out = subprocess.run(
        python_command("import chainledger; print(chainledger.__file__)"),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    this = Path(child_process.__file__).resolve().parent / "__init__.py"
    assert Path(out.stdout.strip()).resolve() == this


def test_the_sequencers_process_starts_from_such_a_directory(
    elsewhere: Path, tmp_path: Path
) -> None:
    Ledger.init(tmp_path / "l.db").close()
    with Ledger.open(tmp_path / "l.db", own_process=core_rules) as led:
        assert isinstance(led.sequencer, SequencerProcess)
        assert led.append(led.platform_statement("note", text="x")).seq == 1
