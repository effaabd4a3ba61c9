"""twilio: SMS once per key on our side, found again in the message list after a crash."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from crash import send_then_crash
from fakes_messaging import *  # registers the credentials fixture
from fakes_messaging import TWILIO_SID, TwilioFake
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    BadParams,
    OutcomeUnknown,
    SendLedger,
    TwilioConnector,
    VendorAuthFailed,
    VendorRejected,
)
from seamline.connectors.testing import Reply, check_connector_class
from seamline.errors import ConfigError

PARAMS = {"to": "+15558675310", "body": "Your refund is on its way."}
OPTIONS = {"from_number": "+15017122661"}
BASIC = "Basic " + base64.b64encode(f"{TWILIO_SID}:tw-auth-test".encode()).decode()


@pytest.fixture
def fake(vendor):
    return TwilioFake(vendor)


def twilio(vendor, store, waits=None, **options) -> TwilioConnector:
    return TwilioConnector({"base_url": vendor.url, **OPTIONS, **options}, store=store,
                           sleep=(waits.append if waits is not None else lambda s: None))


def crash_after_send(vendor, store, key="k", params=PARAMS) -> None:
    send_then_crash(store, "twilio", "send_sms", {"base_url": vendor.url, **OPTIONS}, params, key)
    assert SendLedger(store, "twilio").status(key) == "sending"


def test_the_class_keeps_the_contract():
    check_connector_class(TwilioConnector)


def test_sends_a_form_with_basic_auth_to_the_accounts_messages(vendor, fake, store):
    out = twilio(vendor, store).send_sms(PARAMS, idempotency_key="k-1")
    [message] = fake.messages
    assert out == {"sid": message["sid"], "status": "queued", "to": "+15558675310"}
    vendor.assert_sent("POST", fake.path, headers={
        "Authorization": BASIC, "Content-Type": "application/x-www-form-urlencoded"},
        form={"To": "+15558675310", "From": "+15017122661", "Body": "Your refund is on its way."})


def test_our_request_is_the_one_twilios_own_sdk_makes_and_the_fake_answers_it(vendor, fake,
                                                                             store):
    """The fake is checked against the vendor's SDK: it parses the fake's reply as Twilio's."""

    class ToTheFake(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            return super().request(method, url.replace("https://api.twilio.com", vendor.url),
                                   *args, **kwargs)

    sdk = Client(TWILIO_SID, "tw-auth-test", http_client=ToTheFake())
    made = sdk.messages.create(to="+15558675310", from_="+15017122661",
                               body="Your refund is on its way.")
    assert made.sid == fake.messages[0]["sid"] and made.status == "queued"
    twilio(vendor, store).send_sms(PARAMS, idempotency_key="k")
    theirs, ours = vendor.sent("POST", fake.path)
    assert ours.form() == theirs.form()
    assert ours.headers["authorization"] == theirs.headers["authorization"] == BASIC


def test_the_same_key_twice_sends_one_message(vendor, fake, store):
    c = twilio(vendor, store)
    assert c.send_sms(PARAMS, idempotency_key="k") == c.send_sms(PARAMS, idempotency_key="k")
    assert len(fake.messages) == 1


def test_after_a_crash_the_message_list_shows_ours_and_nothing_is_resent(vendor, fake, store):
    crash_after_send(vendor, store)
    assert len(fake.messages) == 1
    out = twilio(vendor, store).send_sms(PARAMS, idempotency_key="k")
    assert out == {"sid": fake.messages[0]["sid"], "status": "queued", "to": "+15558675310",
                   "recovered": True}
    listed = vendor.assert_sent("GET", fake.path)
    assert listed.query == {"To": ["+15558675310"], "PageSize": ["50"], "From": ["+15017122661"]}
    assert len(fake.messages) == 1 and SendLedger(store, "twilio").status("k") == "sent"


def test_a_message_another_key_recorded_is_not_taken_for_ours(vendor, fake, store):
    twilio(vendor, store).send_sms(PARAMS, idempotency_key="earlier")  # same text, same number
    crash_after_send(vendor, store, key="k")
    out = twilio(vendor, store).send_sms(PARAMS, idempotency_key="k")
    assert out["recovered"] and out["sid"] == fake.messages[-1]["sid"]
    assert len(fake.messages) == 2


def test_two_unrecorded_candidates_are_left_to_a_person(vendor, fake, store):
    fake.add(to=PARAMS["to"], from_=OPTIONS["from_number"], body=PARAMS["body"],
             created=datetime.now(UTC))  # sent by something else just now
    crash_after_send(vendor, store)
    with pytest.raises(OutcomeUnknown, match="vendor shows no trace"):
        twilio(vendor, store).send_sms(PARAMS, idempotency_key="k")
    assert len(fake.messages) == 2


def test_a_message_older_than_the_attempt_is_not_ours(vendor, fake, store):
    fake.add(to=PARAMS["to"], from_=OPTIONS["from_number"], body=PARAMS["body"],
             created=datetime.now(UTC) - timedelta(hours=2))
    fake.fail_next(TwilioFake.error(500, 20500, "Internal Server Error"))
    c = twilio(vendor, store)
    with pytest.raises(Exception, match="answered 500"):
        c.send_sms(PARAMS, idempotency_key="k")
    with pytest.raises(OutcomeUnknown):
        c.send_sms(PARAMS, idempotency_key="k")
    assert len(fake.messages) == 1


def test_ours_is_found_on_a_later_page(vendor, fake, store):
    crash_after_send(vendor, store)
    for n in range(60):  # newer messages to the same number push ours to page 2
        fake.add(to=PARAMS["to"], from_=OPTIONS["from_number"], body=f"other {n}",
                 created=datetime.now(UTC))
    out = twilio(vendor, store).send_sms(PARAMS, idempotency_key="k")
    assert out["recovered"] and out["sid"] == fake.messages[0]["sid"]
    assert len(vendor.sent("GET", fake.path)) == 2 and len(fake.messages) == 61


def test_twilio_errors_become_sentences_and_may_be_retried(vendor, fake, store):
    with pytest.raises(VendorRejected, match=r"400 to send_sms: Invalid 'To' Phone Number: 555 "
                                             r"\(Twilio error 21211\)"):
        twilio(vendor, store).send_sms({**PARAMS, "to": "555"}, idempotency_key="k")
    assert SendLedger(store, "twilio").status("k") == "failed" and fake.messages == []


def test_a_wrong_token_is_an_auth_failure(vendor, store):
    TwilioFake(vendor, token="another")
    with pytest.raises(VendorAuthFailed, match=r"Authenticate \(Twilio error 20003\)"):
        twilio(vendor, store).send_sms(PARAMS, idempotency_key="k")


def test_429_with_retry_after_is_honoured(vendor, fake, store, waits):
    fake.fail_next(TwilioFake.error(429, 20429, "Too Many Requests"))
    fake.fail_next(Reply(429, {"code": 20429, "message": "Too Many Requests", "status": 429},
                         headers={"Retry-After": "2"}))
    assert twilio(vendor, store, waits).send_sms(PARAMS, idempotency_key="k")["sid"]
    assert len(waits) == 2 and waits[1] == 2.0 and len(fake.messages) == 1


def test_the_account_sid_is_checked_before_it_goes_into_the_path(vendor, store, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", f"{TWILIO_SID}/../../Calls")
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID, and its value is not one"):
        twilio(vendor, store)
    assert vendor.sent() == []


def test_a_message_needs_a_sender_and_content(vendor, fake, store):
    with pytest.raises(BadParams, match="needs a sender"):
        twilio(vendor, store, from_number=None).send_sms(PARAMS, idempotency_key="k")
    with pytest.raises(BadParams, match="needs a body or a media_url"):
        twilio(vendor, store).send_sms({"to": "+15558675310"}, idempotency_key="k")
    assert vendor.sent() == []


def test_a_messaging_service_sends_without_a_from(vendor, fake, store):
    out = twilio(vendor, store, from_number=None, messaging_service_sid="MG" + "1" * 32).send_sms(
        PARAMS, idempotency_key="k")
    assert out["sid"] == fake.messages[0]["sid"]
    sent = vendor.assert_sent("POST", fake.path).form()
    assert sent["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in sent
