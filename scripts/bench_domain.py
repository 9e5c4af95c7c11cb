"""Benchmark of the domain at the seed's scale, with an Ed25519 baseline from the same run.

* ``chainledger demo --scale seed`` (7,808 assets, 3,085 authorized, 520,000
  reads) on a fresh ledger, then ``chainledger verify`` on it, each timed as a
  whole command (goal: build + verify <= 5 minutes on this machine);
* trace queries at that size, from a fresh process: by holder, asset, counter,
  issuer, purpose and a time window, p50/p99 (goal: p99 <= 10 ms);
* bytes per access entry, with every index, from SQLite's dbstat (goal <= 700).

Writes docs/bench_domain.json and docs/bench_domain.png (``--quick``: the small
demo, to docs/bench_domain_quick.*).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_log import ed25519_verify_rate, pct, run_info

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "chainledger")


STAT_KEYS = (
    "classes", "personal_classes", "enterprise_classes", "assets", "authorized_assets",
    "grants", "reads", "refusals",
)  # fmt: skip


def timed(*args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([CLI, *args], check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, out.stdout.strip()


def trace_worker(db: Path, samples: int) -> dict[str, Any]:
    """In a fresh process: time trace queries of every kind on random ids."""
    from chainledger.clock import format_ts
    from chainledger.store.projections import AccessFilter
    from chainledger.store.sqlite import SqliteStore

    store = SqliteStore(db)
    rng = random.Random(7)
    conn = sqlite3.connect(db)
    pick = {
        col: [r[0] for r in conn.execute(
            f"SELECT n.name FROM names n WHERE n.id IN (SELECT DISTINCT {col} FROM access)"  # noqa: S608
        )]
        for col in ("holder", "asset", "counter", "issuer", "purpose")
    }  # fmt: skip
    first, last = conn.execute("SELECT MIN(ts), MAX(ts) FROM access").fetchone()
    conn.close()
    results: dict[str, Any] = {}
    for kind in ("holder", "asset", "counter", "issuer", "purpose", "window"):
        times, rows = [], 0
        for _ in range(samples):
            if kind == "window":
                start = rng.randrange(first, last)
                since = datetime.fromtimestamp(start / 1000, UTC)
                flt = AccessFilter(
                    since=format_ts(since), until=format_ts(since + timedelta(minutes=1))
                )
            else:
                flt = AccessFilter(**{kind: rng.choice(pick[kind])})
            t0 = time.perf_counter()
            got = store.access(flt)
            times.append(time.perf_counter() - t0)
            rows += len(got)
        results[kind] = {
            "p50_ms": round(pct(times, 0.5) * 1000, 3),
            "p99_ms": round(pct(times, 0.99) * 1000, 3),
            "mean_rows": round(rows / samples, 1),
        }
    store.close()
    every = [v["p99_ms"] for v in results.values()]
    return {"queries": results, "worst_p99_ms": max(every), "page_rows": AccessFilter().limit}


def footprint(db: Path) -> dict[str, Any]:
    conn = sqlite3.connect(db)
    try:
        sizes = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
        entries = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        access = conn.execute("SELECT COUNT(*) FROM access").fetchone()[0]
    finally:
        conn.close()
    per_entry_tables = ("entries", "entries_nonce_key", "nodes", "checkpoints")
    access_tables = [n for n in sizes if n == "access" or n.startswith("access_")]
    access_tables += ["names", "sqlite_autoindex_names_1"]
    log_bytes = sum(sizes.get(n, 0) for n in per_entry_tables)
    access_bytes = sum(sizes.get(n, 0) for n in access_tables)
    return {
        "entries": entries,
        "access_rows": access,
        "file_bytes": db.stat().st_size,
        "log_bytes_per_entry": round(log_bytes / entries, 1),
        "access_log_bytes_per_row": round(access_bytes / access, 1),
        "bytes_per_access_entry": round(log_bytes / entries + access_bytes / access, 1),
        "by_table": dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:16]),
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    ax = axes[0]
    build, verify = result["build_seconds"], result["verify_seconds"]
    ax.bar(["demo build", "verify"], [build, verify], color=["#4c72b0", "#55a868"])
    ax.bar(["build + verify"], [build + verify], color="#8172b2")
    ax.axhline(300, color="red", linestyle="dashed", linewidth=1)
    ax.set_ylabel("seconds")
    ax.set_title(f"{result['scale']} scale (dashed: 5 min)")
    ax = axes[1]
    q = result["trace"]["queries"]
    names = list(q)
    ax.bar(names, [q[n]["p99_ms"] for n in names], color="#c44e52", label="p99")
    ax.bar(names, [q[n]["p50_ms"] for n in names], color="#4c72b0", label="p50")
    ax.axhline(10, color="red", linestyle="dashed", linewidth=1)
    ax.set_ylabel("ms")
    ax.set_title("trace queries (dashed: 10 ms)")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=30)
    ax = axes[2]
    f = result["footprint"]
    labels = ["log (entry, nodes,\ncheckpoints, replay key)", "access log\n(row + indexes)"]
    values = [f["log_bytes_per_entry"], f["access_log_bytes_per_row"]]
    ax.bar(labels, values, color=["#4c72b0", "#dd8452"])
    ax.axhline(700, color="red", linestyle="dashed", linewidth=1)
    ax.set_title(f"bytes per access entry: {f['bytes_per_access_entry']:.0f} (dashed: 700)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the small demo instead of the seed")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--trace-worker", nargs=2, metavar=("DB", "SAMPLES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.trace_worker:
        print(json.dumps(trace_worker(Path(args.trace_worker[0]), int(args.trace_worker[1]))))
        return
    scale = "small" if args.quick else "seed"
    with tempfile.TemporaryDirectory(prefix="chainledger-bench-domain-") as tmp:
        db = Path(tmp) / "seed.db"
        base_before = ed25519_verify_rate()
        timed("init", "--db", str(db))
        print(f"building the {scale} demo", file=sys.stderr)
        build_s, demo_out = timed("demo", "--db", str(db), "--scale", scale)
        print(demo_out, file=sys.stderr)
        print("verifying", file=sys.stderr)
        verify_s, verify_out = timed("verify", "--db", str(db))
        print(verify_out, file=sys.stderr)
        base_after = ed25519_verify_rate()
        _, stats_out = timed("stats", "--db", str(db), "--json")
        stats = json.loads(stats_out)
        print("trace queries (fresh process)", file=sys.stderr)
        out = subprocess.run(
            [sys.executable, __file__, "--trace-worker", str(db), "300"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        trace = json.loads(out.stdout)
        foot = footprint(db)
    base = (base_before + base_after) / 2
    result = {
        "benchmark": "domain at seed scale",
        **run_info(),
        "scale": scale,
        "baseline_ed25519_verify_per_s": {
            "before": round(base_before, 1),
            "after": round(base_after, 1),
        },
        "build_seconds": round(build_s, 1),
        "verify_seconds": round(verify_s, 1),
        "build_plus_verify_seconds": round(build_s + verify_s, 1),
        "entries": foot["entries"],
        "entries_per_s_build": round(foot["entries"] / build_s, 1),
        "entries_per_s_verify": round(foot["entries"] / verify_s, 1),
        "ratios": {
            "build_entries_per_s_vs_ed25519": round(foot["entries"] / build_s / base, 3),
            "verify_entries_per_s_vs_ed25519": round(foot["entries"] / verify_s / base, 3),
        },
        "stats": {k: stats[k] for k in STAT_KEYS},
        "trace": trace,
        "footprint": foot,
        "goals": {
            "build_plus_verify_seconds": "<= 300",
            "trace_p99_ms": "<= 10",
            "bytes_per_access_entry": "<= 700",
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "bench_domain_quick" if args.quick else "bench_domain"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out / f"{name}.png")
    print(json.dumps({k: result[k] for k in ("build_seconds", "verify_seconds")}, indent=2))


if __name__ == "__main__":
    main()
