"""`verify` with its worker processes finds exactly what it finds in one process.

A small ledger is verified in small chunks (so every worker gets several) with
two worker processes and with none, intact and after each kind of tampering;
both must agree on the result: the same report, or the same first bad seq and
the same reason.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import chainledger.verify as verify_module
from chainledger.errors import LedgerCorrupt
from chainledger.ledger import Ledger
from chainledger.store.entry_codec import decode_stored, encode_stored
from chainledger.store.sqlite import SqliteStore
from chainledger.verify import VerifyReport, verify_ledger

SIZE = 60


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("workers") / "l.db"
    with Ledger.init(db) as led:
        for i in range(SIZE - 1):
            led.append(led.platform_statement("note", text=f"note {i}"))
    return db


def outcome(db: Path, workers: int) -> VerifyReport | tuple[int | None, str]:
    store = SqliteStore(db)
    try:
        return verify_ledger(store, workers=workers)
    except LedgerCorrupt as exc:
        return exc.seq, str(exc)
    finally:
        store.close()


def rewrite(db: Path, seq: int, change: Callable[[bytes], bytes | None]) -> None:
    """Replace (or, for None, delete) the stored entry ``seq``, triggers dropped."""
    conn = sqlite3.connect(db)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
        for name in names:
            conn.execute(f"DROP TRIGGER {name}")
        (stored,) = conn.execute("SELECT data FROM entries WHERE seq = ?", (seq,)).fetchone()
        new = change(decode_stored(bytes(stored)))
        if new is None:
            conn.execute("DELETE FROM entries WHERE seq = ?", (seq,))
        else:
            conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (encode_stored(new), seq))
        conn.commit()
    finally:
        conn.close()


def flip_signature(data: bytes) -> bytes:
    i = data.index(b'"sig":"') + 7
    return data[:i] + (b"B" if data[i : i + 1] == b"A" else b"A") + data[i + 1 :]


def flip_text(data: bytes) -> bytes:
    return data.replace(b"note ", b"nope ", 1)


def not_canonical(data: bytes) -> bytes:
    return data.replace(b'{"prev"', b'{ "prev"', 1)


CASES: dict[str, tuple[int, Callable[[bytes], bytes | None]]] = {
    "signature": (23, flip_signature),
    "statement text": (41, flip_text),
    "not canonical": (17, not_canonical),
    "missing entry": (35, lambda data: None),
}


@pytest.mark.parametrize("chunk", [4, 2048])
def test_an_intact_ledger_verifies_the_same(
    built: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(verify_module, "CHUNK", chunk)
    assert outcome(built, workers=2) == outcome(built, workers=1)
    assert isinstance(outcome(built, workers=2), VerifyReport)


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_found_at_the_same_seq_for_the_same_reason(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.setattr(verify_module, "CHUNK", 4)
    db = tmp_path / "t.db"
    shutil.copy(built, db)
    seq, change = CASES[case]
    rewrite(db, seq, change)
    in_workers, inline = outcome(db, workers=2), outcome(db, workers=1)
    assert in_workers == inline
    assert isinstance(inline, tuple)
    assert inline[0] == seq, inline
