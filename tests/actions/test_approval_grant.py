"""An approval is a single-use grant on exactly what runs (issue 22): the digest of the
action, its parameters and its key; parameters changed after the approval void it."""

from __future__ import annotations

import json

from pydantic import BaseModel
from sqlalchemy import select, update

from seamline.actions import ActionRunner, action_digest, decide, list_awaiting
from seamline.ingest import Vault
from seamline.inference import ScriptedModel
from seamline.integration import (
    ActionSpec,
    ApprovalPolicy,
    Checklist,
    Integration,
    ModelRoute,
    PromptSpec,
    RolloutSpec,
)
from seamline.runtime import Pipeline
from seamline.store.tables import audit_log, outbox

SENT: list[dict] = []


class In(BaseModel):
    message_id: str
    body: str


class Out(BaseModel):
    amount: float


def refund(params: dict, *, idempotency_key: str) -> dict:
    SENT.append(dict(params))
    return {"ok": True}


def _pipeline(store) -> Pipeline:
    spec = Integration(
        name="grant-test", input_schema=In, output_schema=Out,
        checklist=Checklist(workflow="t", owner="t", baseline_metric="t",
                            monthly_cost_ceiling_usd=10),
        pii={"message_id": "allow"},
        prompt=PromptSpec(system="Refund.", user="{{ body }}"),
        model=ModelRoute(provider="scripted", model="scripted"),
        actions=(ActionSpec(name="refund", handler=refund, params={"amount": "output.amount"},
                            approval=ApprovalPolicy(always=True)),),
        rollout=RolloutSpec(flag="grant-test.ai"), idempotency_key="message_id")
    return Pipeline(spec, store, provider=ScriptedModel(lambda r: json.dumps({"amount": 25})))


def _run(pipe: Pipeline, event_id: str) -> list[str]:
    return ActionRunner(pipe.store, pipe.integration, Vault(pipe.store)).run_event(event_id)


def test_an_approved_action_runs_with_exactly_what_was_approved(store):
    SENT.clear()
    pipe = _pipeline(store)
    r = pipe.process({"message_id": "g-1", "body": "refund 25"})
    (row,) = list_awaiting(store, "grant-test")
    decide(store, row.id, approve=True, reviewer="lead", edited_params={"amount": 20})
    with store.read() as conn:
        digest = conn.execute(select(outbox.c.approved_digest)).scalar_one()
    assert digest == action_digest("grant-test", "refund", {"amount": 20}, row.idempotency_key)
    assert _run(pipe, r.event_id) == ["done"]
    assert SENT == [{"amount": 20}]


def test_params_changed_after_the_approval_void_it_and_nothing_is_sent(store):
    SENT.clear()
    pipe = _pipeline(store)
    r = pipe.process({"message_id": "g-2", "body": "refund 25"})
    (row,) = list_awaiting(store, "grant-test")
    decide(store, row.id, approve=True, reviewer="lead")
    # Someone with write access to the store raises the amount after the approval.
    with store.write() as conn:
        conn.execute(update(outbox).where(outbox.c.id == row.id)
                     .values(params=json.dumps({"amount": 4999})))
    assert _run(pipe, r.event_id) == ["awaiting_approval"]
    assert SENT == []
    (again,) = list_awaiting(store, "grant-test")
    assert "approval (for other parameters) is void" in again.approval_reason
    with store.read() as conn:
        kinds = [k for (k,) in conn.execute(select(audit_log.c.kind))]
    assert "approval_void" in kinds
    # Approved again, for what it now says: it runs once.
    decide(store, again.id, approve=True, reviewer="lead", comment="checked: 4999 is right")
    assert _run(pipe, r.event_id) == ["done"]
    assert SENT == [{"amount": 4999}]
    assert _run(pipe, r.event_id) == ["done"] and len(SENT) == 1  # single use


def test_the_digest_covers_action_params_and_key():
    base = action_digest("i", "tag", {"a": 1}, "k")
    assert base.startswith("sha256:")
    assert action_digest("i", "tag", {"a": 1}, "k") == base
    assert action_digest("i", "tag", {"a": 2}, "k") != base
    assert action_digest("i", "tag", {"a": 1}, "k2") != base
    assert action_digest("i", "note", {"a": 1}, "k") != base
    assert action_digest("j", "tag", {"a": 1}, "k") != base
