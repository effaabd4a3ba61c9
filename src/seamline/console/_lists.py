"""The console's lists (reviews, dead letters, events): search, filters, sort and keyset pages.

Every list pages by a key the store keeps an index on — the outbox row's id for reviews,
the event id (time-ordered: ``evt_`` then milliseconds) for events and dead letters — so
a page is an index range read of ``limit + 1`` rows whatever the table's size: no OFFSET,
no COUNT over the table. Filters on an indexed column (integration, state) narrow the
range; the others (search, reason, action, age) are checked on the rows read in order.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select

from seamline.actions import AWAITING
from seamline.console._queries import _json
from seamline.runtime import DEAD_LETTERED
from seamline.scrub import scrub
from seamline.store import Store
from seamline.store.tables import dead_letters, events, outbox

PAGE = 50
# Age filters: a name in the query string -> (newer?, seconds).
AGES: dict[str, tuple[bool, float]] = {
    "1h": (True, 3600.0), "1d": (True, 86400.0), "7d": (True, 7 * 86400.0),
    "gt1h": (False, 3600.0), "gt1d": (False, 86400.0), "gt7d": (False, 7 * 86400.0)}
AGE_LABELS = {"": "any age", "1h": "last hour", "1d": "last 24 hours", "7d": "last 7 days",
              "gt1h": "older than an hour", "gt1d": "older than a day",
              "gt7d": "older than a week"}
_MAX_TEXT = 200


def _clean(value: str | None, limit: int = _MAX_TEXT) -> str:
    """A query-string value as a filter: trimmed, printable, short (never an error)."""
    text = "".join(c for c in (value or "") if c.isprintable()).strip()
    return text[:limit]


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a list was asked for: each field comes from the query string, cleaned."""

    q: str = ""
    integration: str = ""
    action: str = ""
    reason: str = ""
    state: str = ""
    stage: str = ""
    age: str = ""
    order: str = "desc"
    after: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str], default_order: str = "desc") -> ListQuery:
        order = params.get("order", default_order)
        age = params.get("age", "")
        return cls(q=_clean(params.get("q")), integration=_clean(params.get("integration"), 100),
                   action=_clean(params.get("action"), 100), reason=_clean(params.get("reason")),
                   state=_clean(params.get("state"), 30),
                   stage=_clean(params.get("stage"), 30),
                   age=age if age in AGES else "",
                   order=order if order in ("asc", "desc") else default_order,
                   after=_clean(params.get("after"), 40))

    @property
    def filtered(self) -> bool:
        return any((self.q, self.integration, self.action, self.reason, self.state,
                    self.stage, self.age))

    def link(self, path: str, **changes: str) -> str:
        """This list's address with ``changes`` (an empty value drops the parameter)."""
        values = {k: getattr(self, k) for k in
                  ("q", "integration", "action", "reason", "state", "stage", "age", "order",
                   "after")}
        values.update(changes)
        query = urlencode({k: v for k, v in values.items() if v})
        return f"{path}?{query}" if query else path


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its rows, and the cursor of the next page ('' on the last)."""

    rows: list[Any]
    next_after: str
    query: ListQuery


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    return column.icontains(text, autoescape=True)


def _age(column: Any, age: str, now: float) -> ColumnElement[bool] | None:
    if age not in AGES:
        return None
    newer, seconds = AGES[age]
    return column >= now - seconds if newer else column < now - seconds


def _page(stmt: Select[Any], key: Any, query: ListQuery, after: Any, limit: int) -> Select[Any]:
    if after is not None:
        stmt = stmt.where(key > after if query.order == "asc" else key < after)
    return stmt.order_by(key.asc() if query.order == "asc" else key.desc()).limit(limit + 1)


@dataclass(frozen=True, slots=True)
class ReviewRow:
    id: int
    integration: str
    event_id: str
    action: str
    why: str
    confidence: float | None
    created_at: float


def review_statement(query: ListQuery, now: float, limit: int = PAGE) -> Select[Any]:
    """The review queue's page as one statement (the test reads its plan)."""
    stmt: Select[Any] = (select(outbox.c.id, outbox.c.integration, outbox.c.event_id, outbox.c.action,
                   outbox.c.approval_reason, outbox.c.created_at, events.c.output)
            .join(events, events.c.id == outbox.c.event_id)
            .where(outbox.c.status == AWAITING))
    if query.integration:
        stmt = stmt.where(outbox.c.integration == query.integration)
    if query.action:
        stmt = stmt.where(outbox.c.action == query.action)
    if query.reason:
        stmt = stmt.where(_contains(outbox.c.approval_reason, query.reason))
    if query.q:
        stmt = stmt.where(or_(_contains(outbox.c.action, query.q),
                              _contains(outbox.c.event_id, query.q),
                              _contains(outbox.c.approval_reason, query.q),
                              _contains(events.c.input, query.q),
                              _contains(events.c.output, query.q)))
    age = _age(outbox.c.created_at, query.age, now)
    if age is not None:
        stmt = stmt.where(age)
    after = int(query.after) if query.after.isdigit() and len(query.after) <= 18 else None
    return _page(stmt, outbox.c.id, query, after, limit)


def confidence_of(output: Any) -> float | None:
    value = output.get("confidence") if isinstance(output, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def review_page(store: Store, query: ListQuery, now: float | None = None,
                limit: int = PAGE) -> Page:
    ts = time.time() if now is None else now
    with store.read() as conn:
        rows = conn.execute(review_statement(query, ts, limit)).all()
    items = [ReviewRow(r.id, r.integration, r.event_id, r.action, scrub(r.approval_reason),
                       confidence_of(_json(r.output)), r.created_at) for r in rows[:limit]]
    return Page(items, str(items[-1].id) if len(rows) > limit else "", query)


def _event_filters(stmt: Select[Any], query: ListQuery, now: float,
                   age_column: Any) -> Select[Any]:
    if query.integration:
        stmt = stmt.where(events.c.integration == query.integration)
    if query.reason:
        stmt = stmt.where(_contains(events.c.reason, query.reason))
    if query.action:
        stmt = stmt.where(exists().where(and_(outbox.c.event_id == events.c.id,
                                              outbox.c.action == query.action)))
    if query.q:
        stmt = stmt.where(or_(_contains(events.c.id, query.q),
                              _contains(events.c.reason, query.q),
                              _contains(events.c.input, query.q),
                              _contains(events.c.output, query.q)))
    age = _age(age_column, query.age, now)
    return stmt if age is None else stmt.where(age)


@dataclass(frozen=True, slots=True)
class EventRow:
    id: str
    integration: str
    tenant: str
    state: str
    stage: str
    reason: str
    cost_usd: float
    created_at: float
    updated_at: float


def event_statement(query: ListQuery, now: float, limit: int = PAGE) -> Select[Any]:
    stmt: Select[Any] = select(events.c.id, events.c.integration, events.c.tenant, events.c.state,
                  events.c.stage, events.c.reason, events.c.cost_usd, events.c.created_at,
                  events.c.updated_at)
    if query.state:
        stmt = stmt.where(events.c.state == query.state)
    stmt = _event_filters(stmt, query, now, events.c.created_at)
    return _page(stmt, events.c.id, query, query.after or None, limit)


def event_page(store: Store, query: ListQuery, now: float | None = None,
               limit: int = PAGE) -> Page:
    ts = time.time() if now is None else now
    with store.read() as conn:
        rows = conn.execute(event_statement(query, ts, limit)).all()
    items = [EventRow(**{**r._asdict(), "reason": scrub(r.reason or "")}) for r in rows[:limit]]
    return Page(items, items[-1].id if len(rows) > limit else "", query)


@dataclass(frozen=True, slots=True)
class DeadRow:
    event_id: str
    integration: str
    stage: str
    reason: str
    dead_at: float
    times: int


def dead_letter_statement(query: ListQuery, now: float, limit: int = PAGE) -> Select[Any]:
    stmt: Select[Any] = (select(events.c.id, events.c.integration, events.c.stage, events.c.reason,
                   events.c.updated_at).where(events.c.state == DEAD_LETTERED))
    if query.stage:  # where it died: ingest, prompt, model, actions...
        stmt = stmt.where(events.c.stage == query.stage)
    stmt = _event_filters(stmt, query, now, events.c.updated_at)
    return _page(stmt, events.c.id, query, query.after or None, limit)


def dead_letter_page(store: Store, query: ListQuery, now: float | None = None,
                     limit: int = PAGE) -> Page:
    ts = time.time() if now is None else now
    with store.read() as conn:
        rows = conn.execute(dead_letter_statement(query, ts, limit)).all()[:limit + 1]
        ids = [r.id for r in rows[:limit]]
        times: dict[str, int] = dict(conn.execute(
            select(dead_letters.c.event_id, func.count()).where(
                dead_letters.c.event_id.in_(ids) if ids else false())
            .group_by(dead_letters.c.event_id)).all())
    items = [DeadRow(r.id, r.integration, r.stage, scrub(r.reason or ""), r.updated_at,
                     int(times.get(r.id, 1))) for r in rows[:limit]]
    return Page(items, items[-1].event_id if len(rows) > limit else "", query)

