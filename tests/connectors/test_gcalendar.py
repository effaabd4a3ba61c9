"""gcalendar: events with an id derived from the idempotency key; a 409 duplicate is the same event."""

from __future__ import annotations

import re

import pytest
from crash import send_then_crash
from fakes_messaging import *  # registers the credentials fixture
from fakes_messaging import CalendarFake
from vendor_fixtures import *  # registers the fixtures (see its docstring)
from vendor_fixtures import drifted

from seamline.connectors import (
    BadParams,
    GoogleCalendarConnector,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
    event_id,
)
from seamline.connectors.testing import Reply, check_connector_class
from seamline.errors import ConfigError

PARAMS = {"summary": "Refund call with Ann", "start": "2025-03-04T10:00:00+01:00",
          "end": "2025-03-04T10:30:00+01:00", "attendees": ["ann@example.com"],
          "description": "About ticket T-1"}


@pytest.fixture
def fake(vendor):
    return CalendarFake(vendor)


def calendar(vendor, store=None, waits=None, **options) -> GoogleCalendarConnector:
    return GoogleCalendarConnector({"base_url": vendor.url, **options}, store=store,
                                   sleep=(waits.append if waits is not None else lambda s: None))


def test_the_class_keeps_the_contract():
    check_connector_class(GoogleCalendarConnector)
    assert GoogleCalendarConnector.idempotency == "vendor"


@pytest.mark.parametrize("key", ["k", "refunds:T-1:call", "é" * 200, "x" * 120])
def test_the_event_id_is_base32hex_within_googles_limits_and_stable(key):
    made = event_id(key)
    assert re.fullmatch(r"[a-v0-9]{5,1024}", made) and made == event_id(key)
    assert made != event_id(key + "!")


def test_inserts_the_event_with_the_derived_id(vendor, fake, store):
    out = calendar(vendor, store).create_event(PARAMS, idempotency_key="k-1")
    eid = event_id("k-1")
    assert out == {"id": eid, "status": "confirmed", "existing": False,
                   "html_link": f"https://www.google.com/calendar/event?eid={eid}"}
    sent = vendor.assert_sent("POST", "/calendar/v3/calendars/primary/events", headers={
        "Authorization": "Bearer ya29.test", "User-Agent": "seamline-connector/gcalendar (api v3)"},
        json={"id": eid, "summary": "Refund call with Ann", "description": "About ticket T-1",
              "start": {"dateTime": "2025-03-04T10:00:00+01:00"},
              "end": {"dateTime": "2025-03-04T10:30:00+01:00"},
              "attendees": [{"email": "ann@example.com"}]})
    assert sent.query == {"sendUpdates": ["none"]} and fake.inserts == 1


def test_an_all_day_event_uses_date_and_a_time_zone(vendor, fake, store):
    calendar(vendor, store, send_updates="all").create_event(
        {**PARAMS, "start": "2025-03-04", "end": "2025-03-05", "time_zone": "Europe/Berlin"},
        idempotency_key="k")
    body = vendor.sent()[0].json()
    assert body["start"] == {"date": "2025-03-04", "timeZone": "Europe/Berlin"}
    assert vendor.sent()[0].query == {"sendUpdates": ["all"]}


def test_the_same_key_twice_makes_one_event_and_reports_the_existing_one(vendor, fake, store):
    c = calendar(vendor, store)
    first = c.create_event(PARAMS, idempotency_key="k")
    again = c.create_event(PARAMS, idempotency_key="k")
    assert again == {**first, "existing": True} and fake.inserts == 1
    vendor.assert_sent("GET", f"/calendar/v3/calendars/primary/events/{event_id('k')}")


def test_a_crash_after_google_created_it_creates_nothing_more(vendor, fake, store):
    send_then_crash(store, "gcalendar", "create_event", {"base_url": vendor.url}, PARAMS, "k")
    assert fake.inserts == 1
    out = calendar(vendor, store).create_event(PARAMS, idempotency_key="k")
    assert out["existing"] and out["id"] == event_id("k") and fake.inserts == 1


@pytest.mark.parametrize(("calendar_id", "arrives_as"), [
    ("team@group.calendar.google.com", "team%40group.calendar.google.com"),
    ("primary/admin", "primary%2Fadmin"),
    ("primary?alt=media", "primary%3Falt%3Dmedia"),
    ("primary#x", "primary%23x"),
    ("https://evil.example/x", "https%3A%2F%2Fevil.example%2Fx"),
])
def test_a_calendar_id_from_params_stays_one_encoded_segment(vendor, fake, store, calendar_id,
                                                              arrives_as):
    try:
        calendar(vendor, store).create_event({**PARAMS, "calendar_id": calendar_id},
                                             idempotency_key="k")
    except VendorRejected:
        pass  # Google (the fake) has no such calendar: that is the point
    [request] = vendor.sent()
    assert request.path == f"/calendar/v3/calendars/{arrives_as}/events"
    assert request.query == {"sendUpdates": ["none"]}


@pytest.mark.parametrize("calendar_id", ["..", ".", "%2e%2e", "%2E.", "", "a\nb",
                                         "primary/../../../admin", "x/%2e%2e/y"])
def test_a_calendar_id_that_would_move_along_the_path_is_refused_unsent(vendor, fake, store,
                                                                         calendar_id):
    with pytest.raises(BadParams, match="path parameter 'calendar_id'"):
        calendar(vendor, store).create_event({**PARAMS, "calendar_id": calendar_id},
                                             idempotency_key="k")
    assert vendor.sent() == []


def test_an_unknown_calendar_is_a_rejection_in_googles_words(vendor, fake, store):
    with pytest.raises(VendorRejected, match=r"404 to create_event: Not Found \(notFound\)"):
        calendar(vendor, store, calendar_id="nobody@example.com").create_event(
            PARAMS, idempotency_key="k")


def test_a_bad_token_is_an_auth_failure(vendor, store):
    CalendarFake(vendor, token="other")
    with pytest.raises(VendorAuthFailed, match=r"401 to create_event: Request had invalid "
                                               r"authentication credentials.*\(authError\)"):
        calendar(vendor, store).create_event(PARAMS, idempotency_key="k")


def test_a_403_rate_limit_is_retryable_not_an_auth_failure(vendor, fake, store):
    fake.fail_next(CalendarFake.error(403, "rateLimitExceeded", "Rate Limit Exceeded"))
    with pytest.raises(VendorUnavailable, match="Rate Limit Exceeded") as info:
        calendar(vendor, store).create_event(PARAMS, idempotency_key="k")
    assert info.value.retryable and info.value.sent is False and fake.inserts == 0


def test_429_with_retry_after_is_honoured(vendor, fake, store, waits):
    fake.fail_next(Reply(429, {"error": {"code": 429, "message": "Too Many Requests",
                                         "errors": [{"reason": "rateLimitExceeded"}]}},
                         headers={"Retry-After": "3"}))
    assert calendar(vendor, store, waits).create_event(PARAMS, idempotency_key="k")["id"]
    assert waits == [3.0] and fake.inserts == 1


def test_a_200_without_an_id_is_unexpected_and_drift(vendor, fake, store, alerts):
    fake.fail_next(Reply(200, {"kind": "calendar#event"}))
    with pytest.raises(UnexpectedReply, match="lacks id"):
        calendar(vendor, store).create_event(PARAMS, idempotency_key="k")
    assert ("missing", "id") in drifted(store, "gcalendar.create_event")


def test_bad_params_and_a_missing_token_are_sentences(vendor, store, monkeypatch):
    with pytest.raises(BadParams, match="params of gcalendar.create_event are invalid: end"):
        calendar(vendor, store).create_event({"summary": "x", "start": "2025-03-04"},
                                             idempotency_key="k")
    monkeypatch.delenv("GOOGLE_CALENDAR_ACCESS_TOKEN")
    with pytest.raises(ConfigError, match="GOOGLE_CALENDAR_ACCESS_TOKEN, which is not set"):
        calendar(vendor, store)


def test_with_oauth_no_token_variable_is_read_and_no_token_means_waiting(vendor, fake, store,
                                                                          monkeypatch):
    from seamline.connectors import CredentialsNeeded

    monkeypatch.delenv("GOOGLE_CALENDAR_ACCESS_TOKEN")
    monkeypatch.setenv("GOOGLE_CLIENT_ID", "client-1")
    c = calendar(vendor, store, auth="oauth", oauth={
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token", "client_id_env": "GOOGLE_CLIENT_ID",
        "scopes": ["https://www.googleapis.com/auth/calendar.events"]})
    with pytest.raises(CredentialsNeeded):
        c.create_event(PARAMS, idempotency_key="k")
    assert fake.inserts == 0 and vendor.sent() == []
