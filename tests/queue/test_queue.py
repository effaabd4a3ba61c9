"""The durable queue: sealed payloads, leases, reclaim, per-stage retries, redrive, give-up."""

from __future__ import annotations

import json
import threading
import time

import pytest
from conftest import DOWNSTREAM, make_integration, verdict
from sqlalchemy import select

from seamline.audit import story, verify
from seamline.errors import ProviderUnavailable, RateLimited
from seamline.inference import ScriptedModel
from seamline.integration import QueueSpec
from seamline.queue import DEAD, DONE, QUEUED, RUNNING, JobQueue, Worker
from seamline.runtime import (
    DEAD_LETTERED,
    DUPLICATE,
    PROCESSING,
    RETRYING,
    SUCCEEDED,
    Pipeline,
)
from seamline.store import open_store
from seamline.store.tables import events, jobs, outbox

FAST = QueueSpec(backoff_s=0.01, backoff_max_s=0.02, lease_s=1)


def _worker(store, integration, provider, **kw):
    pipeline = Pipeline(integration, store, provider=provider)
    return Worker(store, [integration], pipelines={integration.name: pipeline}, poll_s=0.05, **kw)


def _job_rows(store):
    with store.read() as conn:
        return conn.execute(select(jobs).order_by(jobs.c.id)).all()


def test_an_enqueued_event_is_sealed_at_rest_and_erased_once_done(store):
    integration = make_integration(queue=FAST)
    q = JobQueue(store)
    got = q.enqueue("refunds", {"ticket_id": "Q1", "body": "refund to jane@example.com please"})
    (row,) = _job_rows(store)
    assert row.status == QUEUED and row.event_id == got.event_id
    assert "jane@example.com" not in row.payload and "refund" not in row.payload
    stats = _worker(store, integration, verdict()).run(exit_when_idle=True)
    assert stats.finished == 1 and stats.by_state == {SUCCEEDED: 1}
    (row,) = _job_rows(store)
    assert row.status == DONE and row.payload is None and row.outcome == SUCCEEDED
    with store.read() as conn:
        ev = conn.execute(select(events).where(events.c.id == got.event_id)).one()
    assert ev.state == SUCCEEDED and "jane@example.com" not in ev.input
    assert len(DOWNSTREAM) == 1


def test_a_lease_that_expires_is_reclaimed_and_the_old_owner_cannot_settle(store):
    q = JobQueue(store)
    q.enqueue("refunds", {"ticket_id": "L1", "body": "x"})
    (first,) = q.claim("a", ["refunds"], lease_s=0.2)
    assert q.claim("b", ["refunds"], lease_s=5) == []  # held
    time.sleep(0.25)
    (second,) = q.claim("b", ["refunds"], lease_s=5)
    assert second.id == first.id and second.attempts == 2 and second.lease_owner == "b"
    assert q.finish(first, SUCCEEDED) is False  # a's lease is gone
    assert q.renew("a", [first.id], lease_s=5) == set()
    assert q.renew("b", [first.id], lease_s=5) == {first.id}
    assert q.finish(second, SUCCEEDED) is True


def test_jobs_of_other_integrations_and_future_jobs_are_not_claimed(store):
    q = JobQueue(store)
    q.enqueue("other", {"ticket_id": "O1", "body": "x"})
    q.enqueue("refunds", {"ticket_id": "F1", "body": "x"}, delay_s=60)
    assert q.claim("w", ["refunds"], lease_s=5) == []
    assert [j.integration for j in q.claim("w", ["other"], lease_s=5)] == ["other"]


def _claim_race(url: str, threads: int = 6, n: int = 120) -> list[int]:
    store = open_store(url)
    q = JobQueue(store)
    q.enqueue_many("refunds", [{"ticket_id": f"R{i}", "body": "x"} for i in range(n)])
    taken: list[int] = []
    lock = threading.Lock()

    def drain(name):
        s = open_store(url)
        mine = JobQueue(s, q.vault)
        while True:
            got = mine.claim(name, ["refunds"], lease_s=30, limit=3)
            if not got:
                break
            with lock:
                taken.extend(j.id for j in got)
        s.close()

    ts = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    store.close()
    return taken


def test_concurrent_claimers_on_sqlite_never_share_a_job(tmp_path):
    taken = _claim_race(str(tmp_path / "q.db"))
    assert len(taken) == 120 and len(set(taken)) == 120


def test_concurrent_claimers_on_postgresql_never_share_a_job(pg_url, monkeypatch):
    monkeypatch.setenv("SEAMLINE_VAULT_KEY", "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=")
    taken = _claim_race(pg_url, threads=8, n=200)
    assert len(taken) == 200 and len(set(taken)) == 200


def test_a_worker_that_died_after_admitting_leaves_an_event_the_next_one_continues(store):
    """Crash after the event was recorded, before the model answered: the reclaimed job
    continues the same event (no duplicate), and the action runs once."""
    integration = make_integration(queue=FAST)
    q = JobQueue(store)
    got = q.enqueue("refunds", {"ticket_id": "C1", "body": "refund"})
    (job,) = q.claim("dead-worker", ["refunds"], lease_s=0.05)
    pipeline = Pipeline(integration, store, provider=verdict())
    admitted = pipeline.admit(q.open(job), job.event_id)  # ...and the process dies here
    assert not hasattr(admitted, "state")
    time.sleep(0.1)
    stats = _worker(store, integration, verdict()).run(exit_when_idle=True)
    assert stats.by_state == {SUCCEEDED: 1}
    with store.read() as conn:
        states = conn.execute(select(events.c.state)).scalars().all()
    assert states == [SUCCEEDED]  # one event, not a duplicate
    assert len(DOWNSTREAM) == 1
    kinds = [e["kind"] for e in story(store, got.event_id)]
    assert "resume" in kinds and kinds.count("ingest") == 1
    assert verify(store).ok


def test_a_crash_after_the_action_was_sent_resends_it_with_the_same_key(store):
    effects: dict[str, dict] = {}
    crashed = []

    def idempotent(params, *, idempotency_key):
        effects.setdefault(idempotency_key, params)
        DOWNSTREAM.append((idempotency_key, params))
        if not crashed:
            crashed.append(1)
            raise SystemExit("killed after sending, before recording")

    integration = make_integration(queue=FAST)
    # Declared idempotent (the receiver dedupes on the key): the action in doubt after the
    # crash is re-sent with the same key. Undeclared, it would wait for a person instead
    # (tests/actions/test_in_doubt.py).
    spec = integration.actions[0].model_copy(update={"handler": idempotent, "idempotent": True})
    integration = integration.model_copy(update={"actions": (spec,)})
    q = JobQueue(store)
    q.enqueue("refunds", {"ticket_id": "S1", "body": "refund"})
    (job,) = q.claim("dying", ["refunds"], lease_s=0.05)
    with pytest.raises(SystemExit):
        Pipeline(integration, store, provider=verdict()).process(q.open(job), job.event_id)
    time.sleep(0.1)
    stats = _worker(store, integration, verdict()).run(exit_when_idle=True)
    assert stats.by_state == {SUCCEEDED: 1}
    assert len(DOWNSTREAM) == 2 and len(effects) == 1  # re-sent once, one effect
    assert DOWNSTREAM[0][0] == DOWNSTREAM[1][0]


def test_transient_model_failures_are_retried_with_backoff_then_succeed(store):
    calls = []

    def flaky(req):
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise RateLimited("slow down", status=429, retry_after=0.0)
        return {"label": "refund", "confidence": 0.9, "amount": 5.0}

    integration = make_integration(queue=FAST)
    q = JobQueue(store)
    got = q.enqueue("refunds", {"ticket_id": "T1", "body": "refund"})
    stats = _worker(store, integration, ScriptedModel(flaky)).run(exit_when_idle=True)
    assert stats.retried == 2 and stats.by_state == {SUCCEEDED: 1}
    (row,) = _job_rows(store)
    assert row.status == DONE and row.attempts == 3 and "slow down" in row.last_error
    kinds = [e["payload"].get("state") for e in story(store, got.event_id) if e["kind"] == "state"]
    assert kinds[:2] == [RETRYING, RETRYING] and kinds[-1] == SUCCEEDED and RETRYING not in kinds[2:]
    assert len(DOWNSTREAM) == 1


def test_a_stage_out_of_tries_dead_letters_with_the_last_error(store):
    def down(_req):
        raise ProviderUnavailable("the provider is down", status=503)

    integration = make_integration(queue=QueueSpec(attempts={"inference": 2}, backoff_s=0.01,
                                                   backoff_max_s=0.01, lease_s=1),
                                   rollout=make_integration().rollout.model_copy(
                                       update={"baseline_on_failure": False}))
    q = JobQueue(store)
    got = q.enqueue("refunds", {"ticket_id": "D1", "body": "refund"})
    stats = _worker(store, integration, ScriptedModel(down)).run(max_jobs=2)
    assert stats.by_state == {DEAD_LETTERED: 1} and stats.retried == 1
    with store.read() as conn:
        ev = conn.execute(select(events).where(events.c.id == got.event_id)).one()
    assert ev.state == DEAD_LETTERED and ev.stage == "inference" and "down" in ev.reason


def test_a_failing_action_is_retried_by_the_queue_not_dead_lettered_at_once(store):
    tries = []

    def downstream_blinks(params, *, idempotency_key):
        tries.append(idempotency_key)
        if len(tries) < 3:
            raise ConnectionError("helpdesk unreachable")
        DOWNSTREAM.append((idempotency_key, params))

    integration = make_integration(queue=FAST)
    spec = integration.actions[0].model_copy(update={"handler": downstream_blinks})
    integration = integration.model_copy(update={"actions": (spec,)})
    JobQueue(store).enqueue("refunds", {"ticket_id": "A1", "body": "refund"})
    stats = _worker(store, integration, verdict()).run(max_jobs=3)
    assert stats.by_state == {SUCCEEDED: 1} and stats.retried == 2
    assert len(DOWNSTREAM) == 1 and len(set(tries)) == 1
    with store.read() as conn:
        assert conn.execute(select(outbox.c.status, outbox.c.attempts)).one() == ("done", 3)


def test_a_job_that_keeps_killing_its_worker_is_dead_lettered_after_max_claims(store):
    integration = make_integration(queue=QueueSpec(max_claims=2, lease_s=1))
    q = JobQueue(store)
    got = q.enqueue("refunds", {"ticket_id": "P1", "body": "refund"})
    for _ in range(2):  # two workers die with it
        q.claim("dies", ["refunds"], lease_s=0.01)
        time.sleep(0.02)
    model = verdict()
    stats = _worker(store, integration, model).run(exit_when_idle=True)
    assert stats.by_state == {} and len(model.requests) == 0
    (row,) = _job_rows(store)
    assert row.status == DEAD and row.payload is None
    with store.read() as conn:
        ev = conn.execute(select(events).where(events.c.id == got.event_id)).one()
    assert ev.state == DEAD_LETTERED and "claimed 2 times" in ev.reason
    assert "refund" in json.loads(ev.input)["body"]  # kept (redacted) for a redrive


def test_enqueueing_the_same_ticket_twice_acts_once(store):
    integration = make_integration(queue=FAST)
    q = JobQueue(store)
    q.enqueue_many("refunds", [{"ticket_id": "U1", "body": "refund"}] * 2)
    stats = _worker(store, integration, verdict()).run(exit_when_idle=True)
    assert sorted(stats.by_state) == [DUPLICATE, SUCCEEDED]
    assert len(DOWNSTREAM) == 1


def test_a_worker_with_threads_drains_everything_once(store):
    integration = make_integration(queue=FAST)
    q = JobQueue(store)
    q.enqueue_many("refunds", [{"ticket_id": f"M{i}", "body": "refund"} for i in range(40)])
    stats = _worker(store, integration, verdict(), concurrency=4).run(exit_when_idle=True)
    assert stats.finished == 40 and stats.by_state == {SUCCEEDED: 40}
    assert len({k for k, _ in DOWNSTREAM}) == 40 == len(DOWNSTREAM)
    assert q.counts() == {DONE: 40}
    assert stats.claim_seconds > 0
    with store.read() as conn:
        assert not conn.execute(select(jobs).where(jobs.c.status == RUNNING)).first()
        assert not conn.execute(select(events).where(events.c.state == PROCESSING)).first()


def test_a_crash_after_the_model_answered_but_before_the_outcome_was_recorded(store, monkeypatch):
    """The model was paid for, the process died before writing the output: the next worker
    asks again (the crashed reservation stays counted against the caps) and acts once."""
    import seamline.runtime._decide as pipeline_module

    real = pipeline_module.plan_actions
    died = []

    def dies_once(*args, **kwargs):
        if not died:
            died.append(1)
            raise SystemExit("killed between the model's answer and the outcome's commit")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "plan_actions", dies_once)
    integration = make_integration(queue=FAST)
    model = verdict()
    q = JobQueue(store)
    got = q.enqueue("refunds", {"ticket_id": "M1", "body": "refund"})
    (job,) = q.claim("dying", ["refunds"], lease_s=0.05)
    with pytest.raises(SystemExit):
        Pipeline(integration, store, provider=model).process(q.open(job), job.event_id)
    with store.read() as conn:
        assert conn.execute(select(events.c.state)).scalar() == PROCESSING
    time.sleep(0.1)
    stats = _worker(store, integration, model).run(exit_when_idle=True)
    assert stats.by_state == {SUCCEEDED: 1} and len(model.requests) == 2
    assert len(DOWNSTREAM) == 1
    with store.read() as conn:
        (ev,) = conn.execute(select(events)).all()
    assert ev.id == got.event_id and ev.state == SUCCEEDED
    assert verify(store).ok


def test_heartbeats_keep_a_slow_job_from_being_taken_over(store):
    """A job that runs longer than its lease keeps it: the worker renews every third of it."""
    def slow(_req):
        time.sleep(1.6)
        return {"label": "refund", "confidence": 0.9, "amount": 5.0}

    integration = make_integration(queue=QueueSpec(lease_s=1, backoff_s=0.01))
    q = JobQueue(store)
    q.enqueue("refunds", {"ticket_id": "H1", "body": "refund"})
    worker = _worker(store, integration, ScriptedModel(slow))
    runner = threading.Thread(target=worker.run, kwargs={"exit_when_idle": True})
    runner.start()
    time.sleep(1.2)  # past the first lease's expiry
    assert q.claim("thief", ["refunds"], lease_s=5) == []
    runner.join()
    assert worker.stats.by_state == {SUCCEEDED: 1} and worker.stats.lost_leases == 0
    assert len(DOWNSTREAM) == 1


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_an_idle_worker_wakes_when_a_job_arrives_not_at_its_next_poll(where, tmp_path, request,
                                                                      monkeypatch):
    """In-process on SQLite; through LISTEN/NOTIFY from another connection on PostgreSQL."""
    monkeypatch.setenv("SEAMLINE_VAULT_KEY", "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=")
    url = str(tmp_path / "w.db") if where == "sqlite" else request.getfixturevalue("pg_url")
    store = open_store(url)
    integration = make_integration(queue=FAST)
    worker = Worker(store, [integration], poll_s=30.0,
                    pipelines={"refunds": Pipeline(integration, store, provider=verdict())})
    finished = threading.Event()
    runner = threading.Thread(target=worker.run,
                              kwargs={"on_job": lambda job, result: finished.set()})
    runner.start()
    try:
        time.sleep(1.0)  # the worker found nothing and waits (its first wait is 7.5 s)
        other = open_store(url) if where == "postgresql" else store
        t = time.monotonic()
        JobQueue(other).enqueue("refunds", {"ticket_id": "WAKE", "body": "refund"})
        assert finished.wait(5.0)
        assert time.monotonic() - t < 2.0  # far sooner than the 30 s poll
    finally:
        worker.stop()
        runner.join()
        store.close()
