"""Reliability evidence: crashes under load, power-loss copies, concurrent writers.

Three experiments on fresh ledgers (the machinery is tests/evidence_support.py, which the
tests tests/api/test_crash_load.py and tests/api/test_concurrency_writers.py run smaller):

1. Crash under load: HTTP clients keep signed writes (``grant.create`` by two holders,
   POST /v1/statements) and counter reads (``access.read`` under a standing grant, POST
   /v1/reads) going against ``chainledger serve`` while its process group is SIGKILLed 20
   times (``--quick``: 5), each at a random moment 0.3-2 s after it came up, and restarted
   at once, alternately with 1 and 4 uvicorn workers. Checked afterwards: every receipt a
   client received is in the ledger at its seq with the same leaf hash and is the statement
   it sent; no entry nobody sent, none twice; every read that released data has its
   ``access.read`` entry (reads answered vs entries counted); ``chainledger verify`` passes.
2. Power loss: after the last restart, with the load still on, the db, -wal and -shm files
   are copied 10 times (``--quick``: 4) at random moments, with no checkpoint first. Each
   copy must verify, be a prefix of the final ledger, and hold every receipt acknowledged
   before the copy started. (A read transaction is held while the three files are copied,
   so that the copy is a state a power cut could leave; the copies read the page cache, so
   they show crash consistency and WAL recovery, not fsync ordering.)
3. Concurrency: ``chainledger serve --workers 4`` under the same HTTP load while a
   ``chainledger note`` loop (the CLI) and a library writer process (three threads on one
   `Ledger`) append to the same database. Checked: every request answered 200, one chain
   (verify passes), no seq twice, every receipt in the ledger, as many entries appended as
   receipts handed out.

Writes docs/evidence_reliability.json and .png (``--quick``: evidence_reliability_quick.*)
and prints a summary; exits 1 if any invariant was violated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_log import run_info  # noqa: E402
from evidence_support import (  # noqa: E402
    ConcurrencyRun,
    CrashRun,
    Outcome,
    Target,
    check_copy,
    check_ledger,
    concurrency_run,
    crash_run,
    ledger_leaves,
    prepare_ledger,
    verify_cli,
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cumulative(outcomes: list[Outcome], sources: set[str]) -> list[float]:
    """The times (run seconds) at which receipts of ``sources`` arrived, in order."""
    return sorted(o.done for o in outcomes if o.acked and o.source in sources)


def check_end(
    target: Target, figures: dict[str, Any], run: CrashRun | ConcurrencyRun, violations: list[str]
) -> str:
    """After a run: ``chainledger verify`` passes with every entry counted, the server
    stopped cleanly and logged no trouble (each failure appended to ``violations``).
    Returns verify's output."""
    ok, output, entries = verify_cli(target.db)
    if not ok or entries != figures["entries_after"]:
        violations.append(f"chainledger verify: {output[-300:]}")
    if not run.clean_stop:
        violations.append("the server did not stop cleanly at the end")
    violations += [f"server log: {line}" for line in run.server_trouble[:20]]
    return output


def crash_experiment(tmp: Path, kills: int, copies: int, seed: int) -> dict[str, Any]:
    target = prepare_ledger(tmp / "ledger.db")
    log(f"crash run: {kills} kills, then {copies} power-loss copies (seed {seed})")
    run = crash_run(
        target, tmp, kills=kills, copies=copies, rng=random.Random(seed),
        uptime=(0.3, 2.0), copy_gap=(0.1, 0.8), writers=4, readers=4, server_workers=(1, 4),
        log=log,
    )  # fmt: skip
    figures, violations = check_ledger(target, run.outcomes, allow_unanswered=True)
    output = check_end(target, figures, run, violations)
    log(f"crash run checked: {figures['receipts']} receipts, verify: {output}")
    final, _ = ledger_leaves(target.db)
    copy_rows = []
    for copy in run.copies:
        row, bad = check_copy(copy, run.outcomes, final)
        copy_rows.append(row)
        violations += bad
    log(f"{len(copy_rows)} copies checked")
    rows = run.per_kill()
    return {
        "kills": len(run.kills),
        "server_workers": "1 and 4, alternately (the first start: 1)",
        "seconds": round(run.seconds, 1),
        "ledger": figures,
        "verify": output,
        "kills_detail": rows,
        "restart_to_healthy_s": {
            "median": round(statistics.median(run.start_seconds), 2),
            "max": round(max(run.start_seconds), 2),
        },
        "kills_that_cut_requests": sum(1 for r in rows if r["requests_cut_in_flight"]),
        "power_loss_copies": copy_rows,
        "violations": violations,
        "_run": run,
    }


def concurrency_experiment(tmp: Path, seconds: float) -> dict[str, Any]:
    target = prepare_ledger(tmp / "ledger.db")
    log(f"concurrency run: 4 workers + CLI + library writers for {seconds:.0f} s")
    run = concurrency_run(target, seconds=seconds, workers=4, writers=4, readers=4, log=log)
    figures, violations = check_ledger(target, run.outcomes, allow_unanswered=False)
    if (run.library_exit, run.library_stderr) != (0, ""):
        violations.append(f"library writer exit {run.library_exit}: {run.library_stderr[-300:]}")
    output = check_end(target, figures, run, violations)
    log(f"concurrency run checked: {figures['receipts']} receipts, verify: {output}")
    return {
        "workers": 4,
        "writer_processes": [
            "chainledger note loop (one process per append)",
            "library writer (3 threads on one Ledger)",
        ],
        "seconds": round(run.seconds, 1),
        "server_start_s": round(run.start_seconds, 2),
        "ledger": figures,
        "verify": output,
        "violations": violations,
        "_run": run,
    }


def plot(crash: dict[str, Any], conc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run: CrashRun = crash["_run"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for sources, label, color in (({"write"}, "writes", "#4c72b0"),
                                  ({"read"}, "reads", "#55a868")):  # fmt: skip
        times = cumulative(run.outcomes, sources)
        ax.step(times, range(1, len(times) + 1), where="post", color=color,
                label=f"{label} acknowledged ({len(times)})")  # fmt: skip
    for i, (killed, back) in enumerate(run.downtime):
        ax.axvspan(killed, back, color="#c44e52", alpha=0.15, lw=0)
        ax.axvline(
            killed, color="#c44e52", lw=0.8, label="SIGKILL (shaded: down)" if i == 0 else None
        )
    for i, c in enumerate(run.copies):
        ax.axvline(c.started, color="#8172b2", lw=0.8, ls=":",
                   label="power-loss copy" if i == 0 else None)  # fmt: skip
    ax.set_xlabel("seconds")
    ax.set_ylabel("receipts received")
    lost = crash["ledger"]["receipts"] - crash["ledger"]["receipts_in_ledger"]
    ax.set_title(f"crash run: {len(run.kills)} SIGKILLs (1 and 4 workers), {lost} receipts lost",
                 fontsize=10)  # fmt: skip
    ax.legend(fontsize=7, loc="upper left")

    ax = axes[1]
    rows = crash["power_loss_copies"]
    x = range(len(rows))
    ax.bar(x, [r["entries"] for r in rows], color="#8172b2", label="entries in the copy")
    ax.plot(x, [r["highest_seq_acked_before"] + 1 for r in rows], "o", color="#dd8452",
            label="highest receipt acknowledged before the copy (+1)")  # fmt: skip
    ax.set_xticks(list(x), [str(i) for i in x])
    ax.set_xlabel("copy")
    low = min((r["entries"] for r in rows), default=0)
    ax.set_ylim(bottom=max(0, low - 400))
    good = sum(r["verified"] for r in rows)
    ax.set_title(f"power-loss copies (db + WAL, no checkpoint): {good}/{len(rows)} verify",
                 fontsize=10)  # fmt: skip
    ax.legend(fontsize=7, loc="upper left")

    ax = axes[2]
    crun: ConcurrencyRun = conc["_run"]
    for source, color in (("write", "#4c72b0"), ("read", "#55a868"), ("cli", "#c44e52"),
                          ("library", "#8172b2")):  # fmt: skip
        times = cumulative(crun.outcomes, {source})
        ax.step(times, range(1, len(times) + 1), where="post", color=color,
                label=f"{source} ({len(times)})")  # fmt: skip
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel("seconds")
    ax.set_ylabel("receipts (symlog)")
    verdict = "one chain, verified" if not conc["violations"] else "VIOLATIONS"
    ax.set_title(f"4 server workers + CLI + library writers: {verdict}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 kills, 4 copies, 5 s of concurrency")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--seed", type=int, default=None, help="kill and copy moments (random)")
    args = ap.parse_args()
    kills, copies, seconds = (5, 4, 5.0) if args.quick else (20, 10, 20.0)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chainledger-evidence-") as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "crash").mkdir()
        (tmp / "concurrency").mkdir()
        crash = crash_experiment(tmp / "crash", kills, copies, seed)
        conc = concurrency_experiment(tmp / "concurrency", seconds)
    violations = crash["violations"] + conc["violations"]
    result = {
        "evidence": "reliability: crashes under load, power-loss copies, concurrent writers",
        **run_info(),
        "quick": args.quick,
        "seed": seed,
        "method": __doc__.split("\n\n", 1)[1].rsplit("\n\nWrites", 1)[0],
        "crash": {k: v for k, v in crash.items() if not k.startswith("_")},
        "concurrency": {k: v for k, v in conc.items() if not k.startswith("_")},
        "violations": violations,
        "total_seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "evidence_reliability_quick" if args.quick else "evidence_reliability"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    plot(crash, conc, args.out / f"{name}.png")
    cl, cc = crash["ledger"], conc["ledger"]
    summary = {
        "kills": crash["kills"],
        "kills_that_cut_requests_in_flight": crash["kills_that_cut_requests"],
        "crash_receipts": cl["receipts_by_source"],
        "crash_receipts_in_ledger": f"{cl['receipts_in_ledger']}/{cl['receipts']}",
        "crash_unanswered_requests": {
            k: v for k, v in cl["statuses"].items() if not k.endswith(" 200")
        },
        "crash_requests_cut_in_flight": cl["unanswered_cut_in_flight"],
        "crash_unanswered_but_committed": cl["unanswered_but_committed"],
        "reads_answered_vs_access_read_entries": f"{cl['reads_answered_200']} / "
        f"{cl['access_read_entries']}",
        "restart_to_healthy_s": crash["restart_to_healthy_s"],
        "power_loss_copies_verified": f"{sum(r['verified'] for r in crash['power_loss_copies'])}"
        f"/{len(crash['power_loss_copies'])}",
        "concurrency_receipts": cc["receipts_by_source"],
        "concurrency_entries_appended_vs_receipts": f"{cc['entries_appended']} / {cc['receipts']}",
        "verify": [crash["verify"], conc["verify"]],
        "violations": violations,
        "total_seconds": result["total_seconds"],
        "written": [f"docs/{name}.json", f"docs/{name}.png"],
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if violations:
        sys.exit(1)


if __name__ == "__main__":
    main()
