"""Only a served app (``chainledger serve``) runs in a settled heap (chainledger.gc_tuning)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import recording_context

from api import app as app_module
from api.app import create_app
from api.settings import Settings


def _record(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(app_module, "settled_heap", recording_context(calls))
    return calls


@pytest.mark.parametrize("serving", [True, False])
def test_only_a_serving_app_settles_its_heap(
    cast_db: Any, monkeypatch: pytest.MonkeyPatch, serving: bool
) -> None:
    calls = _record(monkeypatch)
    _, db = cast_db
    with TestClient(create_app(Settings(db=db), serving=serving)) as c:
        assert c.get("/v1/checkpoint").status_code == 200
        assert calls == (["enter"] if serving else [])
    assert calls == (["enter", "exit"] if serving else [])


def test_the_served_app_factory_is_a_serving_app(
    cast_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record(monkeypatch)
    _, db = cast_db
    monkeypatch.setenv("CHAINLEDGER_DB", str(db))
    with TestClient(app_module.app_from_env()) as c:
        assert c.get("/v1/checkpoint").status_code == 200
    assert calls == ["enter", "exit"]
