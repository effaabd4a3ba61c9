"""The console's lists (reviews, events, dead letters): filters, search, sort and keyset
pages; what the review page shows of the input and output; timelines in sentences;
replay against another prompt version; and everything hostile arriving escaped."""

from __future__ import annotations

import html
import re
import time

import pytest
from console_seed import (
    HTML_QUOTE,
    LONG_DEAD,
    LONG_ID,
    LONG_INTEGRATION,
    PASSWORD,
    console_app,
    integration,
    seed,
    seed_hostile,
)
from fastapi.testclient import TestClient
from sqlalchemy import insert, text

from seamline.audit import story
from seamline.console import _lists as lists
from seamline.integration import PromptSpec
from seamline.runtime import Pipeline
from seamline.store.tables import dead_letters, events, outbox


@pytest.fixture
def console(store):
    model, ids = seed(store)
    extra = seed_hostile(store)
    return console_app(store, model), model, ids, extra


def signed_in(app, username: str = "rita") -> tuple[TestClient, str]:
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": token, "next": "/console"})
    assert answer.status_code == 200
    return client, re.search(r'name="csrf_token" value="([^"]+)"', answer.text).group(1)


def rows_of(page: str) -> list[str]:
    """The first cell's link text of each table row."""
    return re.findall(r'class="row-link">([^<]+)</a>', page)


# ---- filters, search, sort, pages --------------------------------------------------------

def test_the_review_queue_filters_searches_and_sorts(console):
    app, _, _, extra = console
    client, _ = signed_in(app)
    everything = rows_of(client.get("/console/reviews").text)
    assert everything == ["#1", "#2", "#3", "#4", f"#{extra['outbox_id']}"]  # oldest first
    newest = rows_of(client.get("/console/reviews?order=desc").text)
    assert newest == list(reversed(everything))
    assert rows_of(client.get(f"/console/reviews?integration={LONG_INTEGRATION}").text) == [
        f"#{extra['outbox_id']}"]
    assert rows_of(client.get("/console/reviews?action=refund").text) == ["#1", "#2", "#3", "#4"]
    assert rows_of(client.get("/console/reviews?reason=RRRR").text) == [f"#{extra['outbox_id']}"]
    # Search reads the redacted input too: R3's ticket says "arrived broken".
    assert rows_of(client.get("/console/reviews?q=arrived+broken").text) == ["#3"]
    assert rows_of(client.get("/console/reviews?age=gt1d").text) == []
    assert rows_of(client.get("/console/reviews?age=1h").text) == everything
    none = client.get("/console/reviews?q=nothing-like-this")
    assert "No action waiting matches these filters." in none.text
    # Nonsense in the query string is a filter that matches nothing, never an error.
    for junk in ("order=sideways", "age=forever", "after=abc", "after=" + "9" * 40,
                 "integration=" + "%00" * 3, "q=" + "x" * 5000):
        assert client.get(f"/console/reviews?{junk}").status_code == 200, junk


def test_events_and_dead_letters_filter_by_state_stage_integration_and_action(console):
    app, _, ids, _ = console
    client, _ = signed_in(app, "vera")
    page = client.get("/console/events").text
    assert LONG_ID in page and ids["R1"] in page
    dead = rows_of(client.get("/console/events?state=dead_lettered").text)
    assert set(dead) == {ids["D1"], LONG_DEAD}
    assert rows_of(client.get(f"/console/events?integration={LONG_INTEGRATION}").text) == [
        LONG_DEAD, LONG_ID]  # ids are time-ordered: newest first
    assert set(rows_of(client.get("/console/events?action=notify").text)) == {ids["D1"]}
    letters = client.get("/console/dead-letters")
    assert set(rows_of(letters.text)) == {ids["D1"], LONG_DEAD}
    assert rows_of(client.get("/console/dead-letters?stage=actions&reason=CRM").text) == [
        LONG_DEAD]
    assert rows_of(client.get("/console/dead-letters?integration=refunds").text) == [ids["D1"]]
    assert rows_of(client.get("/console/dead-letters?q=onerror").text) == [LONG_DEAD]


def test_pages_follow_the_keyset_to_the_end_without_repeating(store):
    seed(store)
    seen, query = [], lists.ListQuery(order="asc")
    while True:
        page = lists.event_page(store, query, limit=3)
        seen += [r.id for r in page.rows]
        if not page.next_after:
            break
        query = lists.ListQuery(order="asc", after=page.next_after)
    with store.read() as conn:
        assert seen == [r for (r,) in conn.execute(text("SELECT id FROM events ORDER BY id"))]


def _fill(store, n: int = 100_000) -> None:
    """n events (a third waiting for approval, a third dead-lettered), as fast as SQLite
    takes them: one executemany per table."""
    now = time.time()
    ev, ob, dl = [], [], []
    for i in range(n):
        eid = f"evt_{int((now - n + i) * 1000):011x}{i:012x}"
        state = ("succeeded", "dead_lettered", "awaiting_approval")[i % 3]
        ev.append({"id": eid, "integration": f"int{i % 5}", "idempotency_key": eid,
                   "tenant": "t", "state": state, "stage": "actions" if i % 3 == 1 else "",
                   "reason": f"reason {i}", "path": "ai", "input": '{"body": "hello"}',
                   "output": '{"confidence": 0.5}', "model": "m", "cost_usd": 0.0,
                   "created_at": now - n + i, "updated_at": now - n + i})
        if state == "awaiting_approval":
            ob.append({"idempotency_key": eid, "event_id": eid, "integration": f"int{i % 5}",
                       "action": "refund", "params": "{}", "status": "awaiting_approval",
                       "approval_reason": "above 100", "created_at": now - n + i,
                       "updated_at": now})
        if state == "dead_lettered":
            dl.append({"event_id": eid, "integration": f"int{i % 5}", "stage": "actions",
                       "reason": "down", "detail": "", "created_at": now})
    with store.write() as conn:
        conn.execute(insert(events), ev)
        conn.execute(insert(outbox), ob)
        conn.execute(insert(dead_letters), dl)


LIST_CASES = [
    ("reviews", lists.review_statement, {}),
    ("reviews of one integration, page 2", lists.review_statement,
     {"integration": "int1", "after": "5000", "order": "asc"}),
    ("reviews searched", lists.review_statement, {"q": "refund", "reason": "above", "age": "1d"}),
    ("events", lists.event_statement, {}),
    ("events of one integration, page 2", lists.event_statement,
     {"integration": "int2", "after": "evt_z"}),
    ("events in one state", lists.event_statement, {"state": "succeeded", "order": "asc"}),
    ("events of one action", lists.event_statement, {"action": "refund"}),
    ("dead letters", lists.dead_letter_statement, {}),
    ("dead letters filtered", lists.dead_letter_statement,
     {"integration": "int3", "stage": "actions", "reason": "r", "age": "7d"}),
]


def test_a_page_of_100000_rows_is_an_index_range_read(store):
    """Every list reads its page along an index, in the index's order: no full-table scan
    and no sort (the query plan says so; nothing here is timed)."""
    _fill(store)
    now = time.time()
    for name, statement, params in LIST_CASES:
        stmt = statement(lists.ListQuery(**params), now)
        with store.read() as conn:
            sql = str(stmt.compile(conn.engine, compile_kwargs={"literal_binds": True}))
            plan = [row[-1] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql))]
        assert plan, name
        for step in plan:
            assert "TEMP B-TREE" not in step, (name, plan)  # no sort of the matches
            if step.startswith("SCAN"):  # a walk is only ever along an index
                assert "USING INDEX" in step or "USING COVERING INDEX" in step, (name, plan)
        assert any("USING INDEX" in s or "USING COVERING INDEX" in s for s in plan), (name, plan)
    # And a page is a page: 50 rows and a cursor, the next page disjoint and further on.
    first = lists.dead_letter_page(store, lists.ListQuery())
    assert len(first.rows) == lists.PAGE and first.next_after == first.rows[-1].event_id
    second = lists.dead_letter_page(store, lists.ListQuery(after=first.next_after))
    assert second.rows[0].event_id < first.rows[-1].event_id
    assert all(r.times == 1 for r in second.rows)
    waiting = lists.review_page(store, lists.ListQuery(order="asc", integration="int4"))
    assert len(waiting.rows) == lists.PAGE and {r.integration for r in waiting.rows} == {"int4"}


# ---- what a reviewer reads ----------------------------------------------------------------

def test_the_review_page_shows_readable_input_with_quotes_marked_and_escaped(console):
    app, _, _, extra = console
    client, _ = signed_in(app)
    page = client.get(f"/console/reviews/{extra['outbox_id']}").text
    # The output lists its evidence: it is found in the input and marked, not "no quote".
    assert "No quote was recorded" not in page
    assert "<mark>charged twice</mark>" in page
    assert f"<mark>{html.escape(HTML_QUOTE)}</mark>" in page.replace("&#34;", "&quot;").replace(
        "&#39;", "'")
    # Hostile text is text: no tag from the event reaches the page.
    assert "<script>alert" not in page and "<b>Pro</b>" not in page
    assert "&lt;script&gt;alert(&#39;console&#39;)&lt;/script&gt;" in page
    # The e-mail keeps its line breaks (no JSON string with literal \n).
    assert "Hello team,\n\nI was <mark>charged twice</mark>" in page and "\\n\\n" not in page
    # Output fields are laid out, one per row, the list of tags as items.
    for name in ("intent", "urgency", "confidence", "summary", "evidence", "tags"):
        assert f"<dt>{name}" in page, name
    assert "summary" in page and 'class="fields' in page


def test_grounding_quotes_are_marked_where_grounding_found_them(console):
    app, _, _, _ = console
    client, _ = signed_in(app)
    page = client.get("/console/reviews/1").text
    assert "<mark>charged $150 twice</mark>" in page
    assert "No quote was recorded" not in page


def test_the_timeline_reads_as_sentences(console):
    app, _, ids, _ = console
    client, _ = signed_in(app, "vera")
    page = client.get(f"/console/events/{ids['R1']}").text
    sentences = re.findall(r'<p class="sentence">([^<]*)</p>', page)
    assert sentences and all(s.strip().endswith(".") for s in sentences), sentences
    assert not any(re.search(r"\w=\S", s) for s in sentences), sentences
    assert any(s.startswith("Received") for s in sentences)
    assert any("Grounding passed" in s or "Grounding failed" in s for s in sentences)
    hostile = client.get(f"/console/events/{LONG_ID}").text
    assert "<script>alert(3)" not in hostile and "&lt;script&gt;alert(3)" in hostile


# ---- replay against another prompt version -----------------------------------------------

def test_an_event_is_replayed_with_another_prompt_version_and_diffed(console, store):
    app, model, ids, _ = console
    # Another prompt version of the same integration, recorded by running it once.
    other = integration(model).model_copy(update={"prompt": PromptSpec(
        system="Classify refunds. Quote the ticket.", user="Ticket {{ ticket_id }}: {{ body }}")})
    Pipeline(other, store, provider=model.provider).process(
        {"ticket_id": "R9", "tenant": "acme", "customer": "c9", "body": "Refund $10 please."})
    viewer, _ = signed_in(app, "vera")
    view = viewer.get(f"/console/events/{ids['R1']}/replay").text
    assert "has not been replayed yet" in view and "needs the reviewer role" in view
    client, token = signed_in(app)
    page = client.get(f"/console/events/{ids['R1']}/replay").text
    options = dict(re.findall(r'<option value="(p-[0-9a-f]+)"[^>]*>([^<]*)</option>', page))
    assert len(options) == 2
    chosen = next(v for v, label in options.items() if "(recorded)" not in label)
    before = len(story(store, ids["R1"]))
    answer = client.post(f"/console/events/{ids['R1']}/replay",
                         data={"csrf_token": token, "version": chosen})
    assert answer.status_code == 200 and answer.url.path.endswith("/replay")
    assert f"Event {ids['R1']} was replayed; nothing was acted on." in answer.text
    assert f"prompt {chosen}" in answer.text and "field(s) changed" in answer.text
    assert 'class="d-add"' in answer.text and "Quote the ticket." in answer.text  # prompt diff
    assert [e["kind"] for e in story(store, ids["R1"])[before:]] == ["replay"]
    assert client.post(f"/console/events/{ids['R1']}/replay",
                       data={"csrf_token": token, "version": "p-nope"}).status_code == 422
    assert viewer.post(f"/console/events/{ids['R1']}/replay",
                       data={"csrf_token": token, "version": chosen}).status_code == 403


def test_replay_of_an_event_this_server_does_not_run_says_where(console):
    app, _, _, _ = console
    client, token = signed_in(app)
    page = client.get(f"/console/events/{LONG_ID}/replay").text
    assert "does not run" in page and "seamline replay" in page
    assert client.post(f"/console/events/{LONG_ID}/replay",
                       data={"csrf_token": token, "version": "p-0123456789abcdef"}
                       ).status_code == 409

