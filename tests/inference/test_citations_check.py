"""``seamline check`` and the eval around provider citations: a route that cannot cite is
refused with a sentence, and citation coverage is scored only where it can say something."""

from __future__ import annotations

import shutil

import pytest
from conftest import EXAMPLE, make_integration
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from seamline.cli import app
from seamline.eval import Context, build_scorers, citation_coverage
from seamline.integration import ModelRoute
from seamline.outputs import GroundingSpec
from seamline.preflight import check


class Claim(BaseModel):
    text: str
    quotes: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    answer: str = ""
    claims: list[Claim] = Field(default_factory=list)


CITED = GroundingSpec(claims_field="claims", answer_field="answer", citations="provider")


def cited_on(provider: str, spec: GroundingSpec = CITED, **route):
    return make_integration(output_schema=Answer, grounding=spec, actions=(), model=ModelRoute(
        provider=provider, model="m-1", input_usd_per_mtok=1.0, output_usd_per_mtok=2.0, **route))


def grounding_errors(integration) -> list[str]:
    return [p.sentence for p in check(integration) if p.part == "grounding" and p.level == "error"]


@pytest.mark.parametrize("provider", ["openai", "openai-compatible", "local"])
def test_provider_citations_on_a_route_without_a_citations_api_is_refused(provider):
    (sentence,) = grounding_errors(cited_on(provider))
    assert f"the model route is {provider}, which has no citations API" in sentence


def test_provider_citations_on_anthropic_pass_and_a_fallback_that_cannot_cite_is_a_warning():
    fallback = ModelRoute(provider="openai", model="gpt-4.1-mini", input_usd_per_mtok=1.0,
                          output_usd_per_mtok=2.0)
    problems = check(cited_on("anthropic", fallbacks=(fallback,)))
    assert not [p for p in problems if p.part == "grounding" and p.level == "error"]
    (warning,) = [p.sentence for p in problems if p.part == "grounding"]
    assert "openai:gpt-4.1-mini has no citations API" in warning


def test_provider_citations_need_a_claims_field_and_a_real_answer_field():
    spec = GroundingSpec(citations="provider", answer_field="reply")
    errors = grounding_errors(cited_on("anthropic", spec))
    assert any("no claims_field is declared" in e for e in errors)
    assert any("'reply' is not a field of the output schema" in e for e in errors)


def test_the_quote_contract_is_the_default_and_needs_no_citing_route():
    assert GroundingSpec().citations == "quotes"
    assert not grounding_errors(cited_on("openai", GroundingSpec(claims_field="claims")))


def test_seamline_check_refuses_an_openai_route_with_provider_citations(tmp_path):
    example = tmp_path / "triage"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("__pycache__"))
    path = example / "integration.yaml"
    text = path.read_text().replace(
        "  provider: local\n  model: local-linear\n  examples: data/train.jsonl\n",
        "  provider: openai\n  model: gpt-4.1-mini\n  input_usd_per_mtok: 0.4\n"
        "  output_usd_per_mtok: 1.6\n")
    path.write_text(text + "\ngrounding:\n  citations: provider\n  claims_field: evidence\n")
    result = CliRunner().invoke(app, ["check", str(path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "no citations API" in " ".join(result.output.split())
    path.write_text(text + "\ngrounding:\n  claims_field: evidence\n")  # the quote contract
    ok = CliRunner().invoke(app, ["check", str(path)], catch_exceptions=False)
    assert "citations API" not in " ".join(ok.output.split())


# ---- the eval's citation coverage --------------------------------------------------------


def context(grounding: dict | None) -> Context:
    story = [] if grounding is None else [{"kind": "grounding", "payload": grounding}]
    return Context(example={"input": {}}, story=story)


def test_citation_coverage_reads_the_share_the_checks_measured():
    report = {"passed": True, "abstained": False,
              "provider_citations": {"contract": "provider", "coverage": 0.75}}
    assert citation_coverage(None, {}, context(report)) == 0.75
    # An answer that came back without citations (a fallback route) backs nothing.
    fallback = {**report, "provider_citations": {"contract": "quotes"}}
    assert citation_coverage(None, {}, context(fallback)) == 0.0
    assert citation_coverage(None, {}, context({**report, "abstained": True})) is None
    assert citation_coverage(None, {}, context(None)) is None


def test_citation_coverage_is_scored_by_default_and_not_informative_without_citations():
    (scorer,) = [s for s in build_scorers(None, cited_on("anthropic"))
                 if s.name == "citation_coverage"]
    assert scorer.kind == "quality" and scorer.left_out(cited_on("anthropic")) == ""
    assert scorer.left_out(cited_on("openai")).startswith("not informative: the model route "
                                                          "(openai) has no citations API")
    quotes = cited_on("anthropic", GroundingSpec(claims_field="claims"))
    assert "citation_coverage" not in [s.name for s in build_scorers(None, quotes)]
    (declared,) = build_scorers(["citation_coverage"], quotes)
    assert declared.left_out(quotes).startswith("not informative: the integration keeps the "
                                                "quote contract")


def test_retrieved_documents_must_land_where_the_grounding_reads_them(tmp_path):
    from seamline.integration import RetrievalSpec

    integ = cited_on("anthropic").model_copy(update={"retrieval": RetrievalSpec(
        index=tmp_path / "i.db", documents_field="documents")})
    (sentence,) = grounding_errors(integ)
    assert "the retrieved documents would not be sent to be cited" in sentence
    fixed = integ.model_copy(update={"grounding": CITED.model_copy(
        update={"documents_field": "documents"})})
    assert not [e for e in grounding_errors(fixed) if "to be cited" in e]
