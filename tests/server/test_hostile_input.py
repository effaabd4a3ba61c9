"""What an attacker sends the HTTP service: each a 400 with a sentence and a dead letter
that names the problem, never a 500; and the service answers normally afterwards."""

from __future__ import annotations

import json

import pytest
from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.audit import verify
from seamline.server import create_app
from seamline.store.tables import dead_letters, events, jobs

KEY = "k-hostile"
AUTH = {"Authorization": f"Bearer {KEY}"}
INVOKE = "/v1/integrations/refunds/invoke"
ENQUEUE = "/v1/integrations/refunds/events"
GOOD = {"ticket_id": "T-ok", "body": "Please refund my order"}

HOSTILE = [
    ("nested 1,000 levels", b"[" * 1000 + b"]" * 1000, "nested deeper than 64 levels"),
    ("nested 100,000 levels", b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
     "nested deeper than 64 levels"),
    ("unclosed 100,000 levels", b"[" * 100_000, "nested deeper than 64 levels"),
    ("escaped lone surrogate", b'{"ticket_id": "T-1", "body": "\\ud800"}', "lone surrogate"),
    ("surrogate in a key", b'{"ticket_id": "T-1", "body": "x", "\\udfff": 1}', "lone surrogate"),
    ("encoded surrogate", b'{"ticket_id": "T-1", "body": "\xed\xa0\x80"}', "not valid UTF-8"),
    ("invalid UTF-8", b'{"ticket_id": "T-2", "body": "caf\xe9"}', "not valid UTF-8"),
    ("UTF-16", json.dumps(GOOD).encode("utf-16"), "must be UTF-8"),
    ("escaped NUL", b'{"ticket_id": "T-3", "body": "a\\u0000b"}', "NUL character"),
    ("raw NUL", b'{"ticket_id": "T-3", "body": "a\x00b"}', "NUL character"),
    ("float overflow", b'{"ticket_id": "T-4", "body": "x", "amount": 1e999}', "too large"),
    ("NaN", b'{"ticket_id": "T-4", "body": "x", "amount": NaN}', "NaN"),
    ("-Infinity", b'{"ticket_id": "T-4", "body": "x", "amount": -Infinity}', "-Infinity"),
    ("5,000-digit integer", b'{"ticket_id": "T-5", "body": "x", "n": ' + b"9" * 5000 + b"}",
     "5000 digits"),
    ("duplicate keys", b'{"ticket_id": "T-6", "body": "refund please", "body": "ignore"}',
     '"body" twice'),
]


@pytest.fixture
def client(store):
    app = create_app([make_integration()], store, providers={"refunds": verdict()},
                     api_keys={KEY}, max_body_bytes=2_000_000)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def dead_letter(store, event_id: str):
    with store.read() as conn:
        return conn.execute(select(dead_letters).where(dead_letters.c.event_id == event_id)).one()


@pytest.mark.parametrize("url", [INVOKE, ENQUEUE])
@pytest.mark.parametrize("case, body, words", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_json_is_a_400_sentence_and_a_dead_letter_naming_the_problem(
        client, store, url, case, body, words):
    r = client.post(url, content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert words in error and "Traceback" not in r.text
    assert len(error) < 300  # a sentence, not an echo of the body
    row = dead_letter(store, r.json()["event_id"])
    assert words in row.reason and row.stage == "ingest"
    with store.read() as conn:
        stored = conn.execute(select(events.c.state, events.c.input).where(
            events.c.id == row.event_id)).one()
        assert conn.execute(select(jobs.c.id)).all() == []  # nothing queued
    assert stored.state == "dead_lettered" and stored.input is not None
    assert len(stored.input) <= 1_100_000  # kept, escaped, capped
    assert verify(store).ok
    # ...and the service still answers a normal request.
    ok = client.post(url, json=GOOD, headers=AUTH)
    assert ok.status_code in (200, 202), ok.text


def test_every_hostile_body_leaves_exactly_one_dead_letter(client, store):
    for _, body, _ in HOSTILE:
        assert client.post(INVOKE, content=body, headers=AUTH).status_code == 400
    with store.read() as conn:
        reasons = conn.execute(select(dead_letters.c.reason)).scalars().all()
    assert len(reasons) == len(HOSTILE)
    assert client.post(INVOKE, json=GOOD, headers=AUTH).json()["state"] == "succeeded"
    assert verify(store).ok


def test_the_surrogate_in_a_dead_letter_is_kept_escaped_not_lost(client, store):
    r = client.post(INVOKE, content=b'{"ticket_id": "T-9", "body": "x\\ud800y"}', headers=AUTH)
    stored = dead_letter(store, r.json()["event_id"]).payload
    assert "ud800" in stored and "T-9" in stored
    raw = client.post(INVOKE, content=b'{"ticket_id": "T-10", "body": "caf\xe9"}', headers=AUTH)
    assert "\\\\xe9" in dead_letter(store, raw.json()["event_id"]).payload
