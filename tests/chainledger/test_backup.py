"""Online backup and restore: `chainledger backup` copies a ledger while it keeps appending,
verifies the copy; `chainledger restore` verifies it again and the restored ledger
continues the same chain (the backup's checkpoint is a prefix of every later one)."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from domain_support import make_cast
from support import assert_refused, chainledger_exe

from chainledger.domain import Domain, domain_rules, secrets_path
from chainledger.ledger import key_path
from chainledger.store.sqlite import SqliteStore
from chainledger.verify import verify_ledger

SCOPE = {"resident_id_card": ["name"]}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chainledger_exe(), *args], capture_output=True, text=True)


@pytest.fixture
def busy(tmp_path: Path) -> Any:
    """A ledger with data, and a thread appending grants to it until stopped."""
    db = tmp_path / "ledger.db"
    cast = make_cast(db)
    cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    stop = threading.Event()

    def append() -> None:
        while not stop.is_set():
            cast.grant(cast.citizen, cast.bus, "bus_ticket", SCOPE)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        yield cast, db, stop
    finally:
        stop.set()
        writer.join()
        cast.domain.close()


def test_backup_while_appending_then_restore_and_continue(busy: Any, tmp_path: Path) -> None:
    cast, db, stop = busy
    out = tmp_path / "backup.db"
    r = cli("backup", "--db", str(db), "--out", str(out), "--with-secrets")
    assert r.returncode == 0, r.stderr
    assert "verified" in r.stdout
    stop.set()
    d: Domain = cast.domain
    backed = SqliteStore(out)
    try:
        snapshot = verify_ledger(backed, rules=domain_rules())
        # Appends went on during the backup; the copy is a prefix of the live ledger.
        assert 0 < snapshot.entries < d.ledger.size()
        for seq in (0, snapshot.entries // 2, snapshot.entries - 1):
            assert backed.entry(seq) == d.ledger.entry(seq)
    finally:
        backed.close()
    for companion in (key_path(out), secrets_path(out)):
        assert companion.stat().st_mode & 0o777 == 0o600

    restored = tmp_path / "restored.db"
    r = cli("restore", "--from", str(out), "--db", str(restored))
    assert r.returncode == 0, r.stderr
    with Domain.open(restored) as again:
        assert again.ledger.size() == snapshot.entries
        dataclasses.replace(cast, domain=again).grant(cast.citizen, cast.bus, "bus_ticket", SCOPE)
        report = verify_ledger(again.store, key_file=key_path(restored), rules=domain_rules())
        assert report.entries == snapshot.entries + 1
        # The chain goes on from the backup's tip: its tree is a prefix of the new one.
        proof = again.ledger.consistency_proof(snapshot.entries, report.entries)
        proof.verify(snapshot.root, report.root, suite=again.ledger.suite)


def test_backup_and_restore_refuse_and_change_nothing(busy: Any, tmp_path: Path) -> None:
    _, db, stop = busy
    stop.set()
    out = tmp_path / "b.db"
    out.write_bytes(b"precious")
    assert_refused(cli("backup", "--db", str(db), "--out", str(out)), "exists")
    assert out.read_bytes() == b"precious"
    out.unlink()
    assert cli("backup", "--db", str(db), "--out", str(out)).returncode == 0
    # Without --with-secrets, no key beside it: restore says what is missing.
    assert not key_path(out).exists()
    target = tmp_path / "r.db"
    assert_refused(cli("restore", "--from", str(out), "--db", str(target)), "platform key")
    assert not target.exists()
    assert_refused(cli("restore", "--from", str(out), "--db", str(db)), "exists")
    # A damaged backup is refused as corrupt and nothing is restored.
    key_path(out).write_bytes(key_path(db).read_bytes())
    with closing(sqlite3.connect(out)) as conn:
        conn.execute("DROP TRIGGER entries_no_update")
        (stored,) = conn.execute("SELECT data FROM entries WHERE seq = 3").fetchone()
        flipped = bytes(stored[:-1]) + bytes([stored[-1] ^ 1])
        conn.execute("UPDATE entries SET data = ? WHERE seq = 3", (flipped,))
        conn.commit()
    r = cli("restore", "--from", str(out), "--db", str(target))
    assert r.returncode == 1, r
    assert "ledger is corrupt" in r.stderr
    assert "Traceback" not in r.stderr
    assert not target.exists()
    assert not target.with_name(target.name + ".restoring").exists()
