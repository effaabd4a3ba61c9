"""``kind: basic``: a vendor that signs nothing and sends HTTP Basic credentials (Pipedrive),
through ``POST /v1/webhooks/{source}``; ``postmark`` stays the same kind under its name.

Pipedrive's webhooks, https://pipedrive.readme.io/docs/guide-for-webhooks ("HTTP Auth"): the
webhook's ``http_auth_user`` and ``http_auth_password`` arrive as ``Authorization: Basic``
on every delivery, and nothing is signed. The payload below is a webhooks v2 one
(https://pipedrive.readme.io/docs/guide-for-webhooks-v2): ``data``, ``previous`` and ``meta``,
whose ``attempt`` counts the retries. The header is built by httpx's own ``BasicAuth`` (the
test client's ``auth=``), not by hand.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.edges import SourceSpec, WebhookRefused, verify
from seamline.errors import ConfigError
from seamline.server import create_app
from seamline.store.tables import jobs

USER, PASSWORD = "seamline", "pd-hook-password-do-not-log"


def deal_event(attempt: int = 1) -> dict:
    return {"data": {"id": 1042, "title": "refund please", "status": "open"},
            "previous": None,
            "meta": {"action": "create", "entity": "deal", "entity_id": "1042",
                     "id": "1d0e4a6c-0b6e-4c58-9a35-7f0b9a2c1e11", "attempt": attempt,
                     "timestamp": "2026-12-04T03:00:00.000Z", "version": "2.0",
                     "webhook_id": "771"}}


def to_ticket(payload: dict) -> dict:
    return {"ticket_id": str(payload["data"]["id"]), "body": payload["data"]["title"]}


@pytest.fixture
def client(store, monkeypatch):
    monkeypatch.setenv("PIPEDRIVE_WEBHOOK_CREDENTIALS", f"old:retired-pass {USER}:{PASSWORD}")
    spec = make_integration(sources=(
        SourceSpec(name="pipedrive", kind="basic", secret_env="PIPEDRIVE_WEBHOOK_CREDENTIALS",
                   map=to_ticket, id_field="meta.id"),
        SourceSpec(name="pipedrive-raw", kind="basic",
                   secret_env="PIPEDRIVE_WEBHOOK_CREDENTIALS", map=to_ticket)))
    app = create_app([spec], store, providers={"refunds": verdict()}, api_keys={"k"})
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def queued(store) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(jobs)).scalar_one()


def test_a_pipedrive_delivery_with_its_credentials_is_queued_once_and_its_retries_are_duplicates(
        client, store):
    first = client.post("/v1/webhooks/pipedrive", json=deal_event(1), auth=(USER, PASSWORD))
    assert first.status_code == 202, first.text
    assert first.json()["delivery_id"] == "1d0e4a6c-0b6e-4c58-9a35-7f0b9a2c1e11"
    # Pipedrive's retry counts the attempt inside the body: id_field keeps it one delivery.
    retry = client.post("/v1/webhooks/pipedrive", json=deal_event(2), auth=(USER, PASSWORD))
    assert retry.status_code == 200 and retry.json()["duplicate"] is True, retry.text
    assert retry.json()["event_id"] == first.json()["event_id"]
    assert queued(store) == 1


def test_without_an_id_field_the_body_digest_identifies_a_delivery(client, store):
    body = json.dumps(deal_event(1)).encode()
    first = client.post("/v1/webhooks/pipedrive-raw", content=body, auth=(USER, PASSWORD),
                        headers={"Content-Type": "application/json"})
    assert first.status_code == 202, first.text
    assert first.json()["delivery_id"] == "sha256:" + hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(("auth", "headers", "said"), [
    ((USER, "guess"), {}, "the Authorization credentials do not match (wrong user or password)"),
    (("intruder", PASSWORD), {}, "do not match"),
    (None, {}, "the Authorization header is missing"),
    (None, {"Authorization": "Bearer pd-token"}, "the Authorization header is not Basic"),
    (None, {"Authorization": "Basic not base64!"}, "are not base64"),
])
def test_wrong_or_missing_credentials_are_refused_with_a_sentence_and_nothing_queued(
        client, store, caplog, auth, headers, said):
    r = client.post("/v1/webhooks/pipedrive", json=deal_event(), auth=auth, headers=headers)
    assert r.status_code == 401, r.text
    assert said in r.json()["error"] and "Traceback" not in r.text
    assert queued(store) == 0
    assert PASSWORD not in caplog.text


def test_a_rotated_pair_is_accepted_while_both_are_configured(client, store):
    ok = client.post("/v1/webhooks/pipedrive", json=deal_event(), auth=("old", "retired-pass"))
    assert ok.status_code == 202, ok.text


def test_postmark_is_the_same_check_under_its_own_name():
    body = b'{"RecordType": "Bounce", "ID": 42}'
    creds = ("hooks:s3cr3t-password",)
    import httpx

    request = httpx.Request("POST", "https://hooks.example.com/x")
    header = next(httpx.BasicAuth("hooks", "s3cr3t-password").auth_flow(request)).headers[
        "Authorization"]
    for kind in ("basic", "postmark"):
        spec = SourceSpec(name="in", kind=kind, secret_env="UNUSED")
        assert verify(spec, body, {"authorization": header}, creds, 0.0) is not None
        with pytest.raises(WebhookRefused) as caught:
            verify(spec, body, {"authorization": header.replace("aG9v", "aG9x")}, creds, 0.0)
        assert caught.value.status == 401


def test_credentials_that_are_not_user_password_stop_the_server_at_start(store, monkeypatch):
    spec = make_integration(sources=(SourceSpec(
        name="pipedrive", kind="basic", secret_env="PIPEDRIVE_WEBHOOK_CREDENTIALS"),))
    monkeypatch.setenv("PIPEDRIVE_WEBHOOK_CREDENTIALS", "seamline:pw only-a-password")
    with pytest.raises(ConfigError, match=r"credentials 2 of the basic source 'pipedrive' .* are "
                                          r"not user:password.*http_auth_user"):
        create_app([spec], store, providers={"refunds": verdict()}, api_keys={"k"})
