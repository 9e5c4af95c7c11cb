"""Every ``chainledger`` command end to end, through the installed console script.

Outputs are checked with the library's own verifiers (receipts, checkpoints,
proofs), never by comparing against what the CLI computed. Refusals exit 2
with exactly one non-empty line on stderr and no traceback.
"""

from __future__ import annotations

import stat
import subprocess
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
import pytest
from support import assert_refused, chainledger_exe

from chainledger import merkle
from chainledger.checkpoint import Checkpoint, verify_checkpoint
from chainledger.crypto import SUITES, load_private_key, public_key_bytes
from chainledger.entry import decode_entry
from chainledger.errors import VerificationError
from chainledger.ledger import DEFAULT_ORIGIN, key_path
from chainledger.note import parse_verifier_key
from chainledger.proofs import ConsistencyProof, InclusionProof
from chainledger.receipt import Receipt
from chainledger.store.sqlite import SqliteStore

#: Note texts of the shared ledger: non-ASCII, escapes and newlines must survive byte-exact.
TEXTS = [
    "first note",
    "héllo wörld – ünïcode ✓",
    "two\nlines",
    'quotes " and \\ backslash',
    "tab\tseparated",
    "last note",
]
SIZE = 1 + len(TEXTS)


# --- running the CLI -------------------------------------------------------------------------


def run(*args: str | int | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chainledger_exe(), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def run_bytes(*args: str | int | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [chainledger_exe(), *map(str, args)], capture_output=True, timeout=120, check=False
    )


def ok(*args: str | int | Path) -> str:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def files_under(path: Path) -> list[Path]:
    return sorted(path.rglob("*"))


# --- a shared ledger, built through the CLI --------------------------------------------------

#: Sizes at which the shared ledger's `checkpoint` output is captured.
CAPTURED = (1, 4, SIZE)


@dataclass(frozen=True)
class Built:
    db: Path
    vkey: str
    receipts: list[str]  # stdout of `note`, one per text, for seq 1, 2, ...
    captured: dict[int, str]  # size -> `checkpoint` output when the ledger had that size

    def checkpoint_text(self, size: int) -> str:
        if size in self.captured:
            return self.captured[size]
        return Receipt.from_json(self.receipts[size - 2]).checkpoint  # signed at seq size - 1

    def checkpoint(self, size: int) -> Checkpoint:
        return verify_checkpoint(self.checkpoint_text(size), self.vkey, origin=DEFAULT_ORIGIN)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    db = tmp_path_factory.mktemp("cli") / "l.db"
    out = ok("init", "--db", db).splitlines()
    assert len(out) == 2
    captured = {1: ok("checkpoint", "--db", db)}
    receipts = []
    for seq, text in enumerate(TEXTS, start=1):
        receipts.append(ok("note", "--db", db, text))
        if seq + 1 in CAPTURED:
            captured[seq + 1] = ok("checkpoint", "--db", db)
    return Built(db, out[1], receipts, captured)


@pytest.fixture(scope="module")
def other_vkey(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The verifier key of another ledger with the same origin."""
    return ok("init", "--db", tmp_path_factory.mktemp("other") / "l.db").splitlines()[1]


def stored_entries(db: Path) -> list[bytes]:
    store = SqliteStore(db)
    try:
        return [data for _, data in store.entries(0, 1 << 62)]
    finally:
        store.close()


# --- init ------------------------------------------------------------------------------------


def test_init_creates_database_and_private_key_file(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "l.db"
    out = ok("init", "--db", db).splitlines()
    assert db.is_file()
    kp = key_path(db)
    assert kp == tmp_path / "sub" / "l.db.key"
    assert stat.S_IMODE(kp.stat().st_mode) == 0o600
    assert out[0] == (
        f"initialized {db} ({DEFAULT_ORIGIN}, sha256); platform key in {kp}, "
        f"vault and binding keys in {db}.secrets"
    )
    verifier = parse_verifier_key(out[1])
    assert verifier.name == DEFAULT_ORIGIN
    assert verifier.public_key == public_key_bytes(load_private_key(kp))
    assert ok("verify", "--db", db).startswith("ok: 1 entries, 1 checkpoints, root ")


def test_init_with_an_origin(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    origin = "city.example/ledger-2026"
    vkey = ok("init", "--db", db, "--origin", origin).splitlines()[1]
    assert parse_verifier_key(vkey).name == origin
    cp = verify_checkpoint(ok("checkpoint", "--db", db), vkey, origin=origin)
    assert cp.size == 1


def test_init_sm3_suite(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    sm3 = SUITES["sm3"]
    out = ok("init", "--db", db, "--suite", "sm3").splitlines()
    assert "sm3" in out[0]
    verifier = parse_verifier_key(out[1])
    receipt = Receipt.from_json(ok("note", "--db", db, "hashed with SM3"))
    _, cp = receipt.verify([verifier], suite=sm3)
    with pytest.raises(VerificationError):  # the leaf hash really is SM3, not SHA-256
        receipt.verify([verifier], suite=SUITES["sha256"])
    lines = run_bytes("export", "--db", db).stdout.splitlines()
    assert cp.root == merkle.root([sm3.leaf(line) for line in lines], suite=sm3)
    assert ok("verify", "--db", db) == f"ok: 2 entries, 2 checkpoints, root {cp.root.hex()}\n"


def test_second_init_refuses_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    ok("init", "--db", db)
    files = {f: f.read_bytes() for f in files_under(tmp_path)}
    line = assert_refused(run("init", "--db", db), "already")
    assert str(db) in line
    assert {f: f.read_bytes() for f in files_under(tmp_path)} == files


@pytest.mark.parametrize("origin", ["has space", "a+b", ""])
def test_init_refuses_a_bad_origin_and_creates_nothing(tmp_path: Path, origin: str) -> None:
    assert_refused(run("init", "--db", tmp_path / "l.db", "--origin", origin), "key name")
    assert files_under(tmp_path) == []


def test_init_refuses_a_bad_origin_and_creates_no_directory(tmp_path: Path) -> None:
    assert_refused(run("init", "--db", tmp_path / "new" / "l.db", "--origin", "a b"))
    assert files_under(tmp_path) == []


def test_init_refuses_a_control_character_origin_and_creates_nothing(tmp_path: Path) -> None:
    assert_refused(run("init", "--db", tmp_path / "l.db", "--origin", "bad\x01origin"))
    assert files_under(tmp_path) == []


def test_init_refuses_an_unknown_suite(tmp_path: Path) -> None:
    result = run("init", "--db", tmp_path / "l.db", "--suite", "md5")
    assert result.returncode == 2  # click's usage error: several lines, but nothing written
    assert "md5" in result.stderr
    assert files_under(tmp_path) == []


# --- note ------------------------------------------------------------------------------------


def test_note_prints_a_receipt_that_verifies(built: Built) -> None:
    verifier = parse_verifier_key(built.vkey)
    for seq, (text, out) in enumerate(zip(TEXTS, built.receipts, strict=True), start=1):
        assert out.endswith("\n")
        assert out.count("\n") == 1  # one JSON line
        receipt = Receipt.from_json(out)
        entry, cp = receipt.verify([verifier], origin=DEFAULT_ORIGIN)
        assert receipt.seq == entry.seq == seq
        assert entry.kind == "note"
        assert entry.statement.stmt["text"] == text
        assert cp.size == seq + 1
        if seq + 1 in built.captured:
            assert receipt.checkpoint == built.captured[seq + 1]


def test_another_ledgers_key_verifies_neither_receipts_nor_checkpoints(
    built: Built, other_vkey: str
) -> None:
    other = parse_verifier_key(other_vkey)
    assert other.name == parse_verifier_key(built.vkey).name
    with pytest.raises(VerificationError):
        Receipt.from_json(built.receipts[0]).verify([other])
    with pytest.raises(VerificationError):
        verify_checkpoint(built.captured[SIZE], other_vkey)


def test_note_refusals_change_nothing(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    ok("init", "--db", db)
    assert_refused(run("note", "--db", db, ""), "text")
    assert_refused(run("note", "--db", db, "x" * 4097), "text")
    key_path(db).unlink()  # a read-only copy of the database cannot sign
    assert_refused(run("note", "--db", db, "hello"), "key file")
    assert ok("verify", "--db", db).startswith("ok: 1 entries, 1 checkpoints, ")


# --- checkpoint and vkey ---------------------------------------------------------------------


def test_checkpoint_verifies_with_the_vkey(built: Built) -> None:
    for size, text in built.captured.items():
        assert verify_checkpoint(text, built.vkey, origin=DEFAULT_ORIGIN).size == size
    assert ok("checkpoint", "--db", built.db) == built.captured[SIZE]  # the latest
    leaves = [merkle.leaf_hash(data) for data in stored_entries(built.db)]
    assert len(leaves) == SIZE
    assert built.checkpoint(SIZE).root == merkle.root(leaves)


def test_vkey(built: Built) -> None:
    out = ok("vkey", "--db", built.db)
    assert out == built.vkey + "\n"
    verifier = parse_verifier_key(out.strip())
    assert verifier.name == DEFAULT_ORIGIN
    assert verifier.public_key == public_key_bytes(load_private_key(key_path(built.db)))


# --- export ----------------------------------------------------------------------------------


def export_lines(built: Built, *args: str | int) -> list[bytes]:
    result = run_bytes("export", "--db", built.db, *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    if not result.stdout:
        return []
    assert result.stdout.endswith(b"\n")
    return result.stdout[:-1].split(b"\n")


def test_export_lines_are_exactly_the_entry_bytes(built: Built) -> None:
    lines = export_lines(built)
    assert lines == stored_entries(built.db)
    assert len(lines) == SIZE
    assert [decode_entry(line).seq for line in lines] == list(range(SIZE))
    assert "héllo wörld".encode() in lines[2]  # raw UTF-8, as RFC 8785 writes it
    assert b"two\\nlines" in lines[3]
    for size in range(1, SIZE + 1):
        leaves = [merkle.leaf_hash(line) for line in lines[:size]]
        assert merkle.root(leaves) == built.checkpoint(size).root


@pytest.mark.parametrize(("start", "end"), [(None, 3), (2, 5), (3, 3), (0, SIZE), (SIZE - 1, None)])
def test_export_slices(built: Built, start: int | None, end: int | None) -> None:
    args: list[str | int] = []
    if start is not None:
        args += ["--from", start]
    if end is not None:
        args += ["--to", end]
    assert export_lines(built, *args) == stored_entries(built.db)[start:end]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--to", SIZE + 1], [f"--to {SIZE + 1}", "past the end"]),
        (["--from", 0, "--to", 1000], ["--to 1000", "past the end"]),
        (["--from", 4, "--to", 2], ["--from 4", "--to 2"]),
    ],
)
def test_export_refuses(built: Built, args: list[str | int], words: list[str]) -> None:
    assert_refused(run("export", "--db", built.db, *args), *words)


# --- proofs ----------------------------------------------------------------------------------


def inclusion(built: Built, *args: str | int) -> InclusionProof:
    out = ok("proof", "inclusion", "--db", built.db, *args)
    assert out.count("\n") == 1
    return InclusionProof.from_json(out)


@pytest.mark.parametrize("index", [0, 1, 4, SIZE - 1])
def test_proof_inclusion_in_the_latest_tree(built: Built, index: int) -> None:
    entries = stored_entries(built.db)
    root = built.checkpoint(SIZE).root
    proof = inclusion(built, "--index", index)
    assert proof.leaf_index == index
    assert proof.tree_size == SIZE  # the default size is the latest checkpoint's
    proof.verify(merkle.leaf_hash(entries[index]), root)
    with pytest.raises(VerificationError):  # and it proves nothing about another entry
        proof.verify(merkle.leaf_hash(entries[(index + 1) % SIZE]), root)


@pytest.mark.parametrize(("index", "size"), [(0, 1), (3, 4), (2, 6)])
def test_proof_inclusion_in_an_earlier_tree(built: Built, index: int, size: int) -> None:
    data = stored_entries(built.db)[index]
    proof = inclusion(built, "--index", index, "--size", size)
    assert (proof.leaf_index, proof.tree_size) == (index, size)
    proof.verify(merkle.leaf_hash(data), built.checkpoint(size).root)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--index", SIZE], [f"leaf index {SIZE}", f"size {SIZE}"]),
        (["--index", 3, "--size", 3], ["leaf index 3", "size 3"]),
        (["--index", 0, "--size", SIZE + 1], [f"{SIZE + 1}"]),
        (["--index", -1], ["-1"]),
    ],
)
def test_proof_inclusion_refuses(built: Built, args: list[str | int], words: list[str]) -> None:
    assert_refused(run("proof", "inclusion", "--db", built.db, *args), *words)


@pytest.mark.parametrize(("first", "second"), [(1, 4), (4, SIZE), (1, SIZE), (2, 5)])
def test_proof_consistency_between_checkpoints(built: Built, first: int, second: int) -> None:
    out = ok("proof", "consistency", "--db", built.db, "--first", first, "--second", second)
    proof = ConsistencyProof.from_json(out)
    assert (proof.first, proof.second) == (first, second)
    old, new = built.checkpoint(first).root, built.checkpoint(second).root
    proof.verify(old, new)
    with pytest.raises(VerificationError):  # the proof binds both roots
        proof.verify(built.checkpoint(first + 1).root, new)


@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        (5, 3, ["first size 5", "second size 3"]),
        (0, 3, ["size 0"]),
        (2, SIZE + 1, [f"{SIZE + 1}"]),
    ],
)
def test_proof_consistency_refuses(built: Built, first: int, second: int, words: list[str]) -> None:
    result = run("proof", "consistency", "--db", built.db, "--first", first, "--second", second)
    assert_refused(result, *words)


# --- verify ----------------------------------------------------------------------------------


def test_verify(built: Built) -> None:
    root = built.checkpoint(SIZE).root
    assert ok("verify", "--db", built.db) == (
        f"ok: {SIZE} entries, {SIZE} checkpoints, root {root.hex()}\n"
    )


# --- no database -----------------------------------------------------------------------------

COMMANDS: list[list[Any]] = [
    ["note", "hello"],
    ["checkpoint"],
    ["vkey"],
    ["export"],
    ["proof", "inclusion", "--index", 0],
    ["proof", "consistency", "--first", 1, "--second", 1],
    ["verify"],
    ["demo"],
    ["stats"],
    ["audit", "trace", "--key", "auditor.key"],
    ["audit", "anomalies", "--key", "auditor.key"],
    ["audit", "report", "--key", "auditor.key"],
    ["serve"],
    ["register", "--request", "request.json"],
    ["backup", "--out", "backup.db"],
    ["tiles", "--out", "tiles"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(map(str, c[:2])))
def test_unknown_database_path(tmp_path: Path, command: list[Any]) -> None:
    db = tmp_path / "missing" / "l.db"
    # --db goes right after the (sub)command name, before its own arguments
    head = 2 if command[0] in ("proof", "audit") else 1
    args = [*command[:head], "--db", db, *command[head:]]
    line = assert_refused(run(*args), "no ledger database", str(db))
    assert "chainledger init" in line
    assert files_under(tmp_path) == []


def db_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out |= db_commands(command, (*prefix, name))
        elif any(p.name == "db" for p in command.params):
            out.add((*prefix, name))
    return out


def test_every_db_command_is_covered() -> None:
    """COMMANDS names every command that takes --db, except init and restore (which create
    the path)."""
    covered = {tuple(c[: 2 if c[0] in ("proof", "audit") else 1]) for c in COMMANDS}
    from api import cli as console  # the console script: chainledger.cli plus `serve`

    assert db_commands(console.main) - {("init",), ("restore",)} == covered


def test_help_and_version() -> None:
    assert "verify" in ok("--help")
    assert ok("--version") == f"chainledger, version {version('chainledger')}\n"
