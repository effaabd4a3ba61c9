"""Who submitted an event is in its audit story: the API key's label, the user, the webhook."""

from __future__ import annotations

import json

from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.access import key_label
from seamline.audit import story, verify
from seamline.queue import Worker
from seamline.runtime import Pipeline
from seamline.server import create_app
from seamline.store.tables import audit_log, jobs

KEY = "k-secret-attrib-42"
AUTH = {"Authorization": f"Bearer {KEY}"}
TICKET = {"ticket_id": "A-1", "body": "Please refund my order"}


def _client(store) -> TestClient:
    app = create_app([make_integration()], store, providers={"refunds": verdict()},
                     api_keys={KEY})
    return TestClient(app, raise_server_exceptions=False)


def _entry(store, event_id: str, kind: str) -> dict:
    [payload] = [e["payload"] for e in story(store, event_id) if e["kind"] == kind]
    return payload


def _no_secret_anywhere(store) -> None:
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.payload)).scalars().all()
    assert rows and all(KEY not in json.dumps(r) for r in rows)


def test_an_invocation_names_the_api_key_by_its_label_never_the_key(store):
    with _client(store) as client:
        r = client.post("/v1/integrations/refunds/invoke", json=TICKET, headers=AUTH)
    assert r.status_code == 200, r.text
    ingest = _entry(store, r.json()["event_id"], "ingest")
    assert ingest["submitted_by"] == f"api_key:{key_label(KEY)}"
    _no_secret_anywhere(store)
    assert verify(store).ok


def test_a_queued_event_carries_its_submitter_through_the_worker(store):
    with _client(store) as client:
        r = client.post("/v1/integrations/refunds/events", json={**TICKET, "ticket_id": "A-2"},
                        headers=AUTH)
    assert r.status_code == 202
    with store.read() as conn:
        assert conn.execute(select(jobs.c.submitted_by)).scalar() == f"api_key:{key_label(KEY)}"
    integration = make_integration()
    Worker(store, [integration], pipelines={"refunds": Pipeline(integration, store,
                                                                provider=verdict())}
           ).run(exit_when_idle=True)
    assert _entry(store, r.json()["event_id"], "ingest")["submitted_by"] == \
        f"api_key:{key_label(KEY)}"


def test_a_refused_body_is_dead_lettered_with_its_submitter(store):
    with _client(store) as client:
        bad = client.post("/v1/integrations/refunds/invoke", content=b"{not json",
                          headers={**AUTH, "Content-Type": "application/json"})
        invalid = client.post("/v1/integrations/refunds/events", json={"ticket_id": ""},
                              headers=AUTH)
    assert bad.status_code == 400 and invalid.status_code == 422
    for r in (bad, invalid):
        dead = _entry(store, r.json()["event_id"], "dead_letter")
        assert dead["submitted_by"] == f"api_key:{key_label(KEY)}"
    _no_secret_anywhere(store)


def test_events_run_from_python_name_nobody(store):
    result = Pipeline(make_integration(), store, provider=verdict()).process(
        {**TICKET, "ticket_id": "A-9"})
    assert "submitted_by" not in _entry(store, result.event_id, "ingest")
