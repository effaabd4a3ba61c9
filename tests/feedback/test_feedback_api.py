"""POST /v1/feedback: a reviewer (or a service key) records ground truth; refusals change nothing."""

from __future__ import annotations

import json

import pytest

from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.access import Role
from seamline.audit import story, verify
from seamline.runtime import Pipeline
from seamline.server import create_app
from seamline.store.tables import audit_log, ground_truth

ADMIN, REVIEWER, VIEWER = "k-admin-123", "k-review-123", "k-view-123"
KEYS = {ADMIN: Role.ADMIN, REVIEWER: Role.REVIEWER, VIEWER: Role.VIEWER}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def one_event(store) -> str:
    return Pipeline(make_integration(actions=()), store, provider=verdict("refund")).process(
        {"ticket_id": "F-1", "body": "please refund"}).event_id


def client_for(store) -> TestClient:
    app = create_app([make_integration(actions=())], store, providers={"refunds": verdict()},
                     api_keys=KEYS)
    return TestClient(app, raise_server_exceptions=False)


def truths(store) -> list:
    with store.read() as conn:
        return conn.execute(select(ground_truth)).all()


def feedback_entries(store) -> int:
    with store.read() as conn:
        return len(conn.execute(select(audit_log).where(audit_log.c.kind == "feedback")).all())


def test_a_reviewer_records_truth_and_gets_back_what_was_recorded(store):
    event_id = one_event(store)
    with client_for(store) as client:
        r = client.post("/v1/feedback", json={"event_id": event_id, "truth": {"label": "other"}},
                        headers=auth(REVIEWER))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["event_id"] == event_id and body["integration"] == "refunds"
    assert body["truth"] == {"label": "other"} and body["source"] == "api"
    assert body["actor"] and REVIEWER not in body["actor"]  # the key's label, never the key
    [row] = truths(store)
    assert json.loads(row.truth) == {"label": "other"} and row.source == "api"
    entry = next(e for e in story(store, event_id) if e["kind"] == "feedback")
    assert entry["payload"]["truth"] == {"label": "other"}
    assert entry["payload"]["actor"] == body["actor"]
    assert verify(store).ok


def test_the_latest_word_wins_and_the_previous_one_is_in_the_audit_trail(store):
    event_id = one_event(store)
    with client_for(store) as client:
        for label in ("other", "refund"):
            assert client.post("/v1/feedback", json={"event_id": event_id,
                                                     "truth": {"label": label}},
                               headers=auth(ADMIN)).status_code == 200
    [row] = truths(store)
    assert json.loads(row.truth) == {"label": "refund"}
    last = [e for e in story(store, event_id) if e["kind"] == "feedback"][-1]
    assert last["payload"]["previous"] == {"label": "other"}


def test_refusals_viewer_403_unknown_event_404_bad_field_422_and_nothing_changes(store):
    event_id = one_event(store)
    with client_for(store) as client:
        viewer = client.post("/v1/feedback", json={"event_id": event_id,
                                                   "truth": {"label": "other"}},
                             headers=auth(VIEWER))
        nobody = client.post("/v1/feedback", json={"event_id": event_id,
                                                   "truth": {"label": "other"}})
        unknown = client.post("/v1/feedback", json={"event_id": "evt_nope",
                                                    "truth": {"label": "other"}},
                              headers=auth(REVIEWER))
        bad_field = client.post("/v1/feedback", json={"event_id": event_id,
                                                      "truth": {"colour": "red"}},
                                headers=auth(REVIEWER))
        bad_value = client.post("/v1/feedback", json={"event_id": event_id,
                                                      "truth": {"label": "maybe"}},
                                headers=auth(REVIEWER))
        empty = client.post("/v1/feedback", json={"event_id": event_id, "truth": {}},
                            headers=auth(REVIEWER))
        shapeless = client.post("/v1/feedback", json={"truth": {"label": "other"}},
                                headers=auth(REVIEWER))
    assert viewer.status_code == 403 and "reviewer" in viewer.json()["error"]
    assert nobody.status_code == 401
    assert unknown.status_code == 404 and "evt_nope" in unknown.json()["error"]
    assert bad_field.status_code == 422 and "'colour' is not a field" in bad_field.json()["error"]
    assert "label" in bad_field.json()["error"]  # says which fields there are
    assert bad_value.status_code == 422 and "label" in bad_value.json()["error"]
    assert empty.status_code == 422 and shapeless.status_code == 422
    for r in (viewer, unknown, bad_field, bad_value, empty, shapeless):
        assert "Traceback" not in r.text
    assert truths(store) == [] and feedback_entries(store) == 0


def test_partial_truth_of_several_fields_is_validated_against_each_field(store):
    event_id = one_event(store)
    with client_for(store) as client:
        out_of_range = client.post("/v1/feedback", json={
            "event_id": event_id, "truth": {"label": "refund", "confidence": 7}},
            headers=auth(REVIEWER))
        ok = client.post("/v1/feedback", json={
            "event_id": event_id, "truth": {"label": "refund", "amount": "12.5"}},
            headers=auth(REVIEWER))
    assert out_of_range.status_code == 422 and "confidence" in out_of_range.json()["error"]
    assert ok.status_code == 200 and ok.json()["truth"] == {"label": "refund", "amount": 12.5}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_nul_or_a_lone_surrogate_is_a_422_on_every_store(request, kind):
    # PostgreSQL refuses a NUL in text; the route must say so as a 422, not answer 500.
    store = request.getfixturevalue("store" if kind == "sqlite" else "pg_store")
    event_id = one_event(store)
    headers = {**auth(REVIEWER), "Content-Type": "application/json"}
    with client_for(store) as client:
        for body in ({"event_id": "evt\x00x", "truth": {"label": "refund"}},
                     {"event_id": event_id, "truth": {"label": "re\x00fund"}},
                     {"event_id": event_id, "truth": {"label\x00": "refund"}}):
            got = client.post("/v1/feedback", content=json.dumps(body), headers=headers)
            assert got.status_code == 422, (body, got.status_code, got.text)
            assert "NUL" in got.json()["error"]
        lone = '{"event_id": "%s", "truth": {"label": "\\ud800"}}' % event_id
        got = client.post("/v1/feedback", content=lone, headers=headers)
        assert got.status_code == 422 and "surrogate" in got.json()["error"], got.text
    assert truths(store) == []
