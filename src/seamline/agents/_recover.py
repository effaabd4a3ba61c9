"""Agents: recovering a run whose process died (SIGKILL, OOM, a deploy) in the middle of it.

A run is saved at every step — each model reply and each tool result with its audit
entry — so a recovery continues from the last saved step and never redoes a call whose
result was saved. What was in flight when the process died is settled first:

- a **model call**: it may have been answered and billed. It counts as a step, with its
  worst case (the tokens and dollars reserved for it) against the run's limits, and its
  reservation in the integration's ledger stays spent at that estimate — settled once,
  neither released (the provider may have billed it) nor left open.
- a **tool that acts** (an approval tool, or an ``auto`` tool marked ``side_effects``): if
  its outbox row recorded a result, that result is used; otherwise it may or may not have
  acted, so it is not run again blindly: the run waits in the approval queue for a person
  to say "run it again" (approve) or "do not" (reject, the model is told why).
- a **read-only tool** (the default ``auto``): nothing was claimed; it simply runs again.

Only a *stale* run is taken over: its heartbeat older than its lease (``_lease.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from seamline.actions import DONE as OUTBOX_DONE
from seamline.actions import REJECTED as OUTBOX_REJECTED
from seamline.actions import outbox_row
from seamline.agents import _steps
from seamline.agents._client import ToolCall
from seamline.agents._lease import Lease, heartbeat_age, is_stale
from seamline.agents._run import Agent, Run, RunResult, drive, finish, go_on, pause, settle_tool
from seamline.agents._store import AWAITING, FAILED, RUNNING, RunState, load_run
from seamline.audit import append
from seamline.errors import SeamlineError
from seamline.store import Store
from seamline.store.tables import agent_runs

CRASHED = "crashed"


class NotRecoverable(SeamlineError):
    """The run is not one to recover: live, finished, waiting for a person, another agent's."""


@dataclass(frozen=True, slots=True)
class StaleRun:
    """A run left ``running`` by a process that stopped heartbeating."""

    run_id: str
    agent: str
    steps: int
    owner: str
    heartbeat_age_s: float
    lease_s: float
    in_flight: str  # "model call", "tool NAME" or ""


def stale_runs(store: Store, agent: str | None = None, *, now: float | None = None
               ) -> list[StaleRun]:
    """Runs whose process died (heartbeat older than the lease), oldest heartbeat first."""
    q = select(agent_runs.c.id).where(agent_runs.c.status == RUNNING).order_by(
        agent_runs.c.updated_at)
    if agent:
        q = q.where(agent_runs.c.agent == agent)
    with store.read() as conn:
        ids = list(conn.execute(q).scalars())
    found = []
    for run_id in ids:
        s = load_run(store, run_id)
        if is_stale(s, now):
            found.append(StaleRun(s.id, s.agent, s.usage.steps, s.owner, heartbeat_age(s, now),
                                  s.lease_s, _describe(s.inflight)))
    return found


def recover_run(store: Store, agent: Agent, run_id: str, *, force: bool = False,
                why: str = "") -> RunResult:
    """Take over a run whose process died and drive it on from its last saved step.

    Refused (:class:`NotRecoverable`, a sentence) for a run that is not ``running``, of
    another agent, or live — its heartbeat younger than its lease — unless ``force`` (for
    when you know its process is dead: if it was only stalled, it loses the run at its next
    write, and a tool that acts which it had in flight is held for a person, not redone).
    """
    state = load_run(store, run_id)
    if state.agent != agent.name:
        raise NotRecoverable(f"Run {run_id} is a run of agent {state.agent!r}, not "
                             f"{agent.name!r}; recover it with its own agent.")
    if state.status != RUNNING:
        hint = (" It waits for a decision: decide it, then `seamline agent resume`."
                if state.status == AWAITING else "")
        raise NotRecoverable(f"Run {run_id} is {state.status}, not running: there is nothing "
                             f"to recover.{hint}")
    age = heartbeat_age(state)
    if age < state.lease_s and not force:
        raise NotRecoverable(
            f"Run {run_id} is still running: its process ({state.owner or 'unknown'}) wrote "
            f"{age:.1f} s ago, within its {state.lease_s:g}-second lease, so it was not taken "
            "over. Wait for the lease to run out, or force it if you know that process is dead.")
    version, previous, from_step, lease_s = (state.updated_at, state.owner, state.usage.steps,
                                             state.lease_s)
    state.recoveries += 1
    state.lease_s = agent.lease_s  # the new owner's, from here on
    lost = _count_lost_model_call(state)
    tool = _tool_in_flight(state)
    todo = _steps.unanswered(state.turns)
    payload: dict[str, Any] = {
        "from_step": from_step,
        "why": why or (f"forced while its process ({previous}) last wrote {age:.1f} s ago"
                       if age < lease_s else
                       f"its process ({previous}) stopped writing {age:.1f} s ago, longer than "
                       f"its {lease_s:g}-second lease"),
        "previous_owner": previous, "heartbeat_age_s": round(age, 3), "recovery": state.recoveries,
        "lost_model_call": lost,
        "tool_in_flight": ({"tool": tool[0].name, "call_id": tool[0].id, "step": tool[1]["step"],
                            "outbox_id": tool[1].get("outbox_id")} if tool else None),
        "calls_to_make": [c.name for c in todo if tool is None or c.id != tool[0].id]}
    lease = Lease.take(store, state, status=RUNNING, version=version, also=lambda conn: append(
        conn, [_steps.entry(state, "recovered", payload)]))
    if lease is None:
        raise NotRecoverable(f"Run {run_id} was taken over or moved on by another process "
                             "meanwhile; this recovery did nothing.")
    run = Run(store, agent, state, lease)

    def body() -> RunResult:
        limit = agent.limits.max_recoveries
        if state.recoveries > limit:  # a run that keeps killing its process is not retried forever
            doubt = (f"; {tool[0].name} was in flight and may have acted — check it"
                     if tool else "")
            return finish(run, FAILED, CRASHED, detail=(
                f"its process died {state.recoveries} times (at most {limit} recoveries); "
                f"last at step {from_step}{doubt}"))
        if tool is not None:
            held = _settle_in_flight(run, *tool)
            if held is not None:
                return held
        return go_on(run)

    return drive(run, body)


def _count_lost_model_call(state: RunState) -> dict[str, Any] | None:
    """A model call in flight when the process died, counted at its worst case (see above)."""
    f = state.inflight
    if not f or f.get("kind") != "model":
        return None
    state.inflight = None
    state.usage.steps += 1
    state.usage.tokens += int(f.get("worst_tokens", 0))
    state.usage.cost_usd += float(f.get("worst_usd", 0.0))
    return {"step": f.get("step"), "since": f.get("since"), "counted_tokens": f.get("worst_tokens"),
            "counted_usd": f.get("worst_usd"), "reservation": f.get("reservation"),
            "settled": "kept as spent at its estimate: the provider may have billed it"}


def _tool_in_flight(state: RunState) -> tuple[ToolCall, dict[str, Any]] | None:
    """The claimed tool call whose result was never saved, if any."""
    f = state.inflight
    if state.pending is not None and not f:
        # Saved by an older version mid-resume (status claimed, pending still in the state).
        p = state.pending
        f = {"kind": "tool", "step": state.usage.steps, "call": p.call.to_dict(),
             "outbox_id": p.outbox_id, "in_doubt": p.in_doubt}
    state.pending = None
    if not f or f.get("kind") != "tool":
        state.inflight = None
        return None
    call = ToolCall.from_dict(f["call"])
    todo = _steps.unanswered(state.turns)
    if not todo or todo[0].id != call.id:  # its result was saved after all
        state.inflight = None
        return None
    state.inflight = f
    return call, f


def _settle_in_flight(run: Run, call: ToolCall, f: dict[str, Any]) -> RunResult | None:
    """Use what the outbox recorded for the call, or hold the run for a person."""
    row = outbox_row(run.store, f["outbox_id"]) if f.get("outbox_id") else None
    if row is not None and row.status in (OUTBOX_DONE, OUTBOX_REJECTED):
        return settle_tool(run, row, call, in_doubt=bool(f.get("in_doubt")))
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.state.updated_at))
    doubt = (f"the process running {call.name} died before its outcome was recorded "
             f"(recovered {since}), so it may already have acted; approve to run it again, "
             "reject to tell the model it was not run again")
    remaining = _steps.unanswered(run.state.turns)[1:]
    return pause(run, call, remaining, int(f["step"]), outbox_id=row.id if row else None,
                 in_doubt=doubt)


def _describe(inflight: dict[str, Any] | None) -> str:
    if not inflight:
        return ""
    if inflight.get("kind") == "model":
        return "model call"
    return f"tool {inflight.get('call', {}).get('name', '?')}"
