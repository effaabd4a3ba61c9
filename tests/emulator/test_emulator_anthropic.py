"""The emulator speaks Anthropic Messages well enough for the official SDK, over real HTTP."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from seamline.emulator import EmulatedRequest, Emulator, LocalModelBackend, ScriptBackend
from seamline.inference import ScriptedModel

REPLY = {"label": "refund", "confidence": 0.9}


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
    with anthropic.Anthropic(base_url=emu.base_url, api_key="test", max_retries=0) as c:
        yield c


def ask(client, **kw):
    args = dict(model="claude-emulated", max_tokens=200,
                messages=[{"role": "user", "content": "Please refund order 42."}])
    args.update(kw)
    return client.messages.create(**args)


def test_a_reply_round_trips_with_usage_and_end_turn(client, emu):
    raw = client.messages.with_raw_response.create(
        model="claude-emulated", max_tokens=200, system="Classify.",
        messages=[{"role": "user", "content": "Please refund order 42."}])
    msg = raw.parse()
    assert json.loads(msg.content[0].text) == REPLY
    assert msg.model == "claude-emulated" and msg.role == "assistant"
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0
    assert raw.headers["request-id"].startswith("req_")


def test_the_backend_sees_system_messages_and_limits(client, emu):
    seen: list[EmulatedRequest] = []
    emu.backend = lambda req: seen.append(req) or "ok"
    ask(client, system=[{"type": "text", "text": "You triage."}], max_tokens=50,
        messages=[{"role": "user", "content": [{"type": "text", "text": "hello"}]}])
    req = seen[0]
    assert (req.provider, req.model, req.system, req.max_tokens) == (
        "anthropic", "claude-emulated", "You triage.", 50)
    assert [(m.role, m.content) for m in req.messages] == [("user", "hello")]


def test_a_reply_longer_than_max_tokens_is_cut_and_says_so(client, emu):
    emu.backend = lambda req: "word " * 100
    msg = ask(client, max_tokens=5)
    assert msg.stop_reason == "max_tokens"
    assert len(msg.content[0].text) <= 20 and msg.usage.output_tokens <= 5


def test_cache_control_blocks_are_written_once_then_read(client):
    system = [{"type": "text", "text": "Long policy. " * 100,
               "cache_control": {"type": "ephemeral"}}]
    first, second = ask(client, system=system), ask(client, system=system)
    assert first.usage.cache_creation_input_tokens > 0 and first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.input_tokens == first.usage.input_tokens  # only the uncached tail


@pytest.mark.parametrize("kw, message", [
    (dict(messages=[]), "messages: at least one message is required"),
    (dict(messages=[{"role": "system", "content": "x"}]),
     "messages.0.role: Input should be 'user' or 'assistant'"),
    (dict(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
     "messages.0.content: text content blocks must be non-empty"),
    (dict(max_tokens=0), "max_tokens: Input should be greater than or equal to 1"),
    (dict(system=[{"type": "text", "text": f"s{i}", "cache_control": {"type": "ephemeral"}}
                  for i in range(5)]),
     "A maximum of 4 blocks with cache_control may be provided. Found 5."),
    (dict(extra_body={"temprature": 0.2}), "temprature: Extra inputs are not permitted"),
])
def test_invalid_requests_are_refused_with_anthropics_error_body(client, emu, kw, message):
    with pytest.raises(anthropic.BadRequestError) as exc:
        ask(client, **kw)
    assert exc.value.status_code == 400
    assert exc.value.body["error"] == {"type": "invalid_request_error", "message": message}
    assert exc.value.response.headers["request-id"].startswith("req_")


def test_an_unknown_key_is_an_authentication_error(client, emu):
    emu.api_keys = frozenset({"the-right-key"})
    with pytest.raises(anthropic.AuthenticationError) as exc:
        ask(client)
    assert exc.value.body["error"]["type"] == "authentication_error"


def test_no_key_at_all_is_a_401_in_anthropics_shape(emu):
    r = httpx.post(emu.base_url + "/v1/messages", headers={"anthropic-version": "2023-06-01"},
                   json={"model": "m", "max_tokens": 5,
                         "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 401
    assert r.json()["type"] == "error"
    assert r.json()["error"] == {"type": "authentication_error",
                                 "message": "x-api-key header is required"}


def test_the_legacy_x_api_key_header_and_a_missing_version(emu):
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    ok = httpx.post(emu.base_url + "/v1/messages", json=body,
                    headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert ok.status_code == 200 and ok.json()["type"] == "message"
    no_version = httpx.post(emu.base_url + "/v1/messages", json=body, headers={"x-api-key": "k"})
    assert no_version.status_code == 400
    assert no_version.json()["error"]["message"] == "anthropic-version: header is required"


def test_a_forced_tool_answers_with_a_tool_use_block(client, emu):
    seen = []
    emu.backend = lambda req: seen.append(req) or REPLY
    schema = {"type": "object", "properties": {"label": {"type": "string"}}}
    msg = ask(client, tools=[{"name": "verdict", "input_schema": schema}],
              tool_choice={"type": "tool", "name": "verdict"})
    assert msg.stop_reason == "tool_use"
    block = msg.content[0]
    assert (block.type, block.name, block.input) == ("tool_use", "verdict", REPLY)
    assert seen[0].tool_name == "verdict" and seen[0].json_schema == schema and seen[0].json_mode


def test_a_streamed_reply_arrives_as_events_and_adds_up(client, emu):
    emu.backend = lambda req: "A longer streamed answer, in several chunks."
    with client.messages.stream(model="claude-emulated", max_tokens=100,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "A longer streamed answer, in several chunks."
    assert final.content[0].text == text and final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 1


def test_a_seamline_provider_can_answer(client, emu):
    model = ScriptedModel(lambda req: {"label": "refund", "from": req.source["text"]})
    emu.backend = LocalModelBackend(model)
    msg = ask(client, system="Classify.")
    assert json.loads(msg.content[0].text) == {"label": "refund", "from": "Please refund order 42."}
    assert model.requests[0].system == "Classify."
    assert model.requests[0].params == {"max_tokens": 200}


def test_a_failing_backend_is_the_providers_500(client, emu):
    def broken(req):
        raise RuntimeError("script bug")
    emu.backend = broken
    with pytest.raises(anthropic.InternalServerError) as exc:
        ask(client)
    assert "script bug" in exc.value.body["error"]["message"]


def test_a_streamed_tool_use_arrives_as_partial_json(client, emu):
    emu.backend = lambda req: REPLY
    with client.messages.stream(model="claude-emulated", max_tokens=100,
                                messages=[{"role": "user", "content": "hi"}],
                                tools=[{"name": "verdict", "input_schema": {"type": "object"}}],
                                tool_choice={"type": "any"}) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert (final.content[0].name, final.content[0].input) == ("verdict", REPLY)
