"""Hostile messages on a real Redis stream and a real JetStream: each is dead-lettered with
the reason and acked; the consumer never crashes and goes on applying the good ones."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
from sqlalchemy import select
from stream_helpers import (  # noqa: F401 (fixtures)
    NATS_URL,
    REDIS_URL,
    nats_stream,
    redis_client,
    redis_stream,
    risk_model,
    stream_integration,
)

from seamline.audit import verify
from seamline.store import open_store
from seamline.store.tables import dead_letters, stream_progress
from seamline.streaming import StreamRunner, StreamSpec, TumblingWindow, open_source

SPEC = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=20))
GOOD = [json.dumps({"customer": "c1", "ts": t, "amount": 1}).encode() for t in (1, 2, 3)]
HOSTILE = [
    (b'{"customer": "c1", "ts": 4, "note": "caf\xe9"}', "not valid UTF-8"),
    (b'{"customer": "c1", "ts": 5, "note": "\\ud800"}', "lone surrogate"),
    (b'{"customer": "c1", "ts": 6, "note": "\xed\xa0\x80"}', "encoded surrogate"),
    (b"[" * 100_000, "nested deeper than 64"),
    (b'{"customer": "c1", "ts": 7, "a": ' * 2000 + b"1" + b"}" * 2000, "nested deeper than 64"),
    (b'{"customer": "c1", "ts": 1e999}', "too large"),
    (b'{"customer": "c1", "ts": NaN}', "NaN"),
    (b'{"customer": "c1", "customer": "c2", "ts": 8}', '"customer" twice'),
    (b'{"customer": "c\\u0000", "ts": 9}', "NUL"),
    (b'{"customer": "c1", "ts": ' + b"1" * 5000 + b"}", "5000 digits"),
]


def run(db, source: str):
    store = open_store(db)
    runner = StreamRunner(stream_integration(SPEC), store, open_source(source, consumer="h"),
                          provider=risk_model())
    try:
        stats = runner.run(idle_exit_s=0.5, poll_s=0.1)
        with store.read() as conn:
            reasons = conn.execute(select(dead_letters.c.reason, dead_letters.c.stage)).all()
            applied = conn.execute(select(stream_progress.c.applied)).scalar_one()
        assert verify(store).ok
        return stats, reasons, applied
    finally:
        runner.close()
        store.close()


def assert_each_dead_lettered(reasons) -> None:
    assert len(reasons) == len(HOSTILE)
    assert all(stage == "stream" for _, stage in reasons)
    for _, words in HOSTILE:
        assert any(words in reason for reason, _ in reasons), (words, reasons)


def test_redis_hostile_entries_are_dead_lettered_with_reasons_and_acked(
        tmp_path, redis_stream):  # noqa: F811
    raw = redis.Redis.from_url(REDIS_URL)  # bytes in, as any producer may send them
    try:
        for body in GOOD[:2] + [b for b, _ in HOSTILE] + GOOD[2:]:
            raw.xadd(redis_stream, {"data": body})
        source = f"{REDIS_URL}?stream={redis_stream}&group=g"
        stats, reasons, applied = run(tmp_path / "s.db", source)
        assert stats.delivered == len(GOOD) + len(HOSTILE) and applied == len(GOOD)
        assert stats.outcomes["invalid"] == len(HOSTILE)
        assert_each_dead_lettered(reasons)
        assert raw.xpending(redis_stream, "g")["pending"] == 0  # every one acked
    finally:
        raw.close()


def test_redis_an_entry_whose_fields_are_not_utf8_is_dead_lettered(
        tmp_path, redis_stream):  # noqa: F811
    raw = redis.Redis.from_url(REDIS_URL)
    try:
        raw.xadd(redis_stream, {"customer": b"c\xff", "ts": b"1"})  # fields as the event
        raw.xadd(redis_stream, {"customer": "c2", "ts": "2"})
        source = f"{REDIS_URL}?stream={redis_stream}&group=g"
        _, reasons, applied = run(tmp_path / "s.db", source)
        assert applied == 1 and len(reasons) == 1 and "not valid UTF-8" in reasons[0].reason
        assert raw.xpending(redis_stream, "g")["pending"] == 0
    finally:
        raw.close()


def test_nats_hostile_messages_are_dead_lettered_with_reasons_and_acked(
        tmp_path, nats_stream):  # noqa: F811
    import nats

    name, subject = nats_stream

    async def publish() -> None:
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        for body in GOOD[:2] + [b for b, _ in HOSTILE] + GOOD[2:]:
            await js.publish(subject, body)
        await nc.close()

    asyncio.run(publish())
    source = f"{NATS_URL}?stream={name}&subject={subject}&durable=hostile&ack_wait=2"
    stats, reasons, applied = run(tmp_path / "s.db", source)
    assert applied == len(GOOD) and stats.outcomes["invalid"] == len(HOSTILE)
    assert_each_dead_lettered(reasons)
    time.sleep(2.2)  # past ack_wait: anything not acked would be delivered again now
    again, _, _ = run(tmp_path / "s.db", source)
    assert again.delivered == 0


@pytest.mark.parametrize("body, words", HOSTILE, ids=[w for _, w in HOSTILE])
def test_the_decoder_of_messages_never_raises(body, words):
    from seamline.streaming._source import decode_event

    message = decode_event("m:1", body)
    assert message.event is None and words in message.error
    assert message.error.isascii()


def test_a_refused_message_is_kept_escaped_and_redacted_in_its_dead_letter(
        tmp_path, redis_stream):  # noqa: F811
    # A dead letter once held nothing of what arrived: it could be counted, never fixed.
    raw = redis.Redis.from_url(REDIS_URL)
    try:
        raw.xadd(redis_stream, {"data": b'{"customer": "c1", "ts": 4, "note": "caf\xe9 '
                                        b'from jane.doe@example.com"}'})
        raw.xadd(redis_stream, {"customer": b"c\xff", "ts": b"1"})
        source = f"{REDIS_URL}?stream={redis_stream}&group=g"
        run(tmp_path / "s.db", source)
        store = open_store(tmp_path / "s.db")
        with store.read() as conn:
            kept = [json.loads(p) for p in conn.execute(select(dead_letters.c.payload)).scalars()]
        store.close()
        assert len(kept) == 2 and all(isinstance(k, str) for k in kept), kept
        body, fields = kept
        assert "caf\\xe9" in body and "<EMAIL_1>" in body and "jane.doe" not in body
        assert "c\\udcff" in fields or "c\\xff" in fields, fields
    finally:
        raw.close()
