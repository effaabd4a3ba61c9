"""http: a generic JSON call carrying the Idempotency-Key header."""

from __future__ import annotations

import pytest
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import BadParams, HttpConnector, UnexpectedReply, VendorRejected
from seamline.connectors.testing import RecordedRequest, Reply
from seamline.errors import ConfigError

OPTIONS = {"path": "/orders/{order}/notes", "auth_env": "PARTNER_TOKEN",
           "api_version": "2025-01", "version_header": "X-Api-Version", "require": ["id"],
           "allow_hosts": ["127.0.0.1"]}  # the local vendor server, allowed explicitly


def http(vendor, store, **options) -> HttpConnector:
    return HttpConnector({"base_url": vendor.url, **OPTIONS, **options}, store=store,
                         sleep=lambda s: None)


def test_happy_path_posts_json_with_key_version_and_auth(vendor, store):
    vendor.script("POST", "/orders/o-1/notes", Reply(201, {"id": "n-9"}))
    out = http(vendor, store).send({"order": "o-1", "text": "hi"}, idempotency_key="k-1")
    assert out == {"status": 201, "body": {"id": "n-9"}}
    vendor.assert_sent("POST", "/orders/o-1/notes", json={"order": "o-1", "text": "hi"}, headers={
        "Idempotency-Key": "k-1", "Authorization": "Bearer partner-secret",
        "X-Api-Version": "2025-01"})


def test_put_or_patch_and_an_empty_reply_without_requirements(vendor, store):
    vendor.script("PATCH", "/orders/o-1/notes", Reply(204))
    out = http(vendor, store, method="PATCH", require=[]).send({"order": "o-1"},
                                                               idempotency_key="k")
    assert out == {"status": 204}


def test_the_same_key_twice_is_deduped_by_the_vendor(vendor, store):
    effects: list[str] = []

    def dedupe(request: RecordedRequest) -> Reply:
        key = request.headers["idempotency-key"]
        if key not in effects:
            effects.append(key)
        return Reply(200, {"id": f"n-{effects.index(key)}"})

    vendor.route("POST", "/orders/*/notes", dedupe)
    c = http(vendor, store)
    assert c.send({"order": "o"}, idempotency_key="k") == c.send({"order": "o"}, idempotency_key="k")
    assert effects == ["k"]


def test_errors_and_unexpected_shapes(vendor, store):
    vendor.script("POST", "/orders/o-1/notes", Reply(422, {"message": "text is required"}),
                  Reply(200, {"status": "queued"}))
    c = http(vendor, store)
    with pytest.raises(VendorRejected, match="http answered 422 to send: text is required"):
        c.send({"order": "o-1"}, idempotency_key="k")
    with pytest.raises(UnexpectedReply, match="lacks id"):
        c.send({"order": "o-1"}, idempotency_key="k")


def test_a_path_naming_a_missing_param_and_a_missing_token(vendor, store, monkeypatch):
    with pytest.raises(BadParams, match="names 'order'"):
        http(vendor, store).send({}, idempotency_key="k")
    monkeypatch.delenv("PARTNER_TOKEN")
    with pytest.raises(ConfigError, match="PARTNER_TOKEN, which is not set"):
        http(vendor, store)


def test_unknown_options_are_refused(vendor, store):
    with pytest.raises(ConfigError, match="options of the http connector are invalid: methd"):
        http(vendor, store, methd="PUT")


def test_a_credential_in_a_variable_with_a_plain_name_is_scrubbed(vendor, store, monkeypatch):
    # "PARTNER_LOGIN" says nothing of a secret; the connector's option naming it does.
    from seamline.scrub import configured_secrets, scrub

    monkeypatch.setenv("PARTNER_LOGIN", "pl-9a8b7c6d5e4f")
    assert "pl-9a8b7c6d5e4f" not in configured_secrets()
    http(vendor, store, auth_env="PARTNER_LOGIN")
    assert "pl-9a8b7c6d5e4f" in configured_secrets()
    assert scrub("sent with pl-9a8b7c6d5e4f") == "sent with <SECRET_FROM_ENV>"
