"""Prometheus metrics of one app (its own registry: no process-global state).

Request counts and latencies by route template (never the raw path, which may
carry ids), and the sequencer's appends, batches, batch sizes, refusals and
queue depth, read when scraped. With several workers each process reports its
own figures; the scraper sums them (labelled by ``pid``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _SequencerCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        seq = self.metrics.sequencer
        if seq is None:
            return
        pid = str(os.getpid())
        for name, doc, value in (
            ("chainledger_appends", "Entries appended by this process.", seq.appended),
            ("chainledger_batches", "Batches committed by this process.", seq.batches),
            ("chainledger_refusals", "Statements refused (recorded or not).", seq.refused),
        ):
            c = CounterMetricFamily(name, doc, labels=["pid"])
            c.add_metric([pid], value)
            yield c
        g = GaugeMetricFamily(
            "chainledger_queue_depth", "Statements waiting for a batch.", labels=["pid"]
        )
        g.add_metric([pid], seq.queue_depth())
        yield g


class Metrics:
    def __init__(self) -> None:
        #: The sequencer whose counters are reported; set when the ledger is opened.
        self.sequencer: Any = None
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route", "method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "chainledger_batch_size",
            "Entries per committed batch (group commit).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=self.registry,
        )
        self.registry.register(_SequencerCollector(self))
        # The labelled children by (route, method, status), looked up once: `labels()`
        # checks and joins its arguments on every call (routes are templates, so few).
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
            )
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
