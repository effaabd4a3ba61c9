"""sendgrid: Mail Send v3 once per key on our side; after a crash nothing to look up, so a person."""

from __future__ import annotations

import time

import pytest
from crash import send_then_crash
from fakes_messaging import *  # registers the credentials fixture
from fakes_messaging import SendGridFake
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Cc, CustomArg, Mail, ReplyTo
from vendor_fixtures import *  # registers the fixtures (see its docstring)
from vendor_fixtures import drifted

from seamline.connectors import (
    OutcomeUnknown,
    SendGridConnector,
    SendLedger,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
)
from seamline.connectors.testing import Reply, check_connector_class
from seamline.errors import ConfigError

PARAMS = {"to": "ann@example.com", "cc": ["Bob <bob@example.com>"], "subject": "Your refund",
          "text": "It is on its way.", "html": "<p>It is on its way.</p>",
          "reply_to": "help@acme.test"}
OPTIONS = {"sender": "Acme <ops@acme.test>"}


@pytest.fixture
def fake(vendor):
    return SendGridFake(vendor)


def sendgrid(vendor, store, waits=None, **options) -> SendGridConnector:
    return SendGridConnector({"base_url": vendor.url, **OPTIONS, **options}, store=store,
                             sleep=(waits.append if waits is not None else lambda s: None))


def test_the_class_keeps_the_contract():
    check_connector_class(SendGridConnector)


def test_the_body_is_what_sendgrids_own_mail_helper_builds(vendor, fake, store):
    out = sendgrid(vendor, store).send_email(PARAMS, idempotency_key="k-1")
    [sent] = fake.sent
    assert out == {"message_id": sent["message_id"]}
    mail = Mail(from_email=("ops@acme.test", "Acme"), to_emails="ann@example.com",
                subject="Your refund", plain_text_content="It is on its way.",
                html_content="<p>It is on its way.</p>")
    mail.add_cc(Cc("bob@example.com", "Bob"))
    mail.reply_to = ReplyTo("help@acme.test")
    mail.add_custom_arg(CustomArg("seamline_idempotency_key", "k-1"))
    vendor.assert_sent("POST", "/v3/mail/send", headers={"Authorization": "Bearer SG.test-key"},
                       json=mail.get())


def test_the_fake_answers_sendgrids_own_client_as_sendgrid_does(vendor, fake):
    """The fake is checked against the vendor's SDK: same request accepted, same reply shape."""
    client = SendGridAPIClient(api_key="SG.test-key", host=vendor.url)
    response = client.send(Mail(from_email="ops@acme.test", to_emails="ann@example.com",
                                subject="Hi", plain_text_content="Hello"))
    assert response.status_code == 202 and response.body == b""
    assert response.headers["X-Message-Id"] == fake.sent[0]["message_id"]


def test_the_same_key_twice_sends_one_email(vendor, fake, store):
    c = sendgrid(vendor, store)
    assert c.send_email(PARAMS, idempotency_key="k") == c.send_email(PARAMS, idempotency_key="k")
    assert len(fake.sent) == 1


def test_after_a_crash_it_refuses_and_says_sendgrid_cannot_be_checked(vendor, fake, store):
    send_then_crash(store, "sendgrid", "send_email", {"base_url": vendor.url, **OPTIONS},
                    PARAMS, "k")
    assert len(fake.sent) == 1
    with pytest.raises(OutcomeUnknown, match="this vendor offers no way to check.*resolve the "
                                             "action by hand"):
        sendgrid(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert len(fake.sent) == 1
    SendLedger(store, "sendgrid").resolve("k", sent=True, note="seen in the activity feed")
    assert sendgrid(vendor, store).send_email(PARAMS, idempotency_key="k") == {
        "resolved_by_hand": True, "note": "seen in the activity feed"}
    assert len(fake.sent) == 1


def test_a_wrong_key_is_an_auth_failure_in_sendgrids_words(vendor, store):
    fake = SendGridFake(vendor, key="SG.other")
    with pytest.raises(VendorAuthFailed, match="401 to send_email: The provided authorization "
                                               "grant is invalid"):
        sendgrid(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert fake.sent == [] and SendLedger(store, "sendgrid").status("k") == "failed"


def test_a_refused_sender_names_the_field_and_a_retry_may_send(vendor, fake, store):
    c = sendgrid(vendor, store, sender="not an address")
    with pytest.raises(VendorRejected, match="400 to send_email: from.email: The from email does "
                                             "not contain a valid address"):
        c.send_email(PARAMS, idempotency_key="k")
    assert fake.sent == [] and SendLedger(store, "sendgrid").status("k") == "failed"
    sendgrid(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert len(fake.sent) == 1


def test_429_waits_until_x_ratelimit_reset_then_sends_once(vendor, fake, store, waits):
    # SendGrid's 429 says when the window resets (a Unix time), with no Retry-After.
    reset = int(time.time()) + 3
    fake.fail_next(Reply(429, {"errors": [{"field": None, "message": "too many requests"}]},
                         headers={"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                                  "X-RateLimit-Reset": str(reset)}))
    assert sendgrid(vendor, store, waits).send_email(PARAMS, idempotency_key="k")["message_id"]
    assert len(waits) == 1 and 2.0 <= waits[0] <= 3.0 and len(fake.sent) == 1


def test_a_202_without_x_message_id_is_unexpected_and_drift(vendor, fake, store, alerts):
    fake.fail_next(Reply(202, text=""))
    with pytest.raises(UnexpectedReply, match="without the X-Message-Id header"):
        sendgrid(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert ("missing", "x_message_id") in drifted(store, "sendgrid.send_email")
    assert SendLedger(store, "sendgrid").status("k") == "unknown"


def test_a_missing_key_is_a_sentence(vendor, store, monkeypatch):
    monkeypatch.delenv("SENDGRID_API_KEY")
    with pytest.raises(ConfigError, match="SENDGRID_API_KEY, which is not set"):
        sendgrid(vendor, store)
