"""The garbage collector of a serving process: start-up objects out of its sight.

CPython's cyclic collector (https://docs.python.org/3/library/gc.html) runs a young
collection every 700 net allocations and, every hundred or so of those, a full one that
walks every tracked object: the framework, the routes, the models and the caches that a
server builds at start-up and keeps forever. A served ledger allocates thousands of
short-lived objects per request, so the full walks came often and stalled the event loop
for tens of milliseconds each; they were the tail of counter reads (p99 76-97 ms against
a p50 of ~30 ms, docs/profile.md section 7). Once the app has started, `settle_heap` moves
everything alive into the permanent generation (`gc.freeze`), which no collection walks,
and lets the young generation grow to `YOUNG_THRESHOLD` allocations between collections.
Cyclic garbage is still collected; only what existed at start-up is no longer re-examined.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]

#: Net allocations between two young collections (CPython's default is 700). Requests'
#: objects mostly die young by reference counting alone, so a larger young generation
#: means fewer collections, not more memory held.
YOUNG_THRESHOLD = 50_000


def settle_heap() -> None:
    """Collect once, freeze what survives, and collect the young generation less often.

    For a long-running server process, once it has started (not for libraries, tests or
    short commands: frozen objects are never collected, even when they become garbage).
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
