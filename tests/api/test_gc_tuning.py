"""The serving process's garbage collector: start-up objects frozen, young collections rarer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import app as app_module
from api.app import create_app
from api.gc_tuning import YOUNG_THRESHOLD
from api.settings import Settings

PROBE = """
import gc, json, weakref
before = gc.get_threshold()
from api.gc_tuning import settle_heap
settle_heap()
frozen, after = gc.get_freeze_count(), gc.get_threshold()

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle: only the cyclic collector can free it
gone = weakref.ref(a)
del a, b
gc.collect()
print(json.dumps({"before": before, "after": after, "frozen": frozen,
                  "cycle_collected": gone() is None}))
"""


def test_settle_heap_freezes_start_up_objects_and_still_collects_cycles() -> None:
    # A fresh interpreter: freezing the test process's own heap would outlive this test.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    import json

    got = json.loads(out.stdout)
    assert got["frozen"] > 1_000  # the interpreter and the modules imported so far
    assert got["after"] == [YOUNG_THRESHOLD, *got["before"][1:]]
    assert got["cycle_collected"] is True


@pytest.mark.parametrize("serving", [True, False])
def test_only_a_serving_app_settles_its_heap(
    cast_db: Any, monkeypatch: pytest.MonkeyPatch, serving: bool
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(app_module, "settle_heap", lambda: calls.append("settled"))
    _, db = cast_db
    with TestClient(create_app(Settings(db=db), serving=serving)) as c:
        assert c.get("/v1/checkpoint").status_code == 200
    assert calls == (["settled"] if serving else [])


def test_the_served_app_factory_is_a_serving_app(
    cast_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(app_module, "settle_heap", lambda: calls.append("settled"))
    _, db = cast_db
    monkeypatch.setenv("CHAINLEDGER_DB", str(db))
    with TestClient(app_module.app_from_env()) as c:
        assert c.get("/v1/checkpoint").status_code == 200
    assert calls == ["settled"]
