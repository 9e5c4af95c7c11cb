"""What one app instance holds: the open domain, limits, metrics, replay store.

Created in the app's lifespan and closed there (closing drains the sequencer:
every queued statement is committed or refused before the process exits).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from api.limits import RateLimiter
from api.metrics import Metrics
from api.settings import Settings
from chainledger.clock import Clock, system_clock
from chainledger.domain import Domain
from chainledger.store.nonces import NonceStore, SqliteNonceStore


def nonces_path(settings: Settings) -> Path:
    """Where the RFC 9421 nonces of every server process on this ledger are kept."""
    return settings.db.with_name(settings.db.name + ".nonces")


@dataclass
class Server:
    settings: Settings
    domain: Domain
    nonces: NonceStore
    limiter: RateLimiter
    public_limiter: RateLimiter
    metrics: Metrics
    _stats: tuple[float, int, dict[str, Any]] | None = None
    _stats_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings, metrics: Metrics, clock: Clock = system_clock) -> Server:
        if not settings.db.exists():
            raise FileNotFoundError(f"no ledger at {settings.db} (run `chainledger init`)")
        domain = Domain.open(
            settings.db,
            clock=clock,
            skew=timedelta(seconds=settings.skew_seconds),
            max_queue=settings.max_queue,
            verify_processes=settings.verify_processes,
        )
        try:
            nonces = SqliteNonceStore(nonces_path(settings))
        except BaseException:
            domain.close()
            raise
        sequencer = domain.ledger.sequencer
        server = cls(
            settings,
            domain,
            nonces,
            RateLimiter(settings.rate_per_second, settings.rate_burst),
            RateLimiter(settings.public_rate_per_second, settings.public_rate_burst),
            metrics,
        )
        metrics.sequencer = sequencer
        sequencer.on_commit = server.metrics.batch_size.observe
        return server

    def close(self) -> None:
        try:
            self.domain.close()
        finally:
            self.nonces.close()

    def stats(self, max_age: float = 2.0) -> dict[str, Any]:
        """The statistics, recomputed at most every ``max_age`` seconds (they scan the
        access projection, and the endpoint is public)."""
        now = time.monotonic()
        with self._stats_lock:
            cached = self._stats
            size = self.domain.ledger.size()
            if cached is not None and (cached[1] == size or now - cached[0] < max_age):
                return cached[2]
            stats = self.domain.stats()
            self._stats = (now, size, stats)
            return stats
