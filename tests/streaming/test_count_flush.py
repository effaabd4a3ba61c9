"""Count windows on a quiet key: with ``idle_flush``, a key's unfilled window is decided as
it stands once the key has had no event for ``idle_timeout``, and decided again (a new
revision) when later events fill it; without it, the window waits for its Nth event."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import select
from stream_helpers import (  # noqa: F401 (fixtures)
    REDIS_URL,
    ListSource,
    publish_redis,
    redis_client,
    redis_stream,
    risk_model,
    stream_integration,
)

from seamline.runtime import SUCCEEDED
from seamline.store import open_store
from seamline.store.tables import events, stream_windows
from seamline.streaming import CountWindow, StreamRunner, StreamSpec, open_source

IDLE = 0.5


def decisions(db) -> list[dict]:
    store = open_store(db)
    try:
        with store.read() as conn:
            rows = conn.execute(select(events.c.state, events.c.input)
                                .order_by(events.c.created_at)).all()
    finally:
        store.close()
    return [{"state": state, **json.loads(text)} for state, text in rows]


def until(db, n: int, since: float, timeout: float = 10.0) -> float:
    """Seconds from ``since`` until ``n`` decisions are recorded."""
    while len(decisions(db)) < n:
        assert time.monotonic() - since < timeout, decisions(db)
        time.sleep(0.02)
    return time.monotonic() - since


def test_idle_flush_decides_a_quiet_keys_unfilled_count_window_then_again_when_it_fills(
        tmp_path, redis_client, redis_stream):  # noqa: F811 (fixtures)
    spec = StreamSpec(key_field="customer", window=CountWindow(size=5), idle_timeout=IDLE,
                      idle_flush=True)
    db = tmp_path / "s.db"
    store = open_store(db)
    runner = StreamRunner(stream_integration(spec), store,
                          open_source(f"{REDIS_URL}?stream={redis_stream}&group=risk",
                                      consumer="c1"), provider=risk_model())
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, kwargs={"stop": stop, "poll_s": 0.1})
    thread.start()
    try:
        published = time.monotonic()
        publish_redis(redis_client, redis_stream,
                      [{"customer": "a", "n": i} for i in range(3)]
                      + [{"customer": "b", "n": i} for i in range(5)])
        assert until(db, 1, published) < 1.0  # b's window filled: decided at once
        flushed = until(db, 2, published)
        assert IDLE <= flushed <= IDLE + 0.8, flushed
        made = decisions(db)
        assert [(d["key"], d["count"], d["revision"]) for d in made] == [("b", 5, 1),
                                                                          ("a", 3, 1)]
        assert [e["n"] for e in made[1]["events"]] == [0, 1, 2]
        # Two more of a's events fill its window: decided again, as revision 2, at once.
        published = time.monotonic()
        publish_redis(redis_client, redis_stream, [{"customer": "a", "n": i} for i in (3, 4)])
        assert until(db, 3, published) < 1.0
        time.sleep(IDLE + 0.3)  # and not flushed once more: nothing of a's is undecided
    finally:
        stop.set()
        thread.join(10)
        runner.close()
    made = decisions(db)
    assert [(d["key"], d["count"], d["revision"], d["state"]) for d in made] == [
        ("b", 5, 1, SUCCEEDED), ("a", 3, 1, SUCCEEDED), ("a", 5, 2, SUCCEEDED)]
    assert made[2]["window_id"].endswith("|0|5|r2")
    assert [e["n"] for e in made[2]["events"]] == [0, 1, 2, 3, 4]
    # Pruning keeps a flushed window until it is full, then forgets it like any other.
    runner.state.prune()
    with store.read() as conn:
        assert conn.execute(select(stream_windows)).all() == []
    store.close()


def test_a_sliding_count_window_flushes_the_keys_latest_events_once(store):
    spec = StreamSpec(key_field="customer", window=CountWindow(size=4, slide=2),
                      idle_timeout=0.2, idle_flush=True)
    runner = StreamRunner(stream_integration(spec), store,
                          ListSource([{"customer": "a", "n": i} for i in range(3)]),
                          provider=risk_model())
    runner.run(idle_exit_s=0.7, poll_s=0.05)
    # Events 0..2 are in [0, 4) and event 2 also in [2, 6): the oldest open window holds
    # the key's latest events and is flushed, once; [2, 6) holds nothing it does not.
    assert [(d["window_start"], d["count"]) for d in _made(store)] == [(0.0, 3)]
    with store.read() as conn:
        rows = conn.execute(select(stream_windows.c.window_start, stream_windows.c.status)
                            .order_by(stream_windows.c.window_start)).all()
    assert [tuple(r) for r in rows] == [(0.0, 2), (2.0, 0)]


def _made(store) -> list[dict]:
    with store.read() as conn:
        return [json.loads(t) for t in conn.execute(
            select(events.c.input).order_by(events.c.created_at)).scalars()]


def test_without_idle_flush_an_unfilled_count_window_waits_for_its_nth_event(store):
    spec = StreamSpec(key_field="customer", window=CountWindow(size=5), idle_timeout=0.2)
    runner = StreamRunner(stream_integration(spec), store,
                          ListSource([{"customer": "a", "n": i} for i in range(3)]),
                          provider=risk_model())
    runner.run(idle_exit_s=0.6, poll_s=0.05)
    assert runner.stats.decisions == {}
    with store.read() as conn:
        assert conn.execute(select(stream_windows.c.status)).scalar_one() == 0
