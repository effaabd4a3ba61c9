"""The vendor providers, through the official SDKs, over real HTTP to the emulator."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLE
from sqlalchemy import select

from seamline.emulator import Emulator, FaultPlan, FaultRule
from seamline.errors import AuthenticationFailed, ConfigError, ContextTooLong, RateLimited
from seamline.inference import Message, ModelRequest
from seamline.inference.anthropic import AnthropicModel
from seamline.inference.openai import OpenAIModel
from seamline.integration import ModelRoute, RetrySpec, load_integration
from seamline.runtime import DEAD_LETTERED, SUCCEEDED, Pipeline
from seamline.store.tables import events

ANSWER = {"intent": "billing", "urgency": "high", "summary": "Charged twice for one invoice.",
          "confidence": 0.88, "evidence": ["I was charged twice"]}
EMAIL = {"message_id": "p-1", "tenant_id": "acme", "customer_id": "cus_9",
         "from_email": "jane.doe@example.com", "subject": "Charged twice",
         "body": "I was charged twice. Card 4242 4242 4242 4242, call +44 20 7946 0958."}


@pytest.fixture
def emu():
    with Emulator(lambda req: ANSWER).serve() as emulator:
        yield emulator


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-0000000000")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-00000000000000")


def _integration(emu, provider: str, **route):
    base = load_integration(EXAMPLE / "integration.yaml")
    url = emu.base_url if provider == "anthropic" else emu.base_url + "/v1"
    model = {"anthropic": "claude-test-1", "openai": "gpt-4.1-mini"}.get(provider, "llama-3-8b")
    new = base.model.model_copy(update={
        "provider": provider, "model": model, "base_url": url, "input_usd_per_mtok": 3.0,
        "output_usd_per_mtok": 15.0, "retry": RetrySpec(max_retries=2, base_delay_s=0.01,
                                                        max_delay_s=0.05), **route})
    return base.model_copy(update={"model": new})


@pytest.mark.parametrize("provider", ["anthropic", "openai", "openai-compatible"])
def test_an_event_runs_end_to_end_through_each_vendor_sdk_and_no_pii_reaches_it(
        emu, keys, store, provider):
    result = Pipeline(_integration(emu, provider), store).process(EMAIL)
    assert result.state == SUCCEEDED, result.reason
    assert result.output["intent"] == "billing" and result.cost_usd > 0
    sent = emu.received_text()
    for secret in ("jane.doe@example.com", "4242 4242 4242 4242", "+44 20 7946 0958"):
        assert secret not in sent
    assert "<EMAIL_1>" in sent and "<CARD_1>" in sent
    assert "sk-ant-test-key" not in json.dumps([r.headers for r in emu.requests])


def test_anthropic_asks_for_a_tool_call_and_caches_the_system_prompt(emu, keys):
    model = AnthropicModel("claude-test-1", base_url=emu.base_url)
    request = ModelRequest((Message("system", "You triage e-mails. " * 300), Message("user", "Hi")),
                           "claude-test-1", {}, {"type": "object", "properties": {}}, {}, 0, 300)
    first = model.complete(request)
    second = model.complete(request)
    body = emu.requests[0].body
    assert body["tool_choice"] == {"type": "tool", "name": "record_output"}
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert json.loads(first.text) == ANSWER
    assert first.usage.cache_write_tokens > 0 and second.usage.cache_read_tokens > 0


def test_openai_asks_for_json_schema_output(emu, keys):
    model = OpenAIModel("gpt-4.1-mini", base_url=emu.base_url + "/v1")
    schema = {"type": "object", "properties": {"intent": {"type": "string"}}}
    reply = model.complete(ModelRequest((Message("user", "Hi"),), "gpt-4.1-mini", {"temperature": 0},
                                        schema, {}, 0, 100))
    body = emu.requests[0].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == schema
    assert body["max_completion_tokens"] == 100 and "max_tokens" not in body
    assert body["temperature"] == 0
    assert json.loads(reply.text) == ANSWER and reply.stop_reason == "end_turn"


@pytest.mark.parametrize("model", ["o4-mini", "o3", "gpt-5-mini"])
def test_openai_reasoning_models_get_max_completion_tokens(emu, keys, store, model):
    # The emulator refuses max_tokens for these with OpenAI's own 400 (unsupported_parameter).
    result = Pipeline(_integration(emu, "openai", model=model), store).process(EMAIL)
    assert result.state == SUCCEEDED, result.reason
    [request] = emu.requests
    assert request.body["max_completion_tokens"] > 0 and "max_tokens" not in request.body


def test_the_token_field_is_a_route_option_with_a_default_per_provider(emu, keys, store):
    compatible = Pipeline(_integration(emu, "openai-compatible"), store).process(EMAIL)
    assert compatible.state == SUCCEEDED, compatible.reason
    assert "max_tokens" in emu.requests[-1].body  # what vLLM, Ollama, llama.cpp all know
    assert "max_completion_tokens" not in emu.requests[-1].body
    newer = Pipeline(_integration(emu, "openai-compatible", model="gpt-5-mini",
                                  max_tokens_param="max_completion_tokens"), store).process(
        {**EMAIL, "message_id": "p-2"})
    assert newer.state == SUCCEEDED, newer.reason
    assert "max_completion_tokens" in emu.requests[-1].body
    # The old field to a reasoning model is refused by the emulator as OpenAI refuses it.
    old = Pipeline(_integration(emu, "openai", model="o4-mini", max_tokens_param="max_tokens"),
                   store).process({**EMAIL, "message_id": "p-3"})
    assert old.state == DEAD_LETTERED and "max_completion_tokens" in old.reason


def test_a_429_with_retry_after_is_waited_out_and_retried(emu, keys, store):
    # OpenAI sends retry-after-ms, so a sub-second wait is expressible (Anthropic: whole seconds).
    emu.faults = FaultPlan(rules=(FaultRule(kind="rate_limit", retry_after=0.3, first=1),))
    result = Pipeline(_integration(emu, "openai"), store).process(EMAIL)
    assert result.state == SUCCEEDED
    assert [r.fault for r in emu.requests] == ["rate_limit", None]
    assert emu.requests[1].at - emu.requests[0].at >= 0.3  # the jitter cap is 0.05 s


@pytest.mark.parametrize("kind", ["server_error", "overloaded", "unavailable", "malformed_json",
                                  "truncated_json"])
def test_transient_faults_are_retried_until_an_answer(emu, keys, store, kind):
    emu.faults = FaultPlan(rules=(FaultRule(kind=kind, first=2),))
    result = Pipeline(_integration(emu, "openai"), store).process(EMAIL)
    assert result.state == SUCCEEDED, result.reason
    assert len(emu.requests) == 3


def test_a_hang_past_the_timeout_is_a_retryable_failure(emu, keys, store):
    emu.faults = FaultPlan(rules=(FaultRule(kind="hang", seconds=1.5, first=1),))
    result = Pipeline(_integration(emu, "anthropic", timeout_s=0.3), store).process(EMAIL)
    assert result.state == SUCCEEDED and len(emu.requests) == 2


def test_retries_exhausted_dead_letter_with_the_reason(emu, keys, store):
    emu.faults = FaultPlan(rules=(FaultRule(kind="overloaded", p=1.0),))
    result = Pipeline(_integration(emu, "anthropic"), store).process(EMAIL)
    assert result.state == DEAD_LETTERED and result.stage == "inference"
    assert "529" in result.reason
    assert len(emu.requests) == 3  # the first call and two retries


def test_a_bad_key_fails_at_once_without_retrying(keys, store):
    with Emulator(lambda req: ANSWER, api_keys={"the-right-key"}).serve() as emu:
        model = AnthropicModel("claude-test-1", base_url=emu.base_url)
        with pytest.raises(AuthenticationFailed):
            model.complete(ModelRequest((Message("user", "Hi"),), "claude-test-1"))
        result = Pipeline(_integration(emu, "anthropic"), store).process(EMAIL)
        assert result.state == DEAD_LETTERED and "401" in result.reason
        assert len(emu.requests) == 2  # one for the direct call, one for the event: no retries


def test_a_missing_key_is_a_sentence_not_a_crash(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        AnthropicModel("claude-test-1")
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIModel("llama", name="openai-compatible")


def test_the_sdk_errors_are_classified(keys):
    from seamline.inference._sdk_errors import retry_after_seconds

    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({}) is None
    with Emulator(lambda req: ANSWER, faults=FaultPlan(rules=(
            FaultRule(kind="rate_limit", retry_after=7, p=1.0),))).serve() as emu:
        with pytest.raises(RateLimited) as exc:
            OpenAIModel("gpt-4.1-mini", base_url=emu.base_url + "/v1").complete(
                ModelRequest((Message("user", "Hi"),), "gpt-4.1-mini"))
        assert exc.value.retry_after == 7 and exc.value.status == 429 and exc.value.retryable
    assert ContextTooLong("x").retryable is False


def test_a_garbled_retry_after_is_no_answer_not_a_crash():
    import types

    import openai

    from seamline.inference import classify
    from seamline.inference._sdk_errors import retry_after_seconds

    class TooMany(Exception):  # shaped like the SDKs' APIStatusError
        status_code = 429
        response = types.SimpleNamespace(headers={"retry-after": "soon"})

    assert retry_after_seconds({"retry-after": "soon"}) is None
    err = classify(TooMany("slow down"), openai, provider="openai", model="gpt-4.1-mini")
    assert isinstance(err, RateLimited) and err.retry_after is None and err.status == 429


def test_the_answering_model_is_recorded(emu, keys, store):
    Pipeline(_integration(emu, "openai"), store).process(EMAIL)
    with store.read() as conn:
        assert conn.execute(select(events.c.model)).scalar() == "gpt-4.1-mini"
    assert ModelRoute(provider="openai").provider == "openai"


def test_sampling_parameters_reach_anthropic_whatever_the_sdk_names(emu, keys):
    model = AnthropicModel("claude-test-1", base_url=emu.base_url)
    model.complete(ModelRequest((Message("user", "Hi"),), "claude-test-1",
                                {"temperature": 0.2, "top_p": 0.9}, None, {}, 0, 50))
    body = emu.requests[-1].body
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9
