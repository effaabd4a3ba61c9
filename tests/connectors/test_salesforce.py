"""salesforce: sObject create/update/upsert and composite against a fake speaking REST API v62.0.

The fake (fakes_crm.FakeSalesforce) follows
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/ and keeps records,
so "no second effect" is counted at the vendor.
"""

from __future__ import annotations

import pytest
from crash import send_then_crash
from fakes_crm import *  # registers the fixtures (see its docstring)
from fakes_crm import FakeSalesforce, segments
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    BadParams,
    OutcomeUnknown,
    SalesforceConnector,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
    installed,
)
from seamline.connectors.testing import Reply, check_connector_class
from seamline.errors import ConfigError

BASE = "/services/data/v62.0"
ACME = {"Name": "Acme", "Industry": "Retail"}


@pytest.fixture
def sf(vendor):
    return FakeSalesforce(vendor)


def salesforce(vendor, store, waits=None, **options) -> SalesforceConnector:
    return SalesforceConnector({"base_url": vendor.url, **options}, store=store,
                               sleep=(waits.append if waits is not None else lambda s: None))


def test_the_class_keeps_the_contract_and_is_installed():
    check_connector_class(SalesforceConnector)
    assert installed()["salesforce"] is SalesforceConnector


def test_create_record_posts_the_fields_with_the_token_and_pinned_version(vendor, store, sf):
    out = salesforce(vendor, store).create_record({"sobject": "Account", "fields": ACME},
                                                  idempotency_key="k")
    assert out == {"id": sf.of("Account")[0]["Id"], "created": True}
    vendor.assert_sent("POST", f"{BASE}/sobjects/Account/", json=ACME,
                       headers={"Authorization": "Bearer sf-token"})
    assert sf.of("Account")[0]["Name"] == "Acme"


def test_create_with_a_key_field_is_an_upsert_on_the_key(vendor, store, sf):
    c = salesforce(vendor, store, key_field="Seamline_Key__c")
    first = c.create_record({"sobject": "Account", "fields": ACME}, idempotency_key="k-1")
    again = c.create_record({"sobject": "Account", "fields": ACME}, idempotency_key="k-1")
    assert first["created"] is True and again == {"id": first["id"], "created": False}
    assert [r["Seamline_Key__c"] for r in sf.of("Account")] == ["k-1"]
    assert sf.count("create") == 1
    vendor.assert_sent("PATCH", f"{BASE}/sobjects/Account/Seamline_Key__c/k-1", times=2)


def test_create_without_a_key_field_is_sent_once_per_key(vendor, store, sf):
    c = salesforce(vendor, store)
    outs = [c.create_record({"sobject": "Account", "fields": ACME}, idempotency_key="k")
            for _ in range(3)]
    assert outs[0] == outs[1] == outs[2]
    assert sf.count("create") == 1


def test_upsert_creates_then_updates_the_same_record(vendor, store, sf):
    c = salesforce(vendor, store)
    params = {"sobject": "Account", "external_id_field": "Ext__c", "external_id": "A-1",
              "fields": ACME}
    first = c.upsert_record(params, idempotency_key="k1")
    second = c.upsert_record({**params, "fields": {"Industry": "Media"}}, idempotency_key="k2")
    assert first["created"] is True and second == {"id": first["id"], "created": False}
    [record] = sf.of("Account")
    assert (record["Ext__c"], record["Industry"]) == ("A-1", "Media")


def test_an_external_id_matching_several_records_is_refused_with_a_sentence(vendor, store, sf):
    sf.add("Account", Name="One", Ext__c="dup")
    sf.add("Account", Name="Two", Ext__c="dup")
    with pytest.raises(VendorRejected, match="answered 300.*matches 2 records") as info:
        salesforce(vendor, store).upsert_record({"sobject": "Account", "external_id_field":
                                                 "Ext__c", "external_id": "dup",
                                                 "fields": {"Industry": "x"}}, idempotency_key="k")
    assert info.value.sent is False and sf.count("update") == 0


@pytest.mark.parametrize(("call", "raised", "words"), [
    ({"sobject": "Account", "fields": {"Industry": "x"}}, VendorRejected,
     (r"400 to create_record: REQUIRED_FIELD_MISSING: Required fields are missing: \[Name\] "
      r"\(fields Name\)")),
    ({"sobject": "Account", "external_id_field": "Nope__c", "external_id": "1",
      "fields": ACME}, VendorRejected, "404 to upsert_record: NOT_FOUND: Provided external ID"),
])
def test_salesforce_error_arrays_become_sentences(vendor, store, sf, call, raised, words):
    c = salesforce(vendor, store)
    op = c.upsert_record if "external_id" in call else c.create_record
    with pytest.raises(raised, match=words):
        op(call, idempotency_key="k")
    assert sf.effects == []


def test_a_bad_token_is_an_auth_failure(vendor, store, sf, monkeypatch):
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "expired")
    with pytest.raises(VendorAuthFailed, match="INVALID_SESSION_ID: Session expired or invalid"):
        salesforce(vendor, store).create_record({"sobject": "Account", "fields": ACME},
                                                idempotency_key="k")


def test_the_daily_request_limit_is_retryable_not_an_auth_failure(vendor, store, sf):
    sf.interrupt(Reply(403, [{"message": "TotalRequests Limit exceeded.",
                              "errorCode": "REQUEST_LIMIT_EXCEEDED"}]))
    with pytest.raises(VendorUnavailable, match="allowance is used up") as info:
        salesforce(vendor, store).create_record({"sobject": "Account", "fields": ACME},
                                                idempotency_key="k")
    assert info.value.retryable and info.value.sent is False
    # the ledger recorded a definite failure, so the retry sends
    salesforce(vendor, store).create_record({"sobject": "Account", "fields": ACME},
                                            idempotency_key="k")
    assert sf.count("create") == 1


def test_503_with_retry_after_is_honoured(vendor, store, sf, waits):
    sf.interrupt(Reply(503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}],
                       headers={"Retry-After": "3"}))
    salesforce(vendor, store, waits).upsert_record(
        {"sobject": "Account", "external_id_field": "Ext__c", "external_id": "A", "fields": ACME},
        idempotency_key="k")
    assert waits == [3.0] and sf.count("create") == 1


def test_update_record_patches_and_takes_the_204(vendor, store, sf):
    rid = sf.add("Account", Name="Acme")
    out = salesforce(vendor, store).update_record(
        {"sobject": "Account", "id": rid, "fields": {"Industry": "Media"}}, idempotency_key="k")
    assert out == {"id": rid}
    assert sf.records[rid]["Industry"] == "Media"


def test_composite_upserts_with_a_reference_all_or_none(vendor, store, sf):
    out = salesforce(vendor, store).composite({"requests": [
        {"reference_id": "acct", "method": "upsert", "sobject": "Account",
         "external_id_field": "Ext__c", "external_id": "A-9", "fields": ACME},
        {"reference_id": "person", "method": "upsert", "sobject": "Contact",
         "external_id_field": "Ext__c", "external_id": "C-9",
         "fields": {"LastName": "Lovelace", "AccountId": "@{acct.id}"}}]}, idempotency_key="k")
    [account], [contact] = sf.of("Account"), sf.of("Contact")
    assert contact["AccountId"] == account["Id"]
    assert out["results"] == [
        {"reference_id": "acct", "status": 201, "id": account["Id"]},
        {"reference_id": "person", "status": 201, "id": contact["Id"]}]
    sent = vendor.assert_sent("POST", f"{BASE}/composite").json()
    assert sent["allOrNone"] is True
    assert sent["compositeRequest"][1]["url"] == f"{BASE}/sobjects/Contact/Ext__c/C-9"


def test_a_failed_composite_step_rolls_all_back_and_names_the_cause(vendor, store, sf):
    with pytest.raises(VendorRejected, match="person: REQUIRED_FIELD_MISSING.*rolled every step"):
        salesforce(vendor, store).composite({"requests": [
            {"reference_id": "acct", "method": "upsert", "sobject": "Account",
             "external_id_field": "Ext__c", "external_id": "A-9", "fields": ACME},
            {"reference_id": "person", "method": "upsert", "sobject": "Contact",
             "external_id_field": "Ext__c", "external_id": "C-9", "fields": {"Email": "x@y"}}]},
            idempotency_key="k")
    assert sf.records == {}


def test_composite_takes_only_steps_that_can_run_twice(vendor, store, sf):
    with pytest.raises(BadParams, match="requests.0.method"):
        salesforce(vendor, store).composite({"requests": [
            {"reference_id": "a", "method": "create", "sobject": "Account", "fields": ACME}]},
            idempotency_key="k")
    with pytest.raises(BadParams, match="an upsert names external_id_field"):
        salesforce(vendor, store).composite({"requests": [
            {"reference_id": "a", "method": "upsert", "sobject": "Account", "fields": ACME}]},
            idempotency_key="k")
    assert vendor.sent() == []


# -- crash after the vendor acted, before we recorded it ---------------------------------


def test_an_upsert_interrupted_by_a_crash_is_rerun_without_a_second_record(vendor, store, sf):
    params = {"sobject": "Account", "external_id_field": "Ext__c", "external_id": "A-1",
              "fields": ACME}
    send_then_crash(store, "salesforce", "upsert_record", {"base_url": vendor.url}, params, "k")
    assert sf.count("create") == 1
    out = salesforce(vendor, store).upsert_record(params, idempotency_key="k")
    assert out["created"] is False and len(sf.of("Account")) == 1 and sf.count("create") == 1


def test_a_keyed_create_interrupted_by_a_crash_finds_its_record(vendor, store, sf):
    options = {"base_url": vendor.url, "key_field": "Seamline_Key__c"}
    params = {"sobject": "Account", "fields": ACME}
    send_then_crash(store, "salesforce", "create_record", options, params, "k")
    out = SalesforceConnector(options, store=store).create_record(params, idempotency_key="k")
    assert out == {"id": sf.of("Account")[0]["Id"], "created": False}
    assert sf.count("create") == 1


def test_an_unkeyed_create_interrupted_by_a_crash_is_refused(vendor, store, sf):
    params = {"sobject": "Account", "fields": ACME}
    send_then_crash(store, "salesforce", "create_record", {"base_url": vendor.url}, params, "k")
    with pytest.raises(OutcomeUnknown, match="offers no way to check"):
        salesforce(vendor, store).create_record(params, idempotency_key="k")
    assert sf.count("create") == 1


def test_an_update_interrupted_by_a_crash_is_confirmed_by_reading_it_back(vendor, store, sf):
    rid = sf.add("Account", Name="Acme")
    params = {"sobject": "Account", "id": rid, "fields": {"Industry": "Media"}}
    send_then_crash(store, "salesforce", "update_record", {"base_url": vendor.url}, params, "k")
    out = salesforce(vendor, store).update_record(params, idempotency_key="k")
    assert out == {"id": rid, "recovered": True}
    assert sf.count("update") == 1
    assert vendor.assert_sent("GET", f"{BASE}/sobjects/Account/{rid}").query == {
        "fields": ["Industry"]}


# -- model output in URL paths ----------------------------------------------------------


@pytest.mark.parametrize("bad", ["1/../../composite", "1%2F..%2F..%2Fcomposite", "..",
                                 "%2e%2e", "%252e%252e", "."])
def test_an_id_with_dot_segments_never_reaches_the_vendor(vendor, store, sf, bad):
    with pytest.raises(BadParams, match="would move along the path"):
        salesforce(vendor, store).update_record(
            {"sobject": "Account", "id": bad, "fields": {"Name": "x"}}, idempotency_key="k")
    assert vendor.sent() == [] and sf.effects == []


def test_a_slash_in_an_id_stays_inside_one_segment(vendor, store, sf):
    with pytest.raises(VendorRejected, match="404"):
        salesforce(vendor, store).update_record(
            {"sobject": "Account", "id": "001/composite", "fields": {"Name": "x"}},
            idempotency_key="k")
    [request] = vendor.sent()
    assert request.path == f"{BASE}/sobjects/Account/001%2Fcomposite"
    assert segments(request.path)[-1] == "001/composite" and sf.effects == []


@pytest.mark.parametrize("bad", ["..", "%2e%2e", "a/../b"])
def test_an_external_id_that_moves_along_the_path_is_refused(vendor, store, sf, bad):
    with pytest.raises(BadParams, match="would move along the path"):
        salesforce(vendor, store).upsert_record(
            {"sobject": "Account", "external_id_field": "Ext__c", "external_id": bad,
             "fields": ACME}, idempotency_key="k")
    assert vendor.sent() == []


def test_query_and_fragment_characters_are_encoded(vendor, store, sf):
    salesforce(vendor, store).upsert_record(
        {"sobject": "Account", "external_id_field": "Ext__c", "external_id": "a?b#c",
         "fields": ACME}, idempotency_key="k")
    [request] = vendor.sent()
    assert request.path == f"{BASE}/sobjects/Account/Ext__c/a%3Fb%23c" and request.query == {}
    assert sf.of("Account")[0]["Ext__c"] == "a?b#c"


def test_options_are_checked(vendor, store):
    with pytest.raises(ConfigError, match="api_version"):
        salesforce(vendor, store, api_version="62")
    c = salesforce(vendor, store, api_version="v63.0")
    assert c.version == "v63.0"
