"""The certificate-free commands end to end through the installed console script:
``demo``, ``stats``, ``verify``, ``checkpoint`` and the auditor's ``audit`` views.

The small demo is built once for the module; every test that appends to it works on a
copy. Expected figures come from the design (31 classes, 28 personal and 3 enterprise)
and the small scale's plan (240 assets, 90 authorized, 1,500 reads, ...), and access
counts are recounted from the stored entries, never taken from the command under test.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import assert_refused, chainledger_exe

from chainledger.store.sqlite import SqliteStore

ANOMALY_RULES = {"refusal_burst", "many_holders", "near_expiry", "outside_hours"}
SMALL = {
    "classes": 31, "personal_classes": 28, "enterprise_classes": 3, "assets": 240,
    "authorized_assets": 90, "grants": 90 + 20, "reads": 1500, "refusals": 40,
}  # fmt: skip


def run(*args: str | int | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chainledger_exe(), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@dataclass(frozen=True)
class Demo:
    db: Path
    output: str  # what `demo` printed

    @property
    def keys(self) -> Path:
        return self.db.with_name(self.db.name + ".demo")

    def parties(self) -> list[dict[str, Any]]:
        data = json.loads((self.keys / "parties.json").read_text(encoding="utf-8"))
        assert isinstance(data, list)
        return data

    def key_of(self, role: str) -> Path:
        party = next(p for p in self.parties() if p["role"] == role)
        return self.keys / str(party["key"])

    def size(self) -> int:
        """The ledger size, read from the database (its latest checkpoint)."""
        store = SqliteStore(self.db)
        try:
            latest = store.latest_checkpoint()
            assert latest is not None
            return int(latest.size)
        finally:
            store.close()

    def checkpoint_size(self) -> int:
        """The ledger size as `chainledger checkpoint` tells it (the note's second line)."""
        result = run("checkpoint", "--db", self.db)
        assert result.returncode == 0, result.stderr
        return int(result.stdout.splitlines()[1])

    def entries(self) -> list[dict[str, Any]]:
        store = SqliteStore(self.db)
        try:
            return [json.loads(data) for _, data in store.entries(0, 1 << 62)]
        finally:
            store.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    db = tmp_path_factory.mktemp("demo") / "city.db"
    init = run("init", "--db", db)
    assert init.returncode == 0, init.stderr
    result = run("demo", "--db", db)
    assert result.returncode == 0, result.stderr
    return Demo(db, result.stdout)


@pytest.fixture
def demo(built: Demo, tmp_path: Path) -> Demo:
    """A copy of the built demo (database, its key and secrets, the demo's keys)."""
    for path in built.db.parent.iterdir():
        if path.is_dir():
            shutil.copytree(path, tmp_path / path.name)
        else:
            shutil.copy2(path, tmp_path / path.name)
    return Demo(tmp_path / built.db.name, built.output)


# --- demo, stats, verify ------------------------------------------------------------------------


def test_demo_prints_its_figures(built: Demo) -> None:
    lines = built.output.splitlines()
    assert len(lines) == 1
    m = re.fullmatch(
        r"demo \(small\) built in [0-9.]+ s: (\d+) assets, (\d+) authorized, (\d+) grants, "
        r"(\d+) reads, (\d+) refusals, (\d+) erasures; keys in (.+)",
        lines[0],
    )
    assert m is not None, lines[0]
    assert [int(g) for g in m.groups()[:6]] == [240, 90, 110, 1500, 40, 3]
    assert Path(m.group(7)) == built.keys
    roles = Counter(p["role"] for p in built.parties())
    assert roles["auditor"] == 2
    assert roles["holder"] == 60 + 8
    for p in built.parties():
        assert (built.keys / p["key"]).is_file()


def test_stats_json_has_the_seed_like_figures(built: Demo) -> None:
    result = run("stats", "--db", built.db, "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert {k: stats[k] for k in SMALL} == SMALL
    assert stats["active_assets"] == 240 - 3  # three erased on request


def test_stats_agree_with_the_entries(built: Demo) -> None:
    kinds = Counter(e["stmt"]["kind"] for e in built.entries())
    assert kinds["access.read"] == SMALL["reads"]
    assert kinds["access.denied"] == SMALL["refusals"]
    assert kinds["asset.issue"] == SMALL["assets"]
    assert kinds["grant.create"] == SMALL["grants"]
    assert kinds["asset.erase"] == 3
    assert kinds["catalog.class"] == 31
    assert kinds["audit.query"] == 1  # the demo's auditors looked once


def test_stats_text(built: Demo) -> None:
    result = run("stats", "--db", built.db)
    assert result.returncode == 0, result.stderr
    assert "asset classes 31 (28 personal, 3 enterprise)" in result.stdout
    assert "e-licence reads 1500" in result.stdout


def test_verify_after_the_demo(built: Demo) -> None:
    result = run("verify", "--db", built.db)
    assert result.returncode == 0, result.stderr
    m = re.fullmatch(r"ok: (\d+) entries, (\d+) checkpoints, root [0-9a-f]{64}\n", result.stdout)
    assert m is not None, result.stdout
    assert int(m.group(1)) == built.checkpoint_size()


def test_demo_twice_is_refused(demo: Demo) -> None:
    size = demo.size()
    assert_refused(run("demo", "--db", demo.db), "already has assets")
    assert demo.size() == size


def test_demo_needs_an_initialized_ledger(tmp_path: Path) -> None:
    assert_refused(run("demo", "--db", tmp_path / "none.db"), "no ledger database")
    assert not (tmp_path / "none.db").exists()


# --- audit --------------------------------------------------------------------------------------


def requests_by_counter(entries: list[dict[str, Any]]) -> Counter[str]:
    """Counter requests per counter, from the entries themselves."""
    seen: Counter[str] = Counter()
    for e in entries:
        stmt = e["stmt"]
        if stmt["kind"] == "access.read":
            seen[stmt["actor"]] += 1
        elif stmt["kind"] == "access.denied":
            seen[stmt["counter"]] += 1
    return seen


def test_audit_trace_by_counter_is_recorded(demo: Demo) -> None:
    counts = requests_by_counter(demo.entries())
    counter, expected = min(counts.items(), key=lambda kv: (kv[1], kv[0]))
    assert expected > 0
    size = demo.checkpoint_size()
    assert size == demo.size()
    key = demo.key_of("auditor")
    result = run("audit", "trace", "--db", demo.db, "--key", key, "--counter", counter, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"recorded as entry {size}\n"
    rows = json.loads(result.stdout)
    assert len(rows) == expected
    assert {r["counter"] for r in rows} == {counter}
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    assert demo.checkpoint_size() == size + 1
    query = demo.entries()[size]
    assert query["seq"] == size
    assert query["stmt"]["kind"] == "audit.query"
    assert query["stmt"]["query"] == {"view": "trace", "counter": counter}
    auditor = next(p for p in demo.parties() if demo.keys / p["key"] == key)
    assert query["stmt"]["actor"] == auditor["id"]


def test_audit_trace_text_and_filters(demo: Demo) -> None:
    key = demo.key_of("auditor")
    result = run(
        "audit", "trace", "--db", demo.db, "--key", key, "--outcome", "denied", "--limit", "100"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == SMALL["refusals"]
    for line in lines:
        cols = line.split("\t")
        assert len(cols) == 9
        assert cols[2] == "denied"
        assert cols[3]  # a reason code


def test_audit_anomalies(demo: Demo) -> None:
    size = demo.size()
    key = demo.key_of("auditor")
    result = run("audit", "anomalies", "--db", demo.db, "--key", key, "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert {a["rule"] for a in found} <= ANOMALY_RULES
    for a in found:
        assert set(a) == {"rule", "counter", "seq", "ts", "detail"}
    # Every one-time QR grant lives ten minutes and is used at once: each such read is
    # within ten minutes of its grant's expiry, and no standing grant (300 days) is.
    near = [a for a in found if a["rule"] == "near_expiry"]
    assert len(near) == 20
    bus = {p["id"] for p in demo.parties() if p["attrs"].get("counter_type") == "bus_station"}
    assert {a["counter"] for a in near} <= bus
    assert demo.size() == size + 1


def test_audit_report_html_to_a_file(demo: Demo, tmp_path: Path) -> None:
    size = demo.size()
    out = tmp_path / "report.html"
    key = demo.key_of("auditor")
    result = run("audit", "report", "--db", demo.db, "--key", key, "--format", "html", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    assert text.count("<svg") == text.count("</svg>") == 3
    assert text.rstrip().endswith("</html>")
    assert "Reads: <strong>1500</strong>" in text
    assert demo.size() == size + 1


def test_audit_report_csv(demo: Demo) -> None:
    size = demo.size()
    key = demo.key_of("auditor")
    result = run("audit", "report", "--db", demo.db, "--key", key, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][:2] == ["seq", "ts"]
    body = rows[1:]
    assert len(body) == SMALL["reads"] + SMALL["refusals"]
    outcomes = Counter(r[rows[0].index("outcome")] for r in body)
    assert outcomes == {"read": SMALL["reads"], "denied": SMALL["refusals"]}
    assert demo.size() == size + 1


@pytest.mark.parametrize("role", ["counter", "holder", "issuer"])
def test_a_non_auditor_key_is_refused(demo: Demo, role: str) -> None:
    """A registered party asking an auditor's question is refused, and the attempt is
    recorded (a privilege escalation: one ``request.denied`` entry, nothing else)."""
    size = demo.size()
    result = run("audit", "trace", "--db", demo.db, "--key", demo.key_of(role), "--json")
    assert_refused(result, "refused")
    assert demo.size() == size + 1
    party = next(p for p in demo.parties() if p["role"] == role)
    store = SqliteStore(demo.db)
    try:
        data = store.entry(size)
    finally:
        store.close()
    assert data is not None
    stmt = json.loads(data)["stmt"]
    assert (stmt["kind"], stmt["party"], stmt["what"], stmt["reason"]) == (
        "request.denied",
        party["id"],
        "audit.query",
        "role",
    )


def test_a_missing_key_file(demo: Demo, tmp_path: Path) -> None:
    size = demo.size()
    missing = tmp_path / "nobody.key"
    assert_refused(run("audit", "anomalies", "--db", demo.db, "--key", missing), str(missing))
    assert demo.size() == size


def test_a_key_file_that_is_not_a_key(demo: Demo, tmp_path: Path) -> None:
    size = demo.size()
    junk = tmp_path / "junk.key"
    junk.write_text("not a key\n", encoding="utf-8")
    assert_refused(run("audit", "report", "--db", demo.db, "--key", junk, "--format", "json"))
    assert demo.size() == size


def test_a_malformed_time_is_refused(demo: Demo) -> None:
    size = demo.size()
    key = demo.key_of("auditor")
    result = run("audit", "trace", "--db", demo.db, "--key", key, "--since", "yesterday")
    assert_refused(result, "query")
    assert demo.size() == size
