"""Load, kill and copy machinery for the reliability evidence.

Shared by tests/api/test_crash_load.py, tests/api/test_concurrency_writers.py (small runs,
invariants asserted) and scripts/evidence_reliability.py (the full runs, written to docs/):

* `prepare_ledger`: a ledger with the test cast, a resident ID card and a standing grant
  of `grants.MAX_USES` uses to the bus counter, closed so that servers and writers open it;
* `KillableServer`: ``chainledger serve`` in its own process group on a fixed port, which
  can be SIGKILLed (the whole group: workers and signature checkers too) and restarted;
* `Load`: threads that keep signed writes (``grant.create`` by the holders, POST
  /v1/statements) and counter reads (``access.read`` under the standing grant, POST
  /v1/reads) going and record every `Outcome`, answered or not;
* `power_loss_copy`: the db, -wal and -shm files copied while the server appends, with no
  checkpoint first;
* `crash_run` and `concurrency_run`: the two experiments;
* `check_ledger`, `check_copy` and `verify_cli`: what must hold afterwards, returned as
  figures and a list of violations (empty when every invariant holds).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from api_support import db_args, free_port
from domain_support import Cast, make_cast
from support import chainledger_exe

from chainledger.access import read_fields
from chainledger.clock import format_ts
from chainledger.entry import decode_entry
from chainledger.grants import MAX_USES, create_fields
from chainledger.ledger import Ledger
from chainledger.location import Location
from chainledger.statement import SignedStatement, make_statement, sign_statement

#: Server settings for load: rate limits out of the way (the load comes from three parties),
#: no access log (one line per request would dwarf everything else in the server log).
LOAD_ENV = {
    "CHAINLEDGER_RATE_PER_SECOND": "1000000",
    "CHAINLEDGER_RATE_BURST": "1000000",
    "CHAINLEDGER_PUBLIC_RATE_PER_SECOND": "1000000",
    "CHAINLEDGER_PUBLIC_RATE_BURST": "1000000",
    "CHAINLEDGER_ACCESS_LOG": "0",
}
READ_FIELDS = ["name", "id_number"]
#: Words that mark trouble in a server log (a clean run under SIGKILL logs none of them).
LOG_TROUBLE = ("Traceback", "ERROR", "Exception", " 500 ")


# --- the ledger ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A ledger prepared for load: who signs what, and how many entries it had before."""

    db: Path | Location
    cast: Cast
    grant: str
    asset: str
    initial_size: int


def prepare_ledger(db: Path | Location) -> Target:
    """The test cast on a new ledger at ``db``, the citizen's ID card and a standing grant of
    `MAX_USES` uses of its name and id number to the bus counter; closed on return."""
    cast = make_cast(db)
    try:
        asset, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
        grant, _ = cast.grant(
            cast.citizen, cast.bus, "bus_ticket", {"resident_id_card": READ_FIELDS},
            hours=24, max_uses=MAX_USES,
        )  # fmt: skip
        size = cast.domain.ledger.size()
    finally:
        cast.domain.close()
    return Target(db, cast, grant, asset, size)


def write_statement(target: Target, n: int) -> SignedStatement:
    """The ``n``th write: a one-use ``grant.create`` by one of the two holders (alternately)
    to the bus counter, signed now."""
    holder = (target.cast.citizen, target.cast.other)[n % 2]
    now = datetime.now(UTC)
    fields = create_fields(
        scenario="bus_ticket", purpose="ticket_purchase", scope={"resident_id_card": ["name"]},
        grantee=target.cast.bus.id, not_before=format_ts(now - timedelta(minutes=1)),
        expires=format_ts(now + timedelta(hours=1)), max_uses=1,
    )  # fmt: skip
    return sign_statement(
        make_statement("grant.create", holder.id, now, os.urandom, **fields), holder.key
    )


def read_statement(target: Target) -> SignedStatement:
    """A counter read of the citizen's name and id number under the standing grant."""
    bus = target.cast.bus
    fields = read_fields(target.grant, target.asset, READ_FIELDS, "ticket_purchase")
    stmt = make_statement("access.read", bus.id, datetime.now(UTC), os.urandom, **fields)
    return sign_statement(stmt, bus.key)


# --- outcomes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one request or one CLI/library append came to.

    ``source``: ``write`` or ``read`` (HTTP), ``cli`` or ``library``. ``status``: the HTTP
    status (``"200"``), the exception's name when no answer came (the server was down or
    killed mid-request: the statement may or may not be committed), or ``"exit N"`` for a
    failed CLI run. ``seq`` and ``leaf`` are the receipt's, when there is one; ``released``
    counts the disclosures (field values) a read handed out. Times are seconds since the
    run's start.
    """

    source: str
    nonce: str
    sent: float
    done: float
    status: str
    seq: int | None = None
    leaf: str | None = None
    released: int = 0
    detail: str = ""

    @property
    def acked(self) -> bool:
        """A receipt was received: the entry must survive anything from now on."""
        return self.seq is not None


class Recorder:
    """A thread-safe list of outcomes with the run's time base."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self._lock = threading.Lock()
        self._items: list[Outcome] = []

    def now(self) -> float:
        return time.monotonic() - self.t0

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self._items.append(outcome)

    def outcomes(self) -> list[Outcome]:
        with self._lock:
            return list(self._items)

    def acked_count(self) -> int:
        with self._lock:
            return sum(1 for o in self._items if o.acked)


# --- the server ---------------------------------------------------------------------------


class KillableServer:
    """``chainledger serve --db DB --workers N`` on one port for its whole life, restartable.

    Each start is a new process group (``start_new_session``), so `kill` takes the uvicorn
    supervisor, its workers and their signature-checking processes down at once, as a
    power cut or the OOM killer would. The log of every start goes to one file.
    """

    def __init__(
        self, db: Path | Location, *, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.db = db
        self.workers = workers
        self.env = {**os.environ, **LOAD_ENV, **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Location.of(db).companion(f"server-{self.port}.log")
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 120.0, *, workers: int | None = None) -> float:
        """Start the server (with ``workers`` this time, if given); return the seconds until
        /healthz answered 200."""
        assert self.process is None, "already running"
        self.workers = workers or self.workers
        t0 = time.monotonic()
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [chainledger_exe(), "serve", *db_args(self.db), "--port", str(self.port),
                 "--workers", str(self.workers)],
                stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
            )  # fmt: skip
        self.starts += 1
        deadline = t0 + timeout
        with httpx.Client(timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"server exited early:\n{self.log_text()[-4000:]}")
                try:
                    if client.get(self.url + "/healthz").status_code == 200:
                        return time.monotonic() - t0
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"server did not start:\n{self.log_text()[-4000:]}")
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the whole process group and reap the server."""
        assert self.process is not None, "not running"
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.process = None

    def stop(self) -> int | None:
        """SIGTERM (the sequencer drains), wait; the exit code (SIGKILL after 60 s). uvicorn
        re-raises the SIGTERM it handled once it has shut down, so a clean stop is
        ``-SIGTERM`` (see `clean_exit`)."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return process.returncode

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def clean_exit(self, code: int | None) -> bool:
        """Did a `stop` that returned ``code`` shut down gracefully: exit 0 or the re-raised
        SIGTERM, after every worker's application shutdown (the sequencer drained)?"""
        last = self.log_text().rsplit("--- start ", 1)[-1]
        shutdowns = last.count("Application shutdown complete.")
        return code in (0, -signal.SIGTERM) and shutdowns == self.workers

    def trouble(self) -> list[str]:
        """The lines of the server log that report an error."""
        return [ln for ln in self.log_text().splitlines() if any(w in ln for w in LOG_TROUBLE)]


# --- the load -----------------------------------------------------------------------------


class Load:
    """Closed-loop HTTP load: ``writers`` threads post writes, ``readers`` threads post reads,
    each a fresh statement signed just before it is sent (never resent, so every nonce is
    one request). A request that gets no answer is recorded and the thread pauses 50 ms (the
    server is down); the load goes on across restarts until `stop`."""

    def __init__(
        self, url: str, target: Target, recorder: Recorder, *, writers: int, readers: int
    ) -> None:
        self.url = url
        self.target = target
        self.recorder = recorder
        self._stop = threading.Event()
        self._count = 0
        self._count_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=("write",), daemon=True) for _ in range(writers)
        ] + [
            threading.Thread(target=self._run, args=("read",), daemon=True) for _ in range(readers)
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(120)
            assert not t.is_alive(), "a load thread did not stop"

    def _next(self) -> int:
        with self._count_lock:
            self._count += 1
            return self._count

    def _run(self, source: str) -> None:
        rec = self.recorder
        path = "/v1/statements" if source == "write" else "/v1/reads"
        # After a kill the pooled keep-alive connection is dead: httpx connects afresh.
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.is_set():
                if source == "write":
                    stmt = write_statement(self.target, self._next())
                else:
                    stmt = read_statement(self.target)
                sent = rec.now()
                try:
                    r = client.post(path, json=stmt.to_wire())
                except httpx.HTTPError as exc:
                    rec.add(Outcome(source, stmt.nonce, sent, rec.now(), type(exc).__name__))
                    # Server down: try again soon, without eating the CPU its restart needs.
                    self._stop.wait(0.05)
                    continue
                done = rec.now()
                if r.status_code != 200:
                    rec.add(Outcome(source, stmt.nonce, sent, done, str(r.status_code),
                                    detail=r.text[:300]))  # fmt: skip
                    continue
                body = r.json()
                receipt = body if source == "write" else body["receipt"]
                released = len(body.get("disclosures") or []) if source == "read" else 0
                rec.add(Outcome(source, stmt.nonce, sent, done, "200", receipt["seq"],
                                receipt["leaf_hash"], released))  # fmt: skip


# --- CLI and library writers ------------------------------------------------------------------


class CliWriter:
    """``chainledger note --db DB TEXT`` run again and again (one process per append) until
    `stop`; each printed receipt recorded as an outcome of source ``cli``."""

    def __init__(self, db: Path | Location, recorder: Recorder, name: str) -> None:
        self.db = db
        self.recorder = recorder
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(180)
        assert not self._thread.is_alive(), "the CLI writer did not stop"

    def _run(self) -> None:
        rec, i = self.recorder, 0
        while not self._stop.is_set():
            sent = rec.now()
            done = subprocess.run(
                [chainledger_exe(), "note", *db_args(self.db), f"{self.name} {i}"],
                capture_output=True, text=True, timeout=170, check=False,
            )  # fmt: skip
            i += 1
            if done.returncode != 0:
                rec.add(Outcome("cli", "", sent, rec.now(), f"exit {done.returncode}",
                                detail=done.stderr[-300:]))  # fmt: skip
                continue
            receipt = json.loads(done.stdout)
            nonce = decode_entry(receipt["entry"].encode()).statement.nonce
            rec.add(Outcome("cli", nonce, sent, rec.now(), "200", receipt["seq"],
                            receipt["leaf_hash"]))  # fmt: skip


#: A long-lived writer process on the library: several threads append platform notes through
#: one `Ledger` (so its sequencer forms batches and keeps its write cache between them, which
#: must be dropped whenever another process wrote) for a given number of seconds, printing
#: each receipt once ``append`` returned; then it closes the ledger (draining) and exits 0.
LIBRARY_WRITER = r"""
import sys
import threading
import time
from pathlib import Path

from chainledger.domain import domain_rules
from chainledger.ledger import Ledger
from chainledger.location import Location

db, keys, threads, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ledger = Ledger.open(Location.of(db, Path(keys) if keys else None), rules=domain_rules())
lock = threading.Lock()
stop = time.monotonic() + seconds


def work(t: int) -> None:
    i = 0
    while time.monotonic() < stop:
        stmt = ledger.platform_statement("note", text=f"library writer {t} {i}")
        receipt = ledger.append(stmt)
        with lock:
            print(receipt.seq, receipt.leaf_hash.hex(), stmt.nonce, flush=True)
        i += 1


workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
ledger.close()
"""


class LibraryWriter:
    """`LIBRARY_WRITER` in a child process; its receipts recorded as outcomes of source
    ``library`` as they are printed."""

    def __init__(
        self, db: Path | Location, recorder: Recorder, *, threads: int, seconds: float
    ) -> None:
        self.recorder = recorder
        where = Location.of(db)
        self.stderr_path = where.companion("library-writer.stderr")
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-c", LIBRARY_WRITER, where.url or str(where.path),
             str(where.keys or ""), str(threads), str(seconds)],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True,
        )  # fmt: skip
        self._started = recorder.now()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            seq, leaf, nonce = line.split()
            now = self.recorder.now()
            self.recorder.add(Outcome("library", nonce, now, now, "200", int(seq), leaf))

    def wait(self, timeout: float) -> tuple[int, str]:
        """Wait for the child to finish; its exit code and stderr."""
        code = self.process.wait(timeout)
        self._reader.join(30)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._stderr.close()
        return code, self.stderr_path.read_text(errors="replace")


# --- power-loss copies --------------------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    """A copy of the database files taken under load: where, and when (run seconds)."""

    path: Path
    started: float
    finished: float
    #: the files copied and their sizes in bytes: {"db": n, "-wal": n, "-shm": n}
    files: dict[str, int]


def power_loss_copy(
    db: Path, dest: Path, snapshot: sqlite3.Connection, clock: Callable[[], float]
) -> Copy:
    """Copy ``db``, ``db-wal`` and ``db-shm`` to ``dest`` (+ the same suffixes) while
    appends go on, without a checkpoint.

    A power cut freezes all three files at one instant; three file copies take a while.
    ``snapshot`` (a read-only connection to ``db``) holds a read transaction meanwhile, and
    then SQLite writes no page newer than that snapshot into the database file (a checkpoint
    backfills only up to the oldest reader's mark) and never overwrites WAL frames the
    snapshot reads (sqlite.org/wal.html, "Checkpointing" and "Concurrency"). So, in any copy
    order, the copied database holds nothing the copied WAL does not also hold, and the
    copied WAL is one appended to in order, at worst with a torn tail, which SQLite's
    recovery cuts at the last whole commit (frame checksums and salts). That is what a
    power cut leaves. Nothing is forced into the database file first: opening a copy
    exercises WAL recovery.

    What a copy cannot show: the copies read the page cache, so a commit acknowledged
    before its fsync would still look durable here (durability rests on
    ``synchronous=FULL``, `chainledger.store.sqlite`).
    """
    started = clock()
    snapshot.execute("BEGIN")
    snapshot.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the read mark
    try:
        files = {}
        for suffix in ("", "-wal", "-shm"):
            src = db.with_name(db.name + suffix)
            if src.exists():
                copied = dest.with_name(dest.name + suffix)
                shutil.copyfile(src, copied)
                files[suffix or "db"] = copied.stat().st_size
    finally:
        snapshot.execute("COMMIT")
    return Copy(dest, started, clock(), files)


def open_snapshot(db: Path) -> sqlite3.Connection:
    """A read-only connection for `power_loss_copy`. Close it while the server still runs:
    the last connection to close would checkpoint."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    return conn


# --- the experiments ----------------------------------------------------------------------


@dataclass
class CrashRun:
    """What happened in `crash_run` (times in run seconds)."""

    outcomes: list[Outcome]
    kills: list[float]
    #: (killed at, healthy again at) for each kill
    downtime: list[tuple[float, float]]
    copies: list[Copy]
    server_trouble: list[str]
    #: the server stopped gracefully at the end (`KillableServer.clean_exit`)
    clean_stop: bool
    seconds: float
    start_seconds: list[float] = field(default_factory=list)
    #: the uvicorn workers of each start
    start_workers: list[int] = field(default_factory=list)

    def per_kill(self) -> list[dict[str, Any]]:
        """For each kill: when, receipts since the previous restart, requests cut off in
        flight (sent before the kill, never answered) and the seconds until /healthz
        answered again."""
        rows, up = [], 0.0
        for i, (killed, back) in enumerate(self.downtime):
            acked = [o for o in self.outcomes if o.acked and up <= o.done < killed]
            cut = [o for o in self.outcomes if not o.acked and o.sent < killed <= o.done]
            rows.append({
                "killed_at_s": round(killed, 3),
                "workers": self.start_workers[i],
                "receipts_since_restart": len(acked),
                "requests_cut_in_flight": len(cut),
                "restart_to_healthy_s": round(self.start_seconds[i + 1], 2),
                "down_s": round(back - killed, 2),
            })  # fmt: skip
            up = back
        return rows


def crash_run(
    target: Target, copy_dir: Path, *, kills: int, copies: int, rng: random.Random,
    uptime: tuple[float, float] = (0.3, 1.5), copy_gap: tuple[float, float] = (0.1, 0.6),
    writers: int = 4, readers: int = 4, server_workers: Sequence[int] = (1,),
    log: Callable[[str], None] = lambda _: None,
) -> CrashRun:  # fmt: skip
    """Load against one server that is SIGKILLed ``kills`` times, each at a random moment
    ``uptime`` seconds after it answered /healthz, and restarted at once (start ``i`` with
    ``server_workers[i % len]`` uvicorn workers); after the last restart, ``copies``
    power-loss copies at random gaps of ``copy_gap`` seconds (load still on), then the load
    stops and the server is stopped with SIGTERM."""
    rec = Recorder()
    server = KillableServer(target.db)
    load = Load(server.url, target, rec, writers=writers, readers=readers)
    kill_times: list[float] = []
    downtime: list[tuple[float, float]] = []
    start_seconds = [server.start(workers=server_workers[0])]
    start_workers = [server.workers]
    load.start()
    try:
        for k in range(kills):
            time.sleep(rng.uniform(*uptime))
            killed = rec.now()
            server.kill()
            kill_times.append(killed)
            log(f"kill {k + 1}/{kills} ({server.workers} workers) at {killed:.2f} s; "
                f"{rec.acked_count()} receipts so far")  # fmt: skip
            n = server_workers[(k + 1) % len(server_workers)]
            start_seconds.append(server.start(workers=n))
            start_workers.append(n)
            downtime.append((killed, rec.now()))
        taken: list[Copy] = []
        snapshot = open_snapshot(target.db)
        try:
            for c in range(copies):
                time.sleep(rng.uniform(*copy_gap))
                taken.append(
                    power_loss_copy(target.db, copy_dir / f"copy-{c}.db", snapshot, rec.now)
                )
            log(f"{copies} power-loss copies taken")
            time.sleep(rng.uniform(*uptime))
        finally:
            snapshot.close()  # before the server stops: never the last connection
    finally:
        load.stop()
        clean_stop = server.clean_exit(server.stop())
    return CrashRun(rec.outcomes(), kill_times, downtime, taken, server.trouble(), clean_stop,
                    rec.now(), start_seconds, start_workers)  # fmt: skip


@dataclass
class ConcurrencyRun:
    """What happened in `concurrency_run` (times in run seconds)."""

    outcomes: list[Outcome]
    library_exit: int
    library_stderr: str
    server_trouble: list[str]
    #: the server stopped gracefully at the end (`KillableServer.clean_exit`)
    clean_stop: bool
    seconds: float
    start_seconds: float


def concurrency_run(
    target: Target, *, seconds: float, workers: int = 4, writers: int = 3, readers: int = 3,
    library_threads: int = 3, servers: int = 1, cli_writers: int = 1,
    log: Callable[[str], None] = lambda _: None,
) -> ConcurrencyRun:  # fmt: skip
    """``servers`` API nodes (``serve --workers N`` each, on its own port) under HTTP load
    (``writers`` + ``readers`` threads per node), with more writer processes on the same
    database for ``seconds``: ``cli_writers`` ``chainledger note`` loops (the CLI) and
    `LIBRARY_WRITER` (none with ``library_threads=0``)."""
    nodes = [KillableServer(target.db, workers=workers) for _ in range(servers)]
    started = max(node.start() for node in nodes)
    log(f"{servers} server(s) with {workers} workers up in {started:.1f} s")
    rec = Recorder()  # time 0: the servers are up and the writers start
    loads = [Load(n.url, target, rec, writers=writers, readers=readers) for n in nodes]
    clis = [CliWriter(target.db, rec, f"cli writer {i}") for i in range(cli_writers)]
    code, stderr = 0, ""
    try:
        for each in [*loads, *clis]:
            each.start()
        library = (
            LibraryWriter(target.db, rec, threads=library_threads, seconds=seconds)
            if library_threads
            else None
        )
        time.sleep(seconds)
        for cli in clis:
            cli.stop()
        if library is not None:
            code, stderr = library.wait(180)
        for load in loads:
            load.stop()
    finally:
        stops = [node.clean_exit(node.stop()) for node in nodes]  # every node, even after a bad one
        clean_stop = all(stops)
    log(f"{rec.acked_count()} receipts in {rec.now():.1f} s")
    trouble = [line for node in nodes for line in node.trouble()]
    return ConcurrencyRun(rec.outcomes(), code, stderr, trouble, clean_stop, rec.now(),
                          started)  # fmt: skip


# --- the checks ---------------------------------------------------------------------------


def ledger_leaves(db: Path | Location) -> tuple[list[str], list[tuple[str, str]]]:
    """Every entry's leaf hash (hex) and (kind, nonce), in seq order, read as SQLite recovers
    the files at ``db``."""
    with Ledger.open(db, writable=False) as ledger:
        leaves: list[str] = []
        stmts: list[tuple[str, str]] = []
        for seq, data in ledger.entries(0, ledger.size()):
            assert seq == len(leaves), f"entry {seq} out of order"
            leaves.append(ledger.suite.leaf(data).hex())
            s = decode_entry(data).statement
            stmts.append((s.kind, s.nonce))
    return leaves, stmts


def check_ledger(
    target: Target, outcomes: list[Outcome], *, allow_unanswered: bool
) -> tuple[dict[str, Any], list[str]]:
    """The invariants of the final ledger against everything the clients saw.

    * every receipt a client received is in the ledger at its seq with the same leaf hash,
      and its entry is the statement that client sent (same nonce); no seq twice;
    * every entry appended since `prepare_ledger` is a statement some client sent (none
      made up, none twice), and none is a request that never connected;
    * every read that released data (a 200 with disclosures) has its ``access.read``
      entry; reads answered <= ``access.read`` entries (the rest: committed, the answer
      lost to a kill, nothing released);
    * no answer other than 200 (a refusal or a 5xx under load is a finding); the only
      failures are requests that got no answer at all (the server was killed), and with
      ``allow_unanswered`` false (no kills) there are none of those either and every entry
      appended has its receipt (nothing committed behind a client's back).

    Returns (figures, violations).
    """
    violations: list[str] = []
    leaves, stmts = ledger_leaves(target.db)
    by_nonce: dict[str, list[int]] = {}
    for seq in range(target.initial_size, len(stmts)):
        by_nonce.setdefault(stmts[seq][1], []).append(seq)
    sent = {o.nonce for o in outcomes if o.nonce}
    seen_seq: dict[int, Outcome] = {}
    statuses = Counter(f"{o.source} {o.status}" for o in outcomes)
    for o in outcomes:
        if not o.acked:
            if o.status.isdigit() or o.status.startswith("exit"):
                violations.append(f"{o.source} answered {o.status}: {o.detail[:200]}")
            continue
        assert o.seq is not None
        if o.seq in seen_seq:
            violations.append(f"seq {o.seq} acknowledged twice ({seen_seq[o.seq]}, {o})")
        seen_seq[o.seq] = o
        if o.seq >= len(leaves):
            violations.append(f"receipt seq {o.seq} ({o.source}) is beyond the ledger")
        elif leaves[o.seq] != o.leaf:
            violations.append(f"receipt seq {o.seq} ({o.source}): another leaf in the ledger")
        elif stmts[o.seq][1] != o.nonce:
            violations.append(f"receipt seq {o.seq} ({o.source}): another statement's entry")
        elif o.source == "read" and stmts[o.seq][0] != "access.read":
            violations.append(f"read receipt seq {o.seq} is a {stmts[o.seq][0]} entry")
    # httpx raises ConnectError before it sends a byte: such a request cannot be in the ledger.
    never_sent = [o.seq for o in outcomes if o.status == "ConnectError" and o.nonce in by_nonce]
    if never_sent:
        violations.append(f"{len(never_sent)} requests that never connected are in the ledger")
    extra = [seq for nonce, seqs in by_nonce.items() if nonce not in sent for seq in seqs]
    if extra:
        violations.append(f"{len(extra)} entries no client sent, e.g. seq {extra[:5]}")
    twice = {n: s for n, s in by_nonce.items() if len(s) > 1}
    if twice:
        violations.append(f"{len(twice)} statements entered twice, e.g. {list(twice.items())[:3]}")
    kinds = Counter(kind for kind, _ in stmts[target.initial_size :])
    reads_answered = sum(1 for o in outcomes if o.source == "read" and o.acked)
    released = sum(1 for o in outcomes if o.source == "read" and o.released)
    if released != reads_answered:
        violations.append(f"{reads_answered - released} answered reads released nothing")
    if reads_answered > kinds["access.read"]:
        violations.append(f"{reads_answered} reads answered, {kinds['access.read']} entries")
    unanswered = Counter(o.source for o in outcomes if not o.acked)
    in_ledger_unanswered = Counter(
        o.source for o in outcomes if not o.acked and o.nonce in by_nonce
    )
    appended = len(leaves) - target.initial_size
    if not allow_unanswered:
        if unanswered:
            violations.append(f"requests without an answer: {dict(unanswered)}")
        if appended != len(seen_seq):
            violations.append(f"{appended} entries appended, {len(seen_seq)} receipts")
    figures = {
        "entries_before": target.initial_size,
        "entries_after": len(leaves),
        "entries_appended": appended,
        "entries_by_kind": dict(kinds),
        "requests": dict(Counter(o.source for o in outcomes)),
        "statuses": dict(statuses),
        "receipts": len(seen_seq),
        "receipts_by_source": dict(Counter(o.source for o in outcomes if o.acked)),
        "receipts_in_ledger": sum(
            1 for s, o in seen_seq.items() if s < len(leaves) and leaves[s] == o.leaf
        ),
        "reads_answered_200": reads_answered,
        "reads_released_data": released,
        "access_read_entries": kinds["access.read"],
        "unanswered": dict(unanswered),
        # Sent to a live server that died before answering (the rest never connected).
        "unanswered_cut_in_flight": sum(
            1 for o in outcomes if not o.acked and o.status != "ConnectError"
        ),
        "unanswered_but_committed": dict(in_ledger_unanswered),
        "entries_without_receipt": appended - len(seen_seq),
    }
    return figures, violations


def check_copy(
    copy: Copy, outcomes: list[Outcome], final_leaves: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """A power-loss copy: it verifies (`verify_cli`), its entries are a prefix of the final
    ledger (same leaf hashes), and it holds every receipt acknowledged before the copy
    started, each at its seq. Returns (figures, violations)."""
    violations: list[str] = []
    ok, output, _ = verify_cli(copy.path)
    if not ok:
        violations.append(f"{copy.path.name} does not verify: {output[-300:]}")
    leaves, _ = ledger_leaves(copy.path)
    if leaves != final_leaves[: len(leaves)]:
        first = next(
            i for i, (a, b) in enumerate(zip(leaves, final_leaves, strict=False)) if a != b
        )
        violations.append(f"{copy.path.name} differs from the final ledger at seq {first}")
    before = [o for o in outcomes if o.acked and o.done < copy.started]
    assert all(o.seq is not None for o in before)
    missing = [o.seq for o in before if o.seq is not None and o.seq >= len(leaves)]
    if missing:
        violations.append(f"{copy.path.name} lacks {len(missing)} receipts acknowledged before "
                          f"it was taken, e.g. seq {missing[:5]}")  # fmt: skip
    changed = [
        o.seq
        for o in before
        if o.seq is not None and o.seq < len(leaves) and leaves[o.seq] != o.leaf
    ]
    if changed:
        violations.append(f"{copy.path.name}: receipts at other leaves, seq {changed[:5]}")
    max_before = max((o.seq for o in before if o.seq is not None), default=-1)
    figures = {
        "copy": copy.path.name,
        "taken_at_s": round(copy.started, 3),
        "copy_ms": round((copy.finished - copy.started) * 1000, 1),
        "file_bytes": copy.files,
        "verified": ok,
        "entries": len(leaves),
        "receipts_acked_before": len(before),
        "highest_seq_acked_before": max_before,
        # Entries the copy holds past the last acknowledged one: committed, answer not yet out.
        "entries_past_last_ack": len(leaves) - 1 - max_before,
    }
    return figures, violations


def verify_cli(db: Path | Location) -> tuple[bool, str, int | None]:
    """``chainledger verify --db DB``: (exit 0?, its output, the entry count it reports)."""
    done = subprocess.run(
        [chainledger_exe(), "verify", *db_args(db)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    entries = None
    if done.returncode == 0 and done.stdout.startswith("ok: "):
        entries = int(done.stdout.split()[1])
    return done.returncode == 0, (done.stdout + done.stderr).strip(), entries
