"""Through the pipeline: the on-device model carries a value with its evidence, or the event
waits for a person -- it never presents a placeholder as an answer (issue 15).

"Refund my order for $4,999" once came out as ``refund_amount_usd: 0.0, needs_human: False``
and the refund ran unapproved.
"""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field, create_model

from seamline.audit import story
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
from conftest import DOWNSTREAM, record_refund


class Request(BaseModel):
    ticket_id: str
    body: str


TRAIN = [
    ("Please refund my order, it arrived broken.", "refund"),
    ("I want my money back for the jacket.", "refund"),
    ("Refund the double charge on my card.", "refund"),
    ("I returned the shoes, when is my refund coming?", "refund"),
    ("Where is my parcel? It has not arrived.", "other"),
    ("How do I change my password?", "other"),
    ("Do you have an office in Berlin?", "other"),
    ("The app crashes when I open settings.", "other"),
]


def _integration(tmp_path, output_schema: type[BaseModel], **approval) -> Integration:
    examples = tmp_path / "train.jsonl"
    examples.write_text("".join(json.dumps({"input": {"ticket_id": f"t{i}", "body": body},
                                            "output": {"intent": intent}}) + "\n"
                                for i, (body, intent) in enumerate(TRAIN)), encoding="utf-8")
    return Integration(
        name="refunds_local",
        checklist=Checklist(workflow="Refunds.", owner="ops", baseline_metric="manual",
                            monthly_cost_ceiling_usd=10),
        input_schema=Request, output_schema=output_schema,
        pii={"ticket_id": "allow", "body": "redact"},
        prompt=PromptSpec(user="{{ body }}"),
        model=ModelRoute(provider="local", examples=examples),
        actions=(ActionSpec(name="refund", handler=record_refund,
                            when="output.intent == 'refund'",
                            params={"ticket": "input.ticket_id",
                                    "amount": "output.refund_amount_usd"},
                            approval=ApprovalPolicy(**approval)),),
        rollout=RolloutSpec(baseline=lambda data: {"intent": "other"}, baseline_on_failure=False),
        idempotency_key="ticket_id", text_fields=("body",))


def _schema(**fields) -> type[BaseModel]:
    return create_model("Refund", intent=(Literal["refund", "other"], ...),
                        confidence=(float, Field(ge=0, le=1)), **fields)


def _model_call(store, event_id: str) -> dict:
    return next(e["payload"] for e in story(store, event_id) if e["kind"] == "model_call")


def test_the_4999_refund_carries_its_amount_with_evidence_and_waits_for_approval(store, tmp_path):
    schema = _schema(refund_amount_usd=(float, ...))
    pipe = Pipeline(_integration(tmp_path, schema, amount_field="refund_amount_usd",
                                 above_amount=50), store)
    result = pipe.process({"ticket_id": "r1", "body": "Refund my order for $4,999"})
    assert result.state == "awaiting_approval"
    assert result.output["refund_amount_usd"] == 4999.0
    assert result.output["intent"] == "refund"
    found = _model_call(store, result.event_id)["evidence"]["filled"]["refund_amount_usd"]
    assert found["found"][0]["quote"] == "$4,999"
    assert found["found"][0]["rule"] == "amount with a currency symbol"
    # The answer is no surer than the rule that read the amount.
    assert result.output["confidence"] <= found["confidence"]

    small = pipe.process({"ticket_id": "r2", "body": "Please refund $12.50 for the broken mug."})
    assert small.state == "succeeded" and small.output["refund_amount_usd"] == 12.5


def test_an_amount_the_input_does_not_state_is_a_dead_letter_with_the_sentence(store, tmp_path):
    schema = _schema(refund_amount_usd=(float, ...))
    pipe = Pipeline(_integration(tmp_path, schema, amount_field="refund_amount_usd",
                                 above_amount=50), store)
    for n, body in enumerate(("Refund my order please", "Refund my order for €4,999",
                              "Refund $40 or $4,999, whichever")):
        result = pipe.process({"ticket_id": f"n{n}", "body": body})
        assert result.state == "dead_lettered", body
        assert result.stage == "inference"
        assert result.reason.startswith(
            "the on-device model cannot fill refund_amount_usd from this input"), result.reason
        assert result.output is None
    assert DOWNSTREAM == []  # nothing ran on a guess


def test_booleans_need_an_explicit_cue(store, tmp_path):
    schema = _schema(refund_amount_usd=(float, ...), needs_human=(bool, ...))
    pipe = Pipeline(_integration(tmp_path, schema, always=True), store)
    silent = pipe.process({"ticket_id": "b1", "body": "Refund my order for $4,999"})
    assert silent.state == "dead_lettered"
    assert silent.reason.startswith("the on-device model cannot fill needs_human from this input")
    asked = pipe.process({"ticket_id": "b2",
                          "body": "Refund my order for $4,999. I want to speak to a person."})
    assert asked.state == "awaiting_approval"
    assert asked.output["needs_human"] is True
    declined = pipe.process({"ticket_id": "b3",
                             "body": "Refund my order for $4,999. No need for a human."})
    assert declined.output["needs_human"] is False


def test_free_strings_and_lists_it_cannot_read_are_never_filled(store, tmp_path):
    schema = _schema(reply_draft=(str, ...), tags=(list[str], ...))
    pipe = Pipeline(_integration(tmp_path, schema), store)
    result = pipe.process({"ticket_id": "s1", "body": "Refund my order for $4,999"})
    assert result.state == "dead_lettered"
    assert result.reason.startswith(
        "the on-device model cannot fill reply_draft and tags from this input")


def test_optional_fields_are_null_or_the_schemas_default_and_policies_still_hold(store, tmp_path):
    schema = _schema(refund_amount_usd=(float | None, ...), needs_human=(bool, False),
                     order_ids=(list[str], ...), contact_email=(str | None, None))
    pipe = Pipeline(_integration(tmp_path, schema, amount_field="refund_amount_usd",
                                 above_amount=50), store)
    result = pipe.process({"ticket_id": "o1", "body": "Refund my order please"})
    # null is "not stated"; an amount that is not a number waits for a person.
    assert result.state == "awaiting_approval"
    assert result.output["refund_amount_usd"] is None
    assert result.output["order_ids"] == []  # read: the input names no order
    unfilled = _model_call(store, result.event_id)["evidence"]["unfilled"]
    assert {"refund_amount_usd", "needs_human", "contact_email"} <= set(unfilled)

    ids = pipe.process({"ticket_id": "o2",
                        "body": "Refund orders A-561020 and A-561021 for $30, reply to <EMAIL_1>."})
    assert ids.output["order_ids"] == ["A-561020", "A-561021"]
    assert ids.output["refund_amount_usd"] == 30.0
    assert ids.state == "succeeded"


@pytest.mark.parametrize("with_fallback", [False, True])
def test_a_remote_fallback_answers_what_the_local_model_cannot(store, tmp_path, with_fallback):
    from seamline.inference import ScriptedModel, build_gateway
    from seamline.inference._fallback import Fallback

    schema = _schema(refund_amount_usd=(float, ...))
    spec = _integration(tmp_path, schema, amount_field="refund_amount_usd", above_amount=50)
    local = build_gateway(spec, store)
    remote = ScriptedModel(lambda req: json.dumps(
        {"intent": "refund", "confidence": 0.9, "refund_amount_usd": 20.0}))
    provider = Fallback([local, remote]) if with_fallback else local
    result = Pipeline(spec, store, provider=provider).process(
        {"ticket_id": "f1", "body": "Refund my order please"})
    if with_fallback:
        assert result.state == "succeeded" and result.output["refund_amount_usd"] == 20.0
    else:
        assert result.state == "dead_lettered"
