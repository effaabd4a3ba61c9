"""hubspot: CRM v3 record updates and notes, idempotency on our side."""

from __future__ import annotations

import pytest
from crash import send_then_crash
from vendor_fixtures import *  # registers the fixtures (see its docstring)
from vendor_fixtures import drifted

from seamline.connectors import (
    BadParams,
    HubSpotConnector,
    OutcomeUnknown,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
)
from seamline.connectors.testing import Reply
from seamline.errors import ConfigError

CONTACT = {"id": "501", "properties": {"lifecyclestage": "customer", "hs_object_id": "501"},
           "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-11-25T10:00:00Z",
           "archived": False}
NOTE = {"id": "9001", "properties": {"hs_note_body": "Refund sent"}, "archived": False}
UPDATE = {"id": "501", "properties": {"lifecyclestage": "customer"}}


def hubspot(vendor, store, waits=None, **options) -> HubSpotConnector:
    return HubSpotConnector({"base_url": vendor.url, **options}, store=store,
                            sleep=(waits.append if waits is not None else lambda s: None))


def test_update_record_patches_properties_with_the_token(vendor, store):
    vendor.script("PATCH", "/crm/v3/objects/contacts/501", Reply(200, CONTACT))
    out = hubspot(vendor, store).update_record(UPDATE, idempotency_key="k")
    assert out == {"id": "501", "updated_at": "2026-11-25T10:00:00Z"}
    vendor.assert_sent("PATCH", "/crm/v3/objects/contacts/501",
                       headers={"Authorization": "Bearer pat-test"},
                       json={"properties": {"lifecyclestage": "customer"}})


def test_add_note_creates_and_associates_it(vendor, store):
    vendor.script("POST", "/crm/v3/objects/notes", Reply(201, NOTE))
    out = hubspot(vendor, store).add_note({"id": "77", "object_type": "deals", "body": "Refund sent",
                                           "timestamp_ms": 1764000000000}, idempotency_key="k")
    assert out == {"id": "9001"}
    vendor.assert_sent("POST", "/crm/v3/objects/notes", json={
        "properties": {"hs_note_body": "Refund sent", "hs_timestamp": "1764000000000"},
        "associations": [{"to": {"id": "77"}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}]}]})


@pytest.mark.parametrize(("status", "body", "raised", "words"), [
    (401, {"status": "error", "message": "Authentication credentials not found.",
           "correlationId": "c-1", "category": "INVALID_AUTHENTICATION"},
     VendorAuthFailed, "Authentication credentials not found. \\(INVALID_AUTHENTICATION\\)"),
    (404, {"status": "error", "message": "resource not found", "correlationId": "c-2",
           "category": "OBJECT_NOT_FOUND"}, VendorRejected, "resource not found"),
    (400, {"status": "error", "message": "Property values were not valid",
           "correlationId": "c-3", "category": "VALIDATION_ERROR",
           "errors": [{"message": "Property \"x\" does not exist", "code": "PROPERTY_DOESNT_EXIST"}]},
     VendorRejected, "Property values were not valid"),
])
def test_hubspot_error_bodies_become_sentences(vendor, store, status, body, raised, words):
    vendor.script("PATCH", "/crm/v3/objects/contacts/501", Reply(status, body))
    with pytest.raises(raised, match=words):
        hubspot(vendor, store).update_record(UPDATE, idempotency_key="k")


def test_429_with_retry_after_is_honoured(vendor, store, waits):
    vendor.script("POST", "/crm/v3/objects/notes",
                  Reply(429, {"status": "error", "message": "You have reached your secondly limit.",
                              "category": "RATE_LIMITS"}, headers={"Retry-After": "1"}),
                  Reply(201, NOTE))
    assert hubspot(vendor, store, waits).add_note({"id": "1", "body": "b"}, idempotency_key="k")
    assert waits == [1.0]


def test_the_same_key_twice_adds_one_note(vendor, store):
    vendor.script("POST", "/crm/v3/objects/notes", Reply(201, NOTE))
    c = hubspot(vendor, store)
    for _ in range(3):
        assert c.add_note({"id": "1", "body": "b"}, idempotency_key="k") == {"id": "9001"}
    assert len(vendor.sent("POST", "/crm/v3/objects/notes")) == 1


def test_a_note_interrupted_by_a_crash_is_not_added_again(vendor, store):
    vendor.script("POST", "/crm/v3/objects/notes", Reply(201, NOTE))
    send_then_crash(store, "hubspot", "add_note", {"base_url": vendor.url},
                    {"id": "1", "body": "b"}, "k")
    with pytest.raises(OutcomeUnknown, match="this vendor offers no way to check"):
        hubspot(vendor, store).add_note({"id": "1", "body": "b"}, idempotency_key="k")
    assert len(vendor.sent("POST", "/crm/v3/objects/notes")) == 1


def test_an_update_interrupted_by_a_crash_is_confirmed_by_reading_the_record(vendor, store):
    vendor.script("PATCH", "/crm/v3/objects/contacts/501", Reply(200, CONTACT))
    vendor.script("GET", "/crm/v3/objects/contacts/501", Reply(200, CONTACT))
    send_then_crash(store, "hubspot", "update_record", {"base_url": vendor.url}, UPDATE, "k")
    out = hubspot(vendor, store).update_record(UPDATE, idempotency_key="k")
    assert out["recovered"] is True
    assert vendor.assert_sent("GET", "/crm/v3/objects/contacts/501").query == {
        "properties": ["lifecyclestage"]}
    assert len(vendor.sent("PATCH")) == 1


def test_a_200_without_an_id_is_unexpected_and_drift(vendor, store, alerts):
    vendor.script("PATCH", "/crm/v3/objects/contacts/501", Reply(200, {"results": []}))
    with pytest.raises(UnexpectedReply, match="lacks id"):
        hubspot(vendor, store).update_record(UPDATE, idempotency_key="k")
    assert drifted(store, "hubspot.update_record") == [("missing", "id")]
    assert alerts


def test_bad_params_and_missing_token(vendor, store, monkeypatch):
    with pytest.raises(BadParams, match="properties"):
        hubspot(vendor, store).update_record({"id": "1"}, idempotency_key="k")
    with pytest.raises(BadParams, match="not 'invoices'"):
        hubspot(vendor, store).add_note({"id": "1", "body": "b", "object_type": "invoices"},
                                        idempotency_key="k")
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    with pytest.raises(ConfigError, match="HUBSPOT_ACCESS_TOKEN, which is not set"):
        hubspot(vendor, store)
