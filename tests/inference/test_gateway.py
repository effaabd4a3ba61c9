"""The gateway: the route's declared policies composed around its providers."""

from __future__ import annotations

import json

from conftest import EXAMPLE
from sqlalchemy import select

from seamline.audit import story
from seamline.errors import ProviderUnavailable, RequestRejected
from seamline.inference import ScriptedModel
from seamline.inference._gateway import build_gateway
from seamline.integration import ModelRoute, RetrySpec, load_integration
from seamline.runtime import DEAD_LETTERED, SUCCEEDED, Pipeline
from seamline.store.tables import events

EMAIL = {"message_id": "gw-1", "tenant_id": "acme", "customer_id": "cus_1", "from_email": "a@b.io",
         "subject": "Invoice", "body": "I was charged twice for my invoice, please help."}


def _demo(**route_changes):
    integration = load_integration(EXAMPLE / "integration.yaml")
    route = integration.model.model_copy(update=route_changes)
    return integration.model_copy(update={"model": route})


def test_a_primary_that_is_down_falls_back_to_the_next_model_and_the_audit_says_which(store):
    calls = []

    def down(_req):
        calls.append(1)
        raise ProviderUnavailable("503 from the provider", status=503)

    local = _demo().model  # the on-device model as the last resort
    integration = _demo(retry=RetrySpec(max_retries=1, base_delay_s=0, max_delay_s=0),
                        fallbacks=(local,))
    gateway = build_gateway(integration, store, provider=ScriptedModel(down, model="claude-x"))
    pipeline = Pipeline(integration, store, provider=gateway)
    result = pipeline.process(EMAIL)
    assert result.state == SUCCEEDED
    assert len(calls) == 2  # the first call and one retry, then the fallback
    with store.read() as conn:
        assert conn.execute(select(events.c.model)).scalar() == "local-linear"
    call = next(r for r in story(store, result.event_id) if r["kind"] == "model_call")["payload"]
    assert [c["outcome"] for c in call["chain"]] == ["ProviderUnavailable", "ok"]
    assert call["model"] == "local-linear"


def test_a_rejected_request_neither_retries_nor_falls_back(store):
    calls = []

    def rejects(_req):
        calls.append(1)
        raise RequestRejected("400: bad request", status=400)

    integration = _demo(retry=RetrySpec(max_retries=3, base_delay_s=0), fallbacks=(_demo().model,))
    pipeline = Pipeline(integration, store,
                        provider=build_gateway(integration, store, provider=ScriptedModel(rejects)))
    result = pipeline.process(EMAIL)
    assert result.state == DEAD_LETTERED and "400" in result.reason
    assert len(calls) == 1


def test_the_response_cache_answers_a_repeated_call_without_the_model(store):
    calls = []

    def answer(_req):
        calls.append(1)
        return json.dumps({"intent": "billing", "urgency": "normal", "summary": "Charged twice.",
                           "confidence": 0.9, "evidence": []})

    integration = _demo(cache_ttl_s=60)
    pipeline = Pipeline(integration, store, provider=build_gateway(
        integration, store, provider=ScriptedModel(answer)))
    first = pipeline.process(EMAIL)
    second = pipeline.process({**EMAIL, "message_id": "gw-2"})
    assert first.state == second.state == SUCCEEDED
    assert len(calls) == 1 and second.cost_usd == 0


def test_a_route_without_policies_still_gets_retries_by_default():
    integration = _demo()
    assert integration.model.retry.max_retries == 3
    assert ModelRoute().fallbacks == ()


def test_a_declared_rate_limit_paces_calls_through_the_store(store):
    from seamline.integration import RateLimitSpec

    stamps = []

    def answer(_req):
        import time as _time

        stamps.append(_time.monotonic())
        return json.dumps({"intent": "billing", "urgency": "normal", "summary": "s",
                           "confidence": 0.9, "evidence": []})

    integration = _demo(rate_limit=RateLimitSpec(rpm=600, burst_s=0.1, shared_by="store"))
    pipeline = Pipeline(integration, store, provider=build_gateway(
        integration, store, provider=ScriptedModel(answer)))
    for i in range(6):
        pipeline.process({**EMAIL, "message_id": f"rl-{i}"})
    # 600 rpm is one call per 100 ms; a 0.1 s burst lets two through at once, so the
    # other four are paced: six calls span at least ~0.4 s (unpaced: a few ms).
    assert stamps[-1] - stamps[0] >= 0.35
