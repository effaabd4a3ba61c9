"""Agents over real HTTP: the official SDKs against the emulator, tool use in both wire formats."""

from __future__ import annotations

import json

import agent_toolset
import pytest

from seamline.agents import Agent, AnthropicAgentModel, OpenAIAgentModel, RunLimits, start_run
from seamline.emulator import Emulator, ScriptBackend, tool_use

calls, tools = agent_toolset.calls, agent_toolset.tools  # the shared fixtures


@pytest.fixture(scope="module")
def server():
    with Emulator(seed=1).serve() as emu:
        yield emu


@pytest.fixture
def emu(server):
    server.reset()
    server.api_keys = None
    server.backend = ScriptBackend([tool_use(("lookup_customer", {"customer_id": 7})),
                                    "Customer 7 is Customer 7."])
    yield server


def _bodies(emu):
    return [r.body for r in emu.requests]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_two_step_tool_run_through_the_official_sdk(store, tools, calls, emu, provider):
    if provider == "anthropic":
        model = AnthropicAgentModel("claude-haiku-4-5", base_url=emu.base_url, api_key="test")
    else:
        model = OpenAIAgentModel("gpt-4.1-mini", base_url=emu.base_url + "/v1", api_key="test")
    agent = Agent("support_agent", model, tools, "Be brief.", RunLimits(max_steps=4))
    result = start_run(store, agent, "Who is customer 7?")
    assert (result.status, result.answer) == ("completed", "Customer 7 is Customer 7.")
    assert calls.lookups == [7]
    assert result.steps == 2 and result.tokens > 0 and result.cost_usd > 0
    first, second = _bodies(emu)
    if provider == "anthropic":
        assert first["tools"][0]["name"] == "lookup_customer"
        assert "input_schema" in first["tools"][0]
        assert first["system"] == "Be brief."
        use = second["messages"][1]["content"][0]
        res = second["messages"][2]["content"][0]
        assert use["type"] == "tool_use" and res["type"] == "tool_result"
        assert res["tool_use_id"] == use["id"]
    else:
        assert first["tools"][0]["function"]["name"] == "lookup_customer"
        assert first["tools"][0]["type"] == "function"
        call = second["messages"][2]["tool_calls"][0]
        res = second["messages"][3]
        assert res["role"] == "tool" and res["tool_call_id"] == call["id"]
    assert json.loads(res["content"])["name"] == "Customer 7"
