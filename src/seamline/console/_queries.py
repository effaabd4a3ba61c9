"""The web console's reads: what each page shows, gathered from the store in one place.

Routes stay thin and templates get plain, typed values; every value that came from an
event is redacted already (the store keeps no raw PII outside the encrypted vault), and
every configured secret is taken out by value here (``seamline.scrub``), rows recorded
before a secret was configured included.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from seamline.actions import AWAITING, in_doubt, outbox_row
from seamline.audit import story
from seamline.console._evidence import QUOTE_FIELDS, EvidenceView, Node, evidence, laid_out
from seamline.console._story import sentence
from seamline.inference import SpendReport, spend_report
from seamline.runtime import DEAD_LETTERED
from seamline.scrub import scrub, scrub_value
from seamline.store import Store
from seamline.store.tables import events, integrations, outbox, prompt_versions


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
    evidence: EvidenceView
    output_fields: list[Node] = field(default_factory=list)
    next_id: int | None = None  # the next action waiting after this one (keyboard "n")
    # It may have run already (its worker stopped between sending and recording): a person
    # resends it, marks it done or cancels it, instead of approving or rejecting.
    in_doubt: bool = False


def review(store: Store, outbox_id: int,
           quote_fields: tuple[str, ...] = QUOTE_FIELDS) -> ReviewView:
    """One action with its event's redacted input, output and grounding (NotFound if none).

    ``quote_fields``: the output fields that hold quotes (the integration's grounding
    declaration when it is served here), searched for in the input when grounding
    recorded none.
    """
    row = outbox_row(store, outbox_id)
    with store.read() as conn:
        ev = conn.execute(select(events.c.input, events.c.output)
                          .where(events.c.id == row.event_id)).first()
    data = scrub_value(_json(ev.input)) if ev else None
    output = scrub_value(_json(ev.output)) if ev else None
    grounding = next((e["payload"] for e in reversed(story(store, row.event_id))
                      if e["kind"] == "grounding"), None)
    grounding = scrub_value(grounding) if isinstance(grounding, dict) else None
    with store.read() as conn:
        next_id = conn.execute(select(func.min(outbox.c.id)).where(
            outbox.c.status == AWAITING, outbox.c.id > row.id)).scalar()
    quotes = (grounding or {}).get("quotes") or []
    shown = evidence(data, quotes if isinstance(quotes, list) else [], output, quote_fields)
    return ReviewView(row.id, row.integration, row.event_id, row.action,
                      scrub_value(_json(row.params)), row.status, scrub(row.approval_reason),
                      scrub(row.decided_by), scrub(row.comment), data, output,
                      confidence_of(output), grounding, shown, laid_out(output), next_id,
                      in_doubt(row))


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    seq: int
    kind: str
    at: float
    summary: str
    payload: Any


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
    prompt_version: str = ""


def timeline(store: Store, event_id: str) -> tuple[EventFacts | None, list[TimelineEntry]]:
    """The event's row (None if unknown) and its audit story, oldest first."""
    with store.read() as conn:
        row = conn.execute(select(events.c.id, events.c.integration, events.c.tenant,
                                  events.c.state, events.c.stage, events.c.reason, events.c.path,
                                  events.c.model, events.c.cost_usd, events.c.created_at,
                                  events.c.updated_at, events.c.prompt_version).where(events.c.id == event_id)).first()
    facts = None
    if row is not None:
        facts = EventFacts(**{**row._asdict(), "reason": scrub(row.reason or "")})
    entries = []
    for e in story(store, event_id):
        payload = scrub_value(e["payload"])
        entries.append(TimelineEntry(e["seq"], e["kind"], e["at"],
                                     scrub(sentence(e["kind"], payload)), payload))
    return facts, entries


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


def known_integrations(store: Store) -> list[str]:
    """Every integration that ever ran against this store (a filter's suggestions)."""
    with store.read() as conn:
        return [n for (n,) in conn.execute(select(integrations.c.name)
                                           .order_by(integrations.c.name).limit(500))]


@dataclass(frozen=True, slots=True)
class PromptVersion:
    version: str
    system: str
    user: str
    params: str
    created_at: float


def prompt_versions_of(store: Store, integration: str) -> list[PromptVersion]:
    """The prompt versions recorded for ``integration``, newest first."""
    with store.read() as conn:
        rows = conn.execute(select(prompt_versions).where(
            prompt_versions.c.integration == integration)
            .order_by(prompt_versions.c.created_at.desc()).limit(100)).all()
    return [PromptVersion(r.version, scrub(r.system), scrub(r.user), scrub(r.params),
                          r.created_at) for r in rows]


@dataclass(frozen=True, slots=True)
class ReplayRecord:
    """A replay of an event, as its audit entry keeps it, beside what was recorded."""

    seq: int
    at: float
    prompt_version: str
    model: str
    error: str
    notes: list[str]
    rows: list[tuple[str, str, str, bool]]  # field, recorded, replayed, changed?


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return scrub(value)
    return pretty(value)


def replays_of(store: Store, event_id: str) -> list[ReplayRecord]:
    """Every replay of ``event_id``, oldest first, each diffed against the recorded output."""
    with store.read() as conn:
        recorded = conn.execute(select(events.c.output).where(events.c.id == event_id)).scalar()
    old = scrub_value(_json(recorded))
    old = old if isinstance(old, dict) else {}
    found = []
    for e in story(store, event_id):
        if e["kind"] != "replay" or not isinstance(e["payload"], dict):
            continue
        p = scrub_value(e["payload"])
        new = p.get("output") if isinstance(p.get("output"), dict) else {}
        rows = [(k, _cell(old.get(k)), _cell(new.get(k)), old.get(k) != new.get(k))
                for k in sorted(set(old) | set(new))]
        found.append(ReplayRecord(e["seq"], e["at"], str(p.get("prompt_version", "")),
                                  str(p.get("model", "")), scrub(str(p.get("error") or "")),
                                  [scrub(str(n)) for n in p.get("notes") or []], rows))
    return found


def prompt_diff(old: PromptVersion | None, new: PromptVersion | None) -> list[tuple[str, str]]:
    """The recorded prompt against the replayed one, line by line: (kind, text), kind one
    of "same", "add", "del", "at" (a hunk header)."""
    import difflib

    if old is None or new is None or old.version == new.version:
        return []

    def lines(v: PromptVersion) -> list[str]:
        return ([f"[system] {x}" for x in v.system.splitlines()]
                + [f"[user] {x}" for x in v.user.splitlines()]
                + [f"[params] {x}" for x in v.params.splitlines()])

    out: list[tuple[str, str]] = []
    for line in difflib.unified_diff(lines(old), lines(new), old.version, new.version,
                                     lineterm="", n=2):
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "at"}.get(line[:1], "same")
        out.append((kind, line))
    return out
