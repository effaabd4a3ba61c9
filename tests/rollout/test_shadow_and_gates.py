"""Shadow mode, the gated stage, and dropping a gate only on recorded evidence (issue 22).

Shadow: the model runs on every event, acts nowhere, and is scored against what happened.
Gated: every action waits for a person; a low-risk action's gate is dropped when the last
N decisions say so (Wilson lower bound), a high-risk one's never.
"""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from sqlalchemy import select

from seamline.actions import decide, list_awaiting
from seamline.audit import verify
from seamline.errors import ConfigError, ProviderUnavailable
from seamline.eval import sample_events
from seamline.inference import ScriptedModel
from seamline.integration import (
    ActionSpec,
    ApprovalPolicy,
    Checklist,
    GateRule,
    Integration,
    ModelRoute,
    PromptSpec,
    RolloutSpec,
)
from seamline.rollout import (
    Flags,
    Gates,
    action_risk,
    evidence,
    gate_flag,
    gate_problems,
    shadow_report,
    wilson_lower,
    wilson_upper,
)
from seamline.runtime import Pipeline
from seamline.store.tables import audit_log, events, ground_truth


class Ticket(BaseModel):
    message_id: str = Field(min_length=1)
    customer_id: str
    body: str


class Triage(BaseModel):
    intent: Literal["billing", "refund", "technical", "other"]
    urgency: Literal["low", "normal", "high"]


EFFECTS: list[tuple[str, dict]] = []


def tag(params: dict, *, idempotency_key: str) -> dict:
    EFFECTS.append((idempotency_key, dict(params)))
    return {"ok": True}


def refund(params: dict, *, idempotency_key: str) -> dict:
    EFFECTS.append(("refund:" + idempotency_key, dict(params)))
    return {"ok": True}


def baseline(data: dict) -> dict:
    return {"intent": "refund" if "refund" in data["body"] else "billing", "urgency": "normal"}


def _integration(mode: str, *, gates=None, actions=None) -> Integration:
    return Integration(
        name="gate-test", input_schema=Ticket, output_schema=Triage,
        checklist=Checklist(workflow="t", owner="t", baseline_metric="t",
                            monthly_cost_ceiling_usd=100),
        pii={"message_id": "allow", "customer_id": "allow"},
        prompt=PromptSpec(system="Triage.", user="{{ body }}"),
        model=ModelRoute(provider="scripted", model="scripted", input_usd_per_mtok=3,
                         output_usd_per_mtok=15),
        actions=actions or (ActionSpec(name="tag", handler=tag,
                                       params={"ticket": "input.message_id",
                                               "intent": "output.intent"}),),
        rollout=RolloutSpec(flag="gate-test.ai", sticky_key="customer_id", baseline=baseline,
                            mode=mode, gates=gates or {}),
        idempotency_key="message_id")


def _model(wrong: set[int]):
    """The model agrees with the baseline except on the event numbers in ``wrong``."""
    def answer(request) -> str:
        text = request.messages[-1].content
        n = int(text.split("#")[1].split()[0])
        intent = "refund" if "refund" in text else "billing"
        if n in wrong:
            intent = "technical"
        return json.dumps({"intent": intent, "urgency": "normal"})
    return ScriptedModel(answer)


def _event(n: int) -> dict:
    body = f"Ticket #{n} " + ("please refund my order" if n % 3 == 0 else "charged twice")
    return {"message_id": f"m-{n}", "customer_id": f"c-{n % 7}", "body": body}


@pytest.fixture(autouse=True)
def _clear():
    EFFECTS.clear()


def test_shadow_runs_the_model_on_every_event_and_only_the_baseline_acts(store):
    wrong = {2, 5, 11, 17}
    pipe = Pipeline(_integration("shadow"), store, provider=_model(wrong))
    results = [pipe.process(_event(n)) for n in range(40)]
    assert {r.state for r in results} == {"baseline"}
    # Every effect carries the baseline's intent, none the model's "technical".
    assert len(EFFECTS) == 40
    assert all(p["intent"] in ("refund", "billing") for _, p in EFFECTS)
    with store.read() as conn:
        paths = {r.path for r in conn.execute(select(events.c.path))}
        rows = conn.execute(select(audit_log.c.event_id, audit_log.c.payload)
                            .where(audit_log.c.kind == "shadow")).all()
    assert paths == {"shadow"}
    assert len(rows) == 40
    technical = [json.loads(p) for _, p in rows
                 if json.loads(p)["output"]["intent"] == "technical"]
    assert len(technical) == len(wrong)
    assert all(t["would_have_run"][0]["params"]["intent"] == "technical" for t in technical)
    assert all(json.loads(p)["cost_usd"] > 0 for _, p in rows)  # the calls were paid for
    assert verify(store).ok

    report = shadow_report(store, "gate-test")
    by_field = {a.name: a for a in report.fields}
    assert report.events == 40 and report.answered == 40
    assert (by_field["intent"].agree, by_field["intent"].n) == (40 - len(wrong), 40)
    assert by_field["intent"].against == "baseline"
    assert (by_field["urgency"].agree, by_field["urgency"].n) == (40, 40)
    lo, hi = by_field["intent"].as_dict()["low"], by_field["intent"].as_dict()["high"]
    assert lo < (40 - len(wrong)) / 40 < hi
    (tag_agreement,) = report.actions
    assert (tag_agreement.agree, tag_agreement.n) == (40 - len(wrong), 40)
    flagged = {d["event_id"] for d in report.disagreements if d.get("field") == "intent"}
    assert len(flagged) == len(wrong)
    assert report.cost_per_event_usd > 0


def test_shadow_scores_against_the_truth_fed_back_before_the_baseline(store):
    pipe = Pipeline(_integration("shadow"), store, provider=_model(set()))
    results = [pipe.process(_event(n)) for n in range(10)]
    # A person says the first three were "technical": the model (like the baseline) was wrong.
    with store.write() as conn:
        for r in results[:3]:
            conn.execute(ground_truth.insert().values(
                event_id=r.event_id, integration="gate-test", source="api", actor="t",
                truth=json.dumps({"intent": "technical"}), created_at=0.0))
    by = {(a.name, a.against): a for a in shadow_report(store, "gate-test").fields}
    assert (by[("intent", "truth")].agree, by[("intent", "truth")].n) == (0, 3)
    assert (by[("intent", "baseline")].agree, by[("intent", "baseline")].n) == (7, 7)


def test_a_failing_model_in_shadow_changes_nothing_for_the_baseline(store):
    def down(request):
        raise ProviderUnavailable("the provider is down", provider="scripted", model="m")

    pipe = Pipeline(_integration("shadow"), store, provider=ScriptedModel(down))
    r = pipe.process(_event(1))
    assert r.state == "baseline"
    assert len(EFFECTS) == 1
    with store.read() as conn:
        (payload,) = conn.execute(select(audit_log.c.payload)
                                  .where(audit_log.c.kind == "shadow")).one()
    entry = json.loads(payload)
    assert entry["output"] is None and entry["error"] and entry["would_have_run"] == []
    assert shadow_report(store, "gate-test").answered == 0


def _approve_all(store, edited_every: int = 0) -> int:
    n = 0
    for row in list_awaiting(store, "gate-test"):
        n += 1
        edit = ({"intent": "billing"} if edited_every and n % edited_every == 0 else None)
        decide(store, row.id, approve=True, reviewer="lead", edited_params=edit)
    return n


def test_the_gated_stage_holds_every_action_until_the_evidence_drops_its_gate(store):
    spec = _integration("gated", gates={"tag": GateRule(last=40, unedited_at_least=0.95,
                                                        lower_bound_at_least=0.9)})
    flags = Flags(store, ttl=0)
    pipe = Pipeline(spec, store, provider=_model(set()), flags=flags)
    results = [pipe.process(_event(n)) for n in range(39)]
    assert {r.state for r in results} == {"awaiting_approval"}
    assert EFFECTS == []
    assert _approve_all(store) == 39
    gates = Gates(spec, flags)
    ev = gates.drop("tag")  # 39 of the 40 decisions the rule needs: kept
    assert not ev.holds and "39 of the 40" in ev.why
    assert gates.closed("tag")
    pipe.process(_event(39))
    _approve_all(store)
    ev = gates.drop("tag")
    assert ev.holds and ev.decisions == 40 and ev.unedited == 40
    assert ev.lower_bound == pytest.approx(wilson_lower(40, 40))
    assert not gates.closed("tag")
    assert flags.get(gate_flag(spec, "tag")).mode == "off"
    with store.read() as conn:
        (payload,) = conn.execute(select(audit_log.c.payload)
                                  .where(audit_log.c.kind == "gate")).one()
    recorded = json.loads(payload)
    assert recorded["change"] == "dropped" and recorded["evidence"]["decisions"] == 40
    # With the gate dropped, the next action runs at once.
    before = len(EFFECTS)
    assert pipe.process(_event(100)).state == "succeeded"
    assert len(EFFECTS) == before + 1
    # Restored by a person: it waits again.
    gates.restore("tag", reason="a complaint about a wrong tag")
    assert pipe.process(_event(101)).state == "awaiting_approval"
    assert verify(store).ok


def test_edits_keep_the_gate_and_are_counted_per_field(store):
    spec = _integration("gated", gates={"tag": GateRule(last=40)})
    flags = Flags(store, ttl=0)
    pipe = Pipeline(spec, store, provider=_model(set()), flags=flags)
    for n in range(40):
        pipe.process(_event(n))
    _approve_all(store, edited_every=20)  # 2 edits in 40: 95% unedited, below 98%
    ev = Gates(spec, flags).drop("tag")
    assert not ev.holds and ev.edited >= 1 and ev.unedited + ev.edited == 40
    assert set(ev.edited_fields) == {"intent"}
    assert "below 98.0%" in ev.why
    assert evidence(store, spec, "tag").holds is False
    # The edits go to the golden-set sample with who made them: the next prompt's fixes.
    edited = [line for line in sample_events(store, "gate-test", 0) if line.get("edits")]
    assert len(edited) == ev.edited
    assert edited[0]["edits"][0]["params_after"]["intent"] == "billing"
    assert edited[0]["edits"][0]["reviewer"] == "lead" and edited[0]["input"]["body"]


def test_a_high_risk_action_never_loses_its_gate(store):
    actions = (ActionSpec(name="refund", handler=refund, risk="high",
                          params={"ticket": "input.message_id"},
                          approval=ApprovalPolicy()),
               ActionSpec(name="send", handler="connector:slack.post_message"),
               ActionSpec(name="note", handler="connector:hubspot.add_note"))
    assert [action_risk(a) for a in actions] == ["high", "high", "low"]
    spec = _integration("gated", actions=actions[:1], gates={"refund": GateRule(last=20)})
    assert any("high-risk" in p for p in gate_problems(spec))
    flags = Flags(store, ttl=0)
    pipe = Pipeline(spec, store, provider=_model(set()), flags=flags)
    for n in range(25):
        pipe.process(_event(n))
    _approve_all(store)
    gates = Gates(spec, flags)
    with pytest.raises(ConfigError, match="cannot be dropped"):
        gates.drop("refund")
    # Even a flag flipped by hand does not open it.
    flags.set(gate_flag(spec, "refund"), "off", reason="by hand")
    assert gates.closed("refund")
    assert pipe.process(_event(200)).state == "awaiting_approval"


def test_check_says_when_shadow_has_no_baseline_or_a_rule_names_no_action():
    spec = _integration("shadow", gates={"tga": GateRule(), "tag": GateRule(last=20)})
    spec = spec.model_copy(update={"rollout": spec.rollout.model_copy(
        update={"baseline": None})})
    problems = gate_problems(spec)
    assert any("'tga'" in p for p in problems)
    assert any("no baseline" in p for p in problems)
    # 20 of 20 give a lower bound of 83.9%: a rule asking 95% can never hold.
    assert any("rollout.gates.tag can never hold" in p and "83.9%" in p for p in problems)


def test_the_wilson_bounds_match_the_published_values():
    # scipy.stats.binomtest(196, 200).proportion_ci(method="wilson"), computed apart
    assert wilson_lower(196, 200) == pytest.approx(0.94971, abs=1e-5)
    assert wilson_upper(196, 200) == pytest.approx(0.99220, abs=1e-5)
    assert wilson_lower(0, 10) == 0.0
    assert wilson_upper(10, 10) == 1.0
    assert wilson_lower(5, 0) == 0.0
