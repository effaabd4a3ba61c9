"""The production eval: recent events with ground truth, scored and compared with a baseline.

A drop of more than ``DROP_POINTS`` below the baseline raises an ``eval_drift`` alert naming
the integration, the window and the likely layer (found by comparing the window with the
baseline's, in ``_diagnose``), so the person paged starts where the change is.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import Row, select

from seamline.alerts import Alert, raise_alert
from seamline.durations import seconds
from seamline.errors import ConfigError
from seamline.eval._diagnose import DROP_POINTS, Suspect, likely_layers
from seamline.eval._feedback import TruthRow, truth_rows
from seamline.integration import Integration
from seamline.store import Store
from seamline.store.tables import eval_runs

BASELINE_RUNS = 7
MIN_EXAMPLES = 10

SCORE_GAUGE = Gauge("seamline_production_eval_score",
                    "Latest production eval score (0-100) per integration", ["integration"])
DRIFT_ALERTS = Counter("seamline_eval_drift_alerts_total",
                       "Production eval drops that raised an alert", ["integration", "layer"])


@dataclass
class ProductionScore:
    """One production eval: the score of a window, its baseline, and why it may have dropped."""

    integration: str
    window_start: float
    window_end: float
    examples: int = 0
    score: float | None = None  # 0-100: the share of truth fields the events got right
    fields: dict[str, float] = field(default_factory=dict)  # per-field accuracy, 0-100
    by_path: dict[str, dict[str, float]] = field(default_factory=dict)  # ai | baseline
    dead_lettered: int = 0
    baseline: float | None = None
    baseline_from: str = ""  # "median of N runs" | "declared"
    suspects: list[Suspect] = field(default_factory=list)
    alerted: bool = False
    repeated: bool = False  # the same drop (same likely layer) was alerted within the window
    run_id: int | None = None

    @property
    def drop(self) -> float | None:
        if self.score is None or self.baseline is None:
            return None
        return self.baseline - self.score

    @property
    def layer(self) -> str | None:
        return self.suspects[0].layer if self.suspects else None

    def details(self) -> dict[str, Any]:
        return {"fields": self.fields, "by_path": self.by_path,
                "dead_lettered": self.dead_lettered, "baseline": self.baseline,
                "baseline_from": self.baseline_from, "drop": self.drop, "alerted": self.alerted,
                "layer": self.layer, "repeated": self.repeated,
                "suspects": [s.as_dict() for s in self.suspects]}


def production_eval(store: Store, integration: Integration | str, *, window_s: float,
                    now: float | None = None, baseline: float | None = None,
                    baseline_runs: int = BASELINE_RUNS, min_examples: int = MIN_EXAMPLES,
                    drop_points: float = DROP_POINTS) -> ProductionScore:
    """Score the events of the last ``window_s`` seconds that have ground truth; record the run.

    The baseline is ``baseline`` when declared, else the median of the last
    ``baseline_runs`` production runs whose windows ended before this one began. A window with fewer than ``min_examples`` events is
    recorded but never alerts: a handful of labels is noise, not drift.
    """
    if not window_s > 0:
        raise ConfigError(f"The window must be a positive number of seconds, not {window_s!r}.")
    name = integration if isinstance(integration, str) else integration.name
    end = time.time() if now is None else now
    start = end - window_s
    result = ProductionScore(name, start, end)
    rows = truth_rows(store, name, start=start, end=end)
    _score_rows(result, rows)
    # Only runs whose windows ended before this one began: with a 15-minute cadence and a
    # one-day window, overlapping runs would make the drop its own baseline.
    previous = _previous_runs(store, name, before=start, limit=baseline_runs)
    base_start = start - window_s * max(baseline_runs, 1)
    if baseline is not None:
        result.baseline, result.baseline_from = float(baseline), "declared"
    elif previous:
        result.baseline = statistics.median(r.score for r in previous)
        result.baseline_from = f"median of {len(previous)} previous runs"
        base_start = min(r.window_start for r in previous)
    drop = result.drop
    if drop is not None and drop > drop_points and result.examples >= min_examples:
        base_end = min(start, max((r.window_end for r in previous), default=start))
        base_rows = truth_rows(store, name, start=base_start, end=base_end)
        result.suspects = likely_layers(store, name, rows, base_rows, (start, end),
                                        (base_start, base_end))
        result.alerted = True
        result.repeated = _alerted_lately(store, name, result.layer, since=end - window_s)
    result.run_id = _record_run(store, result)
    if result.score is not None:
        SCORE_GAUGE.labels(name).set(result.score)
    if result.alerted and not result.repeated:
        DRIFT_ALERTS.labels(name, result.layer or "unknown").inc()
        raise_alert(store, drift_alert(result))
    return result


def _score_rows(result: ProductionScore, rows: list[TruthRow]) -> None:
    correct: dict[str, int] = {}
    total: dict[str, int] = {}
    paths: dict[str, list[int]] = {}
    for row in rows:
        hits = row.hits
        result.examples += 1
        result.dead_lettered += row.state == "dead_lettered"
        for key, hit in hits.items():
            total[key] = total.get(key, 0) + 1
            correct[key] = correct.get(key, 0) + hit
        tally = paths.setdefault(row.path or "unknown", [0, 0, 0])
        tally[0] += 1
        tally[1] += sum(hits.values())
        tally[2] += len(hits)
    if total:
        result.score = round(100 * sum(correct.values()) / sum(total.values()), 2)
        result.fields = {k: round(100 * correct[k] / total[k], 2) for k in sorted(total)}
    result.by_path = {p: {"events": t[0], "score": round(100 * t[1] / t[2], 2) if t[2] else 0.0}
                      for p, t in sorted(paths.items())}


@dataclass(frozen=True, slots=True)
class _Run:
    score: float
    window_start: float
    window_end: float


def _previous_runs(store: Store, name: str, *, before: float, limit: int) -> list[_Run]:
    q = (select(eval_runs.c.score, eval_runs.c.window_start, eval_runs.c.window_end)
         .where(eval_runs.c.integration == name, eval_runs.c.kind == "production",
                eval_runs.c.score.is_not(None), eval_runs.c.window_end <= before)
         .order_by(eval_runs.c.window_end.desc(), eval_runs.c.id.desc()).limit(max(limit, 0)))
    with store.read() as conn:
        return [_Run(*r) for r in conn.execute(q).all()]


def _alerted_lately(store: Store, name: str, layer: str | None, *, since: float) -> bool:
    """Whether a run whose window overlaps this one already alerted on this layer: a drop
    that lasts a day is one page, not one every 15 minutes."""
    q = (select(eval_runs.c.details)
         .where(eval_runs.c.integration == name, eval_runs.c.kind == "production",
                eval_runs.c.window_end > since)
         .order_by(eval_runs.c.id.desc()).limit(50))
    with store.read() as conn:
        for (raw,) in conn.execute(q).all():
            details = json.loads(raw)
            if details.get("alerted") and details.get("layer") == layer:
                return True
    return False


def _record_run(store: Store, result: ProductionScore) -> int:
    with store.write() as conn:
        key = conn.execute(eval_runs.insert().values(
            integration=result.integration, kind="production", window_start=result.window_start,
            window_end=result.window_end, examples=result.examples, score=result.score,
            details=json.dumps(result.details(), sort_keys=True), created_at=time.time())
        ).inserted_primary_key
        if key is None:  # never for a one-row INSERT, whose key SQLAlchemy always reports
            raise RuntimeError("The production run was inserted without a primary key.")
        return int(key[0])


def utc(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def drift_alert(result: ProductionScore) -> Alert:
    """The alert a drop raises: integration, window, numbers and the likely layer, in a sentence."""
    window = f"{utc(result.window_start)} to {utc(result.window_end)}"
    if result.suspects:
        first = result.suspects[0]
        cause = f"likely layer: {first.layer} ({first.evidence})"
        others = [f"{s.layer} ({s.evidence})" for s in result.suspects[1:]]
        if others:
            cause += "; also " + "; ".join(others)
    else:
        cause = ("likely layer: unknown (no shift found in input shape, prompt version, model "
                 "or parse failures)")
    assert result.drop is not None and result.score is not None and result.baseline is not None
    sentence = (f"Production accuracy of {result.integration} fell to {result.score:.1f} from a "
                f"baseline of {result.baseline:.1f}, {result.drop:.1f} points below it, over "
                f"{result.examples} events in the window {window}; {cause}.")
    return Alert("eval_drift", sentence, "critical" if result.drop >= 3 * DROP_POINTS else "warning",
                 {"integration": result.integration, "window_start": utc(result.window_start),
                  "window_end": utc(result.window_end), "layer": result.layer or "unknown",
                  "score": f"{result.score:.1f}", "baseline": f"{result.baseline:.1f}"})


def latest_runs(store: Store, name: str, *, limit: int = 20) -> Sequence[Row[Any]]:
    """The newest production runs of an integration, for reports and the CLI."""
    q = (select(eval_runs).where(eval_runs.c.integration == name,
                                 eval_runs.c.kind == "production")
         .order_by(eval_runs.c.window_end.desc(), eval_runs.c.id.desc()).limit(limit))
    with store.read() as conn:
        return conn.execute(q).all()


def watch(store: Store, integration: Integration | str, *, every_s: float, window_s: float,
          stop: threading.Event, once: bool = False, baseline: float | None = None,
          on_score: Callable[[ProductionScore], None] | None = None,
          clock: Callable[[], float] = time.time) -> int:
    """Run the production eval every ``every_s`` seconds until ``stop`` is set; returns runs done.

    ``once`` runs it a single time (for cron). Waiting on the event, not sleeping, lets
    SIGTERM end the loop at once between runs.
    """
    if not every_s > 0:
        raise ConfigError(f"The interval must be a positive number of seconds, not {every_s!r}.")
    runs = 0
    while not stop.is_set():
        result = production_eval(store, integration, window_s=window_s, now=clock(),
                                 baseline=baseline)
        runs += 1
        if on_score is not None:
            on_score(result)
        if once:
            break
        stop.wait(every_s)
    return runs


def parse_duration(text: str) -> float:
    """'90s', '15m', '2h', '1d', '1w' or plain seconds -> seconds; a sentence otherwise."""
    value = seconds(text)
    if not value > 0:
        raise ConfigError(f"The duration {text!r} must be positive.")
    return value
