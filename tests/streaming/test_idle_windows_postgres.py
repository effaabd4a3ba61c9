"""The idle clock, window claims and count flushes on PostgreSQL, where the statements that
bump a window's revision and claim it are compiled for another dialect."""

from __future__ import annotations

import time

from sqlalchemy import select
from stream_helpers import ListSource, risk_model, stream_integration

from seamline.runtime import SUCCEEDED
from seamline.store.tables import stream_windows
from seamline.streaming import CountWindow, StreamRunner, StreamSpec, TumblingWindow


def test_idle_clock_claims_and_recompute_on_postgres(pg_store):
    spec = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=10),
                      late_policy="recompute", idle_timeout=0.2)
    evts = [{"customer": "a", "ts": t} for t in (100, 109.9)]
    runner = StreamRunner(stream_integration(spec), pg_store, ListSource(evts),
                          provider=risk_model(), consumer="pg")
    runner.run(idle_exit_s=0.8, poll_s=0.05)  # quiet: the clock passes 110
    assert runner.stats.decisions == {SUCCEEDED: 1} and runner.stats.idle_advances >= 1
    # A late event recomputes the decided window as revision 2 (the closing statement).
    runner.source.messages = ListSource([{"customer": "a", "ts": 105}], start=2).messages
    runner.run(idle_exit_s=0.1, poll_s=0.05)
    assert runner.stats.outcomes["late_recomputed"] == 1
    assert runner.stats.decisions == {SUCCEEDED: 2}
    with pg_store.read() as conn:
        row = conn.execute(select(stream_windows.c.events_count, stream_windows.c.status,
                                  stream_windows.c.decided_revision)).one()
    assert tuple(row) == (3, 2, 2)


def test_count_flush_and_refill_on_postgres(pg_store):
    spec = StreamSpec(key_field="customer", window=CountWindow(size=3), idle_timeout=0.2,
                      idle_flush=True, name="pg-count")
    source = ListSource([{"customer": "a", "n": i} for i in range(2)])
    runner = StreamRunner(stream_integration(spec), pg_store, source, provider=risk_model())
    runner.run(idle_exit_s=0.7, poll_s=0.05)
    assert runner.stats.decisions == {SUCCEEDED: 1}  # flushed with two events
    source.messages = ListSource([{"customer": "a", "n": 2}], start=2).messages
    time.sleep(0.01)
    runner.run(idle_exit_s=0.1, poll_s=0.05)  # the third event fills it: revision 2
    assert runner.stats.decisions == {SUCCEEDED: 2}
    with pg_store.read() as conn:
        row = conn.execute(select(stream_windows.c.events_count, stream_windows.c.revision,
                                  stream_windows.c.status)).one()
    assert tuple(row) == (3, 2, 2)
