"""A served ledger's event loop and sequencer on CPUs of their own (`Settings.cpu_split`),
through the real server: one worker splits the CPUs it may use, several do not, and the
setting turns it off."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from api_support import serve

from chainledger.ledger import Ledger
from chainledger.placement import allowed_cpus, split_cpus


def cpus_allowed(pid: int) -> frozenset[int]:
    return frozenset(os.sched_getaffinity(pid))


def children(pid: int) -> list[int]:
    return [
        int(c)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for c in (task / "children").read_text().split()
    ]


def sequencer_child(pid: int) -> int:
    """The server's sequencer process (the child running ``serve_child``)."""
    found = [c for c in children(pid) if b"serve_child" in Path(f"/proc/{c}/cmdline").read_bytes()]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    Ledger.init(tmp_path / "l.db").close()
    return tmp_path / "l.db"


def test_one_worker_splits_the_cpus_between_loop_and_sequencer(db: Path) -> None:
    everywhere = allowed_cpus()
    split = split_cpus(everywhere)
    with serve(db) as server:
        assert httpx.get(server.url + "/v1/checkpoint").status_code == 200
        child = sequencer_child(server.process.pid)
        if split is None:  # one CPU: nothing to split
            assert cpus_allowed(server.process.pid) == cpus_allowed(child) == everywhere
        else:
            assert cpus_allowed(server.process.pid) == split[0]
            assert cpus_allowed(child) == split[1]
    if split is not None:
        assert "event loop on CPUs" in server.log_text()


def test_the_setting_turns_it_off(db: Path) -> None:
    with serve(db, env={"CHAINLEDGER_CPU_SPLIT": "0"}) as server:
        assert httpx.get(server.url + "/v1/checkpoint").status_code == 200
        child = sequencer_child(server.process.pid)
        assert cpus_allowed(server.process.pid) == cpus_allowed(child) == allowed_cpus()


def test_several_workers_keep_every_cpu(db: Path) -> None:
    with serve(db, workers=2) as server:
        assert httpx.get(server.url + "/v1/checkpoint").status_code == 200
        workers = [
            c
            for c in children(server.process.pid)
            if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
        ]
        assert len(workers) == 2
        for worker in workers:
            assert cpus_allowed(worker) == allowed_cpus()
            assert cpus_allowed(sequencer_child(worker)) == allowed_cpus()
