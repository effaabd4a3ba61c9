"""Retrieved chunks are the closed set of sources an answer may cite (layer 4's grounding)."""

from __future__ import annotations

import pytest
from retrieval_fixtures import CORPUS

from seamline.outputs import GroundingSpec, check_grounding
from seamline.retrieval import ChunkIndex, retrieve

SPEC = GroundingSpec(citations_field="citations", documents_field="documents",
                     quote_fields=("quotes[]",), abstain_field="status")


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    idx = ChunkIndex.open(tmp_path_factory.mktemp("grounding") / "index.db")
    idx.build(CORPUS)
    yield idx
    idx.close()


def _input(index, question):
    result = retrieve(index, question, k=3)
    return result, {"question": question, "documents": result.documents()}


def test_an_answer_citing_a_retrieved_chunk_with_a_verbatim_quote_passes(index):
    result, data = _input(index, "How long does a refund take to appear?")
    answer = {"status": "answered", "answer": "5 to 10 business days.",
              "citations": [result.chunk_ids[0]], "quotes": ["take 5 to 10 business days"]}
    report = check_grounding(SPEC, answer, data)
    assert report.passed, report.failures
    assert report.checks["closed_sources"] == "pass"


def test_an_answer_citing_a_chunk_that_was_not_retrieved_fails(index):
    result, data = _input(index, "How long does a refund take to appear?")
    elsewhere = "databases.md#1"
    assert index.get(elsewhere) is not None and elsewhere not in result.chunk_ids
    answer = {"status": "answered", "answer": "14 days.", "citations": [elsewhere],
              "quotes": []}
    report = check_grounding(SPEC, answer, data)
    assert not report.passed
    assert report.checks["closed_sources"] == "fail"
    assert "'databases.md#1' is not among the documents provided" in report.failures[0]


def test_when_retrieval_abstains_only_an_abstaining_answer_is_grounded(index):
    result, data = _input(index, "What is the capital of France?")
    assert result.abstain and data["documents"] == []
    abstains = check_grounding(SPEC, {"status": "insufficient_information"}, data)
    assert abstains.passed and abstains.abstained
    guesses = check_grounding(SPEC, {"status": "answered", "citations": ["billing.md#0"],
                                     "quotes": ["Paris"]}, data)
    assert not guesses.passed
