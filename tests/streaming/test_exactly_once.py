"""After a SIGKILL a consumer resumes from its committed position: every window counts each
published event once and is decided once, on Redis Streams and on NATS JetStream, with one
consumer or several in a group."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from stream_helpers import (  # noqa: F401 (fixtures)
    NATS_URL,
    REDIS_URL,
    nats_stream,
    publish_nats,
    publish_redis,
    redis_client,
    redis_stream,
    risk_model,
    stream_integration,
)

from seamline.runtime import DUPLICATE
from seamline.store import open_store
from seamline.store.tables import events, stream_progress, stream_windows
from seamline.streaming import StreamRunner, StreamSpec, TumblingWindow, open_source

CONSUMER = Path(__file__).with_name("stream_consumer.py")
SPEC = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=20))
CUSTOMERS = 5
EVENTS = 300


def published() -> list[dict]:
    """One event a second for five customers; a last one at t=1000 closes every window before."""
    return [{"customer": f"c{i % CUSTOMERS}", "ts": i, "amount": i} for i in range(EVENTS)] + [
        {"customer": "c0", "ts": 1000, "amount": 0}]


def consume(db: Path, source: str, *, wait: bool = True, **options) -> subprocess.Popen | dict:
    options = {"spec": SPEC.model_dump_json(), "idle_exit": 0.6, **options}
    args = [sys.executable, str(CONSUMER), "--db", str(db), "--source", source]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return proc
    return finish(proc)


def finish(proc: subprocess.Popen, *, killed: bool = False) -> dict:
    out, err = proc.communicate(timeout=60)
    if killed:
        assert proc.returncode == -9, err
        return {}
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def drain(db: Path, source: str, spec: StreamSpec = SPEC):
    """Consume in this process until the source is quiet (cheaper than one more process)."""
    store = open_store(db)
    runner = StreamRunner(stream_integration(spec), store, open_source(source, consumer="d"),
                          provider=risk_model())
    try:
        return runner.run(idle_exit_s=0.5, poll_s=0.1)
    finally:
        runner.close()
        store.close()


def assert_exactly_once(db: Path) -> None:
    store = open_store(db)
    try:
        w = stream_windows.c
        with store.read() as conn:
            rows = conn.execute(select(w.key_value, w.window_start, w.events_count, w.status,
                                       w.decided_revision, w.event_id)).all()
            states = Counter(conn.execute(select(events.c.state)).scalars())
            keys = conn.execute(select(events.c.idempotency_key)
                                .where(events.c.state != DUPLICATE)).scalars().all()
            applied = conn.execute(select(stream_progress.c.applied)).scalar_one()
    finally:
        store.close()
    closed = [r for r in rows if r.window_start < 1000]
    assert len(closed) == CUSTOMERS * EVENTS // 20
    assert all(r.events_count == 20 // CUSTOMERS for r in closed)  # no event twice, none lost
    assert sum(r.events_count for r in rows) == EVENTS + 1 == applied
    assert all(r.status == 2 and r.decided_revision == 1 and r.event_id for r in closed)
    assert states["succeeded"] == len(closed)  # one decision per window
    assert len(set(keys)) == len(keys)


def test_redis_a_consumer_killed_between_commit_and_ack_resumes_without_double_counting(
        tmp_path, redis_client, redis_stream):
    publish_redis(redis_client, redis_stream, published())
    source = f"{REDIS_URL}?stream={redis_stream}&group=risk"
    db = tmp_path / "seamline.db"
    killed = consume(db, source, kill_before_ack=4, wait=False)
    finish(killed, killed=True)
    # The fourth batch is committed but still pending in the group, for this consumer.
    assert redis_client.xpending(redis_stream, "risk")["pending"] == 20
    resumed = consume(db, source)
    assert resumed["outcomes"]["redelivered"] == 20  # read back, recognised, not re-counted
    assert resumed["outcomes"]["applied"] == EVENTS + 1 - 80
    assert redis_client.xpending(redis_stream, "risk")["pending"] == 0
    assert_exactly_once(db)


def test_redis_a_consumer_killed_after_a_decision_does_not_decide_that_window_twice(
        tmp_path, redis_client, redis_stream):
    publish_redis(redis_client, redis_stream, published())
    source = f"{REDIS_URL}?stream={redis_stream}&group=risk"
    db = tmp_path / "seamline.db"
    finish(consume(db, source, kill_after_decision=3, wait=False), killed=True)
    resumed = consume(db, source)
    assert resumed["decisions"][DUPLICATE] == 1  # the window decided before the kill
    assert_exactly_once(db)


def test_redis_a_consumer_killed_from_outside_at_any_moment_resumes_exactly_once(
        tmp_path, redis_client, redis_stream):
    import signal

    publish_redis(redis_client, redis_stream, published())
    source = f"{REDIS_URL}?stream={redis_stream}&group=risk"
    db = tmp_path / "seamline.db"
    open_store(db).close()
    victim = consume(db, source, pause=0.03, wait=False)
    deadline = time.monotonic() + 30
    while applied_so_far(db) < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)  # wherever it is: reading, applying, acking, deciding
    finish(victim, killed=True)
    assert 100 <= applied_so_far(db) < EVENTS  # mid-stream
    consume(db, source)
    assert_exactly_once(db)


def applied_so_far(db: Path) -> int:
    store = open_store(db)
    try:
        with store.read() as conn:
            return conn.execute(select(stream_progress.c.applied)).scalar() or 0
    finally:
        store.close()


def test_redis_several_consumers_in_one_group_take_over_a_dead_ones_entries(
        tmp_path, redis_client, redis_stream):
    *spread, closing = published()
    publish_redis(redis_client, redis_stream, spread)
    source = f"{REDIS_URL}?stream={redis_stream}&group=risk&claim_idle=1"
    db = tmp_path / "seamline.db"
    open_store(db).close()  # migrate once, not in three processes at a time
    # Consumers in a group interleave the stream's order; a lateness longer than the stream
    # keeps a consumer that raced ahead from making the others' events late.
    spec = SPEC.model_copy(update={"allowed_lateness": 400.0}).model_dump_json()
    victim = consume(db, source, consumer="v", kill_before_ack=2, wait=False, spec=spec)
    finish(victim, killed=True)
    # Both start reading at one moment: on a loaded machine one process's imports can take
    # longer than the other needs to drain the whole stream alone.
    gate = tmp_path / "gate"
    workers = [consume(db, source, consumer=name, wait=False, pause=0.02, idle_exit=1.5,
                       spec=spec, start_gate=gate) for name in ("a", "b")]
    deadline = time.monotonic() + 60
    while not all(gate.with_name(f"gate.{n}").exists() for n in "ab") and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.touch()
    results = [finish(p) for p in workers]
    # The dead consumer's pending batch was claimed (XAUTOCLAIM) and recognised as applied.
    assert sum(r["outcomes"].get("redelivered", 0) for r in results) >= 20
    assert all(r["outcomes"].get("applied", 0) > 0 for r in results)  # both did work
    assert sum(r["outcomes"].get("applied", 0) for r in results) == EVENTS - 40
    assert redis_client.xpending(redis_stream, "risk")["pending"] == 0
    # Once the group has drained, one more event moves the watermark past every window.
    publish_redis(redis_client, redis_stream, [closing])
    assert drain(db, source, StreamSpec.model_validate_json(spec)).outcomes == {"applied": 1}
    assert_exactly_once(db)


def test_nats_a_consumer_killed_between_commit_and_ack_resumes_without_double_counting(
        tmp_path, nats_stream):
    name, subject = nats_stream
    *spread, closing = published()
    publish_nats(subject, spread)
    source = f"{NATS_URL}?stream={name}&subject={subject}&durable=risk&ack_wait=1"
    db = tmp_path / "seamline.db"
    finish(consume(db, source, kill_before_ack=4, wait=False), killed=True)
    resumed = consume(db, source, idle_exit=2.5)
    # At least the unacked batch; JetStream may redeliver more with a 1 s ack wait.
    assert resumed["outcomes"]["redelivered"] >= 20
    assert resumed["outcomes"]["applied"] == EVENTS - 80
    # Redeliveries come after newer messages; close the windows once all are in.
    publish_nats(subject, [closing])
    assert drain(db, source).outcomes["applied"] == 1
    assert_exactly_once(db)


@pytest.mark.parametrize("url, sentence", [
    ("redis://127.0.0.1:6379/0?stream=s", "must name the stream and the consumer group"),
    ("nats://127.0.0.1:4222?subject=x", "must name the JetStream stream and subject"),
    ("kafka://127.0.0.1:9092?topic=t", "neither redis:// (Redis Streams) nor nats://"),
    ("redis://127.0.0.1:6379/0?stream=s&group=g&claim_idle=soon", "claim_idle='soon'"),
])
def test_a_malformed_source_url_is_refused_with_a_sentence(url, sentence):
    from seamline.errors import ConfigError
    from seamline.streaming import open_source

    with pytest.raises(ConfigError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        open_source(url)


def test_an_unreachable_broker_is_reported_as_unavailable():
    from seamline.streaming import SourceUnavailable, open_source

    with pytest.raises(SourceUnavailable, match="Redis is not reachable"):
        open_source("redis://127.0.0.1:1/0?stream=s&group=g")
    with pytest.raises(SourceUnavailable, match="NATS is not reachable"):
        open_source("nats://127.0.0.1:1?stream=S&subject=x")


def test_a_missing_jetstream_stream_is_a_configuration_error():
    from seamline.errors import ConfigError
    from seamline.streaming import open_source

    with pytest.raises(ConfigError, match="JetStream has no stream 'NO_SUCH_STREAM_X'"):
        open_source(f"{NATS_URL}?stream=NO_SUCH_STREAM_X&subject=nothing.here")
