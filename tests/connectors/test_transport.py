"""The shared HTTP seam: Retry-After honoured within a budget, errors that say whether it acted."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import VendorHTTP, VendorUnavailable, retry_after_seconds
from seamline.connectors.testing import Reply


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("0.5") == 0.5
    assert 9 <= retry_after_seconds(formatdate(time.time() + 10, usegmt=True)) <= 10
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_429_then_success_waits_what_the_vendor_asked(vendor, waits):
    vendor.script("POST", "/x", Reply(429, {"error": "slow down"}, headers={"Retry-After": "2"}),
                  Reply(503, {}, headers={"Retry-After": "1"}), Reply(200, {"ok": True}))
    http = VendorHTTP("acme", vendor.url, sleep=waits.append)
    assert http.request("POST", "/x", json={}).json() == {"ok": True}
    assert waits == [2.0, 1.0]
    assert len(vendor.sent("POST", "/x")) == 3


def test_a_wait_beyond_the_budget_is_a_retryable_error_not_a_sleep(vendor, waits):
    vendor.script("POST", "/x", Reply(429, {}, headers={"Retry-After": "120"}))
    http = VendorHTTP("acme", vendor.url, retry_budget_s=30, sleep=waits.append)
    with pytest.raises(VendorUnavailable, match="asked us to wait 120 s, beyond") as info:
        http.request("POST", "/x")
    assert waits == [] and info.value.retryable and info.value.sent is False
    assert info.value.retry_after == 120


def test_an_unreachable_vendor_certainly_did_not_act():
    http = VendorHTTP("acme", "http://127.0.0.1:9", timeout_s=1)
    with pytest.raises(VendorUnavailable, match="could not be reached") as info:
        http.request("POST", "/x")
    assert info.value.sent is False


def test_a_timeout_after_sending_leaves_the_outcome_unknown(vendor):
    vendor.script("POST", "/slow", Reply(200, {}, delay_s=1.0))
    http = VendorHTTP("acme", vendor.url, timeout_s=0.2)
    with pytest.raises(VendorUnavailable, match="may or may not have acted") as info:
        http.request("POST", "/slow")
    assert info.value.sent is None
