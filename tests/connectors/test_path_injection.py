"""Model output in a vendor URL path stays one segment of the template, or is refused.

An id the model produced (``1/../../notes``, ``%2e%2e``, ``x?archived=true``, an absolute
URL, ``ｅvil.com``) goes through each connector to a local server; whatever happens, no
request reaches any path but the template's, with the id as exactly one segment.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote

import pytest
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    BadParams,
    ConnectorError,
    HttpConnector,
    HubSpotConnector,
    SlackConnector,
    StripeConnector,
    VendorHTTP,
    ZendeskConnector,
)
from seamline.connectors.testing import Reply

# Values a server would read as a move along the path, after decoding: refused, nothing sent.
REFUSED = ["1/../../notes", "..", ".", "%2e%2e", "%2E%2E/notes", "1%2F..%2Fnotes", "%252e%252e",
           "1/%2e%2e/notes", "..\\..\\notes", "a/./b", "", " ", "x\r\nHost: evil.example", "%00"]
# Values that are odd but harmless as one encoded segment: sent, to the template's path only.
ENCODED = ["x?archived=true", "x#frag", "https://evil.example/x", "//evil.example/x",
           "http://127.0.0.1:1/admin", "a/b", "ｅvil.com", "evil.com%E3%80%82", "evil.com。",
           "x%2Fy", "...", "?", "#", "%", "\\\\evil.example\\share", "1;admin", "@evil.example"]

SEGMENT = r"[^/?#]+"  # one segment as it travels: nothing that would split it


def key(value: str) -> str:
    """An idempotency key per value, as the outbox makes them (ASCII, for a header)."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def assert_only(vendor, template: str, value: str) -> None:
    """Every request arrived at ``template`` with ``value`` as its one encoded segment."""
    pattern = re.compile("^" + template.replace("{}", f"({SEGMENT})") + "$")
    assert vendor.requests, f"nothing arrived for {value!r}"
    for request in vendor.requests:
        match = pattern.match(request.path)
        assert match, f"{value!r} reached {request.path!r}, outside {template}"
        assert unquote(match.group(1)) == value
        assert request.query == {}, f"{value!r} added a query: {request.query}"


def run(call, vendor, template: str, values: list[str]) -> None:
    """Call the operation with each value (one store and server for all: setup is the cost)."""
    for value in values:
        vendor.requests.clear()
        if value in REFUSED:
            with pytest.raises(BadParams):
                call(value)
            assert vendor.requests == [], f"{value!r} was refused but something was sent"
            continue
        try:
            call(value)
        except ConnectorError:
            pass  # the fake vendor answers 404: what matters is where the request went
        assert_only(vendor, template, value)


VALUES = REFUSED + ENCODED


def test_hubspot_record_ids(vendor, store):
    vendor.route("PATCH", "/*", lambda r: Reply(404, {"status": "error", "message": "not found",
                                                     "category": "OBJECT_NOT_FOUND"}))
    c = HubSpotConnector({"base_url": vendor.url}, store=store, sleep=lambda s: None)
    run(lambda v: c.update_record({"id": v, "properties": {"a": "1"}}, idempotency_key=key(v)),
        vendor, "/crm/v3/objects/contacts/{}", VALUES)


def test_hubspot_object_types(vendor, store):
    vendor.route("PATCH", "/*", lambda r: Reply(404, {"message": "not found"}))
    c = HubSpotConnector({"base_url": vendor.url}, store=store, sleep=lambda s: None)
    run(lambda v: c.update_record({"id": "501", "object_type": v, "properties": {"a": "1"}},
                                  idempotency_key=key(v)),
        vendor, "/crm/v3/objects/{}/501", [v for v in VALUES if v])  # "": the default type


def test_stripe_object_ids(vendor, store):
    vendor.route("POST", "/*", lambda r: Reply(404, {"error": {
        "type": "invalid_request_error", "code": "resource_missing", "message": "No such customer"}}))
    c = StripeConnector({"base_url": vendor.url}, store=store, sleep=lambda s: None)
    run(lambda v: c.update_metadata({"id": v, "metadata": {"a": "1"}}, idempotency_key=key(v)),
        vendor, "/v1/customers/{}", VALUES)


def test_http_path_params(vendor, store):
    vendor.route("POST", "/*", lambda r: Reply(404, {"message": "no such order"}))
    c = HttpConnector({"base_url": vendor.url + "/api", "path": "/orders/{order}/notes",
                       "allow_hosts": ["127.0.0.1"]}, store=store, sleep=lambda s: None)
    run(lambda v: c.send({"order": v}, idempotency_key="k"), vendor, "/api/orders/{}/notes",
        VALUES)


def test_zendesk_ticket_ids_are_integers_or_nothing(vendor, store):
    vendor.route("PUT", "/*", lambda r: Reply(404, {"error": "RecordNotFound"}))
    c = ZendeskConnector({"base_url": vendor.url}, store=store, sleep=lambda s: None)
    for value in VALUES:
        with pytest.raises(BadParams):
            c.update_ticket({"id": value, "comment": "x"}, idempotency_key=key(value))
    assert vendor.requests == []


def test_slack_channels_travel_in_the_body_never_the_path(vendor, store):
    vendor.route("POST", "/*", lambda r: Reply(200, {"ok": False, "error": "channel_not_found"}))
    c = SlackConnector({"base_url": vendor.url}, store=store, sleep=lambda s: None)
    for value in ("../../admin", "https://evil.example/x", "C1?x=1"):
        vendor.requests.clear()
        with pytest.raises(ConnectorError):
            c.post_message({"text": "hi", "channel": value}, idempotency_key=key(value))
        [request] = vendor.requests
        assert request.path == "/chat.postMessage" and request.json()["channel"] == value


# -- the transport refuses any path that would leave the base URL ------------------------

LEAVING = ["/a/../../x", "/a/..", "/%2e%2e/x", "/a/%2E%2e/x", "/a/%252e%252e/x", "/./x",
           "//evil.example/x", "///evil.example/x", "https://evil.example/x", "http://ｅvil.com/",
           "http://evil.com%E3%80%82/", "HTTP://evil.example/", "x", "", "evil.example/x",
           "/a\\..\\x", "\\\\evil.example\\x", "/x#frag", "/x y", "/x\r\nHost: evil", " /x",
           "/x\t", "/x\x00"]


def test_vendor_http_refuses_paths_that_leave_the_base(vendor):
    vendor.route("GET", "/*", lambda r: Reply(200, {"ok": True}))
    http = VendorHTTP("acme", vendor.url + "/base", max_retries=0)
    for path in LEAVING:
        with pytest.raises(BadParams, match="acme refused to send GET"):
            http.request("GET", path)
    assert vendor.requests == []


def test_vendor_http_refuses_an_absolute_url_even_to_its_own_host(vendor):
    vendor.route("GET", "/*", lambda r: Reply(200, {"ok": True}))
    http = VendorHTTP("acme", vendor.url + "/base", max_retries=0)
    for url in (f"{vendor.url}/admin", f"{vendor.url}/base/ok"):
        with pytest.raises(BadParams, match="not a path starting with a single /"):
            http.request("GET", url)
    assert vendor.requests == []


def test_vendor_http_sends_paths_under_the_base_with_their_query(vendor):
    vendor.route("GET", "/*", lambda r: Reply(200, {"ok": True}))
    http = VendorHTTP("acme", vendor.url + "/base", max_retries=0)
    assert http.request("GET", "/ok/x%2Fy?sort=desc").json() == {"ok": True}
    assert http.request("GET", "/ok", params={"page[size]": "100"}).json() == {"ok": True}
    first, second = vendor.requests
    assert (first.path, first.query) == ("/base/ok/x%2Fy", {"sort": ["desc"]})
    assert (second.path, second.query) == ("/base/ok", {"page[size]": ["100"]})
