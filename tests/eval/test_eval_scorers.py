"""Each built-in scorer on a case that passes and one that fails; declarations; the judge."""

from __future__ import annotations

import json

import pytest
from eval_fixtures import integration, scripted, write_golden

from seamline.errors import ConfigError
from seamline.eval import (
    Context,
    abstention,
    build_scorers,
    cost,
    exact,
    field_match,
    grounding,
    judge,
    latency,
    no_pii_leak,
    numeric,
    regex,
    run_eval,
    set_score,
)
from seamline.eval._scorers import parse_judge_score
from seamline.inference import ScriptedModel

CTX = Context(example={"input": {}})


def test_exact_and_field_match():
    assert exact({"a": 1, "b": 2}, {"a": 1, "b": 2}, CTX) == 1.0
    assert exact({"a": 1, "b": 2}, {"a": 1, "b": 3}, CTX) == 0.0
    assert exact({"a": 1}, None, CTX) == 0.0  # no answer (a parse failure) is wrong
    f = field_match("a")
    assert f({"a": 1}, {"a": 1, "b": 9}, CTX) == 1.0
    assert f({"a": 1}, {"a": 2}, CTX) == 0.0
    assert f({"a": 1}, None, CTX) == 0.0
    assert f({"b": 1}, {"a": 1}, CTX) is None  # the golden set does not rate this field


def test_numeric_tolerance_absolute_and_relative():
    assert numeric("x", abs_tol=0.5)({"x": 10}, {"x": 10.4}, CTX) == 1.0
    assert numeric("x", abs_tol=0.5)({"x": 10}, {"x": 10.6}, CTX) == 0.0
    assert numeric("x", rel_tol=0.1)({"x": 100}, {"x": 109}, CTX) == 1.0
    assert numeric("x", rel_tol=0.1)({"x": 100}, {"x": 111}, CTX) == 0.0
    assert numeric("x")({"x": 3}, {"x": "3"}, CTX) == 0.0
    assert numeric("x")({"y": 3}, {"x": 3}, CTX) is None


def test_set_precision_recall_f1():
    want, got = {"tags": ["a", "b", "c"]}, {"tags": ["a", "b", "d", "e"]}
    assert set_score("tags", "precision")(want, got, CTX) == pytest.approx(0.5)
    assert set_score("tags", "recall")(want, got, CTX) == pytest.approx(2 / 3)
    assert set_score("tags", "f1")(want, got, CTX) == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert set_score("tags")(want, {"tags": ["c", "b", "a"]}, CTX) == 1.0
    assert set_score("tags")(want, {"tags": ["z"]}, CTX) == 0.0
    assert set_score("tags")({"tags": []}, {"tags": []}, CTX) == 1.0
    assert set_score("tags")(want, None, CTX) == 0.0


def test_regex_with_a_pattern_or_the_golden_value():
    assert regex("s", r"refund.*\d+")({}, {"s": "refund of 20 EUR"}, CTX) == 1.0
    assert regex("s", r"refund.*\d+")({}, {"s": "no money"}, CTX) == 0.0
    assert regex("s")({"s": "^Order A-\\d+"}, {"s": "Order A-17 is late"}, CTX) == 1.0
    assert regex("s")({"s": "^Order A-\\d+"}, {"s": "late order"}, CTX) == 0.0


def _with_grounding(report):
    return Context(example={"input": {}}, story=[{"kind": "grounding", "payload": report}])


def test_grounding_and_abstention_read_the_audit_story():
    passed, failed = _with_grounding({"passed": True, "abstained": False}), _with_grounding(
        {"passed": False, "abstained": False})
    assert grounding({}, {}, passed) == 1.0 and grounding({}, {}, failed) == 0.0
    assert grounding({}, {}, CTX) is None
    refused = Context(example={"input": {}}, story=[
        {"kind": "model_call", "payload": {"grounding": {"passed": False}}}])
    assert grounding({}, None, refused) == 0.0  # no grounded answer at all
    assert abstention({}, {}, _with_grounding({"passed": True, "abstained": True})) == 1.0
    assert abstention({}, {}, passed) == 0.0


def test_cost_and_latency_are_measures():
    ctx = Context(example={"input": {}}, cost_usd=0.002, timings_ms={"ingest": 1.5, "inference": 3.0})
    assert cost({}, {}, ctx) == 0.002 and latency({}, {}, ctx) == 4.5


def test_no_pii_leak_reads_the_prompt_the_model_got():
    example = {"input": {"body": "mail me at jane.doe@example.com"}}
    leaked = Context(example=example, story=[{"kind": "prompt", "payload": {
        "system": "", "user": "mail me at jane.doe@example.com"}}])
    safe = Context(example=example, story=[{"kind": "prompt", "payload": {
        "system": "", "user": "mail me at <EMAIL_1>"}}])
    assert no_pii_leak({}, {}, leaked) == 0.0 and no_pii_leak({}, {}, safe) == 1.0
    named = Context(example={**example, "pii": ["Jane Doe"]}, story=[{"kind": "prompt", "payload": {
        "system": "", "user": "Dear Jane Doe"}}])
    assert no_pii_leak({}, {}, named) == 0.0  # the example's own list of values
    assert no_pii_leak({}, {}, Context(example=example)) is None  # no model saw anything


def test_judge_scores_with_the_rubric_and_a_scripted_model():
    asked = []

    def ask(system, user, model=""):
        asked.append(user)
        return '{"score": 0.8, "why": "close"}'

    ctx = Context(example={"input": {"body": "x"}}, judge=ask)
    assert judge("Is the label right?")({"label": "a"}, {"label": "a"}, ctx) == 0.8
    assert "Is the label right?" in asked[0] and "Reference answer" in asked[0]
    assert judge("r")({"label": "a"}, None, ctx) == 0.0
    assert judge("r")({}, {}, CTX) is None
    assert parse_judge_score("7") == 1.0 and parse_judge_score("no idea") == 0.0
    assert parse_judge_score('{"score": 0.25}') == 0.25


def test_judge_through_the_pipeline_provider(tmp_path):
    """The judge asks the integration's own provider: here a ScriptedModel."""
    def answer(request):
        if "Rubric" in request.messages[-1].content:
            return json.dumps({"score": 1 if '"label": "refund"' in request.messages[-1].content
                               .split("Answer to grade:")[1] else 0})
        return scripted().fn(request)

    golden = write_golden(tmp_path / "g.jsonl", {"version": "1", "scorers": [
        {"scorer": "judge", "rubric": "A refund request must be labelled refund.", "model": "big"}]})
    provider = ScriptedModel(answer)
    report = run_eval(integration, golden, provider=provider)
    assert report.scorers == {"judge": "quality"}
    assert {r.model for r in provider.requests if "Rubric" in r.messages[-1].content} == {"big"}
    assert [e.scores["judge"] for e in report.examples] == [1.0, 0.0, 1.0, 1.0, 0.0]


def test_declarations_custom_functions_and_mistakes(tmp_path):
    specs = ["exact", "fields", {"scorer": "numeric", "field": "amount", "abs": 1},
             {"scorer": "f1", "field": "tags"}, {"scorer": "regex", "field": "quote", "pattern": "x"},
             {"scorer": "eval_fixtures:scripted", "name": "mine", "kind": "measure"}, "cost"]
    names = [s.name for s in build_scorers(specs, integration)]
    assert names == ["exact", "field:label", "numeric:amount", "f1:tags", "regex:quote", "mine", "cost"]
    defaults = [s.name for s in build_scorers(None, integration)]
    assert defaults == ["field:label", "no_pii_leak", "cost", "latency"]
    with pytest.raises(ConfigError, match="unknown"):
        build_scorers(["bleu"], integration)
    with pytest.raises(ConfigError, match="needs the option 'rubric'"):
        build_scorers([{"scorer": "judge"}], integration)
    with pytest.raises(ConfigError, match="needs a 'field'"):
        build_scorers([{"scorer": "numeric"}], integration)
    with pytest.raises(ConfigError, match="does not take the option"):
        build_scorers([{"scorer": "numeric", "field": "amount", "tolerance": 1}], integration)
    with pytest.raises(ConfigError, match="not a number"):
        build_scorers([{"scorer": "numeric", "field": "amount", "abs": "one"}], integration)
    with pytest.raises(ConfigError, match="share the name"):
        build_scorers(["exact", "exact"], integration)


def test_a_custom_scorer_is_a_plain_function(tmp_path):
    golden = write_golden(tmp_path / "g.jsonl", {"scorers": [
        "fields", {"scorer": "test_eval_scorers:confident", "name": "confident"}]})
    report = run_eval(integration, golden, provider=scripted())
    assert report.mean("confident") == 1.0 and report.score == 1.0


def confident(expected, actual, context) -> float | None:
    return None if actual is None else float(actual["confidence"] >= 0.5)
