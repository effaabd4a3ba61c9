"""The same window state on PostgreSQL, where several consumers on several machines share
it: concurrent appliers take turns on the stream's progress row, and no message counts twice."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from stream_helpers import ListSource, risk_model, stream_integration

from seamline.store.tables import dead_letters, events, stream_windows
from seamline.streaming import SourceMessage, StreamRunner, StreamSpec, TumblingWindow


def test_concurrent_appliers_with_redeliveries_count_each_message_once(pg_store):
    spec = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=10),
                      allowed_lateness=1000)
    runner = StreamRunner(stream_integration(spec), pg_store, ListSource([]),
                          provider=risk_model())
    messages = [SourceMessage(f"m{i}", {"customer": f"c{i % 4}", "ts": i}) for i in range(400)]
    errors: list[BaseException] = []

    def apply(offset: int) -> None:
        try:
            # Each thread delivers every message, in overlapping batches of 25: all but one
            # delivery of each message must be recognised as already applied.
            for start in range(offset, offset + 400, 25):
                batch = [messages[(start + j) % 400] for j in range(25)]
                runner.state.apply(batch)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(k * 100,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pg_store.read() as conn:
        total = conn.execute(select(func.sum(stream_windows.c.events_count))).scalar()
        per_window = set(conn.execute(select(stream_windows.c.events_count)).scalars())
    assert total == 400 and per_window == {10 // 4, 10 // 4 + 1}
    assert runner.state.progress().applied == 400


def test_late_policies_and_decisions_on_postgres(pg_store):
    spec = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=10),
                      late_policy="recompute")
    evts = [{"customer": "a", "ts": t} for t in (100, 113, 104)]
    runner = StreamRunner(stream_integration(spec), pg_store, ListSource(evts),
                          provider=risk_model(), batch=2)
    runner.run(idle_exit_s=0)
    assert runner.stats.outcomes == {"applied": 2, "late_recomputed": 1}
    with pg_store.read() as conn:
        window = conn.execute(select(stream_windows.c.events_count, stream_windows.c.revision,
                                     stream_windows.c.decided_revision)
                              .where(stream_windows.c.window_start == 100)).one()
        states = conn.execute(select(events.c.state)).scalars().all()
        assert conn.execute(select(dead_letters)).all() == []
    assert tuple(window) == (2, 2, 2) and states == ["succeeded", "succeeded"]


def test_pruning_runs_on_postgres(pg_store):
    from seamline.streaming import CountWindow

    spec = StreamSpec(key_field="customer", window=CountWindow(size=3))
    runner = StreamRunner(stream_integration(spec), pg_store,
                          ListSource([{"customer": "a", "n": i} for i in range(8)]),
                          provider=risk_model())
    runner.run(idle_exit_s=0)
    assert runner.state.prune() == 2 + 6  # two decided windows, six events no window needs
    timed = StreamRunner(stream_integration(StreamSpec(
        key_field="customer", time_field="ts", window=TumblingWindow(size=10), retention=100,
        name="timed")), pg_store, ListSource([{"customer": "a", "ts": t} for t in (100, 400)]),
        provider=risk_model())
    timed.run(idle_exit_s=0)
    assert timed.state.prune() == 2  # the decided window [100, 110) and its event
