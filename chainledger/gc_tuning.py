"""The garbage collector during long-running work: what exists at the start out of its sight.

CPython's cyclic collector (https://docs.python.org/3/library/gc.html) runs a young
collection every 700 net allocations and, every hundred or so of those, a full one that
walks every tracked object: for a server, the framework, the routes, the models and the
caches built at start-up and kept forever; for a long command, everything it has built so
far. Serving a ledger or building one allocates thousands of short-lived objects per
statement, so the full walks came often and each stalled the process for tens of
milliseconds: they were the tail of counter reads over HTTP (p99 76-97 ms against a p50 of
~30 ms) and 14 % of a demo build's time (docs/profile.md section 7).

Inside `settled_heap`, everything alive on entry is in the permanent generation
(`gc.freeze`), which no collection walks, and the young generation grows to
`YOUNG_THRESHOLD` allocations between collections. Cyclic garbage made meanwhile is still
collected; on exit the heap is unfrozen and the thresholds restored, so a caller such as
a test process gets its collector back as it was.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "settled_heap"]

#: Net allocations between two young collections (CPython's default is 700). Most of the
#: objects of a request or a statement die young by reference counting alone, so a larger
#: young generation means fewer collections, not more memory held.
YOUNG_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0  # settled_heap blocks open: the freeze is process-wide, only the outermost acts
_saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def settled_heap() -> Iterator[None]:
    """Collect once, freeze what survives and collect the young generation less often, for
    the duration of the block (re-entrant: nested blocks change nothing more)."""
    global _depth, _saved
    with _lock:
        _depth += 1
        if _depth == 1:
            gc.collect()
            gc.freeze()
            _saved = gc.get_threshold()
            gc.set_threshold(YOUNG_THRESHOLD, _saved[1], _saved[2])
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
