"""Prometheus metrics: what every layer did, counted where it happens.

Counters and histograms live in the default registry (prometheus-client) and are
updated on the hot path (a few microseconds an event); gauges that are really
questions about the store (dead-letter depth, approvals waiting, the queue) are
answered at scrape time by :class:`StoreCollector`, so they are never stale and cost
nothing between scrapes.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

log = logging.getLogger("seamline.metrics")

EVENTS = Counter("seamline_events_total", "Events by terminal (or waiting) state",
                 ["integration", "state", "path"])
LAYER_SECONDS = Histogram(
    "seamline_layer_seconds", "Time spent per layer and event", ["integration", "layer"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
TOKENS = Counter("seamline_tokens_total", "Model tokens", ["integration", "model", "kind"])
COST = Counter("seamline_cost_usd_total", "Model spend in USD", ["integration", "model"])
MODEL_CALLS = Counter("seamline_model_calls_total", "Model calls by outcome",
                      ["integration", "model", "outcome", "purpose"])
RETRIES = Counter("seamline_retries_total", "Provider calls retried by the gateway",
                  ["provider", "error"])


def _child(metric, *labels: str):
    """``metric.labels(*labels)``, memoised: labels() costs more than the increment itself."""
    key = (id(metric), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def observe_event(integration: str, result: Any, calls: Iterable[dict[str, Any]] = ()) -> None:
    """Count one event's outcome, per-layer latency, tokens, cost and model calls."""
    _child(EVENTS, integration, result.state, result.path or "-").inc()
    for layer, ms in (result.timings_ms or {}).items():
        _child(LAYER_SECONDS, integration, layer).observe(ms / 1000.0)
    for call in calls:
        model = str(call.get("model") or "-")
        purpose = str(call.get("purpose") or "answer")
        if "error" in call and "reply" not in call:
            _child(MODEL_CALLS, integration, model, "error", purpose).inc()
            continue
        outcome = "valid" if call.get("valid", True) else "invalid"
        _child(MODEL_CALLS, integration, model, outcome, purpose).inc()
        _child(TOKENS, integration, model, "input").inc(call.get("input_tokens") or 0)
        _child(TOKENS, integration, model, "output").inc(call.get("output_tokens") or 0)
        _child(COST, integration, model).inc(call.get("cost_usd") or 0.0)


class StoreCollector(Collector):
    """Gauges read from the stores this process serves, at scrape time: dead letters,
    approvals, the job queue; and the circuit breakers of every gateway in this process.

    One collector per process (the registry refuses two that export the same names);
    each served store is added with :meth:`watch`.
    """

    def __init__(self) -> None:
        self._stores: weakref.WeakSet = weakref.WeakSet()

    def watch(self, store) -> None:
        self._stores.add(store)

    def collect(self):
        from seamline.actions import AWAITING
        from seamline.store.tables import events, jobs, outbox

        counts: dict[str, dict[tuple[str, ...], float]] = {"dlq": {}, "waiting": {}, "jobs": {}}

        def add(kind: str, labels: tuple[str, ...], n: int) -> None:
            counts[kind][labels] = counts[kind].get(labels, 0) + n

        for store in list(self._stores):
            if getattr(store, "closed", False):
                continue
            try:
                with store.read() as conn:
                    for name, n in conn.execute(select(events.c.integration, func.count())
                                                .where(events.c.state == "dead_lettered")
                                                .group_by(events.c.integration)):
                        add("dlq", (name,), n)
                    for name, n in conn.execute(select(outbox.c.integration, func.count())
                                                .where(outbox.c.status == AWAITING)
                                                .group_by(outbox.c.integration)):
                        add("waiting", (name,), n)
                    for name, status, n in conn.execute(
                            select(jobs.c.integration, jobs.c.status, func.count())
                            .where(jobs.c.status.in_(("queued", "running")))
                            .group_by(jobs.c.integration, jobs.c.status)):
                        add("jobs", (name, status), n)
            except Exception:
                log.exception("reading gauges from the store failed")
        families = [
            ("dlq", GaugeMetricFamily("seamline_dead_letters", "Events in the dead-letter queue",
                                      labels=["integration"])),
            ("waiting", GaugeMetricFamily("seamline_approvals_waiting",
                                          "Actions awaiting approval", labels=["integration"])),
            ("jobs", GaugeMetricFamily("seamline_jobs", "Background jobs by status",
                                       labels=["integration", "status"])),
        ]
        for kind, family in families:
            for labels, n in sorted(counts[kind].items()):
                family.add_metric(list(labels), n)
            yield family
        breakers = GaugeMetricFamily("seamline_breaker_open",
                                     "1 when a provider:model circuit is open (0.5 half-open)",
                                     labels=["breaker"])
        seen: set[str] = set()
        for board in list(_boards):
            for key, state in board.states().items():
                if key not in seen:
                    seen.add(key)
                    breakers.add_metric([key], {"open": 1.0, "half_open": 0.5}.get(
                        str(state.value), 0.0))
        yield breakers


STORE_GAUGES = StoreCollector()


_boards: weakref.WeakSet = weakref.WeakSet()


def track_breakers(board) -> None:
    """Register a BreakerBoard so its states are exported."""
    _boards.add(board)
