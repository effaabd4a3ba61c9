"""The production eval: recent events with ground truth, scored and compared with a baseline.

A drop of more than ``DROP_POINTS`` below the baseline raises an ``eval_drift`` alert naming
the integration, the window and the likely layer (found by comparing the window with the
baseline's, at the end of this module), so the person paged starts where the change is.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import select

from seamline.alerts import Alert, raise_alert
from seamline.durations import seconds
from seamline.errors import ConfigError
from seamline.eval._feedback import TruthRow, truth_rows
from seamline.integration import Integration
from seamline.store import Store
from seamline.store._tables import eval_runs, events

DROP_POINTS = 5.0
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
        return int(conn.execute(eval_runs.insert().values(
            integration=result.integration, kind="production", window_start=result.window_start,
            window_end=result.window_end, examples=result.examples, score=result.score,
            details=json.dumps(result.details(), sort_keys=True), created_at=time.time())
        ).inserted_primary_key[0])


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


def latest_runs(store: Store, name: str, *, limit: int = 20) -> list[Any]:
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


# ---- the likely layer: what differs between the drop window and the baseline window ---------

SHIFT = 0.25  # the share of events that must have moved before a difference is called a shift
MIN_EVENTS = 5
MAX_CATEGORIES = 20
PARSE_STAGES = ("outputs", "grounding")


@dataclass(frozen=True, slots=True)
class Suspect:
    """A layer that changed between the windows; ``strength`` is the share of events it touched."""

    layer: str  # input shape | prompt version | model | parse failures
    strength: float
    evidence: str

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "strength": round(self.strength, 3), "evidence": self.evidence}


@dataclass(frozen=True, slots=True)
class _Seen:
    """An event of either window, with or without ground truth (shape and failures need all)."""

    input: dict[str, Any]
    path: str
    prompt_version: str
    model: str
    state: str
    stage: str


def likely_layers(store: Store, name: str, rows: list[TruthRow], base_rows: list[TruthRow],
                  window: tuple[float, float], base_window: tuple[float, float]) -> list[Suspect]:
    """Every layer that changed, most events touched first (empty: nothing visible changed).

    Each check compares like with like: the versions and models seen in the baseline
    window, the inputs' shapes and categories, and the rate of unparseable replies.
    """
    seen, base_seen = _seen(store, name, *window), _seen(store, name, *base_window)
    base_score = _points(base_rows)
    suspects = [s for s in (
        _version_shift("prompt version", "prompt_version", rows, base_seen, base_score),
        _version_shift("model", "model", rows, base_seen, base_score),
        _parse_failures(seen, base_seen),
        _input_shift(seen, base_seen, rows),
    ) if s is not None]
    return sorted(suspects, key=lambda s: -s.strength)


def _seen(store: Store, name: str, start: float, end: float) -> list[_Seen]:
    q = (select(events.c.input, events.c.path, events.c.prompt_version, events.c.model,
                events.c.state, events.c.stage)
         .where(events.c.integration == name, events.c.created_at >= start,
                events.c.created_at < end, events.c.state != "duplicate"))
    with store.read() as conn:
        return [_Seen(json.loads(r.input) if r.input else {}, r.path, r.prompt_version, r.model,
                      r.state, r.stage) for r in conn.execute(q).all()]


def _points(rows: list[TruthRow]) -> float | None:
    hits = [h for r in rows for h in r.hits.values()]
    return 100 * sum(hits) / len(hits) if hits else None


def _version_shift(layer: str, column: str, rows: list[TruthRow], base_seen: list[_Seen],
                   base_score: float | None) -> Suspect | None:
    """Events answered under a prompt version (or model) the baseline never used, doing worse."""
    known = {getattr(s, column) for s in base_seen if s.path == "ai"}
    ai = [r for r in rows if r.path == "ai" and getattr(r, column)]
    new = [r for r in ai if getattr(r, column) not in known]
    if not new or not known:
        return None
    old = [r for r in rows if r not in new]
    reference = _points(old) if len(old) >= MIN_EVENTS else base_score
    score = _points(new)
    if reference is None or score is None or reference - score <= DROP_POINTS:
        return None
    names = sorted({getattr(r, column) for r in new})
    return Suspect(layer, len(new) / len(rows),
                   f"{len(new)} of {len(rows)} events ran under {layer} "
                   f"{', '.join(names[:3])}, not seen in the baseline window, and scored "
                   f"{score:.1f} against {reference:.1f}")


def _parse_failures(seen: list[_Seen], base_seen: list[_Seen]) -> Suspect | None:
    """Replies the outputs layer could not parse or ground, more often than before."""
    if not seen or not base_seen:
        return None

    def rate(items: list[_Seen]) -> tuple[int, float]:
        n = sum(1 for s in items if s.state == "dead_lettered" and s.stage in PARSE_STAGES)
        return n, n / len(items)

    n, now_rate = rate(seen)
    _, before = rate(base_seen)
    if n < 2 or now_rate - before < DROP_POINTS / 100:
        return None
    return Suspect("parse failures", now_rate - before,
                   f"{n} of {len(seen)} events were dead-lettered at outputs/grounding "
                   f"({now_rate:.0%}, was {before:.0%})")


def _input_shift(seen: list[_Seen], base_seen: list[_Seen], rows: list[TruthRow]) -> Suspect | None:
    """The inputs changed: a field appears or vanishes, a category's share moves, text
    changes script (a new language) or length. The biggest move is the evidence."""
    if len(seen) < MIN_EVENTS or len(base_seen) < MIN_EVENTS:
        return None
    now, before = [s.input for s in seen], [s.input for s in base_seen]
    found: list[tuple[float, str]] = []
    for key in sorted({k for i in now + before for k in i}):
        p_now = sum(1 for i in now if i.get(key) is not None) / len(now)
        p_before = sum(1 for i in before if i.get(key) is not None) / len(before)
        if abs(p_now - p_before) >= SHIFT:
            if p_before == 0:
                said = f"field '{key}' is new: in {p_now:.0%} of events"
            elif p_now == 0:
                said = f"field '{key}' is gone (was in {p_before:.0%} of events)"
            else:
                said = f"field '{key}' is in {p_now:.0%} of events (was {p_before:.0%})"
            found.append((abs(p_now - p_before), said))
            continue
        vals_now = [i[key] for i in now if isinstance(i.get(key), str)]
        vals_before = [i[key] for i in before if isinstance(i.get(key), str)]
        if len(vals_now) < MIN_EVENTS or len(vals_before) < MIN_EVENTS:
            continue
        categories = set(vals_before)
        if len(categories) <= MAX_CATEGORIES and len(categories) <= len(vals_before) / 2:
            found.append(_category_shift(key, vals_now, vals_before, rows, lambda v: v, "value"))
        else:
            found.append(_category_shift(key, vals_now, vals_before, rows, _script, "text in"))
            found.append(_length_shift(key, vals_now, vals_before))
    found = [f for f in found if f[0] >= SHIFT]
    if not found:
        return None
    found.sort(key=lambda f: -f[0])
    return Suspect("input shape", found[0][0], "; ".join(f[1] for f in found[:3]))


def _category_shift(key: str, now: list[str], before: list[str], rows: list[TruthRow],
                    kind: Callable[[str], str], noun: str) -> tuple[float, str]:
    """Total variation distance between the two windows' distributions, and the top mover."""
    a, b = _shares([kind(v) for v in now]), _shares([kind(v) for v in before])
    distance = sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)) / 2
    mover = max(set(a) | set(b), key=lambda k: a.get(k, 0.0) - b.get(k, 0.0))
    scored = [r for r in rows if isinstance(r.input.get(key), str) and kind(r.input[key]) == mover]
    tail = ""
    if scored and (points := _points(scored)) is not None:
        tail = f"; those events scored {points:.1f}"
    return distance, (f"field '{key}': {noun} '{mover}' went from {b.get(mover, 0.0):.0%} to "
                      f"{a.get(mover, 0.0):.0%} of events (distance {distance:.2f}){tail}")


def _length_shift(key: str, now: list[str], before: list[str]) -> tuple[float, str]:
    m_now, m_before = statistics.median(map(len, now)), statistics.median(map(len, before))
    if not m_now or not m_before:
        return 0.0, ""
    move = 1 - min(m_now, m_before) / max(m_now, m_before)
    return move, f"field '{key}': median length {m_now:.0f} characters (was {m_before:.0f})"


def _shares(values: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for v in values:
        out[v] = out.get(v, 0.0) + 1 / len(values)
    return out


_SCRIPTS = (("latin", 0x0000, 0x024F), ("greek", 0x0370, 0x03FF), ("cyrillic", 0x0400, 0x04FF),
            ("hebrew", 0x0590, 0x05FF), ("arabic", 0x0600, 0x06FF), ("devanagari", 0x0900, 0x097F),
            ("thai", 0x0E00, 0x0E7F), ("hangul", 0xAC00, 0xD7AF), ("kana", 0x3040, 0x30FF),
            ("cjk", 0x4E00, 0x9FFF))


def _script(text: str) -> str:
    """The writing system most of a text's letters are in: a cheap stand-in for its language."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            code = ord(ch)
            script = next((s for s, lo, hi in _SCRIPTS if lo <= code <= hi), "other")
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else "none"
