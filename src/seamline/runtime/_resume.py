"""Finishing events left mid-way (a crash) or waiting (over a cost cap).

A mixin of :class:`~seamline.runtime.Pipeline`: the states an event can be picked up
from, and how it continues without acting twice or spending over a cap.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import select, update

from seamline.audit import AuditEntry, append
from seamline.errors import NotFound
from seamline.inference import BudgetRefusal
from seamline.ingest import IngestedEvent
from seamline.runtime._results import ACTING, OVER_BUDGET, PROCESSING, RETRYING, EventResult
from seamline.store.tables import events, jobs


class ResumeMixin:
    def resume(self, event_id: str, *, defer: frozenset[str] = frozenset()) -> EventResult:
        """Finish an event a crashed process left mid-way, without acting twice.

        ``acting``: the outbox is written; run what is still pending. ``processing``: the
        outcome was never recorded, so the model is asked again (under a fresh reservation:
        the crashed one is left counted, erring on the side of the cap).
        """
        with self.store.read() as conn:
            row = conn.execute(events.select().where(events.c.id == event_id)).first()
        if row is None:
            raise NotFound(f"There is no event {event_id}.")
        if row.state == ACTING:
            state, stage, reason = self.finish_actions(event_id, row.path,
                                                       defer="actions" in defer)
            out = json.loads(row.output) if row.output else None
            return EventResult(event_id, state, reason, stage, row.path, out)
        if row.state not in (PROCESSING, RETRYING):
            out = json.loads(row.output) if row.output else None
            return EventResult(event_id, row.state, row.reason, row.stage, row.path, out,
                               duplicate_of=row.duplicate_of, cost_usd=row.cost_usd)
        data = json.loads(row.input)
        ev = IngestedEvent(data=data, secrets={}, idempotency_key=row.idempotency_key,
                           tenant=row.tenant)
        rendered, reservation = None, None
        if row.path == "ai":
            rendered = self._render(data)
            tokens = self.counter.count(rendered.system) + self.counter.count(rendered.user)
            now = time.time()
            with self.store.write() as conn:
                got = self.ledger.reserve(conn, self.ledger.estimate(tokens), row.tenant, now)
                entries = [AuditEntry(event_id, self.integration.name, "resume",
                                      {"from_state": row.state})]
                if isinstance(got, BudgetRefusal):
                    self._set_state(conn, event_id, OVER_BUDGET, "inference", got.reason, now)
                    append(conn, entries, now=now)
                    return EventResult(event_id, OVER_BUDGET, got.reason, "inference", "ai")
                append(conn, entries, now=now)
            reservation = got
        return self._answer(event_id, ev, data, rendered, reservation, {}, defer=defer)

    def release(self, event_id: str) -> EventResult:
        """Try an event waiting in the escalation queue (over budget) again, under today's caps.

        If a cap still refuses, it goes back to waiting; nothing is sent over a cap.
        """
        now = time.time()
        with self.store.write() as conn:
            moved = conn.execute(update(events).where(
                events.c.id == event_id, events.c.state == OVER_BUDGET,
                events.c.integration == self.integration.name).values(
                state=PROCESSING, reason="", stage="", updated_at=now)).rowcount
            if moved != 1:
                raise NotFound(f"Event {event_id} of {self.integration.name} is not waiting "
                               "in the escalation queue.")
            append(conn, [AuditEntry(event_id, self.integration.name, "release",
                                     {"from_state": OVER_BUDGET})], now=now)
        return self.resume(event_id)

    def stranded(self, older_than_s: float = 300.0) -> list[str]:
        """Events of this integration left mid-way by a process that stopped (oldest first)."""
        cutoff = time.time() - older_than_s
        # An event a job still holds is the queue's to finish (workers reclaim expired leases).
        queued = select(jobs.c.id).where(jobs.c.event_id == events.c.id,
                                         jobs.c.status.in_(("queued", "running")))
        with self.store.read() as conn:
            return list(conn.execute(
                select(events.c.id).where(events.c.integration == self.integration.name,
                                          events.c.state.in_((PROCESSING, ACTING, RETRYING)),
                                          events.c.updated_at <= cutoff, ~queued.exists())
                .order_by(events.c.created_at)).scalars())
