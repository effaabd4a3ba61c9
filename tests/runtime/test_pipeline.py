"""The path of one event through all seven layers, as a user sees it."""

from __future__ import annotations

import json

import pytest
from conftest import DOWNSTREAM, Verdict, make_integration, verdict
from sqlalchemy import select, text

from seamline.audit import story, verify
from seamline.errors import ProviderUnavailable
from seamline.inference import ModelReply, ScriptedModel, Usage
from seamline.integration import Budgets, ModelRoute
from seamline.rollout import Flags
from seamline.runtime import (
    AWAITING_APPROVAL,
    BASELINE,
    DEAD_LETTERED,
    DUPLICATE,
    OVER_BUDGET,
    SUCCEEDED,
    TERMINAL,
    Pipeline,
)
from seamline.store.tables import dead_letters, events, outbox, vault

PII_BODY = ("Please refund order 77. Card 4242 4242 4242 4242, mail jane.doe@example.com, "
            "call +44 20 7946 0958, SSN 123-45-6789, key AKIAIOSFODNN7EXAMPLE.")
SECRETS = ("4242 4242 4242 4242", "jane.doe@example.com", "+44 20 7946 0958", "123-45-6789",
           "AKIAIOSFODNN7EXAMPLE")


def test_a_valid_event_succeeds_and_its_action_runs_once(store):
    result = Pipeline(make_integration(), store, provider=verdict()).process(
        {"ticket_id": "T1", "body": "I want a refund please"})
    assert result.state == SUCCEEDED
    assert result.output["label"] == "refund"
    assert len(DOWNSTREAM) == 1 and DOWNSTREAM[0][1]["ticket"] == "T1"


def test_no_real_pii_value_reaches_the_model_the_audit_trail_or_the_outbox(store, monkeypatch):
    model = verdict()
    result = Pipeline(make_integration(), store, provider=model).process(
        {"ticket_id": "T2", "body": PII_BODY})
    assert result.state == SUCCEEDED
    seen_by_model = json.dumps([[m.content for m in r.messages] for r in model.requests]
                               + [r.source for r in model.requests])
    with store.read() as conn:
        audit_text = " ".join(conn.execute(text("SELECT payload FROM audit_log")).scalars())
        outbox_text = " ".join(conn.execute(select(outbox.c.params)).scalars())
        vault_text = " ".join(conn.execute(select(vault.c.ciphertext)).scalars())
    for secret in SECRETS:
        assert secret not in seen_by_model
        assert secret not in audit_text
        assert secret not in outbox_text
        assert secret not in vault_text  # encrypted at rest
    assert "<EMAIL_1>" in seen_by_model and "<CARD_1>" in seen_by_model


def test_an_action_that_reveals_pii_gets_the_real_values_but_the_audit_keeps_placeholders(store):
    integration = make_integration()
    spec = integration.actions[0].model_copy(update={"reveal_pii": True})
    integration = integration.model_copy(update={"actions": (spec,)})
    Pipeline(integration, store, provider=verdict()).process({"ticket_id": "T3", "body": PII_BODY})
    assert "jane.doe@example.com" in DOWNSTREAM[0][1]["body"]
    with store.read() as conn:
        audit_text = " ".join(conn.execute(text("SELECT payload FROM audit_log")).scalars())
    assert "jane.doe@example.com" not in audit_text


def test_invalid_input_is_dead_lettered_with_a_reason_and_never_reaches_the_model(store):
    model = verdict()
    pipeline = Pipeline(make_integration(), store, provider=model)
    missing = pipeline.process({"ticket_id": "T4"})
    wrong = pipeline.process({"ticket_id": "T5", "body": 42})
    not_json = pipeline.process("{not json")
    assert [r.state for r in (missing, wrong, not_json)] == [DEAD_LETTERED] * 3
    assert "body: Field required" in missing.reason
    assert "body: Input should be a valid string" in wrong.reason
    assert "not valid JSON" in not_json.reason
    assert len(model.requests) == 0
    with store.read() as conn:
        rows = conn.execute(select(dead_letters.c.stage, dead_letters.c.reason)).all()
    assert len(rows) == 3 and all(r.stage == "ingest" for r in rows)


def test_an_invalid_event_with_pii_is_kept_redacted_in_the_dead_letter_queue(store):
    Pipeline(make_integration(), store, provider=verdict()).process(
        {"ticket_id": "", "body": "mail me at jane.doe@example.com"})
    with store.read() as conn:
        payload = conn.execute(select(dead_letters.c.payload)).scalar()
    assert "jane.doe@example.com" not in payload and "<EMAIL_1>" in payload


def test_the_same_idempotency_key_is_processed_once(store):
    pipeline = Pipeline(make_integration(), store, provider=verdict())
    first = pipeline.process({"ticket_id": "T6", "body": "refund"})
    again = pipeline.process({"ticket_id": "T6", "body": "refund"})
    assert first.state == SUCCEEDED and again.state == DUPLICATE
    assert again.duplicate_of == first.event_id
    assert len(DOWNSTREAM) == 1


def test_a_reply_that_is_never_valid_is_repaired_twice_then_dead_lettered(store):
    model = ScriptedModel(lambda req: '{"label": "maybe", "confidence": 2}')
    result = Pipeline(make_integration(), store, provider=model).process(
        {"ticket_id": "T7", "body": "refund"})
    assert result.state == DEAD_LETTERED and result.stage == "outputs"
    assert len(model.requests) == 3  # the first call and two repairs, no more
    repair = model.requests[1].messages[-1].content
    assert "label" in repair and "confidence" in repair and "JSON schema" in repair
    assert model.requests[2].attempt == 2
    assert DOWNSTREAM == []


def test_a_reply_repaired_on_the_second_try_succeeds(store):
    replies = iter(["Sure! Here it is: {\"label\": \"refund\"", json.dumps(
        {"label": "refund", "confidence": 0.8, "amount": 5})])
    model = ScriptedModel(lambda req: next(replies))
    result = Pipeline(make_integration(), store, provider=model).process(
        {"ticket_id": "T8", "body": "refund"})
    assert result.state == SUCCEEDED and len(model.requests) == 2
    kinds = [row["kind"] for row in story(store, result.event_id)]
    assert kinds.count("model_call") == 2


def test_a_model_failure_dead_letters_and_the_caller_gets_the_baseline_answer(store):
    def down(_req):
        raise ProviderUnavailable("503 from the provider")

    result = Pipeline(make_integration(), store, provider=ScriptedModel(down)).process(
        {"ticket_id": "T9", "body": "refund now"})
    assert result.state == DEAD_LETTERED and result.stage == "inference"
    assert result.fallback_output == {"label": "refund", "confidence": 0.5, "amount": 0.0, "quote": ""}
    assert result.answer == result.fallback_output
    assert DOWNSTREAM == []  # no action on a fallback; redriving will act on the real output


def test_with_the_flag_off_the_baseline_answers_and_is_recorded(store):
    model = verdict(label="other")
    Flags(store).set("refunds.ai", "off", reason="incident 42")
    result = Pipeline(make_integration(), store, provider=model).process(
        {"ticket_id": "T10", "body": "refund please"})
    assert result.path == "baseline"
    assert result.output["label"] == "refund"  # the keyword baseline, not the model
    # The baseline names no amount (0.0): a refund of nothing is not routine, so it waits.
    assert result.state == AWAITING_APPROVAL
    assert len(model.requests) == 0
    assert "baseline" in [r["kind"] for r in story(store, result.event_id)]


def test_an_over_cap_call_waits_in_escalation_and_is_not_sent(store):
    route = ModelRoute(provider="scripted", input_usd_per_mtok=1000.0, output_usd_per_mtok=1000.0,
                       max_output_tokens=100, budgets=Budgets(per_call_usd=0.01))
    model = verdict()
    result = Pipeline(make_integration(model=route), store, provider=model).process(
        {"ticket_id": "T11", "body": "refund"})
    assert result.state == OVER_BUDGET and "per-call" in result.reason
    assert len(model.requests) == 0


def test_the_daily_cap_stops_calls_once_spent(store):
    route = ModelRoute(provider="scripted", input_usd_per_mtok=10.0, output_usd_per_mtok=10.0,
                       max_output_tokens=100, budgets=Budgets(daily_usd=0.004))
    model = ScriptedModel(lambda req: ModelReply(
        json.dumps({"label": "other", "confidence": 0.9}), Usage(100, 100)))
    pipeline = Pipeline(make_integration(model=route), store, provider=model)
    states = [pipeline.process({"ticket_id": f"D{i}", "body": "hello"}).state for i in range(5)]
    # Each call is estimated at ~$0.0011 and costs $0.002 once reconciled.
    assert states[0] == SUCCEEDED and OVER_BUDGET in states
    assert len(model.requests) == states.count(SUCCEEDED)


def test_a_high_amount_waits_for_approval_and_nothing_acts(store):
    result = Pipeline(make_integration(), store, provider=verdict(amount=5000)).process(
        {"ticket_id": "T12", "body": "refund"})
    assert result.state == AWAITING_APPROVAL and result.awaiting == 1
    assert DOWNSTREAM == []
    with store.read() as conn:
        row = conn.execute(select(outbox.c.status, outbox.c.approval_reason)).one()
    assert row.status == "awaiting_approval" and "above the threshold" in row.approval_reason


def test_a_failing_action_is_retried_then_dead_lettered_and_kept_in_the_outbox(store):
    calls = []

    def flaky(params, *, idempotency_key):
        calls.append(idempotency_key)
        raise RuntimeError("helpdesk is down")

    integration = make_integration()
    spec = integration.actions[0].model_copy(update={"handler": flaky})
    result = Pipeline(integration.model_copy(update={"actions": (spec,)}), store,
                      provider=verdict()).process({"ticket_id": "T13", "body": "refund"})
    assert result.state == DEAD_LETTERED and result.stage == "actions"
    assert len(calls) == 3 and len(set(calls)) == 1  # same idempotency key every time
    with store.read() as conn:
        row = conn.execute(select(outbox.c.status, outbox.c.last_error)).one()
    assert row.status == "failed" and "helpdesk is down" in row.last_error


def test_oversize_input_is_truncated_with_a_marker(store):
    model = verdict()
    route = ModelRoute(provider="scripted", max_output_tokens=100, context_window=400)
    result = Pipeline(make_integration(model=route), store, provider=model).process(
        {"ticket_id": "T14", "body": "refund " + "blah " * 5000})
    assert result.state == SUCCEEDED
    assert "truncated by Seamline" in model.requests[0].user
    assert len(model.requests[0].user) < 2000


def test_oversize_input_can_be_dead_lettered_instead(store):
    model = verdict()
    route = ModelRoute(provider="scripted", max_output_tokens=100, context_window=400,
                       oversize="dead_letter")
    result = Pipeline(make_integration(model=route), store, provider=model).process(
        {"ticket_id": "T15", "body": "blah " * 5000})
    assert result.state == DEAD_LETTERED and "context window" in result.reason
    assert len(model.requests) == 0


def test_every_event_ends_in_exactly_one_terminal_state_and_the_chain_verifies(store):
    pipeline = Pipeline(make_integration(), store, provider=ScriptedModel(lambda req: (
        json.dumps({"label": "refund", "confidence": 0.9, "amount": 500 if "big" in req.user else 5})
        if "bad" not in req.user else "nonsense")))
    inputs = [{"ticket_id": f"E{i}", "body": b} for i, b in enumerate(
        ["refund", "big refund", "bad", "refund", "other"])] + [{"ticket_id": "E0", "body": "x"}, {}]
    results = [pipeline.process(raw) for raw in inputs]
    assert len({r.event_id for r in results}) == len(inputs)
    with store.read() as conn:
        states = dict(conn.execute(select(events.c.id, events.c.state)).all())
    assert len(states) == len(inputs)
    assert all(states[r.event_id] == r.state for r in results)
    assert all(s in TERMINAL for s in states.values())
    assert verify(store).ok


def test_the_story_of_an_event_has_every_layer(store):
    result = Pipeline(make_integration(), store, provider=verdict()).process(
        {"ticket_id": "T16", "body": "refund"})
    kinds = [r["kind"] for r in story(store, result.event_id)]
    for kind in ("ingest", "rollout", "prompt", "budget", "model_call", "output",
                 "actions_planned", "action", "state"):
        assert kind in kinds
    prompt = next(r for r in story(store, result.event_id) if r["kind"] == "prompt")["payload"]
    assert prompt["version"].startswith("p-") and "T16" in prompt["user"]


def test_a_percentage_rollout_is_sticky_per_customer(store):
    Flags(store).set("refunds.ai", 50, reason="canary")
    pipeline = Pipeline(make_integration(), store, provider=verdict())
    paths = {}
    for i in range(60):
        customer = f"c{i % 20}"
        r = pipeline.process({"ticket_id": f"S{i}", "customer": customer, "body": "refund"})
        paths.setdefault(customer, set()).add(r.path)
    assert all(len(p) == 1 for p in paths.values())
    assert {next(iter(p)) for p in paths.values()} == {"ai", "baseline"}


def test_a_crash_between_the_outbox_and_the_action_never_acts_twice(store):
    """The outbox row exists but the process died before marking it done: running the
    event's actions again calls the handler with the same key, and a downstream that
    honours idempotency keys (every connector must) records one effect."""
    effects: dict[str, dict] = {}

    def idempotent(params, *, idempotency_key):
        effects.setdefault(idempotency_key, params)
        DOWNSTREAM.append((idempotency_key, params))

    integration = make_integration()
    spec = integration.actions[0].model_copy(update={"handler": idempotent})
    integration = integration.model_copy(update={"actions": (spec,)})
    pipeline = Pipeline(integration, store, provider=verdict())
    result = pipeline.process({"ticket_id": "T17", "body": "refund"})
    # Simulate the crash: the effect happened, the "done" mark did not.
    with store.write() as conn:
        conn.execute(outbox.update().values(status="pending"))
        conn.execute(events.update().values(state="acting"))
    state, _, _ = Pipeline(integration, store, provider=verdict()).finish_actions(result.event_id, "ai")
    assert state == SUCCEEDED
    assert len(DOWNSTREAM) == 2 and len(effects) == 1
    assert DOWNSTREAM[0][0] == DOWNSTREAM[1][0]


@pytest.mark.parametrize("reply", ["", "{}", "[1, 2]", '{"a": 1} {"b": 2}', "```json\n{\"label\": \"x\""])
def test_unusable_replies_never_act(store, reply):
    result = Pipeline(make_integration(), store, provider=ScriptedModel(lambda req: reply)).process(
        {"ticket_id": "U1", "body": "refund"})
    assert result.state == DEAD_LETTERED and DOWNSTREAM == []
    assert Verdict  # the schema the replies failed against


class _Killed(BaseException):
    """Stands for the process dying mid-event (SIGKILL cannot be caught in-process)."""


def test_an_event_stranded_before_its_outcome_is_resumed_and_acts_once(store):
    def dies(_req):
        raise _Killed()

    integration = make_integration()
    with pytest.raises(_Killed):
        Pipeline(integration, store, provider=ScriptedModel(dies)).process(
            {"ticket_id": "R1", "body": "refund"})
    pipeline = Pipeline(integration, store, provider=verdict())
    stranded = pipeline.stranded(older_than_s=0)
    assert len(stranded) == 1
    result = pipeline.resume(stranded[0])
    assert result.state == SUCCEEDED and len(DOWNSTREAM) == 1
    assert pipeline.stranded(older_than_s=0) == []
    assert verify(store).ok


def test_an_event_stranded_while_acting_finishes_its_actions(store):
    calls = []

    def dies_once(params, *, idempotency_key):
        calls.append(idempotency_key)
        if len(calls) == 1:
            raise _Killed()

    integration = make_integration()
    # Declared idempotent (the downstream dedupes on the key): resent after the crash. An
    # undeclared action in doubt waits for a person instead (tests/actions/test_in_doubt.py).
    spec = integration.actions[0].model_copy(update={"handler": dies_once, "idempotent": True})
    integration = integration.model_copy(update={"actions": (spec,)})
    with pytest.raises(_Killed):
        Pipeline(integration, store, provider=verdict()).process({"ticket_id": "R2", "body": "refund"})
    pipeline = Pipeline(integration, store, provider=verdict())
    (event_id,) = pipeline.stranded(older_than_s=0)
    assert pipeline.resume(event_id).state == SUCCEEDED
    assert len(calls) == 2 and calls[0] == calls[1]  # same key: the downstream dedupes


def test_recent_in_flight_events_are_not_taken_as_stranded(store):
    def dies(_req):
        raise _Killed()

    with pytest.raises(_Killed):
        Pipeline(make_integration(), store, provider=ScriptedModel(dies)).process(
            {"ticket_id": "R3", "body": "refund"})
    assert Pipeline(make_integration(), store, provider=verdict()).stranded() == []


def test_a_provider_that_crashes_unexpectedly_dead_letters_the_event_not_the_run(store):
    def buggy(_req):
        raise TypeError("NoneType is not subscriptable")

    pipeline = Pipeline(make_integration(), store, provider=ScriptedModel(buggy))
    result = pipeline.process({"ticket_id": "X1", "body": "refund"})
    assert result.state == DEAD_LETTERED and "failed unexpectedly: TypeError" in result.reason
    assert pipeline.process({"ticket_id": "X2", "body": "refund"}).state == DEAD_LETTERED


def test_an_over_budget_event_waits_until_released_under_a_higher_cap(store):
    tight = ModelRoute(provider="scripted", input_usd_per_mtok=1000.0, output_usd_per_mtok=1000.0,
                       max_output_tokens=100, budgets=Budgets(per_call_usd=0.01))
    model = verdict()
    waiting = Pipeline(make_integration(model=tight), store, provider=model).process(
        {"ticket_id": "B1", "body": "refund"})
    assert waiting.state == OVER_BUDGET and len(model.requests) == 0
    still = Pipeline(make_integration(model=tight), store, provider=model).release(waiting.event_id)
    assert still.state == OVER_BUDGET and len(model.requests) == 0
    roomy = tight.model_copy(update={"budgets": Budgets(per_call_usd=10.0)})
    done = Pipeline(make_integration(model=roomy), store, provider=model).release(waiting.event_id)
    assert done.state == SUCCEEDED and len(model.requests) == 1 and len(DOWNSTREAM) == 1


def test_an_action_error_that_says_retrying_cannot_help_fails_at_once(store):
    from seamline.connectors._errors import VendorRejected

    calls = []

    def rejects(params, *, idempotency_key):
        calls.append(idempotency_key)
        raise VendorRejected("422: the ticket is closed", connector="zendesk", status=422)

    integration = make_integration()
    integration = integration.model_copy(update={"actions": (
        integration.actions[0].model_copy(update={"handler": rejects}),)})
    result = Pipeline(integration, store, provider=verdict()).process(
        {"ticket_id": "VR1", "body": "refund"})
    assert result.state == DEAD_LETTERED and len(calls) == 1
