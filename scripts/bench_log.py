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
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger.ledger import Ledger
from chainledger.verify import verify_ledger

ROOT = Path(__file__).resolve().parent.parent


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def ed25519_verify_rate(seconds: float = 1.5) -> float:
    """Verifications per second on one core (one thread)."""
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    msg = os.urandom(320)  # about the size of a signed statement
    sig = key.sign(msg)
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(200):
            pub.verify(sig, msg)
        n += 200
    return n / elapsed


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


def build(db: Path, sizes: list[int]) -> dict[int, Path]:
    """Append notes up to max(sizes), copying the database at each size (online backup)."""
    copies: dict[int, Path] = {}
    led = Ledger.init(db, max_batch=4096)
    try:
        target = max(sizes)
        pool = ThreadPoolExecutor(2)
        while (size := led.size()) < target:
            stop = next(s for s in sorted(sizes) if s > size)
            n = min(stop - size, 20_000)
            stmts = list(
                pool.map(lambda i: led.platform_statement("note", text=f"bulk {i}"), range(n))
            )
            futures = list(pool.map(led.submit, stmts))
            for f in futures:
                f.result()
            size = led.size()
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


def bench_verify(db: Path) -> tuple[float, Any]:
    led = Ledger.open(db, writable=False)
    try:
        t0 = time.perf_counter()
        report = verify_ledger(led.store, rules=led.rules)
        elapsed = time.perf_counter() - t0
    finally:
        led.close()
    return report.entries / elapsed, {
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "seconds": round(elapsed, 2),
        "entries_per_s": round(report.entries / elapsed, 1),
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
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
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
