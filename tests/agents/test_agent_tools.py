"""Typed tools and the agent-level model seam, specified without a network."""

from __future__ import annotations

import agent_toolset
import pytest

from seamline.actions import decide
from seamline.agents import (
    Agent,
    ScriptedAgentModel,
    Tool,
    ToolArgumentsInvalid,
    ToolCall,
    Turn,
    load_run,
    resume_run,
    start_run,
)
from seamline.agents._client import anthropic_messages, openai_messages
from seamline.errors import ConfigError, ProviderUnavailable

calls, tools = agent_toolset.calls, agent_toolset.tools  # the shared fixtures


def test_a_tool_is_shown_in_both_provider_formats_from_its_argument_model(tools):
    lookup = tools.get("lookup_customer")
    a, o = lookup.anthropic_definition(), lookup.openai_definition()
    assert a["name"] == o["function"]["name"] == "lookup_customer"
    assert a["input_schema"] == o["function"]["parameters"]
    assert a["input_schema"]["properties"]["customer_id"]["type"] == "integer"
    assert o["type"] == "function"


def test_invalid_arguments_and_policies_are_refused_with_sentences(tools):
    with pytest.raises(ToolArgumentsInvalid, match="customer_id"):
        tools.get("lookup_customer").invoke({"customer_id": 0})
    with pytest.raises(ConfigError, match="policy"):
        Tool("x", "", object, object, print, policy="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="already registered"):
        tools.add(tools.get("lookup_customer"))


def test_conversations_map_onto_both_wire_formats():
    call = ToolCall("c1", "lookup_customer", {"customer_id": 7})
    turns = [Turn("user", "who?"), Turn("assistant", "", (call,)),
             Turn("tool", '{"name": "x"}', tool_call_id="c1")]
    a = anthropic_messages(turns)
    assert a[1]["content"][0] == {"type": "tool_use", "id": "c1", "name": "lookup_customer",
                                  "input": {"customer_id": 7}}
    assert a[2]["content"][0]["type"] == "tool_result" and a[2]["content"][0]["tool_use_id"] == "c1"
    o = openai_messages("sys", turns)
    assert o[0] == {"role": "system", "content": "sys"}
    assert o[2]["tool_calls"][0]["function"]["arguments"] == '{"customer_id": 7}'
    assert o[3] == {"role": "tool", "tool_call_id": "c1", "content": '{"name": "x"}'}


def test_arguments_that_are_not_json_are_told_to_the_model(store, tools, calls):
    bad = ToolCall("c1", "lookup_customer", {}, malformed="{customer_id: 7")
    result = start_run(store, Agent("a", ScriptedAgentModel([bad, "ok"]), tools), "?")
    assert result.status == "completed" and calls.lookups == []
    assert "not a JSON object" in load_run(store, result.run_id).turns[2].text


def test_a_model_failure_ends_the_run_as_failed_and_recorded(store, tools):
    def broken(turns):
        raise ProviderUnavailable("down", provider="x", model="y")

    result = start_run(store, Agent("a", ScriptedAgentModel(broken), tools), "?")
    assert (result.status, result.stop_reason) == ("failed", "model_error")


def test_calls_after_an_approval_in_the_same_step_run_after_the_resume(store, tools, calls):
    step = [ToolCall("", "send_reply", {"to": "a@example.com", "body": "Hi"}),
            ToolCall("", "lookup_customer", {"customer_id": 3})]
    agent = Agent("a", ScriptedAgentModel([step, "done"]), tools)
    paused = start_run(store, agent, "?")
    assert paused.status == "awaiting_approval" and calls.lookups == []
    decide(store, paused.outbox_id, approve=True, reviewer="ana")
    assert resume_run(store, agent, paused.run_id).status == "completed"
    assert len(calls.sent) == 1 and calls.lookups == [3]
