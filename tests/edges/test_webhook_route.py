"""POST /v1/webhooks/{source}: verified, deduped by the vendor's id, queued once, refused clearly.

Deliveries are signed with the vendors' own libraries (stripe, slack_sdk, svix).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import UTC, datetime

import pytest
import stripe
import svix
from conftest import DOWNSTREAM, make_integration, verdict
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from seamline.audit import story
from seamline.contracts import FieldPolicy, contract_list, drift_report
from seamline.edges import SourceSpec
from seamline.errors import ConfigError
from seamline.queue import Worker
from seamline.runtime import Pipeline
from seamline.server import create_app
from seamline.store.tables import dead_letters, jobs, webhook_receipts

STRIPE_SECRET = "whsec_route_test_secret_do_not_log"
SLACK_SECRET = "slack-signing-secret-do-not-log"
SVIX_SECRET = "whsec_" + base64.b64encode(b"svix route secret, 24 bytes").decode()
KEY = "k-test"


def dispute_to_ticket(event: dict) -> dict | None:
    """Stripe sends every event type to one URL; this integration wants disputes only."""
    if event.get("type") != "charge.dispute.created":
        return None
    obj = event["data"]["object"]
    return {"ticket_id": event["id"], "customer": obj.get("customer", "c1"),
            "body": obj.get("reason", "")}


def slack_to_ticket(envelope: dict) -> dict:
    return {"ticket_id": envelope["event_id"], "body": envelope["event"]["text"]}


def integration():
    return make_integration(sources=(
        SourceSpec(name="stripe", kind="stripe", secret_env="TEST_STRIPE_SECRET",
                   api_version="2024-06-20", map=dispute_to_ticket, max_body_bytes=4096,
                   contract=FieldPolicy(required=("id", "type"), ignored=("data.object.metadata",))),
        SourceSpec(name="slack", kind="slack", secret_env="TEST_SLACK_SECRET", map=slack_to_ticket),
        SourceSpec(name="clerk", kind="standard", secret_env="TEST_SVIX_SECRET",
                   map=lambda p: {"ticket_id": p["data"]["id"], "body": p["data"]["text"]}),
        SourceSpec(name="github", kind="github", secret_env="TEST_STRIPE_SECRET",
                   map=lambda p: {"ticket_id": str(p["issue"]["number"]),
                                  "body": p["issue"]["body"]}),
    ))


@pytest.fixture
def client(store, monkeypatch):
    monkeypatch.setenv("TEST_STRIPE_SECRET", STRIPE_SECRET)
    monkeypatch.setenv("TEST_SLACK_SECRET", SLACK_SECRET)
    monkeypatch.setenv("TEST_SVIX_SECRET", SVIX_SECRET)
    app = create_app([integration()], store, providers={"refunds": verdict()}, api_keys={KEY})
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def dispute(event_id: str = "evt_1", reason: str = "I want a refund", **extra) -> dict:
    return {"id": event_id, "type": "charge.dispute.created", "api_version": "2024-06-20",
            "data": {"object": {"reason": reason, "customer": "cus_9", "amount": 1200, **extra}}}


def stripe_post(client, event: dict | bytes, *, secret: str = STRIPE_SECRET, at: float | None = None,
                headers: dict | None = None):
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    signed = stripe.WebhookSignature.generate_signature_header(
        body.decode("utf-8", "replace"), secret, int(at or time.time()))
    return client.post("/v1/webhooks/stripe", content=body,
                       headers=headers if headers is not None else {"Stripe-Signature": signed})


def count(store, table) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_signed_delivery_is_queued_once_with_its_receipt_and_its_contract(client, store):
    r = stripe_post(client, dispute())
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["event_id"].startswith("evt_") and body["delivery_id"] == "evt_1"
    assert body["status_url"] == f"/v1/events/{body['event_id']}"
    with store.read() as conn:
        job = conn.execute(select(jobs)).one()
        receipt = conn.execute(select(webhook_receipts)).one()
    assert job.event_id == body["event_id"] and job.integration == "refunds"
    assert job.submitted_by == "webhook:stripe"  # the ingest audit entry will say so
    assert (receipt.source, receipt.delivery_id, receipt.event_id) == ("stripe", "evt_1",
                                                                      body["event_id"])
    assert [(c.direction, c.name, c.version) for c in contract_list(store)] == [
        ("inbound", "stripe", "2024-06-20")]


def test_a_vendor_retry_is_answered_duplicate_and_a_replayed_request_is_refused(client, store):
    at = time.time() - 10
    first = stripe_post(client, dispute(), at=at)
    retry = stripe_post(client, dispute())  # Stripe signs each attempt anew
    assert retry.status_code == 200
    assert retry.json() == {"duplicate": True, "event_id": first.json()["event_id"],
                            "delivery_id": "evt_1"}
    replay = stripe_post(client, dispute(), at=at)  # the very same signed request again
    assert replay.status_code == 409 and "replay" in replay.json()["error"]
    assert count(store, jobs) == 1 and count(store, webhook_receipts) == 1


@pytest.mark.parametrize("case, status, words", [
    ("wrong secret", 401, "does not match"),
    ("tampered", 401, "does not match"),
    ("stale", 400, "outside the tolerance"),
    ("no signature", 401, "Stripe-Signature header is missing"),
    ("oversize", 413, "larger than the limit of 4096 bytes"),
    ("not json", 400, "not valid JSON"),
    ("schema", 422, "ticket_id"),
])
def test_bad_deliveries_get_a_clear_4xx_a_log_line_and_nothing_queued(
        client, store, caplog, case, status, words):
    caplog.set_level(logging.INFO, logger="seamline")
    good = json.dumps(dispute()).encode()
    if case == "wrong secret":
        r = stripe_post(client, good, secret="whsec_wrong")
    elif case == "tampered":
        signed = stripe.WebhookSignature.generate_signature_header(good.decode(), STRIPE_SECRET)
        r = client.post("/v1/webhooks/stripe", content=good.replace(b"1200", b"9900"),
                        headers={"Stripe-Signature": signed})
    elif case == "stale":
        r = stripe_post(client, good, at=time.time() - 3600)
    elif case == "no signature":
        r = stripe_post(client, good, headers={})
    elif case == "oversize":
        r = stripe_post(client, dispute(reason="x" * 5000))
    elif case == "not json":
        r = stripe_post(client, b'{"id": "evt_1", ')
    else:
        r = stripe_post(client, dispute(event_id=""))
    assert r.status_code == status, r.text
    assert words in r.json()["error"] and "Traceback" not in r.text
    assert count(store, jobs) == 0
    refusals = [rec.getMessage() for rec in caplog.records if "refused" in rec.getMessage()]
    assert refusals and f"({status})" in refusals[0] and "webhook stripe" in refusals[0]
    assert STRIPE_SECRET not in caplog.text and "I want a refund" not in caplog.text


def test_a_payload_that_does_not_fit_is_dead_lettered_and_its_retries_are_not(client, store):
    r = stripe_post(client, dispute(event_id=""))
    assert r.status_code == 422 and r.json()["event_id"].startswith("evt_")
    again = stripe_post(client, dispute(event_id=""), at=time.time() - 5)  # a retry, re-signed
    assert again.status_code == 200 and again.json()["event_id"] == r.json()["event_id"]
    assert count(store, dead_letters) == 1 and count(store, jobs) == 0


def test_unknown_sources_get_404_and_other_event_types_are_acknowledged_and_ignored(client, store):
    r = client.post("/v1/webhooks/paypal", content=b"{}")
    # The 404 names nothing: it must not list (or confirm) the configured sources.
    assert r.status_code == 404 and r.json() == {"error": "no such webhook source"}
    other = stripe_post(client, {**dispute(event_id="evt_2"), "type": "charge.succeeded"})
    assert other.status_code == 200 and other.json() == {"ignored": True, "delivery_id": "evt_2"}
    assert count(store, jobs) == 0


def test_a_changed_payload_is_reported_as_drift(client, store):
    assert stripe_post(client, dispute("evt_a")).status_code == 202
    assert stripe_post(client, dispute("evt_b", metadata={"x": 1})).status_code == 202  # ignored
    assert drift_report(store, contract="stripe") == []
    changed = dispute("evt_c")
    changed["data"]["object"]["amount"] = "12.00"  # a number became a string
    changed["data"]["object"]["dispute_kind"] = "fraud"  # and a field appeared
    assert stripe_post(client, changed).status_code == 202
    drifts = {(d.path, d.change) for d in drift_report(store, contract="stripe")}
    assert drifts == {("data.object.amount", "type_changed"),
                      ("data.object.dispute_kind", "added")}


def test_webhook_to_worker_to_a_succeeded_event(client, store):
    r = stripe_post(client, dispute(reason="please refund my order"))
    event_id = r.json()["event_id"]
    spec = integration()
    Worker(store, [spec], pipelines={"refunds": Pipeline(spec, store, provider=verdict())}
           ).run(exit_when_idle=True)
    shown = client.get(f"/v1/events/{event_id}", headers={"X-API-Key": KEY}).json()
    assert shown["state"] == "succeeded" and shown["output"]["label"] == "refund"
    assert len(DOWNSTREAM) == 1
    [ingest] = [e["payload"] for e in story(store, event_id) if e["kind"] == "ingest"]
    assert ingest["submitted_by"] == "webhook:stripe"


def test_slack_signed_events_and_the_url_handshake(client, store):
    def post(payload: dict, at: float | None = None):
        body = json.dumps(payload).encode()
        stamp = str(int(at or time.time()))
        sig = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=stamp, body=body)
        return client.post("/v1/webhooks/slack", content=body, headers={
            "X-Slack-Signature": sig, "X-Slack-Request-Timestamp": stamp})

    hello = post({"type": "url_verification", "challenge": "c-123"})
    assert hello.status_code == 200 and hello.json() == {"challenge": "c-123"}
    event = {"type": "event_callback", "event_id": "Ev1", "event": {"text": "refund please"}}
    assert post(event).status_code == 202
    # Slack's retry of the same event, signed anew; the same request again is a replay.
    assert post(event, at=time.time() - 2).json()["duplicate"] is True
    assert post(event, at=time.time() - 301).status_code == 400
    assert count(store, jobs) == 1


def test_standard_webhooks_via_svix_signing(client, store):
    body = json.dumps({"type": "ticket.created", "data": {"id": "T-9", "text": "hi"}})
    when = datetime.now(tz=UTC)
    headers = {"svix-id": "msg_abc", "svix-timestamp": str(int(when.timestamp())),
               "svix-signature": svix.Webhook(SVIX_SECRET).sign("msg_abc", when, body)}
    r = client.post("/v1/webhooks/clerk", content=body.encode(), headers=headers)
    assert r.status_code == 202 and r.json()["delivery_id"] == "msg_abc"
    assert client.post("/v1/webhooks/clerk", content=body.encode(),
                       headers=headers).status_code == 409
    assert count(store, jobs) == 1


def test_a_missing_secret_stops_the_server_at_start(store, monkeypatch):
    monkeypatch.delenv("TEST_STRIPE_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"\$TEST_STRIPE_SECRET, which is not set"):
        create_app([integration()], store, providers={"refunds": verdict()}, api_keys={KEY})


def test_on_postgresql_a_delivery_is_queued_once_and_its_retry_is_a_duplicate(pg_url, monkeypatch):
    from cryptography.fernet import Fernet

    from seamline.store import open_store

    monkeypatch.setenv("SEAMLINE_VAULT_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("TEST_STRIPE_SECRET", STRIPE_SECRET)
    monkeypatch.setenv("TEST_SLACK_SECRET", SLACK_SECRET)
    monkeypatch.setenv("TEST_SVIX_SECRET", SVIX_SECRET)
    store = open_store(pg_url)
    try:
        app = create_app([integration()], store, providers={"refunds": verdict()}, api_keys={KEY})
        with TestClient(app, raise_server_exceptions=False) as client:
            first = stripe_post(client, dispute(), at=time.time() - 30)
            assert first.status_code == 202, first.text
            retry = stripe_post(client, dispute())
            assert retry.json() == {"duplicate": True, "event_id": first.json()["event_id"],
                                    "delivery_id": "evt_1"}
        assert count(store, jobs) == 1 and count(store, webhook_receipts) == 1
    finally:
        store.close()


def test_github_deliveries_dedupe_by_their_signed_body_and_a_failing_map_is_a_422(client, store):
    import hashlib
    import hmac

    # GitHub signs the body alone: X-GitHub-Delivery is not covered, so it identifies nothing.

    def post(payload: dict, delivery: str):
        body = json.dumps(payload).encode()
        sig = "sha256=" + hmac.new(STRIPE_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return client.post("/v1/webhooks/github", content=body, headers={
            "X-Hub-Signature-256": sig, "X-GitHub-Delivery": delivery, "X-GitHub-Event": "issues"})

    issue = {"action": "opened", "issue": {"number": 7, "body": "refund please"}}
    first = post(issue, "d-1")
    digest = "sha256:" + hashlib.sha256(json.dumps(issue).encode()).hexdigest()
    assert first.status_code == 202 and first.json()["delivery_id"] == digest
    assert post(issue, "d-1").json()["duplicate"] is True  # a redelivery from GitHub's UI
    assert post(issue, "d-forged").json()["duplicate"] is True  # a replay with a new header
    broken = post({"action": "opened", "issue": None}, "d-2")
    assert broken.status_code == 422 and "the map of source 'github' failed" in broken.json()["error"]
    assert count(store, jobs) == 1 and count(store, dead_letters) == 1
