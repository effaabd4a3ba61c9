"""Reciprocal rank fusion, vector search, and the threshold below which an answer abstains."""

from __future__ import annotations

import pytest
from retrieval_fixtures import CORPUS

from seamline.retrieval import (
    DEFAULT_MIN_SCORE,
    ChunkIndex,
    HashingEmbedder,
    reciprocal_rank_fusion,
    retrieve,
)


def test_rrf_rewards_agreement_between_rankings():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]], k=60)
    assert [i for i, _ in fused] == ["b", "c", "a", "d"]  # second twice beats first once
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[2][1] == pytest.approx(1 / 61)


def test_rrf_breaks_ties_by_first_appearance():
    assert [i for i, _ in reciprocal_rank_fusion([["x", "y"], ["y", "x"]])] == ["x", "y"]
    assert reciprocal_rank_fusion([]) == []


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    idx = ChunkIndex.open(tmp_path_factory.mktemp("rag") / "index.db", HashingEmbedder())
    idx.build(CORPUS)
    yield idx
    idx.close()


def test_a_question_about_the_corpus_returns_citable_documents(index):
    result = retrieve(index, "How long does a refund take to appear?", k=3)
    assert not result.abstain and result.top_score >= DEFAULT_MIN_SCORE
    docs = result.documents()
    assert docs[0]["id"] == "refunds.md#1" == result.chunk_ids[0]
    assert docs[0]["title"] == "Refunds > How to request a refund"
    assert docs[0]["location"] == "refunds.md:L11-13"
    assert "5 to 10 business days" in docs[0]["text"]


@pytest.mark.parametrize("question", [
    "What is the capital of France?", "What is the price of a chocolate cake?",
    "What's the weather in Paris today?", "Tell me a joke about cats"])
def test_an_off_topic_question_abstains_with_no_documents(index, question):
    result = retrieve(index, question)
    assert result.abstain and result.documents() == []


def test_the_threshold_is_the_callers_to_set(index):
    question = "What is the price of a chocolate cake?"  # matches "price", weakly
    assert retrieve(index, question).abstain
    assert not retrieve(index, question, min_score=1.0).abstain


def test_vector_and_hybrid_modes_find_the_same_page(index):
    question = "Which headers tell me my remaining rate limit?"
    vector = retrieve(index, question, mode="vector", k=3)
    hybrid = retrieve(index, question, mode="hybrid", k=3)
    assert vector.hits[0].chunk.source == "api_limits.md"
    assert hybrid.hits[0].chunk.id == "api_limits.md#1"
    assert -1.0 <= vector.hits[0].score <= 1.0


def test_vector_search_without_an_embedder_is_refused(tmp_path):
    with ChunkIndex.open(tmp_path / "i.db") as idx, pytest.raises(ValueError, match="embedder"):
        idx.search_vectors("anything")


def test_a_new_embedder_re_embeds_what_an_old_one_left(tmp_path):
    path = tmp_path / "i.db"
    with ChunkIndex.open(path) as idx:
        idx.build(CORPUS)
    with ChunkIndex.open(path, HashingEmbedder(128)) as idx:  # vectors made on open
        assert idx.search_vectors("refunds", 1)[0].chunk.source == "refunds.md"
