"""Where a ledger lives: SQLite paths, PostgreSQL URLs, key directories, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from chainledger.cli import main
from chainledger.errors import MalformedInput
from chainledger.location import KEYS_ENV, Location, key_path, secrets_path

URL = "postgresql://ledger:s3cr3t-pw@db.example:5433/city"


def test_a_path_is_a_sqlite_ledger_with_its_files_beside_it(tmp_path: Path) -> None:
    where = Location.of(tmp_path / "l.db")
    assert not where.is_postgres
    assert where.path == tmp_path / "l.db"
    assert where.key_path == tmp_path / "l.db.key" == key_path(tmp_path / "l.db")
    assert where.secrets_path == tmp_path / "l.db.secrets" == secrets_path(tmp_path / "l.db")
    assert where.companion("demo") == tmp_path / "l.db.demo"
    assert str(where) == str(tmp_path / "l.db")
    assert not where.exists()
    assert Location.of(where) is where


def test_a_url_is_postgresql_with_its_files_in_the_key_directory(tmp_path: Path) -> None:
    where = Location.of(URL, tmp_path / "keys")
    assert where.is_postgres
    assert where.url == URL
    assert where.path is None
    assert where.key_path == tmp_path / "keys" / "ledger.key"
    assert where.secrets_path == tmp_path / "keys" / "ledger.secrets"
    assert where.companions == [where.key_path, where.secrets_path]
    assert Location.of("postgres://u@h/db", tmp_path).is_postgres


def test_the_key_directory_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEYS_ENV, str(tmp_path / "k"))
    assert Location.of(URL).keys == tmp_path / "k"
    assert Location.of(URL, tmp_path / "given").keys == tmp_path / "given"  # the option wins


def test_a_password_is_never_shown(tmp_path: Path) -> None:
    where = Location.of(URL, tmp_path)
    assert "s3cr3t" not in str(where)
    assert str(where) == "postgresql://ledger:***@db.example:5433/city"
    assert str(Location.of("postgresql://u@h/db", tmp_path)) == "postgresql://u@h/db"


@pytest.mark.parametrize(
    ("db", "keys", "message"),
    [
        (URL, None, "needs its key directory"),
        ("postgresql://u:s3cr3t-pw@h:99999/db", Path("k"), "not a valid postgresql:// URL"),
        ("postgresql://u:s3cr3t-pw@h:5432/", Path("k"), "no database name"),
        ("mysql://u:s3cr3t-pw@h/db", Path("k"), "unknown database scheme 'mysql'"),
        ("ledger.db", Path("k"), "--keys is for PostgreSQL ledgers only"),
    ],
)
def test_bad_locations_are_refused_without_the_password(
    db: str, keys: Path | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEYS_ENV, raising=False)
    with pytest.raises(MalformedInput) as caught:
        Location.of(db, keys)
    assert message in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("command", [["verify"], ["stats"], ["init"], ["checkpoint"]])
def test_the_cli_refuses_a_url_without_keys_in_one_line(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEYS_ENV, raising=False)
    result = CliRunner().invoke(main, [*command, "--db", URL])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "needs its key directory" in lines[0]
    assert "s3cr3t" not in result.output


@pytest.mark.parametrize("command", [["verify"], ["init"], ["tiles", "--out", "t"]])
def test_an_unreachable_database_is_one_line_without_the_password(
    command: list[str], tmp_path: Path
) -> None:
    url = "postgresql://ledger:s3cr3t-pw@127.0.0.1:1/city"  # nothing listens on port 1
    head, rest = command[:1], command[1:]
    result = CliRunner().invoke(main, [*head, "--db", url, "--keys", str(tmp_path), *rest])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "cannot connect" in lines[0]
    assert "s3cr3t" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a key


def test_the_environment_key_directory_does_not_refuse_a_sqlite_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEYS_ENV, str(tmp_path / "keys"))
    db = tmp_path / "l.db"
    assert CliRunner().invoke(main, ["init", "--db", str(db)]).exit_code == 0
    result = CliRunner().invoke(main, ["verify", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "keys").exists()
