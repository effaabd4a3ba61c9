"""The whole path as one declared plan: shadow → gated → selective ungating → canary → 100%.

Every transition is decided by what is recorded: shadow agreement (with injected
disagreements holding the stage), people's approvals (dropping the low-risk gate, never
the high-risk one), and the canary's health (transient faults ridden out; a broken model
rolled back).
"""

from __future__ import annotations

import json
import time
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from sqlalchemy import select

from seamline.actions import decide, list_awaiting
from seamline.audit import verify
from seamline.errors import ProviderUnavailable, RateLimited
from seamline.inference import ScriptedModel, build_gateway
from seamline.integration import (
    ActionSpec,
    Checklist,
    GateRule,
    Integration,
    ModelRoute,
    PromptSpec,
    RetrySpec,
    RolloutSpec,
    RolloutStage,
)
from seamline.rollout import Flags, Gates, advance, evaluate_rollout, get_plan, get_stage
from seamline.runtime import Pipeline
from seamline.store.tables import audit_log

# The canary's mechanics, not eval-first go-live (tests/eval/test_signoff.py tests that).
pytestmark = pytest.mark.usefixtures("go_live_waived")


class Ticket(BaseModel):
    message_id: str = Field(min_length=1)
    body: str


class Triage(BaseModel):
    intent: Literal["billing", "refund", "technical"]


EFFECTS: list[str] = []


def tag(params: dict, *, idempotency_key: str) -> dict:
    EFFECTS.append("tag")
    return {"ok": True}


def refund(params: dict, *, idempotency_key: str) -> dict:
    EFFECTS.append("refund")
    return {"ok": True}


def baseline(data: dict) -> dict:
    return {"intent": "refund" if "refund" in data["body"] else "billing"}


PLAN = (RolloutStage(stage="shadow", for_="200ms", min_events=30, min_agreement=0.85),
        RolloutStage(stage="gated"),
        RolloutStage(stage="canary", steps=(5, 25, 100), window="200ms",
                     criteria={"min_events": 3, "rollback_min_events": 3}))


def _spec() -> Integration:
    return Integration(
        name="plan-test", input_schema=Ticket, output_schema=Triage,
        checklist=Checklist(workflow="t", owner="t", baseline_metric="t",
                            monthly_cost_ceiling_usd=100),
        pii={"message_id": "allow"},
        prompt=PromptSpec(system="Triage.", user="{{ body }}"),
        model=ModelRoute(provider="scripted", model="scripted",
                         retry=RetrySpec(max_retries=3, base_delay_s=0.001, max_delay_s=0.01)),
        actions=(ActionSpec(name="tag", handler=tag, params={"intent": "output.intent"}),
                 ActionSpec(name="refund", handler=refund, risk="high",
                            when="output.intent == 'refund'")),
        rollout=RolloutSpec(flag="plan-test.ai", baseline=baseline, plan=PLAN,
                            gates={"tag": GateRule(last=20, unedited_at_least=0.95,
                                                   lower_bound_at_least=0.8)}),
        idempotency_key="message_id")


class Model:
    """The model under test: wrong on purpose, flaky on purpose, or down."""

    def __init__(self) -> None:
        self.wrong_every = 0  # every n-th answer says "technical"
        self.flaky_every = 0  # every n-th call fails once with a 429 (retried)
        self.down = False
        self.calls = 0

    def __call__(self, request) -> str:
        self.calls += 1
        if self.down:
            raise ProviderUnavailable("the provider is down", provider="scripted", model="m")
        if self.flaky_every and self.calls % self.flaky_every == 0:
            raise RateLimited("slow down", provider="scripted", model="m", retry_after=0.001)
        text = request.messages[-1].content
        if self.wrong_every and self.calls % self.wrong_every == 0:
            return json.dumps({"intent": "technical"})
        return json.dumps({"intent": "refund" if "refund" in text else "billing"})


class Run:
    def __init__(self, store) -> None:
        self.store, self.spec, self.model = store, _spec(), Model()
        self.flags = Flags(store, ttl=0)
        # The route's retry policy around the scripted model, as a real route has it.
        gateway = build_gateway(self.spec, store, provider=ScriptedModel(self.model))
        self.pipe = Pipeline(self.spec, store, provider=gateway, flags=self.flags)
        self.pipe.stages.ingest.modes.ttl = 0  # see each stage change at once
        self.n = 0

    def events(self, k: int) -> list:
        out = []
        for _ in range(k):
            self.n += 1
            body = "please refund me" if self.n % 4 == 0 else "charged twice"
            out.append(self.pipe.process({"message_id": f"m-{self.n}", "body": body}))
        return out

    def approve_all(self) -> int:
        rows = list_awaiting(self.store, "plan-test")
        for row in rows:
            decide(self.store, row.id, approve=True, reviewer="lead")
        return len(rows)

    def advance(self):
        return advance(self.store, self.spec, flags=self.flags)


@pytest.fixture(autouse=True)
def _clear():
    EFFECTS.clear()


def test_the_plan_walks_shadow_gated_and_the_canary_on_the_recorded_numbers(store):
    run = Run(store)
    assert run.advance().action == "started"
    assert get_stage(store, "plan-test").mode == "shadow"

    # Shadow, with every 3rd answer wrong: only the baseline acts; the stage holds.
    run.model.wrong_every = 3
    results = run.events(30)
    assert {r.state for r in results} == {"baseline"}
    assert "refund" in EFFECTS and EFFECTS.count("tag") == 30  # the baseline's actions ran
    time.sleep(0.25)
    held = run.advance()
    assert held.action == "held" and "agreement below 85%" in held.reason
    assert held.numbers["fields"]["intent"]["share"] == pytest.approx(20 / 30)

    # The model gets better: enough agreement to pass the bound.
    run.model.wrong_every = 0
    run.events(170)
    moved = run.advance()
    assert moved.action == "advanced" and moved.stage == "gated", moved.reason
    assert moved.numbers["fields"]["intent"]["low"] >= 0.85
    assert get_stage(store, "plan-test").mode == "gated"

    # Gated: every action waits, low-risk and high-risk alike.
    EFFECTS.clear()
    results = run.events(24)
    assert {r.state for r in results} == {"awaiting_approval"} and EFFECTS == []
    held = run.advance()
    assert held.action == "held" and "tag: 0 of the 20 decisions" in held.reason
    assert run.approve_all() == 24 + 6  # 24 tags and 6 refunds
    moved = run.advance()
    assert moved.action == "advanced" and moved.stage == "canary", moved.reason
    assert moved.numbers["tag"]["holds"] is True
    gates = Gates(run.spec, run.flags)
    assert not gates.closed("tag") and gates.closed("refund")
    assert run.flags.get("plan-test.ai").percent == 5

    # Canary, with transient faults (every 4th call a 429, retried): promoted to 100%.
    run.model.flaky_every = 4
    for _ in range(20):
        run.events(40)
        time.sleep(0.21)
        decision = evaluate_rollout(store, "plan-test.ai", flags=run.flags)
        assert decision.action != "rolled_back", decision.reason
        if decision.action == "completed":
            break
    assert get_plan(store, "plan-test.ai").status == "complete"
    done = run.advance()
    assert done.action == "completed" and get_stage(store, "plan-test").status == "complete"
    assert run.flags.get("plan-test.ai").percent == 100

    # After the plan: tags run at once, refunds still wait for a person.
    EFFECTS.clear()
    results = run.events(8)
    assert EFFECTS == ["tag"] * 8
    assert sum(r.state == "awaiting_approval" for r in results) == 2
    with store.read() as conn:
        moves = [json.loads(p)["change"] for (p,) in conn.execute(
            select(audit_log.c.payload).where(audit_log.c.kind == "rollout_stage")
            .order_by(audit_log.c.seq))]
    assert moves == ["started", "advanced", "advanced", "completed"]
    assert verify(store).ok


def test_a_broken_model_in_the_canary_rolls_the_plan_back(store):
    run = Run(store)
    run.advance()
    run.events(40)
    time.sleep(0.25)
    assert run.advance().stage == "gated"
    run.events(20)
    run.approve_all()
    assert run.advance().stage == "canary"
    run.model.down = True
    for _ in range(10):
        run.events(40)
        decision = evaluate_rollout(store, "plan-test.ai", flags=run.flags)
        if decision.action == "rolled_back":
            break
    assert decision.action == "rolled_back"
    back = run.advance()
    assert back.action == "rolled_back" and "rolled back" in back.reason
    assert get_stage(store, "plan-test").status == "rolled_back"
    assert run.flags.get("plan-test.ai").mode in ("off", "percent")
    assert run.flags.get("plan-test.ai").percent == 0
