"""Layer 7, rollout: staged canaries promoted while healthy, rolled back the moment they are not.

A plan (table ``rollout_plans``) walks a flag through steps such as 5, 10, 25, 50, 100
percent. ``evaluate_rollout`` measures the AI path against the baseline path over the
current step. Every change of the flag is a ``flag`` audit entry with its reason, and every
change of the plan a ``rollout_plan`` entry carrying the numbers; an automatic change moves
the plan and the flag in one transaction, by compare-and-set, so two watchers act once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from sqlalchemy import insert, select, update

from seamline.alerts import Alert, raise_alert
from seamline.audit import AuditEntry, append
from seamline.errors import ConfigError
from seamline.integration import Integration
from seamline.rollout import _golive
from seamline.rollout._criteria import Criteria, breaches
from seamline.rollout._flags import Flags
from seamline.rollout._health import Health, measure
from seamline.store import Store
from seamline.store.tables import flags as flag_rows
from seamline.store.tables import rollout_plans

RUNNING, PAUSED, ROLLED_BACK, COMPLETE = "running", "paused", "rolled_back", "complete"
CANCELLED, ABORTED = "cancelled", "aborted"  # a manual flip; a person stopped it
DEFAULT_STEPS = (5.0, 10.0, 25.0, 50.0, 100.0)
ACTOR = "rollout"


@dataclass(frozen=True, slots=True)
class Plan:
    """A staged rollout as stored."""

    flag: str
    integration: str
    steps: tuple[float, ...]
    step: int
    window_s: float
    criteria: Criteria
    status: str
    step_started_at: float
    reason: str
    updated_at: float

    @property
    def percent(self) -> float:
        return self.steps[self.step]


@dataclass(frozen=True, slots=True)
class Decision:
    """What one evaluation did: promoted, rolled_back, held, completed, cancelled or idle."""

    flag: str
    action: str
    percent: float
    reason: str
    health: Health | None = None


def _row_to_plan(row: Any) -> Plan:
    return Plan(row.flag, row.integration, tuple(float(s) for s in json.loads(row.steps)), row.step,
                row.window_s, Criteria.model_validate_json(row.criteria), row.status,
                row.step_started_at, row.reason, row.updated_at)


def get_plan(store: Store, flag: str) -> Plan | None:
    with store.read() as conn:
        row = conn.execute(select(rollout_plans).where(rollout_plans.c.flag == flag)).first()
    return _row_to_plan(row) if row else None


def list_plans(store: Store) -> list[Plan]:
    with store.read() as conn:
        rows = conn.execute(select(rollout_plans).order_by(rollout_plans.c.flag)).all()
    return [_row_to_plan(r) for r in rows]


def _check_steps(steps: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(s) for s in steps)
    if not out:
        raise ConfigError("A staged rollout needs at least one step, such as 5, 10, 25, 50, 100.")
    if any(not 0 < s <= 100 for s in out):
        raise ConfigError(f"Rollout steps are percentages above 0 and at most 100, not {list(out)}.")
    if any(b <= a for a, b in pairwise(out)):
        raise ConfigError(f"Rollout steps must rise, like 5, 10, 25, 50, 100; got {list(out)}.")
    return out


def _record(store: Store, plan: Plan, decision: str, reason: str, now: float,
            health: Health | None = None, *, percent: float | None = None,
            flags: Flags | None = None, **changes: Any) -> bool:
    """Move the plan from the state it was read in, set the flag to ``percent`` (if given)
    and append the audit entries, all in one transaction; False (nothing written) when
    another watcher or a person moved the plan first.

    One transaction, so no reader ever sees the plan at one step and the flag at another.
    """
    unchanged = (rollout_plans.c.flag == plan.flag, rollout_plans.c.status == plan.status,
                 rollout_plans.c.step == plan.step,
                 rollout_plans.c.step_started_at == plan.step_started_at)
    entries = []
    with store.write() as conn:
        if conn.execute(update(rollout_plans).where(*unchanged)
                        .values(reason=reason, updated_at=now, **changes)).rowcount == 0:
            return False
        if percent is not None:
            values = {"mode": "percent", "percent": float(percent), "reason": reason,
                      "updated_at": now}
            if conn.execute(update(flag_rows).where(flag_rows.c.name == plan.flag)
                            .values(**values)).rowcount == 0:
                conn.execute(insert(flag_rows).values(name=plan.flag, **values))
            # The same entry Flags.set writes, so a flag's history reads the same either way.
            entries.append(AuditEntry("-", plan.integration, "flag", {
                "flag": plan.flag, "mode": "percent", "percent": float(percent),
                "reason": reason, "actor": ACTOR}))
        entries.append(AuditEntry("-", plan.integration, "rollout_plan", {
            "flag": plan.flag, "decision": decision, "reason": reason,
            "step": changes.get("step", plan.step), "status": changes.get("status", plan.status),
            "steps": list(plan.steps), "health": health.as_dict() if health else None}))
        append(conn, entries, now=now)
    if flags is not None and percent is not None:
        flags.invalidate(plan.flag)  # this process sees the new state at once
    return True


def _stop(store: Store, plan: Plan, status: str, decision: str, reason: str, now: float,
          *, only: tuple[str, ...] = (RUNNING, PAUSED)) -> None:
    """A person's stop (abort, manual flip) wins whatever a watcher did meanwhile."""
    with store.write() as conn:
        if conn.execute(update(rollout_plans).where(rollout_plans.c.flag == plan.flag,
                                                    rollout_plans.c.status.in_(only))
                        .values(status=status, reason=reason, updated_at=now)).rowcount:
            append(conn, [AuditEntry("-", plan.integration, "rollout_plan", {
                "flag": plan.flag, "decision": decision, "reason": reason, "step": plan.step,
                "status": status, "steps": list(plan.steps), "health": None})], now=now)


def _moved(plan: Plan) -> Decision:
    return Decision(plan.flag, "idle", plan.percent,
                    "another watcher changed the rollout meanwhile; nothing done")


def start_rollout(store: Store, integration: str | Integration, *, flag: str | None = None,
                  steps: Sequence[float] = DEFAULT_STEPS, window_s: float = 3600.0,
                  criteria: Criteria | dict[str, Any] | None = None, reason: str = "",
                  now: float | None = None, actor: str = "cli",
                  flags: Flags | None = None) -> Plan:
    """Start (or restart, after it ended) a staged rollout: the flag goes to the first step now.

    Given an :class:`Integration`, the flag is the one it declares; given a name, ``flag``
    defaults to ``<integration>.ai``. Every step is above 0%, so the integration must pass
    its signed-off golden set first (``_golive``), or a ConfigError says what to run.
    """
    declared = integration
    if isinstance(integration, Integration):
        flag, integration = flag or integration.flag_name, integration.name
    flag = flag or f"{integration}.ai"
    ladder = _check_steps(steps)
    _golive.check_go_live(store, declared, flag=flag, value=ladder[0])
    if window_s <= 0:
        raise ConfigError(f"A rollout window is a positive number of seconds, not {window_s}.")
    crit = criteria if isinstance(criteria, Criteria) else Criteria.model_validate(criteria or {})
    existing = get_plan(store, flag)
    if existing and existing.status in (RUNNING, PAUSED):
        raise ConfigError(f"The flag {flag} already has a {existing.status} rollout at "
                          f"{existing.percent:g}%; abort it first.")
    now = time.time() if now is None else now
    why = reason or f"staged rollout started: steps {', '.join(f'{s:g}' for s in ladder)}%"
    (flags or Flags(store)).set(flag, ladder[0], reason=f"{why}; step 1 at {ladder[0]:g}%",
                                integration=integration, actor=actor)
    values = {"integration": integration, "steps": json.dumps(list(ladder)), "step": 0,
              "window_s": float(window_s), "criteria": crit.model_dump_json(), "status": RUNNING,
              "step_started_at": now, "reason": why, "updated_at": now}
    with store.write() as conn:
        if conn.execute(update(rollout_plans).where(rollout_plans.c.flag == flag)
                        .values(**values)).rowcount == 0:
            conn.execute(insert(rollout_plans).values(flag=flag, **values))
        append(conn, [AuditEntry("-", integration, "rollout_plan", {
            "flag": flag, "decision": "started", "reason": why, "step": 0, "status": RUNNING,
            "steps": list(ladder), "criteria": crit.model_dump(), "window_s": window_s,
            "actor": actor})], now=now)
    plan = get_plan(store, flag)
    assert plan is not None
    return plan


def _require(store: Store, flag: str) -> Plan:
    plan = get_plan(store, flag)
    if plan is None:
        raise ConfigError(f"The flag {flag} has no staged rollout; start one with "
                          f"`seamline rollout start`.")
    return plan


def evaluate_rollout(store: Store, flag: str, now: float | None = None, *,
                     flags: Flags | None = None) -> Decision:
    """Measure the current step; promote, hold, or roll back to 0% (baseline) at once."""
    now = time.time() if now is None else now
    plan = _require(store, flag)
    if plan.status != RUNNING:
        return Decision(flag, "idle", plan.percent if plan.status != ROLLED_BACK else 0.0,
                        f"the rollout is {plan.status}")
    flags = flags or Flags(store)
    current = Flags(store, ttl=0).get(flag)
    if current.mode != "percent" or current.percent != plan.percent:
        why = (f"the flag was set by hand to {current.mode}"
               + (f" {current.percent:g}%" if current.mode == "percent" else "")
               + f" while the rollout expected {plan.percent:g}%; automation stopped")
        if not _record(store, plan, "cancelled", why, now, status=CANCELLED):
            return _moved(plan)
        return Decision(flag, "cancelled", current.percent, why)
    health = measure(store, plan.integration, plan.step_started_at, now)
    c = plan.criteria
    broken = breaches(c, health) if health.ai.events >= c.rollback_min_events else []
    if broken:
        why = (f"rolled back from {plan.percent:g}% to 0% (baseline): " + "; ".join(broken)
               + f" over {health.ai.events} AI-path events since the step began")
        if not _record(store, plan, "rolled_back", why, now, health, percent=0.0, flags=flags,
                       status=ROLLED_BACK):
            return _moved(plan)
        raise_alert(store, Alert("rollout_rolled_back", f"The rollout of {flag} {why}.",
                                 "critical", {"flag": flag, "integration": plan.integration}))
        return Decision(flag, "rolled_back", 0.0, why, health)
    elapsed = now - plan.step_started_at
    if elapsed < plan.window_s or health.ai.events < c.min_events:
        why = (f"holding at {plan.percent:g}%: {elapsed:.0f} of {plan.window_s:g} s, "
               f"{health.ai.events} of {c.min_events} AI-path events")
        return Decision(flag, "held", plan.percent, why, health)
    numbers = (f"error rate {health.ai.error_rate * 100:.1f}% (baseline "
               f"{health.baseline.error_rate * 100:.1f}%), p95 {health.ai.p95_ms:.0f} ms, "
               f"abstention {health.ai.abstention_rate * 100:.1f}% over {health.ai.events} "
               f"AI-path events in {elapsed:.0f} s")
    if plan.step + 1 >= len(plan.steps):
        why = f"complete at {plan.percent:g}%: healthy for the window, {numbers}"
        if not _record(store, plan, "completed", why, now, health, status=COMPLETE):
            return _moved(plan)
        return Decision(flag, "completed", plan.percent, why, health)
    nxt = plan.steps[plan.step + 1]
    why = f"promoted from {plan.percent:g}% to {nxt:g}%: healthy for the window, {numbers}"
    if not _record(store, plan, "promoted", why, now, health, percent=nxt, flags=flags,
                   step=plan.step + 1, step_started_at=now):
        return _moved(plan)
    return Decision(flag, "promoted", nxt, why, health)


def evaluate_all(store: Store, now: float | None = None, *,
                 flags: Flags | None = None) -> list[Decision]:
    """Evaluate every running rollout (what ``seamline rollout watch`` does each tick)."""
    return [evaluate_rollout(store, p.flag, now, flags=flags)
            for p in list_plans(store) if p.status == RUNNING]


def pause_rollout(store: Store, flag: str, *, reason: str, now: float | None = None) -> Plan:
    """Hold the flag where it is; nothing is promoted or rolled back until resumed."""
    now = time.time() if now is None else now
    plan = _require(store, flag)
    if plan.status != RUNNING:
        raise ConfigError(f"The rollout of {flag} is {plan.status}, not running; nothing to pause.")
    if not _record(store, plan, "paused", reason, now, status=PAUSED):
        raise ConfigError(f"The rollout of {flag} changed meanwhile; look at it and try again.")
    return _require(store, flag)


def resume_rollout(store: Store, flag: str, *, reason: str, now: float | None = None) -> Plan:
    """Go on from the current step; its window starts again, so stale health is not counted."""
    now = time.time() if now is None else now
    plan = _require(store, flag)
    if plan.status != PAUSED:
        raise ConfigError(f"The rollout of {flag} is {plan.status}, not paused; nothing to resume.")
    if not _record(store, plan, "resumed", reason, now, status=RUNNING, step_started_at=now):
        raise ConfigError(f"The rollout of {flag} changed meanwhile; look at it and try again.")
    return _require(store, flag)


def abort_rollout(store: Store, flag: str, *, reason: str, now: float | None = None,
                  actor: str = "cli", flags: Flags | None = None) -> Plan:
    """Stop the rollout and send all traffic to the baseline path at once."""
    now = time.time() if now is None else now
    plan = _require(store, flag)
    (flags or Flags(store)).set(flag, 0, reason=f"rollout aborted: {reason}",
                                integration=plan.integration, actor=actor)
    _stop(store, plan, ABORTED, "aborted", reason, now,
          only=(RUNNING, PAUSED, ROLLED_BACK, COMPLETE, CANCELLED))
    return _require(store, flag)


def flip(store: Store, flag: str, value: str | float, *, reason: str, actor: str = "cli",
         integration: str = "", flags: Flags | None = None, now: float | None = None) -> None:
    """A manual flip: takes effect at once and cancels the automation of a running rollout.

    Above 0% the flag's integration must pass its signed-off golden set first (``_golive``)."""
    now = time.time() if now is None else now
    plan = get_plan(store, flag)
    _golive.check_go_live(store, integration or (plan.integration if plan else None),
                          flag=flag, value=value)
    (flags or Flags(store)).set(flag, value, reason=reason, actor=actor,
                                integration=integration or (plan.integration if plan else ""))
    if plan and plan.status in (RUNNING, PAUSED):
        _stop(store, plan, CANCELLED, "cancelled", f"manual flip to {value} by {actor}: {reason}",
              now)
