"""Consumers sharing a group claim a due window before deciding it (compare-and-set on its
row): each window is decided by one of them, the others pass it by without a "duplicate";
a claim left by a dead consumer is taken back by its restart at once, by others after the
lease."""

from __future__ import annotations

import time
from collections import Counter

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
from test_exactly_once import consume, finish

from seamline.runtime import DUPLICATE, SUCCEEDED
from seamline.store import open_store
from seamline.store.tables import events, stream_windows
from seamline.streaming import StreamRunner, StreamSpec, TumblingWindow

CUSTOMERS = 10
EVENTS = 300


def test_two_consumers_in_a_group_decide_each_window_once_and_report_no_duplicates(
        tmp_path, redis_client, redis_stream):  # noqa: F811 (fixtures)
    # Ten events per second of event time, windows of 2 s closing as the stream goes; the
    # last ones close by the idle timeout, about 3.1 s after the last event.
    spec = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=2),
                      allowed_lateness=3, idle_timeout=0.5)
    publish_redis(redis_client, redis_stream, [
        {"customer": f"c{i % CUSTOMERS}", "ts": i / 10} for i in range(EVENTS)])
    db = tmp_path / "s.db"
    open_store(db).close()
    source = f"{REDIS_URL}?stream={redis_stream}&group=risk"
    workers = [consume(db, source, consumer=name, wait=False, batch=10, pause=0.01,
                       idle_exit=5, spec=spec.model_dump_json()) for name in ("a", "b")]
    results = [finish(p) for p in workers]

    assert all(r["outcomes"].get("applied", 0) > 0 for r in results)  # both consumed
    assert sum(r["outcomes"]["applied"] for r in results) == EVENTS
    assert not any(DUPLICATE in r["decisions"] for r in results)
    made = sum(r["decisions"].get(SUCCEEDED, 0) for r in results)
    store = open_store(db)
    try:
        w = stream_windows.c
        with store.read() as conn:
            rows = conn.execute(select(w.events_count, w.status, w.decided_revision)).all()
            states = Counter(conn.execute(select(events.c.state)).scalars())
    finally:
        store.close()
    assert len(rows) == CUSTOMERS * 15 == made  # every window, the last ones too, once
    assert all(r == (2, 2, 1) for r in rows)
    assert states == {SUCCEEDED: made}  # no duplicate recorded either
    assert redis_client.xpending(redis_stream, "risk")["pending"] == 0


def runner(store, consumer: str, evts=(), **options) -> StreamRunner:
    spec = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=10))
    return StreamRunner(stream_integration(spec), store, ListSource(list(evts)),
                        provider=risk_model(), consumer=consumer, **options)


def test_a_window_claimed_by_one_consumer_is_passed_by_the_other(store):
    a = runner(store, "a", [{"customer": "k", "ts": 100}, {"customer": "k", "ts": 120}])
    a.state.apply(a.source.fetch(10, 0))
    b = runner(store, "b")
    [window] = a.state.close_due()
    assert b.state.close_due() == [window]  # both see it due...
    assert a.state.claim(window, a._token)  # ...a claims it first
    assert b.decide() == 0 and b.stats.decisions == {}
    assert not b.state.claim(window, b._token)
    a.decide_window(window)
    assert b.decide() == 0 and b.stats.claimed_elsewhere == 0  # decided: not due any more
    assert a.stats.decisions == {SUCCEEDED: 1}


def test_a_dead_consumers_claim_returns_to_its_restart_at_once_and_to_others_after_the_lease(
        tmp_path):
    db = tmp_path / "s.db"
    store = open_store(db)
    dead = runner(store, "x", [{"customer": "k", "ts": 100}, {"customer": "k", "ts": 120}])
    dead.state.apply(dead.source.fetch(10, 0))
    [window] = dead.state.close_due()
    assert dead.state.claim(window, dead._token)  # ...and the process dies here
    other = runner(store, "y", claim_lease_s=0.3)
    assert other.decide() == 0
    with store.read() as conn:
        status, owner = conn.execute(select(stream_windows.c.status, stream_windows.c.event_id)
                                     .where(stream_windows.c.window_start == 100)).one()
    assert (status, owner) == (3, "claim:x")
    restarted = runner(store, "x")  # same name: its claims are released when it starts
    assert restarted.decide() == 1 and restarted.stats.decisions == {SUCCEEDED: 1}

    # Another window, claimed by "x", which never comes back: "y" takes it after the lease.
    restarted.state.apply([_message("m3", 135)])  # closes [120, 130)
    [late] = restarted.state.close_due()
    assert restarted.state.claim(late, restarted._token)
    assert other.decide() == 0
    time.sleep(0.35)
    assert other.decide() == 1 and other.stats.decisions == {SUCCEEDED: 1}
    store.close()


def _message(message_id: str, ts: float):
    from seamline.streaming import SourceMessage

    return SourceMessage(message_id, {"customer": "k", "ts": ts})


def test_a_decision_that_raises_gives_its_claim_back(store):
    a = runner(store, "a", [{"customer": "k", "ts": 100}, {"customer": "k", "ts": 120}])
    a.state.apply(a.source.fetch(10, 0))

    def broken(_window):
        raise RuntimeError("store went away")

    a.pipeline.process = broken  # type: ignore[method-assign]
    try:
        a.decide()
    except RuntimeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the decision should have raised")
    b = runner(store, "b")
    assert b.decide() == 1  # due again at once, not after the lease
