"""A delivery is identified only by what its signature covers.

The attacker captured one correctly signed delivery and sends it again with a fresh,
unsigned delivery-id header. GitHub and Shopify sign the body alone, a generic HMAC
scheme the body (and maybe a timestamp): a header they do not sign must not make the
copy a new delivery. Standard Webhooks signs its ``webhook-id``, so a changed id breaks
the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.edges import HmacScheme, SourceSpec
from seamline.errors import ConfigError
from seamline.integration import integration_from_dict
from seamline.server import create_app
from seamline.store.tables import jobs, webhook_receipts

SECRET = "identity-test-signing-secret"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"identity test standard key!").decode()


def to_ticket(payload: dict) -> dict:
    return {"ticket_id": str(payload["n"]), "body": payload["text"]}


def integration():
    return make_integration(sources=(
        SourceSpec(name="github", kind="github", secret_env="ID_TEST_SECRET", map=to_ticket),
        SourceSpec(name="shopify", kind="shopify", secret_env="ID_TEST_SECRET", map=to_ticket),
        SourceSpec(name="partner", kind="hmac", secret_env="ID_TEST_SECRET", map=to_ticket,
                   hmac=HmacScheme(header="X-Signature", prefix="sha256=")),
        SourceSpec(name="stamped", kind="hmac", secret_env="ID_TEST_SECRET", map=to_ticket,
                   hmac=HmacScheme(header="X-Signature", timestamp_header="X-Timestamp")),
        SourceSpec(name="clerk", kind="standard", secret_env="ID_TEST_STANDARD", map=to_ticket),
    ))


@pytest.fixture
def client(store, monkeypatch):
    monkeypatch.setenv("ID_TEST_SECRET", SECRET)
    monkeypatch.setenv("ID_TEST_STANDARD", STANDARD_SECRET)
    app = create_app([integration()], store, providers={"refunds": verdict()}, api_keys={"k"})
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def count(store, table) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _hex(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


BODY = json.dumps({"n": 7, "text": "please refund order 7"}).encode()
KINDS = ("github", "shopify", "partner", "stamped")


def captured(name: str) -> tuple[dict[str, str], str]:
    """The correctly signed headers of one delivery, and the unsigned delivery-id header a
    replay changes (signed now: a signed timestamp must be within the tolerance)."""
    now = int(time.time())
    return {
        "github": ({"X-Hub-Signature-256": "sha256=" + _hex(BODY), "X-GitHub-Event": "issues",
                    "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                   "X-GitHub-Delivery"),
        "shopify": ({"X-Shopify-Hmac-Sha256": base64.b64encode(
                        hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode(),
                     "X-Shopify-Topic": "orders/create",
                     "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                     "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5"},
                    "X-Shopify-Webhook-Id"),
        "partner": ({"X-Signature": "sha256=" + _hex(BODY), "X-Delivery-Id": "dlv-1"},
                    "X-Delivery-Id"),
        "stamped": ({"X-Signature": _hex(f"{now}.".encode() + BODY), "X-Timestamp": str(now),
                     "X-Delivery-Id": "dlv-1"}, "X-Delivery-Id"),
    }[name]


@pytest.mark.parametrize("name", KINDS)
def test_a_captured_delivery_replayed_with_a_new_delivery_id_header_is_not_queued_again(
        client, store, name):
    headers, id_header = captured(name)
    first = client.post(f"/v1/webhooks/{name}", content=BODY, headers=headers)
    assert first.status_code == 202, first.text
    for forged in ("attacker-1", "attacker-2"):
        extra = {"X-Shopify-Event-Id": forged} if name == "shopify" else {}
        replay = client.post(f"/v1/webhooks/{name}", content=BODY,
                             headers={**headers, id_header: forged, **extra})
        assert replay.status_code in (200, 409), replay.text
        assert replay.json().get("state") != "queued"
        assert replay.json()["event_id"] == first.json()["event_id"]
        if replay.status_code == 200:
            assert replay.json()["duplicate"] is True
    assert count(store, jobs) == 1 and count(store, webhook_receipts) == 1


def test_without_a_signed_timestamp_the_replay_is_answered_duplicate_and_with_one_409(client, store):
    github, _ = captured("github")
    stamped, _ = captured("stamped")
    for name, headers in (("github", github), ("stamped", stamped)):
        assert client.post(f"/v1/webhooks/{name}", content=BODY, headers=headers).status_code == 202
    again = client.post("/v1/webhooks/github", content=BODY,
                        headers={**github, "X-GitHub-Delivery": "forged"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    replay = client.post("/v1/webhooks/stamped", content=BODY,
                         headers={**stamped, "X-Delivery-Id": "forged"})
    assert replay.status_code == 409 and "replay" in replay.json()["error"]


def test_the_delivery_id_a_body_only_scheme_answers_is_the_signed_bodys_digest(client):
    headers, _ = captured("shopify")
    first = client.post("/v1/webhooks/shopify", content=BODY, headers=headers)
    assert first.json()["delivery_id"] == "sha256:" + hashlib.sha256(BODY).hexdigest()


def test_a_different_signed_body_is_a_different_delivery(client, store):
    other = json.dumps({"n": 8, "text": "please refund order 8"}).encode()
    for body in (BODY, other):
        r = client.post("/v1/webhooks/github", content=body, headers={
            "X-Hub-Signature-256": "sha256=" + _hex(body), "X-GitHub-Delivery": "same-header"})
        assert r.status_code == 202, r.text
    assert count(store, jobs) == 2


def test_standard_webhooks_signs_its_id_so_a_changed_webhook_id_breaks_the_signature(client, store):
    body = BODY.decode()
    when = datetime.now(tz=UTC)
    signature = standardwebhooks.Webhook(STANDARD_SECRET).sign("msg_1", when, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": signature}
    first = client.post("/v1/webhooks/clerk", content=BODY, headers=headers)
    assert first.status_code == 202 and first.json()["delivery_id"] == "msg_1"
    forged = client.post("/v1/webhooks/clerk", content=BODY, headers={**headers,
                                                                     "webhook-id": "msg_2"})
    assert forged.status_code == 401 and "does not match" in forged.json()["error"]
    # An unsigned svix-id beside the signed webhook-id changes nothing either.
    beside = client.post("/v1/webhooks/clerk", content=BODY, headers={**headers,
                                                                     "svix-id": "msg_3"})
    assert beside.status_code == 409
    assert count(store, jobs) == 1


@pytest.mark.parametrize("kind", ["github", "shopify", "hmac", "stripe", "slack", "standard"])
def test_an_id_header_is_refused_at_declaration_since_no_signature_covers_it(kind):
    extra = {"hmac": HmacScheme(header="X-Signature")} if kind == "hmac" else {}
    with pytest.raises(ValueError, match="id_header .* not covered by the signature"):
        SourceSpec(name="s", kind=kind, secret_env="X", id_header="X-Delivery-Id", **extra)


def test_the_file_form_says_so_in_a_sentence(tmp_path):
    with pytest.raises(ConfigError, match="id_field"):
        integration_from_dict({
            "name": "n", "input_schema": {"fields": {"body": "str"}},
            "output_schema": {"fields": {"label": "str"}}, "prompt": {"user": "{{ body }}"},
            "sources": [{"name": "partner", "kind": "hmac", "secret_env": "X",
                         "hmac": {"header": "X-Signature"}, "id_header": "X-Delivery-Id"}],
        }, base=tmp_path)


def test_an_id_field_in_the_signed_body_still_identifies_a_generic_delivery(store, monkeypatch):
    monkeypatch.setenv("ID_TEST_SECRET", SECRET)
    spec = make_integration(sources=(
        SourceSpec(name="partner", kind="hmac", secret_env="ID_TEST_SECRET", map=to_ticket,
                   id_field="meta.delivery", hmac=HmacScheme(header="X-Signature")),))
    app = create_app([spec], store, providers={"refunds": verdict()}, api_keys={"k"})
    body = json.dumps({"n": 1, "text": "hi", "meta": {"delivery": "d-42"}}).encode()
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/v1/webhooks/partner", content=body, headers={"X-Signature": _hex(body)})
    assert r.status_code == 202 and r.json()["delivery_id"] == "d-42"
