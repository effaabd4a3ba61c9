"""THE CANARY ROLLBACK: a 10% canary calls a real (emulated) provider over HTTP; when the
provider starts failing with 500s and 503s, one evaluation sends everyone to the baseline."""

from __future__ import annotations

import json

import pytest
from conftest import make_integration
from sqlalchemy import select

from seamline.alerts import list_alerts
from seamline.audit import verify
from seamline.emulator import Emulator, FaultPlan, FaultRule, ScriptBackend
from seamline.integration import BreakerSpec, ModelRoute, RetrySpec
from seamline.rollout import Criteria, Flags, evaluate_rollout, get_plan, start_rollout
from seamline.runtime import Pipeline
from seamline.store.tables import audit_log, events

# The canary's mechanics, not eval-first go-live (tests/eval/test_signoff.py tests that).
pytestmark = pytest.mark.usefixtures("go_live_waived")

KEY_ENV = "ROLLOUT_EMULATOR_KEY"
REPLY = {"label": "refund", "confidence": 0.9, "amount": 20.0, "quote": ""}


@pytest.fixture
def emu():
    with Emulator(backend=ScriptBackend([REPLY]), seed=3).serve() as server:
        yield server


def remote_integration(base_url: str):
    return make_integration(model=ModelRoute(
        provider="openai", model="gpt-emulated", base_url=base_url + "/v1", api_key_env=KEY_ENV,
        input_usd_per_mtok=1.0, output_usd_per_mtok=2.0, max_output_tokens=100,
        context_window=2000, timeout_s=2, max_repairs=0,
        retry=RetrySpec(max_retries=1, base_delay_s=0.01, max_delay_s=0.05, deadline_s=2),
        breaker=BreakerSpec(failure_threshold=50, cooldown_s=0.1)))


def run_events(pipeline: Pipeline, n: int, start: int) -> list[str]:
    return [pipeline.process({"ticket_id": f"T{i}", "customer": f"c{i}",
                              "body": f"Please refund order {i}."}).path
            for i in range(start, start + n)]


def test_a_canary_rolls_back_when_the_provider_starts_failing(store, emu, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "test-key")
    pipeline = Pipeline(remote_integration(emu.base_url), store, flags=Flags(store, ttl=0))
    start_rollout(store, "refunds", flag="refunds.ai", steps=[10, 25, 50, 100], window_s=3600,
                  criteria=Criteria(min_events=20, rollback_min_events=5))

    healthy = run_events(pipeline, 100, 0)
    assert 4 <= healthy.count("ai") <= 20  # a sticky 10% of the customers
    assert evaluate_rollout(store, "refunds.ai").action == "held"  # healthy, window not over
    answered = len(emu.requests)
    assert answered >= healthy.count("ai")  # real HTTP calls reached the emulator

    emu.faults = FaultPlan(seed=5, rules=(FaultRule(kind="server_error", p=0.5),
                                          FaultRule(kind="unavailable")))
    failing = run_events(pipeline, 120, 1000)
    assert failing.count("ai") >= 5
    assert len(emu.requests) > answered  # the gateway retried against the failing provider

    decision = evaluate_rollout(store, "refunds.ai")
    assert decision.action == "rolled_back", decision.reason
    # The flag is at 0 within this same evaluation: the very next event takes the baseline.
    assert Flags(store, ttl=0).get("refunds.ai").percent == 0
    assert run_events(pipeline, 30, 5000) == ["baseline"] * 30
    assert get_plan(store, "refunds.ai").status == "rolled_back"

    health = decision.health
    assert health is not None and health.ai.errors >= 5 and health.baseline.error_rate == 0
    assert "error rate" in decision.reason and "to 0% (baseline)" in decision.reason

    [alert] = list_alerts(store, kind="rollout_rolled_back")
    assert alert.severity == "critical" and "refunds.ai" in alert.sentence

    with store.read() as conn:
        audited = [json.loads(r.payload) for r in conn.execute(
            select(audit_log.c.payload).where(audit_log.c.kind.in_(("flag", "rollout_plan")))
            .order_by(audit_log.c.seq)).all()]
        dead = conn.execute(select(events.c.reason).where(
            events.c.state == "dead_lettered", events.c.path == "ai")).scalars().all()
    flip_back = audited[-2]
    assert flip_back["percent"] == 0 and flip_back["actor"] == "rollout"
    assert f"({health.ai.errors} of {health.ai.events})" in flip_back["reason"]
    assert audited[-1]["decision"] == "rolled_back"
    assert audited[-1]["health"]["ai"]["errors"] == health.ai.errors
    # The dead letters say what the provider did: 500s and 503s, after the gateway's retry.
    assert {"answered 500", "answered 503"} == {m for r in dead for m in ("answered 500",
                                                                         "answered 503") if m in r}
    assert verify(store).ok
