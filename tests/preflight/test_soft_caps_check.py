"""``seamline check`` on soft caps: an over_soft route that is not there, a soft cap above
its hard cap, a soft cap without the field it counts by or somewhere to send events."""

from __future__ import annotations

from conftest import make_integration
from typer.testing import CliRunner

from seamline.integration import Budgets, ModelRoute, OverSoft, SoftCaps
from seamline.preflight import check


def _route(**budgets) -> ModelRoute:
    return ModelRoute(provider="scripted", model="scripted-1", input_usd_per_mtok=1.0,
                      output_usd_per_mtok=2.0, max_output_tokens=100, context_window=2000,
                      fallbacks=(ModelRoute(provider="scripted", model="scripted-cheap"),),
                      budgets=Budgets(**budgets))


def _errors(**spec) -> list[str]:
    return [p.sentence for p in check(make_integration(**spec)) if p.level == "error"]


def _budget_errors(**spec) -> list[str]:
    return [p.sentence for p in check(make_integration(**spec))
            if p.level == "error" and p.part == "budgets"]


def test_a_well_formed_soft_cap_passes():
    assert _budget_errors(user_key="customer", model=_route(
        soft_daily_usd=SoftCaps(per_user=1, per_tenant=5), per_tenant_daily_usd=10,
        over_soft=OverSoft(route="scripted-cheap"), alert_at=(0.5, 1.0))) == []


def test_an_over_soft_route_that_is_not_a_fallback_is_refused_with_the_names():
    (sentence,) = _budget_errors(user_key="customer", model=_route(
        soft_daily_usd=SoftCaps(per_user=1), over_soft=OverSoft(route="scripted-tiny")))
    assert sentence.startswith("budgets.over_soft names the route 'scripted-tiny', which is "
                               "not one of the model's fallbacks (scripted-cheap)")


def test_a_soft_cap_above_its_hard_cap_is_refused():
    (sentence,) = _budget_errors(user_key="customer", model=_route(
        soft_daily_usd=SoftCaps(per_user=20), per_tenant_daily_usd=10,
        over_soft=OverSoft(route="scripted-cheap")))
    assert sentence == ("The soft cap budgets.soft_daily_usd.per_user ($20) is above the hard "
                        "cap budgets.per_tenant_daily_usd ($10): the hard cap would refuse "
                        "first, so the soft cap never degrades anything; lower it below $10.")


def test_a_per_tenant_soft_cap_is_held_against_the_daily_cap_without_a_tenant_cap():
    (sentence,) = _budget_errors(model=_route(
        soft_daily_usd=SoftCaps(per_tenant=30), daily_usd=25,
        over_soft=OverSoft(route="scripted-cheap")))
    assert "budgets.soft_daily_usd.per_tenant ($30) is above the hard cap budgets.daily_usd" in sentence


def test_a_per_user_soft_cap_needs_a_user_key_that_is_an_input_field():
    route = _route(soft_daily_usd=SoftCaps(per_user=1), over_soft="baseline")
    assert any("no user_key names the end user's field" in s for s in _budget_errors(model=route))
    assert any(s == "The user key 'client' is not a field of the input schema."
               for s in _budget_errors(model=route, user_key="client"))


def test_a_soft_cap_with_nowhere_to_go_is_refused():
    (sentence,) = _budget_errors(user_key="customer",
                                 model=_route(soft_daily_usd=SoftCaps(per_user=1)))
    assert "budgets.over_soft says nowhere to send the events past them" in sentence


def test_over_soft_baseline_needs_a_baseline():
    from seamline.integration import RolloutSpec

    errors = _budget_errors(user_key="customer", rollout=RolloutSpec(flag="x"),
                            model=_route(soft_daily_usd=SoftCaps(per_user=1), over_soft="baseline"))
    assert any("declares no baseline" in s for s in errors)


def test_over_soft_naming_the_model_itself_is_refused():
    (sentence,) = _budget_errors(user_key="customer", model=_route(
        soft_daily_usd=SoftCaps(per_user=1), over_soft=OverSoft(route=ModelRoute(
            provider="scripted", model="scripted-1"))))
    assert "names the model's own route (scripted:scripted-1)" in sentence


def test_alert_shares_outside_zero_to_one_are_a_sentence_at_load(tmp_path):
    from seamline.cli import app

    spec = tmp_path / "integration.yaml"
    spec.write_text("""
name: t
checklist: {workflow: w, owner: o, baseline_metric: m, monthly_cost_ceiling_usd: 1}
input_schema: {fields: {ticket_id: str, customer: str, body: str}}
output_schema: {fields: {label: str}}
prompt: {user: "{{ body }}"}
user_key: customer
model:
  provider: scripted
  model: m
  fallbacks: [{provider: scripted, model: cheap}]
  budgets:
    daily_usd: 10
    soft_daily_usd: {per_user: 50}
    over_soft: {route: dear}
rollout: {baseline: "base.py:b"}
""", encoding="utf-8")
    (tmp_path / "base.py").write_text("def b(d):\n    return {}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(spec)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "budgets.over_soft names the route 'dear', which is not one of the model's fallbacks (cheap)" in flat
    assert "The soft cap budgets.soft_daily_usd.per_user ($50) is above the hard cap budgets.daily_usd ($10)" in flat
    spec.write_text(spec.read_text().replace("daily_usd: 10", "daily_usd: 10\n    alert_at: [0.5, 1.5]"))
    result = CliRunner().invoke(app, ["check", str(spec)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "alert_at holds shares of a cap between 0 (excluded) and 1, not 1.5" in " ".join(
        result.output.split())
