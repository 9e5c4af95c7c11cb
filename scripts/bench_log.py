"""Benchmark of the log core, as ratios against baselines measured in the same run.

Machines here are shared and noisy, so absolute rates mean little; each figure
is divided by a baseline taken minutes apart on the same machine:

* signed appends per second through the sequencer, with durable commits
  (closed loop: each client waits for its receipt), against one core's Ed25519
  verification rate (goal >= 0.8x), plus the append latency p50/p99;
* inclusion and consistency proof latency p50/p99 at 10^4, 10^5 and 10^6
  entries, each measured in a fresh process that opens the database
  (goal p99 <= 1 ms, and <= 2x growth from 10^4 to 10^6);
* full `verify` throughput (entries per second) against one core's Ed25519
  rate (goal >= 1.5x, using both cores).

Writes docs/bench_log.json and docs/bench_log.png. Run with `scripts/bench log`
(or `--quick` for a small smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger import compiled
from chainledger.checkpoint import Checkpoint, sign_checkpoint
from chainledger.clock import format_ts
from chainledger.crypto import load_private_key
from chainledger.entry import encode_entry
from chainledger.frontier import Frontier
from chainledger.gc_tuning import settled_heap
from chainledger.ledger import Ledger, key_path
from chainledger.note import Signer
from chainledger.rules import Context
from chainledger.statement import SignedStatement, make_statement, sign_statement
from chainledger.store.base import CheckpointRow, EntryRow
from chainledger.store.entry_codec import pack_statement
from chainledger.verify import verify_ledger

ROOT = Path(__file__).resolve().parent.parent


def run_info() -> dict[str, Any]:
    """When and where a benchmark or evidence run happened (the start of its JSON), and
    whether chainledger's hot modules ran compiled (`chainledger.compiled`)."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "compiled": compiled.active(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _ed25519_checks(seconds: float, clock: Any) -> float:
    """Seconds of ``clock`` per Ed25519 verification, over ``seconds`` of it, one thread."""
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    msg = os.urandom(320)  # about the size of a signed statement
    sig = key.sign(msg)
    n, start = 0, clock()
    while (elapsed := clock() - start) < seconds:
        for _ in range(200):
            pub.verify(sig, msg)
        n += 200
    return float(elapsed / n)


def ed25519_verify_rate(seconds: float = 1.5) -> float:
    """Verifications per second on one core (one thread)."""
    return 1 / _ed25519_checks(seconds, time.perf_counter)


def two_at_once(measure: Any, seconds: float) -> list[float]:
    """``measure(seconds)`` in two processes at the same time, one per core."""
    with ProcessPoolExecutor(2) as pool:
        return list(pool.map(measure, [seconds, seconds]))


def ed25519_two_process_rate(seconds: float = 1.5) -> float:
    """Verifications per second of two processes at once, one per core: what the two cores
    deliver together (on a shared host, less than twice one core's rate)."""
    return sum(two_at_once(ed25519_verify_rate, seconds))


def ratio_run(measure: Any) -> tuple[float, float, Any]:
    """Run ``measure()`` (returning (rate, details)) between two baseline measurements.

    Returns (rate / mean baseline, mean baseline, details): the baseline is taken right
    before and right after, so drift of the shared machine during the run is averaged.
    """
    before = ed25519_verify_rate()
    rate, details = measure()
    after = ed25519_verify_rate()
    base = (before + after) / 2
    return rate / base, base, details


def median_of(runs: list[tuple[float, float, Any]]) -> dict[str, Any]:
    ratios = [r for r, _, _ in runs]
    i = ratios.index(statistics.median_low(ratios))
    return {
        "ratio": round(ratios[i], 3),
        "ratios_all_runs": [round(r, 3) for r in ratios],
        "baseline_ed25519_verify_per_s": round(runs[i][1], 1),
        "run": runs[i][2],
    }


def bench_appends_open_loop(led: Ledger, n: int, submitters: int = 2) -> tuple[float, Any]:
    """Pre-signed statements submitted by a few threads as fast as the sequencer takes them.

    Latency is submit-to-receipt (durably committed) for each append.
    """
    stmts = [led.platform_statement("note", text=f"open {i}") for i in range(n)]
    done: list[float] = [0.0] * n
    sent: list[float] = [0.0] * n

    def submit(k: int) -> list[Any]:
        futures = []
        for i in range(k, n, submitters):
            sent[i] = time.perf_counter()
            f = led.submit(stmts[i])
            f.add_done_callback(lambda _f, i=i: done.__setitem__(i, time.perf_counter()))
            futures.append(f)
        return futures

    seq = led.sequencer
    batches0, appended0 = seq.batches, seq.appended
    start = time.perf_counter()
    with ThreadPoolExecutor(submitters) as pool:
        futures = [f for fs in pool.map(submit, range(submitters)) for f in fs]
    for f in futures:
        f.result()
    elapsed = time.perf_counter() - start
    lat = [d - s for d, s in zip(done, sent, strict=True)]
    batches = seq.batches - batches0
    return n / elapsed, {
        "appends": n,
        "submitting_threads": submitters,
        "seconds": round(elapsed, 3),
        "appends_per_s": round(n / elapsed, 1),
        "batches": batches,
        "mean_batch": round((seq.appended - appended0) / max(batches, 1), 1),
        "p50_ms": round(pct(lat, 0.50) * 1000, 2),
        "p99_ms": round(pct(lat, 0.99) * 1000, 2),
    }


def bench_appends_closed_loop(led: Ledger, clients: int, seconds: float) -> tuple[float, Any]:
    """``clients`` threads each append pre-signed notes and wait for every receipt."""
    per_client = int(seconds * 8_000 / clients) + 50  # more than can be used
    stock = [
        [led.platform_statement("note", text=f"c{c} n{i}") for i in range(per_client)]
        for c in range(clients)
    ]
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    counts = [0] * clients

    def client(c: int) -> None:
        mine: list[float] = []
        for stmt in stock[c]:
            t0 = time.perf_counter()
            if t0 >= stop:
                break
            led.append(stmt)
            mine.append(time.perf_counter() - t0)
        counts[c] = len(mine)
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    total = sum(counts)
    return total / elapsed, {
        "clients": clients,
        "appends": total,
        "seconds": round(elapsed, 3),
        "appends_per_s": round(total / elapsed, 1),
        "p50_ms": round(pct(latencies, 0.50) * 1000, 2),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 2),
    }


_NOTE_KEY: Ed25519PrivateKey | None = None


def _load_note_key(path: str) -> None:
    """In a signing process: load the platform key."""
    global _NOTE_KEY
    _NOTE_KEY = load_private_key(Path(path))


def _sign_notes(actor: str, start: int, n: int) -> list[tuple[bytes, bytes, bytes]]:
    """In a signing process: ``n`` platform notes, as (canonical statement, signature,
    statement packed for storage)."""
    assert _NOTE_KEY is not None
    now = datetime.now(UTC)
    out = []
    for i in range(start, start + n):
        st = sign_statement(
            make_statement("note", actor, now, os.urandom, text=f"bulk {i}"), _NOTE_KEY
        )
        out.append((st.body, st.sig, pack_statement(st.body)))
    return out


def build(db: Path, sizes: list[int]) -> dict[int, Path]:
    """A real ledger of max(sizes) platform notes, copied (online backup) at each size.

    The bulk path of this benchmark: the notes are signed by the platform key in two
    processes (the key file beside the database), and appended in batches of 20,000
    by this process, each in one transaction, exactly as the sequencer would append
    them (the same entry encoding, chain, Merkle nodes, admission rules and one signed
    checkpoint per batch), but without checking again the signatures it has just
    made. `verify` of the 10^5 copy (below) recomputes every one of them.
    """
    copies: dict[int, Path] = {}
    led = Ledger.init(db)
    batch = 20_000
    try:
        store, suite, rules = led.store, led.suite, led.rules
        signer = Signer(led.origin, load_private_key(key_path(db)))
        actor = led.platform_id
        frontier = Frontier(suite, 1, [suite.leaf(led.entry(0) or b"")])
        prev = frontier.hashes[0].hex()
        target = max(sizes)
        stops = sorted(set(sizes))
        pool = ProcessPoolExecutor(2, initializer=_load_note_key, initargs=(str(key_path(db)),))
        todo: list[Any] = []  # futures of signed notes, in order
        planned = 1

        def plan() -> None:
            nonlocal planned
            while len(todo) < 4 and planned < target:
                stop = next(s for s in stops if s > planned)
                n = min(stop - planned, batch)
                half = n // 2
                todo.append(
                    (
                        pool.submit(_sign_notes, actor, planned, half),
                        pool.submit(_sign_notes, actor, planned + half, n - half),
                    )
                )
                planned += n

        plan()
        while todo:
            first, second = todo.pop(0)
            signed = first.result() + second.result()
            plan()
            with store.write() as w:
                seq = frontier.size
                ts = format_ts(datetime.now(UTC))
                rows: list[EntryRow] = []
                created: list[Any] = []
                for body, sig, packed in signed:
                    st = SignedStatement.trusted(json.loads(body), body, sig)
                    ctx = Context(seq, ts, None, suite, w)
                    rules.admit(w, st, ctx).apply(w, st, ctx)
                    data = encode_entry(seq, ts, prev, st)
                    leaf = suite.leaf(data)
                    created += frontier.append(leaf)
                    rows.append(EntryRow(seq, data, st.kind, st.actor, st.nonce, packed))
                    prev = leaf.hex()
                    seq += 1
                w.add_entries(rows)
                w.add_nodes(created)
                root = frontier.root()
                note = sign_checkpoint(Checkpoint(led.origin, frontier.size, root), signer)
                w.add_checkpoint(CheckpointRow(frontier.size, root, note, ts))
            size = frontier.size
            print(f"  built {size} entries", file=sys.stderr, flush=True)
            if size in sizes:
                copies[size] = db.with_name(f"ledger-{size}.db")
                src = sqlite3.connect(db)
                dst = sqlite3.connect(copies[size])
                src.backup(dst)
                src.close()
                dst.close()
        pool.shutdown()
    finally:
        led.close()
    return copies


def proof_worker(db: Path, samples: int) -> dict[str, Any]:
    """Runs in a fresh process: open the ledger, time random proofs."""
    t_open = time.perf_counter()
    led = Ledger.open(db, writable=False)
    opened_ms = (time.perf_counter() - t_open) * 1000
    rng = random.Random(1)
    n = led.size()
    inc: list[float] = []
    con: list[float] = []
    root = led.root(n)
    for _ in range(samples):
        i = rng.randrange(n)
        t0 = time.perf_counter()
        proof = led.inclusion_proof(i, n)
        inc.append(time.perf_counter() - t0)
        proof.verify(led.suite.leaf(led.entry(i)), root)
        m = rng.randrange(1, n + 1)
        t0 = time.perf_counter()
        led.consistency_proof(m, n)
        con.append(time.perf_counter() - t0)
    led.close()
    return {
        "size": n,
        "db_bytes": db.stat().st_size,
        "open_ms": round(opened_ms, 2),
        "first_inclusion_ms": round(inc[0] * 1000, 3),
        "inclusion_p50_ms": round(pct(inc, 0.5) * 1000, 3),
        "inclusion_p99_ms": round(pct(inc, 0.99) * 1000, 3),
        "consistency_p50_ms": round(pct(con, 0.5) * 1000, 3),
        "consistency_p99_ms": round(pct(con, 0.99) * 1000, 3),
    }


def ed25519_cpu_per_check(seconds: float = 1.0) -> float:
    """CPU seconds one Ed25519 verification takes in this process (not wall time: another
    tenant's load on the machine stretches wall time, much less CPU time)."""
    return _ed25519_checks(seconds, time.process_time)


def bench_verify(db: Path) -> tuple[float, Any]:
    """Full verify's rate; and its CPU time per entry in every process (this one and its
    workers), next to one Ed25519 check's, for the ratio the CPU it used allows on two
    cores of its own: 2 x check / (CPU per entry). On a shared machine the wall-clock
    ratio also depends on what else runs; this one mostly does not. In the settled heap
    that ``chainledger verify`` runs in (`chainledger.gc_tuning`)."""
    led = Ledger.open(db, writable=False)
    try:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, t0 = time.process_time(), time.perf_counter()
        with settled_heap():
            report = verify_ledger(led.store, rules=led.rules)
        elapsed = time.perf_counter() - t0
        main_cpu = time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        led.close()
    workers_cpu = (after.ru_utime + after.ru_stime) - (kids.ru_utime + kids.ru_stime)
    check = ed25519_cpu_per_check()
    per_entry = (main_cpu + workers_cpu) / report.entries
    alone, pair = ed25519_verify_rate(), ed25519_two_process_rate()
    return report.entries / elapsed, {
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "seconds": round(elapsed, 2),
        "entries_per_s": round(report.entries / elapsed, 1),
        "cpu_us_per_entry": round(per_entry * 1e6, 1),
        "main_cpu_us_per_entry": round(main_cpu / report.entries * 1e6, 1),
        "workers_cpu_us_per_entry": round(workers_cpu / report.entries * 1e6, 1),
        "ed25519_cpu_us_per_check": round(check * 1e6, 1),
        "cpu_bound_ratio_2_cores": round(2 * check / per_entry, 3),
        "ed25519_one_process_per_s": round(alone, 1),
        "ed25519_two_processes_per_s": round(pair, 1),
        "two_core_scaling": round(pair / alone, 3),
        "ratio_to_two_processes": round(report.entries / elapsed / pair, 3),
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    names = ["appends\n(open loop)", "appends\n(64 clients)", "verify"]
    r = result["ratios"]
    ratios = [
        r["appends_vs_ed25519"],
        r["appends_closed_loop_64_vs_ed25519"],
        r["verify_vs_ed25519"],
    ]
    goals = [0.8, 0.8, 1.5]
    ax1.bar(names, ratios, color=["#4c72b0", "#8172b2", "#55a868"])
    for i, g in enumerate(goals):
        ax1.hlines(g, i - 0.4, i + 0.4, colors="red", linestyles="dashed")
        ax1.text(i, ratios[i], f"{ratios[i]:.2f}x", ha="center", va="bottom")
    ax1.set_ylabel("ratio to one core's Ed25519 verify rate")
    ax1.set_title("throughput (dashed: goal)")
    sizes = [p["size"] for p in result["proofs"]]
    for key, label in [
        ("inclusion_p50_ms", "inclusion p50"),
        ("inclusion_p99_ms", "inclusion p99"),
        ("consistency_p50_ms", "consistency p50"),
        ("consistency_p99_ms", "consistency p99"),
    ]:
        ax2.plot(sizes, [p[key] for p in result["proofs"]], marker="o", label=label)
    ax2.axhline(1.0, color="red", linestyle="dashed", linewidth=1)
    ax2.set_xscale("log")
    ax2.set_xlabel("entries")
    ax2.set_ylabel("ms")
    ax2.set_title("proof latency, fresh process (dashed: 1 ms)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, short runs")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--proof-worker", nargs=2, metavar=("DB", "SAMPLES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.proof_worker:
        print(json.dumps(proof_worker(Path(args.proof_worker[0]), int(args.proof_worker[1]))))
        return

    sizes = [10**3, 10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
    reps = 1 if args.quick else 3
    n_open = 5_000 if args.quick else 20_000
    with tempfile.TemporaryDirectory(prefix="chainledger-bench-") as tmpdir:
        tmp = Path(tmpdir)
        led = Ledger.init(tmp / "appends.db")
        try:
            print("signed appends, open loop (sequencer throughput)", file=sys.stderr)
            open_loop = median_of(
                [ratio_run(lambda: bench_appends_open_loop(led, n_open)) for _ in range(reps)]
            )
            print("signed appends, 64 closed-loop clients", file=sys.stderr)
            closed_loop = median_of(
                [ratio_run(lambda: bench_appends_closed_loop(led, 64, 5.0)) for _ in range(reps)]
            )
        finally:
            led.close()
        print(f"building ledgers of {sizes} entries", file=sys.stderr)
        t0 = time.perf_counter()
        copies = build(tmp / "ledger.db", sizes)
        build_s = time.perf_counter() - t0
        proofs = []
        for size in sizes:
            print(f"proofs at {size} entries (fresh process)", file=sys.stderr)
            out = subprocess.run(
                [sys.executable, __file__, "--proof-worker", str(copies[size]), "2000"],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            proofs.append(json.loads(out.stdout))
        verify_size = sizes[1]
        print(f"full verify at {verify_size} entries", file=sys.stderr)
        verify = median_of(
            [ratio_run(lambda: bench_verify(copies[verify_size])) for _ in range(reps)]
        )
    ratios = {
        "appends_vs_ed25519": open_loop["ratio"],
        "appends_closed_loop_64_vs_ed25519": closed_loop["ratio"],
        "verify_vs_ed25519": verify["ratio"],
        "inclusion_p99_growth_smallest_to_largest": round(
            proofs[-1]["inclusion_p99_ms"] / proofs[0]["inclusion_p99_ms"], 2
        ),
        "max_proof_p99_ms": max(
            max(p["inclusion_p99_ms"], p["consistency_p99_ms"]) for p in proofs
        ),
    }
    result = {
        "benchmark": "log core",
        **run_info(),
        "quick": args.quick,
        "method": (
            "Each throughput is divided by one core's Ed25519 verify rate measured right "
            "before and right after it in the same process; the median of the repetitions "
            "is reported, with every repetition's ratio beside it."
        ),
        "appends_open_loop": open_loop,
        "appends_closed_loop": closed_loop,
        "build_seconds": round(build_s, 1),
        "proofs": proofs,
        "verify": verify,
        "ratios": ratios,
        "goals": {
            "appends_vs_ed25519": ">= 0.8",
            "verify_vs_ed25519": ">= 1.5",
            "max_proof_p99_ms": "<= 1",
            "inclusion_p99_growth_smallest_to_largest": "<= 2",
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "bench_log_quick" if args.quick else "bench_log"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out / f"{name}.png")
    print(json.dumps(ratios, indent=2))


if __name__ == "__main__":
    main()
