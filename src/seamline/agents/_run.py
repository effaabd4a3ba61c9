"""Agents: the run loop — model, tool calls, results, model … — until an answer, a limit or a person.

Every model call and every tool call is an audit entry (request, arguments, result,
duration, cost) under the run id, and the run's state is saved with it, so a run is
never left looping and a paused run resumes exactly where it stopped.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import insert, select, update

from seamline.actions import PlannedAction, write_outbox
from seamline.actions._outbox import AWAITING as OUTBOX_AWAITING
from seamline.actions._outbox import DONE as OUTBOX_DONE
from seamline.actions._outbox import PENDING as OUTBOX_PENDING
from seamline.actions._outbox import outbox_row
from seamline.agents._client import AgentModel, ToolCall, Turn
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
    RUNNING,
    STOPPED,
    Pending,
    RunState,
    claim_run,
    insert_run,
    load_run,
    save_run,
)
from seamline.agents._tools import Tool, ToolArgumentsInvalid, ToolRegistry
from seamline.audit import AuditEntry, append
from seamline.errors import SeamlineError
from seamline.inference import BudgetLedger, price_usage
from seamline.inference._budget import BudgetRefusal, CostReservation
from seamline.store import Store
from seamline.store._tables import events, outbox


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


def start_run(store: Store, agent: Agent, task: str, *, run_id: str | None = None) -> RunResult:
    """Start a run on ``task`` and drive it until it completes, stops, fails or waits for a person."""
    state = RunState(id=run_id or uuid.uuid4().hex, agent=agent.name, task=task,
                     turns=[Turn("user", task)])
    with store.write() as conn:
        insert_run(conn, state)
        append(conn, [_entry(state, "agent_start", {
            "task": task, "model": agent.model.model, "provider": agent.model.name,
            "tools": {t.name: t.policy for t in agent.tools}, "limits": asdict(agent.limits)})])
    return _loop(store, agent, state)


def resume_run(store: Store, agent: Agent, run_id: str) -> RunResult:
    """Continue a run after its approval was decided; a no-op while undecided or once resumed.

    Approved: the tool runs once with the (possibly edited) arguments. Rejected: the model is
    told so, with the reviewer's comment. Two resumes race on a compare-and-set of the status.
    """
    state = load_run(store, run_id)
    if state.status != AWAITING or state.pending is None:
        return result_of(state)
    row = outbox_row(store, state.pending.outbox_id)
    if row.status == OUTBOX_AWAITING or not claim_run(store, run_id, AWAITING, RUNNING):
        return result_of(load_run(store, run_id))
    pending, state.pending, state.status = state.pending, None, RUNNING
    call = pending.call
    if row.status == OUTBOX_PENDING:  # approved: run it, edited arguments included
        call = ToolCall(call.id, call.name, json.loads(row.params))
        turn, payload = _execute(agent.tools.get(call.name), call, state.usage.steps)
        payload["approved_by"] = row.decided_by
        result_json = json.dumps({"text": turn.text, "is_error": turn.is_error}, ensure_ascii=False)
        with store.write() as conn:
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(
                status=OUTBOX_DONE, result=result_json, attempts=row.attempts + 1,
                updated_at=time.time()))
            state.turns.append(turn)
            save_run(conn, state)
            append(conn, [_entry(state, "agent_tool", payload)])
    else:  # rejected
        why = row.comment or "no comment given"
        turn = Turn("tool", f"A reviewer ({row.decided_by or 'unknown'}) rejected this call of "
                            f"{call.name}; it was not run. Their comment: {why}",
                    tool_call_id=call.id, is_error=True)
        with store.write() as conn:
            state.turns.append(turn)
            save_run(conn, state)
            append(conn, [_entry(state, "agent_tool", {
                "step": state.usage.steps, "tool": call.name, "call_id": call.id,
                "arguments": call.arguments, "status": "rejected", "reviewer": row.decided_by,
                "comment": row.comment, "duration_ms": 0.0, "cost_usd": 0.0})])
    stopped = _run_calls(store, agent, state, pending.remaining)
    return stopped or _loop(store, agent, state)


def result_of(state: RunState) -> RunResult:
    u = state.usage
    return RunResult(state.id, state.status, state.stop_reason, state.answer, u.steps, u.tokens,
                     round(u.cost_usd, 8), state.pending.outbox_id if state.pending else None)


# ---- the loop -------------------------------------------------------------------------------

def _loop(store: Store, agent: Agent, state: RunState) -> RunResult:
    limits, offered = agent.limits, agent.tools.offered()
    while True:
        reached = state.usage.over(limits)
        if reached:
            return _finish(store, state, STOPPED, reached)
        new_turns = _since_last_reply(state.turns)
        reservation = None
        if agent.ledger is not None:
            reservation = _reserve(store, agent, state)
            if isinstance(reservation, BudgetRefusal):
                return _finish(store, state, STOPPED, "integration_budget",
                               detail=reservation.reason)
        started = time.perf_counter()
        try:
            reply = agent.model.chat(agent.system, state.turns, offered, limits.max_output_tokens)
        except SeamlineError as exc:
            _reconcile(store, agent, reservation, 0.0)
            return _finish(store, state, FAILED, "model_error", detail=str(exc))
        duration = (time.perf_counter() - started) * 1000
        cost = (price_usage(agent.ledger.integration, reply.usage) if agent.ledger is not None
                else price_call(reply.model or agent.model.model, reply.usage))
        _reconcile(store, agent, reservation, cost)
        state.usage.add_model_call(reply.usage, cost)
        state.turns.append(Turn("assistant", reply.text, reply.tool_calls))
        entry = _entry(state, "agent_model", {
            "step": state.usage.steps, "model": reply.model or agent.model.model,
            "request": {"new_turns": [t.to_dict() for t in new_turns],
                        "turns": len(state.turns) - 1, "tools": [t.name for t in offered]},
            "reply": {"text": reply.text, "tool_calls": [c.to_dict() for c in reply.tool_calls],
                      "stop_reason": reply.stop_reason},
            "usage": asdict(reply.usage), "cost_usd": cost, "duration_ms": round(duration, 3),
            "run_tokens": state.usage.tokens, "run_cost_usd": state.usage.cost_usd})
        with store.write() as conn:
            save_run(conn, state)
            append(conn, [entry])
        # Over a budget after the call: nothing it asked for runs.
        if state.usage.tokens > limits.max_tokens:
            return _finish(store, state, STOPPED, TOKEN_BUDGET, answer=reply.text)
        if state.usage.cost_usd > limits.max_cost_usd:
            return _finish(store, state, STOPPED, COST_BUDGET, answer=reply.text)
        if not reply.tool_calls:
            return _finish(store, state, "completed", COMPLETED, answer=reply.text)
        stopped = _run_calls(store, agent, state, list(reply.tool_calls))
        if stopped is not None:
            return stopped


def _reserve(store: Store, agent: Agent, state: RunState) -> CostReservation | BudgetRefusal:
    """Reserve the worst case of the next call under the integration's caps (~4 chars a token)."""
    assert agent.ledger is not None
    chars = len(agent.system) + sum(len(json.dumps(t.to_dict())) for t in state.turns) + sum(
        len(json.dumps(t.anthropic_definition())) for t in agent.tools.offered())
    with store.write() as conn:
        return agent.ledger.reserve(conn, agent.ledger.estimate(chars // 4 + 1), agent.tenant)


def _reconcile(store: Store, agent: Agent, reservation: CostReservation | BudgetRefusal | None,
               actual_usd: float) -> None:
    if agent.ledger is not None and isinstance(reservation, CostReservation):
        with store.write() as conn:
            agent.ledger.reconcile(conn, reservation, actual_usd)


def _run_calls(store: Store, agent: Agent, state: RunState,
               calls: list[ToolCall]) -> RunResult | None:
    """Make one step's tool calls in order; a result when the run stops or pauses, else None."""
    for i, call in enumerate(calls):
        step = state.usage.steps
        if state.usage.count_call(call.name, call.arguments) >= agent.limits.loop_repeats:
            return _finish(store, state, STOPPED, LOOP, detail=(
                f"{call.name} was called {agent.limits.loop_repeats} times with the same "
                f"arguments {json.dumps(call.arguments, sort_keys=True)}"))
        tool = agent.tools.get(call.name)
        if tool is not None and tool.policy == "approval" and not call.malformed:
            try:
                tool.validate_args(call.arguments)
            except ToolArgumentsInvalid as exc:
                _record(store, state, _refusal(call, step, "invalid_arguments", str(exc)))
                continue
            return _pause(store, state, call, calls[i + 1:], step)
        _record(store, state, _execute(tool, call, step, agent.tools))
    return None


def _execute(tool: Tool | None, call: ToolCall, step: int,
             registry: ToolRegistry | None = None) -> tuple[Turn, dict[str, Any]]:
    """Run one call; every failure becomes a tool result the model can read, never a crash."""
    if tool is None:
        names = ", ".join(t.name for t in registry.offered()) if registry else ""
        return _refusal(call, step, "unknown_tool",
                        f"There is no tool named {call.name!r}. The tools are: {names}.")
    if tool.policy == "forbidden":
        return _refusal(call, step, "forbidden",
                        f"The tool {call.name} is forbidden for this agent; it was not run.")
    if call.malformed:
        return _refusal(call, step, "invalid_arguments",
                        f"The arguments for {call.name} are not a JSON object: {call.malformed[:200]}")
    started = time.perf_counter()
    status, error, result = "ok", "", None
    try:
        result = tool.invoke(call.arguments)
    except ToolArgumentsInvalid as exc:
        status, error = "invalid_arguments", str(exc)
    except Exception as exc:  # noqa: BLE001 - a tool's failure is told to the model and audited
        status, error = "error", f"The tool {call.name} failed: {type(exc).__name__}: {exc}"
    duration = (time.perf_counter() - started) * 1000
    text = error or json.dumps(result, ensure_ascii=False)
    payload = {"step": step, "tool": call.name, "call_id": call.id, "arguments": call.arguments,
               "status": status, "result": result, "error": error,
               "duration_ms": round(duration, 3), "cost_usd": 0.0}
    return Turn("tool", text, tool_call_id=call.id, is_error=bool(error)), payload


def _refusal(call: ToolCall, step: int, status: str, message: str) -> tuple[Turn, dict[str, Any]]:
    return (Turn("tool", message, tool_call_id=call.id, is_error=True),
            {"step": step, "tool": call.name, "call_id": call.id, "arguments": call.arguments,
             "status": status, "result": None, "error": message, "duration_ms": 0.0,
             "cost_usd": 0.0})


def _record(store: Store, state: RunState, done: tuple[Turn, dict[str, Any]]) -> None:
    turn, payload = done
    state.turns.append(turn)
    with store.write() as conn:
        save_run(conn, state)
        append(conn, [_entry(state, "agent_tool", payload)])


def _pause(store: Store, state: RunState, call: ToolCall, remaining: list[ToolCall],
           step: int) -> RunResult:
    """Write the call to the approval queue (an outbox row) and save the run as waiting."""
    now = time.time()
    key = f"agent:{state.id}:{step}:{call.id}"
    with store.write() as conn:
        _event_row(conn, state, "awaiting_approval", f"tool {call.name} needs approval", now,
                   output={"tool": call.name, "arguments": call.arguments})
        write_outbox(conn, event_id=state.id, integration=state.agent, now=now, planned=[
            PlannedAction(f"tool:{call.name}", key, call.arguments,
                          f"the tool {call.name} needs a person's approval")])
        outbox_id = conn.execute(select(outbox.c.id).where(
            outbox.c.idempotency_key == key)).scalar_one()
        state.status, state.pending = AWAITING, Pending(outbox_id, call, list(remaining))
        save_run(conn, state)
        append(conn, [_entry(state, "agent_pause", {
            "step": step, "tool": call.name, "call_id": call.id, "arguments": call.arguments,
            "outbox_id": outbox_id, "idempotency_key": key})], now=now)
    return result_of(state)


def _finish(store: Store, state: RunState, status: str, reason: str, *, answer: str = "",
            detail: str = "") -> RunResult:
    state.status, state.stop_reason, state.answer = status, reason, answer
    now = time.time()
    with store.write() as conn:
        save_run(conn, state)
        if state.pending is None:
            _event_row(conn, state, "succeeded" if status == "completed" else "dead_lettered",
                       "" if status == "completed" else f"agent run {status}: {reason}", now,
                       only_update=True)
        append(conn, [_entry(state, "agent_stop", {
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


def _since_last_reply(turns: list[Turn]) -> list[Turn]:
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].role == "assistant":
            return turns[i + 1:]
    return list(turns)


def _entry(state: RunState, kind: str, payload: dict[str, Any]) -> AuditEntry:
    return AuditEntry(state.id, state.agent, kind, payload)


__all__ = ["Agent", "RunResult", "load_run", "resume_run", "start_run"]
