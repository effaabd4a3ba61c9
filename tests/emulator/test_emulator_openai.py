"""The emulator speaks OpenAI Chat Completions well enough for the official SDK, over real HTTP."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from seamline.emulator import Emulator, ScriptBackend

REPLY = {"label": "refund", "confidence": 0.9}


class Verdict(BaseModel):
    label: str
    confidence: float


@pytest.fixture(scope="module")
def server():
    with Emulator(seed=1).serve() as emu:
        yield emu


@pytest.fixture
def emu(server):
    server.reset()
    server.backend = ScriptBackend([REPLY])
    server.api_keys = None
    yield server


@pytest.fixture
def client(emu):
    with openai.OpenAI(base_url=emu.base_url + "/v1", api_key="test", max_retries=0) as c:
        yield c


def ask(client, **kw):
    args = dict(model="gpt-emulated",
                messages=[{"role": "system", "content": "Answer in JSON."},
                          {"role": "user", "content": "Please refund order 42."}])
    args.update(kw)
    return client.chat.completions.create(**args)


def test_a_reply_round_trips_with_usage_and_stop(client):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-emulated", messages=[{"role": "user", "content": "Please refund order 42."}])
    done = raw.parse()
    assert done.object == "chat.completion" and done.model == "gpt-emulated"
    choice = done.choices[0]
    assert json.loads(choice.message.content) == REPLY
    assert (choice.index, choice.message.role, choice.finish_reason) == (0, "assistant", "stop")
    u = done.usage
    assert u.prompt_tokens > 0 and u.completion_tokens > 0
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.prompt_tokens_details.cached_tokens == 0
    assert raw.headers["x-request-id"].startswith("req_")


def test_a_json_schema_request_reaches_the_backend_and_parses(client, emu):
    seen = []
    emu.backend = lambda req: seen.append(req) or REPLY
    done = client.chat.completions.parse(model="gpt-emulated", response_format=Verdict,
                                         messages=[{"role": "user", "content": "refund?"}])
    assert done.choices[0].message.parsed == Verdict(**REPLY)
    assert seen[0].json_mode and seen[0].json_schema["properties"]["label"]["type"] == "string"


def test_json_mode_needs_the_word_json_in_the_messages(client):
    with pytest.raises(openai.BadRequestError) as exc:
        ask(client, response_format={"type": "json_object"},
            messages=[{"role": "user", "content": "refund?"}])
    assert "must contain the word 'json'" in exc.value.message
    assert ask(client, response_format={"type": "json_object"}).choices[0].finish_reason == "stop"


def test_a_reply_longer_than_max_completion_tokens_stops_with_length(client, emu):
    emu.backend = lambda req: "word " * 100
    done = ask(client, max_completion_tokens=5)
    assert done.choices[0].finish_reason == "length" and done.usage.completion_tokens <= 5
    assert ask(client, max_tokens=5).choices[0].finish_reason == "length"


@pytest.mark.parametrize("kw, param, code", [
    (dict(messages=[]), "messages", "empty_array"),
    (dict(messages=[{"role": "bot", "content": "x"}]), "messages[0].role", "invalid_value"),
    (dict(max_completion_tokens=0), "max_completion_tokens", "integer_below_min_value"),
    (dict(response_format={"type": "json_schema", "json_schema": {"schema": {}}}),
     "response_format.json_schema.name", "missing_required_parameter"),
])
def test_invalid_requests_are_refused_with_openais_error_body(client, kw, param, code):
    with pytest.raises(openai.BadRequestError) as exc:
        ask(client, **kw)
    err = exc.value.body
    assert exc.value.status_code == 400
    assert (err["type"], err["param"], err["code"]) == ("invalid_request_error", param, code)
    assert err["message"]


def test_an_unknown_key_is_an_authentication_error(client, emu):
    emu.api_keys = frozenset({"the-right-key"})
    with pytest.raises(openai.AuthenticationError) as exc:
        ask(client)
    assert exc.value.code == "invalid_api_key"


def test_a_streamed_reply_arrives_in_chunks_with_usage_last(client, emu):
    emu.backend = lambda req: "A longer streamed answer, in several chunks."
    chunks = list(ask(client, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "A longer streamed answer, in several chunks."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_a_long_repeated_prompt_is_served_partly_from_the_cache(client):
    long = [{"role": "system", "content": "Policy. " * 800},
            {"role": "user", "content": "first question"}]
    first = ask(client, messages=long)
    second = ask(client, messages=long[:1] + [{"role": "user", "content": "another question"}])
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= 1024 and cached % 128 == 0 and cached <= second.usage.prompt_tokens


def test_a_forced_function_answers_with_a_tool_call(client, emu):
    seen = []
    emu.backend = lambda req: seen.append(req) or REPLY
    tools = [{"type": "function", "function": {"name": "verdict", "parameters": {
        "type": "object", "properties": {"label": {"type": "string"}}}}}]
    forced = {"type": "function", "function": {"name": "verdict"}}
    done = ask(client, tools=tools, tool_choice=forced)
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.function.name == "verdict" and json.loads(call.function.arguments) == REPLY
    assert seen[0].tool_name == "verdict"
    assert seen[0].json_schema == tools[0]["function"]["parameters"]

    chunks = list(ask(client, tools=tools, tool_choice="required", stream=True))
    arguments = "".join(c.choices[0].delta.tool_calls[0].function.arguments or ""
                        for c in chunks if c.choices and c.choices[0].delta.tool_calls)
    assert json.loads(arguments) == REPLY
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_a_tool_choice_naming_no_tool_is_refused(client):
    with pytest.raises(openai.BadRequestError) as exc:
        ask(client, tools=[{"type": "function", "function": {"name": "a"}}],
            tool_choice={"type": "function", "function": {"name": "b"}})
    assert exc.value.param == "tool_choice"


@pytest.mark.parametrize("model", ["o1", "o1-mini", "o3", "o3-2025-04-16", "o4-mini", "gpt-5",
                                   "gpt-5-mini", "gpt-5.1", "openai/gpt-5-nano"])
def test_reasoning_models_refuse_max_tokens_as_openai_does(client, model):
    # https://platform.openai.com/docs/api-reference/chat/create: max_tokens is deprecated
    # for max_completion_tokens and not compatible with reasoning models.
    with pytest.raises(openai.BadRequestError) as exc:
        ask(client, model=model, max_tokens=50)
    assert exc.value.status_code == 400
    assert exc.value.body == {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                   "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}
    assert ask(client, model=model, max_completion_tokens=50).choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", ["gpt-4.1-mini", "gpt-4o", "gpt-emulated", "o1x", "llama-3-8b"])
def test_other_models_still_take_max_tokens(client, model):
    assert ask(client, model=model, max_tokens=50).choices[0].finish_reason == "stop"
