"""intercom: contacts upserted by external_id, conversation replies and notes (Intercom-Version 2.11).

The fake (fakes_crm.FakeIntercom) follows
https://developers.intercom.com/docs/references/rest-api/api.intercom.io/ and keeps contacts
and conversation parts, so "no second effect" is counted at the vendor.
"""

from __future__ import annotations

import time

import pytest
from crash import send_then_crash
from fakes_crm import *  # registers the fixtures (see its docstring)
from fakes_crm import FakeIntercom, crash_after, segments
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    BadParams,
    IntercomConnector,
    OutcomeUnknown,
    VendorAuthFailed,
    VendorRejected,
    installed,
)
from seamline.connectors.testing import check_connector_class

ADMIN = "814860"
ADA = {"external_id": "cust-42", "email": "ada@example.com", "name": "Ada",
       "custom_attributes": {"plan": "pro"}}


@pytest.fixture
def ic(vendor):
    fake = FakeIntercom(vendor)
    fake.conversation("1911")
    return fake


def intercom(vendor, store, waits=None, **options) -> IntercomConnector:
    return IntercomConnector({"base_url": vendor.url, "admin_id": ADMIN, **options}, store=store,
                             sleep=(waits.append if waits is not None else lambda s: None))


def test_the_class_keeps_the_contract_and_is_installed():
    check_connector_class(IntercomConnector)
    assert installed()["intercom"] is IntercomConnector


def test_upsert_contact_creates_then_updates_the_same_contact(vendor, store, ic):
    c = intercom(vendor, store)
    first = c.upsert_contact(ADA, idempotency_key="k1")
    second = c.upsert_contact({**ADA, "name": "Ada L."}, idempotency_key="k2")
    [contact] = ic.contacts.values()
    assert first == {"id": contact["id"], "created": True}
    assert second == {"id": contact["id"], "created": False}
    assert (contact["name"], contact["role"], contact["external_id"]) == ("Ada L.", "user",
                                                                          "cust-42")
    vendor.assert_sent("POST", "/contacts/search", times=2, headers={
        "Authorization": "Bearer ic-token", "Intercom-Version": "2.11"}, json={
        "query": {"field": "external_id", "operator": "=", "value": "cust-42"}})
    assert set(ic.versions) == {"2.11"}


def test_a_conflict_from_a_lagging_search_updates_the_existing_contact(vendor, store, ic):
    ic.search_lag = True
    c = intercom(vendor, store)
    first = c.upsert_contact(ADA, idempotency_key="k1")
    again = c.upsert_contact({**ADA, "phone": "+441234"}, idempotency_key="k2")
    assert again == {"id": first["id"], "created": False}
    assert ic.count("create") == 1 and ic.contacts[first["id"]]["phone"] == "+441234"


def test_reply_and_note_post_the_documented_bodies(vendor, store, ic):
    c = intercom(vendor, store)
    out = c.reply_to_conversation({"id": "1911", "body": "Refund sent."}, idempotency_key="k1")
    c.add_conversation_note({"id": "1911", "body": "Checked in Stripe"}, idempotency_key="k2")
    first, second = ic.conversation("1911")
    assert out == {"conversation_id": "1911", "part_id": first["id"]}
    assert (first["part_type"], second["part_type"]) == ("comment", "note")
    vendor.assert_sent("POST", "/conversations/1911/reply", times=2, json={
        "message_type": "note", "type": "admin", "admin_id": ADMIN, "body": "Checked in Stripe"})


def test_the_same_key_twice_replies_once(vendor, store, ic):
    c = intercom(vendor, store)
    for _ in range(3):
        c.reply_to_conversation({"id": "1911", "body": "Hi"}, idempotency_key="k")
    assert ic.count("comment") == 1


def test_intercom_error_lists_become_sentences(vendor, store, ic, monkeypatch):
    c = intercom(vendor, store)
    with pytest.raises(VendorRejected, match="404 to reply_to_conversation: not_found: "
                                             "Resource Not Found"):
        c.reply_to_conversation({"id": "404", "body": "x"}, idempotency_key="k1")
    with pytest.raises(VendorRejected, match="admin_not_found"):
        c.add_conversation_note({"id": "1911", "body": "x", "admin_id": "1"}, idempotency_key="k2")
    with pytest.raises(BadParams, match="needs admin_id"):
        IntercomConnector({"base_url": vendor.url}, store=store).reply_to_conversation(
            {"id": "1911", "body": "x"}, idempotency_key="k3")
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", "revoked")
    with pytest.raises(VendorAuthFailed, match="unauthorized: Access Token Invalid"):
        intercom(vendor, store).upsert_contact(ADA, idempotency_key="k4")
    assert ic.effects == []


def test_a_429_waits_until_x_ratelimit_reset(vendor, store, ic, waits):
    ic.throttle(reset_in_s=5)
    intercom(vendor, store, waits).upsert_contact(ADA, idempotency_key="k")
    assert len(waits) == 1 and 4 <= waits[0] <= 6
    assert ic.count("create") == 1


# -- crash after the vendor acted, before we recorded it ---------------------------------


def test_an_upsert_interrupted_by_a_crash_creates_no_second_contact(vendor, store, ic):
    options = {"base_url": vendor.url, "admin_id": ADMIN}
    crash_after(store, "intercom", "upsert_contact", options, ADA, "k", method="POST",
                path="/contacts")
    assert ic.count("create") == 1
    out = intercom(vendor, store).upsert_contact(ADA, idempotency_key="k")
    assert out["created"] is False and ic.count("create") == 1 and len(ic.contacts) == 1


def test_a_reply_interrupted_by_a_crash_is_found_in_the_conversation(vendor, store, ic):
    options = {"base_url": vendor.url, "admin_id": ADMIN}
    params = {"id": "1911", "body": "Your refund is on its way."}
    ic.add_part("1911", "comment", params["body"], ADMIN, time.time() - 7200)  # an old twin
    send_then_crash(store, "intercom", "reply_to_conversation", options, params, "k")
    ours = ic.conversation("1911")[-1]
    ic.add_part("1911", "comment", "Thanks!", "999", time.time())  # the customer's answer
    out = intercom(vendor, store).reply_to_conversation(params, idempotency_key="k")
    assert out == {"conversation_id": "1911", "part_id": ours["id"], "recovered": True}
    assert ic.count("comment") == 1
    assert vendor.assert_sent("GET", "/conversations/1911").query == {
        "display_as": ["plaintext"]}


def test_a_note_whose_part_is_absent_after_a_crash_is_refused(vendor, store, ic):
    options = {"base_url": vendor.url, "admin_id": ADMIN}
    params = {"id": "1911", "body": "Internal: VIP"}
    send_then_crash(store, "intercom", "add_conversation_note", options, params, "k")
    ic.conversations["1911"] = []  # the part was deleted meanwhile
    with pytest.raises(OutcomeUnknown, match="vendor shows no trace"):
        intercom(vendor, store).add_conversation_note(params, idempotency_key="k")
    assert ic.count("note") == 1


def test_an_update_interrupted_by_a_crash_is_confirmed_by_reading_it_back(vendor, store, ic):
    cid = intercom(vendor, store).upsert_contact(ADA, idempotency_key="k0")["id"]
    params = {"id": cid, "name": "Ada King", "custom_attributes": {"plan": "team"}}
    send_then_crash(store, "intercom", "update_contact", {"base_url": vendor.url}, params, "k")
    out = intercom(vendor, store).update_contact(params, idempotency_key="k")
    assert out == {"id": cid, "recovered": True} and ic.count("update") == 1


# -- model output in URL paths ----------------------------------------------------------


@pytest.mark.parametrize("bad", ["1/../../contacts", "..", "%2e%2e", "%252e%252e"])
def test_an_id_that_moves_along_the_path_never_reaches_the_vendor(vendor, store, ic, bad):
    with pytest.raises(BadParams, match="would move along the path"):
        intercom(vendor, store).reply_to_conversation({"id": bad, "body": "x"},
                                                      idempotency_key="k")
    assert vendor.sent() == []


def test_a_slash_in_a_conversation_id_stays_in_one_segment(vendor, store, ic):
    with pytest.raises(VendorRejected, match="not_found"):
        intercom(vendor, store).reply_to_conversation({"id": "1911/reply?x=1", "body": "x"},
                                                      idempotency_key="k")
    [request] = vendor.sent()
    assert segments(request.path) == ["conversations", "1911/reply?x=1", "reply"]
    assert ic.effects == []


def test_region_picks_the_base_url(store):
    assert str(IntercomConnector({"region": "eu"}, store=store)._http.client.base_url) == \
        "https://api.eu.intercom.io"
