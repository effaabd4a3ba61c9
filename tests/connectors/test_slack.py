"""slack: chat.postMessage, ok:false as failure, idempotency on our side with a history check."""

from __future__ import annotations

import pytest
from crash import send_then_crash
from vendor_fixtures import *  # registers the fixtures (see its docstring)
from vendor_fixtures import drifted

from seamline.connectors import (
    OutcomeUnknown,
    SendLedger,
    SlackConnector,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)
from seamline.connectors.testing import Reply
from seamline.errors import ConfigError

POSTED = {"ok": True, "channel": "C123", "ts": "1700000000.000100",
          "message": {"text": "hi", "type": "message"}}
PARAMS = {"text": "Refund approved for T-1", "channel": "C123"}


def slack(vendor, store, waits=None, **options) -> SlackConnector:
    return SlackConnector({"base_url": vendor.url, **options}, store=store,
                          sleep=(waits.append if waits is not None else lambda s: None))


def test_happy_path_posts_with_bearer_token_and_the_key_in_metadata(vendor, store):
    vendor.script("POST", "/chat.postMessage", Reply(200, POSTED))
    assert slack(vendor, store).post_message(PARAMS, idempotency_key="k-1") == {
        "channel": "C123", "ts": "1700000000.000100"}
    vendor.assert_sent("POST", "/chat.postMessage", headers={
        "Authorization": "Bearer xoxb-test", "User-Agent": "seamline-connector/slack (api web-api)"},
        json={**PARAMS, "metadata": {"event_type": "seamline_action",
                                     "event_payload": {"idempotency_key": "k-1"}}})


def test_the_default_channel_comes_from_the_options(vendor, store):
    vendor.script("POST", "/chat.postMessage", Reply(200, POSTED))
    slack(vendor, store, channel="C999").post_message({"text": "x"}, idempotency_key="k")
    assert vendor.sent()[0].json()["channel"] == "C999"


@pytest.mark.parametrize(("error", "raised"), [
    ("channel_not_found", VendorRejected), ("invalid_auth", VendorAuthFailed),
    ("ratelimited", VendorUnavailable)])
def test_ok_false_with_http_200_is_a_failure_never_a_success(vendor, store, error, raised):
    vendor.script("POST", "/chat.postMessage", Reply(200, {"ok": False, "error": error}))
    with pytest.raises(raised, match=f"ok: false, error '{error}'"):
        slack(vendor, store).post_message(PARAMS, idempotency_key="k")
    # Slack did not post: the ledger lets a later attempt send.
    assert SendLedger(store, "slack").status("k") == "failed"


def test_a_rejected_send_may_be_retried_and_then_acts_once(vendor, store):
    vendor.script("POST", "/chat.postMessage", Reply(200, {"ok": False, "error": "not_in_channel"}),
                  Reply(200, POSTED))
    c = slack(vendor, store)
    with pytest.raises(VendorRejected):
        c.post_message(PARAMS, idempotency_key="k")
    assert c.post_message(PARAMS, idempotency_key="k")["ts"] == POSTED["ts"]
    assert c.post_message(PARAMS, idempotency_key="k")["ts"] == POSTED["ts"]
    assert len(vendor.sent("POST", "/chat.postMessage")) == 2


def test_http_errors_are_sentences(vendor, store):
    vendor.script("POST", "/chat.postMessage", Reply(404, text="Not Found"))
    with pytest.raises(VendorRejected, match="slack answered 404 to post_message"):
        slack(vendor, store).post_message(PARAMS, idempotency_key="k")


def test_429_with_retry_after_is_honoured_then_succeeds(vendor, store, waits):
    vendor.script("POST", "/chat.postMessage",
                  Reply(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "3"}),
                  Reply(200, POSTED))
    assert slack(vendor, store, waits).post_message(PARAMS, idempotency_key="k")["ts"]
    assert waits == [3.0] and len(vendor.sent()) == 2


def test_the_same_key_twice_posts_once(vendor, store):
    vendor.script("POST", "/chat.postMessage", Reply(200, POSTED))
    c = slack(vendor, store)
    assert c.post_message(PARAMS, idempotency_key="k") == c.post_message(PARAMS, idempotency_key="k")
    assert len(vendor.sent("POST", "/chat.postMessage")) == 1


def crash_after_send(vendor, store) -> None:
    """The message was posted, then the process died before recording it."""
    vendor.script("POST", "/chat.postMessage", Reply(200, POSTED))
    send_then_crash(store, "slack", "post_message", {"base_url": vendor.url}, PARAMS, "k")
    assert SendLedger(store, "slack").status("k") == "sending"


def test_after_a_crash_the_history_shows_our_message_and_nothing_is_resent(vendor, store):
    crash_after_send(vendor, store)
    vendor.script("GET", "/conversations.history", Reply(200, {"ok": True, "messages": [
        {"type": "message", "ts": "1700000000.000050", "text": "other"},
        {"type": "message", "ts": POSTED["ts"], "text": "hi", "metadata": {
            "event_type": "seamline_action", "event_payload": {"idempotency_key": "k"}}}],
        "has_more": False}))
    assert slack(vendor, store).post_message(PARAMS, idempotency_key="k") == {
        "channel": "C123", "ts": POSTED["ts"], "recovered": True}
    history = vendor.assert_sent("GET", "/conversations.history")
    assert history.query["channel"] == ["C123"] and history.query["include_all_metadata"] == ["true"]
    assert len(vendor.sent("POST", "/chat.postMessage")) == 1
    assert SendLedger(store, "slack").status("k") == "sent"


def test_after_a_crash_with_no_trace_it_refuses_to_resend_blindly(vendor, store):
    crash_after_send(vendor, store)
    vendor.script("GET", "/conversations.history", Reply(200, {"ok": True, "messages": []}))
    with pytest.raises(OutcomeUnknown, match="may already have been done: the previous attempt "
                                             "was interrupted.*resolve the action by hand"):
        slack(vendor, store).post_message(PARAMS, idempotency_key="k")
    assert len(vendor.sent("POST", "/chat.postMessage")) == 1


def test_a_200_without_ts_is_unexpected_drift_and_blocks_a_blind_resend(vendor, store, alerts):
    vendor.script("POST", "/chat.postMessage", Reply(200, {"ok": True, "channel": "C123"}))
    vendor.script("GET", "/conversations.history", Reply(200, {"ok": True, "messages": []}))
    c = slack(vendor, store)
    with pytest.raises(UnexpectedReply, match="lacks ts"):
        c.post_message(PARAMS, idempotency_key="k")
    assert ("missing", "ts") in drifted(store, "slack.post_message")
    assert [a.path for a in alerts] == ["ts"]
    assert SendLedger(store, "slack").status("k") == "unknown"
    with pytest.raises(OutcomeUnknown, match="ended ambiguously"):
        c.post_message(PARAMS, idempotency_key="k")
    assert len(vendor.sent("POST", "/chat.postMessage")) == 1


def test_a_missing_token_and_a_missing_channel_are_sentences(vendor, store, monkeypatch):
    with pytest.raises(Exception, match="needs a channel"):
        slack(vendor, store).post_message({"text": "x"}, idempotency_key="k")
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    with pytest.raises(ConfigError, match="environment variable SLACK_BOT_TOKEN, which is not set"):
        slack(vendor, store)


def test_without_a_store_our_side_idempotency_cannot_be_kept(vendor):
    with pytest.raises(ConfigError, match="needs a store"):
        SlackConnector({"base_url": vendor.url}).post_message(PARAMS, idempotency_key="k")
