"""Staged rollouts: promoted step by step while the AI path is as healthy as the baseline,
rolled back at once when it is not, stopped by a manual flip; every change audited."""

from __future__ import annotations

import json
import time

import pytest
from conftest import make_integration, verdict
from sqlalchemy import select

from seamline.alerts import list_alerts
from seamline.audit import verify
from seamline.errors import ConfigError
from seamline.rollout import (
    Criteria,
    Flags,
    abort_rollout,
    evaluate_rollout,
    flip,
    get_plan,
    pause_rollout,
    resume_rollout,
    start_rollout,
)
from seamline.runtime import Pipeline
from seamline.store.tables import audit_log, events

# The canary's mechanics, not eval-first go-live (tests/eval/test_signoff.py tests that).
pytestmark = pytest.mark.usefixtures("go_live_waived")

HOUR = 3600.0
FAST = Criteria(min_events=5, rollback_min_events=3)


class Clock:
    """Wall-clock time that a test can move forward (the pipeline stamps events with it)."""

    def __init__(self) -> None:
        self.shift = 0.0
        self._real = time.time

    def __call__(self) -> float:
        return self._real() + self.shift

    def advance(self, seconds: float) -> float:
        self.shift += seconds
        return self()


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(time, "time", c)
    return c


def run_events(pipeline: Pipeline, n: int, start: int) -> list[str]:
    """``n`` tickets from distinct customers; returns each event's path."""
    paths = []
    for i in range(start, start + n):
        result = pipeline.process({"ticket_id": f"T{i}", "customer": f"c{i}",
                                   "body": f"Please refund order {i}."})
        paths.append(result.path)
    return paths


def rollout_entries(store) -> list[dict]:
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.payload).where(audit_log.c.kind == "rollout_plan")
                            .order_by(audit_log.c.seq)).all()
    return [json.loads(r.payload) for r in rows]


def flag_entries(store) -> list[dict]:
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.payload).where(audit_log.c.kind == "flag")
                            .order_by(audit_log.c.seq)).all()
    return [json.loads(r.payload) for r in rows]


def test_a_healthy_canary_is_promoted_through_every_step_then_completes(store, clock):
    pipeline = Pipeline(make_integration(), store, provider=verdict(), flags=Flags(store, ttl=0))
    start_rollout(store, "refunds", flag="refunds.ai", steps=[10, 50, 100], window_s=HOUR,
                  criteria=FAST, reason="new prompt v3")
    assert Flags(store, ttl=0).get("refunds.ai").percent == 10
    seen = []
    for n, (percent, nxt) in enumerate([(10, "promoted"), (50, "promoted"), (100, "completed")]):
        paths = run_events(pipeline, 120, n * 1000)
        share = paths.count("ai") / len(paths)
        seen.append(share)
        assert abs(share - percent / 100) < 0.12, (percent, share)
        early = evaluate_rollout(store, "refunds.ai", now=clock())
        assert early.action == "held" and "of 3600 s" in early.reason
        decision = evaluate_rollout(store, "refunds.ai", now=clock.advance(HOUR + 1))
        assert decision.action == nxt, decision.reason
        assert decision.health is not None and decision.health.ai.events >= 5
    assert seen == sorted(seen)
    plan = get_plan(store, "refunds.ai")
    assert plan is not None and plan.status == "complete"
    assert Flags(store, ttl=0).get("refunds.ai").percent == 100
    decisions = [e["decision"] for e in rollout_entries(store)]
    assert decisions == ["started", "promoted", "promoted", "completed"]
    promoted = rollout_entries(store)[1]
    assert "from 10% to 50%" in promoted["reason"] and "error rate 0.0%" in promoted["reason"]
    assert promoted["health"]["ai"]["events"] >= 5
    assert [e["percent"] for e in flag_entries(store)] == [10, 50, 100]
    assert all(e["reason"] for e in flag_entries(store))
    assert verify(store).ok


def test_a_step_with_too_few_events_is_held_even_after_its_window(store, clock):
    pipeline = Pipeline(make_integration(), store, provider=verdict(), flags=Flags(store, ttl=0))
    start_rollout(store, "refunds", flag="refunds.ai", steps=[5, 100], window_s=60,
                  criteria=Criteria(min_events=50))
    run_events(pipeline, 40, 0)
    decision = evaluate_rollout(store, "refunds.ai", now=clock.advance(120))
    assert decision.action == "held" and "of 50 AI-path events" in decision.reason
    assert Flags(store, ttl=0).get("refunds.ai").percent == 5


def test_a_breaking_canary_rolls_back_to_the_baseline_with_the_numbers(store, clock):
    """A model that answers nonsense dead-letters its events: rolled back before the window."""
    broken = Pipeline(make_integration(), store, provider=verdict(label="nonsense"),
                      flags=Flags(store, ttl=0))
    start_rollout(store, "refunds", flag="refunds.ai", steps=[25, 100], window_s=HOUR,
                  criteria=FAST)
    paths = run_events(broken, 60, 0)
    decision = evaluate_rollout(store, "refunds.ai", now=clock())
    assert decision.action == "rolled_back"
    assert decision.percent == 0 and Flags(store, ttl=0).get("refunds.ai").percent == 0
    assert f"error rate 100.0% ({paths.count('ai')} of {paths.count('ai')})" in decision.reason
    assert get_plan(store, "refunds.ai").status == "rolled_back"
    assert run_events(broken, 20, 500) == ["baseline"] * 20
    [alert] = list_alerts(store, kind="rollout_rolled_back")
    assert alert.severity == "critical" and "error rate 100.0%" in alert.sentence
    last = rollout_entries(store)[-1]
    assert last["decision"] == "rolled_back" and last["health"]["ai"]["error_rate"] == 1.0
    # Once rolled back, evaluation does nothing more (no alert storm from the watcher).
    assert evaluate_rollout(store, "refunds.ai", now=clock()).action == "idle"
    assert len(list_alerts(store, kind="rollout_rolled_back")) == 1


def test_a_manual_flip_takes_effect_on_the_next_event_and_stops_the_automation(store, clock):
    flags = Flags(store)  # the pipeline's own cache: a flip through it is seen at once
    pipeline = Pipeline(make_integration(), store, provider=verdict(), flags=flags)
    start_rollout(store, "refunds", flag="refunds.ai", steps=[5, 100], window_s=60,
                  criteria=FAST, flags=flags)
    flip(store, "refunds.ai", "on", reason="the model is good, go", actor="ana", flags=flags)
    assert run_events(pipeline, 5, 0) == ["ai"] * 5
    flip(store, "refunds.ai", "off", reason="incident 7", actor="ana", flags=flags)
    assert run_events(pipeline, 5, 100) == ["baseline"] * 5
    plan = get_plan(store, "refunds.ai")
    assert plan.status == "cancelled" and "incident" not in plan.reason  # cancelled by the first
    assert "manual flip to on by ana" in plan.reason
    decision = evaluate_rollout(store, "refunds.ai", now=clock.advance(120))
    assert decision.action == "idle"
    assert Flags(store, ttl=0).get("refunds.ai").mode == "off"
    assert flag_entries(store)[-1] == {"flag": "refunds.ai", "mode": "off", "percent": 0.0,
                                       "reason": "incident 7", "actor": "ana"}


def test_a_flag_set_by_other_means_cancels_the_automation(store, clock):
    start_rollout(store, "refunds", flag="refunds.ai", steps=[5, 100], window_s=60)
    Flags(store).set("refunds.ai", 40, reason="seamline flag set, by hand")
    decision = evaluate_rollout(store, "refunds.ai", now=clock.advance(120))
    assert decision.action == "cancelled" and "set by hand to percent 40%" in decision.reason
    assert Flags(store, ttl=0).get("refunds.ai").percent == 40  # the person's choice stands


def test_pause_resume_and_abort(store, clock):
    pipeline = Pipeline(make_integration(), store, provider=verdict(), flags=Flags(store, ttl=0))
    start_rollout(store, "refunds", flag="refunds.ai", steps=[20, 100], window_s=60,
                  criteria=FAST)
    run_events(pipeline, 60, 0)
    pause_rollout(store, "refunds.ai", reason="holiday freeze")
    assert evaluate_rollout(store, "refunds.ai", now=clock.advance(120)).action == "idle"
    with pytest.raises(ConfigError, match="not running"):
        pause_rollout(store, "refunds.ai", reason="again")
    plan = resume_rollout(store, "refunds.ai", reason="freeze over")
    assert plan.status == "running" and plan.step_started_at == pytest.approx(clock(), abs=1)
    # The window restarted at the resume: what happened before it does not count.
    assert evaluate_rollout(store, "refunds.ai", now=clock()).action == "held"
    abort_rollout(store, "refunds.ai", reason="customer complaint")
    assert Flags(store, ttl=0).get("refunds.ai").percent == 0
    assert get_plan(store, "refunds.ai").status == "aborted"
    assert [e["decision"] for e in rollout_entries(store)] == [
        "started", "paused", "resumed", "aborted"]


@pytest.mark.parametrize("steps, message", [
    ([], "at least one step"), ([0, 50], "above 0"), ([50, 10], "must rise"), ([5, 120], "at most 100"),
])
def test_invalid_steps_are_refused_with_a_sentence(store, steps, message):
    with pytest.raises(ConfigError, match=message):
        start_rollout(store, "refunds", steps=steps)
    assert get_plan(store, "refunds.ai") is None


def test_a_second_start_while_running_is_refused(store):
    start_rollout(store, "refunds")
    with pytest.raises(ConfigError, match="already has a running rollout at 5%"):
        start_rollout(store, "refunds")


def test_the_events_table_records_the_path_the_flag_chose(store, clock):
    pipeline = Pipeline(make_integration(), store, provider=verdict(), flags=Flags(store, ttl=0))
    start_rollout(store, "refunds", flag="refunds.ai", steps=[50, 100], window_s=60)
    run_events(pipeline, 40, 0)
    with store.read() as conn:
        paths = {r.path for r in conn.execute(select(events.c.path)).all()}
    assert paths == {"ai", "baseline"}


@pytest.mark.parametrize("backend", ["store", "pg_store"])
def test_two_watchers_at_once_promote_only_once(backend, request, clock):
    """On SQLite and on PostgreSQL (where the watchers really run at once)."""
    import threading

    store = request.getfixturevalue(backend)
    pipeline = Pipeline(make_integration(), store, provider=verdict(), flags=Flags(store, ttl=0))
    start_rollout(store, "refunds", flag="refunds.ai", steps=[20, 40, 100], window_s=60,
                  criteria=FAST)
    run_events(pipeline, 60, 0)
    later, barrier, actions = clock.advance(120), threading.Barrier(4), []

    def watcher():
        barrier.wait()
        actions.append(evaluate_rollout(store, "refunds.ai", now=later).action)

    threads = [threading.Thread(target=watcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert actions.count("promoted") == 1, actions
    assert Flags(store, ttl=0).get("refunds.ai").percent == 40
    assert [e["decision"] for e in rollout_entries(store)].count("promoted") == 1
    assert get_plan(store, "refunds.ai").step == 1


def test_given_the_integration_the_rollout_drives_the_flag_it_declares(store):
    from conftest import EXAMPLE, keyword_baseline
    from typer.testing import CliRunner

    from seamline.cli import app
    from seamline.integration import RolloutSpec

    declared = make_integration(rollout=RolloutSpec(flag="refunds.canary", sticky_key="customer",
                                                    baseline=keyword_baseline))
    plan = start_rollout(store, declared, steps=[10, 100])
    assert (plan.flag, plan.integration) == ("refunds.canary", "refunds")
    pipeline = Pipeline(declared, store, provider=verdict(), flags=Flags(store, ttl=0))
    assert 0 < run_events(pipeline, 100, 0).count("ai") < 25

    out = CliRunner().invoke(app, ["rollout", "start", str(EXAMPLE / "integration.yaml"),
                                   "--db", store.url])
    assert out.exit_code == 0 and "support_triage.ai started at 5%" in " ".join(out.output.split())
