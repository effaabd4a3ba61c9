"""hubspot: create_record, upsert_record (batch upsert by a unique property), associate (v4).

The fake (fakes_crm.FakeHubSpot) follows HubSpot's CRM v3 objects, search and v4
associations pages (named in its docstring) and keeps records and associations, so
"no second effect" is counted at the vendor.
"""

from __future__ import annotations

import time

import pytest
from crash import send_then_crash
from fakes_crm import *  # registers the fixtures (see its docstring)
from fakes_crm import FakeHubSpot, segments
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    BadParams,
    HubSpotConnector,
    OutcomeUnknown,
    VendorRejected,
)
from seamline.connectors.testing import Reply, check_connector_class

ADA = {"email": "ada@example.com", "firstname": "Ada", "lifecyclestage": "lead"}


@pytest.fixture
def hs(vendor):
    return FakeHubSpot(vendor)


def hubspot(vendor, store, waits=None, **options) -> HubSpotConnector:
    return HubSpotConnector({"base_url": vendor.url, **options}, store=store,
                            sleep=(waits.append if waits is not None else lambda s: None))


def test_the_new_operations_keep_the_contract():
    check_connector_class(HubSpotConnector)
    assert {"create_record", "upsert_record", "associate"} <= set(HubSpotConnector.operations)


def test_upsert_by_email_creates_then_updates_one_contact(vendor, store, hs):
    c = hubspot(vendor, store)
    first = c.upsert_record({"id_property": "email", "id": "ada@example.com",
                             "properties": {"firstname": "Ada"}}, idempotency_key="k1")
    again = c.upsert_record({"id_property": "email", "id": "ada@example.com",
                             "properties": {"lifecyclestage": "customer"}}, idempotency_key="k2")
    [contact] = hs.of("contacts")
    assert first == {"id": contact["id"], "created": True}
    assert again == {"id": contact["id"], "created": False}
    assert contact["properties"]["lifecyclestage"] == "customer"
    vendor.assert_sent("POST", "/crm/v3/objects/contacts/batch/upsert", times=2,
                       headers={"Authorization": "Bearer pat-test"}, json={"inputs": [
                           {"idProperty": "email", "id": "ada@example.com",
                            "properties": {"lifecyclestage": "customer"}}]})


def test_upsert_by_a_property_that_is_not_unique_is_refused_with_hubspots_words(vendor, store,
                                                                               hs):
    with pytest.raises(VendorRejected, match="Property name is not a unique identifier"):
        hubspot(vendor, store).upsert_record({"object_type": "companies", "id_property": "name",
                                              "id": "Acme"}, idempotency_key="k")
    assert hs.effects == []


def test_create_record_with_an_association(vendor, store, hs):
    company = hs.add("companies", time.time(), name="Acme")
    out = hubspot(vendor, store).create_record({"object_type": "deals", "properties": {
        "dealname": "Renewal", "amount": "1200"}, "associations": [
        {"to_id": company["id"], "type_id": 341}]}, idempotency_key="k")
    [deal] = hs.of("deals")
    assert out == {"id": deal["id"]}
    vendor.assert_sent("POST", "/crm/v3/objects/deals", json={
        "properties": {"dealname": "Renewal", "amount": "1200"},
        "associations": [{"to": {"id": company["id"]}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]}]})


def test_associate_default_and_labelled_twice_leaves_one_each(vendor, store, hs):
    contact, company = hs.add("contacts", time.time(), **ADA), hs.add("companies", time.time())
    c = hubspot(vendor, store)
    params = {"from_type": "contacts", "from_id": contact["id"], "to_type": "companies",
              "to_id": company["id"]}
    for key in ("k1", "k2"):
        assert c.associate(params, idempotency_key=key) == {"from_id": contact["id"],
                                                           "to_id": company["id"]}
        c.associate({**params, "type_id": 1, "category": "USER_DEFINED"},
                    idempotency_key=key + "l")
    assert hs.count("associate") == 2
    vendor.assert_sent("PUT", f"/crm/v4/objects/contacts/{contact['id']}/associations/default/"
                       f"companies/{company['id']}", times=2)
    vendor.assert_sent("PUT", f"/crm/v4/objects/contacts/{contact['id']}/associations/"
                       f"companies/{company['id']}", times=2,
                       json=[{"associationCategory": "USER_DEFINED", "associationTypeId": 1}])


def test_associating_a_missing_record_is_refused(vendor, store, hs):
    with pytest.raises(VendorRejected, match="contacts 9 does not exist"):
        hubspot(vendor, store).associate({"from_type": "contacts", "from_id": 9,
                                          "to_type": "companies", "to_id": 8},
                                         idempotency_key="k")


def test_a_429_without_retry_after_backs_off_then_succeeds(vendor, store, hs, waits):
    hs.interrupt(Reply(429, {"status": "error", "message": "You have reached your secondly "
                             "limit.", "category": "RATE_LIMITS"},
                       headers={"X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                                "X-HubSpot-RateLimit-Max": "100",
                                "X-HubSpot-RateLimit-Remaining": "0"}))
    hubspot(vendor, store, waits).upsert_record({"id_property": "email", "id": "a@b.c"},
                                                idempotency_key="k")
    assert len(waits) == 1 and hs.count("create") == 1


# -- crash after the vendor acted, before we recorded it ---------------------------------


def test_an_upsert_interrupted_by_a_crash_creates_no_second_record(vendor, store, hs):
    params = {"id_property": "email", "id": "ada@example.com", "properties": {"firstname": "A"}}
    send_then_crash(store, "hubspot", "upsert_record", {"base_url": vendor.url}, params, "k")
    out = hubspot(vendor, store).upsert_record(params, idempotency_key="k")
    assert out["created"] is False and len(hs.of("contacts")) == 1 and hs.count("create") == 1


def test_a_create_interrupted_by_a_crash_is_found_by_search(vendor, store, hs):
    hs.add("contacts", time.time() - 86400, **ADA)  # the same values, created yesterday
    for i in range(120):  # unrelated contacts with the same values on the search's first page
        hs.add("contacts", time.time() - 86400 - i, **ADA)
    send_then_crash(store, "hubspot", "create_record", {"base_url": vendor.url},
                    {"properties": ADA}, "k")
    ours = hs.of("contacts")[-1]
    out = hubspot(vendor, store).create_record({"properties": ADA}, idempotency_key="k")
    assert out == {"id": ours["id"], "recovered": True} and hs.count("create") == 1
    searches = vendor.sent("POST", "/crm/v3/objects/contacts/search")
    assert [s.json().get("after") for s in searches] == [None, "100"]
    assert searches[0].json()["filterGroups"] == [{"filters": [
        {"propertyName": k, "operator": "EQ", "value": v} for k, v in ADA.items()]}]


def test_a_create_whose_record_is_not_found_is_refused(vendor, store, hs):
    send_then_crash(store, "hubspot", "create_record", {"base_url": vendor.url},
                    {"properties": ADA}, "k")
    hs.records.clear()
    with pytest.raises(OutcomeUnknown, match="vendor shows no trace"):
        hubspot(vendor, store).create_record({"properties": ADA}, idempotency_key="k")
    assert hs.count("create") == 1


def test_an_association_interrupted_by_a_crash_is_redone_without_a_second_one(vendor, store,
                                                                              hs):
    contact, company = hs.add("contacts", time.time(), **ADA), hs.add("companies", time.time())
    params = {"from_type": "contacts", "from_id": contact["id"], "to_type": "companies",
              "to_id": company["id"]}
    send_then_crash(store, "hubspot", "associate", {"base_url": vendor.url}, params, "k")
    hubspot(vendor, store).associate(params, idempotency_key="k")
    assert hs.count("associate") == 1 and len(hs.associations) == 1


# -- model output in URL paths ----------------------------------------------------------


@pytest.mark.parametrize("bad", ["1/../../notes", "..", "%2e%2e", "1%2F..%2Fnotes"])
def test_ids_and_types_that_move_along_the_path_never_reach_the_vendor(vendor, store, hs, bad):
    c = hubspot(vendor, store)
    with pytest.raises(BadParams, match="would move along the path"):
        c.associate({"from_type": "contacts", "from_id": bad, "to_type": "companies",
                     "to_id": "1"}, idempotency_key="k1")
    with pytest.raises(BadParams, match="would move along the path"):
        c.upsert_record({"object_type": bad, "id_property": "email", "id": "a@b.c"},
                        idempotency_key="k2")
    assert vendor.sent() == []


def test_a_slash_in_an_id_stays_in_one_segment(vendor, store, hs):
    with pytest.raises(VendorRejected, match="does not exist"):
        hubspot(vendor, store).associate({"from_type": "contacts", "from_id": "1/associations",
                                          "to_type": "companies", "to_id": "2?x#y"},
                                         idempotency_key="k")
    [request] = vendor.sent()
    assert segments(request.path) == ["crm", "v4", "objects", "contacts", "1/associations",
                                      "associations", "default", "companies", "2?x#y"]
