"""Helpers shared by several test modules (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chainledger.ledger import Ledger
    from chainledger.sequencer import Sequencer


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


class FakeClock:
    """A clock the test moves by hand (the ledger takes time as a callable)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, when: datetime) -> None:
        assert when >= self.now, "the ledger's clock only moves forwards"
        self.now = when


# --- an attacker with the SQLite file --------------------------------------------------------


def wal_checkpoint(db: Path) -> None:
    """Fold the WAL into the main file, so the file alone holds every committed byte."""
    conn = sqlite3.connect(db)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
    finally:
        conn.close()


@contextmanager
def attacker(db: Path, *drop: str) -> Iterator[sqlite3.Connection]:
    """Plain sqlite3 on the file, with the named triggers dropped; committed on exit."""
    conn = sqlite3.connect(db)
    try:
        for trigger in drop:
            conn.execute(f"DROP TRIGGER {trigger}")
        yield conn
        conn.commit()
    finally:
        conn.close()
    wal_checkpoint(db)


def read_stored(db: Path, seq: int) -> bytes:
    """The entry's row as it is on disk (compressed, see chainledger.store.entry_codec)."""
    with closing(sqlite3.connect(db)) as conn:
        (data,) = conn.execute("SELECT data FROM entries WHERE seq = ?", (seq,)).fetchone()
    return bytes(data)


# --- group commit ----------------------------------------------------------------------------


@contextmanager
def one_batch(led: Ledger, sequencer: Sequencer | None = None) -> Iterator[None]:
    """Hold the SQLite ledger's write lock from another connection, blocking the sequencer's
    writer, so that everything submitted meanwhile reaches it as one batch. On release, first
    wait (up to 30 s) until the checker stage has finished with everything submitted."""
    seq = sequencer or led.sequencer
    conn = sqlite3.connect(led.store.path, isolation_level=None)  # type: ignore[attr-defined]
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        deadline = time.monotonic() + 30
        while seq.unchecked() and time.monotonic() < deadline:
            time.sleep(0.001)
        conn.execute("ROLLBACK")
        conn.close()


# --- a context manager that only records --------------------------------------------------


def recording_context(calls: list[str]) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """A stand-in for a context manager: each use appends "enter", then "exit", to ``calls``."""

    @contextmanager
    def recording() -> Iterator[None]:
        calls.append("enter")
        yield
        calls.append("exit")

    return recording
