"""The queue keeps every line it is given, exactly as given; a worker dead-letters what does
not decode, with the reason, and goes on. A payload that cannot even be opened is given up
with a reason, never the end of a worker thread."""

from __future__ import annotations

import json

import pytest
from conftest import make_integration, verdict
from sqlalchemy import select, update

from seamline.audit import verify
from seamline.errors import InputInvalid
from seamline.integration import QueueSpec
from seamline.queue import DEAD, DONE, JobQueue, Worker
from seamline.runtime import DEAD_LETTERED, SUCCEEDED, Pipeline
from seamline.store.tables import events, jobs

FAST = QueueSpec(backoff_s=0.01, backoff_max_s=0.02, lease_s=1, max_claims=2)
GOOD = {"ticket_id": "Q-ok", "body": "refund please"}


def worker(store, integration):
    pipeline = Pipeline(integration, store, provider=verdict())
    return Worker(store, [integration], pipelines={integration.name: pipeline}, poll_s=0.05)


def event(store, event_id):
    with store.read() as conn:
        return conn.execute(select(events).where(events.c.id == event_id)).one()


HOSTILE = [
    (b'{"ticket_id": "Q-1", "body": "caf\xe9"}', "not valid UTF-8"),  # was silently altered
    ('{"ticket_id": "Q-2", "body": "x\ud800"}', "surrogate"),  # a raw one: sealing used to crash
    ('{"ticket_id": "Q-3", "body": "\\ud800"}', "lone surrogate"),
    ("[" * 5000 + "]" * 5000, "nested deeper than 64"),  # json.loads raised RecursionError
    ('{"ticket_id": "Q-5", "body": "x", "amount": NaN}', "NaN"),
    ('{"ticket_id": "Q-6", "body": "a", "body": "b"}', '"body" twice'),
    ('{"ticket_id": "Q-7", "body": "a\\u0000"}', "NUL"),
]


def test_undecodable_payloads_are_dead_lettered_with_a_reason_and_the_worker_goes_on(store):
    integration = make_integration(queue=FAST)
    q = JobQueue(store)
    bad = [q.enqueue("refunds", raw).event_id for raw, _ in HOSTILE]
    good = q.enqueue("refunds", GOOD).event_id
    stats = worker(store, integration).run(exit_when_idle=True)
    assert stats.finished == len(HOSTILE) + 1 and stats.retried == 0
    assert stats.by_state == {DEAD_LETTERED: len(HOSTILE), SUCCEEDED: 1}
    for event_id, (_, words) in zip(bad, HOSTILE):
        ev = event(store, event_id)
        assert ev.state == DEAD_LETTERED and words in ev.reason, ev.reason
        assert ev.input is not None
    assert event(store, good).state == SUCCEEDED
    with store.read() as conn:
        assert {r.status for r in conn.execute(select(jobs.c.status))} == {DONE}
    assert verify(store).ok


def test_a_decoded_value_that_breaks_the_rules_is_refused_before_it_is_stored(store):
    q = JobQueue(store)
    for raw in ({"ticket_id": "Q-8", "body": "x\ud800"},
                {"ticket_id": "Q-9", "amount": float("nan")}):
        with pytest.raises(InputInvalid):
            q.enqueue("refunds", raw)
        with pytest.raises(InputInvalid):
            q.enqueue_many("refunds", [GOOD, raw])  # all or none
    with store.read() as conn:
        assert conn.execute(select(jobs.c.id)).all() == []


def test_a_payload_that_cannot_be_opened_is_given_up_with_a_reason(store):
    integration = make_integration(queue=FAST)
    q = JobQueue(store)
    broken = q.enqueue("refunds", GOOD | {"ticket_id": "Q-broken"})
    with store.write() as conn:  # garbled at rest (or sealed under another vault key)
        conn.execute(update(jobs).where(jobs.c.event_id == broken.event_id)
                     .values(payload="gAAAA-not-a-token"))
    fine = q.enqueue("refunds", GOOD).event_id
    stats = worker(store, integration).run(exit_when_idle=True)
    assert stats.by_state.get(SUCCEEDED) == 1
    ev = event(store, broken.event_id)
    assert ev.state == DEAD_LETTERED
    assert "could not be opened" in ev.reason and "vault key" in ev.reason
    assert event(store, fine).state == SUCCEEDED
    with store.read() as conn:
        row = conn.execute(select(jobs).where(jobs.c.event_id == broken.event_id)).one()
    assert row.status == DEAD and "could not be opened" in row.last_error
    assert json.loads(ev.input) is None
