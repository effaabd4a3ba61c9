"""posthog: capture with a uuid derived from the key, against a fake that dedupes as PostHog's table does."""

from __future__ import annotations

import uuid

import pytest
from crash import send_then_crash
from fakes_messaging import *  # registers the credentials fixture
from fakes_messaging import PostHogFake
from vendor_fixtures import *  # registers the fixtures (see its docstring)
from vendor_fixtures import drifted

from seamline.connectors import (
    BadParams,
    PostHogConnector,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    event_uuid,
)
from seamline.connectors.testing import Reply, check_connector_class
from seamline.errors import ConfigError

PARAMS = {"event": "refund approved", "distinct_id": "customer-42",
          "properties": {"amount": 12.5, "ticket": "T-1"}, "timestamp": "2025-03-04T10:00:00Z"}


@pytest.fixture
def fake(vendor):
    return PostHogFake(vendor)


def posthog(vendor, store=None, waits=None, **options) -> PostHogConnector:
    return PostHogConnector({"base_url": vendor.url, **options}, store=store,
                            sleep=(waits.append if waits is not None else lambda s: None))


def test_the_class_keeps_the_contract():
    check_connector_class(PostHogConnector)
    assert PostHogConnector.idempotency == "vendor"


def test_the_uuid_is_a_valid_uuid_fixed_by_the_key():
    made = event_uuid("k")
    assert str(uuid.UUID(made)) == made == event_uuid("k") != event_uuid("k2")


def test_captures_with_the_project_key_in_the_body_and_the_derived_uuid(vendor, fake, store):
    out = posthog(vendor, store).capture(PARAMS, idempotency_key="k-1")
    assert out == {"uuid": event_uuid("k-1"), "event": "refund approved"}
    vendor.assert_sent("POST", "/i/v0/e/", json={
        "api_key": "phc_test_123", "event": "refund approved", "distinct_id": "customer-42",
        "properties": {"amount": 12.5, "ticket": "T-1"},
        "timestamp": "2025-03-04T10:00:00+00:00", "uuid": event_uuid("k-1")})
    assert len(fake.events()) == 1


def test_the_same_key_twice_is_one_event_after_posthogs_merge(vendor, fake, store):
    c = posthog(vendor, store)
    c.capture(PARAMS, idempotency_key="k")
    c.capture(PARAMS, idempotency_key="k")
    c.capture(PARAMS, idempotency_key="other")
    assert len(fake.received) == 3 and len(fake.events()) == 2


def test_a_crash_after_posthog_took_it_counts_once(vendor, fake, store):
    send_then_crash(store, "posthog", "capture", {"base_url": vendor.url}, PARAMS, "k")
    posthog(vendor, store).capture(PARAMS, idempotency_key="k")
    assert len(fake.received) == 2 and len(fake.events()) == 1


def test_without_a_timestamp_it_refuses_unless_told_otherwise(vendor, fake, store):
    params = {k: v for k, v in PARAMS.items() if k != "timestamp"}
    with pytest.raises(BadParams, match="needs a timestamp.*require_timestamp: false"):
        posthog(vendor, store).capture(params, idempotency_key="k")
    assert vendor.sent() == []
    posthog(vendor, store, require_timestamp=False).capture(params, idempotency_key="k")
    assert vendor.sent()[0].json()["timestamp"].endswith("+00:00")


def test_a_naive_timestamp_is_taken_as_utc(vendor, fake, store):
    posthog(vendor, store).capture({**PARAMS, "timestamp": "2025-03-04T23:30:00"},
                                   idempotency_key="k")
    assert vendor.sent()[0].json()["timestamp"] == "2025-03-04T23:30:00+00:00"


def test_an_invalid_project_key_is_an_auth_failure_in_posthogs_words(vendor, store):
    PostHogFake(vendor, api_key="phc_other")
    with pytest.raises(VendorAuthFailed, match=r"401 to capture: Project API key invalid.*"
                                               r"\(invalid_api_key\)"):
        posthog(vendor, store).capture(PARAMS, idempotency_key="k")


def test_a_validation_error_is_a_rejection(vendor, fake, store):
    fake.fail_next(Reply(400, {"type": "validation_error", "code": "invalid_payload",
                               "detail": "Invalid payload: event is required.", "attr": "event"}))
    with pytest.raises(VendorRejected, match="Invalid payload: event is required"):
        posthog(vendor, store).capture(PARAMS, idempotency_key="k")


def test_503_with_retry_after_is_honoured(vendor, fake, store, waits):
    fake.fail_next(Reply(503, text="", headers={"Retry-After": "4"}))
    posthog(vendor, store, waits).capture(PARAMS, idempotency_key="k")
    assert waits == [4.0] and len(fake.events()) == 1


def test_a_200_without_status_is_unexpected_and_drift(vendor, fake, store, alerts):
    fake.fail_next(Reply(200, {}))
    with pytest.raises(UnexpectedReply, match="lacks status"):
        posthog(vendor, store).capture(PARAMS, idempotency_key="k")
    assert ("missing", "status") in drifted(store, "posthog.capture")


def test_a_missing_key_is_a_sentence(vendor, monkeypatch):
    monkeypatch.delenv("POSTHOG_PROJECT_API_KEY")
    with pytest.raises(ConfigError, match="POSTHOG_PROJECT_API_KEY, which is not set"):
        posthog(vendor)
