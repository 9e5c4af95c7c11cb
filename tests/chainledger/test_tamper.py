"""Tampering with a closed ledger's SQLite file: `verify` must name the first bad seq.

The attacker has the database file (and may drop the append-only triggers); the
auditor has `chainledger.verify.verify_ledger` and ``chainledger verify``. For
each attack both must fail, naming the first bad seq (or None when the fault
is not tied to one entry) and saying what is wrong; the CLI exits 1 with one
line on stderr.

The ledger is built once per module with a deterministic batch layout (see
`GatedClock`) and copied for every test.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import attacker, chainledger_exe, read_stored, wal_checkpoint

from chainledger.clock import format_ts
from chainledger.crypto import generate_key, load_private_key, save_private_key
from chainledger.entry import encode_entry
from chainledger.errors import LedgerCorrupt
from chainledger.ledger import Ledger, key_path
from chainledger.merkle import consistency_ranges, range_node_keys
from chainledger.statement import make_statement, sign_statement
from chainledger.store.entry_codec import decode_stored
from chainledger.store.sqlite import SqliteStore, nonce_key
from chainledger.verify import VerifyReport, verify_ledger

#: Notes appended after genesis, in groups; each group commits as two batches (1, n - 1).
GROUPS = (7, 13, 9, 11)
SIZE = 1 + sum(GROUPS)


def expected_checkpoints() -> list[int]:
    sizes, n = [1], 1
    for group in GROUPS:
        sizes += [n + 1, n + group]
        n += group
    return sizes


CHECKPOINTS = expected_checkpoints()  # [1, 2, 8, 9, 21, 22, 30, 31, 41]


def note_text(seq: int) -> str:
    return f"tamper-note-{seq:03d} the quick brown fox"


# --- the CLI ---------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chainledger_exe(), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


# --- building the ledger ---------------------------------------------------------------------


class GatedClock:
    """The wall clock, except that it can hold the sequencer inside its next commit.

    The sequencer reads the clock inside its write transaction, after it has
    drained the queue into a batch. Holding it there while the rest of a group
    is submitted makes every group commit as exactly two batches: its first
    statement alone, then all the others together.
    """

    def __init__(self) -> None:
        self.owner = threading.current_thread()
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> datetime:
        if self.armed and threading.current_thread() is not self.owner:
            self.armed = False
            self.entered.set()
            if not self.release.wait(30):
                raise TimeoutError("the test never released the sequencer")
        return datetime.now(UTC)


def append_group(ledger: Ledger, clock: GatedClock, seqs: range) -> None:
    clock.entered.clear()
    clock.release.clear()
    clock.armed = True
    futures = [ledger.submit(ledger.platform_statement("note", text=note_text(seqs[0])))]
    assert clock.entered.wait(30), "the sequencer never committed"
    futures += [
        ledger.submit(ledger.platform_statement("note", text=note_text(seq))) for seq in seqs[1:]
    ]
    # Let the checker stage finish with every signature, so the writer finds them all
    # ready at once when it is released: one batch, one checkpoint.
    deadline = time.monotonic() + 30
    while ledger.sequencer.unchecked() and time.monotonic() < deadline:
        time.sleep(0.001)
    clock.release.set()
    receipts = [f.result(timeout=60) for f in futures]
    assert [r.seq for r in receipts] == list(seqs)


@dataclass(frozen=True)
class Pristine:
    dir: Path
    report: VerifyReport


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    d = tmp_path_factory.mktemp("pristine")
    db = d / "l.db"
    clock = GatedClock()
    ledger = Ledger.init(db, clock=clock)
    try:
        n = 1
        for group in GROUPS:
            append_group(ledger, clock, range(n, n + group))
            n += group
    finally:
        ledger.close()
    wal_checkpoint(db)
    store = SqliteStore(db)
    try:
        assert [cp.size for cp in store.checkpoints()] == CHECKPOINTS
        report = verify_ledger(store, key_file=key_path(db))
    finally:
        store.close()
    wal_checkpoint(db)
    return Pristine(d, report)


@pytest.fixture
def db(pristine: Pristine, tmp_path: Path) -> Path:
    """A fresh copy of the pristine ledger (database and key file)."""
    for f in pristine.dir.iterdir():
        shutil.copy2(f, tmp_path / f.name)
    return tmp_path / "l.db"


# --- the attacker and the auditor ------------------------------------------------------------


def read_entry(db: Path, seq: int) -> bytes:
    """The entry's canonical bytes. An attacker writing raw JSON back is still read."""
    return decode_stored(read_stored(db, seq))


def verify_copy(db: Path) -> VerifyReport:
    store = SqliteStore(db)
    try:
        return verify_ledger(store, key_file=key_path(db))
    finally:
        store.close()


#: An entry's content changed: its signature fails, and if the entry ends a batch, the
#: checkpoint signed right after it no longer matches the tree. Both are true of that seq.
CONTENT_CHANGED = ("signature does not verify", "is not the tree's root")


def content_changed(seq: int) -> str | tuple[str, ...]:
    """What verify may say about entry ``seq`` whose content changed."""
    ends_a_batch = seq + 1 in CHECKPOINTS
    return CONTENT_CHANGED if ends_a_batch else "signature does not verify"


def assert_corrupt(db: Path, seq: int | None, *what: str | tuple[str, ...]) -> LedgerCorrupt:
    """Both verify_ledger and `chainledger verify` fail at ``seq``, saying ``what``.

    Each ``what`` is a phrase the reason must contain, or a tuple of alternatives.
    """
    store = SqliteStore(db)
    try:
        with pytest.raises(LedgerCorrupt) as info:
            verify_ledger(store, key_file=key_path(db))
    finally:
        store.close()
    exc = info.value
    assert exc.seq == seq, f"expected seq {seq}, got {exc}"
    for words in what:
        alternatives = (words,) if isinstance(words, str) else words
        assert any(w in exc.what for w in alternatives), exc.what

    result = run_cli("verify", "--db", str(db))
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    if seq is not None:
        assert re.search(rf"\bseq {seq}\b", lines[0]), lines[0]
    else:
        assert not re.search(r"\bseq \d", lines[0]), lines[0]
    assert "corrupt" in lines[0]
    assert str(exc) in lines[0]
    return exc


def flip_char(data: bytes, at: int) -> bytes:
    """``data`` with the letter or digit at ``at`` changed to another letter.

    A letter for a letter or digit keeps base64 and JSON valid, so the change is caught by
    the signature, not by a parser.
    """
    old = data[at : at + 1]
    assert old.isalnum(), old
    new = b"B" if old != b"B" else b"C"
    return data[:at] + new + data[at + 1 :]


# --- the clean ledger and the triggers -------------------------------------------------------


def test_clean_ledger_verifies(db: Path, pristine: Pristine) -> None:
    report = verify_copy(db)
    assert report.entries == SIZE
    assert report.checkpoints == len(CHECKPOINTS)
    assert report == pristine.report
    store = SqliteStore(db)
    try:
        latest = store.latest_checkpoint()
    finally:
        store.close()
    assert latest is not None
    assert report.root == latest.root

    result = run_cli("verify", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == (
        f"ok: {SIZE} entries, {len(CHECKPOINTS)} checkpoints, root {latest.root.hex()}\n"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE entries SET data = data || x'20' WHERE seq = 5",
        "UPDATE entries SET nonce_key = 0 WHERE seq = 5",
        "DELETE FROM entries WHERE seq = 5",
        "DELETE FROM entries",
        "UPDATE nodes SET hash = zeroblob(32) WHERE id = 5",
        "DELETE FROM nodes WHERE id = 5",
        "UPDATE checkpoints SET root = zeroblob(32) WHERE size = 8",
        "UPDATE checkpoints SET note = note || 'x' WHERE size = 8",
        "DELETE FROM checkpoints WHERE size = 8",
    ],
)
def test_triggers_refuse_update_and_delete(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    try:
        # RAISE(ABORT, ...) in a trigger is SQLITE_CONSTRAINT_TRIGGER: an IntegrityError.
        with pytest.raises(sqlite3.IntegrityError, match="append-only") as info:
            conn.execute(sql)
        assert info.value.sqlite_errorname == "SQLITE_CONSTRAINT_TRIGGER"
        conn.rollback()
    finally:
        conn.close()
    assert verify_copy(db).entries == SIZE  # nothing changed


# --- entries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seq", [1, 15, SIZE - 1])
def test_entry_text_changed_by_sql(db: Path, seq: int) -> None:
    data = read_entry(db, seq)
    at = data.index(note_text(seq).encode()) + len("tamper-")
    with attacker(db, "entries_no_update") as conn:
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (flip_char(data, at), seq))
    # The entry still decodes, but its signature no longer covers it; the next entry's prev
    # no longer matches it either, but that is a later seq.
    assert_corrupt(db, seq, content_changed(seq))


def test_genesis_nonce_changed_by_sql(db: Path) -> None:
    data = read_entry(db, 0)
    start = data.index(b'"nonce":"') + len('"nonce":"')
    # the first letter or digit of the random nonce ('+' and '/' are base64 too)
    at = next(i for i in range(start, start + 22) if data[i : i + 1].isalnum())
    with attacker(db, "entries_no_update") as conn:
        conn.execute("UPDATE entries SET data = ? WHERE seq = 0", (flip_char(data, at),))
    assert_corrupt(db, 0, content_changed(0))


def flip_in_file(db: Path, needle: bytes, offset: int, new: bytes) -> int:
    """Overwrite the byte at ``offset`` in every occurrence of ``needle`` in the file.

    An occurrence may also sit in free space of a page (SQLite does not zero what
    it moves); changing that too is harmless. Returns how many were changed.
    """
    raw = bytearray(db.read_bytes())
    count, at = 0, raw.find(needle)
    while at >= 0:
        raw[at + offset : at + offset + 1] = new
        count += 1
        at = raw.find(needle, at + 1)
    assert count >= 1, f"{needle!r} not found in {db}"
    db.write_bytes(bytes(raw))
    return count


@pytest.mark.parametrize("seq", [0, 1, 15, SIZE - 1])
@pytest.mark.parametrize("where", [0.3, 0.6, 0.9])
def test_entry_byte_flipped_in_file(db: Path, seq: int, where: float) -> None:
    """One byte of the row, as stored in the file, changed: verify names that seq."""
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # every committed byte is in the file
    stored = read_stored(db, seq)
    at = max(1, int(len(stored) * where))  # after the codec's version byte
    new = bytes([stored[at] ^ 0x01])
    flip_in_file(db, stored, at, new)
    assert read_stored(db, seq) != stored  # the flip reached the live row
    # A flipped deflate stream either fails to inflate (the row then does not parse) or
    # inflates to other bytes (the signature, the chain or the tree then breaks).
    assert_corrupt(db, seq)


def test_entry_rewritten_as_plain_json_in_file(db: Path) -> None:
    """An attacker may also store an entry uncompressed: the codec reads it, verify checks it."""
    seq = 15
    data = read_entry(db, seq)
    forged = data.replace(note_text(seq).encode(), note_text(seq).encode().upper())
    with attacker(db, "entries_no_update") as conn:
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (forged, seq))
    assert read_entry(db, seq) == forged
    assert_corrupt(db, seq, content_changed(seq))


def test_entry_deleted_in_the_middle(db: Path) -> None:
    with attacker(db, "entries_no_delete") as conn:
        conn.execute("DELETE FROM entries WHERE seq = 20")
    assert_corrupt(db, 20, "missing")


@pytest.mark.parametrize(("a", "b"), [(12, 25), (20, 21), (1, SIZE - 1)])
def test_entries_reordered(db: Path, a: int, b: int) -> None:
    data_a, data_b = read_entry(db, a), read_entry(db, b)
    with attacker(db, "entries_no_update") as conn:
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (data_b, a))
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (data_a, b))
    assert_corrupt(db, a, f"entry says seq {b}")


@pytest.mark.parametrize("k", [SIZE - 1, SIZE - 5, 25])
def test_truncated_below_a_signed_checkpoint(db: Path, k: int) -> None:
    with attacker(db, "entries_no_delete") as conn:
        conn.execute("DELETE FROM entries WHERE seq >= ?", (k,))
    # The checkpoints up to SIZE are still there, signed: the entries they cover are not.
    assert_corrupt(db, k, "missing")


def forged_entry(db: Path, seq: int) -> tuple[bytes, str, str]:
    """A well-formed, platform-signed note at ``seq``, chained to entry seq - 1."""
    key = load_private_key(key_path(db))
    with Ledger.open(db, writable=False) as ledger:
        prev = ledger.suite.leaf(ledger.entry(SIZE - 1)).hex()
        actor = ledger.platform_id
    now = datetime.now(UTC)
    stmt = sign_statement(make_statement("note", actor, now, os.urandom, text="forged"), key)
    return encode_entry(seq, format_ts(now), prev, stmt), actor, stmt.nonce


def test_extra_entry_past_the_last_checkpoint(db: Path) -> None:
    data, actor, nonce = forged_entry(db, SIZE)
    with attacker(db) as conn:  # INSERT is not refused by any trigger
        conn.execute(
            "INSERT INTO entries (seq, data, nonce_key) VALUES (?, ?, ?)",
            (SIZE, data, nonce_key(actor, nonce)),
        )
    assert_corrupt(db, SIZE, "not covered by any signed checkpoint")


def test_extra_entry_with_a_gap_past_the_last_checkpoint(db: Path) -> None:
    seq = SIZE + 3
    data, actor, nonce = forged_entry(db, seq)
    with attacker(db) as conn:
        conn.execute(
            "INSERT INTO entries (seq, data, nonce_key) VALUES (?, ?, ?)",
            (seq, data, nonce_key(actor, nonce)),
        )
    assert_corrupt(db, seq, "not covered by any signed checkpoint")


# --- Merkle nodes ----------------------------------------------------------------------------


def node_keys(db: Path) -> tuple[list[tuple[int, int]], set[tuple[int, int]]]:
    """All stored node keys, and those a consistency proof between consecutive checkpoints reads."""
    conn = sqlite3.connect(db)
    try:
        ids = [nid for (nid,) in conn.execute("SELECT id FROM nodes ORDER BY id")]
    finally:
        conn.close()
    keys = [(nid >> 48, nid & ((1 << 48) - 1)) for nid in ids]
    used: set[tuple[int, int]] = set()
    for first, second in itertools.pairwise(CHECKPOINTS):
        used |= range_node_keys(consistency_ranges(first, second))
    return keys, used


def completed_by(key: tuple[int, int]) -> int:
    """The seq of the entry whose append completed the node (level, index)."""
    level, index = key
    return ((index + 1) << level) - 1


def first_read_at(key: tuple[int, int]) -> int:
    """The last seq of the first checkpoint whose consistency check reads the node."""
    for first, second in itertools.pairwise(CHECKPOINTS):
        if key in range_node_keys(consistency_ranges(first, second)):
            return second - 1
    raise AssertionError(f"no consistency proof reads node {key}")


def alter_node(db: Path, key: tuple[int, int]) -> None:
    level, index = key
    with attacker(db, "nodes_no_update") as conn:
        cur = conn.execute(
            "UPDATE nodes SET hash = zeroblob(32) WHERE id = ?", ((level << 48) | index,)
        )
        assert cur.rowcount == 1


def test_node_keys_cover_the_tree(db: Path) -> None:
    keys, used = node_keys(db)
    # every complete subtree of the 41 leaves is stored: 41 + 20 + 10 + 5 + 2 + 1
    assert len(keys) == sum(SIZE >> level for level in range(SIZE.bit_length()))
    assert used <= set(keys)


@pytest.mark.parametrize("pick", ["leaf", "interior"])
def test_merkle_node_altered_outside_any_consistency_proof(db: Path, pick: str) -> None:
    keys, used = node_keys(db)
    candidates = [k for k in keys if k not in used and (k[0] == 0) == (pick == "leaf")]
    assert candidates
    key = candidates[len(candidates) // 2]
    alter_node(db, key)
    assert_corrupt(db, completed_by(key), f"Merkle node ({key[0]}, {key[1]})", "wrong")


def test_merkle_node_altered_inside_a_consistency_proof(db: Path) -> None:
    _, used = node_keys(db)
    # A node that the first consistency proof reading it checks only at a later seq than the
    # one that completed it (e.g. a subtree of [0, 8) read by the proof from 9 to 21).
    candidates = [k for k in used if first_read_at(k) > completed_by(k)]
    assert candidates
    key = max(candidates, key=lambda k: (first_read_at(k) - completed_by(k), k))
    alter_node(db, key)
    assert_corrupt(db, completed_by(key), f"Merkle node ({key[0]}, {key[1]})")


def test_merkle_node_altered_is_caught_somewhere(db: Path) -> None:
    """Whatever seq is named, a node inside a consistency proof does not go unnoticed."""
    _, used = node_keys(db)
    key = sorted(used, key=completed_by)[len(used) // 2]
    alter_node(db, key)
    store = SqliteStore(db)
    try:
        with pytest.raises(LedgerCorrupt) as info:
            verify_ledger(store, key_file=key_path(db))
    finally:
        store.close()
    assert info.value.seq is not None
    assert info.value.seq >= completed_by(key)
    assert run_cli("verify", "--db", str(db)).returncode == 1


# --- checkpoints -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [CHECKPOINTS[4], SIZE])
def test_checkpoint_root_altered(db: Path, size: int) -> None:
    with attacker(db, "checkpoints_no_update") as conn:
        conn.execute("UPDATE checkpoints SET root = zeroblob(32) WHERE size = ?", (size,))
    assert_corrupt(db, size - 1, f"stored root of checkpoint {size}")


def alter_signature(note: str) -> str:
    """Change one base64 character inside the signature (past the 4-byte key ID)."""
    line = note.rstrip("\n").rsplit("\n", 1)[1]
    assert line.startswith("\u2014 ")
    b64 = line.rsplit(" ", 1)[1]
    i = 20
    new = "A" if b64[i] != "A" else "B"
    return note.replace(b64, b64[:i] + new + b64[i + 1 :])


@pytest.mark.parametrize("size", [1, CHECKPOINTS[4], SIZE])
def test_checkpoint_signature_altered(db: Path, size: int) -> None:
    conn = sqlite3.connect(db)
    try:
        (note,) = conn.execute("SELECT note FROM checkpoints WHERE size = ?", (size,)).fetchone()
    finally:
        conn.close()
    with attacker(db, "checkpoints_no_update") as conn:
        conn.execute(
            "UPDATE checkpoints SET note = ? WHERE size = ?", (alter_signature(note), size)
        )
    assert_corrupt(db, size - 1, f"checkpoint {size} does not verify")


@pytest.mark.parametrize("size", [CHECKPOINTS[1], CHECKPOINTS[4]])
def test_checkpoint_deleted_in_the_middle_still_verifies(db: Path, size: int) -> None:
    # Expected to pass. A checkpoint is a signed statement about the tree, not a link in a
    # chain: the remaining ones are each still signed and equal to the tree's root at their
    # size, consecutive ones are still consistent (the stored nodes prove it), and every
    # entry is still covered by the last one. Nothing in the database records that a
    # checkpoint of this size ever existed, so verify cannot miss it; clients that hold it
    # (in a receipt) can still check it against the same tree.
    with attacker(db, "checkpoints_no_delete") as conn:
        conn.execute("DELETE FROM checkpoints WHERE size = ?", (size,))
    report = verify_copy(db)
    assert report.entries == SIZE
    assert report.checkpoints == len(CHECKPOINTS) - 1
    result = run_cli("verify", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {SIZE} entries, {len(CHECKPOINTS) - 1} checkpoints")


def test_last_checkpoint_deleted(db: Path) -> None:
    # The tip moves back to the previous checkpoint: the entries after it are unsigned.
    with attacker(db, "checkpoints_no_delete") as conn:
        conn.execute("DELETE FROM checkpoints WHERE size = ?", (SIZE,))
    assert_corrupt(db, CHECKPOINTS[-2], "not covered by any signed checkpoint")


# --- the key file and the projections ----------------------------------------------------------


def test_key_file_replaced(db: Path) -> None:
    kp = key_path(db)
    kp.unlink()
    save_private_key(generate_key(os.urandom), kp)
    assert_corrupt(db, None, "key file")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE parties SET status = 'suspended'",
        "UPDATE parties SET name = 'someone else'",
        "DELETE FROM parties",
        "INSERT INTO parties SELECT 'p_aaaaaaaaaaaaaaaa', role, 'mallory', public_key, status, 7, "
        "attrs "
        "FROM parties",
    ],
)
def test_parties_projection_altered(db: Path, sql: str) -> None:
    with attacker(db) as conn:
        assert conn.execute(sql).rowcount == 1
    assert_corrupt(db, None, "projection 'parties'")
