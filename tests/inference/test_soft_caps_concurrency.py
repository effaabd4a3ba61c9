"""Soft caps and share alerts under concurrency: threads and processes on SQLite and on
PostgreSQL push one user's events through the pipeline at once.

What must hold whatever the interleaving: the primary route's calls never add up past the
soft cap (each was reserved under it), every degraded event's audit shows a cap its worst
case would have crossed, the hard cap is never overspent (nothing is sent that the
reservation did not admit), and each share of each cap alerts exactly once.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections import Counter

import pytest
from sqlalchemy import select
from test_soft_caps import CHEAP, PRIMARY, cost_of, integration, replying, ticket

from seamline.integration import SoftCaps
from seamline.runtime import OVER_BUDGET, SUCCEEDED, Pipeline
from seamline.store import open_store
from seamline.store.tables import alerts, audit_log, budget_alerts, budget_counters, events

SOFT, DAILY, SHARES = 0.0006, 0.0007, (0.5, 0.8, 1.0)


def spec():
    return integration(soft=SoftCaps(per_user=SOFT), daily=DAILY, alert_at=SHARES)


def _run(pipe: Pipeline, worker: int, count: int, barrier) -> None:
    barrier.wait()
    for n in range(count):
        pipe.process(ticket(worker * 1000 + n))


def race_threads(store, workers: int, count: int) -> None:
    pipe = Pipeline(spec(), store, provider=replying())
    barrier = threading.Barrier(workers)
    threads = [threading.Thread(target=_run, args=(pipe, w, count, barrier))
               for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)


def _process(url: str, worker: int, count: int, barrier) -> None:
    """One OS process with its own pipeline over the shared store."""
    store = open_store(url)
    try:
        _run(Pipeline(spec(), store, provider=replying()), worker, count, barrier)
    finally:
        store.close()


def race_processes(url: str, workers: int, count: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(workers)
        with ctx.Pool(workers) as pool:
            jobs = [pool.apply_async(_process, (url, w, count, barrier)) for w in range(workers)]
            for job in jobs:
                job.get(timeout=300)


def assert_held(store, expected_events: int) -> None:
    with store.read() as conn:
        rows = conn.execute(select(events.c.id, events.c.state, events.c.model,
                                   events.c.cost_usd)).all()
        budgets = [json.loads(p) for p in conn.execute(
            select(audit_log.c.payload).where(audit_log.c.kind == "budget")).scalars()]
        counters = dict(conn.execute(select(budget_counters.c.scope,
                                            budget_counters.c.spent_usd)).all())
        raised = [json.loads(labels) for labels in conn.execute(
            select(alerts.c.labels).where(alerts.c.kind == "budget")).scalars()]
        claims = conn.execute(select(budget_alerts.c.scope, budget_alerts.c.permille,
                                     budget_alerts.c.announced_at)).all()
    assert len(rows) == expected_events
    states = Counter(r.state for r in rows)
    assert set(states) <= {SUCCEEDED, OVER_BUDGET}, states
    assert states[OVER_BUDGET] > 0 and states[SUCCEEDED] > 0  # the hard cap did bite
    ran = Counter(r.model for r in rows if r.state == SUCCEEDED)
    assert ran[PRIMARY] >= 1 and ran[CHEAP] >= 1, ran
    # The primary route's calls were each reserved under the soft cap.
    assert ran[PRIMARY] * cost_of(PRIMARY) <= SOFT + 1e-12
    # Every degrade was decided on a spend the event's worst case would have taken past it.
    overs = [b["over_soft"] for b in budgets if "over_soft" in b]
    assert len(overs) >= ran[CHEAP]
    assert all(o["spent_usd"] + o["estimate_usd"] > o["cap_usd"] for o in overs)
    # The hard daily cap: what was spent, and what its counter says, never past it.
    spent = sum(r.cost_usd for r in rows)
    [daily] = [v for k, v in counters.items() if k.startswith("refunds|day|")]
    assert spent <= DAILY + 1e-12 and daily == pytest.approx(spent)
    # One alert per share of each cap, however many workers crossed it at once.
    per_share = Counter((a["scope"], a["share"]) for a in raised)
    assert per_share and max(per_share.values()) == 1, per_share
    daily_shares = sorted(float(s) for scope, s in per_share if scope.startswith("refunds|day|"))
    assert daily_shares == list(SHARES)
    assert sum(1 for a in raised if a["reason"] == "over_soft") == 1
    assert len(claims) == len(raised) and all(at is not None for *_, at in claims)


def test_threads_on_sqlite_keep_soft_caps_hard_caps_and_alerts(store):
    race_threads(store, workers=4, count=6)
    assert_held(store, 24)


def test_threads_on_postgresql_keep_soft_caps_hard_caps_and_alerts(pg_store):
    race_threads(pg_store, workers=4, count=6)
    assert_held(pg_store, 24)


def test_processes_on_sqlite_keep_soft_caps_hard_caps_and_alerts(tmp_path):
    url = str(tmp_path / "race.db")
    open_store(url).close()  # migrated once, before the race
    race_processes(url, workers=3, count=6)
    store = open_store(url)
    try:
        assert_held(store, 18)
    finally:
        store.close()


def test_processes_on_postgresql_keep_soft_caps_hard_caps_and_alerts(pg_url, monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("SEAMLINE_VAULT_KEY", Fernet.generate_key().decode())  # inherited
    open_store(pg_url).close()
    race_processes(pg_url, workers=3, count=6)
    store = open_store(pg_url)
    try:
        assert_held(store, 18)
    finally:
        store.close()
