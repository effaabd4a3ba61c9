"""Deciding an event's outcome: one transaction for the output, the outbox and the audit,
then its actions, and the state it settles in.

A mixin of :class:`~seamline.runtime.Pipeline` (the third of the pipeline's three commits).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import bindparam, update

from seamline.actions import AWAITING, DONE, FAILED, PENDING, OutboxItem, plan_actions, write_outbox
from seamline.actions import REJECTED as REJECTED_ACTION
from seamline.audit import AuditEntry, append
from seamline.errors import ConfigError
from seamline.inference import BudgetRefusal, CostReservation
from seamline.ingest import IngestedEvent
from seamline.runtime._results import (
    ACTING,
    AWAITING_APPROVAL,
    BASELINE,
    DEAD_LETTERED,
    OVER_BUDGET,
    REJECTED,
    RETRYING,
    SUCCEEDED,
    EventResult,
    _Inference,
)
from seamline.runtime._results import dumps as _dumps
from seamline.store import FastStatement
from seamline.store.tables import dead_letters, events
from seamline.telemetry import layer_done, observe_event


class DecideMixin:
    def _decide(self, event_id: str, ev: IngestedEvent, data: dict[str, Any], inf: _Inference,
                output: dict[str, Any] | None, path: str,
                reservation: CostReservation | BudgetRefusal | None,
                timings: dict[str, float], defer: frozenset[str] = frozenset()) -> EventResult:
        """Write the outcome and the outbox in one transaction, then act."""
        name = self.integration.name
        planned, fallback, items = [], None, None
        if output is not None:
            try:
                planned = plan_actions(self.integration.actions, integration=name,
                                       event_key=ev.idempotency_key, data=data, output=output)
            except ConfigError as exc:
                output, inf.error, inf.stage = None, str(exc), "actions"
        retry = output is None and inf.retryable and inf.stage in defer
        if output is None and path == "ai" and self.integration.rollout.baseline_on_failure \
                and not retry and not inf.over_budget:
            # The caller still gets an answer; no action runs on it, since redriving the
            # dead letter later will act on the real output.
            fallback, _ = self._run_baseline(data)
        t = time.perf_counter()
        now = time.time()
        awaiting = sum(1 for p in planned if p.approval_reason)
        pending = len(planned) - awaiting
        if retry:
            state, stage, reason = RETRYING, inf.stage, inf.error
        elif output is None and inf.over_budget:
            state, stage, reason = OVER_BUDGET, inf.stage, inf.error
        elif output is None:
            state, stage, reason = DEAD_LETTERED, inf.stage, inf.error
        elif self.dry_run or pending == 0:
            state = AWAITING_APPROVAL if awaiting and not self.dry_run else (
                SUCCEEDED if path == "ai" else BASELINE)
            stage, reason = "", ""
        else:
            state, stage, reason = ACTING, "", ""
        with self.store.write() as conn:
            self.settle_costs(conn, reservation, inf, now)
            _DECIDED.run(conn, {
                "eid": event_id, "new_state": state, "new_stage": stage, "new_reason": reason,
                "new_output": _dumps(output) if output is not None else None,
                "fallback": _dumps(fallback) if fallback is not None else None,
                "cost": inf.cost_usd, "new_timings": _dumps(timings), "ts": now,
                "new_model": inf.model if path == "ai" else ""})
            entries = [AuditEntry(event_id, name, "model_call", c) for c in inf.calls]
            if path == "baseline":
                entries.append(AuditEntry(event_id, name, "baseline", {"output": output,
                                                                       "error": inf.error}))
            if inf.grounding is not None:
                entries.append(AuditEntry(event_id, name, "grounding", inf.grounding.as_dict()))
            entries.append(AuditEntry(event_id, name, "output", {
                "output": output, "valid": output is not None, "error": inf.error,
                "cost_usd": inf.cost_usd, "path": path}))
            if retry or state == OVER_BUDGET:
                pass  # tried again later (the queue's backoff, or a release); not dead
            elif output is None:
                conn.execute(dead_letters.insert(), {
                    "event_id": event_id, "integration": name, "stage": stage, "reason": reason,
                    "detail": _dumps(inf.calls[-1]) if inf.calls else "", "payload": _dumps(data),
                    "created_at": now})
                entries.append(AuditEntry(event_id, name, "dead_letter", {"stage": stage, "reason": reason}))
                if fallback is not None:
                    entries.append(AuditEntry(event_id, name, "baseline", {"output": fallback,
                                                                           "role": "fallback"}))
            elif planned:
                entries.append(AuditEntry(event_id, name, "actions_planned", {
                    "dry_run": self.dry_run,
                    "actions": [{"action": p.name, "idempotency_key": p.key, "params": p.params,
                                 "status": AWAITING if p.approval_reason else PENDING,
                                 "approval_reason": p.approval_reason} for p in planned]}))
                if not self.dry_run:
                    items = write_outbox(conn, event_id=event_id, integration=name,
                                         planned=planned, now=now)
            entries.append(AuditEntry(event_id, name, "state", {"state": state, "reason": reason,
                                                                "timings_ms": timings}))
            append(conn, entries, now=now)
        timings["store"] = timings.get("store", 0.0) + layer_done("store", t)
        if state == ACTING:
            t = time.perf_counter()
            state, stage, reason = self.finish_actions(event_id, path, items,
                                                       defer="actions" in defer)
            timings["actions"] = layer_done("actions", t)
        result = EventResult(event_id, state, reason, stage, path, output, fallback, None,
                             inf.cost_usd, timings, awaiting)
        observe_event(name, result, inf.calls)
        return result

    def finish_actions(self, event_id: str, path: str, items: list[OutboxItem] | None = None,
                       *, defer: bool = False) -> tuple[str, str, str]:
        """Run the event's pending actions and settle its state (also after a crash or approval).

        ``defer``: an action that keeps failing stays pending and the event stays ``acting``
        (the queue runs it again after a backoff) instead of going to the dead-letter queue.
        """
        settled: list[tuple[str, str, str]] = []

        def finalize(conn, statuses: list[str]) -> list[AuditEntry]:
            if PENDING in statuses:
                settled.append((ACTING, "actions", "an action failed; it will be tried again"))
                return [AuditEntry(event_id, self.integration.name, "retry",
                                   {"stage": "actions", "reason": settled[-1][2]})]
            if FAILED in statuses:
                state, stage, reason = DEAD_LETTERED, "actions", "an action kept failing (see the outbox)"
            elif AWAITING in statuses:
                state, stage, reason = AWAITING_APPROVAL, "", ""
            elif REJECTED_ACTION in statuses and DONE not in statuses:
                state, stage, reason = REJECTED, "", "every action was rejected by a reviewer"
            else:
                state, stage, reason = (SUCCEEDED if path == "ai" else BASELINE), "", ""
            now = time.time()
            self._set_state(conn, event_id, state, stage, reason, now)
            if state == DEAD_LETTERED:
                conn.execute(dead_letters.insert(), {
                    "event_id": event_id, "integration": self.integration.name, "stage": stage,
                    "reason": reason, "detail": "", "payload": None, "created_at": now})
            settled.append((state, stage, reason))
            return [AuditEntry(event_id, self.integration.name, "state",
                               {"state": state, "reason": reason})]

        self.actions.run_event(event_id, items, finalize=finalize, defer=defer)
        return settled[-1]


_DECIDED = FastStatement(update(events).where(events.c.id == bindparam("eid")).values(
    state=bindparam("new_state"), stage=bindparam("new_stage"), reason=bindparam("new_reason"),
    output=bindparam("new_output"), fallback_output=bindparam("fallback"),
    cost_usd=bindparam("cost"), timings=bindparam("new_timings"), model=bindparam("new_model"),
    updated_at=bindparam("ts")))
