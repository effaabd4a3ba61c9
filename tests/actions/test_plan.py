"""Planning actions: conditions, parameters, idempotency keys and approval reasons."""

from __future__ import annotations

import pytest

from seamline.actions import action_key, approval_reason, plan_actions
from seamline.errors import ConfigError
from seamline.integration import ActionSpec, ApprovalPolicy


def _spec(**kw):
    return ActionSpec(name=kw.pop("name", "act"), handler=lambda p, *, idempotency_key: None, **kw)


def test_the_key_is_stable_and_differs_by_integration_event_and_action():
    key = action_key("triage", "msg-1", "tag")
    assert key == action_key("triage", "msg-1", "tag")
    assert len({key, action_key("other", "msg-1", "tag"), action_key("triage", "msg-2", "tag"),
                action_key("triage", "msg-1", "escalate")}) == 4


def test_when_selects_actions_and_params_are_evaluated_natively():
    specs = (_spec(name="tag", params={"tags": "[output.intent, output.urgency]", "n": "input.n + 1"}),
             _spec(name="page", when="output.urgency == 'critical'"))
    planned = plan_actions(specs, integration="i", event_key="e", data={"n": 1},
                           output={"intent": "billing", "urgency": "low"})
    assert [p.name for p in planned] == ["tag"]
    assert planned[0].params == {"tags": ["billing", "low"], "n": 2}
    urgent = plan_actions(specs, integration="i", event_key="e", data={"n": 1},
                          output={"intent": "billing", "urgency": "critical"})
    assert [p.name for p in urgent] == ["tag", "page"]


def test_expressions_cannot_escape_the_sandbox_or_read_missing_values():
    with pytest.raises(ConfigError):
        plan_actions((_spec(params={"x": "input.__class__.__mro__[1].__subclasses__()"}),),
                     integration="i", event_key="e", data={}, output={})
    with pytest.raises(ConfigError):
        plan_actions((_spec(when="output.nope.deeper"),), integration="i", event_key="e",
                     data={}, output={})


@pytest.mark.parametrize("policy, output, waits", [
    (ApprovalPolicy(), {"confidence": 0.1}, False),
    (ApprovalPolicy(always=True), {"confidence": 1.0}, True),
    (ApprovalPolicy(below_confidence=0.7), {"confidence": 0.69}, True),
    (ApprovalPolicy(below_confidence=0.7), {"confidence": 0.7}, False),
    (ApprovalPolicy(below_confidence=0.7), {}, True),  # no confidence: a person decides
    (ApprovalPolicy(amount_field="amount", above_amount=100), {"amount": 100}, False),
    (ApprovalPolicy(amount_field="amount", above_amount=100), {"amount": 100.01}, True),
    (ApprovalPolicy(amount_field="amount", above_amount=100), {"amount": "lots"}, True),
])
def test_approval_reasons(policy, output, waits):
    reason = approval_reason(policy, output, "refund")
    assert bool(reason) is waits


def test_decisions_release_or_retire_a_waiting_action(store):
    from conftest import DOWNSTREAM, make_integration, verdict
    from sqlalchemy import select

    from seamline.actions import decide
    from seamline.errors import NotFound
    from seamline.runtime import Pipeline
    from seamline.store.tables import outbox

    pipeline = Pipeline(make_integration(), store, provider=verdict(amount=900))
    held = pipeline.process({"ticket_id": "A1", "body": "refund"})
    kept = pipeline.process({"ticket_id": "A2", "body": "refund"})
    with store.read() as conn:
        ids = dict(conn.execute(select(outbox.c.event_id, outbox.c.id)).all())
    decide(store, ids[held.event_id], approve=True, reviewer="ana")
    assert pipeline.finish_actions(held.event_id, "ai")[0] == "succeeded"
    assert len(DOWNSTREAM) == 1
    decide(store, ids[kept.event_id], approve=False, reviewer="ana", comment="fraud")
    assert pipeline.finish_actions(kept.event_id, "ai")[0] == "rejected"
    assert len(DOWNSTREAM) == 1
    with pytest.raises(NotFound, match="not waiting"):
        decide(store, ids[kept.event_id], approve=True, reviewer="bob")
