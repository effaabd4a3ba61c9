"""Property-based fuzzing of every HTTP route: whatever arrives, no 500, no traceback, and
every event the server accepted reaches a terminal state.

Routes are enumerated from the app itself, so a route added later is fuzzed too. Bodies,
path parameters and query strings are drawn by hypothesis from hostile shapes (deep
nesting, lone surrogates, NUL, invalid UTF-8, huge numbers, duplicate keys, huge ids)
as well as from arbitrary bytes.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import quote

import pytest
from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.routing import Route

from seamline.runtime import TERMINAL
from seamline.server import create_app
from seamline.store.tables import events

KEY = "k-fuzz-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}

HOSTILE_BODIES = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 2_000 + b"1" + b"}" * 2_000,
    b'{"ticket_id": "T", "body": "\\ud800"}',
    b'{"ticket_id": "T", "body": "a\\u0000b"}',
    b'{"ticket_id": "T\x00", "body": "x"}',
    b'{"ticket_id": "T", "body": "\xff\xfe invalid utf-8"}',
    b'{"ticket_id": "T", "body": "x", "n": 1e999}',
    b'{"ticket_id": "T", "body": "x", "n": ' + b"9" * 5_000 + b"}",
    b'{"ticket_id": "T", "body": "x", "ticket_id": "U"}',
    b'{"ticket_id": "T", "body": NaN}',
    b"",
    b"null",
    b"\"just a string\"",
    b"\xef\xbb\xbf{}",
]

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=40))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20)
bodies = st.one_of(
    st.sampled_from(HOSTILE_BODIES),
    st.binary(max_size=300),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"ticket_id": st.text(max_size=30), "body": st.text(max_size=200)},
                          optional={"tenant": json_value, "extra": json_value})
    .map(lambda v: json.dumps(v).encode()),
)
path_params = st.one_of(st.text(max_size=30), st.integers().map(str),
                        st.just("1180591620717411303424"), st.just("../../etc/passwd"),
                        st.just("%00"), st.just("evt_" + "f" * 200))
queries = st.dictionaries(st.sampled_from(["id", "notice", "limit", "page", "q", "state",
                                           "integration", "next"]),
                          st.one_of(st.text(max_size=30), st.integers().map(str)), max_size=3)


@pytest.fixture(scope="module")
def app_and_store(tmp_path_factory):
    from seamline.store import open_store

    store = open_store(tmp_path_factory.mktemp("fuzz") / "s.db")
    app = create_app([make_integration()], store, api_keys={KEY},
                     providers={"refunds": verdict()}, latency_budget_s=5.0)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client, store
    store.close()


def _routes(app) -> list[tuple[str, str]]:
    found = []
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        inner = getattr(route, "original_router", None)  # a router included lazily
        if inner is not None:
            pending += inner.routes
        elif isinstance(route, Route) and route.methods:
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                found.append((method, route.path))
    return sorted(set(found))


def _fill(path: str, values: list[str]) -> str:
    # Percent-encoded as a client must send them; the server sees the decoded text.
    it = iter(values)
    return re.sub(r"\{[^}]+\}", lambda _: quote(next(it, "x"), safe="") or "x", path)


def _no_server_error(response) -> None:
    assert response.status_code < 500 or response.status_code == 503, (
        response.status_code, response.text[:300])
    assert "Traceback" not in response.text and 'File "/' not in response.text


def test_every_route_is_listed(app_and_store):
    app, _, _ = app_and_store
    paths = {p for _, p in _routes(app)}
    assert "/v1/integrations/refunds/invoke" in paths and "/v1/events/{event_id}" in paths
    assert any(p.startswith("/console") for p in paths)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_route_answers_500_whatever_the_body_path_or_query(app_and_store, data):
    app, client, _ = app_and_store
    method, path = data.draw(st.sampled_from(_routes(app)), label="route")
    params = data.draw(st.lists(path_params, min_size=3, max_size=3), label="path params")
    url = _fill(path, params)
    auth = data.draw(st.sampled_from([AUTH, {}, {"Authorization": "Bearer wrong"}]))
    body = data.draw(bodies, label="body") if method in ("POST", "PUT", "PATCH") else None
    content_type = data.draw(st.sampled_from(["application/json",
                                              "application/x-www-form-urlencoded",
                                              "text/plain"]))
    response = client.request(method, url, params=data.draw(queries), content=body,
                              headers={**auth, "Content-Type": content_type},
                              follow_redirects=False)
    _no_server_error(response)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies)
def test_every_invoke_is_answered_and_every_accepted_event_ends_terminal(app_and_store, body):
    _, client, store = app_and_store
    response = client.post("/v1/integrations/refunds/invoke", content=body,
                           headers={**AUTH, "Content-Type": "application/json"})
    _no_server_error(response)
    event_id = response.json().get("event_id")
    if response.status_code in (200, 202, 400, 422, 429, 502):
        assert event_id, response.text[:200]  # recorded, even when refused
    if event_id:
        deadline = time.monotonic() + 10
        while True:
            with store.read() as conn:
                state = conn.execute(select(events.c.state)
                                     .where(events.c.id == event_id)).scalar()
            if state in TERMINAL or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert state in TERMINAL, (event_id, state)
