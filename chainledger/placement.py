"""Which CPUs a served ledger's two busy processes run on.

A served ledger is the HTTP process, whose event loop parses requests and answers them, and
the sequencer's child process (`chainledger.sequencer_process`), whose checker, writer and
answer threads check, commit and send back what the loop submitted: they wake each other
several times per counter read. Left to the scheduler on a small machine, a thread woken up
often runs on the other CPU, where its caches are cold. On 2 CPUs a counter read cost ~8 %
less CPU, and the reads per second were ~15 % higher, with the event loop kept on one CPU
and the sequencer on the other (docs/profile.md section 12).

So one served process splits the CPUs it may use between itself and its sequencer
(`split_cpus`, applied by `run_on`). Linux only (`os.sched_setaffinity`); with fewer than
two CPUs, on other systems and with several server processes (which would all take the same
halves) nothing is pinned.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection

__all__ = ["allowed_cpus", "run_on", "split_cpus"]

log = logging.getLogger(__name__)


def allowed_cpus() -> frozenset[int]:
    """The CPUs the calling thread may run on (a ``taskset`` or a container's cpuset
    included); empty where the system does not say."""
    getter = getattr(os, "sched_getaffinity", None)
    return frozenset(getter(0)) if getter is not None else frozenset()


def split_cpus(cpus: Collection[int]) -> tuple[frozenset[int], frozenset[int]] | None:
    """``(the HTTP process's CPUs, the sequencer's)``: the lower and the upper half of
    ``cpus``, the sequencer's the larger one when they are odd in number (it runs more
    threads); None for fewer than two CPUs."""
    ordered = sorted(set(cpus))
    if len(ordered) < 2:
        return None
    half = len(ordered) // 2
    return frozenset(ordered[:half]), frozenset(ordered[half:])


def run_on(cpus: Collection[int]) -> bool:
    """Keep the calling thread on ``cpus``, and with it the threads and processes it starts
    from now on (on Linux a thread's affinity is its own and is inherited). False, and
    nothing changed, where the system cannot or refuses (a CPU no longer allowed): the
    placement is a speed-up, never a reason to fail."""
    setter = getattr(os, "sched_setaffinity", None)
    if setter is None or not cpus:
        return False
    try:
        setter(0, set(cpus))
    except OSError as exc:
        log.warning("could not keep this process on CPUs %s (%s)", sorted(cpus), exc.strerror)
        return False
    return True
