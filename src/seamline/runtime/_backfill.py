"""Backfill: run past events again through the integration as it is now, and show what changed.

After a prompt fix, a team wants to know what the fix changes on real traffic, and
sometimes to apply it. Each event is asked again from its stored (redacted) input;
the old and new outputs are compared field by field. With ``apply``, the new output
replaces the old one and actions the new output plans are run, except those that
already ran: an action's idempotency key is (integration, event key, action), so an
action that already acted is recognised in the outbox and never sent twice.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from seamline.actions import PlannedAction, write_outbox
from seamline.audit import AuditEntry, append
from seamline.errors import NotFound
from seamline.inference import BudgetRefusal
from seamline.ingest import IngestedEvent
from seamline.runtime._pipeline import Pipeline
from seamline.runtime._results import ACTING, DEAD_LETTERED, OVER_BUDGET, TERMINAL
from seamline.runtime._types import Admission, Refusal
from seamline.store.tables import events, outbox


@dataclass
class BackfillChange:
    event_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    error: str = ""
    applied: bool = False
    new_actions: list[str] = field(default_factory=list)
    already_acted: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    state: str = ""

    @property
    def outcome(self) -> str:
        if self.error:
            return "failed"
        return "changed" if self.changed else "unchanged"


def select_events(store, integration: str, *, since: float | None = None,
                  until: float | None = None, states: tuple[str, ...] = (),
                  ids: tuple[str, ...] = (), limit: int | None = None) -> list[str]:
    """Ids of this integration's past events in a range, oldest first."""
    q = select(events.c.id).where(events.c.integration == integration,
                                  events.c.path.in_(("ai", "baseline")))
    if since is not None:
        q = q.where(events.c.created_at >= since)
    if until is not None:
        q = q.where(events.c.created_at < until)
    if states:
        q = q.where(events.c.state.in_(states))
    if ids:
        q = q.where(events.c.id.in_(ids))
    q = q.order_by(events.c.created_at, events.c.id)
    if limit:
        q = q.limit(limit)
    with store.read() as conn:
        return list(conn.execute(q).scalars())


def backfill_event(pipeline: Pipeline, event_id: str, *, apply: bool = False) -> BackfillChange:
    """Ask the model again for one past event; with ``apply``, adopt the new answer."""
    change = BackfillChange(event_id)
    with pipeline.store.read() as conn:
        row = conn.execute(select(events).where(events.c.id == event_id)).first()
    name = pipeline.integration.name
    if row is None or row.integration != name:
        raise NotFound(f"There is no event {event_id} of {name}.")
    change.state = row.state
    change.before = json.loads(row.output) if row.output else None
    if row.state not in TERMINAL:
        change.error = f"the event is still in flight ({row.state}); backfill it once it settles"
        return change
    if row.state == DEAD_LETTERED:
        change.error = "the event is in the dead-letter queue; use 'seamline dlq redrive'"
        return change
    if row.state == OVER_BUDGET:
        change.error = "the event waits in the escalation queue; use 'seamline escalations release'"
        return change
    s = pipeline.stages
    data = json.loads(row.input)
    ev = IngestedEvent(data=data, secrets={}, idempotency_key=row.idempotency_key, tenant=row.tenant)
    rendered = s.prompt.render(data)
    now = time.time()
    with pipeline.store.write() as conn:
        reservation = s.spend.reserve(conn, s.prompt.tokens(rendered), row.tenant, now)
        s.log.record_prompt(conn, rendered, now)
    if isinstance(reservation, BudgetRefusal):
        change.error = reservation.reason
        return change
    admission = Admission(event_id, ev, data, rendered, reservation)
    inf = s.infer.run(admission)
    change.after, change.cost_usd = inf.output, inf.cost_usd
    if inf.output is None:
        change.error = inf.error
    change.changed = _diff(change.before, change.after)
    planned: tuple[PlannedAction, ...] = ()
    if apply and inf.output is not None:
        plan = s.plan.run(admission, inf)
        if isinstance(plan, Refusal):
            change.error = plan.reason
        else:
            planned = plan.actions
    now = time.time()
    with pipeline.store.write() as conn:
        s.spend.settle(conn, reservation, inf.reservations, inf.cost_usd, now)
        entries = [AuditEntry(event_id, name, "model_call", {**c, "backfill": True}) for c in inf.calls]
        if apply and not change.error:
            known = set(conn.execute(select(outbox.c.idempotency_key).where(
                outbox.c.idempotency_key.in_([p.key for p in planned]))).scalars())
            fresh = [p for p in planned if p.key not in known]
            change.already_acted = [p.name for p in planned if p.key in known]
            change.new_actions = [p.name for p in fresh]
            values: dict[str, Any] = {"output": json.dumps(inf.output, ensure_ascii=False),
                                      "prompt_version": rendered.version, "model": inf.model,
                                      "cost_usd": row.cost_usd + inf.cost_usd, "updated_at": now}
            if fresh:
                write_outbox(conn, event_id=event_id, integration=name, planned=fresh, now=now)
                values.update(state=ACTING, stage="", reason="")
            conn.execute(update(events).where(events.c.id == event_id).values(**values))
            change.applied = True
        entries.append(AuditEntry(event_id, name, "backfill", {
            "prompt_version": rendered.version, "before": change.before, "after": change.after,
            "changed": sorted(change.changed), "applied": change.applied, "error": change.error,
            "new_actions": change.new_actions, "already_acted": change.already_acted,
            "cost_usd": inf.cost_usd}))
        append(conn, entries, now=now)
    if change.new_actions:
        change.state, _, _ = pipeline.finish_actions(event_id, row.path)
    return change


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, tuple[Any, Any]]:
    if before == after:
        return {}
    if before is None or after is None:
        return {"(output)": (before, after)}
    return {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)}
