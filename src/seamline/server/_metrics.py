"""``GET /metrics``: the Prometheus exposition of this process, plus gauges read from the store."""

from __future__ import annotations

import threading

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from seamline.store import Store
from seamline.telemetry._metrics import STORE_GAUGES

_registered = threading.Lock()
_done: list[bool] = []


def add_metrics_route(app: FastAPI, store: Store) -> None:
    with _registered:
        if not _done:  # once per process: the registry refuses a collector twice
            REGISTRY.register(STORE_GAUGES)
            _done.append(True)
    STORE_GAUGES.watch(store)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:  # a plain def: generate_latest reads the store (blocking)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
