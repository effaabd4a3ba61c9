"""Backfill: past events asked again; changes shown; applying never acts twice."""

from __future__ import annotations

import time

from conftest import DOWNSTREAM, make_integration, verdict

from seamline.audit import story, verify
from seamline.runtime import AWAITING_APPROVAL, SUCCEEDED, Pipeline
from seamline.runtime._backfill import backfill_event, select_events


def _seed(store, label="other"):
    p = Pipeline(make_integration(), store, provider=verdict(label=label, amount=10.0))
    return [p.process({"ticket_id": f"K{i}", "body": "refund?"}).event_id for i in range(3)]


def test_a_dry_run_shows_what_changed_and_acts_on_nothing(store):
    ids = _seed(store, label="other")
    assert len(DOWNSTREAM) == 0
    fixed = Pipeline(make_integration(), store, provider=verdict(label="refund", amount=10.0))
    changes = [backfill_event(fixed, i) for i in select_events(store, "refunds")]
    assert [c.event_id for c in changes] == ids
    assert all(c.changed["label"] == ("other", "refund") for c in changes)
    assert all(not c.applied for c in changes) and len(DOWNSTREAM) == 0
    assert any(e["kind"] == "backfill" for e in story(store, ids[0]))
    assert verify(store).ok


def test_applying_runs_new_actions_once_and_never_repeats_done_ones(store):
    ids = _seed(store, label="refund")
    assert len(DOWNSTREAM) == 3
    again = Pipeline(make_integration(), store, provider=verdict(label="refund", amount=10.0))
    changes = [backfill_event(again, i, apply=True) for i in ids]
    assert all(c.already_acted == ["refund"] and c.new_actions == [] for c in changes)
    assert len(DOWNSTREAM) == 3  # nothing sent twice
    others = _seed_other(store)
    changes = [backfill_event(again, i, apply=True) for i in others]
    assert all(c.new_actions == ["refund"] and c.state == SUCCEEDED for c in changes)
    assert len(DOWNSTREAM) == 5
    assert [backfill_event(again, i, apply=True).new_actions for i in others] == [[], []]
    assert len(DOWNSTREAM) == 5


def _seed_other(store):
    p = Pipeline(make_integration(), store, provider=verdict(label="other"))
    return [p.process({"ticket_id": f"O{i}", "body": "hm"}).event_id for i in range(2)]


def test_the_range_selects_by_time_and_state(store):
    first = _seed(store)
    cut = time.time()
    time.sleep(0.01)
    big = Pipeline(make_integration(), store, provider=verdict(amount=500.0)).process(
        {"ticket_id": "Z1", "body": "refund"})
    assert big.state == AWAITING_APPROVAL
    assert select_events(store, "refunds", until=cut) == first
    assert select_events(store, "refunds", since=cut) == [big.event_id]
    assert select_events(store, "refunds", states=(AWAITING_APPROVAL,)) == [big.event_id]
    assert select_events(store, "refunds", limit=2) == first[:2]
