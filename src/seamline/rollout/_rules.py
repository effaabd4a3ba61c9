"""Alert rules: thresholds over the runtime's own numbers, evaluated in-process.

A rule fires once when its metric crosses the threshold and once more when it resolves;
whether it is firing is read back from the ``alerts`` table, so a restarted watcher (or
a second one) does not alert again for the same episode.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from seamline.alerts import Alert, raise_alert
from seamline.store import Store
from seamline.store.tables import alerts, dead_letters, events

log = logging.getLogger("seamline.rollout.rules")
FIRING, RESOLVED = "rule_firing", "rule_resolved"

Metric = Literal["dead_letters", "approvals_waiting", "error_rate", "spend_today_usd",
                 "events", "rollbacks"]


class AlertRule(BaseModel):
    """``metric > above`` (or ``< below``) for one integration or all; optionally via a connector.

    ``window_s`` bounds the metrics that count recent things (dead letters, error rate,
    events); depth-like ones (approvals waiting) ignore it. ``connector`` names an operation
    such as ``connector:slack.post_message`` or ``connector:http.send``; ``params`` are its
    parameters, with ``{sentence}`` replaced by the alert's sentence.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    metric: Metric
    above: float | None = None
    below: float | None = None
    integration: str = ""
    window_s: float = Field(3600.0, gt=0)
    severity: Literal["info", "warning", "critical"] = "warning"
    connector: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=lambda: {"text": "{sentence}"})

    def breached(self, value: float) -> bool:
        return (self.above is not None and value > self.above) or \
            (self.below is not None and value < self.below)

    def threshold(self) -> str:
        return " and ".join(p for p in (f"above {self.above:g}" if self.above is not None else "",
                                        f"below {self.below:g}" if self.below is not None else "")
                            if p) or "no threshold"


def _scope(table: Any, rule: AlertRule) -> list[Any]:
    return [table.c.integration == rule.integration] if rule.integration else []


def measure_metric(store: Store, rule: AlertRule, now: float) -> float:
    """The rule's metric as of ``now``."""
    since = now - rule.window_s
    with store.read() as conn:
        if rule.metric == "dead_letters":
            return float(conn.execute(select(func.count()).select_from(dead_letters).where(
                dead_letters.c.created_at >= since, *_scope(dead_letters, rule))).scalar() or 0)
        if rule.metric == "approvals_waiting":
            return float(conn.execute(select(func.count()).select_from(events).where(
                events.c.state == "awaiting_approval", *_scope(events, rule))).scalar() or 0)
        if rule.metric == "rollbacks":  # staged rollouts rolled back in the window
            rows = conn.execute(select(alerts.c.labels).where(
                alerts.c.kind == "rollout_rolled_back", alerts.c.at >= since)).scalars().all()
            return float(sum(1 for labels in rows if not rule.integration
                             or json.loads(labels).get("integration") == rule.integration))
        if rule.metric == "spend_today_usd":
            midnight = datetime.fromtimestamp(now, UTC).replace(
                hour=0, minute=0, second=0, microsecond=0).timestamp()
            return float(conn.execute(select(func.coalesce(func.sum(events.c.cost_usd), 0.0)).where(
                events.c.created_at >= midnight, *_scope(events, rule))).scalar() or 0.0)
        recent = [events.c.created_at >= since, events.c.state != "duplicate", *_scope(events, rule)]
        total = conn.execute(select(func.count()).select_from(events).where(*recent)).scalar() or 0
        if rule.metric == "events":
            return float(total)
        dead = conn.execute(select(func.count()).select_from(events).where(
            *recent, events.c.state == "dead_lettered")).scalar() or 0
        return dead / total if total else 0.0


def _firing(store: Store, rule: AlertRule) -> bool:
    """Whether the rule's last alert said it was firing (its episode has not resolved)."""
    with store.read() as conn:
        rows = conn.execute(select(alerts.c.kind, alerts.c.labels)
                            .where(alerts.c.kind.in_((FIRING, RESOLVED)),
                                   alerts.c.labels.contains(json.dumps({"rule": rule.name})[1:-1]))
                            .order_by(alerts.c.id.desc()).limit(50)).all()
    for kind, labels in rows:
        if json.loads(labels).get("rule") == rule.name:
            return kind == FIRING
    return False


def _deliver(store: Store, rule: AlertRule, alert: Alert,
             handler_for: Callable[..., Callable[..., dict]]) -> None:
    if not rule.connector:
        return
    params = {k: v.replace("{sentence}", alert.sentence) if isinstance(v, str) else v
              for k, v in rule.params.items()}
    key = f"alert:{rule.name}:{alert.kind}:{alert.labels.get('at', '')}"
    try:
        handler_for(rule.connector, rule.options, store=store)(params, idempotency_key=key)
    except Exception as exc:  # noqa: BLE001 - an alert's delivery must not stop the watcher
        log.warning("the alert rule %s could not deliver through %s: %s: %s", rule.name,
                    rule.connector, type(exc).__name__, exc)


def evaluate_rules(store: Store, rules: Sequence[AlertRule], now: float | None = None, *,
                   handler_for: Callable[..., Callable[..., dict]] | None = None) -> list[Alert]:
    """Evaluate each rule once; returns the alerts raised now (firing or resolved).

    Each alert is recorded and posted by :func:`raise_alert`, and sent through the rule's
    connector when it names one; failures are logged, never raised.
    """
    if handler_for is None:
        from seamline.connectors import connector_handler

        handler_for = connector_handler
    now = time.time() if now is None else now
    raised: list[Alert] = []
    for rule in rules:
        value = measure_metric(store, rule, now)
        breached, firing = rule.breached(value), _firing(store, rule)
        if breached == firing:
            continue  # still firing (already said) or still fine
        where = f" for {rule.integration}" if rule.integration else ""
        labels = {"rule": rule.name, "metric": rule.metric, "value": f"{value:g}",
                  "integration": rule.integration, "at": f"{now:.3f}"}
        if breached:
            alert = Alert(FIRING, f"Alert rule {rule.name}: {rule.metric}{where} is {value:g}, "
                          f"{rule.threshold()}.", rule.severity, labels)
        else:
            alert = Alert(RESOLVED, f"Resolved: alert rule {rule.name}: {rule.metric}{where} is "
                          f"{value:g}, no longer {rule.threshold()}.", "info", labels)
        raise_alert(store, alert)
        _deliver(store, rule, alert, handler_for)
        raised.append(alert)
    return raised


def load_rules(data: Any) -> list[AlertRule]:
    """Rules from parsed YAML/JSON: a list of rules, or ``{"rules": [...]}``."""
    items = data.get("rules", []) if isinstance(data, dict) else (data or [])
    return [AlertRule.model_validate(item) for item in items]
