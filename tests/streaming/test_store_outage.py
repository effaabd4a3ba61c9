"""A stream consumer whose store cannot be written (really full: SQLITE_FULL) backs off and
retries, says why, and gives up (raises: a non-zero exit) only after ``outage_s``."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event
from stream_helpers import risk_model, stream_integration

from seamline.streaming import SourceMessage, StreamRunner, StreamSpec, TumblingWindow


class Redelivering:
    """A broker's consumer position: what is not acked is delivered again."""

    name = "redelivering"

    def __init__(self, events: list[dict]) -> None:
        self.pending = [SourceMessage(f"m:{i}", e) for i, e in enumerate(events)]
        self.acked: list[str] = []

    def fetch(self, max_messages: int, timeout_s: float):
        return list(self.pending[:max_messages])

    def ack(self, messages) -> None:
        done = {m.id for m in messages}
        self.acked += sorted(done)
        self.pending = [m for m in self.pending if m.id not in done]

    def close(self) -> None:
        pass


def _full(store, on: list[bool]) -> None:
    def limit(conn) -> None:
        raw = conn.connection.dbapi_connection
        pages = raw.execute("PRAGMA page_count").fetchone()[0] if on[0] else 1073741823
        raw.execute(f"PRAGMA max_page_count = {pages}")
    event.listen(store.engine, "begin", limit)


SPEC = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=10),
                  idle_timeout=0)
EVENTS = [{"customer": f"c{i % 7}", "ts": 100 + i / 10, "pad": "x" * 3000} for i in range(60)]


def test_a_full_store_is_ridden_out_and_every_message_applied_once(store):
    on = [True]
    _full(store, on)
    source = Redelivering(EVENTS)
    runner = StreamRunner(stream_integration(SPEC), store, source, provider=risk_model(),
                          outage_s=30, batch=20)
    threading.Timer(1.0, lambda: on.__setitem__(0, False)).start()
    runner.run(idle_exit_s=1.5, poll_s=0.05)
    assert runner.stats.store_failures >= 1 and runner.problem == ""
    assert len(source.acked) == len(EVENTS) == len(set(source.acked))
    assert runner.stats.applied == len(EVENTS)


def test_a_store_that_stays_full_stops_the_consumer_after_the_bound_with_a_sentence(store):
    _full(store, [True])
    runner = StreamRunner(stream_integration(SPEC), store, Redelivering(EVENTS),
                          provider=risk_model(), outage_s=0.5, batch=20)
    t = time.monotonic()
    with pytest.raises(Exception, match="database or disk is full"):
        runner.run(poll_s=0.05)
    assert time.monotonic() - t < 20
    assert "cannot write the store since" in runner.problem
