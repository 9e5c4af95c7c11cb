"""What one app instance holds: the open domain, limits, metrics, replay store.

Created in the app's lifespan and closed there (closing drains the sequencer:
every queued statement is committed or refused before the process exits).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from api.limits import RateLimiter
from api.metrics import Metrics
from api.settings import Settings
from chainledger.clock import Clock, system_clock
from chainledger.domain import Domain
from chainledger.location import Location
from chainledger.placement import allowed_cpus, run_on, split_cpus
from chainledger.store.nonces import NonceStore, SqliteNonceStore

log = logging.getLogger("chainledger.api")


def open_nonces(where: Location) -> NonceStore:
    """The RFC 9421 nonces of every server process on this ledger: a SQLite file beside
    a SQLite ledger, a table of the PostgreSQL database (shared by every API node)."""
    if where.url is not None:
        from chainledger.store.nonces import PostgresNonceStore

        return PostgresNonceStore(where.url)
    return SqliteNonceStore(where.companion("nonces"))


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
    def open(
        cls,
        settings: Settings,
        metrics: Metrics,
        clock: Clock = system_clock,
        *,
        serving: bool = False,
    ) -> Server:
        """The ledger of ``settings``, opened for this app. ``serving``: this process is a
        server (`api.app.create_app`), whose event loop thread this is; with the sequencer
        in a child process, they may be kept on CPUs of their own (`Settings.cpu_split`)."""
        where = Location.of(settings.db, settings.keys)
        if not where.exists():
            raise FileNotFoundError(f"no ledger at {where} (run `chainledger init`)")
        own_process = settings.sequencer_process and clock is system_clock
        split = None
        if serving and own_process and settings.cpu_split and settings.workers == 1:
            split = split_cpus(allowed_cpus())
        if split is not None and run_on(split[0]):
            log.info("event loop on CPUs %s, sequencer on %s", sorted(split[0]), sorted(split[1]))
        else:
            split = None
        domain = Domain.open(
            where,
            clock=clock,
            skew=timedelta(seconds=settings.skew_seconds),
            max_queue=settings.max_queue,
            verify_processes=settings.verify_processes,
            replica=settings.replica,
            own_process=own_process,
            sequencer_cpus=split[1] if split is not None else None,
        )
        try:
            nonces = open_nonces(where)
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
