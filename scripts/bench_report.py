"""Write docs/benchmarks.md from the benchmark results in docs/*.json.

Every figure in the report comes from those files (which the benchmark scripts
wrote); nothing is typed in by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent / "docs"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _verify_cpu(run: dict[str, Any]) -> list[str]:
    """The CPU accounting of the median verify run (absent from older result files)."""
    if "cpu_us_per_entry" not in run:
        return []
    return [
        f"CPU time of that verify run: {run['cpu_us_per_entry']} µs per entry in all "
        f"(main process {run['main_cpu_us_per_entry']}, signature workers "
        f"{run['workers_cpu_us_per_entry']}) against {run['ed25519_cpu_us_per_check']} µs "
        "per Ed25519 check: on two cores of its own that CPU allows "
        f"**{run['cpu_bound_ratio_2_cores']:.2f}x** one core's rate (2 x check / CPU per "
        "entry; the wall-clock ratio above also depends on what else ran on the machine).",
        "",
    ] + (
        [
            f"Two Ed25519 loops at once, one per core, right after it: "
            f"{run['ed25519_two_processes_per_s']:.0f} checks/s, "
            f"**{run['two_core_scaling']:.2f}x** one loop alone "
            f"({run['ed25519_one_process_per_s']:.0f}/s): what this machine's two cores "
            "deliver together, the ceiling of any two-core ratio. Verify ran at "
            f"**{run['ratio_to_two_processes']:.2f}** of that two-core rate (the goal of 1.5x "
            "one core is 0.75 of two ideal cores).",
            "",
        ]
        if "two_core_scaling" in run
        else []
    )


def log_section(r: dict[str, Any], name: str) -> list[str]:
    ratios = r["ratios"]
    ol, cl, ve = r["appends_open_loop"], r["appends_closed_loop"], r["verify"]
    lines = [
        f"## Log core (`scripts/bench_log.py`{' --quick' if r['quick'] else ''})",
        "",
        f"Run {r['date']} on {r['machine']['cpus']} CPUs, Python {r['machine']['python']}. "
        + r["method"],
        "",
        f"![log core]({name}.png)",
        "",
        "| measure | result | baseline (Ed25519 verifies/s, one core) | ratio | goal | |",
        "|---|---|---|---|---|---|",
        f"| signed appends, open loop (2 submitting threads, {ol['run']['appends']} appends) "
        f"| {ol['run']['appends_per_s']:.0f}/s, p50 {ol['run']['p50_ms']} ms, "
        f"p99 {ol['run']['p99_ms']} ms, mean batch {ol['run']['mean_batch']} "
        f"| {ol['baseline_ed25519_verify_per_s']:.0f} | {ratios['appends_vs_ed25519']:.2f}x "
        f"(runs: {', '.join(f'{x:.2f}' for x in ol['ratios_all_runs'])}) | >= 0.8x "
        f"| {verdict(ratios['appends_vs_ed25519'] >= 0.8)} |",
        f"| signed appends, 64 closed-loop client threads "
        f"| {cl['run']['appends_per_s']:.0f}/s, p50 {cl['run']['p50_ms']} ms, "
        f"p99 {cl['run']['p99_ms']} ms "
        f"| {cl['baseline_ed25519_verify_per_s']:.0f} "
        f"| {ratios['appends_closed_loop_64_vs_ed25519']:.2f}x "
        f"(runs: {', '.join(f'{x:.2f}' for x in cl['ratios_all_runs'])}) | (>= 0.8x) "
        f"| {verdict(ratios['appends_closed_loop_64_vs_ed25519'] >= 0.8)} |",
        f"| full `verify` of {ve['run']['entries']} entries, {ve['run']['checkpoints']} "
        f"checkpoints | {ve['run']['entries_per_s']:.0f} entries/s "
        f"| {ve['baseline_ed25519_verify_per_s']:.0f} | {ratios['verify_vs_ed25519']:.2f}x "
        f"(runs: {', '.join(f'{x:.2f}' for x in ve['ratios_all_runs'])}) | >= 1.5x "
        f"| {verdict(ratios['verify_vs_ed25519'] >= 1.5)} |",
        "",
        *_verify_cpu(ve["run"]),
        "The open-loop run submits the whole burst at once, so its latencies are mostly "
        "queueing behind the burst; the closed-loop run (each client waits for its receipt "
        "before sending the next) shows the latency a caller sees.",
        "",
        "Proofs, each size measured in a fresh process that opens the database "
        f"(build of the ledgers: {r['build_seconds']} s, by the benchmark's bulk path: "
        "platform notes signed in two processes and appended in batches of 20,000, each "
        "one transaction with one signed checkpoint; the 10^5 copy is the one `verify` "
        "checks above):",
        "",
        "| entries | database | inclusion p50 / p99 | consistency p50 / p99 | first proof |",
        "|---|---|---|---|---|",
    ]
    for p in r["proofs"]:
        per_entry = p["db_bytes"] / p["size"]
        lines.append(
            f"| {p['size']:,} | {p['db_bytes'] / 1e6:.1f} MB ({per_entry:.0f} B/entry) "
            f"| {p['inclusion_p50_ms']} / {p['inclusion_p99_ms']} ms "
            f"| {p['consistency_p50_ms']} / {p['consistency_p99_ms']} ms "
            f"| {p['first_inclusion_ms']} ms |"
        )
    growth = ratios["inclusion_p99_growth_smallest_to_largest"]
    worst = ratios["max_proof_p99_ms"]
    lines += [
        "",
        f"Worst proof p99: {worst} ms (goal <= 1 ms: {verdict(worst <= 1)}); inclusion p99 grows "
        f"{growth}x from the smallest to the largest ledger (goal <= 2x: {verdict(growth <= 2)}).",
        "",
    ]
    return lines


def domain_section(r: dict[str, Any], name: str) -> list[str]:
    f, t, st = r["footprint"], r["trace"], r["stats"]
    total = r["build_plus_verify_seconds"]
    base = r["baseline_ed25519_verify_per_s"]
    lines = [
        f"## Domain at {r['scale']} scale (`scripts/bench_domain.py`"
        f"{' --quick' if r['scale'] != 'seed' else ''})",
        "",
        f"Run {r['date']} on {r['machine']['cpus']} CPUs. Ed25519 baseline (one core): "
        f"{base['before']:.0f} verifies/s before, {base['after']:.0f} after.",
        "",
        f"![domain]({name}.png)",
        "",
        f"`chainledger demo --scale {r['scale']}` built {st['assets']:,} assets "
        f"({st['authorized_assets']:,} authorized), {st['grants']:,} grants, "
        f"{st['reads']:,} reads and {st['refusals']:,} refusals, {r['entries']:,} entries in all.",
        "",
        "| measure | result | goal | |",
        "|---|---|---|---|",
        f"| demo build (whole command) | {r['build_seconds']} s "
        f"({r['entries_per_s_build']:.0f} entries/s, "
        f"{r['ratios']['build_entries_per_s_vs_ed25519']:.2f}x the baseline) | | |",
        f"| verify (whole command) | {r['verify_seconds']} s "
        f"({r['entries_per_s_verify']:.0f} entries/s, "
        f"{r['ratios']['verify_entries_per_s_vs_ed25519']:.2f}x the baseline) | | |",
        f"| build + verify | {total} s | <= 300 s | {verdict(total <= 300)} |",
        f"| trace query p99, worst kind | {t['worst_p99_ms']} ms | <= 10 ms "
        f"| {verdict(t['worst_p99_ms'] <= 10)} |",
        f"| bytes per access entry, with indexes | {f['bytes_per_access_entry']:.0f} "
        f"({f['log_bytes_per_entry']:.0f} log + {f['access_log_bytes_per_row']:.0f} access log) "
        f"| <= 700 | {verdict(f['bytes_per_access_entry'] <= 700)} |",
        "",
        f"Trace queries from a fresh process, the first page ({t.get('page_rows', 1000)} rows "
        "at most) of each:",
        "",
        "| by | p50 | p99 | rows on average |",
        "|---|---|---|---|",
    ]
    for kind, q in t["queries"].items():
        lines.append(f"| {kind} | {q['p50_ms']} ms | {q['p99_ms']} ms | {q['mean_rows']} |")
    lines += ["", f"Database: {f['file_bytes'] / 1e6:.0f} MB for {f['entries']:,} entries.", ""]
    return lines


def http_section(r: dict[str, Any], name: str) -> list[str]:
    gens = r["generators"]
    setup = r["setup"]
    lines = [
        f"## HTTP: counter reads (`scripts/bench_http.py`{' --quick' if r['quick'] else ''})",
        "",
        f"Run {r['date']} on {r['machine']['cpus']} CPUs, Python {r['machine']['python']}. "
        + r["method"],
        "",
        f"![http]({name}.png)",
        "",
        f"Ledger: {setup['holders']} holders, each with a resident ID card and a grant to the "
        f"bus counter; {setup['reads_presigned']:,} distinct reads signed beforehand "
        f"({setup['signing_seconds']} s, not timed).",
        "",
        "| generator | hello/s | reads/s | reads / hello | goal >= 0.5x "
        "| reads p50 / p99 | goal p99 <= 50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    clients = []
    # A client that saturates its core on the hello baseline measures itself, not the
    # server: its ratio overstates reads and gets no verdict.
    hello_bound = r["client_bottleneck"]["hello"]
    for key in ("python", "wrk"):
        g = gens.get(key, {})
        if "runs" not in g:
            continue
        others = ", ".join(f"{x:.2f}" for x in g["ratios_all_runs"])
        ratio_verdict = (
            "n/a (client-bound)" if key == "python" and hello_bound else verdict(g["ratio"] >= 0.5)
        )
        lines.append(
            f"| {key} | {g['hello_per_s']:.0f} | {g['reads_per_s']:.0f} "
            f"| {g['ratio']:.2f}x (runs: {others}) | {ratio_verdict} "
            f"| {g['reads_p50_ms']} / {g['reads_p99_ms']} ms "
            f"| {verdict(g['reads_p99_ms'] <= 50)} |"
        )
        clients.append(f"* {key}: {g['client']}.")
    lines += ["", *clients]
    if "skipped" in gens.get("wrk", {}):
        lines += ["", f"wrk was not run: {gens['wrk']['skipped']}."]
    shared = gens.get("python_shared_pool")
    if shared:
        lines += [
            "",
            f"For the record, one httpx.AsyncClient with a shared pool of 32: "
            f"{shared['hello']['rate_per_s']:.0f} hello/s, {shared['reads']['rate_per_s']:.0f} "
            f"reads/s, reads p99 {shared['reads']['p99_ms']} ms.",
        ]
    failures = r["read_failures"]
    bound = r["client_bottleneck"]

    def yes(b: bool) -> str:
        return "yes" if b else "no"

    lines += [
        "",
        f"Reads not answered 200: {failures} (goal 0: {verdict(failures == 0)}). "
        f"The Python client the bottleneck: of the hello baseline, {yes(bound['hello'])}; "
        f"of the reads, {yes(bound['reads'])}.",
        "",
    ]
    lines += [f"* {note}" for note in r["notes"]]
    errors = r["server_log"]["error_lines"]
    if errors:
        lines += ["", "Server log lines reporting errors:", "", "```", *errors, "```"]
    lines.append("")
    return lines


def backends_section(r: dict[str, Any], name: str) -> list[str]:
    load = r["load"]
    quick = " --quick" if name.endswith("_quick") else ""
    lines = [
        f"## Backends side by side (`scripts/bench_backends.py{quick}`)",
        "",
        f"Run {r['date']} on {r['machine']['cpus']} CPUs, Python {r['machine']['python']}. "
        f"The same closed-loop HTTP load on each configuration ({load['writers']} threads "
        f"posting signed `grant.create` statements, {load['readers']} posting counter reads, "
        f"spread over the API processes; {load['client']}), {load['rounds']} round(s) of "
        f"{load['seconds']:g} s each, configurations alternating, each on a fresh ledger; the "
        "median round is shown, ratios are to `sqlite x1` in the same run. After every round "
        "every receipt was checked against the ledger and `chainledger verify` was run.",
        "",
        f"![backends]({name}.png)",
        "",
        "| configuration | writes/s (ratio) | write p50 / p99 | reads/s (ratio) | "
        "read p50 / p99 | client cores | machine cores | checks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for config, row in r["summary"].items():
        w, rd = row["write"], row["read"]
        ok = row["all_verified"] and not row["violations"]
        lines.append(
            f"| {config} | {w['per_second']} ({w['ratio_to_sqlite_x1']}x) | "
            f"{w['p50_ms']} / {w['p99_ms']} ms | {rd['per_second']} ({rd['ratio_to_sqlite_x1']}x) "
            f"| {rd['p50_ms']} / {rd['p99_ms']} ms | {row['client_cores']} | "
            f"{row['machine_cores']} | {'all receipts found, verified' if ok else '**failed**'} |"
        )
    lines += [
        "",
        "Everything here shares two cores: the Python load generator, the API processes, "
        "their signature-checking workers and the PostgreSQL server. The rates are this "
        "machine's as a whole; the ratios say what the backend costs on the same hardware, "
        "not what more machines would add.",
        "",
    ]
    return lines


def main() -> None:
    out = [
        "# Benchmarks",
        "",
        "Generated by `scripts/bench_report.py` from the JSON files beside this one; rerun "
        "`scripts/bench` to refresh. These machines are shared and noisy, so every throughput "
        "is reported as a ratio to a baseline measured in the same run, never as a bare rate.",
        "",
    ]
    for name in ("bench_log", "bench_log_quick"):
        path = DOCS / f"{name}.json"
        if path.exists():
            out += log_section(json.loads(path.read_text()), name)
            break
    for name in ("bench_domain", "bench_domain_quick"):
        path = DOCS / f"{name}.json"
        if path.exists():
            out += domain_section(json.loads(path.read_text()), name)
            break
    for name in ("bench_http", "bench_http_quick"):
        path = DOCS / f"{name}.json"
        if path.exists():
            out += http_section(json.loads(path.read_text()), name)
            break
    for name in ("bench_backends", "bench_backends_quick"):
        path = DOCS / f"{name}.json"
        if path.exists():
            out += backends_section(json.loads(path.read_text()), name)
            break
    (DOCS / "benchmarks.md").write_text("\n".join(out))
    print(f"wrote {DOCS / 'benchmarks.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
