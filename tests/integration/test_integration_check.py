"""``seamline check``: every blank or inconsistent part of a declaration, said in a sentence."""

from __future__ import annotations

import pytest
from conftest import Ticket, Verdict, make_integration
from pydantic import BaseModel

from seamline.integration import (
    ActionSpec,
    ApprovalPolicy,
    Checklist,
    ModelRoute,
    PromptSpec,
    RolloutSpec,
)
from seamline.preflight import Problem, check

FULL_CHECKLIST = dict(workflow="Route refund requests.", owner="ops", baseline_metric="manual",
                      monthly_cost_ceiling_usd=100)


def errors(integration, part: str | None = None) -> list[Problem]:
    return [p for p in check(integration)
            if p.level == "error" and (part is None or p.part == part)]


def the_error(integration, part: str) -> str:
    """The one error the change introduced; the rest of the declaration stays complete."""
    found = errors(integration)
    assert len(found) == 1, found
    assert found[0].part == part
    sentence = found[0].sentence
    assert len(sentence.split()) >= 4 and sentence.rstrip().endswith("."), sentence
    return sentence


def test_the_reference_declaration_has_no_errors():
    assert errors(make_integration()) == []


def test_problems_are_errors_or_warnings_with_a_part_and_a_sentence():
    problems = check(make_integration(idempotency_key="", actions=()))
    assert problems and all(isinstance(p, Problem) for p in problems)
    assert {p.level for p in problems} == {"warning"}
    assert {"input", "actions"} <= {p.part for p in problems}


# ------------------------------------------------------------------ checklist


@pytest.mark.parametrize("field, value, named", [
    ("workflow", "", "workflow"),
    ("workflow", "   ", "workflow"),
    ("owner", "", "owner"),
    ("baseline_metric", "", "baseline metric"),
    ("monthly_cost_ceiling_usd", None, "monthly cost ceiling"),
])
def test_each_blank_checklist_item_is_an_error_naming_it(field, value, named):
    integ = make_integration(checklist=Checklist(**{**FULL_CHECKLIST, field: value}))
    assert named in the_error(integ, "checklist")


def test_an_empty_checklist_gives_one_error_per_item():
    found = errors(make_integration(checklist=Checklist()), "checklist")
    assert len(found) == 4


# ----------------------------------------------------------------------- parts


def test_a_pii_policy_on_a_missing_field_is_an_error_naming_it():
    integ = make_integration(pii={"ticket_id": "allow", "tenant": "allow", "customer": "allow",
                                  "body": "redact", "email": "redact"})
    assert "'email'" in the_error(integ, "pii")


def test_a_prompt_variable_that_is_neither_input_nor_param_is_an_error_naming_it():
    integ = make_integration(prompt=PromptSpec(system="Be {{ tone }}.",
                                               user="Ticket {{ ticket_id }}: {{ body }}"))
    assert "{{ tone }}" in the_error(integ, "prompt")


def test_prompt_params_and_the_whole_input_are_allowed_in_the_prompt():
    integ = make_integration(prompt=PromptSpec(
        system="Be {{ tone }}. Answer as {{ output_schema }}.",
        user="{{ input.body }} {{ ticket_id }}", params={"tone": "brief"}))
    assert errors(integ, "prompt") == []


def test_a_prompt_syntax_error_is_an_error_with_its_line():
    integ = make_integration(prompt=PromptSpec(user="ok\n{{ body "))
    assert "line 2" in the_error(integ, "prompt")


def test_an_unknown_provider_is_an_error_naming_it():
    integ = make_integration(model=ModelRoute(provider="openia", model="gpt", context_window=2000,
                                              max_output_tokens=100))
    assert "'openia'" in the_error(integ, "model")


def test_a_missing_examples_file_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "no-such-train.jsonl"
    integ = make_integration(model=ModelRoute(provider="local", examples=missing))
    assert "no-such-train.jsonl" in the_error(integ, "model")


def test_a_local_model_without_examples_is_an_error():
    integ = make_integration(model=ModelRoute(provider="local"))
    assert "examples" in the_error(integ, "model")


def test_an_output_budget_as_large_as_the_context_window_is_an_error():
    integ = make_integration(model=ModelRoute(provider="scripted", max_output_tokens=2000,
                                              context_window=2000))
    assert "max_output_tokens" in the_error(integ, "model")


def test_an_unimportable_handler_is_an_error_naming_it(tmp_path):
    integ = make_integration(
        source_path=tmp_path / "refunds.yaml",
        actions=(ActionSpec(name="refund", handler="nope.py:fn"),))
    assert "nope.py" in the_error(integ, "actions")


def test_a_handler_naming_a_missing_module_is_an_error_naming_it():
    integ = make_integration(actions=(ActionSpec(name="refund", handler="no_such_pkg_xyz:fn"),))
    assert "no_such_pkg_xyz" in the_error(integ, "actions")


def test_a_handler_that_is_not_callable_is_an_error(tmp_path):
    (tmp_path / "handlers.py").write_text("refund = 42\n", encoding="utf-8")
    integ = make_integration(source_path=tmp_path / "refunds.yaml",
                             actions=(ActionSpec(name="refund", handler="handlers.py:refund"),))
    assert "'refund'" in the_error(integ, "actions")


def test_a_handler_beside_the_file_resolves(tmp_path):
    (tmp_path / "handlers.py").write_text("def refund(params, *, idempotency_key):\n"
                                          "    return {}\n", encoding="utf-8")
    integ = make_integration(source_path=tmp_path / "refunds.yaml",
                             actions=(ActionSpec(name="refund", handler="handlers.py:refund"),))
    assert errors(integ) == []


def test_approval_below_a_confidence_without_a_confidence_field_is_an_error():
    class NoConfidence(BaseModel):
        label: str
        amount: float = 0.0

    integ = make_integration(output_schema=NoConfidence, actions=(
        ActionSpec(name="refund", handler=lambda p, **k: p,
                   approval=ApprovalPolicy(below_confidence=0.5)),))
    sentence = the_error(integ, "actions")
    assert "'refund'" in sentence and "confidence" in sentence


def test_approval_above_an_amount_without_an_amount_field_is_an_error():
    integ = make_integration(actions=(
        ActionSpec(name="refund", handler=lambda p, **k: p,
                   approval=ApprovalPolicy(amount_field="total", above_amount=50)),))
    assert "'refund'" in the_error(integ, "actions")


def test_two_actions_with_one_name_is_an_error_naming_it():
    act = ActionSpec(name="refund", handler=lambda p, **k: p)
    assert "'refund'" in the_error(make_integration(actions=(act, act)), "actions")


def test_a_missing_baseline_is_an_error():
    integ = make_integration(rollout=RolloutSpec(flag="refunds.ai", sticky_key="customer"))
    assert "baseline" in the_error(integ, "rollout")


def test_an_unimportable_baseline_is_an_error_naming_it(tmp_path):
    integ = make_integration(source_path=tmp_path / "refunds.yaml", rollout=RolloutSpec(
        flag="refunds.ai", sticky_key="customer", baseline="rules.py:nope"))
    assert "rules.py" in the_error(integ, "rollout")


@pytest.mark.parametrize("key, label", [
    ("idempotency_key", "idempotency key"), ("tenant_key", "tenant key"),
])
def test_a_key_that_is_not_an_input_field_is_an_error_naming_it(key, label):
    integ = make_integration(**{key: "order_id"})
    sentence = the_error(integ, "input")
    assert label in sentence and "'order_id'" in sentence


def test_a_sticky_key_that_is_not_an_input_field_is_an_error_naming_it():
    integ = make_integration(rollout=RolloutSpec(flag="f", sticky_key="account",
                                                 baseline=lambda d: d))
    assert "'account'" in the_error(integ, "input")


def test_an_input_field_without_a_pii_policy_is_a_warning_not_an_error():
    integ = make_integration(pii={"ticket_id": "allow", "tenant": "allow", "customer": "allow"})
    problems = check(integ)
    assert errors(integ) == []
    assert any(p.level == "warning" and p.part == "pii" and "'body'" in p.sentence
               for p in problems)


def test_several_problems_are_all_reported():
    integ = make_integration(checklist=Checklist(), input_schema=Ticket, output_schema=Verdict,
                             model=ModelRoute(provider="openia"),
                             rollout=RolloutSpec(flag="f"))
    parts = {p.part for p in errors(integ)}
    assert {"checklist", "model", "rollout"} <= parts


def test_an_unknown_local_model_name_is_named():
    from conftest import make_integration

    from seamline.integration import ModelRoute
    from seamline.preflight import check

    integration = make_integration(model=ModelRoute(provider="local", model="local-bert"))
    sentences = [p.sentence for p in check(integration) if p.level == "error"]
    assert any("local-bert" in s and "local-linear" in s for s in sentences)
