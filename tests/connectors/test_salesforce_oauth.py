"""salesforce with ``auth: oauth``: the token from a connected app's credential, the API host
from the token's ``instance_url``, a dead session refreshed once, a moved org followed.

Real HTTP: the token endpoint is the local RFC 6749 server answering as Salesforce's does
(oauth_server.OAuthServer.salesforce: instance_url, no expires_in, no rotation;
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm),
and the API is fakes_crm.FakeSalesforce (REST API v62.0) honouring only live tokens.
"""

from __future__ import annotations

import pytest
from conftest import make_integration, verdict
from fakes_crm import *  # registers crm_credentials
from fakes_crm import FakeSalesforce
from oauth_server import CLIENT_ID, CLIENT_SECRET, OAuthServer
from sqlalchemy import select
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.actions import resume_waiting
from seamline.connectors import (
    SalesforceConnector,
    UnexpectedReply,
    credential_report,
    finish_authorization,
    renew,
    start_authorization,
)
from seamline.connectors.testing import VendorServer
from seamline.integration import ActionSpec
from seamline.runtime import Pipeline
from seamline.store.tables import outbox

BASE = "/services/data/v62.0"
ACME = {"Name": "Acme", "Industry": "Retail"}


@pytest.fixture(autouse=True)
def client_env(monkeypatch, crm_credentials):
    monkeypatch.setenv("TEST_OAUTH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TEST_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.delenv("SALESFORCE_ACCESS_TOKEN")  # OAuth needs no static token


@pytest.fixture
def org():
    """The org's instance: a Salesforce fake that takes only the token server's live tokens."""
    with VendorServer() as instance:
        yield instance


@pytest.fixture
def server(org):
    with OAuthServer() as s:
        s.salesforce(org.url)
        yield s


def oauth(server: OAuthServer) -> dict:
    return {"auth": "oauth", "oauth": server.settings(token_auth="client_secret_post")}


def bootstrap(store, server: OAuthServer) -> None:
    settings = SalesforceConnector.Options.model_validate(oauth(server)).oauth
    assert settings is not None
    url = start_authorization(store, settings, "salesforce")
    finish_authorization(store, settings, "salesforce", server.approve(url))


def test_the_api_host_is_the_tokens_instance_url_not_the_base_url_option(store, server, org):
    sf = FakeSalesforce(org, token=server.valid)
    bootstrap(store, server)
    [report] = credential_report(store)
    assert report["state"] == "ok" and report["expires_at"] is None  # Salesforce gives none
    with VendorServer() as elsewhere:  # a base_url that is not the org's: never reached
        c = SalesforceConnector({**oauth(server), "base_url": elsewhere.url}, store=store)
        out = c.create_record({"sobject": "Account", "fields": ACME}, idempotency_key="k")
        assert elsewhere.sent() == []
    assert out == {"id": sf.of("Account")[0]["Id"], "created": True}
    [sent] = org.sent("POST", f"{BASE}/sobjects/Account/")
    assert server.valid(sent.headers["authorization"].removeprefix("Bearer "))


def test_a_dead_session_is_refreshed_once_and_the_request_sent_again(store, server, org):
    sf = FakeSalesforce(org, token=server.valid)
    bootstrap(store, server)
    c = SalesforceConnector(oauth(server), store=store)
    c.upsert_record({"sobject": "Account", "external_id_field": "Ext__c", "external_id": "A-1",
                     "fields": ACME}, idempotency_key="k1")
    server.revoke_access_tokens()  # the session timed out; the refresh token still works
    second = c.upsert_record({"sobject": "Account", "external_id_field": "Ext__c",
                              "external_id": "A-1", "fields": {"Industry": "Media"}},
                             idempotency_key="k2")
    tries = org.sent("PATCH", f"{BASE}/sobjects/Account/Ext__c/A-1")
    assert len(tries) == 3  # the first upsert, the 401, the same request with the new token
    assert tries[1].headers["authorization"] != tries[2].headers["authorization"]
    assert second["created"] is False and sf.of("Account")[0]["Industry"] == "Media"
    refreshes = server.requests("refresh_token")
    assert len(refreshes) == 1 and refreshes[0].form()["client_secret"] == CLIENT_SECRET


def test_a_refresh_that_moves_the_org_moves_the_requests(store, server, org):
    old = FakeSalesforce(org, token=server.valid)
    bootstrap(store, server)
    c = SalesforceConnector(oauth(server), store=store)
    c.create_record({"sobject": "Account", "fields": ACME}, idempotency_key="k1")
    with VendorServer() as moved:
        new = FakeSalesforce(moved, token=server.valid)
        server.instance_url = moved.url  # the org moved: the token endpoint names its new host
        # The worker's renewal (or `seamline connectors refresh`) refreshes the credential…
        assert renew(store, c.options.oauth, "salesforce", force=True).refreshed
        c.create_record({"sobject": "Account", "fields": {"Name": "Beta"}}, idempotency_key="k2")
        # …and a session that dies with the move is refreshed and the request re-aimed.
        server.instance_url = org.url
        server.revoke_access_tokens()
        c.create_record({"sobject": "Account", "fields": {"Name": "Gamma"}}, idempotency_key="k3")
    assert [r["Name"] for r in old.of("Account")] == ["Acme", "Gamma"]
    assert [r["Name"] for r in new.of("Account")] == ["Beta"]
    assert len(moved.sent("POST", f"{BASE}/sobjects/Account/")) == 2  # Beta, then Gamma's 401


def test_an_instance_url_that_is_not_https_is_refused_before_the_token_leaves(store, server, org):
    server.instance_url = "http://evil.example"
    bootstrap(store, server)
    c = SalesforceConnector(oauth(server), store=store)
    with pytest.raises(UnexpectedReply, match="not an https URL"):
        c.create_record({"sobject": "Account", "fields": ACME}, idempotency_key="k")
    assert org.sent() == []


def test_a_revoked_app_holds_a_kind_action_and_it_runs_once_after_reauthorization(
        store, server, org):
    sf = FakeSalesforce(org, token=server.valid)
    bootstrap(store, server)
    spec = ActionSpec(name="sync", handler="kind:crm.upsert_contact",
                      params={"email": "'jane@example.com'", "last_name": "'Doe'"})
    integration = make_integration(actions=(spec,), vendors={"crm": {
        "use": "salesforce", "salesforce": {**oauth(server), "contact_key_field": "Ext__c"}}})
    pipeline = Pipeline(integration, store, provider=verdict())
    server.revoke()  # the user revoked the connected app
    held = pipeline.process({"ticket_id": "T-1", "customer": "c", "body": "refund me"})
    assert held.state == "waiting_credentials", held
    assert sf.of("Contact") == []  # the one try met a dead session, and no refresh
    bootstrap(store, server)  # authorized again
    [(integration_name, event_id, path)] = resume_waiting(store, "salesforce")
    assert integration_name == integration.name
    assert pipeline.finish_actions(event_id, path)[0] == "succeeded"
    [contact] = sf.of("Contact")
    assert contact["Ext__c"] == "jane@example.com" and contact["LastName"] == "Doe"
    with store.read() as conn:
        assert conn.execute(select(outbox.c.status)).scalars().all() == ["done"]
