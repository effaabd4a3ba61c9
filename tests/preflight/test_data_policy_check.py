"""Provider data policies: ``seamline check`` refuses a raw field bound for a route that may
not receive it (the model, each fallback, the judge, the over_soft route), and every model
call's audit entry names the policy in force, end to end through the official Anthropic SDK
against the emulator (the Messages API wire format:
https://docs.anthropic.com/en/api/messages)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from conftest import EXAMPLE, make_integration
from sqlalchemy import select

from seamline.emulator import Emulator
from seamline.integration import (
    Budgets,
    GroundingSpec,
    JudgeSpec,
    ModelRoute,
    OverSoft,
    SoftCaps,
    load_integration,
)
from seamline.preflight import check
from seamline.runtime import SUCCEEDED, Pipeline
from seamline.store.tables import audit_log, events

SOFT = 0.008  # one worst case of the primary route fits ($0.0066), a second does not
REVIEWED = {"data": "raw_allowed", "region": "eu", "dpa_reviewed": date(2025, 11, 3)}


def _data_errors(integration) -> list[str]:
    return [p.sentence for p in check(integration) if p.level == "error" and p.part == "data"]


def _remote(model: str = "claude-sonnet-4-5", **policy) -> ModelRoute:
    return ModelRoute(provider="anthropic", model=model, input_usd_per_mtok=3.0,
                      output_usd_per_mtok=15.0, **policy)


def test_a_name_field_allowed_raw_to_a_redacted_only_route_is_refused_with_both_named():
    integ = make_integration(model=_remote(), pii={"ticket_id": "allow", "tenant": "allow",
                                                   "customer": "allow", "body": "redact"})
    assert _data_errors(integ) == []  # nothing raw of a known kind: nothing to refuse
    # A field named for a person's name, let through raw:
    from pydantic import BaseModel

    class Ticket(BaseModel):
        ticket_id: str
        customer_name: str
        contact_email: str
        body: str

    raw = make_integration(input_schema=Ticket, model=_remote(), pii={
        "ticket_id": "allow", "customer_name": "allow", "contact_email": "allow", "body": "redact"})
    errors = _data_errors(raw)
    assert len(errors) == 2
    assert errors[0] == (
        "Input field 'customer_name' holds PERSON and its PII policy is allow, so it reaches the "
        "model (anthropic:claude-sonnet-4-5) raw, but its data policy is redacted_only and no "
        "review of its data-processing terms is recorded (dpa_reviewed); redact the field "
        "(pii: {customer_name: redact}), or, once the provider's terms are reviewed, set data: "
        "raw_allowed and dpa_reviewed: YYYY-MM-DD on that route.")
    assert "'contact_email' holds EMAIL" in errors[1]


def _raw_ticket_integration(**spec):
    from pydantic import BaseModel

    class Ticket(BaseModel):
        ticket_id: str
        customer_name: str
        body: str

    return make_integration(input_schema=Ticket, pii={
        "ticket_id": "allow", "customer_name": "allow", "body": "redact"}, **spec)


def test_every_route_the_event_may_reach_is_held_to_it_fallbacks_judge_and_over_soft():
    reviewed_only = _remote(data="raw_allowed")  # allowed, but no review recorded
    spec = _raw_ticket_integration(
        model=_remote(**REVIEWED, fallbacks=(_remote("claude-haiku-4-5"),), budgets=Budgets(
            soft_daily_usd=SoftCaps(per_tenant=1), over_soft=OverSoft(route=_remote(
                "claude-3-5-haiku", data="raw_allowed", dpa_reviewed=date(2025, 1, 1))))),
        grounding=GroundingSpec(judge=JudgeSpec(route=reviewed_only)))
    errors = _data_errors(spec)
    assert len(errors) == 2
    assert "reaches the model fallback 1 (anthropic:claude-haiku-4-5) raw, but its data policy " \
           "is redacted_only" in errors[0]
    assert ("reaches the grounding.judge.route (anthropic:claude-sonnet-4-5) raw, but no review "
            "of its data-processing terms is recorded (dpa_reviewed)") in errors[1]


def test_in_process_models_and_reviewed_routes_pass():
    assert _data_errors(_raw_ticket_integration(model=_remote(**REVIEWED))) == []
    local = _raw_ticket_integration(model=ModelRoute(provider="scripted", model="s"))
    assert _data_errors(local) == []


def test_seamline_check_refuses_the_route_from_the_file(tmp_path):
    from typer.testing import CliRunner

    from seamline.cli import app

    spec = tmp_path / "integration.yaml"
    spec.write_text("""
name: t
checklist: {workflow: w, owner: o, baseline_metric: m, monthly_cost_ceiling_usd: 1}
input_schema: {fields: {ticket_id: str, full_name: str, body: str}}
output_schema: {fields: {label: str}}
pii: {ticket_id: allow, full_name: allow, body: redact}
prompt: {user: "{{ full_name }}: {{ body }}"}
model: {provider: openai, model: gpt-4.1-mini, data: raw_allowed, region: us}
rollout: {baseline: "base.py:b"}
""", encoding="utf-8")
    (tmp_path / "base.py").write_text("def b(d):\n    return {}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(spec)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert ("Input field 'full_name' holds PERSON and its PII policy is allow, so it reaches the "
            "model (openai:gpt-4.1-mini) raw, but no review of its data-processing terms is "
            "recorded (dpa_reviewed)") in flat
    spec.write_text(spec.read_text().replace("region: us}", "region: us, dpa_reviewed: 2025-10-01}"))
    flat = " ".join(CliRunner().invoke(app, ["check", str(spec)]).output.split())
    assert "full_name" not in flat


# ----------------------------------------------- the audit, through the SDK and the emulator

ANSWER = {"intent": "billing", "urgency": "high", "summary": "Charged twice for one invoice.",
          "confidence": 0.88, "evidence": ["I was charged twice"]}


def _email(n: int) -> dict:
    return {"message_id": f"p-{n}", "tenant_id": "acme", "customer_id": "cus_9",
            "from_email": "jane.doe@example.com", "subject": "Charged twice",
            "body": "I was charged twice for one invoice."}


@pytest.fixture
def emu(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-0000000000")
    with Emulator(lambda req: ANSWER).serve() as emulator:
        yield emulator


def _calls(store) -> list[tuple[str, dict]]:
    with store.read() as conn:
        found = conn.execute(select(audit_log.c.event_id, audit_log.c.payload).where(
            audit_log.c.kind == "model_call").order_by(audit_log.c.seq)).all()
    return [(e, json.loads(p)) for e, p in found]


def test_every_model_call_names_its_route_s_policy_and_a_degraded_one_the_cheaper_route_s(
        emu, store):
    base = load_integration(EXAMPLE / "integration.yaml")
    cheap = ModelRoute(provider="anthropic", model="claude-haiku-4-5", base_url=emu.base_url,
                       input_usd_per_mtok=1.0, output_usd_per_mtok=5.0, max_output_tokens=400,
                       context_window=4096, region="us", data="redacted_only")
    route = base.model.model_copy(update={
        "provider": "anthropic", "model": "claude-sonnet-4-5", "base_url": emu.base_url,
        "input_usd_per_mtok": 3.0, "output_usd_per_mtok": 15.0, **REVIEWED,
        "budgets": Budgets(per_tenant_daily_usd=5, soft_daily_usd=SoftCaps(per_user=SOFT),
                           over_soft=OverSoft(route=cheap))})
    spec = base.model_copy(update={"model": route, "user_key": "customer_id"})
    pipe = Pipeline(spec, store)
    results = [pipe.process(_email(n)) for n in range(4)]
    assert all(r.state == SUCCEEDED for r in results), [r.reason for r in results]
    sent = [r.body["model"] for r in emu.requests]
    with store.read() as conn:
        models = dict(conn.execute(select(events.c.id, events.c.model)).all())
    ran = [models[r.event_id] for r in results]
    assert sent == ran  # what the row says ran is what the provider was asked for
    assert ran[0] == "claude-sonnet-4-5" and "claude-haiku-4-5" in ran
    calls = _calls(store)
    assert len(calls) == 4
    for event_id, call in calls:
        if models[event_id] == "claude-sonnet-4-5":
            assert call["data_policy"] == {"route": "anthropic:claude-sonnet-4-5",
                                           "data": "raw_allowed", "region": "eu",
                                           "dpa_reviewed": "2025-11-03"}
        else:
            assert call["data_policy"] == {"route": "anthropic:claude-haiku-4-5",
                                           "data": "redacted_only", "region": "us",
                                           "dpa_reviewed": None}
    # The example redacts its personal fields: nothing raw reached either route.
    assert "jane.doe@example.com" not in emu.received_text()
