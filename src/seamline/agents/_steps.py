"""Agents: one tool call made (or refused), and reading a conversation back — no store here.

Shared by the run loop and crash recovery: what a call's result turn and audit payload
are, which calls of the last step are still unanswered, and what the model has not seen.
"""

from __future__ import annotations

import json
import time
from typing import Any

from seamline.agents._client import ToolCall, Turn
from seamline.agents._store import RunState
from seamline.agents._tools import Tool, ToolArgumentsInvalid, ToolRegistry
from seamline.audit import AuditEntry


def execute(tool: Tool | None, call: ToolCall, step: int,
            registry: ToolRegistry | None = None) -> tuple[Turn, dict[str, Any]]:
    """Run one call; every failure becomes a tool result the model can read, never a crash."""
    if tool is None:
        names = ", ".join(t.name for t in registry.offered()) if registry else ""
        return refusal(call, step, "unknown_tool",
                       f"There is no tool named {call.name!r}. The tools are: {names}.")
    if tool.policy == "forbidden":
        return refusal(call, step, "forbidden",
                       f"The tool {call.name} is forbidden for this agent; it was not run.")
    if call.malformed:
        return refusal(call, step, "invalid_arguments",
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


def refusal(call: ToolCall, step: int, status: str, message: str) -> tuple[Turn, dict[str, Any]]:
    return (Turn("tool", message, tool_call_id=call.id, is_error=True),
            {"step": step, "tool": call.name, "call_id": call.id, "arguments": call.arguments,
             "status": status, "result": None, "error": message, "duration_ms": 0.0,
             "cost_usd": 0.0})


def from_outbox(call: ToolCall, step: int, row: Any) -> tuple[Turn, dict[str, Any]]:
    """The result an outbox row recorded for a call whose run never recorded it (a crash)."""
    recorded = json.loads(row.result) if row.result else {}
    text, is_error = str(recorded.get("text", "")), bool(recorded.get("is_error"))
    try:
        result = None if is_error else json.loads(text)
    except ValueError:
        result = text
    return (Turn("tool", text, tool_call_id=call.id, is_error=is_error),
            {"step": step, "tool": call.name, "call_id": call.id,
             "arguments": json.loads(row.params), "status": "error" if is_error else "ok",
             "result": result, "error": text if is_error else "", "reused_from_outbox": row.id,
             "duration_ms": 0.0, "cost_usd": 0.0})


def rejected(call: ToolCall, step: int, row: Any, *, in_doubt: bool) -> tuple[Turn, dict[str, Any]]:
    why = row.comment or "no comment given"
    who = row.decided_by or "unknown"
    if in_doubt:
        text = (f"The call of {call.name} was interrupted (the process running it died), so it "
                f"may or may not have acted. A reviewer ({who}) decided not to run it again. "
                f"Their comment: {why}")
    else:
        text = (f"A reviewer ({who}) rejected this call of {call.name}; it was not run. "
                f"Their comment: {why}")
    return (Turn("tool", text, tool_call_id=call.id, is_error=True),
            {"step": step, "tool": call.name, "call_id": call.id, "arguments": call.arguments,
             "status": "rejected", "reviewer": row.decided_by, "comment": row.comment,
             "in_doubt": in_doubt, "duration_ms": 0.0, "cost_usd": 0.0})


def last_reply(turns: list[Turn]) -> int | None:
    """The index of the model's last turn, None before its first reply."""
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].role == "assistant":
            return i
    return None


def since_last_reply(turns: list[Turn]) -> list[Turn]:
    i = last_reply(turns)
    return list(turns) if i is None else turns[i + 1:]


def unanswered(turns: list[Turn]) -> list[ToolCall]:
    """The last reply's calls that have no result turn yet, in order.

    Calls are made in order and each result is saved before the next call, so the results
    after the reply answer a prefix of its calls; matching by position (not id) holds even
    for a model that repeats call ids.
    """
    i = last_reply(turns)
    if i is None:
        return []
    return list(turns[i].tool_calls[len(turns) - i - 1:])


def entry(state: RunState, kind: str, payload: dict[str, Any]) -> AuditEntry:
    return AuditEntry(state.id, state.agent, kind, payload)
