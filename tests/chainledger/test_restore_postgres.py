"""``chainledger restore`` into PostgreSQL: a backup (of a SQLite or a PostgreSQL ledger)
becomes the ledger of a database that holds none yet, all of it in one transaction, its key
files in the ``--keys`` directory; the restored ledger verifies, has the backup's size and
root, and continues the same chain. Refusals change nothing; a failure mid-copy leaves no
ledger row behind."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from domain_support import Cast, make_cast
from support import assert_refused, chainledger_exe

from chainledger.cli import main
from chainledger.domain import Domain, domain_rules
from chainledger.location import Location
from chainledger.store import postgres_backup
from chainledger.store.postgres_connection import SCHEMA
from chainledger.store.postgres_schema import TABLES
from chainledger.verify import verify_ledger

SCOPE = {"resident_id_card": ["name"]}
PASSWORD = "s3cret-pw"


def cli(*args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chainledger_exe(), *map(str, args)], capture_output=True, text=True, check=False
    )


def with_password(url: str) -> str:
    """``url`` with a password (the test cluster trusts every local connection, so it is
    never asked for: only whether a message shows it matters)."""
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


def ledger_rows(url: str) -> dict[str, int] | None:
    """Rows per ledger table, or None if the database has no chainledger schema."""
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = %s", (SCHEMA,)
        ).fetchone()
        if not found or not found[0]:
            return None
        out: dict[str, int] = {}
        for table in TABLES:
            row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchone()  # noqa: S608
            assert row is not None
            out[table] = int(row[0])
        return out


def summary(stdout: str) -> tuple[int, str]:
    """(entries, root hex) of a backup's or verify's one-line summary."""
    words = stdout.replace(",", "").split()
    return int(words[words.index("entries") - 1]), words[words.index("root") + 1]


def add_data(cast: Cast) -> None:
    cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    cast.grant(cast.citizen, cast.bus, "bus_ticket", SCOPE)
    cast.domain.close()


@pytest.fixture
def sqlite_backup(tmp_path: Path) -> tuple[Cast, Path, int, str]:
    """A SQLite ledger with domain data, and its backup with key and secrets beside it:
    (the cast, the backup file, its entries, its root)."""
    cast = make_cast(tmp_path / "ledger.db")
    add_data(cast)
    out = tmp_path / "backup.db"
    r = cli("backup", "--db", tmp_path / "ledger.db", "--out", out, "--with-secrets")
    assert r.returncode == 0, r.stderr
    return cast, out, *summary(r.stdout)


def test_a_sqlite_backup_restored_into_postgres_verifies_and_continues(
    sqlite_backup: tuple[Cast, Path, int, str], pg_url: str, tmp_path: Path
) -> None:
    cast, out, size, root = sqlite_backup
    keys = tmp_path / "keys"
    r = cli("restore", "--from", out, "--db", with_password(pg_url), "--keys", keys)
    assert r.returncode == 0, r.stderr
    assert PASSWORD not in r.stdout + r.stderr
    where = str(Location.of(with_password(pg_url), keys))
    assert r.stdout == f"restored {where}: {size} entries, root {root}, verified\n"
    backup = Location.of(out)
    restored = Location.of(pg_url, keys)
    for src, dst in zip(backup.companions, restored.companions, strict=True):
        assert dst.read_bytes() == src.read_bytes()
        assert dst.stat().st_mode & 0o777 == 0o600
    assert keys.stat().st_mode & 0o777 == 0o700

    r = cli("verify", "--db", pg_url, "--keys", keys)
    assert r.returncode == 0, r.stderr
    assert summary(r.stdout) == (size, root)

    # The chain goes on from the backup's tip, through the restored PostgreSQL ledger.
    with Domain.open(restored) as again:
        dataclasses.replace(cast, domain=again).grant(cast.citizen, cast.bus, "bus_ticket", SCOPE)
        report = verify_ledger(again.store, key_file=restored.key_path, rules=domain_rules())
        assert report.entries == size + 1
        proof = again.ledger.consistency_proof(size, report.entries)
        proof.verify(bytes.fromhex(root), report.root, suite=again.ledger.suite)
    r = cli("verify", "--db", pg_url, "--keys", keys)
    assert r.returncode == 0, r.stderr
    assert summary(r.stdout) == (size + 1, report.root.hex())


def test_a_postgres_ledger_restored_into_another_database(
    pg_url: str, pg_cluster: Any, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    add_data(make_cast(Location.of(pg_url, keys)))  # type: ignore[arg-type]
    out = tmp_path / "backup.db"
    r = cli("backup", "--db", pg_url, "--keys", keys, "--out", out, "--with-secrets")
    assert r.returncode == 0, r.stderr
    size, root = summary(r.stdout)
    # A demo directory beside the backup (the demo parties' keys) goes along.
    demo = Location.of(out).companion("demo")
    (demo / "parties").mkdir(parents=True)
    (demo / "parties" / "bus.key").write_bytes(b"a key")
    other = pg_cluster.create_database()
    try:
        other_keys = tmp_path / "other-keys"
        r = cli("restore", "--from", out, "--db", other, "--keys", other_keys)
        assert r.returncode == 0, r.stderr
        assert summary(r.stdout) == (size, root)
        copied = other_keys / "ledger.demo" / "parties"
        assert (copied / "bus.key").read_bytes() == b"a key"
        assert (copied / "bus.key").stat().st_mode & 0o777 == 0o600
        assert copied.stat().st_mode & 0o777 == 0o700
        r = cli("verify", "--db", other, "--keys", other_keys)
        assert r.returncode == 0, r.stderr
        assert summary(r.stdout) == (size, root)
        assert ledger_rows(other) == ledger_rows(pg_url)
    finally:
        pg_cluster.drop_database(other)


def test_restore_into_a_database_with_a_ledger_is_refused(
    sqlite_backup: tuple[Cast, Path, int, str], pg_url: str, tmp_path: Path
) -> None:
    _, out, _, _ = sqlite_backup
    r = cli("restore", "--from", out, "--db", pg_url, "--keys", tmp_path / "keys")
    assert r.returncode == 0, r.stderr
    before = ledger_rows(pg_url)
    again = tmp_path / "keys-again"
    url = with_password(pg_url)
    line = assert_refused(
        cli("restore", "--from", out, "--db", url, "--keys", again), "already holds a ledger"
    )
    assert PASSWORD not in line
    assert ledger_rows(pg_url) == before
    assert not again.exists()


def test_a_failure_mid_copy_leaves_no_ledger_rows(
    sqlite_backup: tuple[Cast, Path, int, str], pg_url: str, tmp_path: Path
) -> None:
    _, out, size, root = sqlite_backup
    # A row SQLite takes (NULL in a TEXT PRIMARY KEY) and PostgreSQL refuses, in a table
    # verify does not read and that is copied after the log and the projections.
    with closing(sqlite3.connect(out)) as conn:
        conn.execute(
            "INSERT INTO vault (asset, wrapped_key, nonce, ciphertext) "
            "VALUES (NULL, x'00', x'00', x'00')"
        )
        conn.commit()
    keys = tmp_path / "keys"
    assert_refused(
        cli("restore", "--from", out, "--db", pg_url, "--keys", keys), "vault", "nothing restored"
    )
    rows = ledger_rows(pg_url)
    assert rows is not None  # the migrated schema stays,
    assert set(rows.values()) == {0}  # with no ledger row
    assert not keys.exists()  # and the key files are gone again

    # An empty schema is no ledger: the intact backup restores into it.
    with closing(sqlite3.connect(out)) as conn:
        conn.execute("DELETE FROM vault WHERE asset IS NULL")
        conn.commit()
    r = cli("restore", "--from", out, "--db", pg_url, "--keys", keys)
    assert r.returncode == 0, r.stderr
    assert summary(r.stdout) == (size, root)


def test_an_error_after_the_first_table_rolls_everything_back(
    sqlite_backup: tuple[Cast, Path, int, str],
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, out, _, _ = sqlite_backup
    real = postgres_backup._copy_table
    copied: list[str] = []

    def fail_after_one(source: sqlite3.Connection, raw: Any, table: str, key: str) -> None:
        if copied:
            raise RuntimeError("injected failure")
        real(source, raw, table, key)
        copied.append(table)

    monkeypatch.setattr(postgres_backup, "_copy_table", fail_after_one)
    keys = tmp_path / "keys"
    result = CliRunner().invoke(
        main, ["restore", "--from", str(out), "--db", pg_url, "--keys", str(keys)]
    )
    assert isinstance(result.exception, RuntimeError), result.output
    assert copied == ["entries"]
    rows = ledger_rows(pg_url)
    assert rows is not None
    assert set(rows.values()) == {0}
    assert not keys.exists()


def test_key_files_already_in_the_key_directory_are_refused_before_anything(
    sqlite_backup: tuple[Cast, Path, int, str], pg_url: str, tmp_path: Path
) -> None:
    _, out, _, _ = sqlite_backup
    keys = tmp_path / "keys"
    keys.mkdir()
    existing = Location.of(pg_url, keys).secrets_path
    existing.write_bytes(b"another ledger's secrets")
    assert_refused(
        cli("restore", "--from", out, "--db", pg_url, "--keys", keys), str(existing), "exists"
    )
    assert existing.read_bytes() == b"another ledger's secrets"
    assert sorted(keys.iterdir()) == [existing]
    assert ledger_rows(pg_url) is None  # not even the schema was created
