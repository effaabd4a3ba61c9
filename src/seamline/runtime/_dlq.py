"""The dead-letter queue as people see it: events whose state is ``dead_lettered`` now.

The ``dead_letters`` table is the history (every time an event died, with the reason
and the last error); an event redriven successfully leaves the queue but keeps
its history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from seamline.errors import NotFound
from seamline.runtime._results import DEAD_LETTERED
from seamline.store import Store
from seamline.store.tables import dead_letters, events


@dataclass(frozen=True, slots=True)
class DeadLetter:
    event_id: str
    integration: str
    stage: str
    reason: str
    last_error: str  # the last model call or action error, as recorded
    input: Any  # redacted
    dead_at: float
    times: int  # how often this event died


def dead_letters_now(store: Store, *, integration: str | None = None, reason: str | None = None,
                     stage: str | None = None, event_ids: tuple[str, ...] = (),
                     limit: int | None = None) -> list[DeadLetter]:
    """Events in the dead-letter queue, newest first; ``reason`` matches a substring."""
    latest = (select(dead_letters.c.event_id, func.max(dead_letters.c.id).label("last"),
                     func.count().label("times"))
              .group_by(dead_letters.c.event_id).subquery())
    q = (select(events.c.id, events.c.integration, events.c.stage, events.c.reason, events.c.input,
                events.c.updated_at, dead_letters.c.detail, latest.c.times)
         .join(latest, latest.c.event_id == events.c.id)
         .join(dead_letters, dead_letters.c.id == latest.c.last)
         .where(events.c.state == DEAD_LETTERED))
    if integration:
        q = q.where(events.c.integration == integration)
    if reason:
        q = q.where(events.c.reason.contains(reason, autoescape=True))
    if stage:
        q = q.where(events.c.stage == stage)
    if event_ids:
        q = q.where(events.c.id.in_(event_ids))
    q = q.order_by(events.c.updated_at.desc(), events.c.id.desc())
    if limit:
        q = q.limit(limit)
    with store.read() as conn:
        rows = conn.execute(q).all()
    return [DeadLetter(r.id, r.integration, r.stage, r.reason, _last_error(r.detail),
                       json.loads(r.input) if r.input else None, r.updated_at, r.times)
            for r in rows]


def dead_letter(store: Store, event_id: str) -> DeadLetter:
    found = dead_letters_now(store, event_ids=(event_id,))
    if not found:
        raise NotFound(f"Event {event_id} is not in the dead-letter queue.")
    return found[0]


def _last_error(detail: str | None) -> str:
    if not detail:
        return ""
    try:
        call = json.loads(detail)
    except ValueError:
        return detail
    if isinstance(call, dict):
        return str(call.get("error") or call.get("reply") or "")
    return detail
