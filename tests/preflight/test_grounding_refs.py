"""``seamline check`` names a grounding trusted field that is not an input (issue 16)."""

from __future__ import annotations

from conftest import make_integration
from typer.testing import CliRunner

from seamline.integration import GroundingSpec, RetrievalSpec
from seamline.preflight import check


def _errors(integration) -> list[str]:
    return [p.sentence for p in check(integration) if p.level == "error"]


def test_a_trusted_field_the_input_schema_does_not_have_is_an_error():
    integ = make_integration(grounding=GroundingSpec(claims_field="claims",
                                                     trusted_fields=("crm_record",)))
    (sentence,) = [s for s in _errors(integ) if "trusted field" in s]
    assert sentence.startswith("The grounding trusted field 'crm_record' is not a field of the "
                               "input schema")
    assert "body, customer, tenant, ticket_id" in sentence


def test_input_fields_and_the_documents_are_fine_to_trust():
    ok = GroundingSpec(claims_field="claims", trusted_fields=("customer", "body"))
    assert not [s for s in _errors(make_integration(grounding=ok)) if "trusted field" in s]
    docs = GroundingSpec(claims_field="claims", documents_field="documents",
                         trusted_fields=("documents",))
    integ = make_integration(grounding=docs, retrieval=RetrievalSpec(
        index="kb.db", query_field="body", documents_field="documents"))
    assert not [s for s in _errors(integ) if "trusted field" in s]


def test_seamline_check_prints_it(tmp_path):
    from seamline.cli import app

    spec = tmp_path / "integration.yaml"
    spec.write_text("""
name: t
checklist: {workflow: w, owner: o, baseline_metric: m, monthly_cost_ceiling_usd: 1}
input_schema: {fields: {ticket_id: str, body: str}}
output_schema: {fields: {label: str}}
prompt: {user: "{{ body }}"}
model: {provider: scripted, model: m}
grounding: {claims_field: label, trusted_fields: [crm]}
rollout: {baseline: "base.py:b"}
""", encoding="utf-8")
    (tmp_path / "base.py").write_text("def b(d):\n    return {}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(spec)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "The grounding trusted field 'crm' is not a field of the input schema" in flat
