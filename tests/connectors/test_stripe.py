"""stripe: metadata updates, form-encoded, with Idempotency-Key and a pinned Stripe-Version."""

from __future__ import annotations

import pytest
from vendor_fixtures import *  # registers the fixtures (see its docstring)
from vendor_fixtures import drifted

from seamline.connectors import (
    StripeConnector,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)
from seamline.connectors.testing import RecordedRequest, Reply
from seamline.errors import ConfigError

CUSTOMER = {"id": "cus_123", "object": "customer", "metadata": {"tier": "gold"}}


def stripe(vendor, store, waits=None, **options) -> StripeConnector:
    return StripeConnector({"base_url": vendor.url, **options}, store=store,
                           sleep=(waits.append if waits is not None else lambda s: None))


def stripe_like(effects: list[str]):
    """Stripe's idempotency: the first request with a key acts, later ones replay its reply."""
    seen: dict[str, Reply] = {}

    def answer(request: RecordedRequest) -> Reply:
        key = request.headers.get("idempotency-key", "")
        if key in seen:
            first = seen[key]
            return Reply(first.status, first.json, headers={"Idempotent-Replayed": "true"})
        effects.append(key)
        seen[key] = Reply(200, {**CUSTOMER, "metadata": request.form()})
        return seen[key]

    return answer


def test_happy_path_sends_form_metadata_key_version_and_auth(vendor, store):
    vendor.script("POST", "/v1/customers/cus_123", Reply(200, CUSTOMER))
    result = stripe(vendor, store).update_metadata(
        {"id": "cus_123", "metadata": {"tier": "gold", "score": 7}}, idempotency_key="k-1")
    assert result == {"id": "cus_123", "object": "customer", "replayed": False}
    vendor.assert_sent("POST", "/v1/customers/cus_123", headers={
        "Authorization": "Bearer sk_test_123", "Stripe-Version": "2024-06-20",
        "Idempotency-Key": "k-1", "Content-Type": "application/x-www-form-urlencoded"},
        form={"metadata[tier]": "gold", "metadata[score]": "7"})


def test_the_same_key_twice_acts_once_at_the_vendor(vendor, store):
    effects: list[str] = []
    vendor.route("POST", "/v1/customers/*", stripe_like(effects))
    connector = stripe(vendor, store)
    first = connector.update_metadata({"id": "cus_123", "metadata": {"a": "1"}}, idempotency_key="k")
    again = connector.update_metadata({"id": "cus_123", "metadata": {"a": "1"}}, idempotency_key="k")
    assert effects == ["k"] and not first["replayed"] and again["replayed"]
    assert len(vendor.sent("POST", "/v1/customers/cus_123")) == 2  # both carried the same key


@pytest.mark.parametrize(("status", "error", "raised", "words"), [
    (401, {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***"},
     VendorAuthFailed, "Invalid API Key"),
    (404, {"type": "invalid_request_error", "code": "resource_missing",
           "message": "No such customer: 'cus_404'", "param": "id"},
     VendorRejected, "No such customer"),
    (400, {"type": "invalid_request_error", "message": "Invalid string: metadata keys ..."},
     VendorRejected, "Invalid string"),
    (409, {"type": "idempotency_error", "message": "Keys for idempotent requests can only be "
           "used with the same parameters they were first used with."},
     VendorRejected, "idempotency_error"),
])
def test_stripe_error_objects_become_sentences(vendor, store, status, error, raised, words):
    vendor.script("POST", "/v1/customers/*", Reply(status, {"error": error}))
    with pytest.raises(raised, match=words) as info:
        stripe(vendor, store).update_metadata({"id": "cus_404", "metadata": {"a": "1"}},
                                              idempotency_key="k")
    assert not info.value.retryable and info.value.status == status


def test_429_with_retry_after_is_honoured_then_succeeds(vendor, store, waits):
    vendor.script("POST", "/v1/customers/cus_123",
                  Reply(429, {"error": {"type": "rate_limit_error", "message": "Too many"}},
                        headers={"Retry-After": "1"}), Reply(200, CUSTOMER))
    assert stripe(vendor, store, waits).update_metadata(
        {"id": "cus_123", "metadata": {"a": "1"}}, idempotency_key="k")["id"] == "cus_123"
    assert waits == [1.0]
    keys = {r.headers["idempotency-key"] for r in vendor.sent("POST", "/v1/customers/cus_123")}
    assert keys == {"k"}


def test_a_500_is_retryable_later_with_the_same_key(vendor, store):
    vendor.script("POST", "/v1/customers/*", Reply(500, {"error": {"type": "api_error",
                                                                   "message": "Sorry"}}))
    with pytest.raises(VendorUnavailable, match="answered 500") as info:
        stripe(vendor, store).update_metadata({"id": "c", "metadata": {"a": "1"}},
                                              idempotency_key="k")
    assert info.value.retryable


def test_a_200_without_the_object_is_unexpected_and_drift(vendor, store, alerts):
    vendor.script("POST", "/v1/customers/cus_123", Reply(200, {"deleted": True}))
    with pytest.raises(UnexpectedReply, match="lacks id, object"):
        stripe(vendor, store).update_metadata({"id": "cus_123", "metadata": {"a": "1"}},
                                              idempotency_key="k")
    assert ("missing", "id") in drifted(store, "stripe.update_metadata")
    assert {a.path for a in alerts} >= {"id", "object"}


def test_a_200_that_is_not_json_is_unexpected(vendor, store, alerts):
    vendor.script("POST", "/v1/customers/cus_123", Reply(200, text="<html>maintenance</html>"))
    with pytest.raises(UnexpectedReply, match="not JSON"):
        stripe(vendor, store).update_metadata({"id": "cus_123", "metadata": {"a": "1"}},
                                              idempotency_key="k")
    assert alerts


def test_reply_shapes_are_recorded_per_connector_and_pinned_version(vendor, store):
    vendor.script("POST", "/v1/customers/cus_123", Reply(200, CUSTOMER),
                  Reply(200, {**CUSTOMER, "livemode": False}))
    c = stripe(vendor, store)
    c.update_metadata({"id": "cus_123", "metadata": {"a": "1"}}, idempotency_key="k1")
    c.update_metadata({"id": "cus_123", "metadata": {"a": "1"}}, idempotency_key="k2")
    from seamline.contracts import drift_report
    [row] = drift_report(store, contract="stripe.update_metadata")
    assert (row.direction, row.version, row.change, row.path) == (
        "outbound", "2024-06-20", "added", "livemode")


def test_a_missing_secret_key_is_a_sentence_naming_the_variable(vendor, store, monkeypatch):
    monkeypatch.delenv("STRIPE_SECRET_KEY")
    with pytest.raises(ConfigError, match="environment variable STRIPE_SECRET_KEY, which is not "
                                          "set; set it, or name another variable with the "
                                          "option secret_key_env"):
        stripe(vendor, store)


def test_a_proof_field_of_another_type_is_unexpected_and_type_drift(vendor, store, alerts):
    vendor.script("POST", "/v1/customers/cus_123", Reply(200, CUSTOMER),
                  Reply(200, {**CUSTOMER, "id": 123}))
    c = stripe(vendor, store)
    c.update_metadata({"id": "cus_123", "metadata": {"a": "1"}}, idempotency_key="k1")
    with pytest.raises(UnexpectedReply, match="unexpected types"):
        c.update_metadata({"id": "cus_123", "metadata": {"a": "1"}}, idempotency_key="k2")
    assert ("type_changed", "id") in drifted(store, "stripe.update_metadata")
    assert [a.change for a in alerts] == ["type_changed"]
