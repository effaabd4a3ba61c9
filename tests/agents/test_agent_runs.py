"""Agent runs, specified: typed tools, hard limits, loops, policies, approval pauses and the audit trail."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import agent_toolset
from conftest import make_integration
from sqlalchemy import select

from seamline.actions import decide, list_awaiting
from seamline.agents import (
    Agent,
    AgentReply,
    RunLimits,
    ScriptedAgentModel,
    ToolCall,
    load_run,
    resume_run,
    start_run,
)
from seamline.audit import verify
from seamline.inference import BudgetLedger
from seamline.inference._types import Usage
from seamline.integration import Budgets, ModelRoute
from seamline.store.tables import audit_log

calls, tools = agent_toolset.calls, agent_toolset.tools  # the shared fixtures

LOOKUP = ToolCall("", "lookup_customer", {"customer_id": 7})
SEND = ToolCall("", "send_reply", {"to": "a@example.com", "body": "Hello"})


def agent(tools, steps, **limits) -> Agent:
    return Agent("support_agent", ScriptedAgentModel(steps), tools, "Be helpful.",
                 RunLimits(**limits))


def audit_kinds(store, run_id):
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.kind, audit_log.c.payload)
                            .where(audit_log.c.event_id == run_id).order_by(audit_log.c.seq)).all()
    return [(r.kind, json.loads(r.payload)) for r in rows]


def test_a_two_step_run_completes_and_every_step_is_audited(store, tools, calls):
    result = start_run(store, agent(tools, [LOOKUP, "Customer 7 found."]), "Who is 7?")
    assert (result.status, result.stop_reason, result.answer) == (
        "completed", "completed", "Customer 7 found.")
    assert result.steps == 2 and calls.lookups == [7]
    kinds = audit_kinds(store, result.run_id)
    assert [k for k, _ in kinds] == ["agent_start", "agent_model", "agent_tool", "agent_model",
                                     "agent_stop"]
    tool = kinds[2][1]
    assert tool["arguments"] == {"customer_id": 7}
    assert tool["result"] == {"customer_id": 7, "name": "Customer 7"}
    assert "duration_ms" in tool and "cost_usd" in tool
    model = kinds[1][1]
    assert model["reply"]["tool_calls"][0]["name"] == "lookup_customer"
    assert model["usage"]["input_tokens"] > 0 and "cost_usd" in model and "duration_ms" in model
    assert verify(store).ok


def test_bad_arguments_from_the_model_are_told_back_to_it_not_a_crash(store, tools, calls):
    seen = []

    def policy(turns):
        seen.append(turns[-1])
        if len(seen) == 1:
            return ToolCall("", "lookup_customer", {"customer_id": "not a number"})
        return "Sorry."

    result = start_run(store, Agent("support_agent", ScriptedAgentModel(policy), tools),
                       "Who is it?")
    assert result.status == "completed" and calls.lookups == []
    told = seen[1]
    assert told.role == "tool" and told.is_error and "customer_id" in told.text
    assert any(k == "agent_tool" and p["status"] == "invalid_arguments"
               for k, p in audit_kinds(store, result.run_id))


def test_a_run_stops_at_the_step_limit_and_records_it(store, tools):
    calls = [ToolCall("", "lookup_customer", {"customer_id": i}) for i in range(1, 20)]
    result = start_run(store, agent(tools, calls, max_steps=3), "Loop forever")
    assert (result.status, result.stop_reason, result.steps) == ("stopped", "max_steps", 3)
    assert load_run(store, result.run_id).status == "stopped"
    assert audit_kinds(store, result.run_id)[-1][1]["stop_reason"] == "max_steps"


def test_a_run_stops_over_its_token_budget(store, tools, calls):
    big = AgentReply("", (ToolCall("c1", "lookup_customer", {"customer_id": 1}),),
                     Usage(900, 200), "scripted")
    result = start_run(store, agent(tools, [big], max_tokens=1000), "Spend tokens")
    assert (result.status, result.stop_reason) == ("stopped", "token_budget")
    assert calls.lookups == []  # what the over-budget reply asked for did not run


def test_a_run_stops_over_its_cost_budget(store, tools):
    dear = AgentReply("", (ToolCall("c1", "lookup_customer", {"customer_id": 1}),),
                      Usage(400_000, 1_000), "claude-sonnet-4-5")
    result = start_run(store, agent(tools, [dear], max_cost_usd=0.5, max_tokens=10**7),
                       "Spend dollars")
    assert (result.status, result.stop_reason) == ("stopped", "cost_budget")
    assert result.cost_usd > 0.5


def test_repeated_identical_calls_are_a_loop(store, tools, calls):
    result = start_run(store, agent(tools, [LOOKUP], loop_repeats=3), "Again and again")
    assert (result.status, result.stop_reason) == ("stopped", "loop")
    assert calls.lookups == [7, 7]
    stop = audit_kinds(store, result.run_id)[-1][1]
    assert "lookup_customer" in stop["detail"]


def test_a_forbidden_tool_is_refused_and_recorded(store, tools):
    result = start_run(store, agent(tools, [ToolCall("", "delete_account", {"customer_id": 1}),
                                            "I cannot do that."]), "Delete 1")
    assert result.status == "completed"
    tool = next(p for k, p in audit_kinds(store, result.run_id) if k == "agent_tool")
    assert tool["status"] == "forbidden"
    assert "forbidden" in load_run(store, result.run_id).turns[2].text


def test_forbidden_tools_are_not_offered_to_the_model(tools):
    assert "delete_account" not in {t.name for t in tools.offered()}


def _pause(store, tools):
    result = start_run(store, agent(tools, [LOOKUP, SEND, "Sent."]), "Reply to 7")
    assert result.status == "awaiting_approval" and result.outbox_id
    return result


def test_approval_pauses_then_approve_resumes_and_the_tool_runs_once(store, tools, calls):
    paused = _pause(store, tools)
    assert calls.sent == []
    waiting = list_awaiting(store)
    assert [(r.id, r.action) for r in waiting] == [(paused.outbox_id, "tool:send_reply")]
    a = agent(tools, [LOOKUP, SEND, "Sent."])
    assert resume_run(store, a, paused.run_id).status == "awaiting_approval"  # undecided yet
    decide(store, paused.outbox_id, approve=True, reviewer="ana",
           edited_params={"body": "Hello, edited"})
    first = resume_run(store, a, paused.run_id)
    second = resume_run(store, a, paused.run_id)
    assert (first.status, first.answer) == ("completed", "Sent.")
    assert second.status == "completed"
    assert [s.body for s in calls.sent] == ["Hello, edited"]
    kinds = [k for k, _ in audit_kinds(store, paused.run_id)]
    assert "agent_pause" in kinds and "approval" in kinds and kinds[-1] == "agent_stop"
    assert verify(store).ok


def test_a_rejected_call_is_told_to_the_model_with_the_comment(store, tools, calls):
    paused = _pause(store, tools)
    decide(store, paused.outbox_id, approve=False, reviewer="ana", comment="too curt")
    a = agent(tools, [LOOKUP, SEND, "Understood."])
    result = resume_run(store, a, paused.run_id)
    assert result.status == "completed" and calls.sent == []
    told = [t for t in load_run(store, paused.run_id).turns if t.role == "tool"][-1]
    assert told.is_error and "too curt" in told.text and "rejected" in told.text


def test_an_unknown_tool_is_told_to_the_model(store, tools):
    result = start_run(store, agent(tools, [ToolCall("", "nope", {}), "ok"]), "?")
    assert result.status == "completed"
    assert "no tool named 'nope'" in load_run(store, result.run_id).turns[2].text


def test_two_resumes_at_once_run_the_approved_tool_once(store, tools, calls):
    paused = _pause(store, tools)
    decide(store, paused.outbox_id, approve=True, reviewer="ana")
    a = agent(tools, [LOOKUP, SEND, "Sent."])
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: resume_run(store, a, paused.run_id), range(2)))
    assert len(calls.sent) == 1
    assert "completed" in {r.status for r in results}
    assert load_run(store, paused.run_id).status == "completed"


def test_an_integrations_caps_are_reserved_before_each_call(store, tools, calls):
    route = ModelRoute(provider="scripted", model="scripted-1", input_usd_per_mtok=1000.0,
                       output_usd_per_mtok=1000.0, max_output_tokens=100, context_window=2000,
                       budgets=Budgets(per_call_usd=None, daily_usd=0.5))
    ledger = BudgetLedger(make_integration(model=route), global_daily_usd=None)
    steps = [ToolCall("", "lookup_customer", {"customer_id": i}) for i in range(1, 50)]
    a = Agent("support_agent", ScriptedAgentModel(steps), tools, limits=RunLimits(
        max_steps=40, max_cost_usd=100.0), ledger=ledger)
    result = start_run(store, a, "Spend the integration's day")
    assert (result.status, result.stop_reason) == ("stopped", "integration_budget")
    assert 0 < result.steps < 40 and result.cost_usd <= 0.5
    stop = audit_kinds(store, result.run_id)[-1][1]
    assert "daily" in stop["detail"]


def test_approving_a_tool_call_from_the_approvals_cli_says_how_the_run_goes_on(store, tools, calls,
                                                                               tmp_path):
    from typer.testing import CliRunner

    from seamline.cli import app

    paused = _pause(store, tools)
    out = CliRunner().invoke(app, ["approvals", "approve", str(paused.outbox_id), "--db",
                                   store.url.removeprefix("sqlite:///"), "--reviewer", "ana"])
    assert out.exit_code == 0, out.output
    assert f"seamline agent resume AGENT {paused.run_id}" in " ".join(out.output.split())
    assert calls.sent == []  # the CLI decides; the run (and its tool) goes on when resumed
    result = resume_run(store, agent(tools, [LOOKUP, SEND, "Sent."]), paused.run_id)
    assert result.status == "completed" and len(calls.sent) == 1
