"""Crash safety: a writer SIGKILLed at random moments never loses an acknowledged append.

A child process appends notes from several threads (so group-commit batches
form) and prints each receipt's seq and leaf hash only after ``append``
returned. The parent kills it with SIGKILL at a random moment, collects what it
printed, and starts it again, several times. Afterwards the ledger verifies
and holds every acknowledged (seq, leaf hash) at its seq.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import chainledger_exe

from chainledger.ledger import Ledger, key_path
from chainledger.store.sqlite import SqliteStore
from chainledger.verify import verify_ledger

ROUNDS = 8
THREADS = 6

CHILD_CODE = r"""
import sys
import threading
from pathlib import Path

from chainledger.ledger import Ledger, key_path

db, threads = Path(sys.argv[1]), int(sys.argv[2])
ledger = Ledger.open(db)
out = sys.stdout
lock = threading.Lock()


def work(t: int) -> None:
    i = 0
    while True:
        receipt = ledger.append(ledger.platform_statement("note", text=f"crash test {t} {i}"))
        # Acknowledged: the append returned, so the entry must survive any crash from now on.
        line = f"{receipt.seq} {receipt.leaf_hash.hex()}\n"
        with lock:
            out.write(line)
            out.flush()
        i += 1


for t in range(threads):
    threading.Thread(target=work, args=(t,), daemon=True).start()
threading.Event().wait()
"""


@dataclass(frozen=True)
class Round:
    acked: list[tuple[int, str]]
    stderr: str


def run_and_kill(db: Path, delay: float, stderr_path: Path) -> Round:
    """Start the child, let it print for ``delay`` seconds, SIGKILL it; what did it print?"""
    with stderr_path.open("w+", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD_CODE, str(db), str(THREADS)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            encoding="utf-8",
        )
        lines: list[str] = []
        started = threading.Event()

        def drain() -> None:
            # Read continuously so the child never blocks on a full pipe.
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                started.set()

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            assert started.wait(60), "the child never acknowledged an append"
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            reader.join(30)
            assert proc.stdout is not None
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        err.seek(0)
        stderr = err.read()
    acked: list[tuple[int, str]] = []
    for line in lines:
        if not line.endswith("\n"):  # cut off by the kill: never fully acknowledged
            continue
        seq, leaf = line.split()
        acked.append((int(seq), leaf))
    return Round(acked, stderr)


@pytest.mark.slow
def test_sigkill_never_loses_an_acknowledged_append(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    Ledger.init(db).close()
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    context = f"(random seed {seed})"

    acked: dict[int, str] = {}
    for n in range(ROUNDS):
        delay = rng.uniform(0.2, 1.5)
        got = run_and_kill(db, delay, tmp_path / f"child-{n}.stderr")
        # The sequencer logs any failed batch; a clean run prints nothing on stderr.
        assert got.stderr == "", f"round {n} {context}:\n{got.stderr}"
        assert got.acked, f"round {n} acknowledged nothing {context}"
        seqs = [seq for seq, _ in got.acked]
        # Seqs restart past everything acknowledged before: none is ever handed out twice.
        assert min(seqs) > max(acked, default=0), f"round {n} reused a seq {context}"
        assert len(set(seqs)) == len(seqs), f"round {n} acknowledged a seq twice {context}"
        acked.update(got.acked)

    store = SqliteStore(db)
    try:
        report = verify_ledger(store, key_file=key_path(db))
        latest = store.latest_checkpoint()
        assert latest is not None
        assert report.entries == latest.size
        assert report.entries >= max(acked) + 1, context
        # Several entries per checkpoint: group commit formed batches of more than one.
        assert report.checkpoints < report.entries
        with Ledger.open(db, writable=False) as ledger:
            for seq, leaf in sorted(acked.items()):
                data = store.entry(seq)
                assert data is not None, f"acknowledged seq {seq} is gone {context}"
                assert ledger.suite.leaf(data).hex() == leaf, f"seq {seq} changed {context}"
    finally:
        store.close()

    result = subprocess.run(
        [chainledger_exe(), "verify", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {report.entries} entries, ")
