"""The web console, route by route: who sees what, who may decide, and what each form
changes in the store and its audit trail."""

from __future__ import annotations

import re

import pytest
from conftest import DOWNSTREAM
from console_seed import PASSWORD, console_app, seed
from fastapi.testclient import TestClient

from seamline.actions import outbox_row
from seamline.audit import story
from seamline.rollout import Flags

PAGES = ["/console", "/console/reviews", "/console/reviews/1", "/console/dead-letters",
         "/console/costs", "/console/flags"]


@pytest.fixture
def console(store):
    model, ids = seed(store)
    app = console_app(store, model)
    DOWNSTREAM.clear()  # the seed's own auto-run refunds are not what the tests count
    return app, model, ids


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def signed_in(app, username: str) -> tuple[TestClient, str]:
    """A client signed in through the form, and the CSRF token its pages carry."""
    client = TestClient(app)
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": token, "next": "/console"})
    assert answer.status_code == 200 and answer.url.path == "/console"
    return client, csrf_of(answer.text)


def test_a_stranger_is_sent_to_sign_in(console):
    app, _, _ = console
    answer = TestClient(app).get("/console/reviews", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fconsole%2Freviews"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_a_viewer(console, path):
    app, _, _ = console
    client, _ = signed_in(app, "vera")
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert "text/html" in answer.headers["content-type"]
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "<main" in answer.text and "vera" in answer.text


def test_event_and_dead_letter_pages_render(console):
    app, _, ids = console
    client, _ = signed_in(app, "vera")
    timeline = client.get(f"/console/events/{ids['R1']}")
    assert timeline.status_code == 200 and "grounding" in timeline.text
    assert "awaiting_approval" in timeline.text
    dead = client.get(f"/console/dead-letters/{ids['D1']}")
    assert dead.status_code == 200 and "notification service is down" in dead.text
    assert "/redrive" not in dead.text and "needs the reviewer role" in dead.text
    assert client.get("/console/events/evt_nope").status_code == 404
    assert client.get("/console/dead-letters/evt_nope").status_code == 404
    assert client.get("/console/reviews/999").status_code == 404


def test_the_review_page_marks_the_quote_in_the_escaped_source(console):
    app, _, _ = console
    client, _ = signed_in(app, "rita")
    page = client.get("/console/reviews/2").text
    assert "<mark>annual plan of $480</mark>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "amount 480.0 is above the threshold" in page  # why it waits
    assert "72%" in page  # the confidence
    assert "conftest.record_refund" in page  # the exact handler that will run
    assert 'action="/console/reviews/2/approve"' in page
    redacted = client.get("/console/reviews/3").text
    assert "anna.k@example.com" not in redacted and "&lt;EMAIL_1&gt;" in redacted
    assert "<mark>arrived broken</mark>" in redacted


def test_a_reviewer_approves_and_the_action_runs_once_with_the_reviewer_in_the_audit(
        console, store):
    app, _, ids = console
    client, token = signed_in(app, "rita")
    answer = client.post("/console/reviews/1/approve",
                         data={"csrf_token": token, "comment": "checked the invoice"})
    assert answer.status_code == 200 and "Action 1 was approved and run." in answer.text
    assert outbox_row(store, 1).status == "done"
    assert [p["ticket"] for _, p in DOWNSTREAM] == ["R1"]
    (approval,) = [e["payload"] for e in story(store, ids["R1"]) if e["kind"] == "approval"]
    assert approval["reviewer"] == "rita" and approval["decision"] == "approved"
    assert approval["comment"] == "checked the invoice"
    timeline = client.get(f"/console/events/{ids['R1']}").text
    assert "approved by rita: checked the invoice" in timeline and "succeeded" in timeline
    again = client.post("/console/reviews/1/approve", data={"csrf_token": token})
    assert again.status_code == 409 and len(DOWNSTREAM) == 1


def test_a_rejection_needs_a_comment_and_is_recorded(console, store):
    app, _, ids = console
    client, token = signed_in(app, "rita")
    bare = client.post("/console/reviews/2/reject", data={"csrf_token": token, "comment": " "})
    assert bare.status_code == 422 and "needs a comment" in bare.text
    assert outbox_row(store, 2).status == "awaiting_approval"
    answer = client.post("/console/reviews/2/reject",
                         data={"csrf_token": token, "comment": "a duplicate of R1"})
    assert answer.status_code == 200 and "rejected" in answer.text
    row = outbox_row(store, 2)
    assert (row.status, row.decided_by, row.comment) == ("rejected", "rita", "a duplicate of R1")
    assert DOWNSTREAM == []
    states = [e["payload"]["state"] for e in story(store, ids["R2"]) if e["kind"] == "state"]
    assert states[-1] == "rejected"


def test_edit_and_approve_runs_the_edited_parameters(console, store):
    app, _, ids = console
    client, token = signed_in(app, "rita")
    broken = client.post("/console/reviews/3/edit", data={"csrf_token": token, "params": "{"})
    assert broken.status_code == 422 and "not valid JSON" in broken.text
    params = '{"ticket": "R3", "amount": 110.0, "body": "edited"}'
    answer = client.post("/console/reviews/3/edit",
                         data={"csrf_token": token, "params": params, "comment": "partial"})
    assert answer.status_code == 200 and "edited, approved and run" in answer.text
    assert DOWNSTREAM[-1][1]["amount"] == 110.0
    (approval,) = [e["payload"] for e in story(store, ids["R3"]) if e["kind"] == "approval"]
    assert approval["reviewer"] == "rita"


def test_a_viewer_may_look_but_not_decide(console, store):
    app, _, _ = console
    client, token = signed_in(app, "vera")
    page = client.get("/console/reviews/1").text
    assert "/console/reviews/1/approve" not in page and "needs the reviewer role" in page
    answer = client.post("/console/reviews/1/approve", data={"csrf_token": token})
    assert answer.status_code == 403
    assert outbox_row(store, 1).status == "awaiting_approval" and DOWNSTREAM == []


def test_a_post_without_the_csrf_token_changes_nothing(console, store):
    app, _, ids = console
    client, _ = signed_in(app, "adam")
    assert client.post("/console/reviews/1/approve", data={}).status_code == 403
    assert client.post("/console/reviews/1/approve",
                       data={"csrf_token": "forged" * 5}).status_code == 403
    assert client.post(f"/console/dead-letters/{ids['D1']}/redrive").status_code == 403
    assert client.post("/console/flags/apply", data={
        "name": "refunds.ai", "value": "off", "reason": "x", "confirm": "yes"}).status_code == 403
    assert outbox_row(store, 1).status == "awaiting_approval"
    assert Flags(store).get("refunds.ai").mode == "on"


def test_a_reviewer_redrives_a_dead_letter_and_the_audit_names_them(console, store):
    app, model, ids = console
    viewer, viewer_token = signed_in(app, "vera")
    assert viewer.post(f"/console/dead-letters/{ids['D1']}/redrive",
                       data={"csrf_token": viewer_token}).status_code == 403
    client, token = signed_in(app, "rita")
    model.fixed = True  # the downstream is back
    answer = client.post(f"/console/dead-letters/{ids['D1']}/redrive", data={"csrf_token": token})
    assert answer.status_code == 200 and answer.url.path == f"/console/events/{ids['D1']}"
    assert "was redriven" in answer.text and "succeeded" in answer.text
    assert model.notified == ["D1"]
    (redrive,) = [e["payload"] for e in story(store, ids["D1"]) if e["kind"] == "redrive"]
    assert redrive["actor"] == "rita"
    assert ids["D1"] not in client.get("/console/dead-letters").text
    again = client.post(f"/console/dead-letters/{ids['D1']}/redrive", data={"csrf_token": token})
    assert again.status_code == 409


def test_an_admin_changes_a_flag_only_after_confirming(console, store):
    app, _, _ = console
    reviewer, reviewer_token = signed_in(app, "rita")
    assert reviewer.post("/console/flags/confirm", data={
        "csrf_token": reviewer_token, "name": "refunds.ai", "value": "off",
        "reason": "x"}).status_code == 403
    client, token = signed_in(app, "adam")
    asked = {"csrf_token": token, "name": "refunds.ai", "value": "25", "reason": "canary"}
    confirm = client.post("/console/flags/confirm", data=asked)
    assert confirm.status_code == 200 and "Yes, change the flag" in confirm.text
    assert Flags(store).get("refunds.ai").mode == "on"  # nothing changed yet
    unconfirmed = client.post("/console/flags/apply", data=asked)
    assert unconfirmed.status_code == 422 and Flags(store).get("refunds.ai").mode == "on"
    done = client.post("/console/flags/apply", data={**asked, "confirm": "yes"})
    assert done.status_code == 200 and "Flag refunds.ai was changed." in done.text
    state = Flags(store).get("refunds.ai")
    assert (state.mode, state.percent) == ("percent", 25.0)
    (entry,) = [e["payload"] for e in story(store, "-") if e["kind"] == "flag"]
    assert entry["actor"] == "adam" and entry["reason"] == "canary"


@pytest.mark.parametrize("form, sentence", [
    ({"name": "refunds.ai", "value": "150", "reason": "r"}, "between 0 and 100"),
    ({"name": "refunds.ai", "value": "on", "reason": " "}, "needs a reason"),
    ({"name": "nope.ai", "value": "on", "reason": "r"}, "no flag"),
])
def test_a_bad_flag_change_is_refused_with_a_sentence(console, form, sentence):
    app, _, _ = console
    client, token = signed_in(app, "adam")
    answer = client.post("/console/flags/confirm", data={"csrf_token": token, **form})
    assert answer.status_code == 422 and sentence in answer.text


def test_costs_show_charts_and_tables_by_integration_tenant_and_day(console):
    app, _, _ = console
    client, _ = signed_in(app, "vera")
    page = client.get("/console/costs?days=10").text
    assert page.count('<svg class="chart" role="img"') == 3
    for heading in ("By integration", "By tenant", "By day"):
        assert heading in page
    assert "acme" in page and "globex" in page and "refunds" in page


def test_the_chain_is_verified_on_demand(console):
    app, _, _ = console
    client, token = signed_in(app, "vera")
    assert "Not verified since this server started" in client.get("/console").text
    answer = client.post("/console/audit/verify",
                         data={"csrf_token": token, "next": "https://evil.example/"})
    assert answer.url.path == "/console"  # never redirected off the console
    assert "Verified:" in answer.text and "asked by vera" in answer.text


def test_an_agents_tool_call_is_decided_in_the_console_and_the_run_is_then_resumable(
        console, store):
    from examples.support_agent.agent import build_agent
    from seamline.agents import decided_runs, resume_run, start_run

    app, _, _ = console
    agent = build_agent()
    paused = start_run(store, agent, "Customer 1001 asks where order 55 is")
    client, token = signed_in(app, "rita")
    queue = client.get("/console/reviews").text
    assert f"/console/reviews/{paused.outbox_id}" in queue and "tool:send_reply" in queue
    page = client.get(f"/console/reviews/{paused.outbox_id}").text
    assert "ana.pereira@example.com" in page  # the exact call the reviewer approves
    answer = client.post(f"/console/reviews/{paused.outbox_id}/approve",
                         data={"csrf_token": token})
    assert answer.status_code == 200 and "agent resume AGENT --decided" in answer.text
    assert decided_runs(store, "support_agent") == [paused.run_id]
    assert resume_run(store, agent, paused.run_id).status == "completed"
    assert decided_runs(store, "support_agent") == []
