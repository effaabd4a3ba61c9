"""The web console's reads: what each page shows, gathered from the store in one place.

Routes stay thin and templates get plain, typed values; every value that came from an
event is redacted already (the store keeps no raw PII outside the encrypted vault), and
every configured secret is taken out by value here (``seamline.scrub``), rows recorded
before a secret was configured included.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from seamline.actions import AWAITING, list_awaiting, outbox_row
from seamline.audit import story
from seamline.console._evidence import MarkedSource, marked_sources
from seamline.inference import SpendReport, spend_report
from seamline.runtime import DEAD_LETTERED, dead_letters_now
from seamline.scrub import scrub, scrub_value
from seamline.store import Store
from seamline.store.tables import events, outbox


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def pretty(value: Any) -> str:
    """JSON for people: indented, non-ASCII kept (templates escape it), secrets out."""
    # Strings first (an escaped quote would hide a secret from a search of the JSON), then
    # the text (objects written with str).
    return scrub(json.dumps(scrub_value(value), ensure_ascii=False, indent=2, sort_keys=True,
                            default=str))


def confidence_of(output: Any) -> float | None:
    """The model's stated confidence, when the output schema has one (0..1)."""
    value = output.get("confidence") if isinstance(output, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Overview:
    awaiting: int
    dead_letters: int
    spend_today_usd: float
    events_today: int


def overview(store: Store, now: float | None = None) -> Overview:
    """The numbers on the console's front page."""
    ts = time.time() if now is None else now
    midnight = datetime.fromtimestamp(ts, UTC).replace(
        hour=0, minute=0, second=0, microsecond=0).timestamp()
    with store.read() as conn:
        awaiting = conn.execute(select(func.count()).select_from(outbox)
                                .where(outbox.c.status == AWAITING)).scalar_one()
        dead = conn.execute(select(func.count()).select_from(events)
                            .where(events.c.state == DEAD_LETTERED)).scalar_one()
        today = conn.execute(select(func.count()).select_from(events)
                             .where(events.c.created_at >= midnight)).scalar_one()
        report = spend_report(conn, 1, now=ts)
    return Overview(int(awaiting), int(dead), report.total_usd, int(today))


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One row of the review queue."""

    id: int
    integration: str
    event_id: str
    action: str
    why: str
    confidence: float | None
    created_at: float


def review_queue(store: Store) -> list[ReviewItem]:
    return [ReviewItem(r.id, r.integration, r.event_id, r.action, scrub(r.approval_reason),
                       confidence_of(_json(r.output)), r.created_at)
            for r in list_awaiting(store)]


@dataclass(frozen=True, slots=True)
class ReviewView:
    """Everything a reviewer needs to decide one action, and nothing unredacted."""

    id: int
    integration: str
    event_id: str
    action: str
    params: Any  # what will run, placeholders unresolved
    status: str
    why: str
    decided_by: str
    comment: str
    input: Any
    output: Any
    confidence: float | None
    grounding: dict[str, Any] | None
    sources: list[MarkedSource] = field(default_factory=list)
    unplaced_quotes: list[str] = field(default_factory=list)


def review(store: Store, outbox_id: int) -> ReviewView:
    """One action with its event's redacted input, output and grounding (NotFound if none)."""
    row = outbox_row(store, outbox_id)
    with store.read() as conn:
        ev = conn.execute(select(events.c.input, events.c.output)
                          .where(events.c.id == row.event_id)).first()
    data = scrub_value(_json(ev.input)) if ev else None
    output = scrub_value(_json(ev.output)) if ev else None
    grounding = next((e["payload"] for e in reversed(story(store, row.event_id))
                      if e["kind"] == "grounding"), None)
    grounding = scrub_value(grounding) if isinstance(grounding, dict) else None
    sources, unplaced = marked_sources(data, (grounding or {}).get("quotes") or [])
    return ReviewView(row.id, row.integration, row.event_id, row.action,
                      scrub_value(_json(row.params)), row.status, scrub(row.approval_reason),
                      scrub(row.decided_by), scrub(row.comment), data, output,
                      confidence_of(output), grounding, sources, unplaced)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    seq: int
    kind: str
    at: float
    summary: str
    payload: Any


def _summary(kind: str, p: Any) -> str:
    """One line per audit entry, so the story reads top to bottom without opening payloads."""
    if not isinstance(p, dict):
        return ""
    if kind == "approval":
        return (f"{p.get('decision', '?')} by {p.get('reviewer', '?')}"
                + (f": {p['comment']}" if p.get("comment") else ""))
    if kind == "action":
        return f"{p.get('action', '?')} → {p.get('status', '?')}" + (
            f" ({p['error']})" if p.get("error") else "")
    if kind == "state":
        return str(p.get("state", "")) + (f": {p['reason']}" if p.get("reason") else "")
    if kind == "grounding":
        verdict = "abstained" if p.get("abstained") else "passed" if p.get("passed") else "failed"
        return f"{verdict}; {len(p.get('quotes') or [])} quote(s) found in the source"
    if kind in ("redrive", "flag"):
        who = p.get("actor") or "?"
        return f"by {who}" + (f": {p['reason']}" if p.get("reason") else "")
    return ", ".join(f"{k}={v}" for k, v in p.items() if isinstance(v, (str, int, float))
                     and not isinstance(v, bool) and len(str(v)) < 60)[:160]


@dataclass(frozen=True, slots=True)
class EventFacts:
    """The event's own row, as its page shows it."""

    id: str
    integration: str
    tenant: str
    state: str
    stage: str
    reason: str
    path: str
    model: str
    cost_usd: float
    created_at: float
    updated_at: float


def timeline(store: Store, event_id: str) -> tuple[EventFacts | None, list[TimelineEntry]]:
    """The event's row (None if unknown) and its audit story, oldest first."""
    with store.read() as conn:
        row = conn.execute(select(events.c.id, events.c.integration, events.c.tenant,
                                  events.c.state, events.c.stage, events.c.reason, events.c.path,
                                  events.c.model, events.c.cost_usd, events.c.created_at,
                                  events.c.updated_at).where(events.c.id == event_id)).first()
    facts = None
    if row is not None:
        facts = EventFacts(**{**row._asdict(), "reason": scrub(row.reason or "")})
    entries = []
    for e in story(store, event_id):
        payload = scrub_value(e["payload"])
        entries.append(TimelineEntry(e["seq"], e["kind"], e["at"],
                                     scrub(_summary(e["kind"], payload)), payload))
    return facts, entries


def dead_letter_list(store: Store, integration: str | None = None, limit: int = 200):
    return [replace(d, reason=scrub(d.reason), last_error=scrub(d.last_error or ""),
                    input=scrub_value(d.input))
            for d in dead_letters_now(store, integration=integration or None, limit=limit)]


def costs(store: Store, days: int) -> SpendReport:
    with store.read() as conn:
        return spend_report(conn, days)


def every_day(report: SpendReport) -> list[tuple[str, float]]:
    """(day, dollars) for every day of the report's window, zero where nothing was spent,
    so the chart's axis is time and a quiet day shows as a gap, not as nothing."""
    spent = {r.key: r.cost_usd for r in report.by["day"]}
    first = date.fromisoformat(report.since)
    return [(d, spent.get(d, 0.0)) for d in
            ((first + timedelta(days=i)).isoformat() for i in range(report.days))]


@dataclass(frozen=True, slots=True)
class ActionRow:
    """One of an event's outbox rows: what it was to do and how that went."""

    id: int
    action: str
    status: str
    attempts: int
    last_error: str
    decided_by: str


def actions_of(store: Store, event_id: str) -> list[ActionRow]:
    """The event's actions, in the order they were planned (a failed one says why)."""
    with store.read() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.action, outbox.c.status,
                                   outbox.c.attempts, outbox.c.last_error, outbox.c.decided_by)
                            .where(outbox.c.event_id == event_id).order_by(outbox.c.id)).all()
    return [ActionRow(r.id, r.action, r.status, r.attempts, scrub(r.last_error or ""),
                      scrub(r.decided_by or "")) for r in rows]
