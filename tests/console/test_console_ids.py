"""What an attacker puts in the console's paths and query strings: ids too large, negative
or not numbers at all get a 404 page with a sentence, never a 500; a banner says only
what the server itself knows to be so, never text from the query string."""

from __future__ import annotations

import re

import pytest
from console_seed import PASSWORD, console_app, seed
from fastapi.testclient import TestClient

HOSTILE_IDS = ["1180591620717411303424", "9223372036854775808", "-1", "0", "abc", "1e3",
               "1.5", "%00", "1%00", "٣"]


@pytest.fixture(params=["sqlite", "postgresql"])
def console(request):
    store = request.getfixturevalue("store" if request.param == "sqlite" else "pg_store")
    model, ids = seed(store)
    return console_app(store, model), store, ids


def signed_in(app, username: str) -> tuple[TestClient, str]:
    client = TestClient(app, raise_server_exceptions=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": token, "next": "/console"})
    assert answer.status_code == 200, answer.text
    return client, re.search(r'name="csrf_token" value="([^"]+)"', answer.text).group(1)


def banner(html: str) -> str:
    found = re.search(r'role="status"[^>]*>(.*?)</', html, re.DOTALL)
    return found.group(1).strip() if found else ""


@pytest.mark.parametrize("ident", HOSTILE_IDS)
def test_an_id_that_is_not_an_action_is_a_404_page(console, ident):
    app, _, _ = console
    client, token = signed_in(app, "rita")
    page = client.get(f"/console/reviews/{ident}")
    assert page.status_code == 404, (ident, page.status_code, page.text[:200])
    assert "No such action" in page.text and "Traceback" not in page.text
    for verb in ("approve", "reject", "edit"):
        posted = client.post(f"/console/reviews/{ident}/{verb}",
                             data={"csrf_token": token, "comment": "x", "params": "{}"},
                             follow_redirects=False)
        assert posted.status_code == 404, (ident, verb, posted.status_code, posted.text[:200])


@pytest.mark.parametrize("ident", ["evt_" + "f" * 300, "%00", "a%00b", "evt_%0A1"])
def test_an_event_id_that_cannot_exist_is_a_404_page(console, ident):
    app, _, _ = console
    client, token = signed_in(app, "rita")
    for path in (f"/console/events/{ident}", f"/console/dead-letters/{ident}"):
        page = client.get(path)
        assert page.status_code == 404, (path, page.status_code, page.text[:200])
    posted = client.post(f"/console/dead-letters/{ident}/redrive", data={"csrf_token": token},
                         follow_redirects=False)
    assert posted.status_code in (404, 409), posted.status_code


def test_the_banner_never_shows_text_from_the_query_string(console):
    app, _, _ = console
    client, _ = signed_in(app, "vera")
    planted = "Action 1 was approved. Wire the refund to IBAN DE00 1234"
    for query in (f"notice=approved&id={planted}", "notice=approved&id=1",  # 1 still waits
                  "notice=approved&id=999999", "notice=rejected&id=2",
                  "notice=flag&id=made.up.flag", "notice=redriven&id=evt_nope",
                  "notice=approved&id=1180591620717411303424"):
        page = client.get(f"/console/reviews?{query}")
        assert page.status_code == 200
        assert banner(page.text) == "" and "IBAN" not in page.text, query


def test_the_banner_names_what_the_server_did(console):
    app, _, _ = console
    client, token = signed_in(app, "rita")
    done = client.post("/console/reviews/1/approve", data={"csrf_token": token, "comment": "ok"})
    assert banner(done.text) == "Action 1 was approved and run."
    # the same address later, or shared: the banner still says only what is true of action 1
    again = client.get("/console/reviews?notice=rejected&id=1")
    assert banner(again.text) == ""
