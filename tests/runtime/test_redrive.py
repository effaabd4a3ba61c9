"""Redrive: dead letters run again under their own id, with the integration as it is now."""

from __future__ import annotations

import json

import pytest
from conftest import DOWNSTREAM, Ticket, make_integration, verdict
from sqlalchemy import select

from seamline.audit import story, verify
from seamline.errors import NotFound
from seamline.inference import ScriptedModel
from seamline.queue import JobQueue, Worker
from seamline.runtime import DEAD_LETTERED, SUCCEEDED, Pipeline
from seamline.runtime._dlq import dead_letter, dead_letters_now
from seamline.store.tables import events, outbox


def test_an_output_failure_redriven_after_a_prompt_fix_succeeds_under_the_same_id(store):
    broken = Pipeline(make_integration(), store, provider=ScriptedModel(lambda r: "no json here"))
    dead = broken.process({"ticket_id": "R1", "body": "refund please"})
    assert dead.state == DEAD_LETTERED and dead.stage == "outputs"
    listed = dead_letters_now(store)
    assert [d.event_id for d in listed] == [dead.event_id]
    assert listed[0].last_error  # the last reply's error is kept
    fixed = Pipeline(make_integration(), store, provider=verdict())
    result = fixed.redrive(dead.event_id, actor="test")
    assert result.event_id == dead.event_id and result.state == SUCCEEDED
    assert dead_letters_now(store) == [] and len(DOWNSTREAM) == 1
    kinds = [e["kind"] for e in story(store, dead.event_id)]
    assert kinds.index("dead_letter") < kinds.index("redrive") < len(kinds) - 1
    with pytest.raises(NotFound, match="not in the dead-letter queue"):
        fixed.redrive(dead.event_id)
    assert verify(store).ok


class LooseTicket(Ticket):
    ticket_id: str  # no longer min_length=1
    body: str = "(empty)"


def test_an_ingest_refusal_is_rebuilt_from_the_vault_and_admitted_again(store):
    strict = Pipeline(make_integration(), store, provider=verdict())
    raw = {"ticket_id": "I1", "customer": "c9", "body": 42, "note": "mail jane@example.com"}
    dead = strict.process({**raw, "body": "refund to jane@example.com", "ticket_id": ""})
    assert dead.state == DEAD_LETTERED and dead.stage == "ingest"
    with store.read() as conn:
        stored = conn.execute(select(events.c.input).where(events.c.id == dead.event_id)).scalar()
    assert "jane@example.com" not in stored
    seen = []

    def model(req):
        seen.append(req.messages[-1].content)
        return {"label": "refund", "confidence": 0.9, "amount": 1.0}

    loose = Pipeline(make_integration(input_schema=LooseTicket), store, provider=ScriptedModel(model))
    result = loose.redrive(dead.event_id)
    assert result.state == SUCCEEDED and result.event_id == dead.event_id
    assert "jane@example.com" not in seen[0] and "<EMAIL_" in seen[0]  # redacted again
    ((_key, params),) = DOWNSTREAM
    assert params["ticket"] == ""
    with store.read() as conn:
        assert len(conn.execute(select(events).where(events.c.id == dead.event_id)).all()) == 1


def test_a_failed_action_redriven_runs_once_more_under_its_key(store):
    calls = []

    def down(params, *, idempotency_key):
        calls.append(idempotency_key)
        raise ConnectionError("helpdesk down")

    integration = make_integration()
    failing = integration.model_copy(update={"actions": (
        integration.actions[0].model_copy(update={"handler": down}),)})
    dead = Pipeline(failing, store, provider=verdict()).process({"ticket_id": "A1", "body": "refund"})
    assert dead.state == DEAD_LETTERED and dead.stage == "actions" and len(calls) == 3
    model = verdict()
    result = Pipeline(integration, store, provider=model).redrive(dead.event_id)
    assert result.state == SUCCEEDED and len(model.requests) == 0  # the model is not asked again
    assert len(DOWNSTREAM) == 1 and DOWNSTREAM[0][0] == calls[0]
    with store.read() as conn:
        assert conn.execute(select(outbox.c.status)).scalars().all() == ["done"]


def test_redrives_queued_for_workers_are_run_by_them(store):
    dead = Pipeline(make_integration(), store, provider=ScriptedModel(lambda r: "?")).process(
        {"ticket_id": "W1", "body": "refund"})
    JobQueue(store).enqueue_redrive("refunds", [dead.event_id])
    integration = make_integration()
    stats = Worker(store, [integration], pipelines={"refunds": Pipeline(integration, store,
                                                                        provider=verdict())}
                   ).run(exit_when_idle=True)
    assert stats.by_state == {SUCCEEDED: 1}
    with pytest.raises(NotFound):
        dead_letter(store, dead.event_id)


def test_a_redrive_that_fails_again_stays_in_the_queue_with_its_history(store):
    bad = ScriptedModel(lambda r: "nope")
    dead = Pipeline(make_integration(), store, provider=bad).process({"ticket_id": "F1", "body": "x"})
    again = Pipeline(make_integration(), store, provider=bad).redrive(dead.event_id)
    assert again.state == DEAD_LETTERED
    (d,) = dead_letters_now(store)
    assert d.times == 2 and json.dumps(d.input)
