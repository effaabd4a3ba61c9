"""Layer 7, rollout: the whole path as one declared plan, walked on the recorded numbers.

``rollout.plan`` lists stages, e.g. shadow for 7 days, then gated until the gate rules
hold, then the canary 5 → 100%. ``advance`` (called by ``seamline rollout watch``) starts
the plan, and moves it on only when what is recorded says so:

- shadow → next: the stage has lasted ``for``, has ``min_events`` answered shadow
  decisions, and every output field's agreement has a lower 95% bound ≥ ``min_agreement``;
- gated → next: every declared gate rule holds (each gate is dropped as its rule holds);
- canary: the flag's staged rollout (``start_rollout``), promoted and rolled back by its
  own evaluation; the plan completes or rolls back with it.

While a plan exists its stage sets the integration's mode: ``shadow`` in the shadow stage,
else ``gated`` (the gated stage, the canary and after: gates dropped by evidence stay
dropped, high-risk actions keep theirs for good). Every move is a ``rollout_stage`` audit
entry with the numbers behind it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update

from seamline.audit import AuditEntry, append
from seamline.durations import seconds
from seamline.errors import ConfigError
from seamline.integration import Integration
from seamline.rollout import _golive
from seamline.rollout._flags import Flags
from seamline.rollout._gates import Gates, action_risk
from seamline.rollout._schedule import COMPLETE, ROLLED_BACK, RUNNING, get_plan, start_rollout
from seamline.rollout._shadow import shadow_report
from seamline.store import Store
from seamline.store.tables import rollout_stages

ACTOR = "rollout"


@dataclass(frozen=True, slots=True)
class StageState:
    """A declared plan as stored: its stages, where it is, since when."""

    integration: str
    plan: tuple[dict[str, Any], ...]
    stage: int
    status: str
    stage_started_at: float
    reason: str

    @property
    def current(self) -> dict[str, Any]:
        return self.plan[self.stage]

    @property
    def mode(self) -> str:
        """The mode the stage sets: shadow in a running shadow stage, else gated."""
        if self.status == RUNNING and self.current["stage"] == "shadow":
            return "shadow"
        return "gated"


@dataclass(frozen=True)
class StageDecision:
    """What one ``advance`` did: started, held, advanced, completed or rolled_back."""

    action: str
    stage: str
    reason: str
    numbers: dict[str, Any] = field(default_factory=dict)


def get_stage(store: Store, integration: str) -> StageState | None:
    with store.read() as conn:
        row = conn.execute(select(rollout_stages)
                           .where(rollout_stages.c.integration == integration)).first()
    if row is None:
        return None
    return StageState(row.integration, tuple(json.loads(row.plan)), row.stage, row.status,
                      row.stage_started_at, row.reason)


class StageModes:
    """The mode each event of one integration runs in: its plan's stage, read at most once
    per ``ttl`` seconds, or the declared ``rollout.mode`` when it declares no plan."""

    def __init__(self, integration: Integration, store: Store, *, ttl: float = 1.0) -> None:
        self.integration, self.store, self.ttl = integration, store, ttl
        self._cached: tuple[float, str] | None = None

    def mode(self) -> str:
        declared = self.integration.rollout.mode
        if not self.integration.rollout.plan:
            return declared
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < self.ttl:
            return self._cached[1]
        state = get_stage(self.store, self.integration.name)
        mode = state.mode if state is not None else declared
        self._cached = (now, mode)
        return mode


def _plan_of(integration: Integration) -> tuple[dict[str, Any], ...]:
    if not integration.rollout.plan:
        raise ConfigError(f"The integration {integration.name!r} declares no rollout.plan.")
    return tuple(s.model_dump(by_alias=True) for s in integration.rollout.plan)


def _write(store: Store, integration: str, values: dict[str, Any], entry: dict[str, Any],
           now: float, *, insert_row: bool = False) -> None:
    with store.write() as conn:
        if insert_row:
            conn.execute(insert(rollout_stages).values(integration=integration, **values))
        else:
            conn.execute(update(rollout_stages)
                         .where(rollout_stages.c.integration == integration).values(**values))
        append(conn, [AuditEntry("-", integration, "rollout_stage", entry)], now=now)


def _enter(store: Store, integration: Integration, state: StageState, index: int,
           reason: str, numbers: dict[str, Any], now: float, flags: Flags) -> StageDecision:
    """Move the plan to stage ``index`` (past the last: complete) with the numbers why."""
    name = integration.name
    if index < len(state.plan) and state.plan[index]["stage"] != "shadow":
        # Past shadow the model acts: only once its signed-off golden set is passed.
        problem = _golive.go_live_problem(store, integration)
        if problem is not None:
            return StageDecision("held", state.current["stage"],
                                 f"ready for {state.plan[index]['stage']}, but {problem}",
                                 numbers)
    if index >= len(state.plan):
        _write(store, name, {"status": COMPLETE, "reason": reason, "updated_at": now},
               {"change": "completed", "reason": reason, "numbers": numbers}, now)
        return StageDecision("completed", state.current["stage"], reason, numbers)
    stage = state.plan[index]
    _write(store, name, {"stage": index, "stage_started_at": now, "reason": reason,
                         "updated_at": now},
           {"change": "advanced", "from": state.current["stage"], "to": stage["stage"],
            "reason": reason, "numbers": numbers}, now)
    _begin(store, integration, stage, reason, now, flags)
    return StageDecision("advanced", stage["stage"], reason, numbers)


def _begin(store: Store, integration: Integration, stage: dict[str, Any], reason: str,
           now: float, flags: Flags) -> None:
    if stage["stage"] == "gated":  # the model acts, through a person, on every event
        flags.set(integration.flag_name, "on", reason=f"gated stage: {reason}",
                  integration=integration.name, actor=ACTOR)
    elif stage["stage"] == "canary":
        start_rollout(store, integration, steps=stage["steps"],
                      window_s=seconds(stage["window"]), criteria=stage["criteria"],
                      reason=f"canary stage of the rollout plan: {reason}", now=now,
                      actor=ACTOR, flags=flags)


def start_plan(store: Store, integration: Integration, *, now: float | None = None,
               flags: Flags | None = None) -> StageDecision:
    """Start walking the declared plan at its first stage (again, after it ended)."""
    plan, now = _plan_of(integration), time.time() if now is None else now
    flags = flags or Flags(store)
    existing = get_stage(store, integration.name)
    if existing is not None and existing.status == RUNNING:
        raise ConfigError(f"The rollout plan of {integration.name} is already running, in its "
                          f"{existing.current['stage']} stage.")
    if plan[0]["stage"] != "shadow":  # a plan that starts past shadow acts at once
        _golive.check_go_live(store, integration, flag=integration.flag_name, value="on")
    reason = f"rollout plan started: {' → '.join(s['stage'] for s in plan)}"
    values = {"plan": json.dumps(plan), "stage": 0, "status": RUNNING,
              "stage_started_at": now, "reason": reason, "updated_at": now}
    _write(store, integration.name, values, {"change": "started", "plan": list(plan),
                                             "reason": reason}, now,
           insert_row=existing is None)
    _begin(store, integration, plan[0], reason, now, flags)
    return StageDecision("started", plan[0]["stage"], reason)


def advance(store: Store, integration: Integration, *, now: float | None = None,
            flags: Flags | None = None) -> StageDecision:
    """One look at the plan: start it, hold it, or move it on, on the recorded numbers."""
    now = time.time() if now is None else now
    flags = flags or Flags(store)
    state = get_stage(store, integration.name)
    if state is None:
        return start_plan(store, integration, now=now, flags=flags)
    stage = state.current
    if state.status != RUNNING:
        return StageDecision("held", stage["stage"], f"the plan is {state.status}: {state.reason}")
    if stage["stage"] == "shadow":
        return _shadow_step(store, integration, state, now, flags)
    if stage["stage"] == "gated":
        return _gated_step(store, integration, state, now, flags)
    return _canary_step(store, integration, state, now, flags)


def _shadow_step(store: Store, integration: Integration, state: StageState, now: float,
                 flags: Flags) -> StageDecision:
    stage = state.current
    elapsed, wanted = now - state.stage_started_at, seconds(stage["for"])
    report = shadow_report(store, integration.name, since=state.stage_started_at)
    fields = {a.name: a.as_dict() for a in report.fields}
    numbers = {"elapsed_s": elapsed, "answered": report.answered, "fields": fields,
               "cost_per_event_usd": report.cost_per_event_usd}
    if elapsed < wanted:
        return StageDecision("held", "shadow", f"{elapsed / wanted:.0%} of the shadow stage's "
                                               f"{stage['for']}", numbers)
    if report.answered < stage["min_events"]:
        return StageDecision("held", "shadow", f"{report.answered} of the "
                                               f"{stage['min_events']} answered shadow "
                                               "decisions the stage needs", numbers)
    low = [f"{n} {d['share']:.1%} (lower bound {d['low']:.1%})" for n, d in fields.items()
           if d["low"] < stage["min_agreement"]]
    if low or not fields:
        return StageDecision("held", "shadow", "agreement below "
                                               f"{stage['min_agreement']:.0%} on "
                                               + (", ".join(low) or "every field (none scored)"),
                             numbers)
    why = (f"shadow for {stage['for']}: {report.answered} decisions, every field's lower "
           f"bound at least {stage['min_agreement']:.0%}")
    return _enter(store, integration, state, state.stage + 1, why, numbers, now, flags)


def _gated_step(store: Store, integration: Integration, state: StageState, now: float,
                flags: Flags) -> StageDecision:
    gates = Gates(integration, flags)
    low_risk = {s.name for s in integration.actions if action_risk(s) == "low"}
    rules = [a for a in integration.rollout.gates if a in low_risk]
    if not rules:
        return StageDecision("held", "gated", "rollout.gates declares no rule, so no gate can "
                                              "be dropped on evidence: declare one per "
                                              "low-risk action")
    numbers, waiting = {}, []
    for action in rules:
        closed_before = gates.closed(action)
        ev = gates.drop(action) if closed_before else None
        if ev is not None:
            numbers[action] = ev.as_dict()
            if not ev.holds:
                waiting.append(f"{action}: {ev.why}")
    if waiting:
        return StageDecision("held", "gated", "; ".join(waiting), numbers)
    why = f"every gate rule holds ({', '.join(rules)} ungated on evidence)"
    return _enter(store, integration, state, state.stage + 1, why, numbers, now, flags)


def _canary_step(store: Store, integration: Integration, state: StageState, now: float,
                 flags: Flags) -> StageDecision:
    plan = get_plan(store, integration.flag_name)
    if plan is None:
        return StageDecision("held", "canary", "the canary has no staged rollout")
    numbers = {"status": plan.status, "percent": plan.percent, "step": plan.step + 1}
    if plan.status == COMPLETE:
        return _enter(store, integration, state, state.stage + 1,
                      f"canary complete at {plan.percent:g}%", numbers, now, flags)
    if plan.status == ROLLED_BACK:
        reason = f"the canary rolled back: {plan.reason}"
        _write(store, integration.name, {"status": ROLLED_BACK, "reason": reason,
                                         "updated_at": now},
               {"change": "rolled_back", "reason": reason, "numbers": numbers}, now)
        return StageDecision("rolled_back", "canary", reason, numbers)
    return StageDecision("held", "canary", f"canary {plan.status} at {plan.percent:g}%: "
                                           f"{plan.reason}", numbers)


def advance_all(store: Store, load: Any, *, now: float | None = None) -> list[StageDecision]:
    """``advance`` every plan in the store; ``load(name)`` gives its Integration (or None)."""
    with store.read() as conn:
        names = [r[0] for r in conn.execute(select(rollout_stages.c.integration)
                                            .where(rollout_stages.c.status == RUNNING))]
    out = []
    for name in names:
        integration = load(name)
        if integration is not None:
            out.append(advance(store, integration, now=now))
    return out


__all__ = ["StageDecision", "StageModes", "StageState", "advance", "advance_all", "get_stage",
           "start_plan"]
