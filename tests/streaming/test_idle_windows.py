"""A quiet stream still closes its last windows: after ``idle_timeout`` without a message the
stream time follows the wall clock, so a window is decided about when its end (plus the
allowed lateness) has passed, never before the idle timeout, and with no further event."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from stream_helpers import (  # noqa: F401 (fixtures)
    NATS_URL,
    REDIS_URL,
    ListSource,
    nats_stream,
    publish_nats,
    publish_redis,
    redis_client,
    redis_stream,
    risk_model,
    stream_integration,
)

from seamline.runtime import SUCCEEDED
from seamline.store import open_store
from seamline.store.tables import dead_letters, events, stream_windows
from seamline.streaming import (
    SlidingWindow,
    StreamRunner,
    StreamSpec,
    TumblingWindow,
    open_source,
)

IDLE = 0.5


class Background:
    """A runner consuming in a thread (its own store) until stopped."""

    def __init__(self, db: Path, spec: StreamSpec, source: str, consumer: str = "c1") -> None:
        self.store = open_store(db)
        self.runner = StreamRunner(stream_integration(spec), self.store,
                                   open_source(source, consumer=consumer), provider=risk_model())
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.runner.run,
                                       kwargs={"stop": self.stop, "poll_s": 0.1})
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.runner.close()
        self.store.close()


def decided(db: Path) -> list[tuple]:
    """(key, start, count, revision) of every recorded decision, oldest first."""
    import json

    store = open_store(db)
    try:
        with store.read() as conn:
            rows = conn.execute(select(events.c.state, events.c.input)
                                .where(events.c.stage != "stream")
                                .order_by(events.c.created_at)).all()
    finally:
        store.close()
    out = []
    for state, text in rows:
        window = json.loads(text)
        out.append((window["key"], window["window_start"], window["count"], window["revision"],
                    state))
    return out


def wait_for(db: Path, n: int, started: float, timeout: float = 10.0) -> list[float]:
    """Seconds from ``started`` (before the events were published, so a lower bound holds)
    until each of the first ``n`` decisions was recorded."""
    seen, times = 0, []
    while time.monotonic() - started < timeout:
        made = len(decided(db))
        times += [time.monotonic() - started] * (made - seen)
        seen = max(seen, made)
        if seen >= n:
            return times[:n]
        time.sleep(0.02)
    raise AssertionError(f"{seen} of {n} decisions after {timeout} s: {decided(db)}")


def test_a_quiet_redis_stream_decides_its_last_window_after_the_idle_timeout(
        tmp_path, redis_client, redis_stream):  # noqa: F811 (fixtures)
    spec = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=10),
                      idle_timeout=IDLE)
    db = tmp_path / "s.db"
    open_store(db).close()
    source = f"{REDIS_URL}?stream={redis_stream}&group=risk"
    consumer = Background(db, spec, source)
    try:
        # The last burst before a quiet period: nothing past 109.8 will ever come.
        started = time.monotonic()
        publish_redis(redis_client, redis_stream,
                      [{"customer": "a", "ts": t} for t in (100, 104, 109.8)]
                      + [{"customer": "b", "ts": 107}])
        [first, second] = wait_for(db, 2, started)
        # Not before the idle timeout; then at the next poll (0.1 s) or so.
        assert IDLE <= first <= IDLE + 0.8, first
        assert second - first < 0.5  # the same advance closed both
        assert sorted(d[:4] for d in decided(db)) == [("a", 100.0, 3, 1), ("b", 100.0, 1, 1)]
        assert all(d[4] == SUCCEEDED for d in decided(db))
        assert consumer.runner.stats.delivered == 4  # no further event closed it
        assert consumer.runner.stats.idle_advances >= 1
        # The stream time is stored and moved on: an event for the closed window is now
        # late (dead-lettered), and the window is not decided a second time.
        assert consumer.runner.state.progress().max_event_time > 110
        publish_redis(redis_client, redis_stream, [{"customer": "a", "ts": 109.9}])
        deadline = time.monotonic() + 5
        while consumer.runner.stats.delivered < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(IDLE + 0.3)
    finally:
        consumer.close()
    assert consumer.runner.stats.outcomes["late_dead_lettered"] == 1
    store = open_store(db)
    with store.read() as conn:
        reason = conn.execute(select(dead_letters.c.reason)).scalar_one()
        status = conn.execute(select(stream_windows.c.status)).scalars().all()
    store.close()
    assert reason.startswith("late event: its event time 109.9 is ")
    assert "(stream time " in reason
    assert status == [2, 2] and len(decided(db)) == 2
    assert redis_client.xpending(redis_stream, "risk")["pending"] == 0


def test_a_quiet_nats_stream_closes_each_window_when_the_wall_clock_reaches_its_end(
        tmp_path, nats_stream):  # noqa: F811 (fixtures)
    """Stream time follows the wall clock from the last event: a window ending 1.1 s of
    event time after it closes about 1.1 s after it, the next one 2 s later."""
    name, subject = nats_stream
    spec = StreamSpec(key_field="customer", time_field="ts",
                      window=SlidingWindow(size=4, slide=2), idle_timeout=IDLE)
    db = tmp_path / "s.db"
    open_store(db).close()
    source = f"{NATS_URL}?stream={name}&subject={subject}&durable=risk"
    consumer = Background(db, spec, source)
    try:
        started = time.monotonic()
        publish_nats(subject, [{"customer": "a", "ts": t} for t in (10, 11, 12.9)])
        times = wait_for(db, 3, started)
    finally:
        consumer.close()
    # [8, 12) closes with the events themselves (12.9 is past its end).
    assert [d[:4] for d in decided(db)] == [("a", 8.0, 2, 1), ("a", 10.0, 3, 1),
                                            ("a", 12.0, 1, 1)]
    assert times[0] < 1.0
    assert 1.1 <= times[1] <= 1.1 + 0.8, times
    assert 3.1 <= times[2] <= 3.1 + 0.8, times
    assert consumer.runner.stats.delivered == 3


def tumbling(idle: float) -> StreamSpec:
    return StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=10),
                      idle_timeout=idle)


def test_an_idle_timeout_of_zero_keeps_windows_open_until_an_event_closes_them(store):
    runner = StreamRunner(stream_integration(tumbling(0)), store,
                          ListSource([{"customer": "a", "ts": 109.9}]), provider=risk_model())
    runner.run(idle_exit_s=0.6, poll_s=0.05)
    assert runner.stats.decisions == {} and runner.stats.idle_advances == 0
    assert runner.state.progress().max_event_time == 109.9


def test_a_consumer_that_has_not_seen_the_stream_quiet_does_not_move_its_time(store):
    """Stream time moves only once this consumer fetched nothing for the idle timeout and
    no consumer applied anything for as long: a restart into a backlog takes the backlog
    first, so its events are not made late by the downtime."""
    first = StreamRunner(stream_integration(tumbling(0.3)), store,
                         ListSource([{"customer": "a", "ts": 109.6}]), provider=risk_model())
    first.run(idle_exit_s=0)
    time.sleep(0.5)  # down, while events (below) were published
    # Moved by the 0.5 s of downtime, the watermark would pass 110 and these would be late.
    backlog = ListSource([{"customer": "a", "ts": 109.7 + i / 100} for i in range(30)], start=1)
    second = StreamRunner(stream_integration(tumbling(0.3)), store, backlog,
                          provider=risk_model(), batch=10)
    for _ in range(3):
        second.step(0)  # three full batches: the consumer is never quiet
    assert second.stats.outcomes == {"applied": 30} and second.stats.idle_advances == 0
    assert second.state.progress().max_event_time == pytest.approx(109.99)
    assert second.stats.decisions == {}
    # Now quiet: the window of all 31 closes once the consumer has seen the idle timeout.
    second.run(idle_exit_s=1.0, poll_s=0.05)
    assert second.stats.decisions == {SUCCEEDED: 1} and second.stats.idle_advances >= 1
    with store.read() as conn:
        assert conn.execute(select(stream_windows.c.events_count)).scalar_one() == 31


def test_a_stream_spec_reads_idle_settings_from_yaml_and_refuses_contradictions():
    import yaml

    spec = StreamSpec.model_validate(yaml.safe_load(
        "{key_field: c, time_field: ts, window: {kind: tumbling, size: 5m}, idle_timeout: 2m}"))
    assert spec.idle_timeout == 120 and spec.idle_flush is False
    assert StreamSpec(key_field="c", time_field="ts",
                      window=TumblingWindow(size=60)).idle_timeout == 60  # the default
    with pytest.raises(ValueError, match="idle_flush applies to count windows"):
        StreamSpec(key_field="c", time_field="ts", window=TumblingWindow(size=60),
                   idle_flush=True)
    with pytest.raises(ValueError, match="idle_flush needs an idle_timeout above 0"):
        StreamSpec(key_field="c", window={"kind": "count", "size": 3}, idle_flush=True,
                   idle_timeout=0)
