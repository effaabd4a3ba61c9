"""POST /v1/integrations/{name}/events: validated, stored durably, answered 202, run by workers."""

from __future__ import annotations

import time

from conftest import DOWNSTREAM, make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.queue import Worker
from seamline.runtime import Pipeline
from seamline.server import create_app
from seamline.store.tables import dead_letters, events, jobs

KEY = "k-test-123"
AUTH = {"Authorization": f"Bearer {KEY}"}
URL = "/v1/integrations/refunds/events"
TICKET = {"ticket_id": "E-1", "body": "Please refund, card 4111 1111 1111 1111"}


def client_for(store, **kwargs) -> TestClient:
    app = create_app([make_integration()], store, providers={"refunds": verdict()},
                     api_keys={KEY}, **kwargs)
    return TestClient(app, raise_server_exceptions=False)


def test_an_event_is_accepted_with_202_and_shows_as_queued_until_a_worker_runs_it(store):
    with client_for(store) as client:
        r = client.post(URL, json=TICKET, headers=AUTH)
        assert r.status_code == 202
        body = r.json()
        event_id = body["event_id"]
        assert body["state"] == "queued" and body["status_url"] == f"/v1/events/{event_id}"
        shown = client.get(body["status_url"], headers=AUTH)
        assert shown.status_code == 200 and shown.json()["state"] == "queued"
        with store.read() as conn:
            payload = conn.execute(select(jobs.c.payload)).scalar()
        assert "4111" not in payload  # sealed at rest
        integration = make_integration()
        Worker(store, [integration], pipelines={"refunds": Pipeline(integration, store,
                                                                    provider=verdict())}
               ).run(exit_when_idle=True)
        done = client.get(body["status_url"], headers=AUTH).json()
    assert done["state"] == "succeeded" and done["output"]["label"] == "refund"
    assert done["attempts"] == 1 and len(DOWNSTREAM) == 1


def test_background_workers_in_the_server_drain_the_queue(store):
    with client_for(store, background_workers=2) as client:
        ids = [client.post(URL, json={**TICKET, "ticket_id": f"B{i}"}, headers=AUTH).json()["event_id"]
               for i in range(5)]
        deadline = time.monotonic() + 10
        states: set[str] = set()
        while time.monotonic() < deadline:
            states = {client.get(f"/v1/events/{i}", headers=AUTH).json()["state"] for i in ids}
            if states == {"succeeded"}:
                break
            time.sleep(0.05)
    assert states == {"succeeded"} and len(DOWNSTREAM) == 5


def test_an_invalid_event_is_refused_with_422_and_dead_lettered_not_queued(store):
    with client_for(store) as client:
        r = client.post(URL, json={"ticket_id": "", "body": "refund 4111 1111 1111 1111"},
                        headers=AUTH)
        assert r.status_code == 422
        body = r.json()
        assert "ticket_id" in body["error"] and body["event_id"].startswith("evt_")
        assert "Traceback" not in r.text
        bad = client.post(URL, content=b"{not json", headers=AUTH)
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
    with store.read() as conn:
        assert conn.execute(select(jobs)).first() is None
        assert len(conn.execute(select(dead_letters)).all()) == 2
        stored = conn.execute(select(events.c.input).where(events.c.id == body["event_id"])).scalar()
    assert "4111" not in stored


def test_events_need_an_api_key_and_an_existing_integration_and_a_small_body(store):
    with client_for(store, max_body_bytes=1000) as client:
        assert client.post(URL, json=TICKET).status_code == 401
        unknown = client.post("/v1/integrations/nope/events", json=TICKET, headers=AUTH)
        assert unknown.status_code == 404 and "refunds" in unknown.json()["error"]
        big = client.post(URL, json={**TICKET, "body": "x" * 5000}, headers=AUTH)
        assert big.status_code == 413
        assert client.get("/v1/events/evt_nope", headers=AUTH).status_code == 404
    with store.read() as conn:
        assert conn.execute(select(jobs)).first() is None


def test_the_openapi_spec_documents_the_events_route(store):
    with client_for(store) as client:
        spec = client.get("/openapi.json").json()
    op = spec["paths"]["/v1/integrations/refunds/events"]["post"]
    assert "202" in op["responses"] and "422" in op["responses"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["properties"]["ticket_id"]
