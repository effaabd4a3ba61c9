"""Every route of the service, checked: strangers get 401 (or the sign-in page), the
under-privileged 403, and neither changes anything in the store."""

from __future__ import annotations

import re

import pytest
from access_fixtures import PASSWORD, add_people, form_token, row_counts
from conftest import DOWNSTREAM, make_integration, verdict
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from seamline.access import Role, parse_keys
from seamline.actions import list_awaiting
from seamline.runtime import Pipeline
from seamline.server import create_app
from seamline.server._auth import configured_key_roles

KEYS = {"k-viewer": Role.VIEWER, "k-reviewer": Role.REVIEWER, "k-admin": Role.ADMIN}
TICKET = {"ticket_id": "T-1", "body": "Please refund my order"}
BELOW = {Role.REVIEWER: Role.VIEWER, Role.ADMIN: Role.REVIEWER}
USER_OF = {Role.VIEWER: "vera", Role.REVIEWER: "rita", Role.ADMIN: "adam"}

# Routes anyone may call, each with the reason; a new route missing from here and
# without an access dependency fails test_every_route_declares_who_may_call_it.
PUBLIC = {
    ("GET", "/healthz"): "liveness probe, says nothing private",
    ("GET", "/readyz"): "readiness probe: whether the store and the queue answer, nothing private",
    ("GET", "/login"): "the sign-in form",
    ("POST", "/login"): "signing in (CSRF-checked, rate-limited)",
    ("POST", "/logout"): "signing out (CSRF-checked; without a session it ends nothing)",
    ("POST", "/v1/webhooks/{source}"): "vendors authenticate with their signature scheme",
    ("GET", "/metrics"): "Prometheus scrape (counts only); SEAMLINE_METRICS_TOKEN closes it",
    ("GET", "/openapi.json"): "API documentation",
    ("GET", "/docs"): "API documentation",
    ("GET", "/docs/oauth2-redirect"): "API documentation",
    ("GET", "/redoc"): "API documentation",
    ("MOUNT", "/console/static"): "the console's stylesheet and scripts, nothing private",
}


def app_for(store, **kwargs):
    kwargs.setdefault("api_keys", KEYS)
    return create_app([make_integration()], store, providers={"refunds": verdict()},
                      secure_cookies=False, **kwargs)


def requirement(dependant, extra=()) -> tuple[str, Role] | None:
    """The (kind, role) an access dependency of this route demands, if any."""
    for depends in extra:  # dependencies of an included router
        found = getattr(depends.dependency, "seamline_access", None)
        if found:
            return found
    pending = list(dependant.dependencies)
    while pending:
        dep = pending.pop()
        found = getattr(dep.call, "seamline_access", None)
        if found:
            return found
        pending.extend(dep.dependencies)
    return None


def every_route(routes, prefix: str = "", extra: tuple = ()):
    """(path, methods, requirement) of every route, included routers' routes too.

    Recent FastAPI keeps an included router as one entry of ``app.routes``: walk into it.
    """
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = route.include_context
            yield from every_route(included.routes, prefix + context.prefix,
                                   extra + tuple(context.dependencies))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route.methods, requirement(route.dependant, extra)
        elif isinstance(route, Mount):
            yield prefix + route.path, {"MOUNT"}, None
        else:
            yield prefix + route.path, getattr(route, "methods", None) or set(), None


def guarded_routes(app) -> list[tuple[str, str, str, Role]]:
    """(method, path template, kind, role) of every route that needs a user or key."""
    out = []
    for path, methods, need in every_route(app.routes):
        for method in sorted(methods):
            if method == "HEAD" or (method, path) in PUBLIC:
                continue
            assert need is not None, f"{method} {path} declares no access requirement"
            out.append((method, path, *need))
    return out


def seeded(store) -> dict[str, str]:
    """An action waiting for approval, so the routes' ids name real rows."""
    result = Pipeline(make_integration(), store, provider=verdict(amount=5000)).process(
        {"ticket_id": "W-1", "body": "Refund 5000"})
    (row,) = list_awaiting(store)
    return {"{name}": "refunds", "{event_id}": result.event_id, "{outbox_id}": str(row.id)}


def concrete(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: ids.get(m.group(0), "x-1"), path)


def call(client: TestClient, method: str, path: str, ids: dict[str, str],
         headers: dict | None = None):
    return client.request(method, concrete(path, ids), headers=headers or {},
                          json=TICKET if method != "GET" else None)


def signed_in(app, username: str) -> tuple[TestClient, str]:
    c = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    token = form_token(c.get("/login").text)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    return c, form_token(c.get("/login").text)  # the session's own token, not the pre-sign-in one


def test_every_route_declares_who_may_call_it(store):
    routes = guarded_routes(app_for(store))
    as_set = {(m, p) for m, p, _, _ in routes}
    assert {("POST", "/v1/integrations/refunds/invoke"), ("POST", "/v1/integrations/refunds/events"),
            ("GET", "/v1/events/{event_id}")} <= as_set


def test_strangers_get_401_or_the_sign_in_page_and_nothing_changes(store):
    app = app_for(store)
    ids = seeded(store)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        browser_token = form_token(client.get("/login").text)  # a stranger's own CSRF token
        before = row_counts(store)
        for method, path, kind, _role in guarded_routes(app):
            for headers in ({}, {"X-API-Key": "not-a-key"}, {"Authorization": "Bearer nope"}):
                r = call(client, method, path, ids, headers)
                if kind == "api":
                    assert r.status_code == 401, (method, path, headers, r.text)
                    assert r.headers["www-authenticate"] == "Bearer" and r.json()["error"]
                elif method == "GET":
                    assert r.status_code == 303, (method, path, r.status_code)
                    assert r.headers["location"].startswith("/login?next=")
                else:  # a form post: refused for its missing token, or sent to sign in
                    assert r.status_code == 403, (method, path, r.status_code)
                    r = call(client, method, path, ids, {**headers, "X-CSRF-Token": browser_token})
                    assert r.status_code == 303, (method, path, r.status_code)
                    assert r.headers["location"].startswith("/login?next=")
        assert row_counts(store) == before and DOWNSTREAM == []


def test_the_under_privileged_get_403_by_key_and_by_session_and_nothing_changes(store):
    add_people(store)
    app = app_for(store)
    ids = seeded(store)
    guarded = guarded_routes(app)
    sessions = {role: signed_in(app, USER_OF[role]) for role in Role}
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        before = row_counts(store)
        checked = 0
        for method, path, kind, role in guarded:
            lower = BELOW.get(role)
            if lower is None:
                continue  # a viewer route: nobody is below a viewer
            key = next(k for k, r in KEYS.items() if r == lower)
            if kind == "api":
                r = call(client, method, path, ids, {"X-API-Key": key})
                assert r.status_code == 403, (method, path, r.text)
                assert "role" in r.json()["error"]
            for weaker in [r for r in Role if r < role]:
                session, token = sessions[weaker]
                r = call(session, method, path, ids, {"X-CSRF-Token": token})
                assert r.status_code == 403, (method, path, weaker, r.text)
                assert "role" in r.text  # refused for the role, not for a missing token
                checked += 1
        assert row_counts(store) == before and DOWNSTREAM == []
    assert checked >= 5
    for session, _ in sessions.values():
        session.close()


def test_each_role_reaches_what_it_may(store):
    app = app_for(store)
    with TestClient(app, raise_server_exceptions=False) as client:
        viewer, reviewer = {"X-API-Key": "k-viewer"}, {"Authorization": "Bearer k-reviewer"}
        invoked = client.post("/v1/integrations/refunds/invoke", json=TICKET, headers=reviewer)
        assert invoked.status_code == 200
        event = invoked.json()["event_id"]
        assert client.get(f"/v1/events/{event}", headers=viewer).status_code == 200
        assert client.post("/v1/integrations/refunds/invoke", json=TICKET,
                           headers=viewer).status_code == 403
        assert client.post("/v1/integrations/refunds/invoke", json={**TICKET, "ticket_id": "T-2"},
                           headers={"X-API-Key": "k-admin"}).status_code == 200


def test_a_signed_in_reviewer_may_invoke_with_the_csrf_header_only(store):
    add_people(store)
    app = app_for(store)
    client, token = signed_in(app, "rita")
    with client:
        assert client.post("/v1/integrations/refunds/invoke", json=TICKET).status_code == 403
        assert DOWNSTREAM == []
        ok = client.post("/v1/integrations/refunds/invoke", json=TICKET,
                         headers={"X-CSRF-Token": token})
        assert ok.status_code == 200


def test_the_app_exposes_its_access_control_for_the_console(store):
    app = app_for(store)
    assert app.state.access.keys == KEYS


# ------------------------------------------------------------------ keys and roles


def test_key_entries_may_name_a_role_and_a_bare_key_is_an_admin_key():
    assert parse_keys(["k1", " k2:viewer ", "k3:Reviewer", "k:4:admin", "odd:key", ""]) == {
        "k1": Role.ADMIN, "k2": Role.VIEWER, "k3": Role.REVIEWER, "k:4": Role.ADMIN,
        "odd:key": Role.ADMIN}


def test_keys_with_roles_come_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("SEAMLINE_API_KEYS", "ops-key, dash-key:viewer")
    assert configured_key_roles(None, allow_anonymous=False) == {
        "ops-key": Role.ADMIN, "dash-key": Role.VIEWER}
    app = create_app([make_integration()], store, providers={"refunds": verdict()})
    with TestClient(app) as client:
        assert client.post("/v1/integrations/refunds/invoke", json=TICKET,
                           headers={"X-API-Key": "dash-key"}).status_code == 403
        assert client.post("/v1/integrations/refunds/invoke", json=TICKET,
                           headers={"X-API-Key": "ops-key"}).status_code == 200


@pytest.mark.parametrize("path", ["/v1/events/evt_x"])
def test_anonymous_serving_opens_the_service_routes_only_when_no_key_exists(store, monkeypatch,
                                                                           path):
    monkeypatch.delenv("SEAMLINE_API_KEYS", raising=False)
    app = create_app([make_integration()], store, providers={"refunds": verdict()},
                     allow_anonymous=True)
    with TestClient(app, follow_redirects=False) as client:
        assert client.get(path).status_code == 404  # through auth: the event does not exist
    keyed = app_for(store, allow_anonymous=True)
    with TestClient(keyed) as client:
        assert client.get(path).status_code == 401
