"""The collector during long-running work: start-up heap frozen, young collections rarer,
everything as it was afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import recording_context

from chainledger import cli as cli_module
from chainledger.gc_tuning import YOUNG_THRESHOLD
from chainledger.ledger import Ledger

PROBE = """
import gc, json, weakref
from chainledger.gc_tuning import settled_heap

def state():
    return {"frozen": gc.get_freeze_count(), "threshold": list(gc.get_threshold())}

class Node:
    pass

seen = {"before": state()}
with settled_heap():
    seen["inside"] = state()
    with settled_heap():
        pass
    seen["after_nested"] = state()
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the cyclic collector can free it
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    seen["cycle_collected"] = gone() is None
seen["after"] = state()
print(json.dumps(seen))
"""


def test_settled_heap_freezes_then_restores_and_still_collects_cycles() -> None:
    # A fresh interpreter: nothing else in it touches the collector meanwhile.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    seen = json.loads(out.stdout)
    before = seen["before"]
    assert before["frozen"] == 0
    assert seen["inside"]["frozen"] > 1_000  # the interpreter and the modules imported
    assert seen["inside"]["threshold"] == [YOUNG_THRESHOLD, *before["threshold"][1:]]
    assert seen["after_nested"] == seen["inside"]  # a nested block changes nothing
    assert seen["cycle_collected"] is True
    assert seen["after"] == before


def test_verify_runs_in_a_settled_heap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(cli_module, "settled_heap", recording_context(calls))
    Ledger.init(tmp_path / "l.db").close()
    result = CliRunner().invoke(cli_module.main, ["verify", "--db", str(tmp_path / "l.db")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")
    assert calls == ["enter", "exit"]
