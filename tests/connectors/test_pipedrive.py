"""pipedrive: persons/organizations/deals and notes, idempotency on our side checked at the vendor.

The fake (fakes_crm.FakePipedrive) follows https://developers.pipedrive.com/docs/api/v1 and
its v2 pages, and keeps items and notes, so "no second effect" is counted at the vendor.
"""

from __future__ import annotations

import time

import pytest
from crash import send_then_crash
from fakes_crm import *  # registers the fixtures (see its docstring)
from fakes_crm import FakePipedrive, segments
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    BadParams,
    OutcomeUnknown,
    PipedriveConnector,
    VendorAuthFailed,
    VendorRejected,
    connector_problems,
    installed,
)
from seamline.connectors.testing import check_connector_class
from seamline.errors import ConfigError

KEY_FIELDS = {"persons": "f00dkey", "deals": "dea1key"}
ADA = {"fields": {"name": "Ada Lovelace", "emails": [{"value": "ada@example.com",
                                                         "primary": True}]}}


@pytest.fixture
def pd(vendor):
    return FakePipedrive(vendor)


def pipedrive(vendor, store, waits=None, **options) -> PipedriveConnector:
    return PipedriveConnector({"base_url": vendor.url, **options}, store=store,
                              sleep=(waits.append if waits is not None else lambda s: None))


def test_the_class_keeps_the_contract_and_is_installed():
    check_connector_class(PipedriveConnector)
    assert installed()["pipedrive"] is PipedriveConnector


def test_create_person_posts_v2_with_the_token_and_the_key_in_its_field(vendor, store, pd):
    out = pipedrive(vendor, store, key_fields=KEY_FIELDS).create_person(
        {**ADA, "custom_fields": {"tier": "gold"}}, idempotency_key="k-1")
    [person] = pd.items["persons"].values()
    assert out == {"id": person["id"]}
    vendor.assert_sent("POST", "/api/v2/persons", headers={"x-api-token": "pd-token"}, json={
        **ADA["fields"], "custom_fields": {"tier": "gold", "f00dkey": "k-1"}})


def test_the_same_key_twice_creates_one_deal(vendor, store, pd):
    c = pipedrive(vendor, store)
    outs = [c.create_deal({"fields": {"title": "Renewal", "value": 1200}}, idempotency_key="k")
            for _ in range(3)]
    assert outs[0] == outs[1] == outs[2] and pd.count("create") == 1


def test_update_organization_patches_its_fields(vendor, store, pd):
    c = pipedrive(vendor, store)
    org = c.create_organization({"fields": {"name": "Acme"}}, idempotency_key="k1")
    c.update_organization({"id": org["id"], "fields": {"name": "Acme Ltd"},
                           "custom_fields": {"size": "50"}}, idempotency_key="k2")
    item = pd.items["organizations"][org["id"]]
    assert (item["name"], item["custom_fields"]) == ("Acme Ltd", {"size": "50"})
    vendor.assert_sent("PATCH", f"/api/v2/organizations/{org['id']}",
                       json={"name": "Acme Ltd", "custom_fields": {"size": "50"}})


def test_add_note_posts_v1(vendor, store, pd):
    out = pipedrive(vendor, store).add_note({"content": "Called, wants a refund", "deal_id": 7},
                                            idempotency_key="k")
    assert out == {"id": pd.notes[0]["id"]}
    vendor.assert_sent("POST", "/api/v1/notes",
                       json={"content": "Called, wants a refund", "deal_id": 7})


@pytest.mark.parametrize(("op", "params", "raised", "words"), [
    ("create_person", {"fields": {"name": "Ada"}}, VendorAuthFailed, "401.*unauthorized access"),
])
def test_a_wrong_token_is_an_auth_failure(vendor, store, pd, monkeypatch, op, params, raised,
                                          words):
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "revoked")
    with pytest.raises(raised, match=words):
        getattr(pipedrive(vendor, store), op)(params, idempotency_key="k")


def test_pipedrive_errors_become_sentences(vendor, store, pd):
    c = pipedrive(vendor, store)
    with pytest.raises(VendorRejected, match="404 to update_person: Person not found"):
        c.update_person({"id": 404, "fields": {"name": "x"}}, idempotency_key="k1")
    with pytest.raises(BadParams, match="needs fields.title"):
        c.create_deal({"fields": {"value": 5}}, idempotency_key="k2")
    with pytest.raises(BadParams, match="a note is attached to one of deal_id"):
        c.add_note({"content": "x"}, idempotency_key="k3")
    with pytest.raises(BadParams, match="an update sets fields or custom_fields"):
        c.update_deal({"id": 1}, idempotency_key="k4")
    assert pd.effects == []


def test_the_vendor_validation_error_is_passed_on(vendor, store, pd):
    with pytest.raises(VendorRejected, match="Validation failed: name: Parameter is required "
                                             r"\(ERR_SCHEMA_VALIDATION_FAILED\)"):
        pipedrive(vendor, store).create_person({"fields": {"name": "  "}}, idempotency_key="k")


def test_a_429_waits_as_long_as_x_ratelimit_reset_says(vendor, store, pd, waits):
    pd.throttle(reset_s=2)
    pipedrive(vendor, store, waits).create_person(ADA, idempotency_key="k")
    assert waits == [2.0] and pd.count("create") == 1


# -- crash after the vendor acted, before we recorded it ---------------------------------


def test_a_create_interrupted_by_a_crash_is_found_by_its_key_field(vendor, store, pd):
    options = {"base_url": vendor.url, "key_fields": KEY_FIELDS}
    send_then_crash(store, "pipedrive", "create_person", options, ADA, "k-1")
    assert pd.count("create") == 1
    out = PipedriveConnector(options, store=store).create_person(ADA, idempotency_key="k-1")
    [person] = pd.items["persons"].values()
    assert out == {"id": person["id"], "recovered": True} and pd.count("create") == 1
    search = vendor.assert_sent("GET", "/api/v2/persons/search")
    assert search.query == {"term": ["k-1"], "fields": ["custom_fields"],
                            "exact_match": ["true"], "limit": ["2"]}


def test_a_create_without_a_key_field_is_refused_after_a_crash(vendor, store, pd):
    send_then_crash(store, "pipedrive", "create_deal", {"base_url": vendor.url},
                    {"fields": {"title": "Renewal"}}, "k")
    with pytest.raises(OutcomeUnknown, match="offers no way to check"):
        pipedrive(vendor, store).create_deal({"fields": {"title": "Renewal"}}, idempotency_key="k")
    assert pd.count("create") == 1


def test_a_keyed_create_whose_item_is_absent_is_refused_not_resent(vendor, store, pd):
    options = {"base_url": vendor.url, "key_fields": KEY_FIELDS}
    send_then_crash(store, "pipedrive", "create_person", options, ADA, "k-1")
    pd.items["persons"].clear()  # someone deleted it meanwhile: no trace to find
    with pytest.raises(OutcomeUnknown, match="vendor shows no trace"):
        PipedriveConnector(options, store=store).create_person(ADA, idempotency_key="k-1")
    assert pd.count("create") == 1


def test_an_update_interrupted_by_a_crash_is_confirmed_by_reading_it_back(vendor, store, pd):
    c = pipedrive(vendor, store)
    deal = c.create_deal({"fields": {"title": "Renewal"}}, idempotency_key="k0")
    params = {"id": deal["id"], "fields": {"value": 900}, "custom_fields": {"stage": "won"}}
    send_then_crash(store, "pipedrive", "update_deal", {"base_url": vendor.url}, params, "k")
    assert c.update_deal(params, idempotency_key="k") == {"id": deal["id"], "recovered": True}
    assert pd.count("update") == 1


def test_a_note_interrupted_by_a_crash_is_found_past_the_first_page(vendor, store, pd):
    params = {"content": "Refund promised <b>today</b> &amp; confirmed", "deal_id": 7}
    send_then_crash(store, "pipedrive", "add_note", {"base_url": vendor.url}, params, "k")
    ours = pd.notes[-1]
    later = time.time() + 30
    for i in range(120):  # colleagues kept adding notes to the deal after our crash
        pd.add_note(f"call {i}", later, deal_id=7)
    pd.add_note(params["content"], time.time() - 3600, deal_id=7)  # an old twin: not ours
    out = pipedrive(vendor, store).add_note(params, idempotency_key="k")
    assert out == {"id": ours["id"], "recovered": True}
    assert pd.count("note") == 1
    starts = [r.query["start"] for r in vendor.sent("GET", "/api/v1/notes")]
    assert starts == [["0"], ["100"]]


def test_a_note_lookup_stops_at_notes_older_than_the_attempt(vendor, store, pd):
    params = {"content": "Refund promised", "person_id": 3}
    send_then_crash(store, "pipedrive", "add_note", {"base_url": vendor.url}, params, "k")
    pd.notes.clear()  # removed meanwhile; only an old note with the same text remains
    pd.add_note("Refund promised", time.time() - 3600, person_id=3)
    with pytest.raises(OutcomeUnknown, match="vendor shows no trace"):
        pipedrive(vendor, store).add_note(params, idempotency_key="k")
    assert pd.count("note") == 1


# -- model output in URL paths ----------------------------------------------------------


@pytest.mark.parametrize("bad", ["1/../../notes", "..", "%2e%2e", "1%2F..%2Fnotes"])
def test_an_id_that_moves_along_the_path_never_reaches_the_vendor(vendor, store, pd, bad):
    with pytest.raises(BadParams, match="would move along the path"):
        pipedrive(vendor, store).update_person({"id": bad, "fields": {"name": "x"}},
                                               idempotency_key="k")
    assert vendor.sent() == []


def test_other_characters_in_an_id_stay_in_one_segment(vendor, store, pd):
    with pytest.raises(VendorRejected, match="Person not found"):
        pipedrive(vendor, store).update_person({"id": "1/notes?x=1#y", "fields": {"name": "x"}},
                                               idempotency_key="k")
    [request] = vendor.sent()
    assert request.path == "/api/v2/persons/1%2Fnotes%3Fx%3D1%23y" and request.query == {}
    assert segments(request.path) == ["api", "v2", "persons", "1/notes?x=1#y"]


def test_company_domain_and_credentials(vendor, store, monkeypatch):
    with pytest.raises(ConfigError, match="needs the option company_domain"):
        PipedriveConnector({}, store=store)
    assert connector_problems("connector:pipedrive.add_note") == [
        "The pipedrive connector needs the option company_domain (or base_url)."]
    c = PipedriveConnector({"company_domain": "acme"}, store=store)
    assert str(c._http.client.base_url) == "https://acme.pipedrive.com"
    with pytest.raises(ConfigError, match="company_domain"):
        PipedriveConnector({"company_domain": "evil.example/x"}, store=store)
    monkeypatch.delenv("PIPEDRIVE_API_TOKEN")
    with pytest.raises(ConfigError, match="PIPEDRIVE_API_TOKEN, which is not set"):
        pipedrive(vendor, store)
