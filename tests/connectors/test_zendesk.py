"""zendesk: ticket updates and comments, idempotency on our side checked against audits.

The key travels as ``ticket.metadata`` and Zendesk keeps it in the audit's
``metadata.custom`` (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/,
"Setting Metadata"); ``FakeZendesk`` stores it there, so recovery is tested against that.
"""

from __future__ import annotations

import base64

import httpx
import pytest
from crash import send_then_crash
from fake_zendesk import FakeZendesk
from vendor_fixtures import *  # registers the fixtures (see its docstring)
from vendor_fixtures import drifted

from seamline.connectors import (
    OutcomeUnknown,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    ZendeskConnector,
)
from seamline.connectors.testing import Reply
from seamline.errors import ConfigError

UPDATED = {"ticket": {"id": 35436, "status": "open", "priority": "high"},
           "audit": {"id": 777, "ticket_id": 35436, "events": [{"type": "Comment"}]}}
PARAMS = {"id": 35436, "comment": "We have refunded you.", "public": True, "priority": "high"}
BASIC = "Basic " + base64.b64encode(b"agent@example.com/token:zd-test").decode()


def zendesk(vendor, store, waits=None, **options) -> ZendeskConnector:
    return ZendeskConnector({"base_url": vendor.url, **options}, store=store,
                            sleep=(waits.append if waits is not None else lambda s: None))


def test_update_ticket_puts_the_comment_fields_and_key(vendor, store):
    vendor.script("PUT", "/api/v2/tickets/35436.json", Reply(200, UPDATED))
    out = zendesk(vendor, store).update_ticket(PARAMS, idempotency_key="k")
    assert out == {"ticket_id": 35436, "audit_id": 777}
    vendor.assert_sent("PUT", "/api/v2/tickets/35436.json", headers={"Authorization": BASIC},
                       json={"ticket": {"priority": "high", "comment": {
                           "body": "We have refunded you.", "public": True},
                           "metadata": {"seamline_idempotency_key": "k"}}})


def test_the_key_is_kept_on_the_audit_zendesk_creates(vendor, store):
    zd = FakeZendesk(vendor)
    out = zendesk(vendor, store).update_ticket(
        {**PARAMS, "fields": {"metadata": {"time_spent": "4m"}}}, idempotency_key="k")
    [update] = zd.updates
    assert out == {"ticket_id": 35436, "audit_id": update["audit_id"]}
    assert zd.audits[35436][-1]["metadata"]["custom"] == {"time_spent": "4m",
                                                         "seamline_idempotency_key": "k"}


def test_the_fake_ignores_metadata_beside_the_ticket_as_zendesk_does(vendor):
    # The shape the connector used to send: Zendesk keeps nothing of it, so after a crash
    # the key could never be found. The fake must not be kinder than Zendesk.
    zd = FakeZendesk(vendor)
    httpx.put(f"{vendor.url}/api/v2/tickets/35436.json", json={
        "ticket": {"comment": {"body": "x"}}, "metadata": {"custom": {"seamline_idempotency_key": "k"}}})
    assert [a["metadata"]["custom"] for a in zd.audits[35436]] == [{}]


def test_add_comment_is_a_private_comment_by_default(vendor, store):
    vendor.script("PUT", "/api/v2/tickets/1.json", Reply(200, {**UPDATED, "ticket": {"id": 1}}))
    zendesk(vendor, store).add_comment({"id": 1, "body": "internal"}, idempotency_key="k")
    assert vendor.sent()[0].json()["ticket"] == {"comment": {"body": "internal", "public": False},
                                                 "metadata": {"seamline_idempotency_key": "k"}}


@pytest.mark.parametrize(("status", "body", "raised", "words"), [
    (401, {"error": "Couldn't authenticate you"}, VendorAuthFailed, "Couldn't authenticate you"),
    (404, {"error": "RecordNotFound", "description": "Not found"}, VendorRejected,
     "RecordNotFound: Not found"),
    (422, {"error": "RecordInvalid", "description": "Record validation errors", "details": {
        "status": [{"description": "Status: closed prevents ticket update", "error": "InvalidValue"}]}},
     VendorRejected, "closed prevents ticket update"),
])
def test_zendesk_error_bodies_become_sentences(vendor, store, status, body, raised, words):
    vendor.script("PUT", "/api/v2/tickets/35436.json", Reply(status, body))
    with pytest.raises(raised, match=words):
        zendesk(vendor, store).update_ticket(PARAMS, idempotency_key="k")


def test_429_with_retry_after_is_honoured(vendor, store, waits):
    vendor.script("PUT", "/api/v2/tickets/35436.json",
                  Reply(429, {"error": "TooManyRequests"}, headers={"Retry-After": "7"}),
                  Reply(200, UPDATED))
    assert zendesk(vendor, store, waits).update_ticket(PARAMS, idempotency_key="k")
    assert waits == [7.0]


def test_the_same_key_twice_updates_once(vendor, store):
    vendor.script("PUT", "/api/v2/tickets/35436.json", Reply(200, UPDATED))
    c = zendesk(vendor, store)
    assert c.update_ticket(PARAMS, idempotency_key="k") == c.update_ticket(PARAMS, idempotency_key="k")
    assert len(vendor.sent("PUT")) == 1


def test_after_a_crash_the_audit_carrying_our_key_is_found_and_nothing_resent(vendor, store):
    zd = FakeZendesk(vendor)
    send_then_crash(store, "zendesk", "update_ticket", {"base_url": vendor.url}, PARAMS, "k")
    [update] = zd.updates  # the crashed attempt did act, once
    zd.add_audits(35436, 3)  # and others updated the ticket since
    out = zendesk(vendor, store).update_ticket(PARAMS, idempotency_key="k")
    assert out == {"ticket_id": 35436, "audit_id": update["audit_id"], "recovered": True}
    assert len(vendor.sent("PUT")) == 1 and len(zd.updates) == 1
    vendor.assert_sent("GET", "/api/v2/tickets/35436/audits.json")


def test_after_a_crash_our_audit_is_found_on_a_later_page(vendor, store):
    zd = FakeZendesk(vendor)
    zd.add_audits(35436, 230)  # ours is the 231st: the third page of 100
    send_then_crash(store, "zendesk", "update_ticket", {"base_url": vendor.url}, PARAMS, "k")
    out = zendesk(vendor, store).update_ticket(PARAMS, idempotency_key="k")
    assert out["recovered"] is True and out["audit_id"] == zd.updates[0]["audit_id"]
    pages = vendor.sent("GET", "/api/v2/tickets/35436/audits.json")
    assert [r.query.get("page[size]") for r in pages] == [["100"]] * 3
    assert "page[after]" not in pages[0].query and "page[after]" in pages[2].query
    assert len(zd.updates) == 1


def test_after_a_crash_without_our_audit_it_refuses(vendor, store):
    vendor.script("PUT", "/api/v2/tickets/35436.json", Reply(200, UPDATED))
    vendor.script("GET", "/api/v2/tickets/35436/audits.json", Reply(200, {"audits": []}))
    send_then_crash(store, "zendesk", "update_ticket", {"base_url": vendor.url}, PARAMS, "k")
    with pytest.raises(OutcomeUnknown, match="vendor shows no trace"):
        zendesk(vendor, store).update_ticket(PARAMS, idempotency_key="k")
    assert len(vendor.sent("PUT")) == 1


def test_a_200_without_the_ticket_is_unexpected_and_drift(vendor, store, alerts):
    vendor.script("PUT", "/api/v2/tickets/35436.json", Reply(200, {"job_status": {"id": "j"}}))
    with pytest.raises(UnexpectedReply, match="lacks ticket.id"):
        zendesk(vendor, store).update_ticket(PARAMS, idempotency_key="k")
    assert ("missing", "ticket.id") in drifted(store, "zendesk.update_ticket")


def test_subdomain_and_credentials(vendor, store, monkeypatch):
    with pytest.raises(ConfigError, match="needs the option subdomain"):
        ZendeskConnector({}, store=store)
    c = ZendeskConnector({"subdomain": "acme"}, store=store)
    assert str(c._http.client.base_url) == "https://acme.zendesk.com"
    monkeypatch.delenv("ZENDESK_API_TOKEN")
    with pytest.raises(ConfigError, match="ZENDESK_API_TOKEN, which is not set"):
        zendesk(vendor, store)
