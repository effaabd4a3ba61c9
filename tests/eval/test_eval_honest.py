"""Honest evals (issue 15): the headline is the untouched split, from scorers that can fail
for the model in use; content is checked; repeats give pass^k and flaky examples."""

from __future__ import annotations

import json
import random

import pytest
from eval_fixtures import integration, scripted, write_golden
from typer.testing import CliRunner

from seamline.cli import app
from seamline.errors import ConfigError
from seamline.eval import (
    EvalReport,
    build_scorers,
    compare,
    key_facts,
    normalise,
    read_golden,
    run_eval,
    split_of,
)
from seamline.eval._scorers import Context
from seamline.inference import ScriptedModel
from seamline.integration import ModelRoute


def test_the_headline_is_the_test_split_and_dev_is_reported_beside_it(tmp_path):
    golden = write_golden(tmp_path / "g.jsonl", t3={"split": "dev"}, t4={"split": "dev"})
    worse = integration.model_copy(update={"model": integration.model.model_copy(
        update={"model": "worse"})})
    report = run_eval(worse, golden, provider=scripted())  # wrong on t3 and t4 only
    assert report.headline_split == "test"
    assert report.score == 1.0  # t1, t2, t5: what was never tuned on
    assert report.score_on("dev") == 0.0
    assert report.score_on("all") == pytest.approx(0.6)
    assert {e.id: e.split for e in report.examples}["t3"] == "dev"
    again = EvalReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.score == report.score and again.score_on("dev") == 0.0


def test_a_line_without_a_split_is_placed_by_a_hash_of_its_id():
    ids = [f"ex-{i}" for i in range(400)]
    splits = [split_of({}, i) for i in ids]
    assert 0.4 < splits.count("test") / len(ids) < 0.6
    assert splits == [split_of({}, i) for i in ids]  # stable
    assert split_of({"split": "dev"}, "ex-1") == "dev"
    with pytest.raises(ConfigError, match="split 'train'"):
        split_of({"split": "train"}, "ex-1")


def test_scorers_that_cannot_fail_for_the_model_are_left_out_with_the_reason():
    local = integration.model_copy(update={"model": ModelRoute(provider="local",
                                                               model="local-extractive")})
    scorers = {s.name: s for s in build_scorers(["fields", "grounding", "no_pii_leak", "recall@1",
                                                 "mrr", "cites_relevant"], local)}
    assert "passes by construction" in scorers["grounding"].left_out(local)
    assert "not informative" in scorers["no_pii_leak"].left_out(local)
    assert "retrieval" in scorers["recall@1"].left_out(local)
    assert scorers["field:label"].left_out(local) == ""
    assert scorers["cites_relevant"].left_out(local) == ""  # reads the answer's citations
    remote = integration  # a scripted model can fail its grounding: then it counts
    assert scorers["grounding"].left_out(remote) == ""


def test_with_no_informative_scorer_there_is_no_headline(tmp_path):
    golden = write_golden(tmp_path / "g.jsonl", {"scorers": ["no_pii_leak", "cost"]})
    with pytest.raises(ConfigError, match="Every quality scorer is left out"):
        run_eval(integration, golden, provider=scripted())


def test_key_facts_check_the_answer_text():
    score = key_facts("answer")
    context = Context(example={"facts": ["30 days", ["prorated", "pro rata"], "$4,999"]})
    right = {"answer": "Refunds are prorated and arrive within 30 days; the cap is $4,999."}
    assert score(None, right, context) == 1.0
    assert score(None, {"answer": "Refunds arrive within 30 days."}, context) == pytest.approx(1 / 3)
    assert score(None, {"answer": "Pro rata, 30 days."}, context) == pytest.approx(2 / 3)
    assert score(None, None, context) == 0.0
    assert score(None, right, Context(example={})) is None  # a line without facts
    assert normalise("It's  “fast”—really, 1,000.50 USD!") == "it's fast really 1,000.50 usd"
    assert score(None, {"answer": "130 days"}, Context(example={"facts": ["30 days"]})) == 0.0


def test_repeat_gives_pass_k_and_names_the_flaky_examples(tmp_path):
    rng = random.Random(7)

    def moody(request):  # right on t1..t4; on t5 a coin flip
        reply = json.loads(scripted().fn(request))
        if "t5" in request.messages[-1].content and rng.random() < 0.5:
            reply["label"] = "refund"
        return json.dumps(reply)

    golden = write_golden(tmp_path / "g.jsonl")
    report = run_eval(integration, golden, provider=ScriptedModel(moody), repeat=6)
    t5 = next(e for e in report.examples if e.id == "t5")
    assert len(t5.runs) == 6 and 0 < t5.passes(1.0) < 6
    assert [e.id for e in report.flaky()] == ["t5"]
    assert report.pass_k() == pytest.approx(0.8)  # t5 failed at least once
    assert report.score == pytest.approx((4 + t5.passes(1.0) / 6) / 5)
    steady = run_eval(integration, golden, provider=scripted(), repeat=3)
    assert steady.flaky() == [] and steady.pass_k() == 1.0
    assert any("3 runs agree" in n for n in steady.notes)


def test_prompt_changes_on_the_on_device_model_are_said_to_change_nothing(tmp_path):
    from pathlib import Path

    from seamline.integration import load_integration

    spec = load_integration(Path(__file__).parents[2] / "examples/support_triage/integration.yaml")
    other = spec.model_copy(update={"prompt": spec.prompt.model_copy(update={"user": "{{ body }}"})})
    from seamline.eval._compare import prompt_only_notes
    from seamline.eval._run import prompt_notes

    assert "does not read the prompt" in prompt_notes(spec)[0]
    assert prompt_notes(integration) == []  # a remote (scripted) route reads it
    (note,) = prompt_only_notes({"base": spec, "short": other})
    assert "Variant short changes only the prompt" in note and "by construction" in note


def test_compare_reports_the_dev_split_to_tune_on(tmp_path):
    golden = write_golden(tmp_path / "g.jsonl", t3={"split": "dev"}, t4={"split": "dev"})
    worse = integration.model_copy(update={"model": integration.model.model_copy(
        update={"model": "worse"})})
    result = compare({"base": integration, "worse": worse}, read_golden(golden),
                     providers={"base": scripted(), "worse": scripted()})
    rows = {r["variant"]: r for r in result.summary()}
    assert rows["base"]["score"] == rows["worse"]["score"] == 1.0  # test split: no difference
    assert rows["base"]["score_dev"] == 1.0 and rows["worse"]["score_dev"] == 0.0


def test_the_cli_shows_splits_repeats_and_reasons(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    golden = write_golden(tmp_path / "g.jsonl", t3={"split": "dev"})
    result = CliRunner().invoke(app, ["eval", "run", "eval_fixtures:integration", "--golden",
                                      str(golden), "--provider", "eval_fixtures:scripted",
                                      "--repeat", "2"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "test split (4)" in said and "dev split (1)" in said
    assert "pass^2" in said and "not in headline" in said and "not informative" in said
