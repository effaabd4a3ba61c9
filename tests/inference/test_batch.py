"""Batch mode: queued requests go through the providers' batch APIs and come back one per id.

Everything runs through the official SDKs over real HTTP to the emulator.
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import EXAMPLE

from seamline.emulator import Emulator, FaultPlan, FaultRule
from seamline.errors import ConfigError, ProviderUnavailable, RateLimited, RequestRejected
from seamline.inference import Message, ModelReply, ModelRequest, ScriptedModel
from seamline.inference._batch import run_batch
from seamline.inference._pricing import price_usage
from seamline.inference.anthropic import AnthropicModel
from seamline.inference.openai import OpenAIModel
from seamline.integration import load_integration

SCHEMA = {"type": "object", "properties": {"echo": {"type": "string"}}}
BATCH_PATHS = {"/v1/messages/batches", "/v1/files"}
MODELS = {"anthropic": "claude-haiku-4-5-emulated", "openai": "gpt-4.1-mini-emulated"}
# The installed anthropic SDK's messages.create takes no temperature; its batches pass it on.
PARAMS = {"anthropic": {"stop_sequences": ["###"]}, "openai": {"temperature": 0}}


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-0000000000")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-00000000000000")


@pytest.fixture
def emu():
    with Emulator(lambda req: {"echo": req.user}).serve() as emulator:
        yield emulator


def _model(emu, provider: str):
    if provider == "anthropic":
        return AnthropicModel(MODELS[provider], base_url=emu.base_url)
    return OpenAIModel(MODELS[provider], base_url=emu.base_url + "/v1")


def _request(provider: str, text: str, **kw) -> ModelRequest:
    return ModelRequest((Message("system", "Echo the ticket as JSON."), Message("user", text)),
                        MODELS[provider], PARAMS[provider], SCHEMA, **kw)


def _no_wait(seconds: float) -> None:
    pass


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_batch_gives_one_result_per_id_with_the_text_a_single_call_gives(emu, keys, provider):
    model = _model(emu, provider)
    items = [(f"evt-{i}", _request(provider, f"Ticket {i}: refund please")) for i in range(4)]
    results = run_batch(model, items, poll_interval=0.01, sleep=_no_wait)
    assert list(results) == [custom_id for custom_id, _ in items]
    single = model.complete(items[2][1])
    reply = results["evt-2"]
    assert isinstance(reply, ModelReply)
    assert reply.text == single.text and json.loads(reply.text) == {"echo": "Ticket 2: refund please"}
    assert reply.usage.output_tokens > 0 and reply.usage.total_tokens > reply.usage.output_tokens
    assert reply.model == items[2][1].model


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_an_errored_item_is_a_classified_error_and_the_others_succeed(emu, keys, provider):
    emu.faults = FaultPlan(rules=(FaultRule(kind="rate_limit", nth=(2,)),))
    items = [("a", _request(provider, "one")), ("b", _request(provider, "two")),
             ("c", _request(provider, "three", max_tokens=0))]
    results = run_batch(_model(emu, provider), items, poll_interval=0.01, sleep=_no_wait)
    assert isinstance(results["a"], ModelReply)
    assert isinstance(results["b"], RateLimited) and results["b"].retryable
    assert results["b"].status == 429 and results["b"].provider == provider
    assert isinstance(results["c"], RequestRejected) and not results["c"].retryable
    # The field each sends: OpenAI's is max_completion_tokens (max_tokens is deprecated).
    assert {"anthropic": "max_tokens", "openai": "max_completion_tokens"}[provider] in str(
        results["c"])


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_polling_waits_while_the_batch_is_in_progress(emu, keys, provider):
    emu.batch_delay = 0.4
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    started = time.monotonic()
    results = run_batch(_model(emu, provider), [("only", _request(provider, "hi"))],
                        poll_interval=0.1, timeout=5, sleep=sleep)
    assert time.monotonic() - started >= 0.4
    assert isinstance(results["only"], ModelReply)
    assert slept and all(s == 0.1 for s in slept)
    polls = [r for r in emu.requests if r.method == "GET" and "/batches/" in r.path]
    assert len(polls) > len(slept)  # a look before each wait, then one that saw it end


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_batch_past_the_timeout_names_its_id_and_can_be_collected_later(emu, keys, provider):
    emu.batch_delay = 0.3
    model = _model(emu, provider)
    with pytest.raises(ProviderUnavailable, match=r"batch (msgbatch|batch)_\w+") as exc:
        run_batch(model, [("late", _request(provider, "hi"))], poll_interval=1, timeout=2,
                  sleep=_no_wait)
    batch_id = str(exc.value).split("batch ")[1].split()[0]
    time.sleep(0.35)
    assert model.batch_status(batch_id) == "ended"
    assert isinstance(model.batch_results(batch_id)["late"], ModelReply)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_batched_items_are_sent_as_given_the_same_call_as_a_single_one(emu, keys, provider):
    model = _model(emu, provider)
    # The source holds the unredacted event: remote providers must never send it.
    request = ModelRequest((Message("system", "Triage."), Message("user", "From <EMAIL_1>: help")),
                           MODELS[provider], PARAMS[provider], SCHEMA,
                           {"email": "jane.doe@example.com", "card": "4242 4242 4242 4242"})
    run_batch(model, [("e1", request)], poll_interval=0.01, sleep=_no_wait)
    model.complete(request)
    batched = next(r for r in emu.requests if r.path in BATCH_PATHS)
    single = emu.requests[-1]
    if provider == "anthropic":
        item = batched.body["requests"][0]
    else:
        item = json.loads(next(line for line in batched.text.splitlines() if '"custom_id"' in line))
        assert (item["method"], item["url"]) == ("POST", "/v1/chat/completions")
    sent = item["params"] if provider == "anthropic" else item["body"]
    assert item["custom_id"] == "e1" and sent == single.body
    text = emu.received_text()
    assert "jane.doe@example.com" not in text and "4242 4242 4242 4242" not in text
    assert "<EMAIL_1>" in text


@pytest.mark.parametrize("provider, model", [("anthropic", "claude-haiku-4-5"),
                                             ("openai", "gpt-4.1-mini")])
def test_a_batched_call_costs_less_than_the_same_call_alone(emu, keys, provider, model):
    reply = run_batch(_model(emu, provider), [("x", _request(provider, "Refund order 42"))],
                      poll_interval=0.01, sleep=_no_wait)["x"]
    base = load_integration(EXAMPLE / "integration.yaml")
    route = base.model.model_copy(update={"provider": provider, "model": model})
    integration = base.model_copy(update={"model": route})
    alone = price_usage(integration, reply.usage)
    batched = price_usage(integration, reply.usage, batch=True)
    assert 0 < batched < alone


def test_a_provider_without_batch_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="has no batch mode"):
        run_batch(ScriptedModel(lambda r: "x"), [("a", _request("openai", "hi"))])


def test_repeated_custom_ids_are_refused_before_anything_is_sent(emu, keys):
    with pytest.raises(ConfigError, match="custom id"):
        run_batch(_model(emu, "anthropic"), [("a", _request("anthropic", "1")),
                                             ("a", _request("anthropic", "2"))])
    assert emu.requests == []


def test_an_openai_batch_the_provider_refuses_is_request_rejected(emu, keys):
    model = _model(emu, "openai")
    upload = model.client.files.create(file=("in.jsonl", b"not json\n"), purpose="batch")
    batch = model.client.batches.create(input_file_id=upload.id,
                                        endpoint="/v1/chat/completions", completion_window="24h")
    with pytest.raises(RequestRejected, match="invalid_json_line"):
        model.batch_status(batch.id)


def test_a_batched_anthropic_item_with_sampling_parameters_is_the_same_body_as_a_single_call(monkeypatch):
    from seamline.emulator import Emulator
    from seamline.inference import Message, ModelRequest
    from seamline.inference.anthropic import AnthropicModel

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-0000000000")
    with Emulator(lambda req: {"ok": True}).serve() as emu:
        model = AnthropicModel("claude-test-1", base_url=emu.base_url)
        request = ModelRequest((Message("user", "Hi"),), "claude-test-1", {"temperature": 0.3},
                               None, {}, 0, 40)
        model.complete(request)
        model.submit_batch([("one", request)])
        single = emu.requests[0].body
        batched = emu.requests[1].body["requests"][0]["params"]
    assert batched == single and batched["temperature"] == 0.3


def test_a_pipeline_sends_its_events_as_one_batch_at_the_discount(monkeypatch, store):
    import json as _json

    from conftest import EXAMPLE

    from seamline.emulator import Emulator
    from seamline.integration import load_integration
    from seamline.runtime import DUPLICATE, SUCCEEDED, Pipeline

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-0000000000")
    answer = {"intent": "billing", "urgency": "normal", "summary": "Charged twice.",
              "confidence": 0.9, "evidence": []}
    base = load_integration(EXAMPLE / "integration.yaml")
    with Emulator(lambda req: answer, batch_delay=0.2).serve() as emu:
        # Priced from a price file (as SEAMLINE_PRICES would name), with a batch discount;
        # a made-up model name, since the SDK warns about retired real ones.
        prices = store.url.removeprefix("sqlite:///") + ".prices.toml"
        with open(prices, "w") as fh:
            fh.write('[models."claude-test-1"]\ninput = 3.0\noutput = 15.0\nbatch_discount = 0.5\n')
        monkeypatch.setenv("SEAMLINE_PRICES", prices)
        route = base.model.model_copy(update={"provider": "anthropic", "model": "claude-test-1",
                                              "base_url": emu.base_url})
        pipeline = Pipeline(base.model_copy(update={"model": route}), store)
        emails = [{"message_id": f"b-{i}", "tenant_id": "acme", "customer_id": f"c{i}",
                   "from_email": f"user{i}@example.com", "subject": "Invoice",
                   "body": "I was charged twice."} for i in range(4)]
        results = pipeline.process_batch(emails + [emails[0]], poll_interval=0.05)
        single = pipeline.process({**emails[0], "message_id": "b-single"})
        creates = [r for r in emu.requests if r.path.endswith("/messages/batches")]
    assert [r.state for r in results] == [SUCCEEDED] * 4 + [DUPLICATE]
    assert len(creates) == 1 and len(creates[0].body["requests"]) == 4
    assert "user0@example.com" not in _json.dumps(creates[0].body)
    from seamline.audit import story
    from seamline.inference import Usage, price_usage

    call = next(r["payload"] for r in story(store, results[0].event_id) if r["kind"] == "model_call")
    usage = Usage(call["input_tokens"], call["output_tokens"], call["cache_write_tokens"],
                  call["cache_read_tokens"])
    integration = pipeline.integration
    assert call["batch"] is True and single.cost_usd > 0
    assert 0 < call["cost_usd"] == pytest.approx(price_usage(integration, usage, batch=True))
    assert call["cost_usd"] < price_usage(integration, usage)  # the discount was applied
