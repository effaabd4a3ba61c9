"""resend: e-mail with the Idempotency-Key Resend honours, against a fake that keeps its keys."""

from __future__ import annotations

import pytest
from crash import send_then_crash
from fakes_messaging import *  # registers the credentials fixture
from fakes_messaging import ResendFake
from vendor_fixtures import *  # registers the fixtures (see its docstring)
from vendor_fixtures import drifted

from seamline.connectors import (
    BadParams,
    ResendConnector,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
    installed,
)
from seamline.connectors.testing import Reply, check_connector_class
from seamline.errors import ConfigError

PARAMS = {"to": "ann@example.com", "subject": "Your refund", "text": "It is on its way.",
          "tags": {"flow": "refunds"}}


@pytest.fixture
def fake(vendor):
    return ResendFake(vendor)


def resend(vendor, store=None, waits=None, **options) -> ResendConnector:
    return ResendConnector({"base_url": vendor.url, "sender": "Acme <ops@acme.test>", **options},
                           store=store, sleep=(waits.append if waits is not None else lambda s: None))


def test_the_class_keeps_the_contract_and_is_installed():
    check_connector_class(ResendConnector)
    assert installed()["resend"] is ResendConnector and ResendConnector.idempotency == "vendor"


def test_sends_json_with_bearer_key_and_the_idempotency_key(vendor, fake, store):
    out = resend(vendor, store).send_email(PARAMS, idempotency_key="k-1")
    [email] = fake.sent
    assert out == {"id": email["id"]}
    vendor.assert_sent("POST", "/emails", headers={
        "Authorization": "Bearer re_test_123", "Idempotency-Key": "k-1",
        "User-Agent": "seamline-connector/resend (api unversioned)"},
        json={"from": "Acme <ops@acme.test>", "to": ["ann@example.com"],
              "subject": "Your refund", "text": "It is on its way.",
              "tags": [{"name": "flow", "value": "refunds"}]})


def test_the_same_key_twice_sends_one_email(vendor, fake, store):
    c = resend(vendor, store)
    first, again = (c.send_email(PARAMS, idempotency_key="k") for _ in range(2))
    assert first == again and len(fake.sent) == 1
    assert len(vendor.sent("POST", "/emails")) == 2  # both reached Resend, with the same key


def test_a_crash_after_resend_sent_does_not_send_twice(vendor, fake, store):
    send_then_crash(store, "resend", "send_email",
                    {"base_url": vendor.url, "sender": "ops@acme.test"}, PARAMS, "k")
    assert len(fake.sent) == 1
    out = resend(vendor, store, sender="ops@acme.test").send_email(PARAMS, idempotency_key="k")
    assert out == {"id": fake.sent[0]["id"]} and len(fake.sent) == 1


def test_a_key_longer_than_resend_allows_is_shortened_stably(vendor, fake, store):
    c = resend(vendor, store)
    key = "x" * 300
    c.send_email(PARAMS, idempotency_key=key)
    c.send_email(PARAMS, idempotency_key=key)
    sent_keys = {r.headers["idempotency-key"] for r in vendor.sent("POST", "/emails")}
    assert len(sent_keys) == 1 and len(sent_keys.pop()) <= 256 and len(fake.sent) == 1


def test_a_wrong_key_is_an_auth_failure_in_resends_words(vendor, store):
    fake = ResendFake(vendor, api_key="re_other")
    with pytest.raises(VendorAuthFailed, match="403 to send_email: invalid_api_key: API key is "
                                               "invalid"):
        resend(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert fake.sent == []


def test_a_validation_error_is_a_sentence_in_resends_words(vendor, fake, store):
    fake.fail_next(ResendFake.error(422, "validation_error", "Invalid `to` field. The email "
                                    "address needs to follow the `email@example.com` format."))
    with pytest.raises(VendorRejected, match="422 to send_email: validation_error: Invalid `to`"):
        resend(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert fake.sent == []


def test_the_same_key_with_another_payload_is_refused_not_sent(vendor, fake, store):
    c = resend(vendor, store)
    c.send_email(PARAMS, idempotency_key="k")
    with pytest.raises(VendorRejected, match="invalid_idempotent_request.*may have been sent") \
            as info:
        c.send_email({**PARAMS, "subject": "Another"}, idempotency_key="k")
    assert info.value.sent is None and not info.value.retryable and len(fake.sent) == 1


def test_a_concurrent_request_with_the_key_is_retryable(vendor, fake, store):
    fake.fail_next(ResendFake.error(409, "concurrent_idempotent_requests", "Same idempotency "
                                    "key used while original request is still in progress."))
    with pytest.raises(VendorUnavailable, match="concurrent_idempotent_requests") as info:
        resend(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert info.value.retryable


def test_429_with_retry_after_is_honoured_then_sends_once(vendor, fake, store, waits):
    fake.fail_next(Reply(429, {"statusCode": 429, "name": "rate_limit_exceeded",
                               "message": "Too many requests. You can only make 2 requests per "
                                          "second."},
                         headers={"Retry-After": "1", "ratelimit-limit": "2",
                                  "ratelimit-remaining": "0", "ratelimit-reset": "1"}))
    assert resend(vendor, store, waits).send_email(PARAMS, idempotency_key="k")["id"]
    assert waits == [1.0] and len(fake.sent) == 1


def test_a_200_without_an_id_is_unexpected_and_drift(vendor, fake, store, alerts):
    fake.fail_next(Reply(200, {"object": "email"}))
    with pytest.raises(UnexpectedReply, match="lacks id"):
        resend(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert ("missing", "id") in drifted(store, "resend.send_email")


def test_bad_params_and_missing_credentials_are_sentences(vendor, fake, store, monkeypatch):
    with pytest.raises(BadParams, match="needs text or html"):
        resend(vendor, store).send_email({"to": "a@b.c", "subject": "s"}, idempotency_key="k")
    with pytest.raises(BadParams, match="needs a sender"):
        resend(vendor, store, sender="").send_email(PARAMS, idempotency_key="k")
    assert vendor.sent() == []
    monkeypatch.delenv("RESEND_API_KEY")
    with pytest.raises(ConfigError, match="RESEND_API_KEY, which is not set"):
        resend(vendor, store)
