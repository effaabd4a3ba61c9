"""Polling sources with no webhooks: a persisted cursor, no duplicates across restarts, backoff."""

from __future__ import annotations

import textwrap

from conftest import make_integration
from sqlalchemy import func, select
from typer.testing import CliRunner

from seamline.cli import app as cli
from seamline.edges import Poller, PollSpec, SourceSpec
from seamline.errors import RateLimited
from seamline.integration import load_integration
from seamline.store import open_store
from seamline.store.tables import jobs, poll_cursors


class FakeVendor:
    """A ticket API paged by 'updated after id' whose cursor is inclusive, as many are."""

    def __init__(self, n: int) -> None:
        self.tickets = [{"id": f"T{i}", "body": f"ticket {i}"} for i in range(1, n + 1)]
        self.calls: list[str] = []
        self.fail_with: list[Exception] = []

    def fetch(self, cursor: str):
        self.calls.append(cursor)
        if self.fail_with:
            raise self.fail_with.pop(0)
        lo = max(0, int(cursor or 0) - 1)  # inclusive: the cursor's own item comes back
        page = self.tickets[lo:lo + 3]
        return page, page[-1]["id"][1:] if page else cursor


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def polled(vendor: FakeVendor, **poll):
    return make_integration(sources=(SourceSpec(
        name="tickets", kind="poll", map=lambda t: {"ticket_id": t["id"], "body": t["body"]},
        poll=PollSpec(fetch=vendor.fetch, interval_s=60, backoff_s=4, max_backoff_s=64, **poll)),))


def job_count(store) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(jobs)).scalar_one()


def cursor_row(store):
    with store.read() as conn:
        return conn.execute(select(poll_cursors)).one()


def test_the_cursor_persists_and_a_restarted_poller_queues_nothing_twice(store):
    vendor, clock = FakeVendor(5), Clock()
    first = Poller(polled(vendor), store, clock=clock)
    got = first.poll_due()
    assert [(o.fetched, o.queued, o.cursor) for o in got] == [(3, 3, "3")]
    assert first.poll_due() == []  # not due again for 60 s
    clock.now += 60
    restarted = Poller(polled(vendor), store, clock=clock)  # a new process, the same store
    again = restarted.poll_due()
    assert [(o.fetched, o.queued, o.duplicates) for o in again] == [(3, 2, 1)]
    assert vendor.calls == ["", "3"] and job_count(store) == 5
    row = cursor_row(store)
    assert row.cursor == "5" and row.failures == 0 and row.next_poll_at == clock.now + 60


def test_a_rate_limit_waits_exactly_as_long_as_the_vendor_asked(store):
    vendor, clock = FakeVendor(2), Clock()
    vendor.fail_with = [RateLimited("429 from the vendor", retry_after=120)]
    poller = Poller(polled(vendor), store, clock=clock)
    [outcome] = poller.poll_due()
    assert "rate limited" in outcome.error and outcome.next_poll_at == clock.now + 120
    clock.now += 119
    assert Poller(polled(vendor), store, clock=clock).poll_due() == []  # a restart waits too
    clock.now += 1
    assert [o.queued for o in poller.poll_due()] == [2]
    assert cursor_row(store).failures == 0


def test_failures_back_off_exponentially_with_jitter_and_keep_the_cursor(store):
    vendor, clock = FakeVendor(2), Clock()
    vendor.fail_with = [RuntimeError("503"), RuntimeError("503"), RuntimeError("503"),
                        RateLimited("429, no Retry-After")]
    poller = Poller(polled(vendor), store, clock=clock, jitter=lambda: 0.0)
    waits = []
    for _ in range(4):
        outcome = poller.poll("tickets")
        waits.append(outcome.next_poll_at - clock.now)
    assert waits == [2.0, 4.0, 8.0, 16.0]  # half of 4·2^n at least; a 429 without a wait too
    row = cursor_row(store)
    assert row.failures == 4 and "RateLimited" not in row.last_error and row.cursor == ""
    assert job_count(store) == 0
    assert poller.poll("tickets").queued == 2 and cursor_row(store).failures == 0


def test_the_backoff_is_capped(store):
    vendor, clock = FakeVendor(1), Clock()
    vendor.fail_with = [RuntimeError("down")] * 12
    poller = Poller(polled(vendor), store, clock=clock, jitter=lambda: 1.0)
    for _ in range(12):
        last = poller.poll("tickets")
    assert last.next_poll_at - clock.now == 64


def test_a_yaml_integration_declares_webhook_and_poll_sources_and_seamline_poll_runs_them(tmp_path):
    (tmp_path / "vendor.py").write_text(textwrap.dedent("""
        def fetch(cursor):
            items = [{"id": "A1", "text": "refund me"}, {"id": "A2", "text": "hello"}]
            return (items, "A2") if not cursor else ([], cursor)

        def to_ticket(item):
            return {"ticket_id": item["id"], "body": item["text"]}
    """))
    (tmp_path / "integration.yaml").write_text(textwrap.dedent("""
        name: tickets
        input_schema: {fields: {ticket_id: str, body: str}}
        output_schema: {fields: {label: {enum: [refund, other]}}}
        prompt: {user: "{{ body }}"}
        sources:
          - name: helpdesk
            kind: poll
            map: vendor.py:to_ticket
            poll: {fetch: vendor.py:fetch, interval_s: 30}
          - name: shop
            kind: shopify
            secret_env: SHOPIFY_SECRET
            api_version: "2024-10"
            contract: {required: [id], ignored: [note_attributes]}
    """))
    spec = load_integration(tmp_path / "integration.yaml")
    assert [s.kind for s in spec.sources] == ["poll", "shopify"]
    assert spec.sources[1].contract.required == ("id",)
    db = str(tmp_path / "s.db")
    runner = CliRunner()
    first = runner.invoke(cli, ["poll", str(tmp_path / "integration.yaml"), "--db", db, "--once"])
    assert first.exit_code == 0, first.output
    assert "helpdesk: 2 fetched, 2 queued" in first.output
    second = runner.invoke(cli, ["poll", str(tmp_path / "integration.yaml"), "--db", db, "--once"])
    assert "No source was due" in second.output
    store = open_store(db)
    try:
        assert job_count(store) == 2 and cursor_row(store).cursor == "A2"
    finally:
        store.close()


def test_the_loop_polls_on_its_interval_until_stopped(store):
    import threading
    import time

    vendor = FakeVendor(7)
    poller = Poller(make_integration(sources=(SourceSpec(
        name="tickets", kind="poll", map=lambda t: {"ticket_id": t["id"], "body": t["body"]},
        poll=PollSpec(fetch=vendor.fetch, interval_s=0.05)),)), store)
    thread = threading.Thread(target=poller.run)
    thread.start()
    deadline = time.monotonic() + 10
    while job_count(store) < 7 and time.monotonic() < deadline:
        time.sleep(0.02)
    poller.stop()
    thread.join(5)
    assert not thread.is_alive() and job_count(store) == 7 and len(vendor.calls) >= 3
