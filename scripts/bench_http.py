"""Benchmark of the HTTP API: counter reads against a no-work baseline in the same app.

A fresh ledger with several holders, each holding a resident ID card and a many-use
grant to the bus counter; every read the benchmark sends is a distinct, valid,
counter-signed ``access.read`` statement, all signed before anything is timed.
``chainledger serve`` (one worker, access log off, ``GET /bench/hello`` mounted)
runs in a child process; the load comes from this process:

* the Python generator: asyncio (uvloop when available) + one httpx.AsyncClient
  with a pool of 32 connections driven by 32 closed-loop workers (each sends its
  next request when the previous one is answered);
* ``wrk`` (one thread, 32 connections, a Lua script that feeds the pre-signed
  bodies), when it is installed or ``apt-get`` can install it: a C client, so the
  figures show what the server does when the client is not the limit.

Hello runs and read runs alternate (hello, reads, hello, reads, ...); each read
run is divided by the hello run just before it, and the median of those ratios
is reported with every run's ratio beside it (goal >= 0.5x), with the reads'
latency p50/p99 (goal p99 <= 50 ms at 32 connections). Every read must answer
200: anything else is counted as a failure and reported.

Writes docs/bench_http.json and docs/bench_http.png (``--quick``: fewer reads and
shorter runs, to docs/bench_http_quick.*).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from api_support import RunningServer, serve
from bench_log import pct, run_info
from domain_support import Actor, key, make_cast

from chainledger.access import read_fields
from chainledger.grants import MAX_USES
from chainledger.identity import make_person_name, make_resident_id
from chainledger.statement import make_statement, sign_statement

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore 1.0 runs `import sniffio` on every request to learn the async library; sniffio
    # is not installed here, and that failing import searches sys.path each time (~0.4 ms
    # of client CPU per request on this machine). A None entry makes it fail at once, and
    # httpcore then assumes asyncio, which is what this client runs.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "chainledger")
CONNECTIONS = 32
READ_FIELDS = ["name", "id_number"]
JSON_HEADERS = {"content-type": "application/json"}
#: Read rates no run reaches (above the hello rates of this machine: Python client ~1,200/s,
#: wrk ~3,300/s), times the run's length, size each run's stock of pre-signed reads.
PYTHON_MAX_RATE = 1_500
WRK_MAX_RATE = 4_000
#: Latency percentiles kept in the JSON (for the plot).
QUANTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9]
SERVER_ENV = {
    "CHAINLEDGER_HELLO_ENDPOINT": "1",
    "CHAINLEDGER_ACCESS_LOG": "0",
    "CHAINLEDGER_SKEW_SECONDS": "3600",
    "CHAINLEDGER_RATE_PER_SECOND": "1000000",
    "CHAINLEDGER_RATE_BURST": "1000000",
    "CHAINLEDGER_PUBLIC_RATE_PER_SECOND": "1000000",
    "CHAINLEDGER_PUBLIC_RATE_BURST": "1000000",
}


# --- the ledger and the pre-signed reads ------------------------------------------------


def build_ledger(db: Path, holders: int, reads: list[int]) -> tuple[list[list[bytes]], dict]:
    """A ledger whose bus counter can read each holder's ID card many times; returns, for
    each count in ``reads``, that many distinct signed reads (wire JSON bytes), round-robin
    over the holders."""
    t0 = time.perf_counter()
    cast = make_cast(db)
    rng = random.Random(11)
    total = sum(reads)
    uses = math.ceil(total / holders) + 100
    assert uses <= MAX_USES, f"{total} reads need more than {holders} holders"
    targets: list[tuple[str, str]] = []  # (grant, asset)
    try:
        for i in range(holders):
            holder = Actor(key(1000 + i), "holder")
            birth = date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
            id_number = make_resident_id(rng, region="371502", birth=birth, female=i % 2 == 0)
            cast.register(holder, "", {"subject": "person"}, real_id=id_number)
            asset, _ = cast.issue_id_card(holder, id_number, make_person_name(rng))
            grant, _ = cast.grant(
                holder, cast.bus, "bus_ticket", {"resident_id_card": READ_FIELDS},
                hours=24, max_uses=uses,
            )  # fmt: skip
            targets.append((grant, asset))
        entries = cast.domain.ledger.size()
    finally:
        cast.domain.close()
    setup_s = time.perf_counter() - t0

    # Signing is the counters' work, on their machines: done here, before any timing.
    t0 = time.perf_counter()
    bus = cast.bus
    stocks: list[list[bytes]] = []
    k = 0
    for n in reads:
        stock = []
        for _ in range(n):
            grant, asset = targets[k % holders]
            k += 1
            fields = read_fields(grant, asset, READ_FIELDS, "ticket_purchase")
            stmt = make_statement("access.read", bus.id, datetime.now(UTC), os.urandom, **fields)
            wire = sign_statement(stmt, bus.key).to_wire()
            stock.append(json.dumps(wire, separators=(",", ":")).encode())
        stocks.append(stock)
    sign_s = time.perf_counter() - t0
    info = {
        "holders": holders,
        "grant_max_uses": uses,
        "reads_presigned": total,
        "setup_seconds": round(setup_s, 1),
        "signing_seconds": round(sign_s, 1),
        "read_body_bytes": len(stocks[0][0]) if stocks and stocks[0] else None,
        "entries_before": entries,
    }
    return stocks, info


# --- the server -------------------------------------------------------------------------


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process (from /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def server_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds of the server process and of its live descendants (the sequencer's process
    and its signature workers, if any)."""
    main = cpu_seconds(pid)
    children, todo, seen = 0.0, [pid], set()
    while todo:
        p = todo.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                for c in (task / "children").read_text().split():
                    if int(c) not in seen:
                        seen.add(int(c))
                        todo.append(int(c))
                        children += cpu_seconds(int(c))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return main, children


def machine_busy_seconds() -> float:
    """CPU seconds, all cores, spent on anything but idle and iowait since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(parts) - parts[3] - parts[4]) / TICK


def sequencer_counts(server: RunningServer) -> tuple[float, float]:
    """(appends, batches) of the server's sequencer, from its /metrics."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    found = {}
    for line in text.splitlines():
        for name in ("chainledger_appends_total", "chainledger_batches_total"):
            if line.startswith((name + "{", name + " ")):
                found[name] = float(line.rsplit(" ", 1)[1])
    return found.get("chainledger_appends_total", 0.0), found.get("chainledger_batches_total", 0.0)


@contextmanager
def cpu_meter(server: RunningServer, out: dict[str, Any]) -> Iterator[None]:
    """Adds client, server and machine CPU use (in cores) over the block to ``out``, and the
    sequencer's mean batch size."""
    pid = server.process.pid
    a0, b0 = sequencer_counts(server)
    c0, (s0, k0), m0 = time.process_time(), server_cpu_seconds(pid), machine_busy_seconds()
    t0 = time.perf_counter()
    yield
    wall = time.perf_counter() - t0
    s1, k1 = server_cpu_seconds(pid)
    m1 = machine_busy_seconds()
    out.setdefault("client_cpu_cores", round((time.process_time() - c0) / wall, 2))
    out["server_cpu_cores"] = round((s1 - s0 + k1 - k0) / wall, 2)
    out["server_main_process_cpu_cores"] = round((s1 - s0) / wall, 2)
    out["machine_cpu_cores"] = round((m1 - m0) / wall, 2)
    a1, b1 = sequencer_counts(server)
    if b1 > b0:
        out["sequencer_mean_batch"] = round((a1 - a0) / (b1 - b0), 1)


def latency_summary(lat_s: list[float]) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in lat_s)
    return {
        "p50_ms": round(pct(ms, 0.50), 2),
        "p90_ms": round(pct(ms, 0.90), 2),
        "p99_ms": round(pct(ms, 0.99), 2),
        "max_ms": round(ms[-1], 2),
        "percentiles_ms": {str(q): round(pct(ms, q / 100), 2) for q in QUANTILES},
    }


# --- the Python generator ---------------------------------------------------------------


def python_run(
    server: RunningServer, bodies: list[bytes] | None, seconds: float, *, shared_pool: bool = False
) -> dict[str, Any]:
    """32 closed-loop workers for ``seconds``, or until ``bodies`` (reads, each sent once)
    run out; ``bodies=None`` sends GET /bench/hello.

    Each worker has its own httpx.AsyncClient holding one keep-alive connection (32 in
    all); ``shared_pool`` puts the 32 workers on one client with a pool of 32 instead,
    which httpcore 1.0 serves at a cost of O(waiting requests x connections) per request.
    """

    async def run() -> dict[str, Any]:
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        if shared_pool:
            shared = httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60)
            clients = [shared] * CONNECTIONS
        else:
            clients = [
                httpx.AsyncClient(base_url=server.url, limits=one, timeout=60)
                for _ in range(CONNECTIONS)
            ]
        try:
            # Open every connection first (untimed): hello requests, never reads.
            await asyncio.gather(*(c.get("/bench/hello") for c in clients))
            lat: list[float] = []
            statuses: Counter[str] = Counter()
            samples: list[str] = []
            queue = iter(bodies) if bodies is not None else None
            stop = time.perf_counter() + seconds
            last = [0.0]
            ran_out = [False]

            async def worker(client: httpx.AsyncClient) -> None:
                while True:
                    body = None
                    if queue is not None:
                        body = next(queue, None)
                        if body is None:
                            ran_out[0] = True
                            return
                    t0 = time.perf_counter()
                    if t0 >= stop:
                        return
                    try:
                        if body is None:
                            r = await client.get("/bench/hello")
                        else:
                            r = await client.post("/v1/reads", content=body, headers=JSON_HEADERS)
                        status = str(r.status_code)
                        if r.status_code != 200 and len(samples) < 5:
                            samples.append(f"{status} {r.text[:300]}")
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                        if len(samples) < 5:
                            samples.append(f"{status} {exc}"[:300])
                    t1 = time.perf_counter()
                    lat.append(t1 - t0)
                    statuses[status] += 1
                    last[0] = max(last[0], t1)

            c0 = time.process_time()
            start = time.perf_counter()
            await asyncio.gather(*(worker(c) for c in clients))
            elapsed = last[0] - start
            client_cpu = time.process_time() - c0
        finally:
            for c in set(clients):
                await c.aclose()
        n = len(lat)
        return {
            "requests": n,
            "seconds": round(elapsed, 3),
            "rate_per_s": round(n / elapsed, 1),
            **latency_summary(lat),
            "statuses": dict(statuses),
            "failures": n - statuses.get("200", 0),
            "failure_samples": samples,
            "client_cpu_cores": round(client_cpu / elapsed, 2),
            "stock_ran_out": ran_out[0],
        }

    out: dict[str, Any] = {}
    with cpu_meter(server, out):
        result = run_loop(run())
    return {**out, **result}


def run_loop(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


# --- wrk ----------------------------------------------------------------------------------

WRK_LUA = r"""
-- Pre-signed reads, one per line in the file named by the first argument, each sent
-- once; none: GET /bench/hello. Statuses are counted per response.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  bodies = {}
  if args[1] then for line in io.lines(args[1]) do bodies[#bodies + 1] = line end end
  i, ok, bad, extra, first_bad = 0, 0, 0, 0, 0
  hello = wrk.format("GET", "/bench/hello")
  headers = {["Content-Type"] = "application/json"}
end
function request()
  if #bodies == 0 then return hello end
  i = i + 1
  if i > #bodies then
    -- The stock ran out: stop; the few requests still asked for are hellos (not counted).
    extra = extra + 1
    wrk.thread:stop()
    return hello
  end
  return wrk.format("POST", "/v1/reads", headers, bodies[i])
end
function response(status, hdrs, body)
  if status == 200 then ok = ok + 1 else
    bad = bad + 1
    if first_bad == 0 then first_bad = status end
  end
end
function done(summary, latency, requests)
  local o, b, e, f = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); b = b + t:get("bad"); e = e + t:get("extra")
    if f == 0 then f = t:get("first_bad") end
  end
  local er = summary.errors
  local qs = {}
  for _, q in ipairs({QUANTILES}) do
    qs[#qs + 1] = string.format('"%s":%d', tostring(q), latency:percentile(q))
  end
  io.write('{"percentiles_us":{' .. table.concat(qs, ",") .. '}}\n')
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"ok":%d,"bad":%d,"extra_hellos":%d,"first_bad_status":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, o, b, e, f, er.connect, er.read, er.write,
    er.timeout))
end
"""


def find_wrk(install: bool) -> tuple[str | None, str]:
    """The wrk executable, installing the Debian package if allowed; or None and why not."""
    path = shutil.which("wrk")
    if path:
        return path, "found"
    if not install:
        return None, "not installed (--no-install)"
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None, "not installed, and apt-get is not usable here (needs root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("installing wrk (apt-get)", file=sys.stderr)
    why = ""
    install = ["install", "-y", "-q", "wrk"]
    for cmds in ([install], [["update", "-q"], install]):  # then again, in case lists are stale
        for cmd in cmds:
            try:
                done = subprocess.run(
                    [apt, *cmd], env=env, capture_output=True, text=True, timeout=300
                )
                why = done.stderr.strip()[-200:]
            except (OSError, subprocess.TimeoutExpired) as exc:
                why = str(exc)
        if path := shutil.which("wrk"):
            return path, "installed by apt-get"
    return None, f"apt-get install wrk failed: {why}"


def wrk_run(
    wrk: str, server: RunningServer, script: Path, bodies_file: Path | None, seconds: float
) -> dict[str, Any]:
    cmd = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
           "-s", str(script), server.url]  # fmt: skip
    if bodies_file is not None:
        cmd += ["--", str(bodies_file)]
    out: dict[str, Any] = {}
    before = children_cpu_seconds()
    with cpu_meter(server, out):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = proc.communicate(timeout=seconds + 120)
    wrk_cpu = children_cpu_seconds() - before  # wrk's own CPU, once it was waited for
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {stderr.strip()}")
    lines = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    w = {k: v for line in lines for k, v in line.items()}
    seconds_run = w["duration_us"] / 1e6
    n = w["requests"] - w["extra_hellos"] if bodies_file is not None else w["requests"]
    transport = w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
    out["client_cpu_cores"] = round(wrk_cpu / seconds_run, 2)
    return {
        "requests": n,
        "seconds": round(seconds_run, 3),
        "rate_per_s": round(n / seconds_run, 1),
        "p50_ms": round(w["p50_us"] / 1000, 2),
        "p90_ms": round(w["p90_us"] / 1000, 2),
        "p99_ms": round(w["p99_us"] / 1000, 2),
        "max_ms": round(w["max_us"] / 1000, 2),
        "percentiles_ms": {str(q): round(w["percentiles_us"][str(q)] / 1000, 2) for q in QUANTILES},
        "statuses": {"200": w["ok"], "other": w["bad"]},
        "failures": w["bad"] + transport,
        "transport_errors": transport,
        "first_failure_status": w["first_bad_status"] or None,
        "stock_ran_out": w["extra_hellos"] > 0,
        **out,
    }


def children_cpu_seconds() -> float:
    """CPU seconds of this process's children that were waited for."""
    t = os.times()
    return t.children_user + t.children_system


# --- the benchmark ------------------------------------------------------------------------


def ratio_series(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of the per-repetition ratios (reads rate / the hello rate just before)."""
    ratios = [r["reads"]["rate_per_s"] / r["hello"]["rate_per_s"] for r in runs]
    for r, x in zip(runs, ratios, strict=True):
        r["ratio"] = round(x, 3)
    i = ratios.index(statistics.median_low(ratios))
    reads = runs[i]["reads"]
    return {
        "ratio": round(ratios[i], 3),
        "ratios_all_runs": [round(x, 3) for x in ratios],
        "median_run": i,
        "hello_per_s": runs[i]["hello"]["rate_per_s"],
        "reads_per_s": reads["rate_per_s"],
        "reads_p50_ms": reads["p50_ms"],
        "reads_p99_ms": reads["p99_ms"],
        "reads_p99_ms_all_runs": [r["reads"]["p99_ms"] for r in runs],
        "stock_ran_out_runs": sum(bool(r["reads"].get("stock_ran_out")) for r in runs),
        "read_failures": sum(r["reads"]["failures"] for r in runs),
        "hello_failures": sum(r["hello"]["failures"] for r in runs),
        "runs": runs,
    }


def judge_client(
    py: dict[str, Any], wrk: dict[str, Any] | None, shared: dict[str, Any] | None
) -> tuple[dict[str, bool], list[str]]:
    """Was the Python client the limit, of the hello runs and of the read runs? Its CPU use
    and, when wrk ran, wrk's rates say."""
    notes = []
    med = statistics.median
    hello_cpu = med(r["hello"]["client_cpu_cores"] for r in py["runs"])
    reads_cpu = med(r["reads"]["client_cpu_cores"] for r in py["runs"])
    machine = med(r["hello"]["machine_cpu_cores"] for r in py["runs"])
    bound = hello_cpu >= 0.85
    bound_reads = reads_cpu >= 0.85
    notes.append(
        f"Python client (one process, one event loop): {hello_cpu:.2f} cores busy during the "
        f"hello runs, {reads_cpu:.2f} during the read runs; the machine ({os.cpu_count()} "
        f"cores, shared by client and server) was {machine:.2f} cores busy during hello."
    )
    if bound:
        notes.append(
            "The Python client saturates its core on the hello baseline: the Python hello rate "
            "is the client's limit, not the server's, so the Python ratio overstates reads."
        )
    if shared is not None:
        notes.append(
            f"One httpx.AsyncClient with a shared pool of 32 (the plain design) managed "
            f"only {shared['hello']['rate_per_s']:.0f} hello/s and "
            f"{shared['reads']['rate_per_s']:.0f} reads/s at "
            f"{shared['hello']['client_cpu_cores']:.2f} client cores (httpcore 1.0 scans the "
            "whole pool for every waiting request), so each worker has its own one-connection "
            "client: the same 32 keep-alive connections, closed loop."
        )
    if wrk is not None:
        gain_hello = wrk["hello_per_s"] / py["hello_per_s"]
        gain_reads = wrk["reads_per_s"] / py["reads_per_s"]
        wrk_cpu = med(r["hello"]["client_cpu_cores"] for r in wrk["runs"])
        notes.append(
            f"wrk (C, one thread, {wrk_cpu:.2f} cores during hello) drove {gain_hello:.2f}x the "
            f"Python client's hello rate and {gain_reads:.2f}x its read rate."
        )
        if gain_hello >= 1.2:
            bound = True
            notes.append(
                "So the Python generator is the bottleneck of the baseline; the wrk ratio is "
                "the server's own (client and server share the 2 cores either way)."
            )
        bound_reads = bound_reads or gain_reads >= 1.2
        if gain_reads <= 1.15:
            notes.append(
                "For reads wrk was no faster than the Python client: there the server, not "
                "the client, sets the rate."
            )
    for name, gen in (("Python", py), ("wrk", wrk)):
        if gen is None:
            continue
        reads = [r["reads"] for r in gen["runs"]]
        cores = med(r["server_cpu_cores"] for r in reads)
        main_cpu = med(r["server_main_process_cpu_cores"] for r in reads)
        per_read = med(r["server_cpu_cores"] / r["rate_per_s"] * 1000 for r in reads)
        notes.append(
            f"During the {name} read runs the server used {cores:.2f} cores ({main_cpu:.2f} in "
            f"its main process, the rest in the sequencer's process, which checks the "
            f"signatures), {per_read:.2f} ms of CPU per read; the machine was "
            f"{med(r['machine_cpu_cores'] for r in reads):.2f} of {os.cpu_count()} cores busy; "
            f"the sequencer committed {med(r.get('sequencer_mean_batch', 0) for r in reads):.1f} "
            "entries per batch on average."
        )
    return {"hello": bound, "reads": bound_reads}, notes


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gens = [g for g in ("python", "wrk") if "runs" in result["generators"].get(g, {})]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    ax = axes[0]
    labels, hello, reads = [], [], []
    for g in gens:
        for i, r in enumerate(result["generators"][g]["runs"]):
            labels.append(f"{g} {i + 1}\n{r['ratio']:.2f}x")
            hello.append(r["hello"]["rate_per_s"])
            reads.append(r["reads"]["rate_per_s"])
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], hello, width=0.4, color="#8c8c8c", label="GET /bench/hello")
    ax.bar([i + 0.2 for i in x], reads, width=0.4, color="#4c72b0", label="POST /v1/reads")
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.set_ylabel("requests/s")
    ax.set_title(f"rate at {CONNECTIONS} connections (label: reads / hello; goal >= 0.5x)")
    ax.legend(fontsize=8)
    ax = axes[1]
    for g, color in zip(gens, ("#4c72b0", "#dd8452"), strict=False):
        gen = result["generators"][g]
        run = gen["runs"][gen["median_run"]]
        for what, style in (("reads", "-"), ("hello", ":")):
            q = run[what]["percentiles_ms"]
            ax.plot(list(q.values()), [float(k) for k in q], style, color=color, marker=".",
                    label=f"{g} {what} (p99 {run[what]['p99_ms']} ms)")  # fmt: skip
    ax.axvline(50, color="red", linestyle="dashed", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms (dashed: 50 ms)")
    ax.set_ylabel("percentile")
    ax.set_title("latency percentiles, median run")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer reads, shorter runs")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--reps", type=int, default=3, help="hello/reads pairs per generator")
    ap.add_argument("--no-wrk", action="store_true", help="the Python generator only")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install wrk")
    args = ap.parse_args()
    reps = args.reps
    seconds = 3.0 if args.quick else 10.0
    # Each read run gets more pre-signed reads than it can send: wrk divides by the whole
    # run, so a stock used up early would understate the rate (it capped the wrk reads of
    # every run before 2026-11-27 at 5,000 per 10 s: 497/s).
    per_py, per_wrk = round(PYTHON_MAX_RATE * seconds), round(WRK_MAX_RATE * seconds)
    reads_shared = 300 if args.quick else 1_000
    holders, warm = 8, 300
    wrk, wrk_how = (None, "--no-wrk") if args.no_wrk else find_wrk(not args.no_install)
    if wrk is None:
        print(f"wrk: {wrk_how}; the Python generator only", file=sys.stderr)

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chainledger-bench-http-") as tmpdir:
        tmp = Path(tmpdir)
        db = tmp / "ledger.db"
        counts = [warm, reads_shared] + [per_py] * reps + [per_wrk] * (reps if wrk else 0)
        print(f"ledger: {holders} holders; signing {sum(counts)} reads", file=sys.stderr)
        stocks, setup = build_ledger(db, holders, counts)
        warm_stock, shared_stock = stocks[0], stocks[1]
        py_stocks, wrk_stocks = stocks[2 : reps + 2], stocks[reps + 2 :]
        script = tmp / "bench.lua"
        script.write_text(
            WRK_LUA.replace("{QUANTILES}", "{" + ", ".join(map(str, QUANTILES)) + "}")
        )
        wrk_files = []
        for i, stock in enumerate(wrk_stocks):
            f = tmp / f"reads-{i}.txt"
            f.write_bytes(b"\n".join(stock) + b"\n")
            wrk_files.append(f)
        print(json.dumps(setup), file=sys.stderr)
        py_runs: list[dict[str, Any]] = []
        wrk_runs: list[dict[str, Any]] = []

        def show(name: str, run: dict[str, Any]) -> None:
            h, r = run["hello"], run["reads"]
            print(f"  {name}: hello {h['rate_per_s']}/s, reads {r['rate_per_s']}/s "
                  f"(ratio {r['rate_per_s'] / h['rate_per_s']:.3f}), reads p50 {r['p50_ms']} "
                  f"p99 {r['p99_ms']} ms, failures {h['failures']} + {r['failures']}",
                  file=sys.stderr)  # fmt: skip

        with serve(db, env=SERVER_ENV) as server:
            print("warm-up", file=sys.stderr)
            warm_up = {
                "hello": python_run(server, None, 1.0),
                "reads": python_run(server, warm_stock, 60.0),
            }
            for rep in range(reps):
                print(f"repetition {rep + 1}/{reps}", file=sys.stderr)
                run = {
                    "hello": python_run(server, None, seconds),
                    "reads": python_run(server, py_stocks[rep], seconds),
                }
                py_runs.append(run)
                show("python", run)
                if wrk:
                    run = {
                        "hello": wrk_run(wrk, server, script, None, seconds),
                        "reads": wrk_run(wrk, server, script, wrk_files[rep], seconds),
                    }
                    wrk_runs.append(run)
                    show("wrk", run)
            print("one shared httpx pool of 32 (for the record)", file=sys.stderr)
            shared = {
                "hello": python_run(server, None, seconds / 2, shared_pool=True),
                "reads": python_run(server, shared_stock, seconds / 2, shared_pool=True),
            }
            show("python, shared pool", shared)
            alive = server.process.poll() is None
            health = httpx.get(server.url + "/healthz", timeout=5).status_code if alive else None
        log = server.log_text().splitlines()
        server_exit = server.process.returncode
    words = ("Traceback", "ERROR", "Error", "Exception", "exception", " 500")
    bad_lines = [line for line in log if any(w in line for w in words)]
    py = ratio_series(py_runs)
    wk = ratio_series(wrk_runs) if wrk_runs else None
    shared["ratio"] = round(shared["reads"]["rate_per_s"] / shared["hello"]["rate_per_s"], 3)
    bound, notes = judge_client(py, wk, shared)
    for name, gen in (("Python", py), ("wrk", wk)):
        if gen is not None and gen["stock_ran_out_runs"]:
            notes.append(
                f"The pre-signed reads ran out in {gen['stock_ran_out_runs']} {name} read "
                "runs before their end: "
                + (
                    "wrk divides by the whole run, so those rates are lower bounds."
                    if name == "wrk"
                    else "those runs are timed to their last answer, so their rates hold."
                )
            )
    failures = (
        py["read_failures"]
        + (wk["read_failures"] if wk else 0)
        + shared["reads"]["failures"]
        + warm_up["reads"]["failures"]
    )
    hello_failures = (
        py["hello_failures"] + (wk["hello_failures"] if wk else 0) + shared["hello"]["failures"]
    )
    generators: dict[str, Any] = {
        "python": {
            "client": "asyncio + uvloop, 32 closed-loop workers, each with its own "
            "httpx.AsyncClient holding one keep-alive connection; one process",
            **py,
        },
        "wrk": (
            {
                "client": f"wrk -t1 -c{CONNECTIONS}, a Lua script feeding the pre-signed reads",
                "wrk": wrk_how,
                **wk,
            }
            if wk
            else {"skipped": wrk_how}
        ),
        "python_shared_pool": {
            "client": "asyncio + uvloop, 32 workers on one httpx.AsyncClient (pool of 32); "
            "one pair of runs, not in the ratios above",
            **shared,
        },
    }
    result = {
        "benchmark": "HTTP counter reads",
        **run_info(),
        "quick": args.quick,
        "method": (
            f"`chainledger serve` (1 worker, access log off, rate limits raised) in a child "
            f"process; load from another process over {CONNECTIONS} keep-alive connections, "
            f"closed loop. Hello runs (GET /bench/hello: same app, no work) and read runs "
            f"(POST /v1/reads, each a distinct valid read signed before the timing) alternate, "
            f"{reps} pairs per generator, runs of {seconds:.0f} s (each read run with more "
            "pre-signed reads than it can send); ratio = reads rate / the rate of the "
            "hello run just before; the median ratio is reported, every run's beside it."
        ),
        "connections": CONNECTIONS,
        "setup": setup,
        "server": {"workers": 1, "env": SERVER_ENV},
        "warm_up": {
            k: {x: v[x] for x in ("requests", "rate_per_s", "failures")} for k, v in warm_up.items()
        },
        "ratio": py["ratio"],
        "reads_p50_ms": py["reads_p50_ms"],
        "reads_p99_ms": py["reads_p99_ms"],
        "ratio_wrk": wk["ratio"] if wk else None,
        "reads_p50_ms_wrk": wk["reads_p50_ms"] if wk else None,
        "reads_p99_ms_wrk": wk["reads_p99_ms"] if wk else None,
        "read_failures": failures,
        "hello_failures": hello_failures,
        "client_bottleneck": bound,
        "notes": notes,
        "generators": generators,
        "server_log": {
            "lines": len(log),
            "error_lines": bad_lines[:40],
            "alive_at_end": alive,
            "healthz_at_end": health,
            "exit_code": server_exit,
        },
        "total_seconds": round(time.perf_counter() - t_start, 1),
        "goals": {"ratio": ">= 0.5", "reads_p99_ms": "<= 50", "read_failures": "== 0"},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "bench_http_quick" if args.quick else "bench_http"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out / f"{name}.png")
    keys = ("ratio", "reads_p50_ms", "reads_p99_ms", "ratio_wrk", "reads_p50_ms_wrk",
            "reads_p99_ms_wrk", "read_failures", "client_bottleneck", "notes",
            "total_seconds")  # fmt: skip
    print(json.dumps({k: result[k] for k in keys}, indent=2))
    if failures or hello_failures:
        sys.exit(f"{failures + hello_failures} requests did not answer 200 (see {name}.json)")


if __name__ == "__main__":
    main()
