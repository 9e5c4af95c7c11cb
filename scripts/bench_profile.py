"""Profiling helpers behind docs/profile.md (not part of `scripts/bench`).

    .venv/bin/python scripts/bench_profile.py notes DB N     # N entries (the bulk path)
    .venv/bin/python scripts/bench_profile.py verify DB [--profile] [--domain]
    .venv/bin/python scripts/bench_profile.py demo DB READS  # the seed demo, READS reads
    .venv/bin/python scripts/bench_profile.py ed25519        # one core's verify rate
    .venv/bin/python scripts/bench_profile.py reads DIR N [--spy OUT]  # N counter reads

``verify`` prints the wall time, this process's CPU time (the replay; the worker
processes are not included) and, with ``--profile``, the cProfile tables of this
process (cumulative and own time). ``demo`` prints when each stage starts and
ends; run it under ``py-spy record -f raw`` for a profile of every thread.
``reads`` builds `bench_http`'s ledger in DIR, serves it (one worker, as the HTTP
benchmark does) and sends N pre-signed counter reads over 32 connections, printing the
rate; with ``--spy OUT`` the server is sampled by py-spy meanwhile (raw folded stacks).
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
    reads = sub.add_parser("reads")
    reads.add_argument("dir", type=Path)
    reads.add_argument("n", type=int)
    reads.add_argument("--spy", type=Path, help="py-spy raw output of the server")
    args = ap.parse_args()

    if args.cmd == "reads":
        profile_reads(args.dir, args.n, args.spy)
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
