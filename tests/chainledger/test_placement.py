"""Which CPUs a served ledger's processes run on (`chainledger.placement`).

What changes the affinity runs in a child interpreter: this process's own placement is
what every later test (and each process it starts) inherits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from chainledger.ledger import Ledger
from chainledger.placement import allowed_cpus, split_cpus
from chainledger.rules import core_rules
from chainledger.sequencer_process import SequencerProcess

ROOT = Path(__file__).resolve().parents[2]


@given(st.sets(st.integers(0, 1023), max_size=70))
def test_the_split_is_two_halves_the_sequencers_the_upper(cpus: set[int]) -> None:
    split = split_cpus(cpus)
    if len(cpus) < 2:
        assert split is None
        return
    assert split is not None
    http, sequencer = split
    assert http | sequencer == cpus
    assert max(http) < min(sequencer)
    assert len(sequencer) - len(http) in (0, 1)


def test_two_cpus_one_each() -> None:
    assert split_cpus([1, 0]) == (frozenset({0}), frozenset({1}))
    assert split_cpus(range(3)) == (frozenset({0}), frozenset({1, 2}))
    assert split_cpus([5]) is None
    assert split_cpus([]) is None


def run_on_in_a_child(cpus: list[int]) -> dict[str, object]:
    code = (
        "import json, sys, threading; from chainledger.placement import allowed_cpus, run_on; "
        f"ok = run_on({cpus!r}); seen = []; "
        "t = threading.Thread(target=lambda: seen.append(sorted(allowed_cpus()))); t.start(); "
        "t.join(); print(json.dumps({'ok': ok, 'main': sorted(allowed_cpus()), 'thread': seen[0]}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    answer: dict[str, object] = json.loads(out.stdout)
    return answer


def test_run_on_keeps_the_thread_and_those_it_starts_there() -> None:
    last = max(allowed_cpus())
    assert run_on_in_a_child([last]) == {"ok": True, "main": [last], "thread": [last]}


def test_a_cpu_not_allowed_changes_nothing() -> None:
    everywhere = sorted(allowed_cpus())
    answer = run_on_in_a_child([4095])
    assert answer == {"ok": False, "main": everywhere, "thread": everywhere}


def test_the_sequencers_child_keeps_to_its_cpus(tmp_path: Path) -> None:
    Ledger.init(tmp_path / "l.db").close()
    ours = allowed_cpus()
    last = max(ours)
    led = Ledger.open(tmp_path / "l.db", own_process=core_rules, sequencer_cpus=frozenset({last}))
    try:
        led.append(led.platform_statement("note", text="x"))
        seq = led.sequencer
        assert isinstance(seq, SequencerProcess)
        assert seq._child is not None
        child = seq._child.proc.pid
        threads = [int(t.name) for t in Path(f"/proc/{child}/task").iterdir()]
        assert len(threads) >= 3  # its main thread, the checker, the writer, the answers
        assert {frozenset(os.sched_getaffinity(t)) for t in threads} == {frozenset({last})}
        assert allowed_cpus() == ours  # the parent's own placement is untouched
    finally:
        led.close()
