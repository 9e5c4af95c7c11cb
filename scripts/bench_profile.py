"""Profiling helpers behind docs/profile.md (not part of `scripts/bench`).

    .venv/bin/python scripts/bench_profile.py notes DB N     # N entries (the bulk path)
    .venv/bin/python scripts/bench_profile.py verify DB [--profile] [--domain]
    .venv/bin/python scripts/bench_profile.py demo DB READS  # the seed demo, READS reads
    .venv/bin/python scripts/bench_profile.py ed25519        # one core's verify rate

``verify`` prints the wall time, this process's CPU time (the replay; the worker
processes are not included) and, with ``--profile``, the cProfile tables of this
process (cumulative and own time). ``demo`` prints when each stage starts and
ends; run it under ``py-spy record -f raw`` for a profile of every thread.
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
    args = ap.parse_args()

    if args.cmd == "ed25519":
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
