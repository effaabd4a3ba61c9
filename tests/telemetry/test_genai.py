"""The OpenTelemetry GenAI span of every model call the gateway makes, read in-process.

The convention followed: https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
(the inference client span). test_genai_otlp.py checks the same over a real OTLP exchange
with the vendor SDKs; here the policies around the call (retries, fallbacks, the on-device
model, content capture) are driven by scripted and local models.
"""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLE, make_integration
from opentelemetry import trace
from span_capture import span_exporter

from seamline.errors import ProviderUnavailable
from seamline.inference import Message, ModelRequest, ScriptedModel, build_gateway
from seamline.integration import RetrySpec, load_integration
from seamline.runtime import Pipeline
from seamline.telemetry import ATTEMPT_SPAN, CAPTURE_ENV

ANSWER = {"label": "refund", "confidence": 0.9, "amount": 20.0, "quote": ""}
SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}}}
CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions")


@pytest.fixture(autouse=True)
def exporter(monkeypatch):
    monkeypatch.delenv(CAPTURE_ENV, raising=False)
    spans = span_exporter()
    spans.clear()
    return spans


def _calls(exporter):
    return [s for s in exporter.get_finished_spans() if "gen_ai.operation.name" in s.attributes]


def _attempts(exporter, call):
    return sorted((s for s in exporter.get_finished_spans() if s.name == ATTEMPT_SPAN
                   and s.parent is not None and s.parent.span_id == call.context.span_id),
                  key=lambda s: s.attributes["seamline.attempt.number"])


def _request(system: str = "Classify.", user: str = "Ticket T1: <EMAIL_1> wants a refund",
             **params) -> ModelRequest:
    return ModelRequest((Message("system", system), Message("user", user)), "scripted-1",
                        params, SCHEMA, {}, 0, 100)


def _scripted_gateway(fn, **retry):
    route = make_integration().model.model_copy(
        update={"retry": RetrySpec(base_delay_s=0, max_delay_s=0, **retry)})
    return build_gateway(make_integration(model=route), provider=ScriptedModel(fn))


def test_a_call_is_one_span_with_the_request_and_reply_attributes(exporter):
    gateway = _scripted_gateway(lambda req: ANSWER)
    reply = gateway.complete(_request(temperature=0.2, top_p=0.9, seed=7, stop="END"))
    (call,) = _calls(exporter)
    a = call.attributes
    assert call.name == "chat scripted-1"
    assert call.kind == trace.SpanKind.INTERNAL  # the scripted model runs in this process
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "seamline.scripted"
    assert a["gen_ai.request.model"] == "scripted-1"
    assert a["gen_ai.request.max_tokens"] == 100
    assert a["gen_ai.request.temperature"] == 0.2 and a["gen_ai.request.top_p"] == 0.9
    assert a["gen_ai.request.seed"] == 7 and a["gen_ai.request.stop_sequences"] == ("END",)
    assert a["gen_ai.output.type"] == "json"
    assert a["gen_ai.response.model"] == reply.model == "scripted"
    assert a["gen_ai.usage.input_tokens"] == reply.usage.input_tokens > 0
    assert a["gen_ai.usage.output_tokens"] == reply.usage.output_tokens > 0
    assert a["gen_ai.response.finish_reasons"] == (reply.stop_reason,)
    assert "server.address" not in a and "gen_ai.system" not in a
    assert not any(k in a for k in CONTENT_KEYS)  # content is opt-in
    assert a["seamline.attempts"] == 1 and len(_attempts(exporter, call)) == 1
    assert call.status.status_code == trace.StatusCode.UNSET


def test_a_retried_call_is_one_span_with_a_child_span_per_attempt(exporter):
    tries = []

    def flaky(_req):
        tries.append(1)
        if len(tries) == 1:
            raise ProviderUnavailable("503 from the provider", status=503)
        return ANSWER

    _scripted_gateway(flaky, max_retries=2).complete(_request())
    (call,) = _calls(exporter)
    first, second = _attempts(exporter, call)
    assert call.attributes["seamline.attempts"] == 2
    assert call.status.status_code == trace.StatusCode.UNSET and "error.type" not in call.attributes
    assert first.attributes["error.type"] == "ProviderUnavailable"
    assert first.attributes["http.response.status_code"] == 503
    assert first.status.status_code == trace.StatusCode.ERROR
    assert "error.type" not in second.attributes
    assert call.start_time <= first.start_time <= first.end_time <= second.start_time
    assert second.end_time <= call.end_time


def test_a_fallback_is_a_second_call_span_and_the_local_model_names_itself(exporter, store):
    def down(_req):
        raise ProviderUnavailable("503 from the provider", status=503)

    demo = load_integration(EXAMPLE / "integration.yaml")
    route = demo.model.model_copy(update={
        "model": "claude-x", "retry": RetrySpec(max_retries=1, base_delay_s=0, max_delay_s=0),
        "fallbacks": (demo.model,)})  # the on-device model as the last resort
    integration = demo.model_copy(update={"model": route})
    gateway = build_gateway(integration, store, provider=ScriptedModel(down, model="claude-x"))
    data = {"subject": "Refund", "body": "I was charged twice, please refund my invoice."}
    request = ModelRequest((Message("user", f"{data['subject']}\n{data['body']}"),),
                           "claude-x", {}, None, data, 0, 400)
    with trace.get_tracer("test").start_as_current_span("app") as app:
        gateway.complete(request)
    primary, fallback = sorted(_calls(exporter), key=lambda s: s.start_time)
    assert primary.name == "chat claude-x"
    assert primary.status.status_code == trace.StatusCode.ERROR
    assert primary.attributes["error.type"] == "ProviderUnavailable"
    assert primary.attributes["seamline.attempts"] == 2  # the first call and one retry
    assert fallback.name == "chat local-linear"
    assert fallback.attributes["gen_ai.provider.name"] == "seamline.local"
    assert fallback.attributes["seamline.provider"] == "local"
    assert fallback.kind == trace.SpanKind.INTERNAL
    assert fallback.status.status_code == trace.StatusCode.UNSET
    assert fallback.attributes["gen_ai.response.model"] == "local-linear"
    # Outside an event, the current span is the parent: the application's own.
    assert {s.parent.span_id for s in (primary, fallback)} == {app.get_span_context().span_id}


def test_content_is_recorded_only_when_opted_in_and_scrubbed_of_secrets(exporter, monkeypatch):
    token = "hd-tok-9f8e7d6c5b4a3210"
    monkeypatch.setenv("HELPDESK_TOKEN", token)
    gateway = _scripted_gateway(lambda req: ANSWER)
    system = f"Classify. (The helpdesk token is {token}; never say it.)"
    gateway.complete(_request(system=system))
    monkeypatch.setenv(CAPTURE_ENV, "true")
    gateway.complete(_request(system=system))
    off, on = sorted(_calls(exporter), key=lambda s: s.start_time)
    assert not any(k in off.attributes for k in CONTENT_KEYS)
    sent = json.loads(on.attributes["gen_ai.input.messages"])
    assert [m["role"] for m in sent] == ["system", "user"]  # this format sends it in the chat
    assert sent[1]["parts"] == [{"type": "text", "content": "Ticket T1: <EMAIL_1> wants a refund"}]
    assert "<SECRET_FROM_ENV>" in sent[0]["parts"][0]["content"]
    out = json.loads(on.attributes["gen_ai.output.messages"])
    assert out[0]["role"] == "assistant" and json.loads(out[0]["parts"][0]["content"]) == ANSWER
    assert out[0]["finish_reason"] == on.attributes["gen_ai.response.finish_reasons"][0]
    everything = json.dumps([dict(s.attributes) for s in exporter.get_finished_spans()])
    assert token not in everything


def test_an_events_model_call_is_a_child_of_its_span_and_records_only_redacted_text(
        exporter, store, monkeypatch):
    monkeypatch.setenv(CAPTURE_ENV, "1")
    email = {"message_id": "g-1", "tenant_id": "acme", "customer_id": "cus_9",
             "from_email": "jane.doe@example.com", "subject": "Charged twice",
             "body": "I was charged twice. Card 4242 4242 4242 4242, call +44 20 7946 0958."}
    integration = load_integration(EXAMPLE / "integration.yaml")
    result = Pipeline(integration, store).process(email)
    assert result.state != "dead_lettered", result.reason
    spans = exporter.get_finished_spans()
    (event,) = [s for s in spans if s.name == "seamline.event"]
    (call,) = _calls(exporter)
    assert call.parent.span_id == event.context.span_id
    assert call.context.trace_id == event.context.trace_id
    assert call.attributes["gen_ai.provider.name"] == "seamline.local"
    prompt = call.attributes["gen_ai.input.messages"]
    assert "<EMAIL_1>" in prompt
    everything = json.dumps([[dict(s.attributes), [dict(e.attributes) for e in s.events]]
                             for s in spans])
    for pii in ("jane.doe@example.com", "4242 4242 4242 4242", "+44 20 7946 0958"):
        assert pii not in everything
