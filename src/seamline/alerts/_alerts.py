"""Recording and delivering alerts (see the package docstring)."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client import Counter
from sqlalchemy import Row, select

from seamline.store import Store
from seamline.store.tables import alerts

log = logging.getLogger("seamline.alerts")
WEBHOOK_ENV = "SEAMLINE_ALERT_WEBHOOK_URL"
ALERTS_TOTAL = Counter("seamline_alerts_total", "Alerts raised", ["kind", "severity"])


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # e.g. contract_drift, unexpected_reply
    sentence: str
    severity: str = "warning"  # info | warning | critical
    labels: dict[str, str] = field(default_factory=dict)


def raise_alert(store: Store | None, alert: Alert) -> None:
    """Record, log, count and deliver one alert; never raises."""
    ALERTS_TOTAL.labels(alert.kind, alert.severity).inc()
    log.warning("ALERT %s [%s]: %s", alert.kind, alert.severity, alert.sentence)
    now = time.time()
    if store is not None:
        try:
            with store.write() as conn:
                conn.execute(alerts.insert().values(
                    kind=alert.kind, severity=alert.severity, sentence=alert.sentence,
                    labels=json.dumps(alert.labels, sort_keys=True), at=now))
        except Exception:
            log.exception("the alert could not be recorded")
    url = os.environ.get(WEBHOOK_ENV)
    if url:
        _deliver(url, alert, now)


def _deliver(url: str, alert: Alert, at: float) -> None:
    body: dict[str, Any] = {"text": f"[{alert.severity}] {alert.sentence}", "kind": alert.kind,
                            "severity": alert.severity, "labels": alert.labels, "at": at}
    try:
        httpx.post(url, json=body, timeout=5.0).raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("the alert webhook refused or failed: %s", type(exc).__name__)


def list_alerts(store: Store, *, kind: str | None = None, since: float | None = None,
                limit: int = 200) -> Sequence[Row[Any]]:
    q = select(alerts).order_by(alerts.c.id.desc()).limit(limit)
    if kind:
        q = q.where(alerts.c.kind == kind)
    if since is not None:
        q = q.where(alerts.c.at >= since)
    with store.read() as conn:
        return conn.execute(q).all()
