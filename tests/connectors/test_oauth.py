"""OAuth 2.0 for connectors, end to end against a local RFC 6749 server (oauth_server.py):
the PKCE bootstrap, refresh before expiry, rotation kept under concurrent refreshes, and a
revoked refresh token that alerts once and holds the actions until re-authorization."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import make_integration, verdict
from oauth_server import CLIENT_ID, CLIENT_SECRET, OAuthServer, s256
from sqlalchemy import select, update
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.actions import resume_waiting
from seamline.alerts import list_alerts
from seamline.connectors import (
    AuthorizationFailed,
    CredentialsNeeded,
    HubSpotConnector,
    OAuthCredential,
    OAuthSettings,
    credential_report,
    finish_authorization,
    start_authorization,
)
from seamline.connectors.testing import RecordedRequest, Reply, VendorServer
from seamline.integration import ActionSpec
from seamline.runtime import Pipeline
from seamline.store import open_store
from seamline.store.tables import dead_letters, events, oauth_credentials, outbox


@pytest.fixture(autouse=True)
def client_env(monkeypatch):
    monkeypatch.setenv("TEST_OAUTH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TEST_OAUTH_CLIENT_SECRET", CLIENT_SECRET)


@pytest.fixture
def server():
    with OAuthServer() as s:
        yield s


def settings(server: OAuthServer, **more) -> OAuthSettings:
    return OAuthSettings.model_validate(server.settings(**more))


def bootstrap(store, server: OAuthServer, **more) -> None:
    url = start_authorization(store, settings(server, **more), "hubspot")
    finish_authorization(store, settings(server, **more), "hubspot", server.approve(url))


def expire(store, name: str = "hubspot", *, in_s: float = -1.0) -> None:
    """The night passes: the stored access token expires (or nears expiry) in ``in_s``;
    it was issued as long before that as its lifetime."""
    c = oauth_credentials.c
    with store.write() as conn:
        conn.execute(update(oauth_credentials).where(c.name == name).values(
            issued_at=c.issued_at - c.expires_at + time.time() + in_s,
            expires_at=time.time() + in_s))


def test_the_bootstrap_sends_pkce_s256_and_state_and_keeps_the_tokens_sealed(store, server):
    url = start_authorization(store, settings(server), "hubspot")
    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["code_challenge_method"] == "S256" and query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID and len(query["state"]) >= 20
    assert CLIENT_SECRET not in url
    redirect = server.approve(url)
    done = finish_authorization(store, settings(server), "hubspot", redirect)

    [exchange] = server.requests("authorization_code")
    form = exchange.form()
    # The verifier sent matches the challenge the URL carried (RFC 7636 §4.6, checked by
    # the server with its own S256), and the client credentials travel in the form body.
    assert s256(form["code_verifier"]) == query["code_challenge"]
    assert form["client_secret"] == CLIENT_SECRET and form["redirect_uri"] == query["redirect_uri"]
    assert done.has_refresh_token and done.expires_at == pytest.approx(time.time() + 3600, abs=5)
    token = OAuthCredential(store, settings(server), connector="hubspot").access_token()
    assert server.valid(token)
    with store.read() as conn:
        raw = conn.execute(select(oauth_credentials)).one()
    [live_refresh] = server.live_refresh_tokens()
    assert token not in raw.sealed and live_refresh not in raw.sealed  # sealed, not plain
    assert [r["state"] for r in credential_report(store)] == ["ok"]


def test_a_redirect_with_another_state_is_refused_and_nothing_is_exchanged(store, server):
    url = start_authorization(store, settings(server), "hubspot")
    forged = server.approve(url).replace("state=", "state=forged")
    with pytest.raises(AuthorizationFailed, match="state does not match"):
        finish_authorization(store, settings(server), "hubspot", forged)
    assert server.requests("authorization_code") == []


def test_a_code_used_with_another_verifier_is_refused_by_the_server(store, server):
    url = start_authorization(store, settings(server), "hubspot")
    redirect = server.approve(url)
    start_authorization(store, settings(server), "hubspot")  # a second start: a new verifier
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    with pytest.raises(AuthorizationFailed, match="PKCE verification failed"):
        finish_authorization(store, settings(server), "hubspot", code)


def test_the_token_is_refreshed_within_the_margin_before_expiry_and_rotation_is_kept(store, server):
    bootstrap(store, server)
    credential = OAuthCredential(store, settings(server), connector="hubspot")
    first = credential.access_token()
    assert credential.access_token() == first and server.requests("refresh_token") == []
    expire(store, in_s=200)  # inside the 5-minute margin, not yet expired
    second = credential.access_token()
    assert second != first and server.valid(second)
    assert len(server.requests("refresh_token")) == 1
    # The rotated refresh token is what the store holds: the next refresh spends it.
    expire(store, in_s=-1)
    third = credential.access_token()
    assert server.valid(third) and len(server.requests("refresh_token")) == 2
    [report] = credential_report(store)
    assert report["state"] == "ok" and report["refreshed_at"] == pytest.approx(time.time(), abs=5)


def test_the_margin_is_at_most_a_tenth_of_a_short_lifetime(store):
    with OAuthServer(expires_in=60) as server:
        bootstrap(store, server)
        credential = OAuthCredential(store, settings(server), connector="hubspot")
        credential.access_token()
        assert server.requests("refresh_token") == []  # 60 s left, margin 6 s: no refresh
        expire(store, in_s=5)
        credential.access_token()
        assert len(server.requests("refresh_token")) == 1


def _refresh_concurrently(url: str, server: OAuthServer) -> list[str]:
    """Two workers, each with its own store connection, find the token expired at once."""
    stores = [open_store(url), open_store(url)]
    got: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(s) -> None:
        try:
            credential = OAuthCredential(s, settings(server), connector="hubspot")
            start.wait()
            got.append(credential.access_token())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in stores:
        s.close()
    assert errors == []
    return got


def _concurrent_refresh_keeps_the_rotated_token(store, url: str, server: OAuthServer) -> None:
    bootstrap(store, server)
    expire(store)
    server.refresh_delay_s = 0.3  # the first refresh is in flight while the second worker looks
    got = _refresh_concurrently(url, server)
    assert len(got) == 2 and got[0] == got[1] and server.valid(got[0])
    # One refresh only: a second would have spent the rotated-away token, and the server's
    # reuse detection would have revoked the whole family.
    assert len(server.requests("refresh_token")) == 1
    server.refresh_delay_s = 0.0
    expire(store)
    later = OAuthCredential(store, settings(server), connector="hubspot").access_token()
    assert server.valid(later) and len(server.requests("refresh_token")) == 2
    assert list_alerts(store, kind="oauth_credential_failed") == []


def test_two_workers_refreshing_at_once_keep_the_rotated_token_on_sqlite(store, server, tmp_path):
    _concurrent_refresh_keeps_the_rotated_token(store, str(tmp_path / "seamline.db"), server)


def test_two_workers_refreshing_at_once_keep_the_rotated_token_on_postgresql(pg_store, pg_url,
                                                                             server):
    _concurrent_refresh_keeps_the_rotated_token(pg_store, pg_url, server)


def test_a_token_endpoint_down_past_the_budget_fails_then_a_later_refresh_fixes_it(store, server):
    bootstrap(store, server)
    expire(store)
    server.down = True
    credential = OAuthCredential(store, settings(server, refresh_budget_s=3.0,
                                                 retry_failed_after_s=0.0),
                                 connector="hubspot", sleep=lambda s: time.sleep(min(s, 0.05)))
    with pytest.raises(CredentialsNeeded, match="HTTP 503"):
        credential.access_token()
    assert len(server.requests("refresh_token")) >= 2  # retried within the budget
    [alert] = list_alerts(store, kind="oauth_credential_failed")
    assert alert.severity == "critical" and "HTTP 503" in alert.sentence
    server.down = False
    token = credential.access_token()  # the endpoint is back: the next try refreshes
    assert server.valid(token) and credential.recovered
    assert [r["state"] for r in credential_report(store)] == ["ok"]


def test_a_vendor_401_replaces_the_access_token_once_and_sends_again(store, server):
    bootstrap(store, server)
    with hubspot_api(server) as api:
        connector = HubSpotConnector(hubspot_options(server, api.url), store=store)
        connector.update_record({"id": "501", "properties": {"lifecyclestage": "customer"}},
                                idempotency_key="k-1")
        server.revoke_access_tokens()  # revoked early: the refresh token still works
        connector.update_record({"id": "502", "properties": {"lifecyclestage": "customer"}},
                                idempotency_key="k-2")
        tries = api.sent("PATCH", "/crm/v3/objects/contacts/502")
    assert len(tries) == 2 and tries[0].headers["authorization"] != tries[1].headers["authorization"]
    assert server.valid(tries[1].headers["authorization"].removeprefix("Bearer "))
    assert len(server.requests("refresh_token")) == 1


# -- the 3 am story, end to end through the pipeline ------------------------------------


def hubspot_api(server: OAuthServer) -> VendorServer:
    """HubSpot's CRM v3 contacts endpoint that honours only live access tokens
    (https://developers.hubspot.com/docs/api/crm/contacts, PATCH /crm/v3/objects/contacts/{id};
    401 body as https://developers.hubspot.com/docs/api/error-handling shows)."""
    api = VendorServer()

    def patch(request: RecordedRequest) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not server.valid(token):
            return Reply(401, {"status": "error", "message": "Authentication credentials not "
                               "found.", "correlationId": "c-1",
                               "category": "INVALID_AUTHENTICATION"})
        contact = request.path.rsplit("/", 1)[1]
        return Reply(200, {"id": contact, "properties": request.json()["properties"],
                           "updatedAt": "2026-12-04T03:00:00Z"})

    api.route("PATCH", "/crm/v3/objects/contacts/*", patch)
    return api


def hubspot_options(server: OAuthServer, api_url: str) -> dict:
    return {"base_url": api_url, "auth": "oauth", "oauth": server.settings()}


def test_a_revoked_refresh_token_alerts_once_holds_the_actions_and_they_run_once_after_reauth(
        store, server):
    bootstrap(store, server)
    with hubspot_api(server) as api:
        integration = make_integration(actions=(ActionSpec(
            name="mark_customer", handler="connector:hubspot.update_record",
            params={"id": "input.customer", "properties": "{'lifecyclestage': 'customer'}"},
            connector=hubspot_options(server, api.url)),))
        pipeline = Pipeline(integration, store, provider=verdict())
        ok = pipeline.process({"ticket_id": "T-1", "customer": "501", "body": "refund me"})
        assert ok.state == "succeeded", ok

        expire(store)  # 3 am: the access token expires, and the app was revoked
        server.revoke()
        held = [pipeline.process({"ticket_id": f"T-{n}", "customer": f"50{n}",
                                  "body": "refund me"}) for n in (2, 3, 4)]
        assert [r.state for r in held] == ["waiting_credentials"] * 3, held
        # One refresh tried (the first action); the others saw the failed credential.
        assert len(server.requests("refresh_token")) == 1
        [alert] = list_alerts(store, kind="oauth_credential_failed")
        assert alert.severity == "critical" and "invalid_grant" in alert.sentence
        for secret in (CLIENT_SECRET, *server.live_refresh_tokens()):
            assert secret not in alert.sentence
        with store.read() as conn:
            rows = conn.execute(select(outbox).order_by(outbox.c.id)).all()
            assert conn.execute(select(dead_letters)).all() == []
        assert [r.status for r in rows] == ["done"] + ["waiting_credentials"] * 3
        assert {r.waiting_for for r in rows[1:]} == {"hubspot"}
        assert all(r.attempts == 0 and "connectors auth hubspot" in r.last_error for r in rows[1:])
        assert [r.path for r in api.sent("PATCH")] == ["/crm/v3/objects/contacts/501"]
        [report] = credential_report(store)
        assert report["state"] == "failed" and "invalid_grant" in report["reason"]

        bootstrap(store, server)  # a person re-authorizes
        released = resume_waiting(store, "hubspot")
        assert sorted(e for _, e, _ in released) == sorted(r.event_id for r in held)
        for name, event_id, path in released:
            assert name == integration.name
            assert pipeline.finish_actions(event_id, path)[0] == "succeeded"
        assert resume_waiting(store, "hubspot") == []  # nothing waits any more
        patched = [r.path for r in api.sent("PATCH")]
    # Each held action ran exactly once, after the re-authorization, and only one alert.
    assert sorted(patched) == [f"/crm/v3/objects/contacts/50{n}" for n in range(1, 5)]
    assert len(list_alerts(store, kind="oauth_credential_failed")) == 1
    with store.read() as conn:
        assert set(conn.execute(select(events.c.state)).scalars()) == {"succeeded"}
        assert set(conn.execute(select(outbox.c.status)).scalars()) == {"done"}


def test_a_refresh_that_works_again_releases_the_actions_of_that_integration(store, server):
    bootstrap(store, server)
    with hubspot_api(server) as api:
        options = hubspot_options(server, api.url)
        options["oauth"] = {**options["oauth"], "refresh_budget_s": 0.2,
                            "retry_failed_after_s": 0.0}
        integration = make_integration(actions=(ActionSpec(
            name="mark_customer", handler="connector:hubspot.update_record",
            params={"id": "input.customer", "properties": "{'lifecyclestage': 'customer'}"},
            connector=options),))
        pipeline = Pipeline(integration, store, provider=verdict())
        expire(store)
        server.down = True  # the token endpoint is down past the budget
        held = pipeline.process({"ticket_id": "T-1", "customer": "501", "body": "refund me"})
        assert held.state == "waiting_credentials", held
        server.down = False
        later = pipeline.process({"ticket_id": "T-2", "customer": "502", "body": "refund me"})
        assert later.state == "succeeded", later
        with store.read() as conn:
            states = dict(conn.execute(select(events.c.id, events.c.state)).all())
        assert states[held.event_id] == "succeeded"  # released by the later refresh
        assert sorted(r.path for r in api.sent("PATCH")) == [
            "/crm/v3/objects/contacts/501", "/crm/v3/objects/contacts/502"]
    assert len(list_alerts(store, kind="oauth_credential_failed")) == 1


def test_check_names_the_oauth_client_variables_not_the_static_token(monkeypatch, server):
    from seamline.connectors import connector_problems

    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("TEST_OAUTH_CLIENT_SECRET")
    options = {"auth": "oauth", "oauth": server.settings()}
    assert connector_problems("connector:hubspot.update_record", options) == [(
        "The hubspot connector's OAuth client reads the environment variable "
        "TEST_OAUTH_CLIENT_SECRET, which is not set.")]
    assert "needs an oauth: mapping" in connector_problems(
        "connector:hubspot.update_record", {"auth": "oauth"})[0]


def test_a_connector_that_sends_no_bearer_token_refuses_auth_oauth(store, server):
    from seamline.connectors import StripeConnector
    from seamline.errors import ConfigError

    with pytest.raises(ConfigError, match="does not take auth: oauth"):
        StripeConnector({"auth": "oauth", "oauth": server.settings()}, store=store)
