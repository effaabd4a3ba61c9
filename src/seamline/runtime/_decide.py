"""Stage 5a and the second commit: the actions an output asks for, then the outcome, the
outbox and the audit in one transaction.

Planning evaluates each action's ``when`` and ``params`` over the (redacted) input and
the output, and asks its approval policy; the path then chooses the outcome, and
:class:`Decide` writes it. Once this commit is made the event cannot be lost: a crash
after it resumes from the outbox.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from sqlalchemy import bindparam, update

from seamline.actions import AWAITING, PENDING, assess, plan_actions, write_outbox
from seamline.audit import AuditEntry, append
from seamline.errors import ConfigError
from seamline.integration import Integration
from seamline.rollout import SHADOW, Gates, StageModes
from seamline.runtime._records import EventLog
from seamline.runtime._results import DEAD_LETTERED, OVER_BUDGET, RETRYING, dumps
from seamline.runtime._spend import Spend
from seamline.runtime._types import Admission, Decision, Inference, Outcome, Plan, Refusal
from seamline.store import FastStatement, Store
from seamline.store.tables import events
from seamline.telemetry import layer_done

GATED = ("the gated stage: every action waits for a person until the evidence of past "
         "approvals drops its gate (rollout.mode: gated)")


class PlanActions:
    """Layer 5's plan for one output: which actions, with which parameters and approvals."""

    def __init__(self, integration: Integration, gates: Gates | None = None,
                 modes: StageModes | None = None) -> None:
        self.integration, self.gates, self.modes = integration, gates, modes

    def run(self, a: Admission, inference: Inference) -> Plan | Refusal:
        """The plan for ``inference``'s output (which must be there). Approval policies
        weigh Seamline's own trust signals: instruction-like text in the (redacted) input,
        and the grounding checks' doubts."""
        output = inference.output
        assert output is not None, "only an output is planned"
        doubts = inference.grounding.flags if inference.grounding is not None else ()
        trust = assess(a.data, doubts)
        try:
            actions = plan_actions(self.integration.actions, integration=self.integration.name,
                                   event_key=a.ev.idempotency_key, data=a.data, output=output,
                                   trust=trust)
        except ConfigError as exc:
            return Refusal("actions", str(exc))
        mode = self.modes.mode() if self.modes is not None else self.integration.rollout.mode
        # Gates hold the model's actions; the baseline's act as they did before the model.
        if mode == "gated" and self.gates is not None and a.path == "ai":
            actions = [replace(p, approval_reason=GATED) if not p.approval_reason
                       and self.gates.closed(p.name) else p for p in actions]
        return Plan(tuple(actions), trust)


class Decide:
    """Writes an event's outcome: its row, its costs, its audit entries and its outbox."""

    def __init__(self, integration: Integration, store: Store, log: EventLog, spend: Spend,
                 *, dry_run: bool = False) -> None:
        self.integration, self.store, self.log, self.spend = integration, store, log, spend
        self.dry_run = dry_run

    def run(self, a: Admission, inference: Inference, plan: Plan, outcome: Outcome,
            fallback: dict[str, Any] | None) -> Decision:
        t = time.perf_counter()
        now = time.time()
        name, event_id, output = self.integration.name, a.event_id, inference.output
        items: tuple = ()
        with self.store.write() as conn:
            self.spend.settle(conn, a.reservation, inference.reservations, inference.cost_usd, now)
            _DECIDED.run(conn, {
                "eid": event_id, "new_state": outcome.state, "new_stage": outcome.stage,
                "new_reason": outcome.reason,
                "new_output": dumps(output) if output is not None else None,
                "fallback": dumps(fallback) if fallback is not None else None,
                "cost": inference.cost_usd, "new_timings": dumps(a.timings), "ts": now,
                "new_model": inference.model if a.path != "baseline" else ""})
            entries = [AuditEntry(event_id, name, "model_call", c) for c in inference.calls]
            if inference.shadow is not None:
                entries.append(AuditEntry(event_id, name, SHADOW, inference.shadow))
            if a.path in ("baseline", "shadow"):
                entries.append(AuditEntry(event_id, name, "baseline", {
                    "output": output, "error": inference.error}))
            if inference.grounding is not None:
                entries.append(AuditEntry(event_id, name, "grounding",
                                          inference.grounding.as_dict()))
            entries.append(AuditEntry(event_id, name, "output", {
                "output": output, "valid": output is not None, "error": inference.error,
                "cost_usd": inference.cost_usd, "path": a.path}))
            if outcome.state == DEAD_LETTERED:
                entries.append(self.log.dead_letter(
                    conn, event_id, outcome.stage, outcome.reason, now, set_state=False,
                    detail=dumps(inference.calls[-1]) if inference.calls else "",
                    payload=dumps(a.data)))
                if fallback is not None:
                    entries.append(AuditEntry(event_id, name, "baseline", {
                        "output": fallback, "role": "fallback"}))
            elif outcome.state not in (RETRYING, OVER_BUDGET) and plan.actions:
                entries.append(AuditEntry(event_id, name, "actions_planned", {
                    "dry_run": self.dry_run,
                    **({"trust": plan.trust.as_dict()} if plan.trust is not None
                       and not plan.trust.self_report_trusted else {}),
                    "actions": [{"action": p.name, "idempotency_key": p.key, "params": p.params,
                                 "status": AWAITING if p.approval_reason else PENDING,
                                 "approval_reason": p.approval_reason} for p in plan.actions]}))
                if not self.dry_run:
                    items = tuple(write_outbox(conn, event_id=event_id, integration=name,
                                               planned=list(plan.actions), now=now))
            entries.append(AuditEntry(event_id, name, "state", {
                "state": outcome.state, "reason": outcome.reason, "timings_ms": a.timings}))
            append(conn, entries, now=now)
        self.spend.announce()  # the shares of a cap this settle reached, now committed
        a.timings["store"] = a.timings.get("store", 0.0) + layer_done("store", t)
        return Decision(a, inference, outcome, fallback, items, plan.awaiting)


_DECIDED = FastStatement(update(events).where(events.c.id == bindparam("eid")).values(
    state=bindparam("new_state"), stage=bindparam("new_stage"), reason=bindparam("new_reason"),
    output=bindparam("new_output"), fallback_output=bindparam("fallback"),
    cost_usd=bindparam("cost"), timings=bindparam("new_timings"), model=bindparam("new_model"),
    updated_at=bindparam("ts")))
