"""The HTTP service, specified by what a caller sees."""

from __future__ import annotations

import json
import time

import pytest
from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.errors import ConfigError, ProviderUnavailable
from seamline.inference import ScriptedModel
from seamline.runtime import TERMINAL
from seamline.server import create_app
from seamline.store.tables import dead_letters, events

KEY = "k-test-123"
AUTH = {"Authorization": f"Bearer {KEY}"}
URL = "/v1/integrations/refunds/invoke"
TICKET = {"ticket_id": "T-1", "body": "Please refund my order, email jane.doe@example.com"}


def client_for(store, provider=None, **kwargs) -> TestClient:
    kwargs.setdefault("api_keys", {KEY})
    app = create_app([make_integration()], store, providers={"refunds": provider or verdict()},
                     **kwargs)
    return TestClient(app, raise_server_exceptions=False)


def no_traceback(response) -> None:
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert "error" in response.json()


def wait_terminal(store, event_id: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.read() as conn:
            state = conn.execute(select(events.c.state).where(events.c.id == event_id)).scalar()
        if state in TERMINAL:
            return state
        time.sleep(0.05)
    raise AssertionError(f"{event_id} is still {state}")


def test_a_valid_event_is_answered_by_the_model(store):
    with client_for(store) as client:
        r = client.post(URL, json=TICKET, headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["source"] == "model" and body["state"] == "succeeded"
    assert body["output"]["label"] == "refund" and body["event_id"].startswith("evt_")


def test_a_slow_model_gets_the_baseline_answer_and_the_event_still_finishes(store):
    def slow(req):
        time.sleep(0.6)
        return {"label": "other", "confidence": 0.9}

    with client_for(store, ScriptedModel(slow), latency_budget_s=0.2) as client:
        t = time.monotonic()
        r = client.post(URL, json=TICKET, headers=AUTH)
        assert time.monotonic() - t < 0.55
        body = r.json()
        assert r.status_code == 200
        assert body["source"] == "baseline" and body["state"] == "processing"
        assert body["output"]["label"] == "refund"  # the keyword baseline's answer
        assert "0.2 s" in body["reason"] and "background" in body["reason"]
        assert wait_terminal(store, body["event_id"]) == "succeeded"
        shown = client.get(f"/v1/events/{body['event_id']}", headers=AUTH).json()
        assert shown["output"]["label"] == "other"


def test_the_per_integration_budget_overrides_the_server_default(store):
    def slow(req):
        time.sleep(0.4)
        return {"label": "other", "confidence": 0.9}

    with client_for(store, ScriptedModel(slow), latency_budget_s=5.0,
                    latency_budgets={"refunds": 0.1}) as client:
        body = client.post(URL, json=TICKET, headers=AUTH).json()
    assert body["source"] == "baseline"
    assert wait_terminal(store, body["event_id"]) == "succeeded"


def test_a_failing_model_is_answered_by_the_baseline_marked_as_such(store):
    def down(req):
        raise ProviderUnavailable("upstream choked on jane.doe@example.com")

    with client_for(store, ScriptedModel(down)) as client:
        r = client.post(URL, json=TICKET, headers=AUTH)
    body = r.json()
    assert r.status_code == 200
    assert body["source"] == "baseline" and body["state"] == "dead_lettered"
    assert body["output"]["label"] == "refund"
    assert "model call failed" in body["reason"]
    assert "jane.doe@example.com" not in r.text


def test_without_a_baseline_a_failure_is_a_502_sentence(store):
    def down(req):
        raise ProviderUnavailable("down")

    integration = make_integration(rollout=make_integration().rollout.model_copy(
        update={"baseline": None}))
    app = create_app([integration], store, api_keys={KEY},
                     providers={"refunds": ScriptedModel(down)})
    with TestClient(app) as client:
        r = client.post(URL, json=TICKET, headers=AUTH)
    assert r.status_code == 502
    assert "model call failed" in r.json()["error"] and r.json()["event_id"]
    no_traceback(r)


def test_invalid_input_is_a_422_sentence_and_is_dead_lettered(store):
    with client_for(store) as client:
        r = client.post(URL, json={"ticket_id": "T-9", "body": "",
                                   "customer": "jane.doe@example.com"}, headers=AUTH)
    assert r.status_code == 422
    assert "body" in r.json()["error"] and "input schema" in r.json()["error"]
    assert "jane.doe@example.com" not in r.text
    no_traceback(r)
    with store.read() as conn:
        assert conn.execute(select(dead_letters.c.event_id)).scalar() == r.json()["event_id"]


def test_a_duplicate_gets_the_original_answer(store):
    with client_for(store) as client:
        first = client.post(URL, json=TICKET, headers=AUTH).json()
        again = client.post(URL, json=TICKET, headers=AUTH)
    body = again.json()
    assert again.status_code == 200
    assert body["state"] == "duplicate" and body["duplicate_of"] == first["event_id"]
    assert body["output"] == first["output"] and body["source"] == "model"


def test_auth_is_required(store):
    with client_for(store) as client:
        missing = client.post(URL, json=TICKET)
        wrong = client.post(URL, json=TICKET, headers={"X-API-Key": "nope"})
        ok = client.post(URL, json=TICKET, headers={"X-API-Key": KEY})
        event = client.get("/v1/events/evt_x")
    assert missing.status_code == wrong.status_code == event.status_code == 401
    assert "API key" in missing.json()["error"]
    assert ok.status_code == 200


def test_keys_come_from_the_environment_and_none_means_refusing_to_start(store, monkeypatch):
    monkeypatch.delenv("SEAMLINE_API_KEYS", raising=False)
    with pytest.raises(ConfigError, match="SEAMLINE_API_KEYS"):
        create_app([make_integration()], store, providers={"refunds": verdict()})
    monkeypatch.setenv("SEAMLINE_API_KEYS", "a, b")
    app = create_app([make_integration()], store, providers={"refunds": verdict()})
    with TestClient(app) as client:
        assert client.post(URL, json=TICKET, headers={"X-API-Key": "b"}).status_code == 200
    monkeypatch.delenv("SEAMLINE_API_KEYS")
    anon = create_app([make_integration()], store, providers={"refunds": verdict()},
                      allow_anonymous=True)
    with TestClient(anon) as client:
        assert client.post(URL, json={**TICKET, "ticket_id": "T-2"}).status_code == 200


def test_an_oversize_body_is_a_413_with_or_without_content_length(store):
    with client_for(store, max_body_bytes=1024) as client:
        big = json.dumps({**TICKET, "body": "x" * 5000}).encode()
        declared = client.post(URL, content=big, headers={**AUTH, "Content-Type": "application/json"})

        def chunks():
            for i in range(0, len(big), 512):
                yield big[i:i + 512]

        streamed = client.post(URL, content=chunks(), headers={**AUTH,
                                                              "Content-Type": "application/json"})
    for r in (declared, streamed):
        assert r.status_code == 413 and "1024 bytes" in r.json()["error"]
        no_traceback(r)
    assert "content-length" not in {k.lower() for k in streamed.request.headers}


def test_non_json_is_a_400_and_unknown_integrations_a_404(store):
    with client_for(store) as client:
        bad = client.post(URL, content=b"{not json", headers=AUTH)
        unknown = client.post("/v1/integrations/nope/invoke", json=TICKET, headers=AUTH)
        no_route = client.get("/v2/whatever", headers=AUTH)
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
    assert unknown.status_code == 404 and "refunds" in unknown.json()["error"]
    assert no_route.status_code == 404
    for r in (bad, unknown, no_route):
        no_traceback(r)


def test_an_event_shows_its_state_and_story(store):
    with client_for(store) as client:
        answer = client.post(URL, json=TICKET, headers=AUTH).json()
        r = client.get(f"/v1/events/{answer['event_id']}", headers=AUTH)
        missing = client.get("/v1/events/evt_missing", headers=AUTH)
    shown = r.json()
    assert r.status_code == 200
    assert shown["state"] == "succeeded" and shown["path"] == "ai"
    assert shown["output"] == answer["output"]
    assert {"ingest", "prompt", "model_call", "output", "state"} <= set(shown["story"])
    assert shown["created_at"] <= shown["updated_at"]
    assert "jane.doe@example.com" not in r.text
    assert missing.status_code == 404 and "evt_missing" in missing.json()["error"]


def test_health_needs_no_key(store):
    with client_for(store) as client:
        r = client.get("/healthz")
    assert r.json() == {"ok": True, "integrations": ["refunds"]}


def test_an_unexpected_failure_is_a_500_without_a_traceback(store, monkeypatch):
    with client_for(store) as client:
        invoker = client.app.state.invokers["refunds"]

        def boom(*args):
            raise RuntimeError("secret internals")

        monkeypatch.setattr(invoker.pipeline, "answer", boom)
        r = client.post(URL, json=TICKET, headers=AUTH)
    assert r.status_code == 500
    assert r.json()["error"] == "internal error" and r.json()["event_id"]
    assert "secret internals" not in r.text
    no_traceback(r)


def test_openapi_documents_each_integrations_input(store):
    with client_for(store) as client:
        doc = client.get("/openapi.json").json()
    op = doc["paths"][URL]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert "ticket_id" in schema["properties"] and "body" in schema["required"]
    assert "/v1/events/{event_id}" in doc["paths"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(doc["components"]["securitySchemes"])


def test_an_over_budget_event_gets_the_baseline_answer(store):
    from seamline.integration import Budgets, ModelRoute

    route = ModelRoute(provider="scripted", input_usd_per_mtok=1000.0, output_usd_per_mtok=1000.0,
                       max_output_tokens=100, budgets=Budgets(per_call_usd=0.01))
    model = verdict("other")
    app = create_app([make_integration(model=route)], store, api_keys={KEY},
                     providers={"refunds": model})
    with TestClient(app) as client:
        r = client.post(URL, json=TICKET, headers=AUTH)
    body = r.json()
    assert r.status_code == 200 and len(model.requests) == 0
    assert body["source"] == "baseline" and body["state"] == "over_budget"
    assert body["output"]["label"] == "refund" and "per-call" in body["reason"]


def test_with_the_flag_off_the_baseline_answers_as_itself(store):
    from seamline.rollout import Flags

    Flags(store).set("refunds.ai", "off", reason="incident 42")
    with client_for(store) as client:
        body = client.post(URL, json=TICKET, headers=AUTH).json()
    # The keyword baseline's refund names no amount (0.0), so the refund waits for a person.
    assert body["source"] == "baseline" and body["state"] == "awaiting_approval"


def test_json_that_is_not_an_object_is_a_422(store):
    with client_for(store) as client:
        r = client.post(URL, json=[1, 2], headers=AUTH)
    assert r.status_code == 422 and "JSON object" in r.json()["error"]


def test_nonsense_settings_refuse_to_start(store):
    with pytest.raises(ConfigError, match="latency budget"):
        create_app([make_integration()], store, api_keys={KEY}, latency_budget_s=0)
    with pytest.raises(ConfigError, match="unknown integrations"):
        create_app([make_integration()], store, api_keys={KEY}, latency_budgets={"nope": 1.0})


class _Killed(BaseException):
    """Stands for the previous server process dying mid-event."""


def test_events_a_dead_server_left_mid_way_are_finished_at_start_up(store):
    from seamline.runtime import Pipeline

    def dies(_req):
        raise _Killed()

    with pytest.raises(_Killed):
        Pipeline(make_integration(), store, provider=ScriptedModel(dies)).process(TICKET)
    with store.read() as conn:
        (event_id,) = conn.execute(select(events.c.id)).scalars().all()
    with client_for(store, stranded_after_s=0):
        pass  # start-up resumes it; shutdown waits for it
    assert wait_terminal(store, event_id) == "succeeded"
