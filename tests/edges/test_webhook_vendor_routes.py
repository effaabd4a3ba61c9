"""The issue-21 vendors through ``POST /v1/webhooks/{source}``: queued once, retries answered
``duplicate``, replays refused, every forgery a 4xx with a sentence and nothing queued.

Signed as in test_webhook_vendor_signatures.py: with the vendor's own library where one
exists (twilio's RequestValidator, hubspot-api-client's Signature, cryptography for
SendGrid's ECDSA), else as the vendor's documentation page says (URL beside each signer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from conftest import make_integration, verdict
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from hubspot.utils.signature import Signature as HubSpotSignature
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from typer.testing import CliRunner
from werkzeug.datastructures import MultiDict

from seamline.cli import app as cli
from seamline.edges import SourceSpec
from seamline.errors import ConfigError
from seamline.server import create_app
from seamline.store.tables import jobs, webhook_receipts

BASE = "http://testserver"  # the URL TestClient's requests arrive at
SECRET = "vendor-route-secret-do-not-log"
PRIVATE = ec.generate_private_key(ec.SECP256R1())
SENDGRID_KEY = base64.b64encode(PRIVATE.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
POSTMARK = "hooks:postmark-password-do-not-log"


def _hmac(secret: str, message: bytes, algorithm=hashlib.sha256) -> bytes:
    return hmac.new(secret.encode(), message, algorithm).digest()


# Each signer: (body, path with query, signed at, secret) -> headers.

def twilio(body: bytes, path: str, at: float, secret: str) -> dict:
    # https://www.twilio.com/docs/usage/webhooks/webhooks-security
    params = MultiDict(parse_qsl(body.decode(), keep_blank_values=True))
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(secret).compute_signature(BASE + path, params)}


def intercom(body: bytes, path: str, at: float, secret: str) -> dict:
    # https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications
    return {"X-Hub-Signature": "sha1=" + _hmac(secret, body, hashlib.sha1).hex()}


def hubspot(body: bytes, path: str, at: float, secret: str) -> dict:
    # https://developers.hubspot.com/docs/api/webhooks/validating-requests (the URI signed
    # with %40 decoded, as the page's table says)
    ms = str(int(at * 1000))
    uri = BASE + path.replace("%40", "@")
    return {"X-HubSpot-Signature-v3": HubSpotSignature.get_signature(
        secret, body.decode(), "v3", http_uri=uri, http_method="POST", timestamp=ms),
        "X-HubSpot-Request-Timestamp": ms}


def zendesk(body: bytes, path: str, at: float, secret: str) -> dict:
    # https://developer.zendesk.com/documentation/webhooks/verifying/
    stamp = datetime.fromtimestamp(int(at), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"X-Zendesk-Webhook-Signature": base64.b64encode(
        _hmac(secret, stamp.encode() + body)).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp}


def sendgrid(body: bytes, path: str, at: float, secret: str) -> dict:
    # https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
    key = PRIVATE if secret == SECRET else ec.generate_private_key(ec.SECP256R1())
    stamp = str(int(at))
    return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(
        key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp}


def postmark(body: bytes, path: str, at: float, secret: str) -> dict:
    # https://postmarkapp.com/developer/webhooks/webhooks-overview: Basic auth from the URL
    creds = POSTMARK if secret == SECRET else "hooks:guess"
    return {"Authorization": "Basic " + base64.b64encode(creds.encode()).decode()}


def paddle(body: bytes, path: str, at: float, secret: str) -> dict:
    # https://developer.paddle.com/webhooks/signature-verification
    ts = int(at)
    return {"Paddle-Signature": f"ts={ts};h1={_hmac(secret, f'{ts}:'.encode() + body).hex()}"}


def calcom(body: bytes, path: str, at: float, secret: str) -> dict:
    # https://cal.com/docs/developing/guides/automation/webhooks
    return {"X-Cal-Signature-256": _hmac(secret, body).hex()}


def calendly(body: bytes, path: str, at: float, secret: str) -> dict:
    # https://developer.calendly.com/api-docs/ZG9jOjM2MzE2MDM4-webhook-signatures
    t = int(at)
    return {"Calendly-Webhook-Signature": f"t={t},v1={_hmac(secret, f'{t}.'.encode() + body).hex()}"}


TWILIO_SEEN: list[dict] = []  # what the Twilio map was handed


def twilio_map(fields: dict) -> dict:
    TWILIO_SEEN.append(fields)
    return {"ticket_id": fields["MessageSid"], "body": fields["Body"]}


@dataclass(frozen=True)
class Vendor:
    kind: str
    sign: Any
    payload: Any  # the first delivery's payload
    retry: Any  # the vendor's retry of it (HubSpot and Intercom count attempts in the body)
    map: Any
    delivery_id: str | None  # None: the body's SHA-256
    timestamped: bool
    missing: str  # the header named when none is sent
    query: str = ""

    def body(self, payload: Any) -> bytes:
        return urlencode(payload).encode() if self.kind == "twilio" else json.dumps(payload).encode()


VENDORS = {v.kind: v for v in (
    Vendor("twilio", twilio, {"MessageSid": "SM1", "From": "+15551230000", "Body": "refund please"},
           None, twilio_map, None, False,
           "X-Twilio-Signature", query="?tenant=acme"),
    Vendor("intercom", intercom,
           {"type": "notification_event", "id": "notif_1", "topic": "conversation.user.created",
            "delivery_attempts": 1, "data": {"item": {"id": "c-1", "body": "refund please"}}},
           {"type": "notification_event", "id": "notif_1", "topic": "conversation.user.created",
            "delivery_attempts": 2, "data": {"item": {"id": "c-1", "body": "refund please"}}},
           lambda p: {"ticket_id": p["data"]["item"]["id"], "body": p["data"]["item"]["body"]},
           "notif_1", False, "X-Hub-Signature"),
    Vendor("hubspot", hubspot,
           [{"eventId": 101, "objectId": 55, "subscriptionType": "contact.creation",
             "attemptNumber": 0}, {"eventId": 100, "objectId": 55, "attemptNumber": 0,
                                   "subscriptionType": "contact.propertyChange"}],
           [{"eventId": 101, "objectId": 55, "subscriptionType": "contact.creation",
             "attemptNumber": 1}, {"eventId": 100, "objectId": 55, "attemptNumber": 1,
                                   "subscriptionType": "contact.propertyChange"}],
           lambda p: {"ticket_id": str(p[0]["objectId"]), "body": p[0]["subscriptionType"]},
           "100,101", True, "X-HubSpot-Signature-v3", query="?portal=ops%40acme.io"),
    Vendor("zendesk", zendesk, {"id": "z-1", "detail": {"id": "35436", "description": "refund"}},
           None, lambda p: {"ticket_id": p["detail"]["id"], "body": p["detail"]["description"]},
           None, True, "X-Zendesk-Webhook-Signature"),
    Vendor("sendgrid", sendgrid,
           [{"sg_event_id": "sg-1", "event": "bounce", "email": "a@example.com",
             "reason": "refund please"}], None,
           lambda p: {"ticket_id": p[0]["sg_event_id"], "body": p[0]["reason"]}, "sg-1", True,
           "X-Twilio-Email-Event-Webhook-Signature"),
    Vendor("postmark", postmark, {"RecordType": "Inbound", "MessageID": "pm-1",
                                  "TextBody": "refund please"}, None,
           lambda p: {"ticket_id": p["MessageID"], "body": p["TextBody"]}, None, False,
           "Authorization"),
    Vendor("paddle", paddle, {"event_id": "evt_01", "notification_id": "ntf_01",
                              "event_type": "adjustment.created",
                              "data": {"id": "adj_1", "reason": "refund please"}}, None,
           lambda p: {"ticket_id": p["data"]["id"], "body": p["data"]["reason"]}, "evt_01", True,
           "Paddle-Signature"),
    Vendor("calcom", calcom, {"triggerEvent": "BOOKING_CANCELLED",
                              "payload": {"uid": "bk-1", "cancellationReason": "refund please"}},
           None, lambda p: {"ticket_id": p["payload"]["uid"],
                            "body": p["payload"]["cancellationReason"]}, None, False,
           "X-Cal-Signature-256"),
    Vendor("calendly", calendly, {"event": "invitee.canceled",
                                  "payload": {"uri": "INV1", "cancellation": {"reason": "refund"}}},
           None, lambda p: {"ticket_id": p["payload"]["uri"],
                            "body": p["payload"]["cancellation"]["reason"]}, None, True,
           "Calendly-Webhook-Signature"),
)}


def env_name(kind: str) -> str:
    return f"ROUTE_{kind.upper()}_SECRET"


def integration(**public_urls: str):
    return make_integration(sources=tuple(
        SourceSpec(name=v.kind, kind=v.kind, secret_env=env_name(v.kind), map=v.map,
                   public_url=public_urls.get(v.kind))
        for v in VENDORS.values()))


def secrets_env(monkeypatch) -> None:
    for kind in VENDORS:
        value = {"sendgrid": SENDGRID_KEY, "postmark": POSTMARK}.get(kind, SECRET)
        monkeypatch.setenv(env_name(kind), value)


@pytest.fixture
def client(store, monkeypatch):
    secrets_env(monkeypatch)
    app = create_app([integration()], store, providers={"refunds": verdict()}, api_keys={"k"})
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def count(store, table) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def post(client, v: Vendor, payload: Any, *, at: float | None = None, secret: str = SECRET,
         body: bytes | None = None, headers: dict | None = None):
    signed_body = v.body(payload)
    path = f"/v1/webhooks/{v.kind}{v.query}"
    sent = v.sign(signed_body, path, at or time.time(), secret) if headers is None else headers
    return client.post(path, content=signed_body if body is None else body, headers=sent)


@pytest.mark.parametrize("kind", list(VENDORS))
def test_a_vendor_delivery_is_queued_once_and_forgeries_are_refused_with_a_sentence(
        client, store, caplog, kind):
    caplog.set_level(logging.INFO, logger="seamline")
    v = VENDORS[kind]
    body = v.body(v.payload)
    at = time.time() - 20
    first = post(client, v, v.payload, at=at)
    assert first.status_code == 202, first.text
    expected = v.delivery_id or "sha256:" + hashlib.sha256(body).hexdigest()
    assert first.json()["delivery_id"] == expected
    # The vendor's retry: signed anew (and, for HubSpot and Intercom, with its attempt counted).
    retry = post(client, v, v.retry or v.payload, at=at + 5)
    assert retry.status_code == 200, retry.text
    assert retry.json() == {"duplicate": True, "event_id": first.json()["event_id"],
                            "delivery_id": expected}
    again = post(client, v, v.payload, at=at)  # the very same request, captured and replayed
    if v.timestamped:
        assert again.status_code == 409 and "replay" in again.json()["error"]
    else:  # nothing signed tells a replay from a redelivery: answered, never queued again
        assert again.status_code == 200 and again.json()["duplicate"] is True

    tampered = body.replace(b"refund", b"refuse") if b"refund" in body else body + b" "
    for case, r, status, words in [
        ("tampered", post(client, v, v.payload, body=tampered), 401,
         "do not match" if kind == "postmark" else "does not match"),
        ("wrong secret", post(client, v, v.payload, secret="not-the-secret"), 401, "match"),
        ("missing", post(client, v, v.payload, headers={}), 401,
         f"the {v.missing} header is missing"),
    ]:
        if kind == "postmark" and case == "tampered":
            # Credentials cover no byte of the body: a changed body is a new delivery.
            assert r.status_code == 202, r.text
            continue
        assert r.status_code == status, (case, r.text)
        assert words in r.json()["error"] and "Traceback" not in r.text, (case, r.text)
    if v.timestamped:
        stale = post(client, v, v.payload, at=time.time() - 3600)
        assert stale.status_code == 400 and "outside the tolerance of 300 s" in stale.json()["error"]
        forged_stale = post(client, v, v.payload, at=time.time() - 3600, secret="not-the-secret")
        assert forged_stale.status_code == 401
    expected_jobs = 2 if kind == "postmark" else 1
    assert count(store, jobs) == expected_jobs and count(store, webhook_receipts) == expected_jobs
    assert SECRET not in caplog.text and "postmark-password" not in caplog.text
    assert any(f"webhook {kind} refused (401)" in rec.getMessage() for rec in caplog.records)


def test_twilio_behind_a_proxy_is_checked_against_the_declared_public_url(store, monkeypatch):
    secrets_env(monkeypatch)
    public = "https://hooks.example.com/v1/webhooks/twilio"
    app = create_app([integration(twilio=public)], store, providers={"refunds": verdict()},
                     api_keys={"k"})
    params = {"MessageSid": "SM7", "Body": "refund please"}
    body = urlencode(params).encode()
    signature = RequestValidator(SECRET).compute_signature(public + "?tenant=acme", params)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    with TestClient(app, raise_server_exceptions=False) as c:
        # The proxy forwarded to http://testserver/…; Twilio signed the public URL.
        ok = c.post("/v1/webhooks/twilio?tenant=acme", content=body, headers=headers)
        assert ok.status_code == 202, ok.text
        moved = c.post("/v1/webhooks/twilio?tenant=other", content=body, headers=headers)
        assert moved.status_code == 401  # the query is signed too
    assert count(store, jobs) == 1


def test_twilio_form_fields_reach_the_map_and_a_field_sent_twice_is_a_list(client, store):
    v = VENDORS["twilio"]
    pairs = [("MessageSid", "SM2"), ("Body", "refund please"), ("MediaUrl0", "a"),
             ("MediaUrl0", "b")]
    body = urlencode(pairs).encode()
    signature = RequestValidator(SECRET).compute_signature(
        f"{BASE}/v1/webhooks/twilio{v.query}", MultiDict(pairs))
    r = client.post(f"/v1/webhooks/twilio{v.query}", content=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    assert r.status_code == 202, r.text
    assert TWILIO_SEEN[-1] == {"MessageSid": "SM2", "Body": "refund please",
                               "MediaUrl0": ["a", "b"]}


def test_a_sendgrid_key_or_postmark_credentials_that_cannot_work_stop_the_server_at_start(
        store, monkeypatch):
    secrets_env(monkeypatch)
    monkeypatch.setenv(env_name("sendgrid"), "not-a-public-key")
    with pytest.raises(ConfigError, match=r"verification key 1 of the sendgrid source 'sendgrid'"):
        create_app([integration()], store, providers={"refunds": verdict()}, api_keys={"k"})
    secrets_env(monkeypatch)
    monkeypatch.setenv(env_name("postmark"), "just-a-password")
    with pytest.raises(ConfigError, match=r"are not user:password"):
        create_app([integration()], store, providers={"refunds": verdict()}, api_keys={"k"})


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_triage"
SOURCES_YAML = """
sources:
  - {name: sms, kind: twilio, secret_env: TWILIO_AUTH_TOKEN,
     public_url: "https://hooks.example.com/v1/webhooks/sms"}
  - {name: intercom, kind: intercom, secret_env: INTERCOM_CLIENT_SECRET}
  - {name: hubspot, kind: hubspot, secret_env: HUBSPOT_CLIENT_SECRET}
  - {name: zendesk, kind: zendesk, secret_env: ZENDESK_WEBHOOK_SECRET, tolerance_s: 600}
  - {name: sendgrid, kind: sendgrid, secret_env: SENDGRID_VERIFICATION_KEY}
  - {name: postmark, kind: postmark, secret_env: POSTMARK_WEBHOOK_CREDENTIALS}
  - {name: paddle, kind: paddle, secret_env: PADDLE_WEBHOOK_SECRET}
  - {name: cal, kind: calcom, secret_env: CALCOM_WEBHOOK_SECRET}
  - {name: calendly, kind: calendly, secret_env: CALENDLY_SIGNING_KEY}
"""


def test_seamline_check_accepts_every_kind_and_names_the_known_ones_for_a_typo(tmp_path):
    dest = tmp_path / "support_triage"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    path = dest / "integration.yaml"
    path.write_text(path.read_text() + SOURCES_YAML)
    runner = CliRunner()
    ok = runner.invoke(cli, ["check", str(path)], env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    path.write_text(path.read_text().replace("kind: calendly", "kind: calendy"))
    bad = runner.invoke(cli, ["check", str(path)], env={"COLUMNS": "200"})
    said = " ".join(bad.output.split())
    assert bad.exit_code == 2, bad.output
    assert "sources.8.kind: the kind 'calendy' is not known (did you mean 'calendly'?)" in said
    assert "the known kinds are stripe, shopify, github, slack, standard, twilio" in said
