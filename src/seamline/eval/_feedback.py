"""Ground truth for production events, and accuracy over time per integration.

The golden set says how an integration did before it shipped; ground truth recorded
afterwards (by the API, the CLI, an approval or a bulk import) says how it does now.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import IntegrityError

from seamline.audit import AuditEntry, append
from seamline.errors import ConfigError, NotFound, SeamlineError
from seamline.integration import Integration, load_integration
from seamline.store import Store
from seamline.store.tables import events, ground_truth, integrations

Source = Literal["api", "cli", "approval", "import"]
SOURCES: tuple[str, ...] = ("api", "cli", "approval", "import")
# States whose output can be compared with the truth; a dead letter counts as wrong
# (it gave no usable answer). Other states (over budget, duplicate, still running) are
# not answers yet and are left out rather than guessed.
ANSWERED = ("succeeded", "baseline", "awaiting_approval", "rejected", "acting")
DEAD = "dead_lettered"
SPARK = "▁▂▃▄▅▆▇█"
BAD_LINE = "the line must be a JSON object with a string 'event_id' and an object 'truth'"


class TruthRefused(SeamlineError):
    """Ground truth that cannot be recorded as given (unknown fields, wrong values, empty)."""


@dataclass(frozen=True, slots=True)
class RecordedTruth:
    """What was recorded: the latest word on an event's expected output (or some of its fields)."""

    event_id: str
    integration: str
    truth: dict[str, Any]
    source: str
    actor: str
    created_at: float

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "integration": self.integration, "truth": self.truth,
                "source": self.source, "actor": self.actor, "created_at": self.created_at}


def record_truth(store: Store, event_id: str, truth: Mapping[str, Any], *, source: str,
                 actor: str, integration: Integration | None = None,
                 now: float | None = None) -> RecordedTruth:
    """Record the expected output of one event; the latest word wins, and is audited.

    Only the fields given are scored later, so partial truth ("the label should have been
    refund") is fine; every field must be a field of the integration's output schema and
    its value valid for that field, or nothing is recorded. ``integration`` is needed when
    the integration was declared in Python (its schema cannot be reloaded from the store).
    Raises NotFound for an unknown event, TruthRefused for truth that does not fit.
    """
    if source not in SOURCES:
        raise TruthRefused(f"The source {source!r} is not one of {', '.join(SOURCES)}.")
    with store.read() as conn:
        name = conn.execute(select(events.c.integration).where(events.c.id == event_id)).scalar()
    if name is None:
        raise NotFound(f"There is no event {event_id!r}.")
    spec = integration if integration is not None else _stored_integration(store, name)
    if spec.name != name:
        raise TruthRefused(f"Event {event_id} belongs to integration {name!r}, not {spec.name!r}.")
    clean = validate_truth(spec, truth)
    at = time.time() if now is None else now
    for attempt in range(2):
        try:
            with store.write() as conn:
                previous = _truth_of(conn, event_id)
                conn.execute(delete(ground_truth).where(ground_truth.c.event_id == event_id))
                conn.execute(ground_truth.insert().values(
                    event_id=event_id, integration=name, truth=json.dumps(clean, sort_keys=True),
                    source=source, actor=actor, created_at=at))
                append(conn, [AuditEntry(event_id, name, "feedback", {
                    "truth": clean, "source": source, "actor": actor,
                    "previous": previous})], now=at)
            break
        except IntegrityError:
            # Two people labelled the same event at once (PostgreSQL lets both delete
            # nothing): the second tries again and its word, the later one, wins.
            if attempt:
                raise
    return RecordedTruth(event_id, name, clean, source, actor, at)


def validate_truth(spec: Integration, truth: Mapping[str, Any]) -> dict[str, Any]:
    """The truth as JSON values, checked field by field against the output schema."""
    if not isinstance(truth, Mapping) or not truth:
        raise TruthRefused("The truth must be a non-empty JSON object of output fields.")
    fields = spec.output_schema.model_fields
    unknown = sorted(set(truth) - set(fields))
    if unknown:
        raise TruthRefused(f"{', '.join(map(repr, unknown))} "
                           f"{'is not a field' if len(unknown) == 1 else 'are not fields'} of "
                           f"{spec.name}'s output; its fields are {', '.join(fields)}.")
    clean: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in truth.items():
        info = fields[key]
        adapter: TypeAdapter[Any] = TypeAdapter(info.rebuild_annotation())
        try:
            clean[key] = adapter.dump_python(adapter.validate_python(value), mode="json")
        except ValidationError as exc:
            problems.append(f"{key}: {exc.errors()[0]['msg']} (got {value!r})")
    if problems:
        raise TruthRefused(f"The truth does not fit {spec.name}'s output schema: "
                           + "; ".join(problems) + ".")
    return clean


def _stored_integration(store: Store, name: str) -> Integration:
    with store.read() as conn:
        src = conn.execute(select(integrations.c.source).where(integrations.c.name == name)).scalar()
    if not src:
        raise TruthRefused(f"Integration {name!r} was declared in Python, so its output schema "
                           "is not known here; pass the integration (e.g. --integration "
                           "module:attr).")
    try:
        return load_integration(src)
    except ConfigError as exc:
        raise TruthRefused(f"Integration {name!r} could not be loaded from {src}: {exc}") from None


def _truth_of(conn: Connection, event_id: str) -> dict[str, Any] | None:
    raw = conn.execute(select(ground_truth.c.truth)
                       .where(ground_truth.c.event_id == event_id)).scalar()
    return None if raw is None else json.loads(raw)


# ---- bulk import --------------------------------------------------------------------------

@dataclass
class ImportReport:
    """How a bulk import went: lines recorded, and a sentence for every line refused."""

    recorded: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line number, sentence)


def import_truths(store: Store, lines: Iterable[str], *, actor: str,
                  integrations_by_name: Mapping[str, Integration] | None = None,
                  now: float | None = None) -> ImportReport:
    """Record ``{"event_id": ..., "truth": {...}}`` lines; a bad line is reported, not fatal.

    Labels often arrive in bulk from the people who fix the model's mistakes downstream;
    one bad line must not cost the thousand good ones around it.
    """
    report = ImportReport()
    given = dict(integrations_by_name or {})
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            event_id, truth = item["event_id"], item["truth"]
            if not isinstance(event_id, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            report.refused.append((n, BAD_LINE))
            continue
        try:
            spec = given.get(_integration_of(store, event_id) or "")
            record_truth(store, event_id, truth, source="import", actor=actor,
                         integration=spec, now=now)
            report.recorded += 1
        except (NotFound, TruthRefused) as exc:
            report.refused.append((n, str(exc)))
    return report


def _integration_of(store: Store, event_id: str) -> str | None:
    with store.read() as conn:
        return conn.execute(select(events.c.integration).where(events.c.id == event_id)).scalar()


# ---- scoring ------------------------------------------------------------------------------

def field_hits(state: str, output: dict[str, Any] | None, truth: Mapping[str, Any]) -> dict[str, bool]:
    """Per-field match of one event's output with its truth; a dead letter misses every field."""
    if state == DEAD or output is None:
        return {k: False for k in truth}
    return {k: _same(output.get(k), v) for k, v in truth.items()}


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, int | float) and isinstance(want, int | float) \
            and not isinstance(got, bool) and not isinstance(want, bool):
        return abs(float(got) - float(want)) <= 1e-9 * max(1.0, abs(float(want)))
    return bool(got == want)


@dataclass(frozen=True, slots=True)
class TruthRow:
    """One event with ground truth, as the scorers need it."""

    event_id: str
    state: str
    stage: str
    path: str
    prompt_version: str
    model: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    truth: dict[str, Any]
    created_at: float

    @property
    def hits(self) -> dict[str, bool]:
        return field_hits(self.state, self.output, self.truth)


def truth_rows(store: Store, integration: str, *, start: float | None = None,
               end: float | None = None) -> list[TruthRow]:
    """Events of the integration with ground truth, created in [start, end), oldest first."""
    q = (select(events.c.id, events.c.state, events.c.stage, events.c.path,
                events.c.prompt_version, events.c.model, events.c.input, events.c.output,
                events.c.created_at, ground_truth.c.truth)
         .join(ground_truth, ground_truth.c.event_id == events.c.id)
         .where(events.c.integration == integration,
                events.c.state.in_((*ANSWERED, DEAD)))
         .order_by(events.c.created_at))
    if start is not None:
        q = q.where(events.c.created_at >= start)
    if end is not None:
        q = q.where(events.c.created_at < end)
    with store.read() as conn:
        rows = conn.execute(q).all()
    return [TruthRow(r.id, r.state, r.stage, r.path, r.prompt_version, r.model,
                     _loads(r.input) or {}, _loads(r.output), json.loads(r.truth), r.created_at)
            for r in rows]


def _loads(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


@dataclass
class AccuracyBucket:
    """Accuracy of one day (or week) of events: per field, and over all scored fields."""

    start: float
    events: int = 0
    correct: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)

    def accuracy(self, name: str) -> float | None:
        n = self.total.get(name, 0)
        return self.correct.get(name, 0) / n if n else None

    @property
    def overall(self) -> float | None:
        n = sum(self.total.values())
        return sum(self.correct.values()) / n if n else None


def accuracy_over_time(store: Store, integration: str, *, by: str = "day",
                       since: float | None = None) -> list[AccuracyBucket]:
    """Per-field accuracy of events with ground truth, bucketed by the event's UTC day or week."""
    if by not in ("day", "week"):
        raise ConfigError(f"Accuracy is grouped by 'day' or 'week', not {by!r}.")
    buckets: dict[float, AccuracyBucket] = {}
    for row in truth_rows(store, integration, start=since):
        start = bucket_start(row.created_at, by)
        b = buckets.setdefault(start, AccuracyBucket(start))
        b.events += 1
        for name, hit in row.hits.items():
            b.total[name] = b.total.get(name, 0) + 1
            b.correct[name] = b.correct.get(name, 0) + hit
    return [buckets[k] for k in sorted(buckets)]


def bucket_start(at: float, by: str) -> float:
    day = at - at % 86400
    if by == "week":  # weeks start on Monday (the epoch was a Thursday)
        return day - ((int(day // 86400) + 3) % 7) * 86400
    return day


def sparkline(values: Iterable[float | None]) -> str:
    """A one-line chart of accuracies (0..1); a gap where a bucket scored nothing."""
    out = []
    for v in values:
        out.append(" " if v is None else SPARK[min(len(SPARK) - 1, int(v * len(SPARK)))])
    return "".join(out)
