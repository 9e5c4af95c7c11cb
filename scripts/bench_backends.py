"""The same HTTP write and read load on each backend, side by side (issue 8).

Configurations, each on a fresh ledger with the test cast (tests/evidence_support.py):

* ``sqlite x1``: one ``chainledger serve`` process on a SQLite file (the baseline);
* ``postgresql x1``: one process on a database of a throwaway PostgreSQL cluster
  (tests/pg_support.py: Debian's server, initdb in a temporary directory, fsync on);
* ``postgresql x3``: three processes (three API nodes, each on its own port) on one database.

Load: the same closed loop for every configuration, ``--writers`` threads posting signed
``grant.create`` statements (POST /v1/statements) and ``--readers`` threads posting counter
reads under a standing grant (POST /v1/reads), each a fresh statement signed just before it
is sent, spread over the nodes. Each configuration runs ``--rounds`` times, alternating, for
``--seconds`` each; the figures are the median round. Ratios are to ``sqlite x1`` measured in
the same run (the machine is shared and noisy: absolute rates mean little).

The load generator is Python (threads, httpx) on the same 2 cores as the servers and the
database, so these are the rates of this machine as a whole, not of a server alone; the
JSON records the client's and the machine's CPU use so that the limit can be seen.

Writes docs/bench_backends.json and .png (``--quick``: bench_backends_quick.*).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_log import pct, run_info  # noqa: E402
from evidence_support import (  # noqa: E402
    KillableServer,
    Load,
    Outcome,
    Recorder,
    check_ledger,
    prepare_ledger,
    verify_cli,
)
from pg_support import start_cluster  # noqa: E402

from chainledger.location import Location  # noqa: E402

DOCS = ROOT / "docs"
CONFIGS = [("sqlite", 1), ("postgresql", 1), ("postgresql", 3)]


def label(backend: str, nodes: int) -> str:
    return f"{backend} x{nodes}"


def spread(total: int, parts: int) -> list[int]:
    """``total`` threads over ``parts`` nodes, as evenly as possible."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def cpu_seconds() -> tuple[float, float]:
    """(this process's CPU seconds, the whole machine's busy CPU seconds)."""
    own = time.process_time()
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    busy = (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")
    return own, busy


def one_round(
    backend: str, nodes: int, work: Path, cluster: Any, *, seconds: float, writers: int,
    readers: int,
) -> dict[str, Any]:  # fmt: skip
    """One configuration once: a fresh ledger, ``nodes`` servers, the load, the checks."""
    if backend == "sqlite":
        where = Location.of(work / "ledger.db")
        url = None
    else:
        url = cluster.create_database()
        where = Location.of(url, work / "keys")
    try:
        target = prepare_ledger(where)
        servers = [KillableServer(target.db) for _ in range(nodes)]
        for server in servers:
            server.start()
        rec = Recorder()
        loads = [
            Load(s.url, target, rec, writers=w, readers=r)
            for s, w, r in zip(servers, spread(writers, nodes), spread(readers, nodes), strict=True)
        ]
        try:
            own0, busy0 = cpu_seconds()
            t0 = rec.now()
            for load in loads:
                load.start()
            time.sleep(seconds)
            for load in loads:
                load.stop()
            elapsed = rec.now() - t0
            own1, busy1 = cpu_seconds()
        finally:
            clean = all([s.clean_exit(s.stop()) for s in servers])  # noqa: C419 - stop every one
        outcomes = rec.outcomes()
        figures, violations = check_ledger(target, outcomes, allow_unanswered=False)
        ok, output, _ = verify_cli(target.db)
        result: dict[str, Any] = {
            "seconds": round(elapsed, 2),
            "client_cores": round((own1 - own0) / elapsed, 2),
            "machine_cores": round((busy1 - busy0) / elapsed, 2),
            "clean_stop": clean,
            "violations": violations,
            "verified": ok,
            "verify_output": output[-300:],
            "entries_after": figures["entries_after"],
        }
        for source in ("write", "read"):
            result[source] = rates(outcomes, source, elapsed)
        return result
    finally:
        if url is not None:
            cluster.drop_database(url)


def rates(outcomes: list[Outcome], source: str, elapsed: float) -> dict[str, float]:
    acked = [o for o in outcomes if o.source == source and o.acked]
    latencies = [(o.done - o.sent) * 1000 for o in acked] or [0.0]
    return {
        "per_second": round(len(acked) / elapsed, 1),
        "p50_ms": round(pct(latencies, 0.50), 2),
        "p99_ms": round(pct(latencies, 0.99), 2),
    }


def summarize(rounds: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    base = {s: statistics.median(r[s]["per_second"] for r in rounds["sqlite x1"])
            for s in ("write", "read")}  # fmt: skip
    out: dict[str, Any] = {}
    for name, runs in rounds.items():
        row: dict[str, Any] = {}
        for source in ("write", "read"):
            ordered = sorted(runs, key=lambda r, s=source: r[s]["per_second"])
            median = ordered[len(ordered) // 2][source]
            row[source] = {
                **median,
                "ratio_to_sqlite_x1": round(median["per_second"] / base[source], 2)
                if base[source]
                else None,
                "runs_per_second": [r[source]["per_second"] for r in runs],
            }
        row["client_cores"] = statistics.median(r["client_cores"] for r in runs)
        row["machine_cores"] = statistics.median(r["machine_cores"] for r in runs)
        row["all_verified"] = all(r["verified"] for r in runs)
        row["violations"] = [v for r in runs for v in r["violations"]]
        out[name] = row
    return out


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.38
    for i, source in enumerate(("write", "read")):
        values = [summary[n][source]["per_second"] for n in names]
        xs = [x + (i - 0.5) * width for x in range(len(names))]
        bars = ax.bar(xs, values, width, label=f"{source}s/s")
        for bar, n in zip(bars, names, strict=True):
            ratio = summary[n][source]["ratio_to_sqlite_x1"]
            ax.annotate(f"{ratio}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)  # fmt: skip
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("answered per second")
    ax.set_title("HTTP writes and reads by backend (ratio to sqlite x1, same run)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 4 s: a smoke run")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--writers", type=int, default=6)
    parser.add_argument("--readers", type=int, default=6)
    args = parser.parse_args()
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    rounds_n = args.rounds or (1 if args.quick else 3)
    started = time.monotonic()
    cluster = start_cluster()
    rounds: dict[str, list[dict[str, Any]]] = {label(b, n): [] for b, n in CONFIGS}
    try:
        for r in range(rounds_n):
            for backend, nodes in CONFIGS:
                with tempfile.TemporaryDirectory(prefix="chainledger-bench-") as tmp:
                    res = one_round(backend, nodes, Path(tmp), cluster, seconds=seconds,
                                    writers=args.writers, readers=args.readers)  # fmt: skip
                rounds[label(backend, nodes)].append(res)
                print(f"round {r + 1} {label(backend, nodes)}: "
                      f"{res['write']['per_second']} writes/s, {res['read']['per_second']} "
                      f"reads/s, verified {res['verified']}", file=sys.stderr)  # fmt: skip
    finally:
        cluster.stop()
    summary = summarize(rounds)
    name = "bench_backends_quick" if args.quick else "bench_backends"
    report = {
        **run_info(),
        "load": {
            "writers": args.writers,
            "readers": args.readers,
            "seconds": seconds,
            "rounds": rounds_n,
            "client": "Python threads (httpx), closed loop",
        },
        "summary": summary,
        "rounds": rounds,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    (DOCS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(summary, DOCS / f"{name}.png")
    bad = [n for n, row in summary.items() if row["violations"] or not row["all_verified"]]
    print(json.dumps(summary, indent=2))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
