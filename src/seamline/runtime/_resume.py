"""Finishing events left mid-way (a crash) or waiting (over a cost cap).

Each enters the path where the stored state says it stopped: ``acting`` at the actions
(the outbox knows what is pending), ``processing`` / ``retrying`` at the model (the
outcome was never recorded), under a fresh reservation so no cap is crossed.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import select, update

from seamline.audit import AuditEntry, append
from seamline.errors import NotFound
from seamline.inference import BudgetRefusal
from seamline.ingest import IngestedEvent
from seamline.runtime._path import Stages, answer
from seamline.runtime._results import ACTING, OVER_BUDGET, PROCESSING, RETRYING, EventResult
from seamline.runtime._types import Admission
from seamline.store import Store
from seamline.store.tables import events, jobs


def resume(s: Stages, event_id: str, *, defer: frozenset[str] = frozenset()) -> EventResult:
    """Finish an event a crashed process left mid-way, without acting twice.

    ``acting``: the outbox is written; run what is still pending. ``processing``: the
    outcome was never recorded, so the model is asked again (under a fresh reservation:
    the crashed one is left counted, erring on the side of the cap). Any other state is
    settled already and is read back.
    """
    with s.log.store.read() as conn:
        row = conn.execute(events.select().where(events.c.id == event_id)).first()
    if row is None:
        raise NotFound(f"There is no event {event_id}.")
    output = json.loads(row.output) if row.output else None
    if row.state == ACTING:
        o = s.act.finish(event_id, row.path, defer="actions" in defer)
        return EventResult(event_id, o.state, o.reason, o.stage, row.path, output)
    if row.state not in (PROCESSING, RETRYING):
        return EventResult(event_id, row.state, row.reason, row.stage, row.path, output,
                           duplicate_of=row.duplicate_of, cost_usd=row.cost_usd)
    data = json.loads(row.input)
    ev = IngestedEvent(data=data, secrets={}, idempotency_key=row.idempotency_key,
                       tenant=row.tenant)
    rendered, reservation = None, None
    if row.path == "ai":
        rendered = s.prompt.render(data)
        now = time.time()
        with s.log.store.write() as conn:
            got = s.spend.reserve(conn, s.prompt.tokens(rendered), row.tenant, now)
            entries = [AuditEntry(event_id, s.log.name, "resume", {"from_state": row.state})]
            if isinstance(got, BudgetRefusal):
                s.log.set_state(conn, event_id, OVER_BUDGET, "inference", got.reason, now)
                append(conn, entries, now=now)
                return EventResult(event_id, OVER_BUDGET, got.reason, "inference", "ai")
            append(conn, entries, now=now)
        reservation = got
    return answer(s, Admission(event_id, ev, data, rendered, reservation), defer)


def release(s: Stages, event_id: str) -> EventResult:
    """Try an event waiting in the escalation queue (over budget) again, under today's caps.

    If a cap still refuses, it goes back to waiting; nothing is sent over a cap.
    """
    now = time.time()
    with s.log.store.write() as conn:
        moved = conn.execute(update(events).where(
            events.c.id == event_id, events.c.state == OVER_BUDGET,
            events.c.integration == s.log.name).values(
            state=PROCESSING, reason="", stage="", updated_at=now)).rowcount
        if moved != 1:
            raise NotFound(f"Event {event_id} of {s.log.name} is not waiting "
                           "in the escalation queue.")
        append(conn, [AuditEntry(event_id, s.log.name, "release",
                                 {"from_state": OVER_BUDGET})], now=now)
    return resume(s, event_id)


def stranded(store: Store, integration: str, older_than_s: float = 300.0) -> list[str]:
    """Events of an integration left mid-way by a process that stopped (oldest first)."""
    cutoff = time.time() - older_than_s
    # An event a job still holds is the queue's to finish (workers reclaim expired leases).
    queued = select(jobs.c.id).where(jobs.c.event_id == events.c.id,
                                     jobs.c.status.in_(("queued", "running")))
    with store.read() as conn:
        return list(conn.execute(
            select(events.c.id).where(events.c.integration == integration,
                                      events.c.state.in_((PROCESSING, ACTING, RETRYING)),
                                      events.c.updated_at <= cutoff, ~queued.exists())
            .order_by(events.c.created_at)).scalars())
