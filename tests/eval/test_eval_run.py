"""``eval run``: every layer counts, the report round-trips, the gate catches a regression."""

from __future__ import annotations

import json

import pytest
from eval_fixtures import integration, scripted, write_golden
from typer.testing import CliRunner

from seamline.cli import app
from seamline.errors import ConfigError
from seamline.eval import EvalReport, gate, read_golden, run_eval
from seamline.inference import ScriptedModel

runner = CliRunner()


def test_a_right_integration_scores_full_marks(tmp_path):
    report = run_eval(integration, write_golden(tmp_path / "g.jsonl"), provider=scripted())
    assert report.score == 1.0 and len(report.examples) == 5
    assert [e.id for e in report.examples] == ["t1", "t2", "t3", "t4", "t5"]
    assert all(e.state == "succeeded" for e in report.examples)
    assert report.mean("no_pii_leak") == 1.0  # t4's e-mail address reached the model redacted


def test_a_broken_redaction_fails_the_gate_but_is_not_a_model_score(tmp_path):
    """The same right answers, but the body goes to the model unredacted: t4 leaks.

    No model's answer can pass or fail no_pii_leak (redaction runs before the model), so it
    is reported, left out of the headline as not informative, and a leak fails the gate."""
    leaky = integration.model_copy(update={"pii": {**integration.pii, "body": "allow"}})
    golden = write_golden(tmp_path / "g.jsonl")
    good = run_eval(integration, golden, provider=scripted())
    bad = run_eval(leaky, golden, provider=scripted())
    t4 = next(e for e in bad.examples if e.id == "t4")
    assert t4.scores["no_pii_leak"] == 0.0
    assert bad.score == good.score == 1.0  # the answers are as right as before
    assert "not informative" in bad.left_out["no_pii_leak"]
    assert "no_pii_leak" not in bad.headline_scorers
    (sentence,) = gate(bad)
    assert "PII reached the model's prompt on 1 example(s)" in sentence and "t4" in sentence
    assert gate(good) == []


def test_a_reply_that_fails_to_parse_costs_points(tmp_path):
    def answer(request):
        if "t2" in request.messages[-1].content or request.attempt > 0 and "t2" in str(request.messages):
            return "Sure! The label is other."  # no JSON object, and no better on repair
        return scripted().fn(request)

    report = run_eval(integration, write_golden(tmp_path / "g.jsonl"), provider=ScriptedModel(answer))
    t2 = next(e for e in report.examples if e.id == "t2")
    assert t2.state == "dead_lettered" and t2.output is None and t2.score == 0.0
    assert report.score == pytest.approx(0.8)  # t2's answer is missing


def test_unrated_lines_are_left_out_and_the_header_is_read(tmp_path):
    golden = write_golden(tmp_path / "g.jsonl", {"version": "2026-11", "scorers": ["exact"]},
                          t5={"rated": False})
    gset = read_golden(golden)
    assert gset.version == "2026-11" and gset.scorers == ["exact"] and gset.unrated == 1
    assert len(gset.examples) == 4
    (tmp_path / "bad.jsonl").write_text('{"input": {}}\n')
    with pytest.raises(ConfigError, match="'input' and 'output'"):
        read_golden(tmp_path / "bad.jsonl")


def test_the_report_round_trips_and_gates(tmp_path):
    golden = write_golden(tmp_path / "g.jsonl")
    base = run_eval(integration, golden, provider=scripted())
    base.save(tmp_path / "r.json")
    again = EvalReport.load(tmp_path / "r.json")
    assert again.score == base.score and again.scorers == base.scorers
    worse = run_eval(integration.model_copy(update={"model": integration.model.model_copy(
        update={"model": "worse"})}), golden, provider=scripted())
    assert worse.score == pytest.approx(0.6)  # t3, t4: label wrong (no_pii_leak is not a score)
    assert gate(worse, min_score=0.5) == []
    assert "below the bar of 90.0%" in gate(worse, min_score=0.9)[0]
    [sentence] = gate(worse, baseline=again, max_regression=2)
    assert "fell 40.0 points" in sentence and "t3, t4" in sentence
    assert gate(base, baseline=again, max_regression=2) == []
    with pytest.raises(ConfigError, match="baseline-report"):
        gate(worse, max_regression=2)


def _run(*args):
    return runner.invoke(app, ["eval", "run", *map(str, args)])


def test_the_ci_gate_catches_a_regression(tmp_path, monkeypatch):
    """Main's report is stored; a PR whose model is worse exits 1 with --max-regression 2."""
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    golden = write_golden(tmp_path / "g.jsonl")
    main = _run("eval_fixtures:integration", "--golden", golden, "--provider", "eval_fixtures:scripted",
                "--report", tmp_path / "main.json")
    assert main.exit_code == 0, main.output
    assert json.loads((tmp_path / "main.json").read_text())["score"] == 1.0
    same = _run("eval_fixtures:integration", "--golden", golden, "--provider", "eval_fixtures:scripted",
                "--max-regression", "2", "--baseline-report", tmp_path / "main.json")
    assert same.exit_code == 0, same.output
    monkeypatch.setattr("eval_fixtures.integration", integration.model_copy(update={
        "model": integration.model.model_copy(update={"model": "worse"})}))
    pr = _run("eval_fixtures:integration", "--golden", golden, "--provider", "eval_fixtures:scripted",
              "--max-regression", "2", "--baseline-report", tmp_path / "main.json",
              "--report", tmp_path / "pr.json")
    assert pr.exit_code == 1
    said = " ".join(pr.output.split())
    assert "fell 40.0 points" in said and "more than the 2 allowed" in said
    assert (tmp_path / "pr.json").is_file()  # the report is kept even when the gate fails


def test_the_cli_says_what_is_missing(tmp_path):
    golden = write_golden(tmp_path / "g.jsonl")
    r = _run("eval_fixtures:integration", "--golden", golden, "--max-regression", "2")
    assert r.exit_code == 2 and "needs --baseline-report" in r.output
    r = _run("eval_fixtures:integration", "--golden", tmp_path / "nope.jsonl")
    assert r.exit_code == 2 and "does not exist" in " ".join(r.output.split())


def test_golden_mistakes_are_sentences(tmp_path):
    golden = write_golden(tmp_path / "g.jsonl", t2={"input": {"ticket_id": "t1", "body": "again"}})
    with pytest.raises(ConfigError, match="repeats the idempotency key"):
        run_eval(integration, golden, provider=scripted())
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a report written by"):
        EvalReport.load(tmp_path / "r.json")
    with pytest.raises(ConfigError, match="does not exist"):
        EvalReport.load(tmp_path / "missing.json")


def test_the_bare_eval_form_still_scores_beside_the_baseline(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    r = runner.invoke(app, ["eval", "eval_fixtures:integration", "--golden",
                            str(write_golden(tmp_path / "g.jsonl"))])
    # It reached the quick score (its progress bar), which needs the route's own provider.
    assert "golden: integration" in r.output
    assert "scripted provider is driven by a function" in str(r.exception)
    assert runner.invoke(app, ["eval", "--help"]).exit_code == 0


def test_a_golden_null_output_means_the_input_must_be_refused(tmp_path):
    golden = write_golden(tmp_path / "g.jsonl", t2={"input": {"ticket_id": "t2", "body": ""}, "output": None},
                          t5={"output": None})
    report = run_eval(integration, golden, provider=scripted())
    scores = {e.id: e.score for e in report.examples}
    assert scores["t2"] == 1.0  # an empty body breaks the input schema: refused, as rated
    assert scores["t5"] == 0.0  # answered although it should have been refused
