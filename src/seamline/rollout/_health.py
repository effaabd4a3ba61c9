"""Layer 7, rollout: how healthy each path (AI, baseline) of an integration was over a window.

Read from what the other layers already record: the events (state, path, timings), the
grounding audit entries (abstentions), dead-letter reasons (refusals) and, when another
process scores production traffic, the ``eval_runs`` table.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from sqlalchemy import and_, func, select

from seamline.store import Store
from seamline.store.tables import audit_log, eval_runs, events

# States an event is still in or that say nothing about the path's health.
_UNFINISHED = ("processing", "retrying", "acting", "duplicate", "over_budget")
_ERRORS = ("dead_lettered",)
_REFUSAL_MARKERS = ("ContentRefused", "refused to answer")


@dataclass(frozen=True, slots=True)
class PathHealth:
    """One path's numbers over a window; rates are shares in [0, 1]."""

    path: str
    events: int = 0
    errors: int = 0
    abstained: int = 0
    refused: int = 0
    p95_ms: float = 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.events if self.events else 0.0

    @property
    def abstention_rate(self) -> float:
        return self.abstained / self.events if self.events else 0.0

    @property
    def refusal_rate(self) -> float:
        return self.refused / self.events if self.events else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        return {**asdict(self), "error_rate": round(self.error_rate, 4),
                "abstention_rate": round(self.abstention_rate, 4),
                "refusal_rate": round(self.refusal_rate, 4), "p95_ms": round(self.p95_ms, 1)}


@dataclass(frozen=True, slots=True)
class Health:
    """Both paths over one window, and the production eval score if one was recorded."""

    ai: PathHealth
    baseline: PathHealth
    eval_score: float | None = None
    since: float = 0.0
    until: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"ai": self.ai.as_dict(), "baseline": self.baseline.as_dict(),
                "eval_score": self.eval_score, "since": self.since, "until": self.until}


def p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _total_ms(timings: str | None) -> float | None:
    if not timings:
        return None
    try:
        layers = json.loads(timings)
    except ValueError:
        return None
    return float(sum(v for v in layers.values() if isinstance(v, int | float)))


def measure(store: Store, integration: str, since: float, until: float) -> Health:
    """Health of the AI and baseline paths for events created in ``[since, until)``."""
    window = and_(events.c.integration == integration, events.c.created_at >= since,
                  events.c.created_at < until, events.c.state.notin_(_UNFINISHED))
    with store.read() as conn:
        rows = conn.execute(select(events.c.id, events.c.path, events.c.state, events.c.reason,
                                   events.c.timings).where(window)).all()
        grounding = conn.execute(
            select(audit_log.c.event_id, audit_log.c.payload)
            .where(audit_log.c.integration == integration, audit_log.c.kind == "grounding",
                   audit_log.c.created_at >= since)).all()
        score = conn.execute(
            select(func.avg(eval_runs.c.score))
            .where(eval_runs.c.integration == integration, eval_runs.c.kind == "production",
                   eval_runs.c.window_end > since, eval_runs.c.window_start < until,
                   eval_runs.c.score.is_not(None))).scalar()
    abstained = {eid for eid, payload in grounding if _payload(payload).get("abstained")}
    paths = {}
    for path in ("ai", "baseline"):
        mine = [r for r in rows if r.path == path]
        latencies = [ms for r in mine if (ms := _total_ms(r.timings)) is not None]
        paths[path] = PathHealth(
            path=path, events=len(mine),
            errors=sum(1 for r in mine if r.state in _ERRORS),
            abstained=sum(1 for r in mine if r.id in abstained),
            refused=sum(1 for r in mine if any(m in (r.reason or "") for m in _REFUSAL_MARKERS)),
            p95_ms=p95(latencies))
    return Health(paths["ai"], paths["baseline"], None if score is None else float(score),
                  since, until)


def _payload(text: str | None) -> dict:
    """An audit payload as a dict; ``{}`` for one purged by retention or erased (``""``)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
