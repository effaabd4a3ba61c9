"""The "Writing a connector" example of docs/connectors.md, kept true by running it."""

from __future__ import annotations

from typing import Any

import pytest
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    Connector,
    ConnectorOptions,
    OutcomeUnknown,
    Params,
    Reply,
    UnexpectedReply,
    VendorRejected,
)
from seamline.connectors.testing import Reply as Scripted
from seamline.connectors.testing import check_connector_class

# --- the example, as in the docs ------------------------------------------------------


class PagerOptions(ConnectorOptions):
    token_env: str = "PAGER_TOKEN"


class Page(Params):
    service: str
    summary: str
    urgency: str = "high"


class Incident(Reply):
    id: str | None = None
    status: str | None = None


class PagerConnector(Connector):
    """Pager: open an incident. Pager has no idempotency key, so we keep one."""

    name = "pager"
    api_version = "2025-03"  # sent as X-Pager-Version on every request
    idempotency = "ours"
    operations = ("open_incident",)
    Options = PagerOptions
    credentials = ("token_env",)
    default_base_url = "https://api.pager.example"

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        token = self.secret("token_env")  # a ConfigError sentence if unset
        self._http = self.http({"Authorization": f"Token {token}",
                                "X-Pager-Version": self.api_version})

    def open_incident(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Open one incident per key; returns ``{"id", "status"}``."""
        page = self.params(Page, params, "open_incident")

        def send() -> dict[str, Any]:
            response = self._http.request("POST", "/incidents", json=page.model_dump())
            incident = self.reply(response, Incident, "open_incident", proof=("id",))
            return {"id": incident.id, "status": incident.status}

        return self.once(idempotency_key, send, what="open_incident")


# --- its contract tests -----------------------------------------------------------------


@pytest.fixture
def pager(vendor, store, monkeypatch):
    monkeypatch.setenv("PAGER_TOKEN", "tok")
    return PagerConnector({"base_url": vendor.url}, store=store, sleep=lambda s: None)


def test_the_class_keeps_the_contract():
    check_connector_class(PagerConnector)


def test_happy_path_and_once_per_key(vendor, pager):
    vendor.script("POST", "/incidents", Scripted(201, {"id": "P1", "status": "triggered"}))
    params = {"service": "billing", "summary": "Refunds failing"}
    assert pager.open_incident(params, idempotency_key="k") == {"id": "P1", "status": "triggered"}
    assert pager.open_incident(params, idempotency_key="k") == {"id": "P1", "status": "triggered"}
    vendor.assert_sent("POST", "/incidents", times=1, headers={
        "Authorization": "Token tok", "X-Pager-Version": "2025-03"},
        json={"service": "billing", "summary": "Refunds failing", "urgency": "high"})


def test_vendor_errors_and_unexpected_shapes(vendor, pager):
    vendor.script("POST", "/incidents", Scripted(422, {"message": "unknown service"}),
                  Scripted(200, {"status": "triggered"}))
    with pytest.raises(VendorRejected, match="pager answered 422 to open_incident: unknown service"):
        pager.open_incident({"service": "x", "summary": "y"}, idempotency_key="k1")
    with pytest.raises(UnexpectedReply, match="lacks id"):
        pager.open_incident({"service": "x", "summary": "y"}, idempotency_key="k2")
    with pytest.raises(OutcomeUnknown):  # it may have acted: never sent blindly again
        pager.open_incident({"service": "x", "summary": "y"}, idempotency_key="k2")
