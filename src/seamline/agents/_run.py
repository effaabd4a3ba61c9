"""Agents: the run loop — model, tool calls, results, model … — until an answer, a limit or a person.

Every model call and every tool call is an audit entry (request, arguments, result,
duration, cost) under the run id, and the run's state is saved with it, so a run is
never left looping, a paused run resumes exactly where it stopped, and a run whose
process died is recovered from its last saved step (``_recover.py``). Every save is
fenced by the run's lease (``_lease.py``): a process that lost the run stops writing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, insert, select, update

from seamline.actions import AWAITING as OUTBOX_AWAITING
from seamline.actions import DONE as OUTBOX_DONE
from seamline.actions import PENDING as OUTBOX_PENDING
from seamline.actions import PlannedAction, outbox_row, write_outbox
from seamline.agents import _steps
from seamline.agents._client import AgentModel, ToolCall, Turn
from seamline.agents._lease import Lease, LeaseLost, is_stale, new_owner
from seamline.agents._limits import (
    COMPLETED,
    COST_BUDGET,
    LOOP,
    TOKEN_BUDGET,
    RunLimits,
    price_call,
)
from seamline.agents._store import (
    AWAITING,
    FAILED,
    STOPPED,
    Pending,
    RunState,
    insert_run,
    load_run,
)
from seamline.agents._tools import ToolArgumentsInvalid, ToolRegistry
from seamline.audit import append
from seamline.errors import SeamlineError
from seamline.inference import BudgetLedger, BudgetRefusal, CostReservation, Usage, price_usage
from seamline.store import Store
from seamline.store.tables import events, outbox


@dataclass(frozen=True, slots=True)
class Agent:
    """What a run needs: a model, typed tools, instructions and hard limits."""

    name: str
    model: AgentModel
    tools: ToolRegistry
    system: str = ""
    limits: RunLimits = field(default_factory=RunLimits)
    # Optional: an integration's caps (per call, per tenant per day, daily, monthly, global),
    # reserved before each model call like the pipeline does; the run's own budget still applies.
    ledger: BudgetLedger | None = None
    tenant: str = ""
    # A run whose process has not written (heartbeat every quarter of this) for this long
    # is presumed dead and may be recovered; longer is safer across clock skew between hosts.
    lease_s: float = 60.0


@dataclass(frozen=True, slots=True)
class RunResult:
    """Where a run is: ``status`` running|awaiting_approval|completed|stopped|failed, and why."""

    run_id: str
    status: str
    stop_reason: str
    answer: str
    steps: int
    tokens: int
    cost_usd: float
    outbox_id: int | None = None  # the approval the run waits for


@dataclass(slots=True)
class Run:
    """One process's hold on one run: what the loop's functions share."""

    store: Store
    agent: Agent
    state: RunState
    lease: Lease


def start_run(store: Store, agent: Agent, task: str, *, run_id: str | None = None) -> RunResult:
    """Start a run on ``task`` and drive it until it completes, stops, fails or waits for a person."""
    state = RunState(id=run_id or uuid.uuid4().hex, agent=agent.name, task=task,
                     turns=[Turn("user", task)], owner=new_owner(), lease_s=agent.lease_s)
    with store.write() as conn:
        insert_run(conn, state)
        append(conn, [_steps.entry(state, "agent_start", {
            "task": task, "model": agent.model.model, "provider": agent.model.name,
            "tools": {t.name: t.policy for t in agent.tools}, "limits": asdict(agent.limits)})])
    run = Run(store, agent, state, Lease(store, state.id, state.updated_at, state.lease_s))
    return drive(run, lambda: loop(run))


def resume_run(store: Store, agent: Agent, run_id: str) -> RunResult:
    """Continue a run after its approval was decided, or recover it if its process died.

    Approved: the tool runs once with the (possibly edited) arguments. Rejected: the model is
    told so, with the reviewer's comment. Two resumes race on a compare-and-set of the status.
    A no-op while undecided, once resumed, or while another live process drives the run.
    """
    state = load_run(store, run_id)
    if is_stale(state):
        from seamline.agents._recover import recover_run  # it builds on this module
        return recover_run(store, agent, run_id)
    if state.status != AWAITING or state.pending is None:
        return result_of(state)
    pending = state.pending
    row = outbox_row(store, pending.outbox_id)
    if row.status == OUTBOX_AWAITING:
        return result_of(state)
    # The claim: the run is ours and the call is recorded as in flight before the tool runs,
    # with an attempt on its outbox row, so a crash from here on cannot make it run twice.
    state.pending = None
    state.inflight = {"kind": "tool", "step": state.usage.steps, "call": pending.call.to_dict(),
                      "outbox_id": row.id, "in_doubt": pending.in_doubt}
    state.lease_s = agent.lease_s

    def attempt(conn: Connection) -> None:
        if row.status == OUTBOX_PENDING:
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(
                attempts=outbox.c.attempts + 1, updated_at=time.time()))

    lease = Lease.take(store, state, status=AWAITING, also=attempt)
    if lease is None:
        return result_of(load_run(store, run_id))
    run = Run(store, agent, state, lease)
    return drive(run, lambda: settle_tool(run, row, pending.call, in_doubt=pending.in_doubt)
                 or go_on(run))


def result_of(state: RunState) -> RunResult:
    u = state.usage
    return RunResult(state.id, state.status, state.stop_reason, state.answer, u.steps, u.tokens,
                     round(u.cost_usd, 8), state.pending.outbox_id if state.pending else None)


def drive(run: Run, body: Callable[[], RunResult]) -> RunResult:
    """Run ``body`` under the lease; if another process took the run over, say where it is."""
    try:
        return body()
    except LeaseLost:
        return result_of(load_run(run.store, run.state.id))
    finally:
        run.lease.stop()


# ---- the loop -------------------------------------------------------------------------------

def loop(run: Run) -> RunResult:
    agent, state = run.agent, run.state
    limits, offered = agent.limits, agent.tools.offered()
    while True:
        reached = state.usage.over(limits)
        if reached:
            return finish(run, STOPPED, reached)
        new_turns = _steps.since_last_reply(state.turns)
        prompt_tokens = _prompt_chars(agent, state) // 4 + 1
        reservation: CostReservation | None = None
        refusal: BudgetRefusal | None = None
        # The call is saved as in flight (with what it reserved) before it is sent: if this
        # process dies during it, recovery counts it against the run's limits and settles its
        # reservation instead of forgetting both.
        with run.lease.save(state) as conn:
            if agent.ledger is not None:
                got = agent.ledger.reserve(conn, agent.ledger.estimate(prompt_tokens), agent.tenant)
                refusal, reservation = ((got, None) if isinstance(got, BudgetRefusal)
                                        else (None, got))
            worst = Usage(prompt_tokens, limits.max_output_tokens)
            state.inflight = None if refusal else {
                "kind": "model", "step": state.usage.steps + 1, "since": time.time(),
                "worst_tokens": worst.total_tokens,
                "worst_usd": (reservation.amount_usd if reservation is not None
                              else price_call(agent.model.model, worst)),
                "reservation": ({"amount_usd": reservation.amount_usd,
                                 "scopes": list(reservation.scopes)} if reservation else None)}
        if refusal is not None:
            return finish(run, STOPPED, "integration_budget", detail=refusal.reason)
        started = time.perf_counter()
        try:
            reply = agent.model.chat(agent.system, state.turns, offered, limits.max_output_tokens)
        except SeamlineError as exc:
            return finish(run, FAILED, "model_error", detail=str(exc),
                          settle=partial(_reconcile, agent=agent, reservation=reservation,
                                         actual_usd=0.0))
        duration = (time.perf_counter() - started) * 1000
        cost = (price_usage(agent.ledger.integration, reply.usage) if agent.ledger is not None
                else price_call(reply.model or agent.model.model, reply.usage))
        with run.lease.save(state) as conn:
            _reconcile(conn, agent, reservation, cost)  # with the step: settled exactly once
            state.inflight = None
            state.usage.add_model_call(reply.usage, cost)
            state.turns.append(Turn("assistant", reply.text, reply.tool_calls))
            append(conn, [_steps.entry(state, "agent_model", {
                "step": state.usage.steps, "model": reply.model or agent.model.model,
                "request": {"new_turns": [t.to_dict() for t in new_turns],
                            "turns": len(state.turns) - 1, "tools": [t.name for t in offered]},
                "reply": {"text": reply.text,
                          "tool_calls": [c.to_dict() for c in reply.tool_calls],
                          "stop_reason": reply.stop_reason},
                "usage": asdict(reply.usage), "cost_usd": cost, "duration_ms": round(duration, 3),
                "run_tokens": state.usage.tokens, "run_cost_usd": state.usage.cost_usd})])
        stopped = after_reply(run, state.turns[-1])
        if stopped is not None:
            return stopped


def after_reply(run: Run, reply: Turn) -> RunResult | None:
    """What follows a recorded reply: a stop over budget, the answer, or its tool calls."""
    usage, limits = run.state.usage, run.agent.limits
    # Over a budget after the call: nothing it asked for runs.
    if usage.tokens > limits.max_tokens:
        return finish(run, STOPPED, TOKEN_BUDGET, answer=reply.text)
    if usage.cost_usd > limits.max_cost_usd:
        return finish(run, STOPPED, COST_BUDGET, answer=reply.text)
    if not reply.tool_calls:
        return finish(run, "completed", COMPLETED, answer=reply.text)
    return run_calls(run, list(reply.tool_calls))


def go_on(run: Run) -> RunResult:
    """Continue from the saved conversation: the last reply's unanswered calls, then the loop."""
    turns = run.state.turns
    last = _steps.last_reply(turns)
    if last is not None and last == len(turns) - 1:  # a reply saved, nothing done about it yet
        stopped = after_reply(run, turns[last])
    else:
        stopped = run_calls(run, _steps.unanswered(turns))
    return stopped or loop(run)


def _prompt_chars(agent: Agent, state: RunState) -> int:
    """What the next call sends, in characters (~4 a token): the estimate reserved for it."""
    return len(agent.system) + sum(len(json.dumps(t.to_dict())) for t in state.turns) + sum(
        len(json.dumps(t.anthropic_definition())) for t in agent.tools.offered())


def _reconcile(conn: Connection, agent: Agent, reservation: CostReservation | None,
               actual_usd: float) -> None:
    if agent.ledger is not None and reservation is not None:
        agent.ledger.reconcile(conn, reservation, actual_usd)


def run_calls(run: Run, calls: list[ToolCall]) -> RunResult | None:
    """Make one step's tool calls in order; a result when the run stops or pauses, else None."""
    agent, state = run.agent, run.state
    for i, call in enumerate(calls):
        step = state.usage.steps
        if state.usage.count_call(call.name, call.arguments) >= agent.limits.loop_repeats:
            return finish(run, STOPPED, LOOP, detail=(
                f"{call.name} was called {agent.limits.loop_repeats} times with the same "
                f"arguments {json.dumps(call.arguments, sort_keys=True)}"))
        tool = agent.tools.get(call.name)
        if tool is not None and tool.acts and tool.policy != "forbidden" and not call.malformed:
            try:
                tool.validate_args(call.arguments)
            except ToolArgumentsInvalid as exc:
                record(run, _steps.refusal(call, step, "invalid_arguments", str(exc)))
                continue
            if tool.policy == "approval":
                return pause(run, call, calls[i + 1:], step)
            # A tool that acts is claimed (saved as in flight) before it runs: after a crash
            # its outcome is in doubt and a person decides, instead of it running twice.
            state.inflight = {"kind": "tool", "step": step, "call": call.to_dict(),
                              "outbox_id": None}
            with run.lease.save(state):
                pass
        record(run, _steps.execute(tool, call, step, agent.tools))
    return None


def record(run: Run, done: tuple[Turn, dict[str, Any]],
           also: Callable[[Connection], object] | None = None) -> None:
    """Save a call's result turn with its audit entry (and ``also``), clearing the claim."""
    turn, payload = done
    run.state.turns.append(turn)
    run.state.inflight = None
    with run.lease.save(run.state) as conn:
        if also is not None:
            also(conn)
        append(conn, [_steps.entry(run.state, "agent_tool", payload)])


def settle_tool(run: Run, row: Any, call: ToolCall, *, in_doubt: bool) -> RunResult | None:
    """A decided call: run it (approved), tell the model (rejected), or take the result its
    outbox row recorded (done: it ran, the run died before saving that). Never a second run."""
    step = run.state.usage.steps
    if row.status == OUTBOX_DONE:
        record(run, _steps.from_outbox(call, step, row))
    elif row.status == OUTBOX_PENDING:  # approved: run it, edited arguments included
        call = ToolCall(call.id, call.name, json.loads(row.params))
        turn, payload = _steps.execute(run.agent.tools.get(call.name), call, step)
        payload["approved_by"] = row.decided_by
        result = json.dumps({"text": turn.text, "is_error": turn.is_error}, ensure_ascii=False)
        record(run, (turn, payload), lambda conn: conn.execute(
            update(outbox).where(outbox.c.id == row.id).values(
                status=OUTBOX_DONE, result=result, updated_at=time.time())))
    else:  # rejected
        record(run, _steps.rejected(call, step, row, in_doubt=in_doubt))
    return None


def pause(run: Run, call: ToolCall, remaining: list[ToolCall], step: int, *,
          outbox_id: int | None = None, in_doubt: str = "") -> RunResult:
    """Write the call to the approval queue (an outbox row) and save the run as waiting.

    ``in_doubt``: why the call may already have acted (a crash); the row asks a person
    whether to run it again — a new row for an ``auto`` tool, its own row (``outbox_id``,
    approved once already) for an approval tool.
    """
    state, now = run.state, time.time()
    key = f"agent:{state.id}:{step}:{call.id}"
    reason = in_doubt or f"the tool {call.name} needs a person's approval"
    with run.lease.save(state) as conn:
        _event_row(conn, state, "awaiting_approval", f"tool {call.name} needs approval", now,
                   output={"tool": call.name, "arguments": call.arguments})
        if outbox_id is None:
            write_outbox(conn, event_id=state.id, integration=state.agent, now=now, planned=[
                PlannedAction(f"tool:{call.name}", key, call.arguments, reason)])
            outbox_id = conn.execute(select(outbox.c.id).where(
                outbox.c.idempotency_key == key)).scalar_one()
        else:
            conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
                status=OUTBOX_AWAITING, approval_reason=reason, decided_by="", comment="",
                updated_at=now))
            key = conn.execute(select(outbox.c.idempotency_key).where(
                outbox.c.id == outbox_id)).scalar_one()
        state.status, state.inflight = AWAITING, None
        state.pending = Pending(outbox_id, call, list(remaining), in_doubt=bool(in_doubt))
        append(conn, [_steps.entry(state, "agent_pause", {
            "step": step, "tool": call.name, "call_id": call.id, "arguments": call.arguments,
            "outbox_id": outbox_id, "idempotency_key": key,
            **({"in_doubt": in_doubt} if in_doubt else {})})], now=now)
    return result_of(state)


def finish(run: Run, status: str, reason: str, *, answer: str = "", detail: str = "",
           settle: Callable[[Connection], object] | None = None) -> RunResult:
    state = run.state
    state.status, state.stop_reason, state.answer, state.inflight = status, reason, answer, None
    now = time.time()
    with run.lease.save(state) as conn:
        if settle is not None:
            settle(conn)
        if state.pending is None:
            _event_row(conn, state, "succeeded" if status == "completed" else "dead_lettered",
                       "" if status == "completed" else f"agent run {status}: {reason}", now,
                       only_update=True)
        append(conn, [_steps.entry(state, "agent_stop", {
            "status": status, "stop_reason": reason, "detail": detail, "answer": answer,
            "steps": state.usage.steps, "tokens": state.usage.tokens,
            "cost_usd": state.usage.cost_usd})], now=now)
    return result_of(state)


def _event_row(conn: Any, state: RunState, event_state: str, reason: str, now: float, *,
               only_update: bool = False, output: dict[str, Any] | None = None) -> None:
    """The run's row in ``events``: the approval queue lists waiting actions by their event."""
    values: dict[str, Any] = {"state": event_state, "reason": reason, "updated_at": now,
                              "cost_usd": state.usage.cost_usd}
    if output is not None:  # what the reviewer sees as "what the model said"
        values["output"] = json.dumps(output, ensure_ascii=False, default=str)
    res = conn.execute(update(events).where(events.c.id == state.id).values(**values))
    if res.rowcount or only_update:
        return
    conn.execute(insert(events).values(
        id=state.id, integration=state.agent, idempotency_key=f"agent:{state.id}", tenant="",
        stage="agent", path="ai", input=json.dumps({"task": state.task}, ensure_ascii=False),
        created_at=now, **values))


__all__ = ["Agent", "RunResult", "load_run", "resume_run", "start_run"]
