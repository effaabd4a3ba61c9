"""``seamline rollout report`` and ``seamline rollout gates`` end to end, through the CLI."""

from __future__ import annotations

import json
import textwrap

from typer.testing import CliRunner

from seamline.actions import decide, list_awaiting
from seamline.cli import app
from seamline.integration import load_integration
from seamline.runtime import Pipeline
from seamline.store import open_store

runner = CliRunner()

MODULE = textwrap.dedent('''
    import json
    from typing import Literal
    from pydantic import BaseModel
    from seamline.inference import ScriptedModel
    from seamline.integration import (ActionSpec, Checklist, GateRule, Integration, ModelRoute,
                                      PromptSpec, RolloutSpec)

    class In(BaseModel):
        message_id: str
        body: str

    class Out(BaseModel):
        intent: Literal["billing", "technical"]

    def tag(params, *, idempotency_key):
        return {"ok": True}

    def refund(params, *, idempotency_key):
        return {"ok": True}

    def base(data):
        return {"intent": "billing"}

    def spec(mode):
        return Integration(
            name="review-cli", input_schema=In, output_schema=Out,
            checklist=Checklist(workflow="t", owner="t", baseline_metric="t",
                                monthly_cost_ceiling_usd=10),
            pii={"message_id": "allow"},
            prompt=PromptSpec(system="Triage.", user="{{ body }}"),
            model=ModelRoute(provider="scripted", model="scripted"),
            actions=(ActionSpec(name="tag", handler=tag, params={"intent": "output.intent"}),
                     ActionSpec(name="refund", handler=refund, risk="high")),
            # Its plan's walk is under test here, not eval-first go-live (tests/eval).
            rollout=RolloutSpec(flag="review-cli.ai", baseline=base, mode=mode,
                                gates={"tag": GateRule(last=20, lower_bound_at_least=0.8)},
                                require_signoff=False),
            idempotency_key="message_id")

    SHADOW = spec("shadow")
    PLANNED = spec("live").model_copy(update={"name": "review-plan"})
    from seamline.integration import RolloutStage
    PLANNED = PLANNED.model_copy(update={"rollout": PLANNED.rollout.model_copy(update={
        "plan": (RolloutStage(stage="shadow", for_="0s", min_events=5, min_agreement=0.5),
                 RolloutStage(stage="gated"))})})
    GATED = spec("gated")
    MODEL = ScriptedModel(lambda r: json.dumps(
        {"intent": "technical" if "#3" in r.messages[-1].content else "billing"}))
''')


def invoke(*args, code=0):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_report_scores_the_shadow_decisions_and_gates_drop_on_evidence(tmp_path):
    (tmp_path / "review_mod.py").write_text(MODULE)
    db = tmp_path / "s.db"
    shadow = load_integration(f"{tmp_path / 'review_mod.py'}:SHADOW")
    import importlib.util
    s = importlib.util.spec_from_file_location("review_mod_t", tmp_path / "review_mod.py")
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    model = mod.MODEL
    store = open_store(db)
    pipe = Pipeline(shadow, store, provider=model)
    for n in range(10):
        pipe.process({"message_id": f"m-{n}", "body": f"ticket #{n}"})
    store.close()

    out = json.loads(invoke("rollout", "report", f"{tmp_path / 'review_mod.py'}:SHADOW",
                            "--db", db, "--json").output)
    (intent,) = out["fields"]
    assert (intent["agree"], intent["n"]) == (9, 10)
    assert 0 < intent["low"] < 0.9 < intent["high"] <= 1
    assert out["disagreements"][0]["model"] == "technical"
    table = invoke("rollout", "report", f"{tmp_path / 'review_mod.py'}:SHADOW", "--db", db)
    assert "intent" in table.output and "90.0%" in table.output

    gated_ref = f"{tmp_path / 'review_mod.py'}:GATED"
    gated = load_integration(gated_ref)
    store = open_store(db)
    pipe = Pipeline(gated, store, provider=model)
    for n in range(100, 120):
        assert pipe.process({"message_id": f"m-{n}", "body": "ticket"}).state == \
            "awaiting_approval"
    for row in list_awaiting(store, "review-cli"):
        decide(store, row.id, approve=True, reviewer="lead")
    store.close()

    rows = {r["action"]: r for r in json.loads(
        invoke("rollout", "gates", gated_ref, "--db", db, "--json").output)}
    assert rows["tag"]["gate"] == "kept" and rows["tag"]["holds"] is True
    assert rows["refund"]["risk"] == "high" and rows["refund"]["holds"] is False
    bad = invoke("rollout", "gates", gated_ref, "--db", db, "--drop", "refund", code=2)
    assert "cannot be dropped" in " ".join(bad.output.split())
    typo = invoke("rollout", "gates", gated_ref, "--db", db, "--drop", "tga", code=2)
    assert "no action 'tga'" in " ".join(typo.output.split())
    invoke("rollout", "gates", gated_ref, "--db", db, "--drop", "tag")
    rows = {r["action"]: r for r in json.loads(
        invoke("rollout", "gates", gated_ref, "--db", db, "--json").output)}
    assert rows["tag"]["gate"] == "dropped"
    no_reason = invoke("rollout", "gates", gated_ref, "--db", db, "--restore", "tag", code=2)
    assert "--reason" in no_reason.output
    invoke("rollout", "gates", gated_ref, "--db", db, "--restore", "tag", "-r", "a complaint")
    rows = {r["action"]: r for r in json.loads(
        invoke("rollout", "gates", gated_ref, "--db", db, "--json").output)}
    assert rows["tag"]["gate"] == "kept"


def test_plan_starts_and_watch_moves_it_on_the_numbers(tmp_path):
    (tmp_path / "plan_mod.py").write_text(MODULE)
    ref, db = f"{tmp_path / 'plan_mod.py'}:PLANNED", tmp_path / "p.db"
    open_store(db).close()  # a read-only command does not create a store
    doc = json.loads(invoke("rollout", "plan", ref, "--db", db, "--json").output)
    assert doc["status"] == "not started" and [s["stage"] for s in doc["plan"]] == \
        ["shadow", "gated"]
    doc = json.loads(invoke("rollout", "plan", ref, "--db", db, "--start", "--json").output)
    assert (doc["stage"], doc["status"]) == ("shadow", "running")
    again = invoke("rollout", "plan", ref, "--db", db, "--start", code=2)
    assert "already running" in again.output

    import importlib.util
    s = importlib.util.spec_from_file_location("plan_mod_t", tmp_path / "plan_mod.py")
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    store = open_store(db)
    pipe = Pipeline(load_integration(ref), store, provider=mod.MODEL)
    for n in range(3):
        assert pipe.process({"message_id": f"p-{n}", "body": "x"}).state == "baseline"
    store.close()
    held = invoke("rollout", "watch", "--once", "--db", db, "--integration", ref)
    assert "held shadow" in " ".join(held.output.split())
    store = open_store(db)
    pipe = Pipeline(load_integration(ref), store, provider=mod.MODEL)
    for n in range(3, 10):
        pipe.process({"message_id": f"p-{n}", "body": "x"})
    store.close()
    moved = invoke("rollout", "watch", "--once", "--db", db, "--integration", ref)
    assert "advanced gated" in " ".join(moved.output.split())
    doc = json.loads(invoke("rollout", "plan", ref, "--db", db, "--json").output)
    assert doc["stage"] == "gated"
    table = invoke("rollout", "plan", ref, "--db", db)
    assert "◀ here" in table.output
