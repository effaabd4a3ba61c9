"""Durable window state: counts, closing by the watermark, the two late policies, and state
that outlives the runner which built it."""

from __future__ import annotations

import json

from sqlalchemy import select
from stream_helpers import ListSource, risk_model, stream_integration

from seamline.runtime import DUPLICATE, SUCCEEDED
from seamline.store.tables import audit_log, dead_letters, events, stream_events, stream_windows
from seamline.streaming import (
    CountWindow,
    SlidingWindow,
    SourceMessage,
    StreamRunner,
    StreamSpec,
    TumblingWindow,
)


def tumbling(policy: str = "dead_letter", lateness: float = 2) -> StreamSpec:
    return StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=10),
                      allowed_lateness=lateness, late_policy=policy)


def run(store, spec, evts, *, model=None, batch=100, start=0):
    runner = StreamRunner(stream_integration(spec), store, ListSource(evts, start),
                          provider=model or risk_model(), batch=batch)
    runner.run(idle_exit_s=0)
    return runner


def windows(store) -> dict[tuple[str, float], tuple[int, int, int, int]]:
    w = stream_windows.c
    with store.read() as conn:
        rows = conn.execute(select(w.key_value, w.window_start, w.events_count, w.status,
                                   w.revision, w.decided_revision)).all()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def decisions(store) -> list[dict]:
    with store.read() as conn:
        rows = conn.execute(select(events.c.state, events.c.input, events.c.output)
                            .order_by(events.c.created_at)).all()
    return [{"state": r.state, "input": json.loads(r.input),
             "output": json.loads(r.output or "null")} for r in rows]


def ev(customer: str, ts: float, **extra) -> dict:
    return {"customer": customer, "ts": ts, **extra}


def test_a_window_closes_when_the_watermark_passes_its_end_and_is_decided_once(store):
    model = risk_model()
    run(store, tumbling(), [ev("a", 100), ev("a", 104), ev("b", 105), ev("a", 111)], model=model)
    # latest 111 - lateness 2 = watermark 109: [100, 110) is still open.
    assert windows(store)[("a", 100.0)] == (2, 0, 1, 0)
    assert model.requests == type(model.requests)()
    run(store, tumbling(), [ev("a", 112.5)], model=model, start=10)
    w = windows(store)
    assert w[("a", 100.0)] == (2, 2, 1, 1) and w[("b", 100.0)] == (1, 2, 1, 1)
    assert w[("a", 110.0)] == (2, 0, 1, 0)
    made = decisions(store)
    assert [d["state"] for d in made] == [SUCCEEDED, SUCCEEDED]
    first = next(d for d in made if d["input"]["key"] == "a")
    assert first["input"]["count"] == 2
    assert [e["ts"] for e in first["input"]["events"]] == [100, 104]
    assert first["output"] == {"score": 0.2, "level": "low"}


def test_an_event_within_the_allowed_lateness_still_joins_its_window(store):
    run(store, tumbling(lateness=2), [ev("a", 100), ev("a", 111), ev("a", 108.5), ev("a", 130)])
    assert windows(store)[("a", 100.0)][0] == 2
    with store.read() as conn:
        assert conn.execute(select(dead_letters)).all() == []


def test_a_late_event_is_dead_lettered_with_how_late_it_was_counted_and_never_counted_in(store):
    runner = run(store, tumbling("dead_letter"),
                 [ev("a", 100), ev("a", 113), ev("a", 104, note="mail jane@example.com")])
    assert windows(store)[("a", 100.0)] == (1, 2, 1, 1)
    assert runner.stats.outcomes["late_dead_lettered"] == 1
    assert runner.state.progress().late_dead_lettered == 1
    with store.read() as conn:
        dl = conn.execute(select(dead_letters)).one()
        audit = conn.execute(select(audit_log.c.payload).where(
            audit_log.c.event_id == dl.event_id)).scalar_one()
    assert dl.stage == "stream" and dl.integration == "risk"
    assert dl.reason.startswith("late event: its event time 104 is 7 s behind the watermark 111")
    assert "[100, 110) of key 'a' had closed" in dl.reason
    assert json.loads(dl.detail)["late_by_s"] == 7
    assert "jane@example.com" not in dl.payload and "<EMAIL_1>" in dl.payload
    assert "late event" in audit
    with store.read() as conn:  # a dead-lettered event like any other, for `seamline dlq`
        state = conn.execute(select(events.c.state, events.c.stage).where(
            events.c.id == dl.event_id)).one()
    assert tuple(state) == ("dead_lettered", "stream")
    assert runner.pipeline.vault.mapping(dl.event_id) == {"<EMAIL_1>": "jane@example.com"}
    decided = [d for d in decisions(store) if d["state"] != "dead_lettered"]
    assert len(decided) == 1  # no second decision for the closed window


def test_a_late_event_under_recompute_joins_its_window_and_the_window_is_decided_again(store):
    runner = run(store, tumbling("recompute"), [ev("a", 100), ev("a", 113), ev("a", 104)],
                 batch=2)
    assert windows(store)[("a", 100.0)] == (2, 2, 2, 2)  # two events, revision 2 decided
    assert runner.stats.outcomes["late_recomputed"] == 1
    made = [d for d in decisions(store) if d["input"]["window_start"] == 100]
    assert [d["input"]["revision"] for d in made] == [1, 2]
    assert [d["input"]["count"] for d in made] == [1, 2]
    assert made[0]["input"]["window_id"] != made[1]["input"]["window_id"]
    assert [e["ts"] for e in made[1]["input"]["events"]] == [100, 104]
    with store.read() as conn:
        assert conn.execute(select(dead_letters)).all() == []


def test_recompute_still_dead_letters_an_event_beyond_the_retention(store):
    spec = tumbling("recompute").model_copy(update={"retention": 60})
    runner = run(store, spec, [ev("a", 100), ev("a", 500), ev("a", 104)])
    assert runner.stats.outcomes["late_dead_lettered"] == 1
    with store.read() as conn:
        reason = conn.execute(select(dead_letters.c.reason)).scalar()
    assert "beyond the retention of 60 s" in reason


def test_sliding_windows_count_an_event_in_each_window_it_overlaps(store):
    spec = StreamSpec(key_field="customer", time_field="ts",
                      window=SlidingWindow(size=20, slide=10))
    run(store, spec, [ev("a", 5), ev("a", 15), ev("a", 25), ev("a", 100)])
    w = windows(store)
    assert {k[1]: v[0] for k, v in w.items() if k[1] < 90} == {
        -10.0: 1, 0.0: 2, 10.0: 2, 20.0: 1}
    assert len([d for d in decisions(store)]) == 4


def test_a_count_window_decides_every_n_events_of_a_key_over_its_last_n(store):
    spec = StreamSpec(key_field="customer", window=CountWindow(size=3, slide=1))
    run(store, spec, [ev("a", i, n=i) for i in range(5)] + [ev("b", 0)])
    made = decisions(store)
    assert [[e["n"] for e in d["input"]["events"]] for d in made] == [[0, 1, 2], [1, 2, 3],
                                                                      [2, 3, 4]]
    assert all(d["input"]["key"] == "a" and d["input"]["count"] == 3 for d in made)


def test_window_state_outlives_its_runner(store):
    """A window opened by one runner is completed and decided by the next one."""
    first = run(store, tumbling(), [ev("a", 100), ev("a", 101)])
    first.close()
    assert windows(store)[("a", 100.0)] == (2, 0, 1, 0)
    second = run(store, tumbling(), [ev("a", 102), ev("a", 120)], start=2)
    assert windows(store)[("a", 100.0)] == (3, 2, 1, 1)
    assert second.state.progress().applied == 4
    assert [d["input"]["count"] for d in decisions(store)] == [3]


def test_a_message_applied_before_changes_nothing_when_delivered_again(store):
    runner = run(store, tumbling(), [ev("a", 100), ev("a", 101)])
    again = runner.state.apply([SourceMessage("list:0", ev("a", 100)),
                                SourceMessage("list:1", ev("a", 101))])
    assert again == {"redelivered": 2}
    assert windows(store)[("a", 100.0)][0] == 2
    assert runner.state.progress().applied == 2


def test_a_decision_recorded_before_a_crash_is_not_made_twice(store):
    """The window is due again after a restart; the pipeline's idempotency key says duplicate."""
    runner = run(store, tumbling(), [ev("a", 100), ev("a", 120)])
    due = runner.state.close_due()
    assert due == []
    # Act out a crash between the decision and marking the window: revert the mark.
    with store.write() as conn:
        conn.execute(stream_windows.update().where(stream_windows.c.window_start == 100)
                     .values(status=1, decided_revision=0))
    model = risk_model()
    again = run(store, tumbling(), [], model=model)
    assert again.stats.decisions == {DUPLICATE: 1}
    assert len(model.requests) == 0
    assert windows(store)[("a", 100.0)] == (1, 2, 1, 1)


def test_undecodable_or_unkeyed_or_undated_messages_are_dead_lettered_and_counted(store):
    source = ListSource([ev("a", 100), {"ts": 5}, ev("a", "soon"), ev("a", 101)])
    source.messages.insert(1, SourceMessage("list:x", None, "the message is not valid JSON: x"))
    runner = StreamRunner(stream_integration(tumbling()), store, source, provider=risk_model())
    runner.run(idle_exit_s=0)
    assert runner.stats.outcomes == {"applied": 2, "invalid": 3}
    assert len(source.acked) == 5  # dead letters are done with: acked, not redelivered
    with store.read() as conn:
        reasons = sorted(conn.execute(select(dead_letters.c.reason)).scalars())
    assert reasons == ["the event has no usable key field 'customer'",
                       "the message is not valid JSON: x",
                       "ts: the event time 'soon' is neither epoch seconds nor ISO 8601"]


class FlakySource(ListSource):
    """Unreachable for the first ``outages`` fetches, as during a broker restart."""

    def __init__(self, events: list[dict], outages: int) -> None:
        super().__init__(events)
        self.outages = outages

    def fetch(self, max_messages: int, timeout_s: float):
        from seamline.streaming import SourceUnavailable

        if self.outages:
            self.outages -= 1
            raise SourceUnavailable("Redis connection lost: refused.")
        return super().fetch(max_messages, timeout_s)


def test_a_broker_restart_is_ridden_out_and_a_long_outage_is_reported(store):
    import pytest

    from seamline.streaming import SourceUnavailable

    source = FlakySource([ev("a", 100), ev("a", 120)], outages=2)
    runner = StreamRunner(stream_integration(tumbling()), store, source, provider=risk_model())
    stats = runner.run(idle_exit_s=0)
    assert stats.outages == 2 and stats.outcomes == {"applied": 2}
    down = StreamRunner(stream_integration(tumbling()), store, FlakySource([], outages=10**6),
                        provider=risk_model(), outage_s=0.3)
    with pytest.raises(SourceUnavailable, match="connection lost"):
        down.run(idle_exit_s=5)


def test_pruning_forgets_decided_windows_and_events_past_the_retention_only(store):
    spec = tumbling("recompute").model_copy(update={"retention": 100})
    runner = run(store, spec, [ev("a", 100), ev("a", 150), ev("a", 400), ev("a", 405)])
    # Watermark 403: [100,110) and [150,160) ended more than 100 s ago and are decided.
    assert runner.state.prune() > 0
    w = windows(store)
    assert sorted(k[1] for k in w) == [400.0]
    with store.read() as conn:
        kept = conn.execute(select(stream_events.c.event_time)).scalars().all()
    assert sorted(kept) == [400.0, 405.0]


def test_count_window_state_is_pruned_to_what_a_decision_can_still_need(store):
    spec = StreamSpec(key_field="customer", window=CountWindow(size=3))
    runner = run(store, spec, [ev("a", i, n=i) for i in range(8)])
    runner.state.prune()
    assert sorted(k[1] for k in windows(store)) == [6.0]  # the open window [6, 9)
    with store.read() as conn:
        kept = conn.execute(select(stream_events.c.seq)).scalars().all()
    assert sorted(kept) == [6, 7]  # all the windows still to come can hold


def test_window_events_are_stored_encrypted_and_read_back_for_the_decision(store):
    run(store, tumbling(), [ev("a", 100, note="card 4242 4242 4242 4242"), ev("a", 120)])
    with store.read() as conn:
        stored = " ".join(conn.execute(select(stream_events.c.payload)).scalars())
    assert "4242" not in stored and "note" not in stored
    # The decision saw the event, redacted by the pipeline before the prompt.
    made = decisions(store)
    assert made[0]["input"]["events"][0]["note"] == "card <CARD_1>"
