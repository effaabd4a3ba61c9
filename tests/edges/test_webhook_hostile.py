"""Correctly signed deliveries of hostile JSON: each a 400 with a sentence, the body kept as a
dead letter naming the problem, nothing queued, never a 500; then a normal delivery works."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.audit import verify
from seamline.edges import SourceSpec
from seamline.server import create_app
from seamline.store.tables import dead_letters, jobs

SECRET = "github-hook-secret-do-not-log"
ISSUE = {"action": "opened", "issue": {"number": 7, "body": "refund please"}}


def integration():
    return make_integration(sources=(
        SourceSpec(name="github", kind="github", secret_env="TEST_GITHUB_SECRET",
                   max_body_bytes=1_000_000,
                   map=lambda p: {"ticket_id": str(p["issue"]["number"]),
                                  "body": p["issue"]["body"],
                                  "score": float(p.get("extra_score", "0"))}),
    ))


@pytest.fixture
def client(store, monkeypatch):
    monkeypatch.setenv("TEST_GITHUB_SECRET", SECRET)
    app = create_app([integration()], store, providers={"refunds": verdict()}, api_keys={"k"})
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def deliver(client, body: bytes, delivery: str):
    """Signed over the exact bytes, as GitHub signs them (HMAC-SHA256 of the raw body)."""
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post("/v1/webhooks/github", content=body, headers={
        "X-Hub-Signature-256": sig, "X-GitHub-Delivery": delivery, "X-GitHub-Event": "issues"})


def count(store, table) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


HOSTILE = [
    ("nested 1,000 levels", b"[" * 1000 + b"]" * 1000, "nested deeper than 64 levels"),
    ("nested 100,000 levels", b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
     "nested deeper than 64 levels"),
    ("escaped lone surrogate", b'{"action": "opened", "issue": {"number": 1, "body": "\\ud800"}}',
     "lone surrogate"),
    ("invalid UTF-8", b'{"action": "opened", "issue": {"number": 2, "body": "caf\xe9"}}',
     "not valid UTF-8"),
    ("encoded surrogate", b'{"issue": {"number": 2, "body": "\xed\xa0\x80"}}', "surrogate"),
    ("NUL", b'{"action": "opened", "issue": {"number": 3, "body": "a\\u0000b"}}', "NUL"),
    ("1e999", b'{"action": "opened", "issue": {"number": 1e999, "body": "x"}}', "too large"),
    ("NaN", b'{"action": "opened", "issue": {"number": NaN, "body": "x"}}', "NaN"),
    ("5,000-digit integer", b'{"issue": {"number": ' + b"9" * 5000 + b', "body": "x"}}',
     "5000 digits"),
    ("duplicate keys", b'{"issue": {"number": 5, "body": "refund", "body": "other"}}',
     '"body" twice'),
]


@pytest.mark.parametrize("case, body, words", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_a_signed_hostile_delivery_is_a_400_sentence_and_a_dead_letter(client, store, case,
                                                                        body, words):
    r = deliver(client, body, f"d-{case}")
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert words in error and "Traceback" not in r.text and len(error) < 300
    with store.read() as conn:
        row = conn.execute(select(dead_letters).where(
            dead_letters.c.event_id == r.json()["event_id"])).one()
    assert words in row.reason and row.reason.startswith("webhook github: ")
    assert row.payload is not None and count(store, jobs) == 0
    assert verify(store).ok
    ok = deliver(client, json.dumps(ISSUE).encode(), "d-ok")
    assert ok.status_code == 202, ok.text
    assert count(store, jobs) == 1


def test_a_map_whose_output_breaks_the_rules_is_a_422_dead_letter_not_a_500(client, store):
    # The vendor's JSON is clean; the map makes what JSON cannot carry (float("nan") of a
    # text field). Refused like a schema failure, rather than enqueued to fail later.
    body = json.dumps({**ISSUE, "extra_score": "nan"}).encode()
    r = deliver(client, body, "d-nan")
    assert r.status_code == 422, r.text
    assert "nan" in r.json()["error"] and "$.score" in r.json()["error"]
    assert count(store, jobs) == 0 and count(store, dead_letters) == 1
    again = deliver(client, body, "d-nan")  # the vendor's retry: answered, not refused again
    assert again.status_code == 200 and count(store, dead_letters) == 1
