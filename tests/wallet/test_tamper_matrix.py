"""The tamper and rollback matrix: each edit of a ledger's files against each detector.

The detectors are ``chainledger verify`` (the file and its key, nothing remembered),
``wallet monitor --once`` and ``wallet witness --once`` (an auditor's wallet that saw the
ledger at size ``SEEN`` before the edit: its pinned log key, the checkpoint it last
verified, the monitor's right edge of the tree and the witness's last cosigned checkpoint),
the two wallets against a server restarted on the edited files.

The ledger is built once per module: the small cast's catalog and parties, an ID card and a
grant, then platform notes; the wallet sees it at ``SEEN`` entries; then more notes up to
``SIZE``. Every edit is made on a copy (the attacker has the files and may drop the
append-only triggers). Entry edits hit entries in ``[SEEN, SIZE)``, which the monitor has
not verified yet; the rollback goes back to ``CUT`` < ``SEEN``. Entries from ``CUT`` on are
notes, which change no projection, so the shorter log is consistent in every table.

Each detector's outcome is its exit status and its one line; a failing case prints the
whole matrix observed so far (edit x detector -> what was said).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from api_support import free_port, serve
from domain_support import make_cast
from support import chainledger_exe
from wallet_support import imported, run

from chainledger.crypto import generate_key, save_private_key
from chainledger.ledger import Ledger, key_path


def _load_tamper() -> ModuleType:
    """tests/chainledger/test_tamper.py, whose edit helpers this matrix reuses."""
    path = Path(__file__).parent.parent / "chainledger" / "test_tamper.py"
    spec = importlib.util.spec_from_file_location("_tamper_helpers", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_tamper = _load_tamper()
attacker: Callable[..., Any] = _tamper.attacker
flip_char: Callable[[bytes, int], bytes] = _tamper.flip_char
flip_in_file: Callable[[Path, bytes, int, bytes], int] = _tamper.flip_in_file
read_entry: Callable[[Path, int], bytes] = _tamper.read_entry
read_stored: Callable[[Path, int], bytes] = _tamper.read_stored
wal_checkpoint: Callable[[Path], None] = _tamper.wal_checkpoint

NOTES_BEFORE = 4  # notes the wallet saw
NOTES_AFTER = 6  # notes appended after it looked


def note_text(i: int) -> str:
    return f"matrix-note-{i:03d} the quick brown fox"


@dataclass(frozen=True)
class World:
    dir: Path  # the ledger's files: l.db, l.db.key, l.db.secrets, l.db.nonces
    home: Path  # the auditor's wallet home that saw the ledger at SEEN
    cut: int  # the rollback's size (< seen); entries from here on are notes
    seen: int
    size: int
    root: str  # hex root of the checkpoint of ``size``


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    tmp = tmp_path_factory.mktemp("matrix")
    d = tmp / "ledger"
    d.mkdir()
    db = d / "l.db"
    cast = make_cast(db)
    cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    cast.grant(cast.citizen, cast.bus, "bus_ticket", {"resident_id_card": ["name"]})
    ledger = cast.domain.ledger
    cut = ledger.size() + NOTES_BEFORE // 2
    # One statement at a time: one checkpoint per entry, so every size has one.
    for i in range(NOTES_BEFORE):
        ledger.append(ledger.platform_statement("note", text=note_text(i)))
    seen = ledger.size()
    cast.domain.close()
    with serve(db) as server:
        home = imported(tmp, server.url, "auditor", cast.auditor.key, "auditor")
        for command in ("monitor", "witness"):
            r = run(home, server.url, command, "--once")
            assert r.returncode == 0, r.stderr
            assert f" {seen} " in r.stdout, r.stdout
    with Ledger.open(db) as ledger:
        for i in range(NOTES_BEFORE, NOTES_BEFORE + NOTES_AFTER):
            ledger.append(ledger.platform_statement("note", text=note_text(i)))
        size, root = ledger.size(), ledger.root().hex()
    wal_checkpoint(db)
    for f in d.glob("l.db-*"):  # the WAL is folded in: the file alone holds the ledger
        f.unlink()
    return World(d, home, cut, seen, size, root)


# --- the edits -----------------------------------------------------------------------------


def flip_text(db: Path, w: World, seq: int | None = None) -> int:
    """One letter of a note's text changed (the row rewritten): its signature breaks."""
    seq = w.seen + 2 if seq is None else seq
    data = read_entry(db, seq)
    at = data.index(b"matrix-note-") + len("matrix-")
    with attacker(db, "entries_no_update") as conn:
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (flip_char(data, at), seq))
    return seq


def garble_field(db: Path, w: World) -> int:
    """A digit of the statement's own ``ts`` changed to a letter: the entry is still
    canonical JSON, but its statement no longer parses (a schema error, not a bad
    signature)."""
    seq = w.seen + 1
    data = read_entry(db, seq)
    at = data.index(b'"ts":"', data.index(b'"stmt":{')) + len('"ts":"')
    garbled = data[:at] + b"X" + data[at + 1 :]
    with attacker(db, "entries_no_update") as conn:
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (garbled, seq))
    return seq


def flip_byte(db: Path, w: World) -> int:
    """One bit of a stored (compressed) row flipped in the file itself."""
    seq = w.seen + 3
    stored = read_stored(db, seq)
    at = len(stored) // 2
    flip_in_file(db, stored, at, bytes([stored[at] ^ 0x01]))
    assert read_stored(db, seq) != stored
    return seq


def delete_row(db: Path, w: World) -> int:
    seq = w.seen + 2
    with attacker(db, "entries_no_delete") as conn:
        conn.execute("DELETE FROM entries WHERE seq = ?", (seq,))
    return seq


def reorder_rows(db: Path, w: World) -> int:
    a, b = w.seen + 1, w.seen + 4
    data_a, data_b = read_entry(db, a), read_entry(db, b)
    with attacker(db, "entries_no_update") as conn:
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (data_b, a))
        conn.execute("UPDATE entries SET data = ? WHERE seq = ?", (data_a, b))
    return a


def truncate(db: Path, w: World) -> int:
    """Rollback: the rows from ``cut`` on deleted and the tree rebuilt smaller.

    The stored nodes of a tree of size ``cut`` are exactly those of the complete subtrees
    that end before ``cut``; the checkpoints (and cosignatures) of larger trees go. What is
    left is the ledger as it was at ``cut``, a consistent, signed, shorter log.
    """
    cut = w.cut
    with attacker(db, "entries_no_delete", "nodes_no_delete", "checkpoints_no_delete") as conn:
        conn.execute("DELETE FROM entries WHERE seq >= ?", (cut,))
        # node id = level << 48 | index; it was completed by entry ((index + 1) << level) - 1
        conn.execute(
            "DELETE FROM nodes WHERE (((id & 281474976710655) + 1) << (id >> 48)) - 1 >= ?",
            (cut,),
        )
        conn.execute("DELETE FROM checkpoints WHERE size > ?", (cut,))
        conn.execute("DELETE FROM cosignatures WHERE size > ?", (cut,))
    return cut


def fork(db: Path, w: World) -> int:
    """The attacker holds the key file beside the database: history from ``cut`` on is
    rewritten (other notes) and every checkpoint re-signed, up to the old size and beyond."""
    truncate(db, w)
    with Ledger.open(db) as ledger:
        for i in range(w.size + 1 - w.cut):
            ledger.append(ledger.platform_statement("note", text=f"rewritten {i}"))
    wal_checkpoint(db)
    return w.cut


def replace_key_file(db: Path, w: World) -> int:
    """Another platform key in ``l.db.key``: a server with it would sign checkpoints that
    the wallets' pinned key does not verify."""
    kp = key_path(db)
    kp.unlink()
    save_private_key(generate_key(os.urandom), kp)
    return 0


def replace_log(db: Path, w: World) -> int:
    """The whole log replaced: a new genesis of the same origin under a new key (what a
    server that signs with another key must serve, since it refuses to run on the old
    genesis with a key that does not match it)."""
    for f in db.parent.iterdir():
        f.unlink()
    Ledger.init(db).close()
    wal_checkpoint(db)
    return 0


# --- the detectors -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: int
    line: str

    def __str__(self) -> str:
        return f"exit {self.status}: {self.line}"


def outcome(r: subprocess.CompletedProcess[str]) -> Outcome:
    """Exit status and the one line said (stdout on success, stderr on failure)."""
    assert "Traceback" not in r.stderr, r.stderr
    text = r.stdout if r.returncode == 0 else r.stderr
    lines = [x for x in text.splitlines() if x.strip()]
    assert len(lines) == 1, (r.returncode, r.stdout, r.stderr)
    return Outcome(r.returncode, lines[0])


def verify(db: Path) -> Outcome:
    r = subprocess.run(
        [chainledger_exe(), "verify", "--db", str(db)],
        capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
    )  # fmt: skip
    return outcome(r)


Expect = tuple[int, str]  # exit status, a regular expression ({seq}, {w.*} filled in)

#: edit -> detector -> what it said
MATRIX: dict[str, dict[str, Outcome]] = {}


def table() -> str:
    detectors = ("verify", "server", "monitor", "witness")
    rows = ["| edit | " + " | ".join(detectors) + " |", "|---" * (len(detectors) + 1) + "|"]
    for edit, seen in MATRIX.items():
        rows.append(f"| {edit} | " + " | ".join(str(seen.get(d, "-")) for d in detectors) + " |")
    return "\n".join(rows)


def check(
    edit: str, detector: str, got: Outcome, expect: Expect | list[Expect], values: dict[str, Any]
) -> None:
    """Record what ``detector`` said about ``edit``; it must be ``expect`` (filled in with
    ``values``), or one of them for a list."""
    MATRIX.setdefault(edit, {})[detector] = got
    wanted = [
        (e[0], e[1].format(**values)) for e in (expect if isinstance(expect, list) else [expect])
    ]
    ok = any(got.status == s and re.search(p, got.line) is not None for s, p in wanted)
    assert ok, f"{edit} x {detector}: expected one of {wanted}, got {got}\n\n" + table()


@pytest.fixture
def copy(world: World, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the ledger's files and of the wallet's home."""
    d = tmp_path / "ledger"
    shutil.copytree(world.dir, d)
    home = tmp_path / "home"
    shutil.copytree(world.home, home)
    return d / "l.db", home


def server_and_wallets(db: Path, home: Path) -> tuple[Outcome, Outcome, Outcome]:
    """``chainledger serve`` on ``db``; then `wallet monitor --once` and `wallet witness
    --once` against it. A server that refuses to start is the first outcome, and the wallets
    then find nobody to talk to."""
    try:
        with serve(db) as server:
            monitor = outcome(run(home, server.url, "monitor", "--once"))
            witness = outcome(run(home, server.url, "witness", "--once"))
        return Outcome(0, "serves"), monitor, witness
    except AssertionError as exc:
        if "server exited early" not in str(exc):
            raise
    r = subprocess.run(
        [chainledger_exe(), "serve", "--db", str(db), "--port", str(free_port())],
        capture_output=True, text=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip
    nobody = f"http://127.0.0.1:{free_port()}"
    return (
        outcome(r),
        outcome(run(home, nobody, "monitor", "--once")),
        outcome(run(home, nobody, "witness", "--once")),
    )


SERVES: Expect = (0, "^serves$")
ATTACK = "^wallet: error: ATTACK DETECTED: "
#: A witness checks checkpoints only (c2sp.org/tlog-witness): an edit of stored entries that
#: leaves the stored tree and checkpoints alone is invisible to it; the server still serves
#: the untouched checkpoint (and proves it consistent from the stored nodes), so the witness
#: rightly cosigns the very tree it saw grow. The monitor, which reads the entries, and
#: verify, which recomputes the tree from them, are the ones that catch it.
COSIGNS_UNTOUCHED: Expect = (0, r"^cosigned \S+ size {w.size} root {w.root} ")


@dataclass(frozen=True)
class Case:
    edit: Callable[[Path, World], int]
    verify: Expect
    server: Expect
    monitor: Expect | list[Expect]
    witness: Expect


CORRUPT = "^chainledger: error: ledger is corrupt: "
CASES: dict[str, Case] = {
    "letter changed in an entry": Case(
        flip_text,
        (1, CORRUPT + r"seq {seq}: (signature does not verify|.* is not the tree's root)"),
        SERVES,
        (1, ATTACK + r"entry {seq}: bad signature by p_\w+ \(signature does not verify\)$"),
        COSIGNS_UNTOUCHED,
    ),
    "statement field garbled in an entry": Case(
        garble_field,
        (1, CORRUPT + r"seq {seq}: "),
        SERVES,
        (1, ATTACK + r"entry {seq} is malformed: invalid field 'ts'"),
        COSIGNS_UNTOUCHED,
    ),
    "bit flipped in a stored row": Case(
        flip_byte,
        # A flipped bit of a compressed row either breaks the row (it does not inflate, or
        # not to UTF-8 JSON) or inflates to other bytes (a signature, a link or the tree
        # then fails): which one depends on the row's random nonce and signature.
        (1, CORRUPT + r"seq {seq}: "),
        SERVES,
        [
            # Broken: the server cannot decode the row either and answers the problem
            # ledger_corrupt (500) naming it for the page that holds it; the monitor names
            # the entries its signed checkpoint promised and it did not get (exit 2: from
            # outside, a broken row and a server fault look alike).
            (
                2,
                r"^wallet: error: the server cannot serve the entries {w.seen} to {last}, "
                r"which its signed checkpoint of size {w.size} covers \(500 ledger_corrupt: "
                r"seq {seq}: the stored entry does not decode",
            ),
            # Other bytes: served, and the monitor names the entry.
            (1, ATTACK + r"entry {seq}\b"),
        ],
        COSIGNS_UNTOUCHED,
    ),
    "row deleted": Case(
        delete_row,
        (1, CORRUPT + r"seq {seq}: entry is missing$"),
        SERVES,
        (1, ATTACK + r"entry {seq} says it is entry {seq1}$"),
        COSIGNS_UNTOUCHED,
    ),
    "rows swapped": Case(
        reorder_rows,
        (1, CORRUPT + r"seq {seq}: entry says seq {seq3}$"),
        SERVES,
        (1, ATTACK + r"entry {seq} says it is entry {seq3}$"),
        COSIGNS_UNTOUCHED,
    ),
    "letter changed in an entry the monitor verified": Case(
        lambda db, w: flip_text(db, w, w.seen - 3),
        (1, CORRUPT + r"seq {seq}: (signature does not verify|.* is not the tree's root)"),
        SERVES,
        # The monitor verifies each entry once, when the checkpoint first covers it, and
        # then keeps only the tree's right edge: an older entry changed later, with the
        # stored tree untouched, is not read again. (Its inclusion proof now fails for
        # whoever fetches it, e.g. the holder's `wallet history`; verify sees it.)
        (0, r"^ok: {w.size} entries verified \({new} new\)$"),
        COSIGNS_UNTOUCHED,
    ),
    "rolled back (rows deleted, tree rebuilt smaller)": Case(
        truncate,
        # verify holds nothing from before: the shorter log is a valid log of its own.
        (0, r"^ok: {w.cut} entries, \d+ checkpoints, root [0-9a-f]{{64}}$"),
        SERVES,
        (1, ATTACK + r"rollback: the log shrank from {w.seen} to {w.cut} entries$"),
        (1, ATTACK + r"rollback: the log shrank from {w.seen} to {w.cut} entries$"),
    ),
    "rewritten and re-signed with the key file (fork)": Case(
        fork,
        # With the key file the attacker re-signs everything: the file verifies.
        (0, r"^ok: {bigger} entries, \d+ checkpoints, root [0-9a-f]{{64}}$"),
        SERVES,
        (
            1,
            ATTACK + r"fork: the tree of size {bigger} does not extend the one of size "
            r"{w.seen} this wallet saw",
        ),
        (
            1,
            ATTACK + r"fork: the tree of size {bigger} does not extend the one of size "
            r"{w.seen} this wallet saw",
        ),
    ),
    "platform key file replaced": Case(
        replace_key_file,
        (1, CORRUPT + r"ledger: the platform key file does not match the genesis key$"),
        # The server opens the ledger with the key and refuses a key that is not the
        # genesis key: no checkpoint is ever signed with the other key, and the wallets
        # find no server (they change nothing: exit 2).
        (
            1,
            r"^chainledger: error: ledger is corrupt: ledger: the platform key file does "
            r"not match the genesis key$",
        ),
        (2, r"^wallet: error: cannot reach http://127\.0\.0\.1:\d+: ConnectError$"),
        (2, r"^wallet: error: cannot reach http://127\.0\.0\.1:\d+: ConnectError$"),
    ),
    "log replaced under another key": Case(
        replace_log,
        # A new genesis under a new key: a valid log of its own, for verify.
        (0, r"^ok: 1 entries, 1 checkpoints, root [0-9a-f]{{64}}$"),
        SERVES,
        (
            1,
            ATTACK + r"checkpoint not signed by the pinned log key: no signature from a "
            r"known key$",
        ),
        (
            1,
            ATTACK + r"checkpoint not signed by the pinned log key: no signature from a "
            r"known key$",
        ),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matrix(name: str, world: World, copy: tuple[Path, Path]) -> None:
    db, home = copy
    case = CASES[name]
    seq = case.edit(db, world)
    values = {"seq": seq, "seq1": seq + 1, "seq3": seq + 3, "w": world, "last": world.size - 1,
              "new": world.size - world.seen, "bigger": world.size + 1}  # fmt: skip
    check(name, "verify", verify(db), case.verify, values)
    server, monitor, witness = server_and_wallets(db, home)
    check(name, "server", server, case.server, values)
    check(name, "monitor", monitor, case.monitor, values)
    check(name, "witness", witness, case.witness, values)
