"""postmark: e-mail once per key on our side, found again by its Metadata after a crash."""

from __future__ import annotations

import pytest
from crash import send_then_crash
from fakes_messaging import *  # registers the credentials fixture
from fakes_messaging import PostmarkFake
from vendor_fixtures import *  # registers the fixtures (see its docstring)
from vendor_fixtures import drifted

from seamline.connectors import (
    OutcomeUnknown,
    PostmarkConnector,
    SendLedger,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)
from seamline.connectors.testing import Reply, check_connector_class
from seamline.errors import ConfigError

PARAMS = {"to": ["ann@example.com", "bob@example.com"], "subject": "Your refund",
          "text": "It is on its way.", "html": "<p>It is on its way.</p>",
          "tags": {"flow": "refunds"}}
OPTIONS = {"sender": "ops@acme.test"}


@pytest.fixture
def fake(vendor):
    return PostmarkFake(vendor)


def postmark(vendor, store, waits=None, **options) -> PostmarkConnector:
    return PostmarkConnector({"base_url": vendor.url, **OPTIONS, **options}, store=store,
                             sleep=(waits.append if waits is not None else lambda s: None))


def test_the_class_keeps_the_contract():
    check_connector_class(PostmarkConnector)
    assert PostmarkConnector.idempotency == "ours"


def test_sends_postmarks_fields_with_the_server_token_and_our_metadata(vendor, fake, store):
    out = postmark(vendor, store).send_email(PARAMS, idempotency_key="k-1")
    [sent] = fake.sent
    assert out == {"message_id": sent["MessageID"], "to": "ann@example.com, bob@example.com"}
    vendor.assert_sent("POST", "/email", headers={
        "X-Postmark-Server-Token": "pm-server-test", "Accept": "application/json"}, json={
        "From": "ops@acme.test", "To": "ann@example.com, bob@example.com",
        "Subject": "Your refund", "MessageStream": "outbound", "TextBody": "It is on its way.",
        "HtmlBody": "<p>It is on its way.</p>",
        "Metadata": {"flow": "refunds", "seamline_key": "k-1"}})


def test_the_same_key_twice_sends_one_email(vendor, fake, store):
    c = postmark(vendor, store)
    assert c.send_email(PARAMS, idempotency_key="k") == c.send_email(PARAMS, idempotency_key="k")
    assert len(fake.sent) == 1


def test_after_a_crash_the_message_is_found_by_metadata_and_not_sent_again(vendor, fake, store):
    send_then_crash(store, "postmark", "send_email", {"base_url": vendor.url, **OPTIONS},
                    PARAMS, "k")
    assert len(fake.sent) == 1 and SendLedger(store, "postmark").status("k") == "sending"
    out = postmark(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert out == {"message_id": fake.sent[0]["MessageID"],
                   "to": "ann@example.com, bob@example.com", "recovered": True}
    search = vendor.assert_sent("GET", "/messages/outbound")
    assert search.query == {"count": ["50"], "offset": ["0"], "metadata_seamline_key": ["k"]}
    assert len(fake.sent) == 1 and SendLedger(store, "postmark").status("k") == "sent"


def test_after_a_crash_another_keys_message_is_not_taken_for_ours(vendor, fake, store):
    c = postmark(vendor, store)
    c.send_email(PARAMS, idempotency_key="other")
    fake.fail_next(Reply(500, {"ErrorCode": 0, "Message": "Internal server error"}))
    with pytest.raises(VendorUnavailable):
        c.send_email(PARAMS, idempotency_key="k")  # 500: Postmark may or may not have sent
    with pytest.raises(OutcomeUnknown, match="vendor shows no trace"):
        c.send_email(PARAMS, idempotency_key="k")
    assert len(fake.sent) == 1


def test_a_long_key_fits_postmarks_metadata_limit_and_is_found_again(vendor, fake, store):
    key = "refunds:" + "x" * 150
    send_then_crash(store, "postmark", "send_email", {"base_url": vendor.url, **OPTIONS},
                    PARAMS, key)
    assert len(fake.sent[0]["Metadata"]["seamline_key"]) <= 80
    assert postmark(vendor, store).send_email(PARAMS, idempotency_key=key)["recovered"]
    assert len(fake.sent) == 1


@pytest.mark.parametrize(("setup", "raised", "words"), [
    ("wrong_token", VendorAuthFailed, (r"401 to send_email: Request does not contain a valid "
                                       r"Server token. \(ErrorCode 10\)")),
    ("inactive", VendorRejected, r"marked as inactive. \(ErrorCode 406\)"),
])
def test_postmark_errors_become_sentences_and_may_be_retried(vendor, store, setup, raised, words):
    fake = PostmarkFake(vendor, token="other" if setup == "wrong_token" else "pm-server-test")
    fake.inactive.add("bob@example.com")
    with pytest.raises(raised, match=words):
        postmark(vendor, store).send_email(PARAMS, idempotency_key="k")
    assert fake.sent == [] and SendLedger(store, "postmark").status("k") == "failed"


def test_429_with_retry_after_is_honoured(vendor, fake, store, waits):
    fake.fail_next(Reply(429, {"ErrorCode": 429, "Message": "Rate limit exceeded"},
                         headers={"Retry-After": "2"}))
    assert postmark(vendor, store, waits).send_email(PARAMS, idempotency_key="k")["message_id"]
    assert waits == [2.0] and len(fake.sent) == 1


def test_a_200_without_a_message_id_is_unexpected_and_blocks_a_blind_resend(vendor, fake,
                                                                           store, alerts):
    fake.fail_next(Reply(200, {"ErrorCode": 0, "Message": "OK"}))
    c = postmark(vendor, store)
    with pytest.raises(UnexpectedReply, match="lacks MessageID"):
        c.send_email(PARAMS, idempotency_key="k")
    assert ("missing", "MessageID") in drifted(store, "postmark.send_email")
    assert SendLedger(store, "postmark").status("k") == "unknown"
    with pytest.raises(OutcomeUnknown, match="ended ambiguously"):
        c.send_email(PARAMS, idempotency_key="k")
    assert vendor.sent("POST", "/email") and len(vendor.sent("POST", "/email")) == 1


def test_a_200_with_a_nonzero_error_code_is_not_a_success(vendor, fake, store):
    fake.fail_next(Reply(200, {"MessageID": "m-1", "ErrorCode": 300, "Message": "Invalid"}))
    with pytest.raises(VendorRejected, match="ErrorCode 300"):
        postmark(vendor, store).send_email(PARAMS, idempotency_key="k")


def test_a_missing_token_is_a_sentence(vendor, store, monkeypatch):
    monkeypatch.delenv("POSTMARK_SERVER_TOKEN")
    with pytest.raises(ConfigError, match="POSTMARK_SERVER_TOKEN, which is not set"):
        postmark(vendor, store)
