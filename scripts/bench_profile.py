"""Profiling helpers behind docs/profile.md (not part of `scripts/bench`).

    .venv/bin/python scripts/bench_profile.py notes DB N     # N entries (the bulk path)
    .venv/bin/python scripts/bench_profile.py verify DB [--profile] [--domain]
    .venv/bin/python scripts/bench_profile.py demo DB READS  # the seed demo, READS reads
    .venv/bin/python scripts/bench_profile.py ed25519        # one core's verify rate
    .venv/bin/python scripts/bench_profile.py ed25519-pair   # CPU per check, alone and 2 at once
    .venv/bin/python scripts/bench_profile.py reads DIR N [--spy OUT]  # N counter reads
    .venv/bin/python scripts/bench_profile.py reads-ab DIR --code NAME=TREE ... [--spy OUT]
    .venv/bin/python scripts/bench_profile.py spy-buckets RAW      # where the loop's time goes

``verify`` prints the wall time, this process's CPU time (the replay; the worker
processes are not included) and, with ``--profile``, the cProfile tables of this
process (cumulative and own time). ``demo`` prints when each stage starts and
ends; run it under ``py-spy record -f raw`` for a profile of every thread.
``reads`` builds `bench_http`'s ledger in DIR, serves it (one worker, as the HTTP
benchmark does) and sends N pre-signed counter reads over 32 connections, printing the
rate; with ``--spy OUT`` the server is sampled by py-spy meanwhile (raw folded stacks).
``reads-ab`` compares code trees back to back (each a ``git archive`` of ``api`` and
``chainledger``, served with ``PYTHONPATH`` set to it and to a `THREAD_NAMES` directory):
one ledger, then for each pair and each tree in turn a fresh server, wrk's hello run and
read run (as `bench_http`'s, 32 connections), printing each pair's rates, ratio, latency,
the sequencer's mean batch, the WAL's size and the server's CPU per read in all, in its
main process and in its event loop thread, then every thread of the server, of the
sequencer's child and of the signature workers with its CPU and context switches per read
(from /proc; the threads carry their Python names, `THREAD_NAMES`); with ``--spy OUT``
each read run is sampled by py-spy (``--threads``, raw, ``OUT-NAME-PAIR.raw``): the
server's threads, with ``--spy-target all`` its children's too, with ``main`` or
``child`` the server or the sequencer's child only while it holds the interpreter lock;
``spy-buckets`` sorts a server's raw file into what the event loop thread spends its
samples on.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_log import build, ed25519_verify_rate


def profile_reads(directory: Path, n: int, spy_out: Path | None) -> None:
    """N counter reads over HTTP against a fresh server (see the module docstring)."""
    import asyncio
    import subprocess

    import bench_http
    import httpx

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from api_support import serve

    directory.mkdir(parents=True, exist_ok=False)
    db = directory / "reads.db"
    stocks, info = bench_http.build_ledger(db, 8, [n])
    stock = stocks[0]
    with serve(db, env=bench_http.SERVER_ENV) as server:
        spy = None
        if spy_out is not None:
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "-p",
                 str(server.process.pid), "-r", "200", "-f", "raw", "-o", str(spy_out),
                 "--subprocesses"],
            )  # fmt: skip
            time.sleep(1)

        async def worker(part: list[bytes]) -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                for body in part:
                    r = await client.post(
                        "/v1/reads", content=body, headers={"content-type": "application/json"}
                    )
                    if r.status_code != 200:
                        raise SystemExit(f"read answered {r.status_code}: {r.text}")

        async def run() -> float:
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(stock[k::32]) for k in range(32)))
            return time.perf_counter() - t0

        wall = asyncio.run(run())
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
            spy.wait()
    before = info["entries_before"]
    print(f"{n} reads in {wall:.2f} s: {n / wall:.0f} reads/s ({before} entries before)")


def reads_ab(
    directory: Path,
    codes: list[tuple[str, str]],
    pairs: int,
    seconds: float,
    reads: int | None,
    workers: int,
    spy_out: str | None,
    spy_target: str = "server",
) -> None:
    """Back-to-back wrk runs of servers from several code trees (see the module docstring)."""
    import json
    import statistics
    import subprocess

    import bench_http

    reads = reads or round(bench_http.WRK_MAX_RATE * seconds)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from api_support import serve

    wrk, how = bench_http.find_wrk(install=False)
    if wrk is None:
        raise SystemExit(f"wrk: {how}")
    directory.mkdir(parents=True, exist_ok=False)
    db = directory / "reads.db"
    runs = pairs * len(codes)
    stocks, _ = bench_http.build_ledger(db, 16, [300] * runs + [reads] * runs)
    script = directory / "bench.lua"
    quantiles = "{" + ", ".join(map(str, bench_http.QUANTILES)) + "}"
    script.write_text(bench_http.WRK_LUA.replace("{QUANTILES}", quantiles))
    files = []
    for i, stock in enumerate(stocks):
        files.append(directory / f"reads-{i}.txt")
        files[-1].write_bytes(b"\n".join(stock) + b"\n")

    def task_times(task: Path) -> tuple[float, float]:
        """User and system CPU seconds of one thread (``/proc/PID/task/TID``)."""
        stat = (task / "stat").read_text()
        f = stat[stat.rindex(")") + 2 :].split()
        return int(f[11]) / bench_http.TICK, int(f[12]) / bench_http.TICK

    def thread_cpu(pid: int) -> dict[int, float]:
        return {int(t.name): sum(task_times(t)) for t in Path(f"/proc/{pid}/task").iterdir()}

    def sequencer_child(pid: int) -> int:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for c in (task / "children").read_text().split():
                if b"sigcheck" not in Path(f"/proc/{c}/cmdline").read_bytes():
                    return int(c)
        raise SystemExit("the server has no sequencer child")

    def tree_threads(pid: int) -> dict[str, list[float]]:
        """[user s, system s, context switches] of every thread of the server and of its
        descendants, by "process/thread" (``sequencer/chainledger-sequencer``: the threads
        carry their Python names, see `THREAD_NAMES`)."""
        out: dict[str, list[float]] = {}
        todo = [(pid, "server")]
        while todo:
            p, role = todo.pop()
            try:
                for task in Path(f"/proc/{p}/task").iterdir():
                    user, system = task_times(task)
                    switches = sum(
                        int(line.split()[1])
                        for line in (task / "status").read_text().splitlines()
                        if "ctxt_switches" in line
                    )
                    comm = (task / "comm").read_text().strip()
                    row = out.setdefault(f"{role}/{comm}", [0.0, 0.0, 0.0])
                    row[0] += user
                    row[1] += system
                    row[2] += switches
                    for c in (task / "children").read_text().split():
                        cmd = Path(f"/proc/{c}/cmdline").read_bytes()
                        todo.append((int(c), "sigcheck" if b"sigcheck" in cmd else "sequencer"))
            except (FileNotFoundError, ProcessLookupError):
                continue
        return out

    names_dir = directory / "thread-names"
    names_dir.mkdir()
    (names_dir / "sitecustomize.py").write_text(THREAD_NAMES)
    results: dict[str, list[dict[str, float | bool]]] = {name: [] for name, _ in codes}
    k = 0
    for pair in range(pairs):
        for name, tree in codes:
            env = {**bench_http.SERVER_ENV, "PYTHONPATH": f"{tree}:{names_dir}"}
            with serve(db, env=env, workers=workers) as server:
                pid = server.process.pid
                bench_http.wrk_run(wrk, server, script, None, 1)  # warm-up
                bench_http.wrk_run(wrk, server, script, files[k], 30)
                hello = bench_http.wrk_run(wrk, server, script, None, seconds)
                spy = None
                if spy_out:
                    # ``--gil``: only samples of a thread holding the interpreter lock,
                    # i.e. that process's CPU in Python.
                    target = {
                        "server": ["-p", str(pid)],
                        "all": ["--subprocesses", "-p", str(pid)],
                        "main": ["--gil", "-p", str(pid)],
                        "child": ["--gil", "-p", str(sequencer_child(pid))],
                    }[spy_target]
                    spy = subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", *target,
                         "-r", "250", "-f", "raw", "--threads", "-d", str(int(seconds)),
                         "-o", f"{spy_out}-{name}-{pair}.raw"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                t0, tt0 = thread_cpu(pid), tree_threads(pid)
                r = bench_http.wrk_run(wrk, server, script, files[runs + k], seconds)
                t1, tt1 = thread_cpu(pid), tree_threads(pid)
                wal = db.with_name(db.name + "-wal")
                wal_mb = round(wal.stat().st_size / 1e6, 1) if wal.exists() else 0.0
                if spy is not None:
                    spy.wait()
            k += 1
            rate = r["rate_per_s"]
            row = {
                "hello_per_s": hello["rate_per_s"],
                "reads_per_s": rate,
                "ratio": round(rate / hello["rate_per_s"], 3),
                "p50_ms": r["p50_ms"],
                "p99_ms": r["p99_ms"],
                "failures": r["failures"] + hello["failures"],
                "stock_ran_out": r["stock_ran_out"],
                "server_cpu_ms_per_read": round(r["server_cpu_cores"] / rate * 1000, 3),
                "hello_cpu_ms": round(hello["server_cpu_cores"] / hello["rate_per_s"] * 1000, 3),
                "machine_cores_busy": r["machine_cpu_cores"],
                "wal_mb_after": wal_mb,
                "mean_batch": r.get("sequencer_mean_batch", 0.0),
            }
            if workers == 1:  # else the main process only supervises the workers
                main_ms = r["server_main_process_cpu_cores"] / rate * 1000
                row["main_process_ms_per_read"] = round(main_ms, 3)
                row["event_loop_ms_per_read"] = round((t1[pid] - t0[pid]) / r["requests"] * 1e3, 3)
            results[name].append(row)
            print(json.dumps({"tree": name, "pair": pair + 1, **row}), flush=True)
            print("  per read, by thread: CPU ms (of which system), context switches")
            for key in sorted(tt1, key=lambda k: -sum(tt1[k][:2]) + sum(tt0.get(k, [0, 0])[:2])):
                user, system, switches = (
                    (a - b) / r["requests"]
                    for a, b in zip(tt1[key], tt0.get(key, [0, 0, 0]), strict=True)
                )
                if user + system > 0 or switches > 0.01:
                    print(f"    {key:40s} {(user + system) * 1e3:6.3f} ({system * 1e3:.3f})"
                          f" {switches:6.2f}", flush=True)  # fmt: skip
    for name, rows in results.items():
        med = {k: round(statistics.median(float(row[k]) for row in rows), 3) for k in rows[0]}
        print(json.dumps({"tree": name, "median_of": len(rows), **med}))


#: A ``sitecustomize`` on the servers' path in `reads_ab`: each Python thread gives its
#: name to its OS thread (/proc/.../comm, 15 bytes), so that /proc, top -H and perf tell
#: the sequencer's writer from its checker (Python 3.11 leaves them all "python").
THREAD_NAMES = """\
import threading

_run = threading.Thread._bootstrap_inner


def _named(self):
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
            comm.write(self.name[:15])
    except OSError:
        pass
    return _run(self)


threading.Thread._bootstrap_inner = _named
"""

#: Buckets of the event loop thread's samples: the first whose frames occur in a sample
#: takes it (most specific first).
SPY_BUCKETS = [
    ("read: issue entry's inclusion proof", ("Ledger.inclusion_proof", "Ledger._hashes")),
    ("read: vault (decrypt the values)", ("Vault.open",)),
    ("read: asset, vault record and issue entry lookups", ("Domain._values",)),
    ("read: the read's own receipt proof", ("_LazyReceipt.__getattr__",)),
    ("read: submit to the sequencer", ("Domain.submit_read",)),
    ("read: JSON answer", ("read_text", "json_response", "read_json", "JSONResponse.__init__")),
    ("read: statement parse (from_wire)", ("SignedStatement.from_wire",)),
    ("read: body, content type, rate limit", ("signed_statement", "statement_body")),
    ("read: rest of the endpoint (await the commit)", ("Domain.read_async", "writes.py")),
    ("send the response (uvicorn and send wrappers)", ("RequestResponseCycle.send",)),
    ("FastAPI dependency resolution", ("solve_dependencies",)),
    ("FastAPI routing", ("_IncludedRouter._match", "_IncludedRouter.matches")),
    ("metrics (Observe)", ("Metrics.observe",)),
    ("FastAPI telemetry check", ("NativeTelemetry.enabled",)),
    ("middleware and FastAPI request handling (rest)", ("RequestResponseCycle.run_asgi",)),
    ("uvicorn HTTP protocol", ("httptools_impl",)),
    ("event loop, no Python frame (uvloop; includes waiting)", ("Runner.run",)),
]


def spy_buckets(raw: Path) -> None:
    """The event loop thread's share of each `SPY_BUCKETS` bucket in a py-spy raw file."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if "MainThread" not in frames[0]:
            continue
        bucket = next(
            (b for b, keys in SPY_BUCKETS if any(k in f for f in frames for k in keys)), "other"
        )
        counts[bucket] += int(n)
    total = sum(counts.values())
    print(f"{raw}: {total} samples of the event loop thread")
    for bucket, n in counts.most_common():
        print(f"  {100 * n / total:5.1f} %  {bucket}")


def ed25519_pair() -> None:
    """CPU per Ed25519 check alone, then in two processes at once (both cores busy)."""
    from bench_log import ed25519_cpu_per_check, two_at_once

    alone = ed25519_cpu_per_check(3.0)
    pair = two_at_once(ed25519_cpu_per_check, 3.0)
    print(
        f"Ed25519 CPU per check: alone {alone * 1e6:.1f} us; two processes at once "
        + ", ".join(f"{p * 1e6:.1f}" for p in pair)
        + " us"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    notes = sub.add_parser("notes")
    notes.add_argument("db", type=Path)
    notes.add_argument("n", type=int)
    ver = sub.add_parser("verify")
    ver.add_argument("db", type=Path)
    ver.add_argument("--profile", action="store_true")
    ver.add_argument("--domain", action="store_true", help="the domain's rules (a demo ledger)")
    demo = sub.add_parser("demo")
    demo.add_argument("db", type=Path)
    demo.add_argument("reads", type=int)
    sub.add_parser("ed25519")
    sub.add_parser("ed25519-pair")
    reads = sub.add_parser("reads")
    reads.add_argument("dir", type=Path)
    reads.add_argument("n", type=int)
    reads.add_argument("--spy", type=Path, help="py-spy raw output of the server")
    ab = sub.add_parser("reads-ab")
    ab.add_argument("dir", type=Path)
    ab.add_argument("--code", action="append", required=True, help="NAME=TREE (repeatable)")
    ab.add_argument("--pairs", type=int, default=3)
    ab.add_argument("--seconds", type=float, default=8.0)
    ab.add_argument("--reads", type=int, help="pre-signed reads per run (default: more than "
                    "wrk can send: bench_http.WRK_MAX_RATE per second)")  # fmt: skip
    ab.add_argument("--workers", type=int, default=1)
    ab.add_argument("--spy", help="py-spy raw files OUT-NAME-PAIR.raw of the read runs")
    ab.add_argument(
        "--spy-target",
        choices=["server", "all", "main", "child"],
        default="server",
        help="what --spy samples: every thread of the server (server, the input of "
        "spy-buckets) or of it and its children (all), or only the threads holding the "
        "interpreter lock of the server (main) or of the sequencer's child (child)",
    )
    buckets = sub.add_parser("spy-buckets")
    buckets.add_argument("raw", type=Path)
    args = ap.parse_args()

    if args.cmd == "reads":
        profile_reads(args.dir, args.n, args.spy)
    elif args.cmd == "reads-ab":
        codes: list[tuple[str, str]] = []
        for code in args.code:
            name, eq, tree = code.partition("=")
            if not eq:
                ap.error("--code NAME=TREE")
            codes.append((name, tree))
        reads_ab(
            args.dir,
            codes,
            args.pairs,
            args.seconds,
            args.reads,
            args.workers,
            args.spy,
            args.spy_target,
        )
    elif args.cmd == "spy-buckets":
        spy_buckets(args.raw)
    elif args.cmd == "ed25519-pair":
        ed25519_pair()
    elif args.cmd == "ed25519":
        print(f"ed25519 verifies/s (one core): {ed25519_verify_rate():.0f}")
    elif args.cmd == "notes":
        t0 = time.perf_counter()
        copies = build(args.db, [args.n])
        print(f"built {copies[args.n]} in {time.perf_counter() - t0:.1f} s")
    elif args.cmd == "verify":
        from chainledger.domain import domain_rules
        from chainledger.rules import core_rules
        from chainledger.store.sqlite import SqliteStore
        from chainledger.verify import verify_ledger

        store = SqliteStore(args.db)
        rules = domain_rules() if args.domain else core_rules()
        prof = cProfile.Profile() if args.profile else None
        t0, c0 = time.perf_counter(), time.process_time()
        if prof is not None:
            prof.enable()
        report = verify_ledger(store, rules=rules)
        if prof is not None:
            prof.disable()
        wall = time.perf_counter() - t0
        print(
            f"verify: {report.entries} entries in {wall:.2f} s ({report.entries / wall:.0f}/s); "
            f"this process's CPU {time.process_time() - c0:.2f} s"
        )
        if prof is not None:
            stats = pstats.Stats(prof, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(20)
    else:
        from chainledger.demo import SCALES, build_demo, demo_dir
        from chainledger.domain import Domain

        scale = dataclasses.replace(SCALES["seed"], reads=args.reads)
        t0 = time.perf_counter()
        ends: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in ends:
                print(f"{time.perf_counter() - t0:7.1f} s  {stage} starts", flush=True)
            ends[stage] = time.perf_counter() - t0

        Domain.init(args.db).close()
        with Domain.open(args.db, max_batch=4096) as domain:
            report = build_demo(domain, scale, keys_dir=demo_dir(args.db), progress=progress)
        for stage, end in ends.items():
            print(f"{end:7.1f} s  {stage} ends")
        print(f"{time.perf_counter() - t0:7.1f} s  done: {report}")


if __name__ == "__main__":
    main()
