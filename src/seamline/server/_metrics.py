"""``GET /metrics``: the Prometheus exposition of this process, plus gauges read from the store.

Open by default, as Prometheus expects (keep the port off the internet). With
``SEAMLINE_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``
(Prometheus: ``authorization: {credentials_file: …}``); the token is compared in
constant time and never logged.
"""

from __future__ import annotations

import hmac
import os
import threading

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from seamline.store import Store
from seamline.telemetry import STORE_GAUGES

_registered = threading.Lock()
_done: list[bool] = []


def add_metrics_route(app: FastAPI, store: Store) -> None:
    with _registered:
        if not _done:  # once per process: the registry refuses a collector twice
            REGISTRY.register(STORE_GAUGES)
            _done.append(True)
    STORE_GAUGES.watch(store)

    token = os.environ.get("SEAMLINE_METRICS_TOKEN", "")

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:  # a plain def: generate_latest reads the store
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return Response('{"error": "a metrics token is required: send '
                                '\'Authorization: Bearer <SEAMLINE_METRICS_TOKEN>\'"}',
                                status_code=401, media_type="application/json",
                                headers={"WWW-Authenticate": "Bearer"})
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
